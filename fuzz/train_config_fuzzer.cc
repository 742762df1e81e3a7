// Text TrainConfig (protos/train_config.proto) as the worker reads it
// (worker/train_config.h: common/text_proto, defaults, validation), and what
// the worker derives from a config that passes: the update mode against a
// cluster, the optimizer and its learning-rate schedule, and the image-shard
// input options. Any text is refused with INVALID_ARGUMENT or gives values
// these accept without crashing.

#include <cstdint>
#include <memory>

#include "absl/strings/str_cat.h"
#include "common/optim/learning_rate.h"
#include "common/optim/optimizer.h"
#include "common/tensor.h"
#include "common/text_proto.h"
#include "data/image_shard_input.h"
#include "fuzz/fuzz_support.h"
#include "protos/train_config.pb.h"
#include "worker/train_config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace tessera;
  const absl::string_view text(reinterpret_cast<const char*>(data), size);
  TrainConfig config;
  absl::Status parsed = ParseTextProto(text, "train.pbtxt", &config);
  if (!parsed.ok()) {
    FUZZ_CHECK(parsed.code() == absl::StatusCode::kInvalidArgument, parsed.ToString());
    return 0;
  }
  ApplyDefaults(&config);
  absl::Status valid = ValidateTrainConfig(config, "train.pbtxt");
  if (!valid.ok()) {
    FUZZ_CHECK(valid.code() == absl::StatusCode::kInvalidArgument, valid.ToString());
    return 0;
  }
  for (int workers : {1, 2, 5}) (void)ValidateUpdateMode(config, workers);

  absl::StatusOr<std::unique_ptr<Optimizer>> optimizer = CreateOptimizer(config.optimizer());
  FUZZ_CHECK(optimizer.ok(), absl::StrCat("a valid config's optimizer: ",
                                          optimizer.status().ToString()));
  const float base = BaseLearningRate(config.optimizer());
  for (int64_t step : {int64_t{0}, int64_t{1}, int64_t{999}, config.max_steps(),
                       int64_t{1} << 40}) {
    (void)LearningRate(config.optimizer().schedule(), base, step);
  }
  if (config.data().has_image_shards()) {
    const Shape input_shape(config.model().input_shape().begin(),
                            config.model().input_shape().end());
    absl::StatusOr<ImageExampleDecoderOptions> options =
        ImageDecoderOptions(config.data().image_shards(), input_shape, /*training=*/true);
    FUZZ_CHECK(options.ok(), absl::StrCat("a valid config's image shard options: ",
                                          options.status().ToString()));
    FUZZ_CHECK(options->augment.out_height == input_shape[0] &&
                   options->augment.out_width == input_shape[1] &&
                   options->augment.channels == input_shape[2],
               absl::StrCat("the decoder's output is not the model's input ",
                            ShapeString(input_shape)));
    absl::StatusOr<std::unique_ptr<ImageExampleDecoder>> decoder =
        ImageExampleDecoder::Create(*options);
    FUZZ_CHECK(decoder.ok(), absl::StrCat("a valid config's image decoder: ",
                                          decoder.status().ToString()));
  }
  return 0;
}
