#include "common/parallel_runner.h"

#include <algorithm>

namespace tessera {

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
    ++generation_;
  }
  fn(0);
  absl::MutexLock lock(&mu_);
  mu_.Await(absl::Condition(
      +[](int* pending) { return *pending == 0; }, &pending_));
  fn_ = nullptr;
}

void ParallelRunner::Loop(int index) {
  int64_t seen = 0;
  while (true) {
    const absl::FunctionRef<void(int)>* fn;
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
