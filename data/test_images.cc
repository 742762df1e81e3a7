#include "data/test_images.h"

#include <algorithm>
#include <cmath>
#include <random>

#include "data/jpeg_encoder.h"
#include "gtest/gtest.h"

namespace tessera {
namespace testing {

std::vector<uint8_t> GradientNoiseRgb(int height, int width, int noise,
                                      uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> jitter(-noise, noise);
  std::vector<uint8_t> rgb(static_cast<size_t>(height) * width * 3);
  for (int y = 0; y < height; ++y) {
    for (int x = 0; x < width; ++x) {
      const double u = static_cast<double>(x) / width, v = static_cast<double>(y) / height;
      double c[3] = {255 * u, 255 * v, 127 + 100 * std::sin(6.0 * (u + v))};
      // Hard-edged discs: detail that aliases when shrunk carelessly.
      for (int d = 0; d < 3; ++d) {
        const double cx = width * (0.25 + 0.25 * d), cy = height * (0.3 + 0.2 * d);
        const double r = std::min(height, width) * 0.12;
        if ((x - cx) * (x - cx) + (y - cy) * (y - cy) < r * r) c[d] = 255 - c[d];
      }
      for (int k = 0; k < 3; ++k) {
        const int value = static_cast<int>(c[k]) + (noise > 0 ? jitter(rng) : 0);
        rgb[(static_cast<size_t>(y) * width + x) * 3 + k] =
            static_cast<uint8_t>(std::clamp(value, 0, 255));
      }
    }
  }
  return rgb;
}

std::vector<uint8_t> RgbToGrey(const std::vector<uint8_t>& rgb) {
  std::vector<uint8_t> grey(rgb.size() / 3);
  for (size_t i = 0; i < grey.size(); ++i) {
    grey[i] = static_cast<uint8_t>(std::lround(
        0.299 * rgb[3 * i] + 0.587 * rgb[3 * i + 1] + 0.114 * rgb[3 * i + 2]));
  }
  return grey;
}

std::vector<uint8_t> RgbToAdobeCmyk(const std::vector<uint8_t>& rgb) {
  std::vector<uint8_t> cmyk(rgb.size() / 3 * 4);
  for (size_t i = 0; i < rgb.size() / 3; ++i) {
    const int k = std::max({rgb[3 * i], rgb[3 * i + 1], rgb[3 * i + 2], uint8_t{1}});
    for (int c = 0; c < 3; ++c) {
      const long ink = std::lround(rgb[3 * i + c] * 255.0 / k);
      cmyk[4 * i + c] = static_cast<uint8_t>(std::min(255L, ink));
    }
    cmyk[4 * i + 3] = static_cast<uint8_t>(k);
  }
  return cmyk;
}

const char* TestJpegKindName(TestJpegKind kind) {
  switch (kind) {
    case TestJpegKind::kRgb420: return "rgb420";
    case TestJpegKind::kRgb444: return "rgb444";
    case TestJpegKind::kGrey: return "grey";
    case TestJpegKind::kCmyk: return "cmyk";
    case TestJpegKind::kProgressive: return "progressive";
  }
  return "?";
}

std::string MakeTestJpeg(TestJpegKind kind, int height, int width, int quality,
                         uint32_t seed, std::vector<uint8_t>* expected_rgb) {
  std::vector<uint8_t> rgb = GradientNoiseRgb(height, width, 20, seed);
  std::vector<uint8_t> pixels;
  int components = 3;
  JpegEncodeOptions options;
  options.quality = quality;
  switch (kind) {
    case TestJpegKind::kRgb420: pixels = rgb; break;
    case TestJpegKind::kRgb444: pixels = rgb; options.subsample_420 = false; break;
    case TestJpegKind::kGrey: {
      pixels = RgbToGrey(rgb);
      components = 1;
      for (size_t i = 0; i < pixels.size(); ++i) {
        rgb[3 * i] = rgb[3 * i + 1] = rgb[3 * i + 2] = pixels[i];
      }
      break;
    }
    case TestJpegKind::kCmyk: pixels = RgbToAdobeCmyk(rgb); components = 4; break;
    case TestJpegKind::kProgressive: pixels = rgb; options.progressive = true; break;
  }
  absl::StatusOr<std::string> jpeg =
      EncodeJpeg(pixels.data(), height, width, components, options);
  if (!jpeg.ok()) {
    ADD_FAILURE() << "encoding a " << TestJpegKindName(kind) << " JPEG: " << jpeg.status();
    return "";
  }
  if (expected_rgb != nullptr) *expected_rgb = std::move(rgb);
  return *jpeg;
}

}  // namespace testing
}  // namespace tessera
