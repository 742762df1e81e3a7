#include "data/input.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "data/dataset_batches.h"
#include "data/image_shard_input.h"
#include "data/random.h"
#include "data/shard_reader.h"

namespace tessera {
namespace {

// MatchShards's error for the config field `field`, if any.
absl::Status CheckMatches(const std::string& pattern, absl::string_view field) {
  return Annotate(MatchShards(pattern).status(), absl::StrCat("data.image_shards.", field));
}

}  // namespace

absl::StatusOr<std::unique_ptr<InputData>> InputData::Open(const DataConfig& config,
                                                           const InputOptions& options,
                                                           DatasetLoader load) {
  if (options.batch_size < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("input: batch size must be >= 1, got ", options.batch_size));
  }
  std::unique_ptr<InputData> input(new InputData(config, options));
  if (config.has_image_shards()) {
    const ImageShardSource& source = config.image_shards();
    RETURN_IF_ERROR(ValidateImageShardSource(source, options.input_shape));
    RETURN_IF_ERROR(CheckMatches(source.train_pattern(), "train_pattern"));
    if (options.with_test) {
      if (source.eval_pattern().empty()) {
        return absl::NotFoundError(
            "no test set: data.image_shards.eval_pattern is not set (or set eval_at_end: false)");
      }
      RETURN_IF_ERROR(CheckMatches(source.eval_pattern(), "eval_pattern"));
      input->has_test_ = true;
    }
    return input;
  }
  if (!load) load = [](const DataConfig& c, DataSplit split) { return LoadDataset(c, split); };
  ASSIGN_OR_RETURN(input->train_, load(config, DataSplit::kTrain));
  if (options.with_test) {
    ASSIGN_OR_RETURN(input->test_, load(config, DataSplit::kTest));
    input->has_test_ = input->test_.size() > 0;
  }
  return input;
}

absl::StatusOr<std::unique_ptr<BatchStream>> InputData::Training(int64_t start_batch) {
  if (config_.has_image_shards()) {
    ImageShardInputOptions o = ShardOptions(/*training=*/true);
    o.num_parts = options_.num_parts;
    o.part = options_.part;
    o.seed = start_batch == 0 ? options_.seed : MixSeed(options_.seed, start_batch, -1);
    ASSIGN_OR_RETURN(std::unique_ptr<BatchPipeline> pipeline,
                     OpenImageShards(config_.image_shards(), o));
    return std::unique_ptr<BatchStream>(std::move(pipeline));
  }
  BatchIteratorOptions o;
  o.batch_size = options_.batch_size;
  o.num_parts = options_.num_parts;
  o.part = options_.part;
  o.seed = options_.seed;
  ASSIGN_OR_RETURN(std::unique_ptr<TrainingBatches> batches,
                   TrainingBatches::Create(&train_, o, options_.clock));
  Dataset skipped;
  for (int64_t i = 0; i < start_batch; ++i) RETURN_IF_ERROR(batches->Next(&skipped).status());
  return std::unique_ptr<BatchStream>(std::move(batches));
}

absl::StatusOr<std::unique_ptr<BatchStream>> InputData::Test() {
  if (!has_test_) return absl::FailedPreconditionError("input: no test set");
  if (config_.has_image_shards()) {
    ASSIGN_OR_RETURN(std::unique_ptr<BatchPipeline> pipeline,
                     OpenImageShards(config_.image_shards(), ShardOptions(/*training=*/false)));
    return std::unique_ptr<BatchStream>(std::move(pipeline));
  }
  ASSIGN_OR_RETURN(std::unique_ptr<OnePass> pass, OnePass::Create(&test_, options_.batch_size));
  return std::unique_ptr<BatchStream>(std::move(pass));
}

ImageShardInputOptions InputData::ShardOptions(bool training) const {
  ImageShardInputOptions o;
  o.input_shape = options_.input_shape;
  o.batch_size = options_.batch_size;
  o.training = training;
  o.clock = options_.clock;
  return o;
}

std::string InputData::Describe() const {
  const std::string part = absl::StrCat("part ", options_.part, " of ", options_.num_parts);
  if (config_.has_image_shards()) {
    const ImageShardSource& s = config_.image_shards();
    return absl::StrCat("image shards ", s.train_pattern(), " (", part, ")",
                        has_test_ ? absl::StrCat(", test ", s.eval_pattern()) : "");
  }
  return absl::StrCat(train_.size(), " training examples (", part, ")",
                      has_test_ ? absl::StrCat(", ", test_.size(), " test examples") : "");
}

}  // namespace tessera
