#ifndef TESSERA_DATA_IMAGE_EXAMPLE_DECODER_H_
#define TESSERA_DATA_IMAGE_EXAMPLE_DECODER_H_

// The ExampleDecoder (data/record_source.h) of image shards: a serialized
// tf.train.Example with build_imagenet_data's keys (common/records/
// image_example.h) into a model input and a 0-based class label.
//
// Training: TF's distorted-box crop constrained by the record's boxes
// (image/object/bbox/*; none: the whole image), random flip, resize, normalize
// (data/image_augment.h), with randomness from the seed the pipeline gives.
// Evaluation: the central crop. Label: image/class/label - label_offset (1 for
// TF's shards, whose labels start at 1 with 0 reserved for background), which
// must lie in [0, num_classes).
//
// Errors name the record's file name (image/filename) or, without one, say
// "record": a record that is not an Example, a missing key, a label out of
// range, a corrupt image. Not thread-safe: one per decode thread.

#include <cstdint>
#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "data/crop_sampler.h"
#include "data/image_augment.h"
#include "data/record_source.h"

namespace tessera {

struct ImageExampleDecoderOptions {
  AugmentOptions augment;
  bool training = true;  // false: the evaluation crop, no randomness
  int64_t num_classes = 1000;
  int64_t label_offset = 1;
};

class ImageExampleDecoder final : public ExampleDecoder {
 public:
  // INVALID_ARGUMENT for num_classes < 1 or augment options ImageAugmenter refuses.
  static absl::StatusOr<std::unique_ptr<ImageExampleDecoder>> Create(
      const ImageExampleDecoderOptions& options);

  // Floats per example: out_height * out_width * channels.
  int64_t example_size() const { return augmenter_->OutputSize(); }

  // INVALID_ARGUMENT when input.size() != example_size().
  absl::Status Decode(absl::string_view record, uint64_t seed, absl::Span<float> input,
                      int32_t* label) override;

 private:
  ImageExampleDecoder(const ImageExampleDecoderOptions& options,
                      std::unique_ptr<ImageAugmenter> augmenter)
      : options_(options), augmenter_(std::move(augmenter)) {}

  const ImageExampleDecoderOptions options_;
  std::unique_ptr<ImageAugmenter> augmenter_;
  std::vector<NormalizedBox> boxes_;  // reused
};

}  // namespace tessera

#endif  // TESSERA_DATA_IMAGE_EXAMPLE_DECODER_H_
