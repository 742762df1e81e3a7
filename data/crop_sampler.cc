#include "data/crop_sampler.h"
#include "data/random.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace tessera {
namespace {

// A pixel rectangle [x0, x1) x [y0, y1); empty when x1 <= x0 or y1 <= y0.
struct PixelRect {
  int x0 = 0, y0 = 0, x1 = 0, y1 = 0;
  float Area() const {
    if (x1 <= x0 || y1 <= y0) return 0.0f;
    return static_cast<float>(x1 - x0) * static_cast<float>(y1 - y0);
  }
};

float IntersectionArea(const PixelRect& a, const PixelRect& b) {
  PixelRect r{std::max(a.x0, b.x0), std::max(a.y0, b.y0), std::min(a.x1, b.x1),
              std::min(a.y1, b.y1)};
  return r.Area();
}

// Whether `crop` covers at least `min_covered` of one non-empty box.
bool CoversAnObject(const PixelRect& crop, float min_covered,
                    const std::vector<PixelRect>& boxes) {
  if (crop.Area() < 1.0f) return false;
  for (const PixelRect& box : boxes) {
    const float box_area = box.Area();
    if (box_area < 1.0f) continue;
    if (IntersectionArea(crop, box) / box_area >= min_covered) return true;
  }
  return false;
}

int RoundToInt(float v) { return static_cast<int>(std::lrintf(v)); }

// One attempt at a crop of aspect ratio `aspect` (width / height) whose area lies
// in [min_frac, max_frac] of the image; false when rounding leaves none.
bool TryCrop(int height, int width, float min_frac, float max_frac, float aspect,
             std::mt19937_64* rng, PixelRect* crop) {
  const float image_area = static_cast<float>(width) * static_cast<float>(height);
  const float min_area = min_frac * image_area;
  const float max_area = max_frac * image_area;
  int h = RoundToInt(std::sqrt(min_area / aspect));
  int h_max = RoundToInt(std::sqrt(max_area / aspect));
  if (RoundToInt(h_max * aspect) > width) {
    // The tallest crop whose rounded width still fits.
    h_max = static_cast<int>((width + 0.5 - 1e-7) / aspect);
    if (RoundToInt(h_max * aspect) > width) --h_max;
  }
  h_max = std::min(h_max, height);
  h = std::min(h, h_max);
  if (h < h_max) h += static_cast<int>(UniformBelow(*rng, h_max - h + 1));
  int w = RoundToInt(h * aspect);
  float area = static_cast<float>(w * h);
  if (area < min_area) {
    ++h;
    w = RoundToInt(h * aspect);
    area = static_cast<float>(w * h);
  }
  if (area > max_area) {
    --h;
    w = RoundToInt(h * aspect);
    area = static_cast<float>(w * h);
  }
  if (area < min_area || area > max_area || w > width || h > height || w <= 0 ||
      h <= 0) {
    return false;
  }
  const int y = h < height ? static_cast<int>(UniformBelow(*rng, height - h)) : 0;
  const int x = w < width ? static_cast<int>(UniformBelow(*rng, width - w)) : 0;
  *crop = PixelRect{x, y, x + w, y + h};
  return true;
}


}  // namespace

absl::Status ValidateCropSamplerOptions(const CropSamplerOptions& o) {
  if (!(o.min_area > 0 && o.max_area <= 1 && o.min_area <= o.max_area)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "crop area range must satisfy 0 < min <= max <= 1, got [", o.min_area, ", ",
        o.max_area, "]"));
  }
  if (!(o.min_aspect_ratio > 0 && o.min_aspect_ratio <= o.max_aspect_ratio)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "crop aspect ratio range must satisfy 0 < min <= max, got [",
        o.min_aspect_ratio, ", ", o.max_aspect_ratio, "]"));
  }
  if (o.max_attempts <= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("crop max_attempts must be positive, got ", o.max_attempts));
  }
  if (!(o.min_object_covered >= 0)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "crop min_object_covered must be >= 0, got ", o.min_object_covered));
  }
  return absl::OkStatus();
}

absl::StatusOr<CropWindow> SampleDistortedCrop(int height, int width,
                                               absl::Span<const NormalizedBox> boxes,
                                               const CropSamplerOptions& options,
                                               std::mt19937_64* rng) {
  if (height <= 0 || width <= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("image size must be positive, got ", height, "x", width));
  }
  if (absl::Status s = ValidateCropSamplerOptions(options); !s.ok()) return s;
  std::vector<PixelRect> pixel_boxes;
  pixel_boxes.reserve(std::max<size_t>(boxes.size(), 1));
  for (size_t i = 0; i < boxes.size(); ++i) {
    const NormalizedBox& b = boxes[i];
    for (float v : {b.ymin, b.xmin, b.ymax, b.xmax}) {
      if (!(v >= 0.0f && v <= 1.0f)) {
        return absl::InvalidArgumentError(absl::StrCat(
            "bounding box ", i, " has a coordinate outside [0, 1]: [", b.ymin, ", ",
            b.xmin, ", ", b.ymax, ", ", b.xmax, "]"));
      }
    }
    pixel_boxes.push_back(PixelRect{static_cast<int>(b.xmin * width),
                                    static_cast<int>(b.ymin * height),
                                    static_cast<int>(b.xmax * width),
                                    static_cast<int>(b.ymax * height)});
  }
  const PixelRect whole{0, 0, width, height};
  if (pixel_boxes.empty()) pixel_boxes.push_back(whole);

  PixelRect crop = whole;
  for (int attempt = 0; attempt < options.max_attempts; ++attempt) {
    const float aspect =
        UniformFloat(rng) * (options.max_aspect_ratio - options.min_aspect_ratio) +
        options.min_aspect_ratio;
    PixelRect candidate;
    if (TryCrop(height, width, options.min_area, options.max_area, aspect, rng,
                &candidate) &&
        CoversAnObject(candidate, options.min_object_covered, pixel_boxes)) {
      crop = candidate;
      break;
    }
  }
  return CropWindow{crop.y0, crop.x0, crop.y1 - crop.y0, crop.x1 - crop.x0};
}

absl::StatusOr<CropWindow> CentralCropForEval(int height, int width, int resize_min,
                                              int out_height, int out_width) {
  if (height <= 0 || width <= 0 || resize_min <= 0 || out_height <= 0 ||
      out_width <= 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "sizes must be positive: image ", height, "x", width, ", resize_min ",
        resize_min, ", output ", out_height, "x", out_width));
  }
  if (out_height > resize_min || out_width > resize_min) {
    return absl::InvalidArgumentError(
        absl::StrCat("output ", out_height, "x", out_width,
                     " is larger than the resized shorter side ", resize_min));
  }
  // Source pixels per resized pixel.
  const double scale = static_cast<double>(std::min(height, width)) / resize_min;
  const int crop_h = std::clamp(static_cast<int>(std::lround(out_height * scale)), 1,
                                height);
  const int crop_w = std::clamp(static_cast<int>(std::lround(out_width * scale)), 1,
                                width);
  return CropWindow{(height - crop_h) / 2, (width - crop_w) / 2, crop_h, crop_w};
}

}  // namespace tessera
