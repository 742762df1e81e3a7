#include "data/image_augment.h"

#include <cmath>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "data/random.h"

namespace tessera {

absl::StatusOr<std::unique_ptr<ImageAugmenter>> ImageAugmenter::Create(
    const AugmentOptions& options) {
  if (options.out_height <= 0 || options.out_width <= 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "augment: output size must be positive, got ", options.out_height, "x",
        options.out_width));
  }
  if (options.channels != 1 && options.channels != 3) {
    return absl::InvalidArgumentError(absl::StrCat(
        "augment: channels must be 1 (grey) or 3 (RGB), got ", options.channels));
  }
  if (options.eval_central_crop && (options.eval_resize_min < options.out_height ||
                                    options.eval_resize_min < options.out_width)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "augment: eval_resize_min ", options.eval_resize_min,
        " is smaller than the output ", options.out_height, "x", options.out_width));
  }
  // Once here, so a bad crop option is not found anew in every image.
  if (absl::Status crop = ValidateCropSamplerOptions(options.crop); !crop.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("augment: ", crop.message()));
  }
  for (int c = 0; c < 3; ++c) {
    const float s = options.normalization.stddev[c];
    if (!(std::isfinite(s) && s != 0.0f) ||
        !std::isfinite(options.normalization.mean[c])) {
      return absl::InvalidArgumentError(absl::StrCat(
          "augment: channel ", c, " needs a finite mean and a finite non-zero "
          "stddev, got mean ", options.normalization.mean[c], " stddev ", s));
    }
  }
  return std::unique_ptr<ImageAugmenter>(new ImageAugmenter(options));
}

ImageAugmenter::ImageAugmenter(const AugmentOptions& options)
    : options_(options), decoder_(options.decode) {
  for (int c = 0; c < 3; ++c) {
    scale_[c] = 1.0f / (255.0f * options.normalization.stddev[c]);
    bias_[c] = -options.normalization.mean[c] / options.normalization.stddev[c];
  }
}

int64_t ImageAugmenter::OutputSize() const {
  return int64_t{options_.out_height} * options_.out_width * options_.channels;
}

void ImageAugmenter::Finish(bool flip, float* out) {
  const SourceRect rect{region_.crop_y, region_.crop_x, region_.crop_height,
                        region_.crop_width};
  const uint8_t* pixels = region_.pixels.data();
  if (options_.channels == 1) {
    // Luma in 16-bit fixed point, rounded: libjpeg's RGB -> grey weights.
    const size_t n = static_cast<size_t>(region_.height) * region_.width;
    grey_.resize(n);
    for (size_t i = 0; i < n; ++i) {
      const uint8_t* p = pixels + 3 * i;
      grey_[i] = static_cast<uint8_t>((19595 * p[0] + 38470 * p[1] + 7471 * p[2] + 32768) >> 16);
    }
    pixels = grey_.data();
  }
  resizer_.Resize(pixels, region_.height, region_.width, options_.channels, rect,
                  options_.out_height, options_.out_width, flip, scale_.data(),
                  bias_.data(), out);
}

absl::Status ImageAugmenter::Train(absl::string_view jpeg, absl::string_view name,
                                   absl::Span<const NormalizedBox> boxes,
                                   std::mt19937_64* rng, float* out,
                                   AugmentRecord* record) {
  CropWindow crop;
  auto choose = [&](const JpegInfo& info) -> absl::StatusOr<CropWindow> {
    if (!options_.train_distorted_crop) {
      crop = CropWindow{0, 0, info.height, info.width};
    } else {
      ASSIGN_OR_RETURN(crop, SampleDistortedCrop(info.height, info.width, boxes,
                                                 options_.crop, rng));
    }
    return crop;
  };
  RETURN_IF_ERROR(decoder_.DecodeCrop(jpeg, name, choose, options_.out_height,
                                      options_.out_width, &region_));
  const bool flip = options_.random_flip && UniformBelow(*rng, 2) == 1;
  Finish(flip, out);
  if (record != nullptr) *record = AugmentRecord{crop, flip, region_.scale_denom};
  return absl::OkStatus();
}

absl::Status ImageAugmenter::Eval(absl::string_view jpeg, absl::string_view name,
                                  float* out, AugmentRecord* record) {
  CropWindow crop;
  auto choose = [&](const JpegInfo& info) -> absl::StatusOr<CropWindow> {
    if (!options_.eval_central_crop) {
      crop = CropWindow{0, 0, info.height, info.width};
    } else {
      ASSIGN_OR_RETURN(crop, CentralCropForEval(info.height, info.width,
                                                options_.eval_resize_min,
                                                options_.out_height, options_.out_width));
    }
    return crop;
  };
  RETURN_IF_ERROR(decoder_.DecodeCrop(jpeg, name, choose, options_.out_height,
                                      options_.out_width, &region_));
  Finish(false, out);
  if (record != nullptr) *record = AugmentRecord{crop, false, region_.scale_denom};
  return absl::OkStatus();
}

}  // namespace tessera
