#ifndef TESSERA_DATA_INPUT_H_
#define TESSERA_DATA_INPUT_H_

// A training job's input, whatever the DataConfig names (protos/
// data_config.proto): the batches one worker trains on and the passes over
// the test set that evaluation makes.
//
// - idx, csv, inline_data: loaded into memory once, by Open (with `load`,
//   LoadDataset when null); training batches from this worker's part
//   (data/batch_iterator.h), evaluation over the whole test split.
// - image_shards: streamed from TFRecord shards and decoded while the model
//   trains (data/image_shard_input.h); Open checks the options and that the
//   patterns match files, nothing is read until Training() or Test().
//
// Resuming: Training(start_batch) continues a part that already gave
// start_batch batches. In memory the same order goes on (the batches before
// are skipped); from shards a new order is drawn from (seed, start_batch),
// since replaying decoded images only to drop them would cost as much as
// training on them (TensorFlow's input pipelines also restart from scratch).
//
// Thread safety: Open, Training and Test from one thread; each stream is used
// by one thread at a time.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "common/clock.h"
#include "common/dataset.h"
#include "common/tensor.h"
#include "data/batch_stream.h"
#include "data/image_shard_input.h"
#include "data/load_dataset.h"
#include "protos/data_config.pb.h"

namespace tessera {

struct InputOptions {
  Shape input_shape;        // the model's input, without the batch dimension
  int64_t batch_size = 32;  // >= 1: training and evaluation batches
  int num_parts = 1;        // the job's workers
  int part = 0;             // this worker's task
  uint64_t seed = 0;
  bool with_test = false;   // the chief evaluates: load or check the test set
  Clock* clock = nullptr;   // borrowed; wait times (RealClock when null)
};

using DatasetLoader = std::function<absl::StatusOr<Dataset>(const DataConfig&, DataSplit)>;

class InputData {
 public:
  // INVALID_ARGUMENT for bad options, NOT_FOUND for a pattern matching no
  // file or, with with_test, no test set configured; the loader's errors
  // (naming the file) otherwise.
  static absl::StatusOr<std::unique_ptr<InputData>> Open(const DataConfig& config,
                                                         const InputOptions& options,
                                                         DatasetLoader load = nullptr);

  // Endless batches of this worker's part, as described above.
  absl::StatusOr<std::unique_ptr<BatchStream>> Training(int64_t start_batch);

  bool has_test() const { return has_test_; }
  // One pass over the test set (FAILED_PRECONDITION without one).
  absl::StatusOr<std::unique_ptr<BatchStream>> Test();

  // For the start-up log: "60000 training examples (part 0 of 2: 30000)" or
  // "image shards /data/train-* (part 0 of 2), test /data/validation-*".
  std::string Describe() const;

 private:
  InputData(const DataConfig& config, const InputOptions& options)
      : config_(config), options_(options) {}
  // The image-shard options both passes share (shape, batch, clock).
  ImageShardInputOptions ShardOptions(bool training) const;

  const DataConfig config_;
  const InputOptions options_;
  bool has_test_ = false;
  Dataset train_;  // in-memory sources
  Dataset test_;
};

}  // namespace tessera

#endif  // TESSERA_DATA_INPUT_H_
