// GEMM on the GPU: C = act(alpha * A @ B + beta * C + bias)
//   A [M, K], B [K, N], C [M, N], each given by element strides (row, column), so the four
//   transpose forms (and any other view) need no copy; bias has N entries (nullptr = none).
//   beta == 0 never reads C (NaN in C does not propagate). 64-bit indexing throughout.
//
// Kernels, simplest first (the tensor-core ones in gemm_tf32.cu):
//   gemm_ref_kernel     one thread per output, double accumulation: the device ground truth.
//   sgemm_kernel<BM,BN> FP32 SIMT: BMxBNx8 block tile in shared memory (double-buffered, next tile
//                       prefetched into registers while the current one is used), 8x8 outputs per
//                       thread in registers, 128-bit global loads along the contiguous dimension of
//                       each operand when aligned. 128x128 for big problems, 64x64 when a 128 grid
//                       would leave SMs idle.
//   split-K            exact FP32 with too few 64x64 tiles and a long K: sgemm_kernel<64, 64>
//                       per K slice into workspace slabs, then splitk_reduce_kernel sums them in
//                       slice order (deterministic) and applies the epilogue.
//   sgemm_tf32_kernel, sgemm_tf32_v2_kernel<BN>: opt-in TF32 tensor cores (sm_80+), gemm_tf32.cu.
// The epilogue (alpha, beta C, bias, activation) is applied while writing C, in every kernel
// (gemm_device.cuh). The launch decisions, at the end of this file, pick the kernel.
#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <mutex>
#include <unordered_map>

#include "kernels/checks.h"
#include "kernels/cuda/gemm_device.cuh"

