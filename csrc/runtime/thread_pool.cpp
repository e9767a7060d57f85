#include "runtime/thread_pool.h"

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdlib>
#include <exception>
#include <mutex>
#include <new>
#include <thread>
#include <vector>

#ifdef _WIN32
#include <process.h>
#define getpid _getpid
using pid_t = int;
#else
#include <pthread.h>
#include <sched.h>
#include <unistd.h>
#endif

namespace fusednet {
namespace {

// How long a worker keeps polling for the next job before it sleeps: long enough to cover the
// gaps between the kernel calls of a training step, short enough not to hold a core that other
// processes (or NumPy's and PyTorch's threads) want. FUSEDNET_SPIN_US overrides it.
std::chrono::microseconds spin_budget() {
  long us = 300;
  if (const char* env = std::getenv("FUSEDNET_SPIN_US"); env && *env) us = std::atol(env);
  return std::chrono::microseconds(us < 0 ? 0 : us);
}

thread_local bool tl_in_pool_job = false;

int current_cpu() {
#ifdef __linux__
  return sched_getcpu();
#else
  return -1;
#endif
}

// Moves the calling thread off `cpu` when it may run elsewhere: a worker that the OS woke on the
// caller's core would otherwise share that core with the caller, often for many milliseconds
// (the load balancer leaves busy, cache-hot threads where they are), while another core idles.
// Excluding the core for a moment migrates the thread at once; the full mask is then restored.
void move_off_cpu(int cpu) {
#ifdef __linux__
  cpu_set_t allowed;
  if (cpu < 0 || cpu >= CPU_SETSIZE || sched_getaffinity(0, sizeof(allowed), &allowed) != 0) return;
  if (!CPU_ISSET(cpu, &allowed) || CPU_COUNT(&allowed) < 2) return;
  cpu_set_t elsewhere = allowed;
  CPU_CLR(cpu, &elsewhere);
  if (sched_setaffinity(0, sizeof(elsewhere), &elsewhere) == 0)
    sched_setaffinity(0, sizeof(allowed), &allowed);
#else
  (void)cpu;
#endif
}

class Pool {
 public:
  Pool() : spin_(spin_budget()) {}

  // Runs one job; false when the pool is busy with another caller's job.
  bool run(int team, void (*fn)(void*, int, int), void* ctx) {
    std::unique_lock<std::mutex> owner(submit_, std::try_to_lock);
    if (!owner.owns_lock()) return false;
    grow(team - 1);
    fn_ = fn;
    ctx_ = ctx;
    team_ = team;
    wanted_.store(team - 1, std::memory_order_relaxed);
    caller_cpu_.store(current_cpu(), std::memory_order_relaxed);
    error_ = nullptr;
    failed_.store(false, std::memory_order_relaxed);
    next_worker_.store(1, std::memory_order_relaxed);
    closed_.store(false, std::memory_order_seq_cst);
    gen_.fetch_add(1, std::memory_order_seq_cst);
    if (sleepers_.load(std::memory_order_seq_cst) > 0) {
      std::lock_guard<std::mutex> lock(wake_);
      wake_cv_.notify_all();
    }
    std::exception_ptr mine;
    try {
      call(0);
    } catch (...) {
      mine = std::current_exception();
    }
    // From here no worker joins; wait for those that did (Dekker with `active_` in work()).
    closed_.store(true, std::memory_order_seq_cst);
    for (int spins = 0; active_.load(std::memory_order_seq_cst) != 0; ++spins) {
      cpu_relax();
      if ((spins & 255) == 255) std::this_thread::yield();
    }
    if (mine) std::rethrow_exception(mine);
    if (failed_.load(std::memory_order_acquire)) std::rethrow_exception(error_);
    return true;
  }

  int started() const { return started_.load(); }

 private:
  void call(int worker) {
    tl_in_pool_job = true;
    struct Reset {
      ~Reset() { tl_in_pool_job = false; }
    } reset;
    fn_(ctx_, worker, team_);
  }

  // Starts workers up to `wanted`; when the system refuses a thread (limits), the job runs
  // with those there are, as work is shared dynamically anyway.
  void grow(int wanted) {
    while (static_cast<int>(threads_.size()) < wanted) {
      const int id = static_cast<int>(threads_.size());
      try {
        threads_.emplace_back([this, id] { work(id); });
      } catch (const std::exception&) {
        return;
      }
      threads_.back().detach();
      started_.fetch_add(1);
    }
  }

  // Waits for a job newer than `seen`: polls for the spin budget, then sleeps.
  std::uint64_t wait_for_job(std::uint64_t seen) {
    using clock = std::chrono::steady_clock;
    const auto until = clock::now() + spin_;
    for (int i = 0;; ++i) {
      const std::uint64_t g = gen_.load(std::memory_order_acquire);
      if (g != seen) return g;
      cpu_relax();
      // Every few microseconds: leave the caller's core if the OS put this thread there, and
      // stop polling once the budget is spent.
      if ((i & 255) == 255) {
        if (clock::now() >= until) break;
        leave_callers_cpu();
      }
    }
    std::unique_lock<std::mutex> lock(wake_);
    sleepers_.fetch_add(1, std::memory_order_seq_cst);
    std::uint64_t g;
    while ((g = gen_.load(std::memory_order_seq_cst)) == seen) wake_cv_.wait(lock);
    sleepers_.fetch_sub(1, std::memory_order_relaxed);
    return g;
  }

