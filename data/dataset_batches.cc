#include "data/dataset_batches.h"

#include <algorithm>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace tessera {

absl::StatusOr<std::unique_ptr<TrainingBatches>> TrainingBatches::Create(
    const Dataset* dataset, const BatchIteratorOptions& options, Clock* clock) {
  ASSIGN_OR_RETURN(BatchIterator iterator, BatchIterator::Create(dataset, options));
  return std::unique_ptr<TrainingBatches>(new TrainingBatches(
      std::move(iterator), clock != nullptr ? clock : RealClock::Get()));
}

absl::StatusOr<bool> TrainingBatches::Next(Dataset* batch) {
  const absl::Time start = clock_->Now();
  iterator_.Next(batch);
  last_wait_ = clock_->Now() - start;
  return true;
}

absl::StatusOr<std::unique_ptr<OnePass>> OnePass::Create(const Dataset* dataset,
                                                         int64_t batch_size) {
  if (batch_size <= 0) {
    return absl::InvalidArgumentError(absl::StrCat("batch size must be > 0, got ", batch_size));
  }
  return std::unique_ptr<OnePass>(new OnePass(dataset, batch_size));
}

absl::StatusOr<bool> OnePass::Next(Dataset* batch) {
  const Dataset& d = *dataset_;
  const int64_t n = d.size();
  if (next_ >= n) return false;
  const int64_t start = next_;
  const int64_t b = std::min(batch_size_, n - start);
  next_ += b;
  Shape in_shape = d.inputs.shape();
  in_shape[0] = b;
  if (batch->inputs.shape() != in_shape) batch->inputs = Tensor(in_shape);
  const int64_t in_size = d.input_size();
  std::memcpy(batch->inputs.data(), d.inputs.data() + start * in_size,
              static_cast<size_t>(b * in_size) * sizeof(float));
  if (d.is_classification()) {
    batch->labels.assign(d.labels.begin() + start, d.labels.begin() + start + b);
    batch->targets = Tensor();
  } else {
    Shape t_shape = d.targets.shape();
    t_shape[0] = b;
    if (batch->targets.shape() != t_shape) batch->targets = Tensor(t_shape);
    const int64_t target_size = d.target_size();
    std::memcpy(batch->targets.data(), d.targets.data() + start * target_size,
                static_cast<size_t>(b * target_size) * sizeof(float));
    batch->labels.clear();
  }
  return true;
}

}  // namespace tessera