namespace fusednet {
namespace gemm_gpu {
namespace {

// ---- reference ------------------------------------------------------------------------------------
__global__ void gemm_ref_kernel(GemmArgs g) {
  for (index_t i = blockIdx.y * static_cast<index_t>(blockDim.y) + threadIdx.y; i < g.M;
       i += static_cast<index_t>(gridDim.y) * blockDim.y)
    for (index_t j = blockIdx.x * static_cast<index_t>(blockDim.x) + threadIdx.x; j < g.N;
         j += static_cast<index_t>(gridDim.x) * blockDim.x) {
      double acc = 0.0;
      for (index_t k = 0; k < g.K; ++k)
        acc += static_cast<double>(g.A[i * g.rs_a + k * g.cs_a]) *
               static_cast<double>(g.B[k * g.rs_b + j * g.cs_b]);
      store_one(g, i, j, static_cast<float>(acc));
    }
}

// ---- FP32 SIMT kernel --------------------------------------------------------------------------------
// Thread (tx, ty) owns rows {ty*4 .. +3, BM/2 + ty*4 .. +3} and columns {tx*4 .. +3, BN/2 + tx*4 .. +3}
// of the block tile: two float4 reads per operand per k from shared memory, conflict-free.
// The 128x128 kernel is held to 128 registers so two blocks share an SM (16 warps: one block's
// barrier and global-load waits are covered by the other's FMAs); left alone ptxas takes 179-187
// and one block fits. The cost is a few spilled values: about 5 local loads (L1 hits) per 512
// FMAs in the k loop, the rest in the once-per-tile epilogue (cuobjdump, sm_80 and sm_90).
template <int BM, int BN, bool A_KM, bool B_KM>
__global__ void __launch_bounds__((BM / 8) * (BN / 8), BM >= 128 ? 2 : 1) sgemm_kernel(GemmArgs g) {
  if (g.k_split > 0) {  // multiples of 8 keep every 128-bit alignment of A and B
    const index_t k0 = static_cast<index_t>(blockIdx.z) * g.k_split;
    g.A += k0 * g.cs_a;
    g.B += k0 * g.rs_b;
    g.K = g.K - k0 < g.k_split ? g.K - k0 : g.k_split;
    g.C += static_cast<index_t>(blockIdx.z) * g.slab;
  }
  constexpr int BK = 8;
  constexpr int THREADS = (BM / 8) * (BN / 8);
  constexpr int LDA = BM + 4, LDB = BN + 4;  // +4: conflict-free transposing stores
  __shared__ __align__(16) float As[2][BK * LDA];
  __shared__ __align__(16) float Bs[2][BK * LDB];
  const int tid = threadIdx.x;
  const int tx = tid % (BN / 8), ty = tid / (BN / 8);
  const index_t tiles_m = dev::cdiv(g.M, BM);
  const index_t n0 = static_cast<index_t>(blockIdx.x) * BN;
  const index_t ktiles = dev::cdiv(g.K, BK);

  for (index_t tm = blockIdx.y; tm < tiles_m; tm += gridDim.y) {
    const index_t m0 = tm * BM;
    float acc[8][8];
    zero_fill(acc);
    TilePair<BM, BN, BK, THREADS, A_KM, B_KM> tiles(g, m0, n0, tid);
    tiles.template first<LDA, LDB, false>(g, ktiles, As[0], Bs[0], tid);
    __syncthreads();

    for (index_t kt = 0; kt < ktiles; ++kt) {
      const int cur = static_cast<int>(kt & 1);
      const bool more = kt + 1 < ktiles;
      if (more) tiles.load(g, (kt + 1) * BK, tid);  // global loads overlap the math below
      const float* as = As[cur];
      const float* bs = Bs[cur];
#pragma unroll
      for (int k = 0; k < BK; ++k) {
        const float4 a0 = *reinterpret_cast<const float4*>(as + k * LDA + ty * 4);
        const float4 a1 = *reinterpret_cast<const float4*>(as + k * LDA + BM / 2 + ty * 4);
        const float4 b0 = *reinterpret_cast<const float4*>(bs + k * LDB + tx * 4);
        const float4 b1 = *reinterpret_cast<const float4*>(bs + k * LDB + BN / 2 + tx * 4);
        const float a[8] = {a0.x, a0.y, a0.z, a0.w, a1.x, a1.y, a1.z, a1.w};
        const float b[8] = {b0.x, b0.y, b0.z, b0.w, b1.x, b1.y, b1.z, b1.w};
#pragma unroll
        for (int i = 0; i < 8; ++i)
#pragma unroll
          for (int j = 0; j < 8; ++j) acc[i][j] = fmaf(a[i], b[j], acc[i][j]);
      }
      // The other buffer was last read before the previous barrier.
      if (more) tiles.template store<LDA, LDB, false>(As[cur ^ 1], Bs[cur ^ 1], tid);
      __syncthreads();
    }

#pragma unroll
    for (int i = 0; i < 8; ++i) {
      const index_t row = m0 + (i < 4 ? ty * 4 + i : BM / 2 + ty * 4 + (i - 4));
      const float lo[4] = {acc[i][0], acc[i][1], acc[i][2], acc[i][3]};
      const float hi[4] = {acc[i][4], acc[i][5], acc[i][6], acc[i][7]};
      store_four(g, row, n0 + tx * 4, lo);
      store_four(g, row, n0 + BN / 2 + tx * 4, hi);
    }
  }
}

// ---- split-K reduction -----------------------------------------------------------------------------
// C[i, j] = epilogue(sum over z of slab z [i, j]), z in order: deterministic whatever the schedule.
__global__ void splitk_reduce_kernel(GemmArgs g, const float* slabs, int splits) {
  const index_t total = g.M * g.N;
  for (index_t e = blockIdx.x * static_cast<index_t>(blockDim.x) + threadIdx.x; e < total;
       e += static_cast<index_t>(gridDim.x) * blockDim.x) {
    float acc = slabs[e];
    for (int z = 1; z < splits; ++z) acc += slabs[z * total + e];
    const index_t i = e / g.N;
    store_one(g, i, e - i * g.N, acc);
  }
}
}  // namespace

// ---- host side -------------------------------------------------------------------------------------
// Queried once per thread and device: a training loop calls gemm many times per batch.
DeviceFacts current_device_facts() {
  thread_local int cached_device = -1;
  thread_local DeviceFacts cached;
  int dev = 0;
  CUDA_CHECK(cudaGetDevice(&dev));
  if (dev != cached_device) {
    DeviceFacts f;
    CUDA_CHECK(cudaDeviceGetAttribute(&f.major, cudaDevAttrComputeCapabilityMajor, dev));
    CUDA_CHECK(cudaDeviceGetAttribute(&f.sms, cudaDevAttrMultiProcessorCount, dev));
    CUDA_CHECK(cudaDeviceGetAttribute(&f.smem_optin, cudaDevAttrMaxSharedMemoryPerBlockOptin, dev));
    f.device = dev;
    cached = f;
    cached_device = dev;
  }
  return cached;
}

namespace {
// Decides how an operand X[row, k] (strides s_row, s_k) is read: k-major or row-major tiles, and
// whether 128-bit loads are allowed. The stride of a size-1 dimension is never used, so it is
// normalised first (NumPy gives such dimensions arbitrary strides).
void pick_layout(const float* X, index_t rows, index_t K, index_t& s_row, index_t& s_k,
                 bool& k_major, bool& vec) {
  if (K == 1) s_k = 1;
  if (rows == 1 && s_k != 1) s_row = 1;
  k_major = s_k == 1 || s_row != 1;  // neither unit: scalar loads, either mapping is correct
  vec =
      (k_major ? (s_k == 1 && s_row % 4 == 0) : (s_row == 1 && s_k % 4 == 0)) && dev::aligned16(X);
}

// splits > 1: a split-K partial pass, one grid z slice per K slice (GemmArgs::k_split).
template <int BM, int BN>
void launch_sgemm(const GemmArgs& g, bool a_km, bool b_km, cudaStream_t stream, int splits = 1) {
  const dim3 grid(static_cast<unsigned>(ceil_div(g.N, BN)),
                  static_cast<unsigned>(std::min(ceil_div(g.M, BM), kMaxGridY)),
                  static_cast<unsigned>(splits));
  const dim3 block((BM / 8) * (BN / 8));
  with_layouts(a_km, b_km, [&](auto a, auto b) {
    sgemm_kernel<BM, BN, decltype(a)::value, decltype(b)::value><<<grid, block, 0, stream>>>(g);
  });
  CUDA_CHECK_LAUNCH();
}

// ---- split-K for small grids -------------------------------------------------------------------------
// A training step's GEMMs are small in M x N and long in K (dW = x^T dz runs over the batch):
// 64x64 tiles give a few dozen blocks of 2 warps on 132 SMs, each walking all of K. Splitting K
// into slices of >= 128 (multiples of 8) gives enough blocks; each slice writes its own M x N slab
// of a workspace, and splitk_reduce_kernel sums the slabs in slice order and applies the epilogue,
// so the result is the same run to run (it differs from the unsplit sum only by rounding).
constexpr index_t kSplitMinSlice = 128;
constexpr int kSplitMax = 32;
constexpr index_t kSplitWorkspaceFloats = index_t{16} << 20;  // 64 MiB per device at most

// Slices for an M x N x K product on `sms` SMs; 1: don't split.
int split_k_slices(index_t M, index_t N, index_t K, int sms, index_t* slice) {
  const index_t tiles = ceil_div(M, 64) * ceil_div(N, 64);
  if (K < 2 * kSplitMinSlice || tiles >= sms) return 1;
  index_t want = ceil_div(index_t{4} * sms, tiles);  // about 8 warps per SM
  want = std::min<index_t>(
      {want, K / kSplitMinSlice, kSplitMax, kSplitWorkspaceFloats / std::max<index_t>(M * N, 1)});
  if (want < 2) return 1;
  *slice = ceil_div(ceil_div(K, want), 8) * 8;
  return static_cast<int>(ceil_div(K, *slice));
}

// The workspace of the split-K path: one per device, grown on demand, kept for the process (as a
// BLAS handle keeps its own). The lock covers growth and both launches, so two host threads never
// interleave their slabs; split-K runs only on the legacy default stream, where the launches of
// different calls execute in issue order.
std::mutex& split_k_lock() {
  static std::mutex m;
  return m;
}
float* split_k_workspace(int device, index_t floats) {
  static std::unordered_map<int, DeviceBuffer> buffers;
  DeviceBuffer& b = buffers[device];
  const std::size_t bytes = sizeof(float) * static_cast<std::size_t>(floats);
  if (b.bytes() < bytes) b = DeviceBuffer(bytes);  // cudaFree waits for the kernels using it
  return b.as<float>();
}

void launch_split_k(const GemmArgs& g, bool a_km, bool b_km, int splits, index_t slice, float* ws) {
  GemmArgs part = g;
  part.alpha = 1.0f;
  part.beta = 0.0f;
  part.bias = nullptr;
  part.act = 0;
  part.C = ws;
  part.rs_c = g.N;
  part.cs_c = 1;
  part.vec_c = g.N % 4 == 0;  // cudaMalloc'ed, and every slab starts at a multiple of 4 floats
  part.k_split = slice;
  part.slab = g.M * g.N;
  launch_sgemm<64, 64>(part, a_km, b_km, nullptr, splits);
  const index_t blocks = std::min<index_t>(ceil_div(g.M * g.N, 256), 4096);
  splitk_reduce_kernel<<<static_cast<unsigned>(blocks), 256>>>(g, ws, splits);
  CUDA_CHECK_LAUNCH();
}

// On unless FUSEDNET_GEMM_SPLIT_K=0 or set_gemm_cuda_split_k(0) (benchmarks compare both).
std::atomic<int>& split_k_knob() {
  static std::atomic<int> knob{[] {
    const char* v = std::getenv("FUSEDNET_GEMM_SPLIT_K");
    return v && v[0] == '0' && v[1] == '\0' ? 0 : 1;
  }()};
  return knob;
}

// FP32 split-K on the legacy default stream; false when the problem is not worth splitting.
bool try_split_k(const GemmArgs& g, bool a_km, bool b_km, const DeviceFacts& f) {
  if (!split_k_knob().load(std::memory_order_relaxed)) return false;
  index_t slice = 0;
  const int splits = split_k_slices(g.M, g.N, g.K, f.sms, &slice);
  if (splits < 2) return false;
  std::lock_guard<std::mutex> lock(split_k_lock());
  float* ws = split_k_workspace(f.device, splits * g.M * g.N);
  launch_split_k(g, a_km, b_km, splits, slice, ws);
  return true;
}

GemmArgs make_args(index_t M, index_t N, index_t K, float alpha, const float* A, index_t rs_a,
                   index_t cs_a, const float* B, index_t rs_b, index_t cs_b, float beta, float* C,
                   index_t rs_c, index_t cs_c, const Epilogue& epi) {
  check_elementwise(epi.act);
  const int act = static_cast<int>(epi.act);
  GemmArgs g{};
  g.M = M;
  g.N = N;
  g.K = K;
  g.alpha = alpha;
  g.beta = beta;
  g.A = A;
  g.rs_a = rs_a;
  g.cs_a = cs_a;
  g.B = B;
  g.rs_b = rs_b;
  g.cs_b = cs_b;
  g.C = C;
  g.rs_c = rs_c;
  g.cs_c = cs_c;
  g.bias = epi.bias;
  g.act = act;
  g.act_param = epi.act_param;
  return g;
}
}  // namespace
}  // namespace gemm_gpu

using namespace gemm_gpu;  // the kernels and launch decisions above

void gemm_ref_cuda(index_t M, index_t N, index_t K, float alpha, const float* A, index_t rs_a,
                   index_t cs_a, const float* B, index_t rs_b, index_t cs_b, float beta, float* C,
                   index_t rs_c, index_t cs_c, const Epilogue& epilogue, CudaStream stream) {
  GemmArgs g =
      make_args(M, N, K, alpha, A, rs_a, cs_a, B, rs_b, cs_b, beta, C, rs_c, cs_c, epilogue);
  if (M <= 0 || N <= 0) return;
  const dim3 block(16, 16);
  const dim3 grid(static_cast<unsigned>(std::min<index_t>(ceil_div(N, 16), 65535)),
                  static_cast<unsigned>(std::min<index_t>(ceil_div(M, 16), 65535)));
  gemm_ref_kernel<<<grid, block, 0, as_stream(stream)>>>(g);
  CUDA_CHECK_LAUNCH();
}

void gemm_cuda(index_t M, index_t N, index_t K, float alpha, const float* A, index_t rs_a,
               index_t cs_a, const float* B, index_t rs_b, index_t cs_b, float beta, float* C,
               index_t rs_c, index_t cs_c, const Epilogue& epilogue, bool allow_tf32,
               CudaStream stream) {
  GemmArgs g =
      make_args(M, N, K, alpha, A, rs_a, cs_a, B, rs_b, cs_b, beta, C, rs_c, cs_c, epilogue);
  if (M <= 0 || N <= 0) return;
  bool a_km, b_km;
  pick_layout(g.A, M, K, g.rs_a, g.cs_a, a_km, g.vec_a);
  pick_layout(g.B, N, K, g.cs_b, g.rs_b, b_km, g.vec_b);  // B read as B^T[n, k]
  if (N == 1) g.cs_c = 1;
  g.vec_c = g.cs_c == 1 && g.rs_c % 4 == 0 && dev::aligned16(g.C);

  const DeviceFacts dev_facts = current_device_facts();
  cudaStream_t s = as_stream(stream);
  if (allow_tf32 && dev_facts.major >= 8 && K > 0 && tf32_kernel_has_mma()) {
    launch_tf32(g, a_km, b_km, dev_facts, s);
    return;
  }
  // A 128x128 grid that cannot fill the SMs wastes most of the device: use 64x64 tiles then,
  // and split K as well when even those are too few.
  const index_t big_tiles = ceil_div(M, 128) * ceil_div(N, 128);
  if (big_tiles >= dev_facts.sms) launch_sgemm<128, 128>(g, a_km, b_km, s);
  else if (s != nullptr || !try_split_k(g, a_km, b_km, dev_facts))
    launch_sgemm<64, 64>(g, a_km, b_km, s);
}

int set_gemm_cuda_split_k(int enabled) {
  FN_CHECK(enabled >= -1 && enabled <= 1, "split_k: expected 0 (off), 1 (on) or -1 (query), got ",
           enabled);
  return enabled < 0 ? split_k_knob().load() : split_k_knob().exchange(enabled);
}

}  // namespace fusednet
