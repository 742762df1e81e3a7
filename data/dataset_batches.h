#ifndef TESSERA_DATA_DATASET_BATCHES_H_
#define TESSERA_DATA_DATASET_BATCHES_H_

// BatchStreams (data/batch_stream.h) over a Dataset in memory:
//
// - TrainingBatches: the endless, reshuffled batches of one part that a
//   BatchIterator (data/batch_iterator.h) cuts; last_wait() is the time the
//   copy into the batch took.
// - OnePass: every example once, in order, `batch_size` at a time (the last
//   batch may be smaller): what evaluation reads.
//
// Both borrow the Dataset, which must outlive them, unchanged. Not
// thread-safe.

#include <cstdint>
#include <memory>

#include "absl/status/statusor.h"
#include "common/clock.h"
#include "common/dataset.h"
#include "data/batch_iterator.h"
#include "data/batch_stream.h"

namespace tessera {

class TrainingBatches final : public BatchStream {
 public:
  // `clock` is borrowed (RealClock::Get() when null). BatchIterator::Create's errors.
  static absl::StatusOr<std::unique_ptr<TrainingBatches>> Create(
      const Dataset* dataset, const BatchIteratorOptions& options, Clock* clock = nullptr);

  absl::StatusOr<bool> Next(Dataset* batch) override;
  absl::Duration last_wait() const override { return last_wait_; }

 private:
  TrainingBatches(BatchIterator iterator, Clock* clock)
      : iterator_(std::move(iterator)), clock_(clock) {}
  BatchIterator iterator_;
  Clock* const clock_;
  absl::Duration last_wait_;
};

class OnePass final : public BatchStream {
 public:
  // INVALID_ARGUMENT for batch_size <= 0.
  static absl::StatusOr<std::unique_ptr<OnePass>> Create(const Dataset* dataset,
                                                         int64_t batch_size);

  absl::StatusOr<bool> Next(Dataset* batch) override;
  absl::Duration last_wait() const override { return absl::ZeroDuration(); }

 private:
  OnePass(const Dataset* dataset, int64_t batch_size)
      : dataset_(dataset), batch_size_(batch_size) {}
  const Dataset* const dataset_;
  const int64_t batch_size_;
  int64_t next_ = 0;  // first example of the next batch
};

}  // namespace tessera

#endif  // TESSERA_DATA_DATASET_BATCHES_H_
