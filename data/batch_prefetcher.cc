#include "data/batch_prefetcher.h"

#include <utility>

namespace tessera {

BatchPrefetcher::BatchPrefetcher(BatchIterator iterator)
    : batches_per_epoch_(iterator.batches_per_epoch()),
      iterator_(std::move(iterator)),
      thread_([this] { Run(); }) {}

BatchPrefetcher::~BatchPrefetcher() {
  {
    absl::MutexLock lock(&mu_);
    stop_ = true;
  }
  thread_.join();
}

void BatchPrefetcher::Run() {
  Dataset work;
  while (true) {
    iterator_.Next(&work);
    absl::MutexLock lock(&mu_);
    mu_.Await(absl::Condition(
        +[](BatchPrefetcher* self) ABSL_EXCLUSIVE_LOCKS_REQUIRED(self->mu_) {
          return !self->has_ready_ || self->stop_;
        },
        this));
    if (stop_) return;
    std::swap(ready_, work);  // `work` now holds a recycled buffer
    has_ready_ = true;
  }
}

void BatchPrefetcher::Next(Dataset* batch) {
  absl::MutexLock lock(&mu_);
  mu_.Await(absl::Condition(&has_ready_));
  std::swap(*batch, ready_);
  has_ready_ = false;
}

}  // namespace tessera
