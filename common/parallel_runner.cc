#include "common/parallel_runner.h"

#include <algorithm>
#include <chrono>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace tessera {

template <typename Done>
bool ParallelRunner::SpinUntil(Done done) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::nanoseconds(kSpinNanos);
  while (true) {
    for (int i = 0; i < 64; ++i) {
      if (done()) return true;
#if defined(__x86_64__)
      _mm_pause();
#endif
    }
    if (std::chrono::steady_clock::now() >= deadline) return done();
  }
}

ParallelRunner::ParallelRunner(int width) : width_(width < 1 ? 1 : width) {
  for (int i = 1; i < width_; ++i) threads_.emplace_back([this, i] { Loop(i); });
}

ParallelRunner::~ParallelRunner() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  for (std::thread& t : threads_) t.join();
}

void ParallelRunner::Run(int n, absl::FunctionRef<void(int)> fn) {
  if (n <= 0) return;
  if (n > width_) n = width_;
  {
    absl::MutexLock lock(&mu_);
    fn_ = &fn;
    n_ = n;
    pending_ = n - 1;
    pending_seen_.store(pending_, std::memory_order_relaxed);
    ++generation_;
    generation_seen_.store(generation_, std::memory_order_release);
  }
  fn(0);
  SpinUntil([this] { return pending_seen_.load(std::memory_order_acquire) == 0; });
  absl::MutexLock lock(&mu_);
  mu_.Await(absl::Condition(
      +[](int* pending) { return *pending == 0; }, &pending_));
  fn_ = nullptr;
}

void ParallelRunner::Loop(int index) {
  int64_t seen = 0;
  while (true) {
    const absl::FunctionRef<void(int)>* fn;
    SpinUntil([this, seen] { return generation_seen_.load(std::memory_order_acquire) != seen; });
    {
      absl::MutexLock lock(&mu_);
      auto ready = [this, &seen]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return stopping_ || generation_ != seen;
      };
      mu_.Await(absl::Condition(&ready));
      if (stopping_) return;
      seen = generation_;
      if (index >= n_) continue;
      fn = fn_;
    }
    (*fn)(index);
    absl::MutexLock lock(&mu_);
    --pending_;
    pending_seen_.store(pending_, std::memory_order_release);
  }
}

void ForEachRangeOfPart(size_t arrays, absl::FunctionRef<int64_t(size_t)> size, int part,
                        int parts, absl::FunctionRef<void(size_t, int64_t, int64_t)> fn) {
  int64_t total = 0;
  for (size_t i = 0; i < arrays; ++i) total += size(i);
  const int64_t begin = total * part / parts, end = total * (part + 1) / parts;
  int64_t base = 0;
  for (size_t i = 0; i < arrays && base < end; ++i) {
    const int64_t n = size(i);
    const int64_t lo = std::max(begin, base) - base;
    const int64_t hi = std::min(end, base + n) - base;
    base += n;
    if (lo < hi) fn(i, lo, hi);
  }
}

}  // namespace tessera
