#include "data/image_resizer.h"

#include <cmath>
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

}  // namespace
}  // namespace tessera
