#ifndef TESSERA_COMMON_PARALLEL_RUNNER_H_
#define TESSERA_COMMON_PARALLEL_RUNNER_H_

// Runs fn(0), ..., fn(n-1) at once on a fixed set of threads: the calling
// thread runs fn(0), background threads (started once, in the constructor)
// run the rest. For per-step fan-out such as one RPC per parameter server,
// where starting threads every step would cost time and, through glibc's
// per-thread malloc arenas, memory.
// Run() may be called by one thread at a time; the destructor joins.
//
// Waits spin briefly before they block: a thread that has finished its part
// watches for the next Run() for up to kSpinNanos, and Run() watches for the other
// parts to finish for as long, before either sleeps on the mutex. Waking a
// sleeping thread costs about 20 us on these VMs (a futex wake and the
// hypervisor's interrupt), and a training step of ResNet-18 runs hundreds of
// short parallel loops back to back: with blocking waits alone a step kept
// about 1.7 of 2 cores busy.

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <thread>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/synchronization/mutex.h"

namespace tessera {

class ParallelRunner {
 public:
  // `width` >= 1: the largest n Run() accepts.
  explicit ParallelRunner(int width);
  ~ParallelRunner();
  ParallelRunner(const ParallelRunner&) = delete;
  ParallelRunner& operator=(const ParallelRunner&) = delete;

  // How long a waiting thread spins before it blocks.
  static constexpr int64_t kSpinNanos = 50'000;

  int width() const { return width_; }
  // Runs fn(i) for every i in [0, n), n <= width(), and returns when all have
  // returned. `fn` must be safe to call from several threads at once. A
  // FunctionRef: passing a lambda allocates nothing.
  void Run(int n, absl::FunctionRef<void(int)> fn);

 private:
  void Loop(int index);
  // Spins until `done()` or kSpinNanos have passed; returns done().
  template <typename Done>
  static bool SpinUntil(Done done);

  const int width_;
  std::vector<std::thread> threads_;
  absl::Mutex mu_;
  const absl::FunctionRef<void(int)>* fn_ ABSL_GUARDED_BY(mu_) = nullptr;
  int n_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t generation_ ABSL_GUARDED_BY(mu_) = 0;
  int pending_ ABSL_GUARDED_BY(mu_) = 0;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  // Copies of generation_ and pending_, written under mu_ with them, read
  // without it by the spinning waits (which then take mu_ and check again).
  std::atomic<int64_t> generation_seen_{0};
  std::atomic<int> pending_seen_{0};
};

// Elementwise work over several arrays cut into equal parts, one per thread:
// the arrays (array i has size(i) elements; 0 leaves it out) are laid end to
// end and cut into `parts` parts; for part `part` this calls fn(i, lo, hi) for
// every array i that part overlaps, with [lo, hi) the elements of array i in
// it. Used inside a Run(parts, ...) callback.
void ForEachRangeOfPart(size_t arrays, absl::FunctionRef<int64_t(size_t)> size, int part,
                        int parts, absl::FunctionRef<void(size_t, int64_t, int64_t)> fn);

}  // namespace tessera

#endif  // TESSERA_COMMON_PARALLEL_RUNNER_H_
