#ifndef TESSERA_DATA_CROP_SAMPLER_H_
#define TESSERA_DATA_CROP_SAMPLER_H_

// Where to crop an image before it is resized to a model's input size.
//
// Training: SampleDistortedCrop follows TensorFlow's
// tf.image.sample_distorted_bounding_box (use_image_if_no_bounding_boxes=true)
// step for step, so a TF user gets the same distribution of crops:
//   for each of max_attempts attempts:
//     aspect ratio r ~ U[min_aspect, max_aspect)
//     height h from round(sqrt(min_area * H * W / r)) to the largest height whose
//       width round(h * r) fits the image (and h <= H), uniformly (integers);
//       width w = round(h * r); one step up or down if rounding left the area
//       outside [min_area, max_area] * H * W; the attempt fails if it still is
//     top-left y ~ U{0 .. H - h - 1} (0 when h == H), x likewise; as in TF the
//       crop touches the bottom or right edge only when it spans the image
//     accept when the crop covers at least min_object_covered of the area of one
//       box (boxes converted to pixels by truncation, empty boxes ignored; the
//       whole image is the box when there are none)
//   after max_attempts failures: the whole image.
// Random numbers come from the caller's std::mt19937_64 (its output sequence is
// fixed by the C++ standard), turned into floats and integers here, so a seed
// gives the same crops on every platform (not TF's Philox numbers, though).
//
// Evaluation: CentralCropForEval follows the official TF ResNet preprocessing
// (imagenet_preprocessing.py): resize so the shorter side is `resize_min` (256),
// keeping the aspect ratio, then take the central out_height x out_width
// (224 x 224). It returns that window in source pixels (rounded to whole
// pixels), so the decoder resizes only it.
//
// Pure functions; thread-safe given a distinct rng per thread.

#include <cstdint>
#include <random>

#include "absl/status/statusor.h"
#include "absl/types/span.h"

namespace tessera {

// A box in normalized coordinates [ymin, xmin, ymax, xmax], each in [0, 1]
// (TF's order, and the order of image/object/bbox/* in ImageNet shards).
struct NormalizedBox {
  float ymin = 0;
  float xmin = 0;
  float ymax = 1;
  float xmax = 1;
};

// A window of whole source pixels: rows [y, y + height), columns [x, x + width).
struct CropWindow {
  int y = 0;
  int x = 0;
  int height = 0;
  int width = 0;
};

inline bool operator==(const CropWindow& a, const CropWindow& b) {
  return a.y == b.y && a.x == b.x && a.height == b.height && a.width == b.width;
}

// TF's defaults as used by its Inception and ResNet ImageNet preprocessing.
struct CropSamplerOptions {
  float min_object_covered = 0.1f;
  float min_area = 0.05f;  // fractions of the image's area
  float max_area = 1.0f;
  float min_aspect_ratio = 0.75f;  // width / height
  float max_aspect_ratio = 1.33f;
  int max_attempts = 100;
};

// A crop of a height x width image as described above. INVALID_ARGUMENT for a
// non-positive size, a box coordinate outside [0, 1] (or NaN), or options TF
// refuses (areas outside (0, 1] or min > max, aspect ratios <= 0, attempts <= 0,
// negative coverage). `rng` is borrowed for the call.
// INVALID_ARGUMENT unless 0 < min_area <= max_area <= 1, 0 < min_aspect_ratio <=
// max_aspect_ratio, max_attempts > 0 and min_object_covered >= 0.
absl::Status ValidateCropSamplerOptions(const CropSamplerOptions& options);

absl::StatusOr<CropWindow> SampleDistortedCrop(int height, int width,
                                               absl::Span<const NormalizedBox> boxes,
                                               const CropSamplerOptions& options,
                                               std::mt19937_64* rng);

// The evaluation window described above. INVALID_ARGUMENT for non-positive
// sizes, or when the resized image would be smaller than the output
// (out_height or out_width > resize_min).
absl::StatusOr<CropWindow> CentralCropForEval(int height, int width, int resize_min,
                                              int out_height, int out_width);

}  // namespace tessera

#endif  // TESSERA_DATA_CROP_SAMPLER_H_
