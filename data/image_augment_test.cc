#include "data/image_augment.h"

#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "data/jpeg_encoder.h"
#include "data/test_images.h"
#include "gtest/gtest.h"

namespace tessera {
namespace {

using testing::MakeTestJpeg;
using testing::TestJpegKind;

std::unique_ptr<ImageAugmenter> MakeAugmenter(AugmentOptions options) {
  absl::StatusOr<std::unique_ptr<ImageAugmenter>> a = ImageAugmenter::Create(options);
  EXPECT_TRUE(a.ok()) << a.status();
  return a.ok() ? std::move(*a) : nullptr;
}

AugmentOptions Small() {
  AugmentOptions options;
  options.out_height = 32;
  options.out_width = 40;
  options.eval_resize_min = 48;
  return options;
}

// A JPEG of one colour (quality 100, 4:4:4: decodes to within 1 of it).
std::string SolidJpeg(uint8_t r, uint8_t g, uint8_t b) {
  std::vector<uint8_t> rgb;
  for (int i = 0; i < 64 * 80; ++i) rgb.insert(rgb.end(), {r, g, b});
  JpegEncodeOptions options;
  options.quality = 100;
  options.subsample_420 = false;
  return *EncodeJpeg(rgb.data(), 64, 80, 3, options);
}

TEST(ImageAugmentTest, NormalizesPerChannelInRgbOrder) {
  const std::string jpeg = SolidJpeg(200, 100, 50);
  const float rgb[3] = {200, 100, 50};
  for (const Normalization& norm :
       {Normalization::MinusOneToOne(), Normalization::ImageNetMeanStd()}) {
    AugmentOptions options = Small();
    options.normalization = norm;
    auto augmenter = MakeAugmenter(options);
    std::vector<float> out(augmenter->OutputSize());
    std::mt19937_64 rng(1);
    ASSERT_TRUE(augmenter->Train(jpeg, "solid.jpg", {}, &rng, out.data()).ok());
    for (size_t i = 0; i < out.size(); ++i) {
      const int c = i % 3;
      const float want = (rgb[c] / 255.0f - norm.mean[c]) / norm.stddev[c];
      ASSERT_NEAR(out[i], want, 1.5f / 255.0f / norm.stddev[c]) << i;
    }
  }
  // [-1, 1] ends.
  auto augmenter = MakeAugmenter(Small());
  std::vector<float> out(augmenter->OutputSize());
  ASSERT_TRUE(augmenter->Eval(SolidJpeg(255, 0, 255), "ends.jpg", out.data()).ok());
  EXPECT_NEAR(out[0], 1.0f, 0.01f);
  EXPECT_NEAR(out[1], -1.0f, 0.01f);
}

TEST(ImageAugmentTest, FlipMirrorsTheSameCropAboutHalfTheTime) {
  const std::string jpeg = MakeTestJpeg(TestJpegKind::kRgb420, 120, 160, 90, 8);
  AugmentOptions no_flip_options = Small();
  no_flip_options.random_flip = false;
  auto flipping = MakeAugmenter(Small());
  auto plain = MakeAugmenter(no_flip_options);
  const int h = 32, w = 40;
  std::vector<float> a(flipping->OutputSize()), b(plain->OutputSize());
  int flipped = 0;
  const int kSeeds = 200;
  for (int seed = 0; seed < kSeeds; ++seed) {
    std::mt19937_64 rng_a(seed), rng_b(seed);
    AugmentRecord ra, rb;
    ASSERT_TRUE(flipping->Train(jpeg, "f.jpg", {}, &rng_a, a.data(), &ra).ok());
    ASSERT_TRUE(plain->Train(jpeg, "f.jpg", {}, &rng_b, b.data(), &rb).ok());
    ASSERT_EQ(ra.crop, rb.crop);
    ASSERT_FALSE(rb.flipped);
    if (ra.flipped) ++flipped;
    for (int y = 0; y < h; ++y) {
      for (int x = 0; x < w; ++x) {
        for (int c = 0; c < 3; ++c) {
          const int src_x = ra.flipped ? w - 1 - x : x;
          ASSERT_EQ(a[(y * w + x) * 3 + c], b[(y * w + src_x) * 3 + c])
              << "seed " << seed << " flipped " << ra.flipped;
        }
      }
    }
  }
  EXPECT_GT(flipped, kSeeds * 0.35);
  EXPECT_LT(flipped, kSeeds * 0.65);
}

TEST(ImageAugmentTest, SameSeedSameExampleAndCropFollowsTheSampler) {
  const std::string jpeg = MakeTestJpeg(TestJpegKind::kRgb444, 120, 160, 90, 9);
  auto augmenter = MakeAugmenter(Small());
  std::vector<float> a(augmenter->OutputSize()), b(augmenter->OutputSize());
  const std::vector<NormalizedBox> boxes = {{0.2f, 0.3f, 0.6f, 0.7f}};
  int differ = 0;
  for (int seed = 0; seed < 20; ++seed) {
    std::mt19937_64 rng_a(seed), rng_b(seed), rng_sampler(seed);
    AugmentRecord record;
    ASSERT_TRUE(augmenter->Train(jpeg, "d.jpg", boxes, &rng_a, a.data(), &record).ok());
    EXPECT_EQ(record.crop,
              *SampleDistortedCrop(120, 160, boxes, CropSamplerOptions(), &rng_sampler));
    ASSERT_TRUE(augmenter->Train(jpeg, "d.jpg", boxes, &rng_b, b.data()).ok());
    EXPECT_EQ(a, b) << seed;
    std::mt19937_64 rng_c(seed + 1000);
    ASSERT_TRUE(augmenter->Train(jpeg, "d.jpg", boxes, &rng_c, b.data()).ok());
    if (a != b) ++differ;
  }
  EXPECT_GE(differ, 19);
}

TEST(ImageAugmentTest, EvalIsTheCentralCropOfTheShorterSideResize) {
  // 375 x 500 -> the 328 x 328 centre window; 224 x 224 output decodes it at
  // 1/1; a 56 x 56 output at 1/4 (its window, 82 x 82, is 328 / 4).
  const std::string jpeg = MakeTestJpeg(TestJpegKind::kRgb420, 375, 500, 90, 10);
  AugmentOptions options;
  auto augmenter = MakeAugmenter(options);
  std::vector<float> out(augmenter->OutputSize());
  AugmentRecord record;
  ASSERT_TRUE(augmenter->Eval(jpeg, "e.jpg", out.data(), &record).ok());
  EXPECT_EQ(record.crop, (CropWindow{23, 86, 328, 328}));
  EXPECT_FALSE(record.flipped);
  EXPECT_EQ(record.scale_denom, 1);
  options.out_height = options.out_width = 56;
  options.eval_resize_min = 64;
  auto small = MakeAugmenter(options);
  std::vector<float> small_out(small->OutputSize());
  ASSERT_TRUE(small->Eval(jpeg, "e.jpg", small_out.data(), &record).ok());
  EXPECT_EQ(record.crop, (CropWindow{23, 86, 328, 328}));
  EXPECT_EQ(record.scale_denom, 4);
}

// Fashion-MNIST's way: a small grey image, whole (no crop), at its own size, in
// [0, 1]: the pixels come back as they were encoded, for training and
// evaluation alike.
TEST(ImageAugmentTest, WholeImageGreyAtItsOwnSizeGivesThePixelsBack) {
  std::vector<uint8_t> grey(28 * 28);
  for (int i = 0; i < 28 * 28; ++i) grey[i] = static_cast<uint8_t>((i * 37) % 256 / 16 * 16);
  JpegEncodeOptions encode;
  encode.quality = 100;
  const std::string jpeg = *EncodeJpeg(grey.data(), 28, 28, 1, encode);
  AugmentOptions options;
  options.out_height = options.out_width = 28;
  options.channels = 1;
  options.train_distorted_crop = false;
  options.eval_central_crop = false;
  options.random_flip = false;
  options.normalization = Normalization::ZeroToOne();
  auto augmenter = MakeAugmenter(options);
  ASSERT_EQ(augmenter->OutputSize(), 28 * 28);
  std::vector<float> train(augmenter->OutputSize()), eval(augmenter->OutputSize());
  std::mt19937_64 rng(3);
  AugmentRecord record;
  ASSERT_TRUE(augmenter->Train(jpeg, "grey.jpg", {}, &rng, train.data(), &record).ok());
  EXPECT_EQ(record.crop, (CropWindow{0, 0, 28, 28}));
  ASSERT_TRUE(augmenter->Eval(jpeg, "grey.jpg", eval.data()).ok());
  double error = 0;
  for (int i = 0; i < 28 * 28; ++i) {
    EXPECT_EQ(train[i], eval[i]) << i;
    error += std::abs(train[i] * 255.0f - grey[i]);
  }
  // JPEG quality 100 of hard-edged stripes: a few units of 255 on average.
  EXPECT_LT(error / (28 * 28), 4.0);
}

TEST(ImageAugmentTest, GreyOutputIsTheLumaOfColour) {
  AugmentOptions options = Small();
  options.channels = 1;
  options.normalization = Normalization::ZeroToOne();
  auto augmenter = MakeAugmenter(options);
  std::vector<float> out(augmenter->OutputSize());
  ASSERT_EQ(out.size(), 32u * 40u);
  ASSERT_TRUE(augmenter->Eval(SolidJpeg(200, 100, 50), "solid.jpg", out.data()).ok());
  const float luma = (0.299f * 200 + 0.587f * 100 + 0.114f * 50) / 255.0f;
  for (float v : out) ASSERT_NEAR(v, luma, 2.0f / 255.0f);
}

TEST(ImageAugmentTest, ErrorsNameTheImageAndBadOptionsAreRefused) {
  auto augmenter = MakeAugmenter(Small());
  std::vector<float> out(augmenter->OutputSize());
  std::mt19937_64 rng(1);
  absl::Status s = augmenter->Train("garbage", "n01440764/bad.JPEG", {}, &rng, out.data());
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("n01440764/bad.JPEG"), std::string::npos) << s;
  const std::vector<NormalizedBox> bad_box = {{0.5f, 0.5f, 2.0f, 0.7f}};
  s = augmenter->Train(SolidJpeg(1, 2, 3), "box.jpg", bad_box, &rng, out.data());
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("box.jpg"), std::string::npos) << s;

  AugmentOptions options = Small();
  options.normalization.stddev[1] = 0;
  EXPECT_FALSE(ImageAugmenter::Create(options).ok());
  options = Small();
  options.eval_resize_min = 16;
  EXPECT_FALSE(ImageAugmenter::Create(options).ok());
  options = Small();
  options.out_width = 0;
  EXPECT_FALSE(ImageAugmenter::Create(options).ok());
  options = Small();
  options.channels = 2;
  EXPECT_EQ(ImageAugmenter::Create(options).status().message(),
            "augment: channels must be 1 (grey) or 3 (RGB), got 2");
  // Without the central crop eval_resize_min is unused.
  options = Small();
  options.eval_resize_min = 16;
  options.eval_central_crop = false;
  EXPECT_TRUE(ImageAugmenter::Create(options).ok());
  // A crop option no image could satisfy is refused at setup, not per image.
  options = Small();
  options.crop.min_area = 0;
  absl::StatusOr<std::unique_ptr<ImageAugmenter>> bad_crop = ImageAugmenter::Create(options);
  EXPECT_EQ(bad_crop.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(bad_crop.status().message(),
            "augment: crop area range must satisfy 0 < min <= max <= 1, got [0, 1]");
}

}  // namespace
}  // namespace tessera
