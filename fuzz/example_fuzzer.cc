// tf.train.Example records of image shards as a decode thread reads them
// (data/image_example_decoder.h: common/records/image_example.h's parser,
// then the JPEG decode, crop, resize and normalization of data/image_augment.h):
// any record is a training or evaluation example of the exact size with a
// label in range, or an error.
//
// Input: a setup byte (bit 0 training, bit 1 grey output, bits 2-3 output
// size 8/16/24/32, bit 4 distorted crop, bit 5 central crop, bit 6 libjpeg's
// warnings tolerated), then the serialized record.

#include <cstdint>
#include <memory>
#include <vector>

#include "absl/strings/str_cat.h"
#include "data/image_example_decoder.h"
#include "fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace tessera;
  fuzz::FuzzInput input(data, size);
  const uint8_t setup = input.Byte();
  ImageExampleDecoderOptions options;
  options.training = setup & 1;
  options.num_classes = 10;
  options.augment.channels = (setup & 2) ? 1 : 3;
  options.augment.out_height = options.augment.out_width = 8 * (1 + ((setup >> 2) & 3));
  options.augment.eval_resize_min = 40;
  options.augment.train_distorted_crop = setup & 0x10;
  options.augment.eval_central_crop = setup & 0x20;
  options.augment.decode.warnings_are_errors = !(setup & 0x40);
  options.augment.decode.max_pixels = fuzz::kMaxPixels;
  absl::StatusOr<std::unique_ptr<ImageExampleDecoder>> decoder =
      ImageExampleDecoder::Create(options);
  FUZZ_CHECK(decoder.ok(), decoder.status().ToString());

  const absl::string_view record = input.Rest();
  std::vector<float> example((*decoder)->example_size());
  int32_t label = -1;
  absl::Status status = (*decoder)->Decode(record, /*seed=*/setup, absl::MakeSpan(example), &label);
  if (status.ok()) {
    FUZZ_CHECK(label >= 0 && label < options.num_classes, absl::StrCat("label ", label));
    for (float v : example) {
      FUZZ_CHECK(v >= -1.001f && v <= 1.001f, absl::StrCat("pixel value ", v, " outside [-1, 1]"));
    }
  } else {
    const absl::StatusCode code = status.code();
    FUZZ_CHECK(code == absl::StatusCode::kInvalidArgument || code == absl::StatusCode::kOutOfRange,
               status.ToString());
  }
  return 0;
}
