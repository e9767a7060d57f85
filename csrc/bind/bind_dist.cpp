// The two host pieces of fusednet.distributed's shared-memory allreduce (ranks of one machine;
// python/fusednet/distributed/_world.py): every rank copies its gradients into a shared window,
// meets the others at a barrier, then sums all ranks' copies in rank order itself. No MPI here:
// the window comes from mpi4py (MPI_Win_allocate_shared), these only read and write it.
//   _dist_ordered_sum(src (K, n), out (n,)): out[i] = sum over j = 0..K-1 of src[j, i], added in
//     float64 in rank order and rounded once (the bits of the all-to-all path's NumPy sum)
//   _dist_barrier(flags, rank, generation, timeout_s) -> 0 | failed rank + 1 | -1 (timeout)
#include <pybind11/numpy.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

#include "bind/util.h"

namespace fusednet {
namespace {

// One arrival counter per rank, each on its own cache line, then the failure slot.
constexpr index_t kSlot = 8;  // int64 per cache line

// src: K rows of n elements, rows `row` elements apart (the window's parity half holds K
// rank slots of its capacity); out: n contiguous elements.
template <typename T>
void ordered_sum(const py::array& src, py::array& out) {
  const index_t k = src.shape(0), n = src.shape(1);
  FN_CHECK((n < 2 || src.strides(1) == static_cast<py::ssize_t>(sizeof(T))) &&
               src.strides(0) % static_cast<py::ssize_t>(sizeof(T)) == 0 && src.strides(0) >= 0,
           "src: expected rows of contiguous elements");
  FN_CHECK(out.ndim() == 1 && out.shape(0) == n && out.writeable() &&
               (n < 2 || out.strides(0) == static_cast<py::ssize_t>(sizeof(T))),
           "out: expected a writable contiguous array of ", n, " elements (src's columns)");
  const index_t row = static_cast<index_t>(src.strides(0)) / static_cast<index_t>(sizeof(T));
  const T* s = static_cast<const T*>(src.data());
  T* o = static_cast<T*>(out.mutable_data());
  py::gil_scoped_release nogil;
  if (k == 1) {
    for (index_t i = 0; i < n; ++i) o[i] = s[i];
    return;
  }
  // ((s0 + s1) + s2) + ... in double, blocked so the running sums stay in L1; the first pair and
  // the last rank are fused with the load and the store (K = 2: one pass).
  constexpr index_t kBlock = 1024;
  double acc[kBlock];
  const T* last = s + (k - 1) * row;
  for (index_t lo = 0; lo < n; lo += kBlock) {
    const index_t m = std::min(kBlock, n - lo);
    if (k == 2) {
      for (index_t i = lo; i < lo + m; ++i)
        o[i] = static_cast<T>(static_cast<double>(s[i]) + static_cast<double>(last[i]));
      continue;
    }
    const T* s1 = s + row + lo;
    for (index_t i = 0; i < m; ++i)
      acc[i] = static_cast<double>(s[lo + i]) + static_cast<double>(s1[i]);
    for (index_t j = 2; j + 1 < k; ++j) {
      const T* r = s + j * row + lo;
      for (index_t i = 0; i < m; ++i) acc[i] += static_cast<double>(r[i]);
    }
    for (index_t i = 0; i < m; ++i)
      o[lo + i] = static_cast<T>(acc[i] + static_cast<double>(last[lo + i]));
  }
}

void dist_ordered_sum(const py::array& src, py::array& out) {
  FN_CHECK(py::isinstance<py::array>(src) && py::isinstance<py::array>(out),
           "src, out: expected NumPy arrays");
  FN_CHECK(src.ndim() == 2 && src.shape(0) >= 1, "src: expected a (ranks, n) array, got ",
           src.ndim(), " dimensions");
  FN_CHECK(src.dtype().is(out.dtype()), "out: expected src's dtype ",
           std::string(py::str(src.dtype())), ", got ", std::string(py::str(out.dtype())));
  if (src.dtype().is(py::dtype::of<float>())) return ordered_sum<float>(src, out);
  FN_CHECK(src.dtype().is(py::dtype::of<double>()), "src: expected float32 or float64, got ",
           std::string(py::str(src.dtype())));
  ordered_sum<double>(src, out);
}

// Rank `rank` arrives with `generation` (one more than its last), then waits until every rank's
// counter reaches it, a rank sets the failure slot, or timeout_s passes. Spins briefly (the other
// ranks are usually close), then yields the core (ranks may share cores), then sleeps.
int dist_barrier(py::array_t<std::int64_t, py::array::c_style> flags, index_t rank,
                 std::int64_t generation, double timeout_s) {
  FN_CHECK(flags.ndim() == 1 && flags.shape(0) % kSlot == 0 && flags.shape(0) >= 2 * kSlot &&
               flags.writeable(),
           "flags: expected a writable int64 array of (ranks + 1) * ", kSlot, " slots, got ",
           flags.shape(0));
  const index_t k = flags.shape(0) / kSlot - 1;
  FN_CHECK(rank >= 0 && rank < k, "rank: expected 0 <= rank < ", k, ", got ", rank);
  std::int64_t* f = flags.mutable_data();
  py::gil_scoped_release nogil;
  __atomic_store_n(f + rank * kSlot, generation, __ATOMIC_RELEASE);  // this rank's writes before
  using clock = std::chrono::steady_clock;
  const auto start = clock::now();
  const auto limit = std::chrono::duration<double>(timeout_s);
  for (long polls = 0;; ++polls) {
    const std::int64_t failed = __atomic_load_n(f + k * kSlot, __ATOMIC_ACQUIRE);
    if (failed > 0) return static_cast<int>(failed);
    index_t j = 0;
    while (j < k && __atomic_load_n(f + j * kSlot, __ATOMIC_ACQUIRE) >= generation) ++j;
    if (j == k) return 0;
    // ~10 us of spinning: ranks on cores of their own meet within it; past it, yield (cheap
    // when nothing else wants the core, and on a loaded machine the other rank may need it)
    if (polls < 100) continue;
    if ((polls & 63) == 0 && clock::now() - start > limit) return -1;
    if (clock::now() - start < std::chrono::milliseconds(20)) {
      std::this_thread::yield();
    } else {  // a long wait (a slow or stuck rank): let the core go
      std::this_thread::sleep_for(std::chrono::microseconds(100));
    }
  }
}

}  // namespace

void bind_dist(py::module_& m) {
  m.def("_dist_ordered_sum", &dist_ordered_sum, py::arg("src"), py::arg("out"),
        "out[i] <- sum of src[j, i] over j in rank order, in float64, rounded once");
  m.def("_dist_barrier", &dist_barrier, py::arg("flags").noconvert(), py::arg("rank"),
        py::arg("generation"), py::arg("timeout_s"),
        "shared-memory barrier: 0 when every rank arrived, r + 1 when rank r failed, -1 on "
        "timeout");
}

}  // namespace fusednet
