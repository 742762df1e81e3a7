#include "common/parallel_runner.h"

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

}  // namespace tessera
