#ifndef TESSERA_DATA_IMAGE_SHARD_INPUT_H_
#define TESSERA_DATA_IMAGE_SHARD_INPUT_H_

// The input pipeline of a DataConfig's image_shards (protos/data_config.proto):
// ShardReader (data/shard_reader.h) -> BatchPipeline (data/batch_pipeline.h)
// with an ImageExampleDecoder per decode thread (data/image_example_decoder.h),
// configured from the ImageShardSource and the model's input shape.
//
// Training reads this worker's part of train_pattern, endlessly, shuffled;
// evaluation reads every shard of eval_pattern once, in name order, with the
// evaluation crop. Stateless functions; thread-safe.

#include <cstdint>
#include <memory>

#include "absl/status/statusor.h"
#include "common/clock.h"
#include "common/tensor.h"
#include "data/batch_pipeline.h"
#include "data/image_example_decoder.h"
#include "protos/data_config.pb.h"

namespace tessera {

struct ImageShardInputOptions {
  Shape input_shape;        // the model's: [height, width, channels 1 or 3]
  int64_t batch_size = 32;  // >= 1
  bool training = true;     // false: evaluation over eval_pattern
  int num_parts = 1;        // training: the job's workers
  int part = 0;             // training: this worker's task
  uint64_t seed = 0;        // training: shard order, shuffle and augmentation
  Clock* clock = nullptr;   // borrowed; wait times (RealClock when null)
};

// The decoder options `source` and `input_shape` give. INVALID_ARGUMENT, naming
// the field ("data.image_shards.num_classes ..."), for an input shape that is
// not [H, W, 1 or 3], num_classes < 1, a negative label_offset, crop or resize
// options out of range.
absl::StatusOr<ImageExampleDecoderOptions> ImageDecoderOptions(const ImageShardSource& source,
                                                               const Shape& input_shape,
                                                               bool training);

// Checks `source` (the options above, a training pattern set, pipeline sizes
// in range) without opening anything.
absl::Status ValidateImageShardSource(const ImageShardSource& source, const Shape& input_shape);

// Opens the shards and starts the decode threads. NOT_FOUND naming the pattern
// when it matches no file (or, evaluation, when eval_pattern is empty);
// ShardReader's and the options' errors otherwise.
absl::StatusOr<std::unique_ptr<BatchPipeline>> OpenImageShards(
    const ImageShardSource& source, const ImageShardInputOptions& options);

}  // namespace tessera

#endif  // TESSERA_DATA_IMAGE_SHARD_INPUT_H_
