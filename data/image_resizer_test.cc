#include "data/image_resizer.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "gtest/gtest.h"

namespace tessera {
namespace {

const float kOne[3] = {1, 1, 1};
const float kZero[3] = {0, 0, 0};

std::vector<float> ResizeToFloats(const std::vector<uint8_t>& src, int h, int w, int ch,
                       SourceRect rect, int oh, int ow, bool flip = false,
                       const float* scale = kOne, const float* bias = kZero) {
  std::vector<float> out(static_cast<size_t>(oh) * ow * ch, -1000.0f);
  ImageResizer resizer;
  resizer.Resize(src.data(), h, w, ch, rect, oh, ow, flip, scale, bias, out.data());
  return out;
}

TEST(ImageResizerTest, ConstantStaysConstantUpAndDown) {
  std::vector<uint8_t> src(30 * 40 * 3, 77);
  for (int out : {7, 40, 97}) {
    for (float v : ResizeToFloats(src, 30, 40, 3, {0, 0, 30, 40}, out, out)) {
      ASSERT_NEAR(v, 77.0f, 1e-3) << out;
    }
  }
}

TEST(ImageResizerTest, UpscalingIsBilinearWithHalfPixelCentres) {
  const std::vector<uint8_t> src = {0, 10, 20, 30};  // one row, one channel
  const std::vector<float> out = ResizeToFloats(src, 1, 4, 1, {0, 0, 1, 4}, 1, 8);
  // Output j samples source coordinate (j + 0.5) / 2; value 10 * (c - 0.5),
  // clamped to the end pixels.
  const float want[8] = {0, 2.5, 7.5, 12.5, 17.5, 22.5, 27.5, 30};
  for (int j = 0; j < 8; ++j) EXPECT_NEAR(out[j], want[j], 1e-4) << j;
}

TEST(ImageResizerTest, ShrinkingAveragesInsteadOfAliasing) {
  // Alternating 0 / 255 columns shrunk 3x: plain bilinear samples pixel centres
  // and sees 0, 255, 0, ... The widened tent averages them to about 127.5.
  const int w = 48;
  std::vector<uint8_t> src(8 * w);
  for (int y = 0; y < 8; ++y) {
    for (int x = 0; x < w; ++x) src[y * w + x] = (x % 2) ? 255 : 0;
  }
  const std::vector<float> out = ResizeToFloats(src, 8, w, 1, {0, 0, 8, 48}, 2, 16);
  for (int j = 1; j < 15; ++j) EXPECT_NEAR(out[j], 127.5f, 16.0f) << j;
}

TEST(ImageResizerTest, PixelsOutsideTheRectangleNeverContribute) {
  std::vector<uint8_t> src(20 * 20, 255);
  for (int y = 5; y < 15; ++y) {
    for (int x = 4; x < 12; ++x) src[y * 20 + x] = 100;
  }
  for (int out : {3, 8, 31}) {
    for (float v : ResizeToFloats(src, 20, 20, 1, {5, 4, 10, 8}, out, out)) {
      ASSERT_NEAR(v, 100.0f, 1e-3) << out;
    }
  }
}

TEST(ImageResizerTest, FlipMirrorsAndAffineApplies) {
  std::vector<uint8_t> src(6 * 9 * 3);
  for (size_t i = 0; i < src.size(); ++i) src[i] = static_cast<uint8_t>(i * 7);
  const std::vector<float> a = ResizeToFloats(src, 6, 9, 3, {0.5, 1, 5, 7}, 4, 5);
  const std::vector<float> b = ResizeToFloats(src, 6, 9, 3, {0.5, 1, 5, 7}, 4, 5, true);
  const float scale[3] = {2, 3, 4}, bias[3] = {-1, 0, 1};
  const std::vector<float> c =
      ResizeToFloats(src, 6, 9, 3, {0.5, 1, 5, 7}, 4, 5, false, scale, bias);
  for (int y = 0; y < 4; ++y) {
    for (int x = 0; x < 5; ++x) {
      for (int k = 0; k < 3; ++k) {
        const float v = a[(y * 5 + x) * 3 + k];
        EXPECT_FLOAT_EQ(b[(y * 5 + (4 - x)) * 3 + k], v);
        EXPECT_FLOAT_EQ(c[(y * 5 + x) * 3 + k], v * scale[k] + bias[k]);
      }
    }
  }
}

TEST(ImageResizerTest, OutputAlignmentDoesNotChangeTheResult) {
  // Rows are streamed out with 32-byte, 16-byte or plain stores depending on
  // where `out` lies: every alignment gives the same floats.
  std::mt19937 rng(3);
  std::vector<uint8_t> src(37 * 53 * 3);
  for (uint8_t& v : src) v = static_cast<uint8_t>(rng());
  const SourceRect rect{1.5, 2.25, 30, 44};
  for (int ow : {5, 8, 21, 40}) {
    const size_t n = static_cast<size_t>(11) * ow * 3;
    std::vector<float> buffer(n + 64);
    float* base = buffer.data();
    while (reinterpret_cast<uintptr_t>(base) % 64 != 0) ++base;  // floats are 4-aligned
    std::vector<float> first;
    for (int shift : {0, 4, 8, 12, 1, 3}) {  // 0, 16, 32, 48 bytes; then unaligned
      float* out = base + shift;
      std::fill(out, out + n, -1000.0f);
      ImageResizer resizer;
      resizer.Resize(src.data(), 37, 53, 3, rect, 11, ow, false, kOne, kZero, out);
      const std::vector<float> got(out, out + n);
      if (first.empty()) {
        first = got;
        continue;
      }
      for (size_t k = 0; k < n; ++k) {
        ASSERT_EQ(got[k], first[k]) << "width " << ow << " shift " << shift << " at " << k;
      }
    }
  }
}

// The tent filter of image_resizer.h, written out in double precision: weight
// max(0, 1 - |s + 0.5 - centre| / radius) for each pixel s covering the
// rectangle, normalized, or the nearest covering pixel when none has weight.
std::vector<std::pair<int, double>> TentWeights(double start, double extent, int size, int out,
                                                int i) {
  const double ratio = extent / out, radius = std::max(1.0, ratio);
  const int lo = std::clamp(static_cast<int>(std::floor(start)), 0, size - 1);
  const int hi = std::clamp(static_cast<int>(std::ceil(start + extent)), lo + 1, size);
  const double centre = start + (i + 0.5) * ratio;
  std::vector<std::pair<int, double>> w;
  double sum = 0;
  for (int s = lo; s < hi; ++s) {
    const double d = std::abs(s + 0.5 - centre) / radius;
    if (d < 1.0) {
      w.emplace_back(s, 1.0 - d);
      sum += 1.0 - d;
    }
  }
  if (sum <= 0) return {{std::clamp(static_cast<int>(std::floor(centre)), lo, hi - 1), 1.0}};
  for (auto& [s, weight] : w) weight /= sum;
  return w;
}

TEST(ImageResizerTest, RandomImagesMatchTheTentFilterWrittenOut) {
  // Sizes, rectangles, channels and flips of every kind the passes treat
  // apart: odd and even output widths, shrinking and enlarging, spans that are
  // and are not multiples of 8 and 16 floats.
  std::mt19937 rng(7);
  auto uniform = [&](double a, double b) { return std::uniform_real_distribution<>(a, b)(rng); };
  auto below = [&](int n) { return static_cast<int>(rng() % n); };
  const float scale[3] = {0.5f, 2.0f, -1.0f}, bias[3] = {1.0f, -3.0f, 0.25f};
  for (int trial = 0; trial < 60; ++trial) {
    const int h = 1 + below(90), w = 1 + below(90), ch = trial % 3 == 0 ? 1 : 3;
    const int oh = 1 + below(40), ow = 1 + below(40);
    const bool flip = trial % 2 == 1;
    SourceRect rect;
    rect.height = uniform(0.3, h);
    rect.width = uniform(0.3, w);
    rect.y = uniform(0, h - rect.height);
    rect.x = uniform(0, w - rect.width);
    std::vector<uint8_t> src(static_cast<size_t>(h) * w * ch);
    for (uint8_t& v : src) v = static_cast<uint8_t>(rng());
    const std::vector<float> out = ResizeToFloats(src, h, w, ch, rect, oh, ow, flip, scale, bias);
    for (int i = 0; i < oh; ++i) {
      const auto wy = TentWeights(rect.y, rect.height, h, oh, i);
      for (int j = 0; j < ow; ++j) {
        const auto wx = TentWeights(rect.x, rect.width, w, ow, flip ? ow - 1 - j : j);
        for (int c = 0; c < ch; ++c) {
          double want = 0;
          for (const auto& [y, a] : wy) {
            for (const auto& [x, b] : wx)
              want += a * b * src[(static_cast<size_t>(y) * w + x) * ch + c];
          }
          want = want * scale[c] + bias[c];
          ASSERT_NEAR(out[(static_cast<size_t>(i) * ow + j) * ch + c], want, 2e-3)
              << "trial " << trial << " " << h << "x" << w << "x" << ch << " -> " << oh << "x" << ow
              << " flip " << flip << " at (" << i << ", " << j << ", " << c << ")";
        }
      }
    }
  }
}

}  // namespace
}  // namespace tessera
