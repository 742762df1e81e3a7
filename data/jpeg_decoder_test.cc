#include "data/jpeg_decoder.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "common/records/jpeg_restarts.h"
#include "data/image_resizer.h"
#include "data/test_images.h"
#include "gtest/gtest.h"

namespace tessera {
namespace {

using testing::MakeTestJpeg;
using testing::TestJpegKind;
using testing::TestJpegKindName;

constexpr TestJpegKind kKinds[] = {TestJpegKind::kRgb420, TestJpegKind::kRgb444,
                                   TestJpegKind::kGrey, TestJpegKind::kCmyk,
                                   TestJpegKind::kProgressive};

JpegDecoder::CropChooser Whole() {
  static auto whole = [](const JpegInfo& info) -> absl::StatusOr<CropWindow> {
    return CropWindow{0, 0, info.height, info.width};
  };
  return whole;
}

double MeanAbsDiff(const std::vector<float>& a, const std::vector<float>& b) {
  double sum = 0;
  for (size_t i = 0; i < a.size(); ++i) sum += std::abs(a[i] - b[i]);
  return sum / a.size();
}

// The region's crop resized to out x out, in 0-255 units.
std::vector<float> ResizeCrop(const DecodedRegion& r, int out) {
  static const float kOne[3] = {1, 1, 1}, kZero[3] = {0, 0, 0};
  std::vector<float> pixels(static_cast<size_t>(out) * out * 3);
  ImageResizer resizer;
  resizer.Resize(r.pixels.data(), r.height, r.width, 3,
                 SourceRect{r.crop_y, r.crop_x, r.crop_height, r.crop_width}, out, out,
                 /*flip=*/false, kOne, kZero, pixels.data());
  return pixels;
}

TEST(JpegDecoderTest, DecodesEveryLayoutToRgb) {
  for (TestJpegKind kind : kKinds) {
    std::vector<uint8_t> expected;
    const std::string jpeg = MakeTestJpeg(kind, 75, 100, 100, 1, &expected);
    // SOF2 marks progressive scans, SOF0 baseline.
    EXPECT_NE(jpeg.find(kind == TestJpegKind::kProgressive ? "\xff\xc2" : "\xff\xc0"),
              std::string::npos)
        << TestJpegKindName(kind);
    JpegDecoder decoder;
    absl::StatusOr<JpegInfo> info = decoder.ReadInfo(jpeg, "a.jpg");
    ASSERT_TRUE(info.ok()) << info.status();
    EXPECT_EQ(info->height, 75);
    EXPECT_EQ(info->width, 100);
    EXPECT_EQ(info->components, kind == TestJpegKind::kGrey ? 1
                                : kind == TestJpegKind::kCmyk ? 4 : 3);
    DecodedRegion region;
    ASSERT_TRUE(decoder.DecodeCrop(jpeg, "a.jpg", Whole(), 75, 100, &region).ok());
    ASSERT_EQ(region.height, 75);
    ASSERT_EQ(region.width, 100);
    ASSERT_EQ(region.pixels.size(), expected.size());
    double sum = 0;
    for (size_t i = 0; i < expected.size(); ++i) {
      sum += std::abs(int{region.pixels[i]} - int{expected[i]});
    }
    const double mae = sum / expected.size();
    // Quality 100; 4:2:0 loses chroma detail next to the discs' edges and the noise.
    const bool chroma_420 =
        kind == TestJpegKind::kRgb420 || kind == TestJpegKind::kProgressive;
    EXPECT_LT(mae, chroma_420 ? 8.0 : 2.5) << TestJpegKindName(kind);
    if (kind == TestJpegKind::kGrey) {
      for (size_t i = 0; i < expected.size(); i += 3) {
        ASSERT_EQ(region.pixels[i], region.pixels[i + 1]);
        ASSERT_EQ(region.pixels[i], region.pixels[i + 2]);
      }
    }
  }
}

TEST(JpegDecoderTest, ChoosesTheSmallestScaleThatCoversTheOutput) {
  JpegDecoder decoder;
  EXPECT_EQ(decoder.ChooseScaleDenom({0, 0, 447, 1000}, 224, 224), 1);
  EXPECT_EQ(decoder.ChooseScaleDenom({0, 0, 448, 448}, 224, 224), 2);
  EXPECT_EQ(decoder.ChooseScaleDenom({0, 0, 447, 2000}, 224, 224), 1);  // each side
  EXPECT_EQ(decoder.ChooseScaleDenom({0, 0, 2000, 447}, 224, 224), 1);
  EXPECT_EQ(decoder.ChooseScaleDenom({0, 0, 2000, 895}, 224, 224), 2);
  EXPECT_EQ(decoder.ChooseScaleDenom({0, 0, 600, 900}, 100, 300), 2);  // non-square
  EXPECT_EQ(decoder.ChooseScaleDenom({0, 0, 900, 1000}, 224, 224), 4);
  EXPECT_EQ(decoder.ChooseScaleDenom({0, 0, 1792, 1800}, 224, 224), 8);
  JpegDecodeOptions no_scaling;
  no_scaling.dct_scaling = false;
  EXPECT_EQ(JpegDecoder(no_scaling).ChooseScaleDenom({0, 0, 1792, 1800}, 224, 224), 1);
}

// Without DCT scaling, the partial decode's crop holds the very pixels a full
// decode has there (4:4:4 and grey: no chroma upsampling across the crop edge).
TEST(JpegDecoderTest, PartialDecodeGivesTheFullDecodesPixels) {
  JpegDecodeOptions partial_only, full;
  partial_only.dct_scaling = false;
  full.dct_scaling = false;
  full.partial_decode = false;
  for (TestJpegKind kind : {TestJpegKind::kRgb444, TestJpegKind::kGrey}) {
    const std::string jpeg = MakeTestJpeg(kind, 300, 400, 90, 2);  // baseline
    JpegDecoder a(partial_only), b(full);
    DecodedRegion ra, rb;
    std::mt19937_64 rng(5);
    for (int i = 0; i < 20; ++i) {
      const CropWindow crop = *SampleDistortedCrop(300, 400, {}, {}, &rng);
      auto choose = [&](const JpegInfo&) -> absl::StatusOr<CropWindow> { return crop; };
      ASSERT_TRUE(a.DecodeCrop(jpeg, "p.jpg", choose, 50, 50, &ra).ok());
      ASSERT_TRUE(b.DecodeCrop(jpeg, "p.jpg", choose, 50, 50, &rb).ok());
      ASSERT_LE(ra.width, 400);
      ASSERT_LE(ra.height, crop.height);  // rows outside the crop are not decoded
      ASSERT_EQ(rb.width, 400);
      ASSERT_EQ(rb.height, 300);
      const int ax = static_cast<int>(ra.crop_x), ay = static_cast<int>(ra.crop_y);
      ASSERT_EQ(ra.crop_width, crop.width);
      for (int y = 0; y < crop.height; ++y) {
        for (int x = 0; x < crop.width * 3; ++x) {
          ASSERT_EQ(ra.pixels[((ay + y) * ra.width) * 3 + ax * 3 + x],
                    rb.pixels[((crop.y + y) * rb.width + crop.x) * 3 + x])
              << TestJpegKindName(kind) << " crop " << i << " row " << y;
        }
      }
    }
  }
}

// The fast path (DCT scaling + partial decode) against a full decode, then crop,
// then the same resize, over crops from the training sampler. The tolerance is
// the measured worst crop's mean absolute error (0-255 units) with some margin;
// see the printed figures.
TEST(JpegDecoderTest, ScaledPartialDecodeMatchesFullDecodeThenCrop) {
  JpegDecodeOptions full;
  full.dct_scaling = false;
  full.partial_decode = false;
  constexpr double kMaxMeanAbsError = 2.5;  // measured worst: 1.6-1.8, 4:4:4
  for (TestJpegKind kind : kKinds) {
    const std::string jpeg = MakeTestJpeg(kind, 900, 1200, 90, 3);
    JpegDecoder fast, reference(full);
    DecodedRegion rf, rr;
    std::mt19937_64 rng(11);
    double worst = 0, total = 0;
    int count = 0, denoms[9] = {0};
    for (int out : {224, 56}) {
      for (int i = 0; i < 30; ++i) {
        const CropWindow crop = *SampleDistortedCrop(900, 1200, {}, {}, &rng);
        auto choose = [&](const JpegInfo&) -> absl::StatusOr<CropWindow> {
          return crop;
        };
        ASSERT_TRUE(fast.DecodeCrop(jpeg, "s.jpg", choose, out, out, &rf).ok());
        ASSERT_TRUE(reference.DecodeCrop(jpeg, "s.jpg", choose, out, out, &rr).ok());
        ++denoms[rf.scale_denom];
        const double mae = MeanAbsDiff(ResizeCrop(rf, out), ResizeCrop(rr, out));
        worst = std::max(worst, mae);
        total += mae;
        ++count;
      }
    }
    std::printf("%-7s mean abs error vs full decode: mean %.3f worst %.3f "
                "(0-255 units); scales 1/1:%d 1/2:%d 1/4:%d 1/8:%d\n",
                TestJpegKindName(kind), total / count, worst, denoms[1], denoms[2],
                denoms[4], denoms[8]);
    EXPECT_LE(worst, kMaxMeanAbsError) << TestJpegKindName(kind);
    EXPECT_GT(denoms[2] + denoms[4] + denoms[8], 0) << "no crop was DCT-scaled";
    EXPECT_GT(denoms[4] + denoms[8], 0);
  }
}

// In a JPEG with restart markers (as tessera_records writes it), the decoder
// entropy-decodes only the intervals around the crop; the crop's pixels are
// exactly those of the same decode without the cut, in every layout, at every
// DCT scale, with fancy and with fast upsampling.
TEST(JpegDecoderTest, RestartCutsGiveTheSamePixels) {
  for (TestJpegKind kind : kKinds) {
    const std::string plain = MakeTestJpeg(kind, 600, 800, 90, 12);
    absl::StatusOr<std::string> jpeg = AddRestartMarkers(plain, "r.jpg");
    ASSERT_TRUE(jpeg.ok()) << jpeg.status();
    for (bool fast : {false, true}) {
      JpegDecodeOptions cuts, no_cuts;
      cuts.fast_dct = cuts.fast_upsampling = no_cuts.fast_dct = no_cuts.fast_upsampling = fast;
      no_cuts.restart_cuts = false;
      JpegDecoder a(cuts), b(no_cuts);
      DecodedRegion ra, rb;
      std::mt19937_64 rng(13);
      int cut = 0, denoms[9] = {0};
      for (int out : {224, 96, 40}) {
        for (int i = 0; i < 25; ++i) {
          const CropWindow crop = *SampleDistortedCrop(600, 800, {}, {}, &rng);
          auto choose = [&](const JpegInfo&) -> absl::StatusOr<CropWindow> { return crop; };
          ASSERT_TRUE(a.DecodeCrop(*jpeg, "r.jpg", choose, out, out, &ra).ok());
          ASSERT_TRUE(b.DecodeCrop(*jpeg, "r.jpg", choose, out, out, &rb).ok());
          ASSERT_EQ(ra.scale_denom, rb.scale_denom);
          ++denoms[ra.scale_denom];
          ASSERT_DOUBLE_EQ(ra.crop_height, rb.crop_height);
          ASSERT_DOUBLE_EQ(ra.crop_width, rb.crop_width);
          ASSERT_FALSE(rb.restart_cut);
          if (ra.restart_cut) ++cut;
          // The whole pixels that hold the crop, in each region.
          const int h =
              static_cast<int>(std::ceil(ra.crop_y + ra.crop_height)) - static_cast<int>(ra.crop_y);
          const int w =
              static_cast<int>(std::ceil(ra.crop_x + ra.crop_width)) - static_cast<int>(ra.crop_x);
          for (int y = 0; y < h; ++y) {
            const uint8_t* pa = &ra.pixels[((static_cast<int>(ra.crop_y) + y) * ra.width +
                                            static_cast<int>(ra.crop_x)) *
                                           3];
            const uint8_t* pb = &rb.pixels[((static_cast<int>(rb.crop_y) + y) * rb.width +
                                            static_cast<int>(rb.crop_x)) *
                                           3];
            ASSERT_TRUE(std::equal(pa, pa + 3 * w, pb))
                << TestJpegKindName(kind) << (fast ? " fast" : "") << " out " << out << " crop "
                << i << " row " << y;
          }
        }
      }
      // Progressive files are rewritten sequential, so every layout is cut.
      EXPECT_GT(cut, 50) << TestJpegKindName(kind) << ": the cut was not used";
      EXPECT_GT(denoms[2] + denoms[4] + denoms[8], 0) << TestJpegKindName(kind);
    }
  }
}

TEST(JpegDecoderTest, FastOptionsStayClose) {
  JpegDecodeOptions fast_options;
  fast_options.fast_dct = true;
  fast_options.fast_upsampling = true;
  const std::string jpeg = MakeTestJpeg(TestJpegKind::kRgb420, 300, 400, 90, 4);
  JpegDecoder fast(fast_options), accurate;
  DecodedRegion a, b;
  ASSERT_TRUE(fast.DecodeCrop(jpeg, "f.jpg", Whole(), 300, 400, &a).ok());
  ASSERT_TRUE(accurate.DecodeCrop(jpeg, "f.jpg", Whole(), 300, 400, &b).ok());
  ASSERT_EQ(a.pixels.size(), b.pixels.size());
  double sum = 0;
  for (size_t i = 0; i < a.pixels.size(); ++i) sum += std::abs(a.pixels[i] - b.pixels[i]);
  EXPECT_GT(sum, 0);  // the options change the decode
  EXPECT_LT(sum / a.pixels.size(), 3.0);
}

void ExpectErrorNaming(const absl::Status& status, const std::string& what) {
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << what << ": " << status;
  EXPECT_NE(status.message().find("photo_17.jpg"), std::string::npos)
      << what << ": " << status;
}

TEST(JpegDecoderTest, BadDataIsAnErrorNamingTheImage) {
  const std::string jpeg = MakeTestJpeg(TestJpegKind::kRgb420, 120, 160, 90, 6);
  JpegDecoder decoder;
  DecodedRegion region;
  auto decode = [&](const std::string& bytes) {
    return decoder.DecodeCrop(bytes, "photo_17.jpg", Whole(), 32, 32, &region);
  };
  ExpectErrorNaming(decode(""), "empty");
  ExpectErrorNaming(decode("\x89PNG\r\n\x1a\n not a jpeg"), "not a JPEG");
  ExpectErrorNaming(decode(jpeg.substr(0, jpeg.size() / 2)), "truncated");
  std::string corrupt = jpeg;
  for (size_t i = jpeg.size() / 2; i < jpeg.size() / 2 + 40; ++i) corrupt[i] = '\xff';
  ExpectErrorNaming(decode(corrupt), "corrupt");
  ExpectErrorNaming(decoder.ReadInfo(jpeg.substr(0, 40), "photo_17.jpg").status(),
                    "truncated header");
  // An absurd size: the SOF0 marker's height and width set to 65000.
  std::string huge = jpeg;
  const size_t sof = huge.find("\xff\xc0");
  ASSERT_NE(sof, std::string::npos);
  huge[sof + 5] = huge[sof + 7] = '\xfd';
  huge[sof + 6] = huge[sof + 8] = '\xe8';
  absl::Status s = decode(huge);
  ExpectErrorNaming(s, "absurd size");
  EXPECT_NE(s.message().find("65000x65000"), std::string::npos) << s;
  // A crop outside the image, and the chooser's own error.
  auto outside = [](const JpegInfo& info) -> absl::StatusOr<CropWindow> {
    return CropWindow{1, 1, info.height, info.width};
  };
  ExpectErrorNaming(decoder.DecodeCrop(jpeg, "photo_17.jpg", outside, 32, 32, &region),
                    "crop outside");
  auto failing = [](const JpegInfo&) -> absl::StatusOr<CropWindow> {
    return absl::InvalidArgumentError("no crop");
  };
  ExpectErrorNaming(decoder.DecodeCrop(jpeg, "photo_17.jpg", failing, 32, 32, &region),
                    "chooser error");
  // Warnings may be accepted instead: a truncated file decodes, grey filled in.
  JpegDecodeOptions lenient;
  lenient.warnings_are_errors = false;
  JpegDecoder lenient_decoder(lenient);
  EXPECT_TRUE(lenient_decoder
                  .DecodeCrop(jpeg.substr(0, jpeg.size() / 2), "photo_17.jpg", Whole(),
                              32, 32, &region)
                  .ok());
  // After all that, the same decoder still decodes.
  ASSERT_TRUE(decode(jpeg).ok());
  EXPECT_EQ(region.scale_denom, 2);  // 120x160 covers 32x32 twice over
  EXPECT_EQ(region.height, 60);
  EXPECT_EQ(region.width, 80);
}

}  // namespace
}  // namespace tessera
