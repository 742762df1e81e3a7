#include "data/crop_sampler.h"
#include "data/random.h"

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include "gtest/gtest.h"

namespace tessera {
namespace {

// A naive transcription of the algorithm in crop_sampler.h, using the same random
// draws in the same order: the largest height is found by scanning down, boxes are
// tested one by one with explicit overlaps.
CropWindow NaiveCrop(int H, int W, const std::vector<NormalizedBox>& boxes,
                     const CropSamplerOptions& o, std::mt19937_64* rng) {
  struct Box { int x0, y0, x1, y1; };
  std::vector<Box> px;
  for (const NormalizedBox& b : boxes) {
    px.push_back({int(b.xmin * W), int(b.ymin * H), int(b.xmax * W), int(b.ymax * H)});
  }
  if (px.empty()) px.push_back({0, 0, W, H});
  const float image_area = float(W) * float(H);
  for (int attempt = 0; attempt < o.max_attempts; ++attempt) {
    const float r = UniformFloat(rng) * (o.max_aspect_ratio - o.min_aspect_ratio) +
                    o.min_aspect_ratio;
    const float lo_area = o.min_area * image_area, hi_area = o.max_area * image_area;
    int h_lo = int(lrintf(std::sqrt(lo_area / r)));
    int h_hi = int(lrintf(std::sqrt(hi_area / r)));
    while (h_hi > 0 && lrintf(h_hi * r) > W) --h_hi;
    if (h_hi > H) h_hi = H;
    if (h_lo > h_hi) h_lo = h_hi;
    int h = h_lo;
    if (h_lo < h_hi) h = h_lo + int(UniformBelow(*rng, h_hi - h_lo + 1));
    int w = int(lrintf(h * r));
    if (float(w * h) < lo_area) { ++h; w = int(lrintf(h * r)); }
    if (float(w * h) > hi_area) { --h; w = int(lrintf(h * r)); }
    const float area = float(w * h);
    if (area < lo_area || area > hi_area || w > W || h > H || w <= 0 || h <= 0) {
      continue;
    }
    const int y = h < H ? int(UniformBelow(*rng, H - h)) : 0;
    const int x = w < W ? int(UniformBelow(*rng, W - w)) : 0;
    bool covered = false;
    for (const Box& b : px) {
      const float barea = float(std::max(0, b.x1 - b.x0)) * float(std::max(0, b.y1 - b.y0));
      if (barea < 1) continue;
      const int ix = std::max(0, std::min(x + w, b.x1) - std::max(x, b.x0));
      const int iy = std::max(0, std::min(y + h, b.y1) - std::max(y, b.y0));
      if (float(ix) * float(iy) / barea >= o.min_object_covered) covered = true;
    }
    if (covered) return {y, x, h, w};
  }
  return {0, 0, H, W};
}

struct Case {
  int height, width;
  std::vector<NormalizedBox> boxes;
};

std::vector<Case> Cases() {
  return {
      {375, 500, {}},
      {500, 375, {}},
      {48, 64, {}},
      {2, 1000, {}},  // no aspect ratio in range fits: always the fallback
      {375, 500, {{0.1f, 0.2f, 0.3f, 0.25f}}},
      {375, 500, {{0.0f, 0.0f, 0.05f, 0.05f}, {0.5f, 0.5f, 1.0f, 1.0f}}},
  };
}

TEST(CropSamplerTest, MatchesNaiveReferenceForEverySeed) {
  CropSamplerOptions options;
  for (const Case& c : Cases()) {
    for (uint64_t seed = 0; seed < 2000; ++seed) {
      std::mt19937_64 rng(seed), ref_rng(seed);
      absl::StatusOr<CropWindow> crop =
          SampleDistortedCrop(c.height, c.width, c.boxes, options, &rng);
      ASSERT_TRUE(crop.ok()) << crop.status();
      const CropWindow ref = NaiveCrop(c.height, c.width, c.boxes, options, &ref_rng);
      ASSERT_EQ(*crop, ref) << c.height << "x" << c.width << " seed " << seed
                            << ": got " << crop->y << "," << crop->x << " "
                            << crop->height << "x" << crop->width << " want "
                            << ref.y << "," << ref.x << " " << ref.height << "x"
                            << ref.width;
    }
  }
}

TEST(CropSamplerTest, AreasAspectRatiosAndCoverageInRange) {
  CropSamplerOptions options;
  const int H = 375, W = 500;
  const std::vector<NormalizedBox> boxes = {{0.1f, 0.2f, 0.3f, 0.25f}};
  int fallbacks = 0, right_edge = 0;
  double min_frac = 1, max_frac = 0, min_r = 10, max_r = 0, sum_frac = 0;
  const int kSeeds = 5000;
  for (int seed = 0; seed < kSeeds; ++seed) {
    std::mt19937_64 rng(seed);
    const CropWindow c = *SampleDistortedCrop(H, W, boxes, options, &rng);
    ASSERT_GE(c.y, 0);
    ASSERT_GE(c.x, 0);
    ASSERT_LE(c.y + c.height, H);
    ASSERT_LE(c.x + c.width, W);
    if (c == CropWindow{0, 0, H, W}) { ++fallbacks; continue; }
    if (c.x + c.width == W) ++right_edge;
    const double frac = double(c.height) * c.width / (H * W);
    const double r = double(c.width) / c.height;
    min_frac = std::min(min_frac, frac); max_frac = std::max(max_frac, frac);
    min_r = std::min(min_r, r); max_r = std::max(max_r, r);
    sum_frac += frac;
    // At least 10% of the box (pixels [100, 125) x [37, 112)) is covered.
    const int ix = std::max(0, std::min(c.x + c.width, 125) - std::max(c.x, 100));
    const int iy = std::max(0, std::min(c.y + c.height, 112) - std::max(c.y, 37));
    ASSERT_GE(double(ix) * iy / (25.0 * 75.0), 0.1);
  }
  EXPECT_GE(min_frac, 0.05);
  EXPECT_LE(max_frac, 1.0);
  EXPECT_LT(min_frac, 0.07);  // the whole range is used
  EXPECT_GT(max_frac, 0.9);
  // Rounding to whole pixels moves the ratio by at most one pixel's worth.
  EXPECT_GE(min_r, 0.75 - 1.0 / 20);
  EXPECT_LE(max_r, 1.33 + 1.0 / 20);
  EXPECT_LT(min_r, 0.77);
  EXPECT_GT(max_r, 1.31);
  EXPECT_LT(fallbacks, kSeeds / 100);  // a box this easy to cover rarely fails
  EXPECT_EQ(right_edge, 0);            // TF's offsets never reach the last one
  EXPECT_GT(sum_frac / (kSeeds - fallbacks), 0.2);
}

TEST(CropSamplerTest, WholeImageBoxMeansAtLeastTenPercentOfTheImage) {
  CropSamplerOptions options;
  for (int seed = 0; seed < 2000; ++seed) {
    std::mt19937_64 rng(seed);
    const CropWindow c = *SampleDistortedCrop(375, 500, {}, options, &rng);
    ASSERT_GE(double(c.height) * c.width, 0.1 * 375 * 500) << seed;
  }
}

TEST(CropSamplerTest, FallsBackToWholeImageWhenNothingFits) {
  CropSamplerOptions options;
  options.min_object_covered = 1.5f;  // no crop covers more than all of a box
  std::mt19937_64 rng(7);
  EXPECT_EQ(*SampleDistortedCrop(375, 500, {}, options, &rng),
            (CropWindow{0, 0, 375, 500}));
  options = CropSamplerOptions();
  EXPECT_EQ(*SampleDistortedCrop(2, 1000, {}, options, &rng),
            (CropWindow{0, 0, 2, 1000}));
}

TEST(CropSamplerTest, SameSeedSameCropsDifferentSeedsDiffer) {
  CropSamplerOptions options;
  std::mt19937_64 a(42), b(42), c(43);
  int differ = 0;
  for (int i = 0; i < 100; ++i) {
    const CropWindow ca = *SampleDistortedCrop(375, 500, {}, options, &a);
    EXPECT_EQ(ca, *SampleDistortedCrop(375, 500, {}, options, &b));
    if (!(ca == *SampleDistortedCrop(375, 500, {}, options, &c))) ++differ;
  }
  EXPECT_GT(differ, 90);
}

TEST(CropSamplerTest, RejectsBadInput) {
  std::mt19937_64 rng(1);
  CropSamplerOptions options;
  EXPECT_EQ(SampleDistortedCrop(0, 10, {}, options, &rng).status().code(),
            absl::StatusCode::kInvalidArgument);
  const std::vector<NormalizedBox> bad = {{0.1f, 0.2f, 1.5f, 0.3f}};
  absl::Status s = SampleDistortedCrop(10, 10, bad, options, &rng).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("bounding box 0"), std::string::npos) << s;
  options.min_area = 0;
  EXPECT_EQ(SampleDistortedCrop(10, 10, {}, options, &rng).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(CropSamplerTest, CentralCropForEvalIsResNetsWindow) {
  // 375 x 500 resized to 256 x 341; its central 224 x 224 is 328 x 328 source
  // pixels (224 * 375 / 256 = 328.1), centred.
  EXPECT_EQ(*CentralCropForEval(375, 500, 256, 224, 224),
            (CropWindow{23, 86, 328, 328}));
  EXPECT_EQ(*CentralCropForEval(500, 375, 256, 224, 224),
            (CropWindow{86, 23, 328, 328}));
  EXPECT_EQ(CentralCropForEval(375, 500, 200, 224, 224).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace tessera
