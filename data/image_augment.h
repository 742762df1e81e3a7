#ifndef TESSERA_DATA_IMAGE_AUGMENT_H_
#define TESSERA_DATA_IMAGE_AUGMENT_H_

// JPEG bytes -> a model's float input, for training and evaluation.
//
// Training (TF's Inception/ResNet ImageNet preprocessing): a crop from
// SampleDistortedCrop (crop_sampler.h), decoded at the smallest sufficient DCT
// scale and only over the crop (jpeg_decoder.h), resized to out_height x out_width
// (image_resizer.h), flipped left-right with probability 1/2, normalized.
// Evaluation (TF's official ResNet preprocessing): the central crop of the image
// resized so its shorter side is eval_resize_min, decoded and resized the same way.
//
// Small images (Fashion-MNIST's 28 x 28) may skip the crops: with
// train_distorted_crop / eval_central_crop false the whole image is resized.
//
// Output: out_height x out_width x channels floats, HWC, the NHWC layout of
// nn/conv2d.h; value = (pixel / 255 - mean[c]) / stddev[c]. channels 3 is RGB;
// channels 1 is grey, the luma of the RGB pixels (ITU-R BT.601 weights, as
// libjpeg converts), normalized with mean[0] and stddev[0].
//
// Thread safety: an ImageAugmenter is not thread-safe (it owns a JpegDecoder and
// an ImageResizer whose buffers it reuses); use one per decode thread.

#include <array>
#include <cstdint>
#include <memory>
#include <random>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "data/crop_sampler.h"
#include "data/image_resizer.h"
#include "data/jpeg_decoder.h"

namespace tessera {

// value = (pixel / 255 - mean[c]) / stddev[c], channels in RGB order.
struct Normalization {
  std::array<float, 3> mean = {0.5f, 0.5f, 0.5f};
  std::array<float, 3> stddev = {0.5f, 0.5f, 0.5f};

  // [0, 255] -> [-1, 1] (TF's Inception preprocessing).
  static Normalization MinusOneToOne() { return Normalization(); }
  // [0, 255] -> [0, 1] (the IDX reader's range; mnist_deep's input).
  static Normalization ZeroToOne() { return Normalization{{0, 0, 0}, {1, 1, 1}}; }
  // The ImageNet channel means and deviations torchvision's models use.
  static Normalization ImageNetMeanStd() {
    return Normalization{{0.485f, 0.456f, 0.406f}, {0.229f, 0.224f, 0.225f}};
  }
};

struct AugmentOptions {
  int out_height = 224;
  int out_width = 224;
  int channels = 3;           // 3: RGB; 1: grey
  int eval_resize_min = 256;  // shorter side before the evaluation crop
  bool train_distorted_crop = true;  // false: train on the whole image
  bool eval_central_crop = true;     // false: evaluate the whole image
  bool random_flip = true;
  CropSamplerOptions crop;
  Normalization normalization;
  JpegDecodeOptions decode;
};

// What one training example got; for tests and image summaries.
struct AugmentRecord {
  CropWindow crop;       // in the image's pixels
  bool flipped = false;
  int scale_denom = 1;   // DCT scale 1 / scale_denom
};

class ImageAugmenter {
 public:
  // INVALID_ARGUMENT for non-positive sizes, channels other than 1 or 3, a
  // zero or non-finite stddev, or eval_resize_min smaller than the output
  // (with the central crop).
  static absl::StatusOr<std::unique_ptr<ImageAugmenter>> Create(
      const AugmentOptions& options);

  // Floats per example: out_height * out_width * channels.
  int64_t OutputSize() const;

  // A training example from `jpeg` into `out` (OutputSize() floats), with the crop
  // constrained by `boxes` (none: the whole image) and randomness from `rng`
  // (borrowed; the same seed gives the same example). `record` may be null.
  // Errors name the image (`name`): bad data, unsupported JPEGs.
  absl::Status Train(absl::string_view jpeg, absl::string_view name,
                     absl::Span<const NormalizedBox> boxes, std::mt19937_64* rng,
                     float* out, AugmentRecord* record = nullptr);

  // The evaluation example (deterministic) into `out`.
  absl::Status Eval(absl::string_view jpeg, absl::string_view name, float* out,
                    AugmentRecord* record = nullptr);

 private:
  explicit ImageAugmenter(const AugmentOptions& options);
  // Resizes region_ to the output, flipped or not, normalized.
  void Finish(bool flip, float* out);

  const AugmentOptions options_;
  std::array<float, 3> scale_, bias_;  // the normalization as value * scale + bias
  JpegDecoder decoder_;
  ImageResizer resizer_;
  DecodedRegion region_;
  std::vector<uint8_t> grey_;  // channels 1: the region's luma
};

}  // namespace tessera

#endif  // TESSERA_DATA_IMAGE_AUGMENT_H_