  void leave_callers_cpu() {
    const int caller = caller_cpu_.load(std::memory_order_relaxed);
    if (caller >= 0 && current_cpu() == caller) move_off_cpu(caller);
  }

  void work(int id) {
    std::uint64_t seen = gen_.load(std::memory_order_acquire);
    for (;;) {
      const std::uint64_t g = wait_for_job(seen);
      seen = g;
      // Threads beyond this job's team (after set_num_threads lowered it) sit it out.
      if (id >= wanted_.load(std::memory_order_relaxed)) continue;
      active_.fetch_add(1, std::memory_order_seq_cst);
      // A job that closed (or was replaced) before this thread got here needs nothing from it.
      if (!closed_.load(std::memory_order_seq_cst) && gen_.load(std::memory_order_seq_cst) == g) {
        leave_callers_cpu();
        const int worker = next_worker_.fetch_add(1, std::memory_order_relaxed);
        if (worker < team_) {
          try {
            call(worker);
          } catch (...) {
            if (!failed_.exchange(true, std::memory_order_acq_rel))
              error_ = std::current_exception();
          }
        }
      }
      active_.fetch_sub(1, std::memory_order_seq_cst);
    }
  }

  const std::chrono::microseconds spin_;
  std::mutex submit_;  // held by the caller whose job is running
  std::vector<std::thread> threads_;
  std::atomic<int> started_{0};

  // The current job (written by its caller before gen_ moves on, read by workers after).
  void (*fn_)(void*, int, int) = nullptr;
  void* ctx_ = nullptr;
  int team_ = 1;
  std::exception_ptr error_;
  std::atomic<bool> failed_{false};
  std::atomic<int> next_worker_{1};
  std::atomic<int> wanted_{0};  // pool threads the job asks for
  std::atomic<int> caller_cpu_{-1};  // the core the last job's caller ran on
  std::atomic<bool> closed_{true};
  std::atomic<int> active_{0};

  std::atomic<std::uint64_t> gen_{0};
  std::atomic<int> sleepers_{0};
  std::mutex wake_;
  std::condition_variable wake_cv_;
};

// Never destroyed: its detached workers may still be polling when the process exits. A forked
// child has none of the parent's threads, so it starts a pool of its own.
std::atomic<Pool*> g_pool{nullptr};
std::atomic<pid_t> g_pool_pid{0};
std::mutex g_pool_create;

#ifndef _WIN32
// A fork while another thread held the creation lock would leave it locked in the child.
void reset_in_child() {
  new (&g_pool_create) std::mutex();
  g_pool.store(nullptr);
}
#endif

Pool& pool() {
  const pid_t pid = getpid();
  Pool* p = g_pool.load(std::memory_order_acquire);
  if (p && g_pool_pid.load(std::memory_order_relaxed) == pid) return *p;
  std::lock_guard<std::mutex> lock(g_pool_create);
  p = g_pool.load(std::memory_order_acquire);
  if (!p || g_pool_pid.load(std::memory_order_relaxed) != pid) {
#ifndef _WIN32
    static const int registered = pthread_atfork(nullptr, nullptr, reset_in_child);
    (void)registered;
#endif
    p = new Pool();
    g_pool_pid.store(pid, std::memory_order_relaxed);
    g_pool.store(p, std::memory_order_release);
  }
  return *p;
}

}  // namespace

void run_team_raw(int team, void (*fn)(void*, int, int), void* ctx) {
  if (team > 1 && !tl_in_pool_job && pool().run(team, fn, ctx)) return;
  fn(ctx, 0, 1);
}

int pool_threads_started() {
  Pool* p = g_pool.load(std::memory_order_acquire);
  return p && g_pool_pid.load() == getpid() ? p->started() : 0;
}

// ---- thread count ----------------------------------------------------------------------------

namespace {
std::atomic<int> g_threads{0};

// FUSEDNET_NUM_THREADS, else OMP_NUM_THREADS (its first entry: what users already set for their
// other libraries), else the CPUs this process may run on.
int default_threads() {
  for (const char* name : {"FUSEDNET_NUM_THREADS", "OMP_NUM_THREADS"}) {
    if (const char* env = std::getenv(name); env && *env) {
      const long n = std::strtol(env, nullptr, 10);
      if (n >= 1) return static_cast<int>(n < 1024 ? n : 1024);
    }
  }
#ifdef __linux__
  cpu_set_t mask;
  if (sched_getaffinity(0, sizeof(mask), &mask) == 0 && CPU_COUNT(&mask) > 0)
    return CPU_COUNT(&mask);
#endif
  const unsigned hw = std::thread::hardware_concurrency();
  return hw > 0 ? static_cast<int>(hw) : 1;
}
}  // namespace

int num_threads() {
  int n = g_threads.load(std::memory_order_relaxed);
  if (n > 0) return n;
  n = default_threads();
  g_threads.store(n);
  return n;
}

void set_num_threads(int n) {
  FN_CHECK(n >= 1, "n: expected a thread count >= 1, got ", n);
  g_threads.store(n);
}

}  // namespace fusednet
