// fusednet's own worker threads, used by every parallel CPU kernel instead of OpenMP.
//
// Why not OpenMP: a parallel region ends with a barrier that waits for every thread of the team,
// including one that has not even started. On a shared or virtual machine a woken worker often
// sits in the run queue of the caller's own core until the next scheduler tick (~4 ms), so a
// 100 us call took 4 ms. Here work is claimed dynamically by whoever runs, and the caller waits
// only for the workers that actually joined: a late worker finds nothing left and goes back to
// waiting. Workers spin briefly after a job (back-to-back calls pay no wake-up), then sleep.
//
// Results never depend on which thread ran which piece: every kernel's pieces are independent,
// and reductions combine per-piece results in a fixed order.
#pragma once

#include <atomic>
#include <type_traits>

#include "common.h"

namespace fusednet {

// Runs fn(ctx, worker, team) on the calling thread (worker 0) and on up to team - 1 pool threads
// (workers 1.., numbered in the order they join; some may never join). The work must be shared
// out dynamically (see parallel_for), never assumed done by a given worker. The first exception
// thrown by any worker is rethrown here once all joined workers are done. Calls from inside a
// pool job, or while another thread's job holds the pool, run on the caller alone (worker 0 of 1).
void run_team_raw(int team, void (*fn)(void*, int, int), void* ctx);

template <class F>
void run_team(int team, F&& body) {
  auto trampoline = [](void* ctx, int worker, int size) {
    (*static_cast<std::remove_reference_t<F>*>(ctx))(worker, size);
  };
  run_team_raw(team, trampoline, const_cast<void*>(static_cast<const void*>(&body)));
}

// body(begin, end) over [0, n) in pieces of `grain` (the last one shorter), on up to `threads`
// threads; pieces are claimed one at a time by whichever thread is free.
template <class F>
void parallel_for(index_t n, index_t grain, int threads, F&& body) {
  if (n <= 0) return;
  grain = grain < 1 ? 1 : grain;
  const index_t pieces = ceil_div(n, grain);
  const int team = static_cast<int>(pieces < threads ? pieces : threads);
  if (team <= 1) {
    body(index_t{0}, n);
    return;
  }
  std::atomic<index_t> next{0};
  run_team(team, [&](int, int) {
    for (index_t piece; (piece = next.fetch_add(1, std::memory_order_relaxed)) < pieces;) {
      const index_t begin = piece * grain;
      body(begin, begin + grain < n ? begin + grain : n);
    }
  });
}

// One pause in a spin-wait loop (lets the sibling hyper-thread and the memory system breathe).
inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}

// Threads used by every parallel kernel. Results never depend on it (fixed reduction orders).
// Default: FUSEDNET_NUM_THREADS, else OMP_NUM_THREADS, else the CPUs this process may run on.
int num_threads();
void set_num_threads(int n);

// Pool threads started so far (tests).
int pool_threads_started();

}  // namespace fusednet
