#include "common/records/image_codec.h"

#include <turbojpeg.h>

#include <cstdlib>

#include "common/records/test_images.h"
#include "gtest/gtest.h"

namespace tessera {
namespace {

using testing::CmykJpeg;
using testing::GreyJpeg;
using testing::PatternImage;
using testing::RgbaPng;
using testing::RgbJpeg;

int JpegColorspace(const std::string& jpeg) {
  tjhandle handle = tjInitDecompress();
  int w = 0, h = 0, sub = 0, cs = -1;
  tjDecompressHeader3(handle, reinterpret_cast<const unsigned char*>(jpeg.data()), jpeg.size(),
                      &w, &h, &sub, &cs);
  tjDestroy(handle);
  return cs;
}

// Largest per-channel difference between two images of the same size.
int MaxDiff(const RgbImage& a, const RgbImage& b) {
  EXPECT_EQ(a.width, b.width);
  EXPECT_EQ(a.height, b.height);
  if (a.pixels.size() != b.pixels.size()) return 256;
  int worst = 0;
  for (size_t i = 0; i < a.pixels.size(); ++i) {
    worst = std::max(worst, std::abs(int{a.pixels[i]} - int{b.pixels[i]}));
  }
  return worst;
}

TEST(ImageCodecTest, DetectsFormatByBytes) {
  const RgbImage image = PatternImage(16, 8, 1);
  EXPECT_EQ(DetectImageFormat(RgbJpeg(image)), ImageFormat::kJpeg);
  EXPECT_EQ(DetectImageFormat(RgbaPng(image)), ImageFormat::kPng);
  EXPECT_EQ(DetectImageFormat("GIF89a..."), ImageFormat::kOther);
  EXPECT_EQ(DetectImageFormat(""), ImageFormat::kOther);
  EXPECT_EQ(DetectImageFormat("\xff\xd8"), ImageFormat::kOther);
}

bool HasRestartInterval(const std::string& jpeg) {
  return jpeg.find("\xff\xdd") != std::string::npos;
}

// By default the coefficients are rewritten with restart markers: a new file
// with the very same pixels.
TEST(ImageCodecTest, RgbJpegIsRewrittenWithRestartMarkersAndTheSamePixels) {
  for (bool progressive : {false, true}) {
    const std::string jpeg = RgbJpeg(PatternImage(40, 30, 2), progressive);
    absl::StatusOr<ShardImage> out = ToShardImage(jpeg, "a.JPEG");
    ASSERT_TRUE(out.ok()) << out.status();
    EXPECT_FALSE(out->reencoded);
    EXPECT_NE(out->jpeg, jpeg);
    EXPECT_FALSE(HasRestartInterval(jpeg));
    EXPECT_TRUE(HasRestartInterval(out->jpeg));
    EXPECT_EQ(DecodeJpegToRgb(out->jpeg, "out")->pixels, DecodeJpegToRgb(jpeg, "in")->pixels);
    EXPECT_EQ(out->width, 40);
    EXPECT_EQ(out->height, 30);
  }
}

TEST(ImageCodecTest, ReencodedImagesGetRestartMarkersToo) {
  const RgbImage image = PatternImage(32, 24, 4);
  for (const std::string& input : {GreyJpeg(image), RgbaPng(image)}) {
    absl::StatusOr<ShardImage> out = ToShardImage(input, "x.JPEG");
    ASSERT_TRUE(out.ok()) << out.status();
    EXPECT_TRUE(out->reencoded);
    EXPECT_TRUE(HasRestartInterval(out->jpeg));
    EXPECT_FALSE(HasRestartInterval(ToShardImage(input, "x.JPEG", false)->jpeg));
  }
}

TEST(ImageCodecTest, RgbJpegIsKeptByteForByte) {
  const std::string jpeg = RgbJpeg(PatternImage(40, 30, 2));
  absl::StatusOr<ShardImage> out = ToShardImage(jpeg, "a.JPEG", /*restart_markers=*/false);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_FALSE(out->reencoded);
  EXPECT_EQ(out->jpeg, jpeg);
  EXPECT_EQ(out->width, 40);
  EXPECT_EQ(out->height, 30);
}

TEST(ImageCodecTest, ProgressiveJpegIsKeptByteForByte) {
  const std::string jpeg = RgbJpeg(PatternImage(40, 30, 3), /*progressive=*/true);
  absl::StatusOr<ShardImage> out = ToShardImage(jpeg, "p.JPEG", /*restart_markers=*/false);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_FALSE(out->reencoded);
  EXPECT_EQ(out->jpeg, jpeg);
}

TEST(ImageCodecTest, GreyJpegBecomesRgbJpeg) {
  const RgbImage image = PatternImage(32, 24, 4);
  absl::StatusOr<ShardImage> out = ToShardImage(GreyJpeg(image), "grey.JPEG");
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_TRUE(out->reencoded);
  EXPECT_EQ(JpegColorspace(out->jpeg), TJCS_YCbCr);
  absl::StatusOr<RgbImage> rgb = DecodeJpegToRgb(out->jpeg, "grey");
  ASSERT_TRUE(rgb.ok()) << rgb.status();
  ASSERT_EQ(rgb->width, 32);
  ASSERT_EQ(rgb->height, 24);
  // Grey stays grey: all three channels equal the input's first channel.
  RgbImage want = image;
  for (size_t i = 0; i < want.pixels.size(); i += 3) {
    want.pixels[i + 1] = want.pixels[i + 2] = want.pixels[i];
  }
  EXPECT_LE(MaxDiff(*rgb, want), 12);
}

TEST(ImageCodecTest, CmykJpegBecomesRgbJpeg) {
  const RgbImage image = PatternImage(32, 24, 5);
  const std::string cmyk = CmykJpeg(image);
  const int colorspace = JpegColorspace(cmyk);
  ASSERT_TRUE(colorspace == TJCS_CMYK || colorspace == TJCS_YCCK) << colorspace;
  absl::StatusOr<ShardImage> out = ToShardImage(cmyk, "cmyk.JPEG");
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_TRUE(out->reencoded);
  EXPECT_EQ(JpegColorspace(out->jpeg), TJCS_YCbCr);
  absl::StatusOr<RgbImage> rgb = DecodeJpegToRgb(out->jpeg, "cmyk");
  ASSERT_TRUE(rgb.ok()) << rgb.status();
  EXPECT_LE(MaxDiff(*rgb, image), 16);
}

TEST(ImageCodecTest, PngBecomesRgbJpeg) {
  const RgbImage image = PatternImage(20, 10, 6);
  absl::StatusOr<ShardImage> out = ToShardImage(RgbaPng(image), "n0001_1.JPEG");
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_TRUE(out->reencoded);
  EXPECT_EQ(out->width, 20);
  EXPECT_EQ(out->height, 10);
  absl::StatusOr<RgbImage> png = DecodePngToRgb(RgbaPng(image), "png");
  ASSERT_TRUE(png.ok()) << png.status();
  EXPECT_EQ(MaxDiff(*png, image), 0);
  absl::StatusOr<RgbImage> rgb = DecodeJpegToRgb(out->jpeg, "png");
  ASSERT_TRUE(rgb.ok()) << rgb.status();
  EXPECT_LE(MaxDiff(*rgb, image), 16);
}

TEST(ImageCodecTest, ReencodingIsDeterministic) {
  const std::string png = RgbaPng(PatternImage(20, 10, 7));
  EXPECT_EQ(ToShardImage(png, "a")->jpeg, ToShardImage(png, "a")->jpeg);
}

TEST(ImageCodecTest, TruncatedJpegIsDataLossNamingTheFile) {
  std::string jpeg = RgbJpeg(PatternImage(64, 48, 8));
  jpeg.resize(jpeg.size() * 2 / 3);
  for (bool restart_markers : {true, false}) {
    absl::StatusOr<ShardImage> out = ToShardImage(jpeg, "train/n01/cut.JPEG", restart_markers);
    EXPECT_EQ(out.status().code(), absl::StatusCode::kDataLoss);
    EXPECT_EQ(out.status().message().rfind("train/n01/cut.JPEG: corrupt JPEG", 0), 0u)
        << out.status();
  }
}

TEST(ImageCodecTest, GarbageAfterJpegMagicIsDataLoss) {
  absl::StatusOr<ShardImage> out =
      ToShardImage(std::string("\xff\xd8\xff\xe0 this is no jpeg at all"), "bad.JPEG");
  EXPECT_EQ(out.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(out.status().message().rfind("bad.JPEG: corrupt JPEG (header)", 0), 0u)
      << out.status();
}

TEST(ImageCodecTest, TruncatedPngIsDataLoss) {
  std::string png = RgbaPng(PatternImage(64, 48, 9));
  png.resize(png.size() / 2);
  absl::StatusOr<ShardImage> out = ToShardImage(png, "cut.png");
  EXPECT_EQ(out.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(out.status().message().rfind("cut.png: corrupt PNG", 0), 0u) << out.status();
}

TEST(ImageCodecTest, NonImageIsInvalidArgumentNamingTheFile) {
  absl::StatusOr<ShardImage> out = ToShardImage("hello, world\n", "n01/README.txt");
  EXPECT_EQ(out.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(out.status().message(),
            "n01/README.txt: not a JPEG or PNG image (13 bytes, starting 68 65 6c 6c)");
  EXPECT_EQ(ToShardImage("", "empty.JPEG").status().message(),
            "empty.JPEG: not a JPEG or PNG image (0 bytes, starting with nothing)");
}

}  // namespace
}  // namespace tessera
