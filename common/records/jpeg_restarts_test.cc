#include "common/records/jpeg_restarts.h"

#include <random>
#include <string>

#include "absl/strings/match.h"
#include "common/records/image_codec.h"
#include "common/records/test_images.h"
#include "gtest/gtest.h"

namespace tessera {
namespace {

using testing::CmykJpeg;
using testing::GreyJpeg;
using testing::PatternImage;
using testing::RgbJpeg;

RgbImage Decode(const std::string& jpeg) {
  absl::StatusOr<RgbImage> image = DecodeJpegToRgb(jpeg, "test.jpg");
  EXPECT_TRUE(image.ok()) << image.status();
  return image.ok() ? *image : RgbImage();
}

// The restart interval the file's DRI segment gives, 0 without one.
int RestartInterval(const std::string& jpeg) {
  const size_t dri = jpeg.find("\xff\xdd");
  if (dri == std::string::npos || dri + 6 > jpeg.size()) return 0;
  return static_cast<uint8_t>(jpeg[dri + 4]) << 8 | static_cast<uint8_t>(jpeg[dri + 5]);
}

std::string Rewritten(const std::string& jpeg) {
  absl::StatusOr<std::string> out = AddRestartMarkers(jpeg, "test.jpg");
  EXPECT_TRUE(out.ok()) << out.status();
  return out.ok() ? *out : std::string();
}

TEST(JpegRestartsTest, RewriteKeepsEveryPixel) {
  struct Case {
    const char* what;
    std::string jpeg;
    int interval;  // MCUs: 64 pixels' worth, a divisor of the row
  };
  const RgbImage photo = PatternImage(500, 375, 1);
  const RgbImage portrait = PatternImage(375, 500, 2);
  const RgbImage odd = PatternImage(53, 37, 3);
  const Case cases[] = {
      {"4:2:0 500x375", RgbJpeg(photo), 4},              // 32 MCUs of 16 pixels
      {"4:2:0 375x500", RgbJpeg(portrait), 4},           // 24 MCUs
      {"4:2:0 53x37", RgbJpeg(odd), 4},                  // 4 MCUs
      {"progressive 500x375", RgbJpeg(photo, true), 4},  // written sequential
      {"grey 500x375", GreyJpeg(photo), 7},              // 63 blocks of 8: 7 divides
      {"CMYK 53x37", CmykJpeg(odd), 7},                  // 7 blocks of 8
  };
  for (const Case& c : cases) {
    const std::string rewritten = Rewritten(c.jpeg);
    EXPECT_EQ(RestartInterval(c.jpeg), 0) << c.what;
    EXPECT_EQ(RestartInterval(rewritten), c.interval) << c.what;
    const RgbImage a = Decode(c.jpeg), b = Decode(rewritten);
    EXPECT_EQ(a.width, b.width) << c.what;
    EXPECT_EQ(a.height, b.height) << c.what;
    EXPECT_TRUE(a.pixels == b.pixels) << c.what;
    // Deterministic: the same bytes again.
    EXPECT_EQ(Rewritten(c.jpeg), rewritten) << c.what;
  }
}

TEST(JpegRestartsTest, RewriteKeepsCommentsAndAppMarkers) {
  const std::string jpeg = RgbJpeg(PatternImage(40, 30, 4));
  // SOI, then a COM and an APP1 segment of our own, then the rest.
  const std::string com = std::string("\xff\xfe\x00\x0bhello tf!", 13);
  const std::string app1 = std::string(
                               "\xff\xe1\x00\x08"
                               "Exif\0",
                               9) +
                           std::string("\0", 1);
  const std::string with = jpeg.substr(0, 2) + com + app1 + jpeg.substr(2);
  ASSERT_EQ(Decode(with).pixels, Decode(jpeg).pixels);
  const std::string rewritten = Rewritten(with);
  EXPECT_NE(rewritten.find(com), std::string::npos);
  EXPECT_NE(rewritten.find(app1), std::string::npos);
}

TEST(JpegRestartsTest, CorruptDataIsAnErrorNamingTheFile) {
  const std::string jpeg = RgbJpeg(PatternImage(64, 48, 5));
  absl::StatusOr<std::string> out = AddRestartMarkers(jpeg.substr(0, jpeg.size() / 2), "a/b.JPEG");
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_TRUE(absl::StrContains(out.status().message(), "a/b.JPEG")) << out.status();
  EXPECT_FALSE(AddRestartMarkers("not a jpeg", "c.png").ok());
}

// A cut decodes to the pixels a decode of the whole file has there, except the
// first and last row and column of a cut edge inside the image: fancy (triangle)
// upsampling reads the chroma beside them, which the cut does not hold.
TEST(JpegRestartsTest, CutDecodesToTheWholeImagesPixels) {
  // 500 wide: 32 MCUs, intervals of 4 (64 pixels); 203 wide: 13 MCUs, of 1.
  for (const auto& [image, step] :
       {std::pair(PatternImage(500, 375, 6), 64), std::pair(PatternImage(203, 301, 7), 16)}) {
    const std::string jpeg = Rewritten(RgbJpeg(image));
    const RgbImage whole = Decode(jpeg);
    std::mt19937 rng(8);
    int cuts = 0;
    for (int i = 0; i < 60; ++i) {
      PixelWindow w;
      w.height = 1 + rng() % image.height;
      w.width = 1 + rng() % image.width;
      w.y = rng() % (image.height - w.height + 1);
      w.x = rng() % (image.width - w.width + 1);
      JpegCut cut;
      if (!CutToWindow(jpeg, w, &cut)) {
        // Only when the cut would be the whole image.
        EXPECT_EQ(w.y / 16, 0);
        EXPECT_EQ(w.x / step, 0);
        EXPECT_GT(w.y + w.height, (image.height - 1) / 16 * 16);
        EXPECT_GT(w.x + w.width, (image.width - 1) / step * step);
        continue;
      }
      ++cuts;
      const PixelWindow& p = cut.part;
      EXPECT_EQ(p.y % 16, 0);
      EXPECT_EQ(p.x % step, 0);
      EXPECT_LE(p.y, w.y);
      EXPECT_LE(p.x, w.x);
      EXPECT_GE(p.y + p.height, w.y + w.height);
      EXPECT_GE(p.x + p.width, w.x + w.width);
      EXPECT_LE(p.y + p.height, image.height);
      EXPECT_LE(p.x + p.width, image.width);
      EXPECT_LT(cut.jpeg.size(), jpeg.size());
      const RgbImage part = Decode(cut.jpeg);
      ASSERT_EQ(part.height, p.height);
      ASSERT_EQ(part.width, p.width);
      const int y0 = p.y > 0 ? 1 : 0, x0 = p.x > 0 ? 1 : 0;
      const int y1 = p.height - (p.y + p.height < image.height ? 1 : 0);
      const int x1 = p.width - (p.x + p.width < image.width ? 1 : 0);
      for (int y = y0; y < y1; ++y) {
        for (int x = x0 * 3; x < x1 * 3; ++x) {
          ASSERT_EQ(part.pixels[(static_cast<size_t>(y) * p.width) * 3 + x],
                    whole.pixels[((p.y + y) * static_cast<size_t>(image.width) + p.x) * 3 + x])
              << "cut " << i << " row " << y << " byte " << x;
        }
      }
    }
    EXPECT_GT(cuts, 40);
  }
}

TEST(JpegRestartsTest, CutRefusesWhatItCannotCut) {
  const RgbImage image = PatternImage(256, 128, 9);
  const std::string plain = RgbJpeg(image);
  const std::string jpeg = Rewritten(plain);
  const PixelWindow corner{0, 0, 10, 10};
  JpegCut cut;
  ASSERT_TRUE(CutToWindow(jpeg, corner, &cut));
  EXPECT_EQ(cut.part.height, 16);
  EXPECT_EQ(cut.part.width, 64);
  EXPECT_FALSE(CutToWindow(plain, corner, &cut)) << "no restart markers";
  EXPECT_FALSE(CutToWindow(RgbJpeg(image, true), corner, &cut)) << "progressive";
  EXPECT_FALSE(CutToWindow(jpeg, PixelWindow{0, 0, 128, 256}, &cut)) << "the whole image";
  EXPECT_FALSE(CutToWindow(jpeg, PixelWindow{120, 250, 10, 10}, &cut)) << "outside";
  EXPECT_FALSE(CutToWindow(jpeg, PixelWindow{-1, 0, 10, 10}, &cut)) << "outside";
  EXPECT_FALSE(CutToWindow(jpeg, PixelWindow{0, 0, 0, 10}, &cut)) << "empty";
  // A window at the bottom needs every interval: a truncated file cannot be cut
  // there (the decoder of the whole file reports the damage).
  const PixelWindow bottom{112, 0, 16, 10};
  ASSERT_TRUE(CutToWindow(jpeg, bottom, &cut));
  EXPECT_FALSE(CutToWindow(jpeg.substr(0, jpeg.size() * 2 / 3), bottom, &cut));
  // Restart markers out of order.
  std::string swapped = jpeg;
  const size_t rst0 = swapped.find("\xff\xd0");
  ASSERT_NE(rst0, std::string::npos);
  swapped[rst0 + 1] = static_cast<char>(0xd3);
  EXPECT_FALSE(CutToWindow(swapped, bottom, &cut));
  // A header claiming far more intervals than the data could hold: not cut.
  std::string huge = jpeg;
  const size_t sof = huge.find("\xff\xc0");
  ASSERT_NE(sof, std::string::npos);
  huge[sof + 5] = huge[sof + 6] = static_cast<char>(0x7f);  // height 32639
  EXPECT_FALSE(CutToWindow(huge, corner, &cut));
  // Anything at all: never a crash (ASan), at most a false.
  EXPECT_FALSE(CutToWindow("", corner, &cut));
  EXPECT_FALSE(CutToWindow("\xff\xd8\xff", corner, &cut));
  for (size_t n = 0; n < jpeg.size(); n += 7) CutToWindow(jpeg.substr(0, n), bottom, &cut);
}

}  // namespace
}  // namespace tessera
