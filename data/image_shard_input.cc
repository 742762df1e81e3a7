#include "data/image_shard_input.h"

#include <algorithm>
#include <string>
#include <thread>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "data/random.h"
#include "data/shard_reader.h"

namespace tessera {
namespace {

absl::Status Invalid(absl::string_view field, absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat("data.image_shards.", field, " ", what));
}

int DecodeThreads(const ImageShardSource& source) {
  if (source.decode_threads() > 0) return source.decode_threads();
  return std::max(1u, std::thread::hardware_concurrency());
}

}  // namespace

absl::StatusOr<ImageExampleDecoderOptions> ImageDecoderOptions(const ImageShardSource& source,
                                                               const Shape& input_shape,
                                                               bool training) {
  if (input_shape.size() != 3 || input_shape[0] <= 0 || input_shape[1] <= 0 ||
      (input_shape[2] != 1 && input_shape[2] != 3)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "data.image_shards: the model's input_shape must be [height, width, 1 or 3], got ",
        ShapeString(input_shape)));
  }
  // JPEG's largest side; the decoder's sizes are ints.
  constexpr int64_t kMaxSide = 65535;
  if (input_shape[0] > kMaxSide || input_shape[1] > kMaxSide) {
    return absl::InvalidArgumentError(
        absl::StrCat("data.image_shards: the model's input_shape ", ShapeString(input_shape),
                     " is larger than images can be (height and width at most ", kMaxSide, ")"));
  }
  if (source.num_classes() < 1) {
    return Invalid("num_classes", absl::StrCat("must be >= 1, got ", source.num_classes()));
  }
  ImageExampleDecoderOptions o;
  o.training = training;
  o.num_classes = source.num_classes();
  o.label_offset = source.has_label_offset() ? source.label_offset() : 1;
  if (o.label_offset < 0) {
    return Invalid("label_offset", absl::StrCat("must be >= 0, got ", o.label_offset));
  }
  AugmentOptions& a = o.augment;
  a.out_height = static_cast<int>(input_shape[0]);
  a.out_width = static_cast<int>(input_shape[1]);
  a.channels = static_cast<int>(input_shape[2]);
  a.train_distorted_crop = !source.has_distorted_crop() || source.distorted_crop();
  a.eval_central_crop = !source.has_eval_central_crop() || source.eval_central_crop();
  a.random_flip = !source.has_random_flip() || source.random_flip();
  if (source.has_eval_resize_min()) a.eval_resize_min = source.eval_resize_min();
  if (a.eval_central_crop && (a.eval_resize_min < a.out_height || a.eval_resize_min < a.out_width)) {
    return Invalid("eval_resize_min",
                   absl::StrCat(a.eval_resize_min, " is smaller than the model's input ",
                                a.out_height, "x", a.out_width,
                                " (set it, or eval_central_crop: false)"));
  }
  if (source.has_min_area()) a.crop.min_area = source.min_area();
  if (source.has_max_area()) a.crop.max_area = source.max_area();
  if (source.has_min_aspect_ratio()) a.crop.min_aspect_ratio = source.min_aspect_ratio();
  if (source.has_max_aspect_ratio()) a.crop.max_aspect_ratio = source.max_aspect_ratio();
  if (source.has_min_object_covered()) a.crop.min_object_covered = source.min_object_covered();
  if (absl::Status s = ValidateCropSamplerOptions(a.crop); !s.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("data.image_shards: ", s.message()));
  }
  switch (source.normalize()) {
    case ImageShardSource::ZERO_TO_ONE:
      a.normalization = Normalization::ZeroToOne();
      break;
    case ImageShardSource::IMAGENET_MEAN_STD:
      a.normalization = Normalization::ImageNetMeanStd();
      break;
    case ImageShardSource::MINUS_ONE_TO_ONE:
      a.normalization = Normalization::MinusOneToOne();
      break;
    default:
      return Invalid("normalize", absl::StrCat("unknown value ", source.normalize()));
  }
  a.decode.fast_dct = source.fast_dct();
  a.decode.fast_upsampling = source.fast_upsampling();
  return o;
}

absl::Status ValidateImageShardSource(const ImageShardSource& source, const Shape& input_shape) {
  if (source.train_pattern().empty()) return Invalid("train_pattern", "is not set");
  RETURN_IF_ERROR(ImageDecoderOptions(source, input_shape, true).status());
  if (source.decode_threads() < 0 || source.decode_threads() > 256) {
    return Invalid("decode_threads",
                   absl::StrCat("must be in [0, 256] (0: one per core), got ",
                                source.decode_threads()));
  }
  if (source.has_prefetch_batches() && source.prefetch_batches() < 1) {
    return Invalid("prefetch_batches", absl::StrCat("must be >= 1, got ", source.prefetch_batches()));
  }
  if (source.has_cycle_length() && source.cycle_length() < 1) {
    return Invalid("cycle_length", absl::StrCat("must be >= 1, got ", source.cycle_length()));
  }
  if (source.has_shuffle_buffer() && source.shuffle_buffer() < 0) {
    return Invalid("shuffle_buffer", absl::StrCat("must be >= 0, got ", source.shuffle_buffer()));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<BatchPipeline>> OpenImageShards(
    const ImageShardSource& source, const ImageShardInputOptions& options) {
  RETURN_IF_ERROR(ValidateImageShardSource(source, options.input_shape));
  ASSIGN_OR_RETURN(ImageExampleDecoderOptions decoder,
                   ImageDecoderOptions(source, options.input_shape, options.training));
  ShardReaderOptions reader;
  std::string pattern;
  if (options.training) {
    pattern = source.train_pattern();
    reader.num_parts = options.num_parts;
    reader.part = options.part;
    reader.seed = options.seed;
    reader.cycle_length = source.has_cycle_length() ? source.cycle_length() : 4;
    reader.shuffle_buffer = source.has_shuffle_buffer() ? source.shuffle_buffer() : 1024;
    reader.repeat = true;
  } else {
    if (source.eval_pattern().empty()) {
      return absl::NotFoundError("no test set: data.image_shards.eval_pattern is not set");
    }
    pattern = source.eval_pattern();
    reader.cycle_length = 1;  // every shard in name order: the same pass each time
    reader.repeat = false;
  }
  reader.skip_damaged_shards = source.skip_damaged_shards();
  ASSIGN_OR_RETURN(std::unique_ptr<ShardReader> shards, ShardReader::Open(pattern, reader));
  BatchPipelineOptions pipeline;
  pipeline.batch_size = options.batch_size;
  pipeline.example_shape = options.input_shape;
  pipeline.decode_threads = DecodeThreads(source);
  pipeline.prefetch_batches = source.has_prefetch_batches() ? source.prefetch_batches() : 2;
  pipeline.seed = MixSeed(options.seed, 0, options.part + 1);
  pipeline.skip_bad_records = !source.has_skip_bad_records() || source.skip_bad_records();
  pipeline.clock = options.clock;
  auto factory = [&decoder]() -> std::unique_ptr<ExampleDecoder> {
    absl::StatusOr<std::unique_ptr<ImageExampleDecoder>> d = ImageExampleDecoder::Create(decoder);
    return d.ok() ? std::move(*d) : nullptr;  // options were checked above
  };
  return BatchPipeline::Create(std::move(shards), factory, pipeline);
}

}  // namespace tessera
