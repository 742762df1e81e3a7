#include "common/records/png.h"

#include <zlib.h>

#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace tessera {
namespace {

uint32_t BigEndian32(const std::string& s, size_t pos) {
  uint32_t v = 0;
  for (size_t i = 0; i < 4; ++i) v = (v << 8) | static_cast<uint8_t>(s[pos + i]);
  return v;
}

struct Chunk {
  std::string type;
  std::string data;
  bool crc_ok = false;
};

// Splits PNG bytes after the signature into chunks.
std::vector<Chunk> Chunks(const std::string& png) {
  std::vector<Chunk> chunks;
  size_t pos = 8;
  while (pos + 12 <= png.size()) {
    const uint32_t length = BigEndian32(png, pos);
    Chunk c;
    c.type = png.substr(pos + 4, 4);
    c.data = png.substr(pos + 8, length);
    const uLong crc = crc32(0L, reinterpret_cast<const Bytef*>(png.data() + pos + 4), length + 4);
    c.crc_ok = crc == BigEndian32(png, pos + 8 + length);
    chunks.push_back(c);
    pos += 12 + length;
  }
  EXPECT_EQ(pos, png.size());
  return chunks;
}

std::string Inflate(const std::string& data, size_t max_size) {
  std::string out(max_size + 1, '\0');
  uLongf size = out.size();
  EXPECT_EQ(uncompress(reinterpret_cast<Bytef*>(&out[0]), &size,
                       reinterpret_cast<const Bytef*>(data.data()), data.size()),
            Z_OK);
  out.resize(size);
  return out;
}

TEST(PngTest, RgbImageHasHeaderAndRowsWithFilterBytes) {
  const int height = 3, width = 5, channels = 3;
  std::vector<uint8_t> pixels(height * width * channels);
  for (size_t i = 0; i < pixels.size(); ++i) pixels[i] = static_cast<uint8_t>(i * 7);
  auto png = EncodePng(pixels, height, width, channels);
  ASSERT_TRUE(png.ok()) << png.status();
  EXPECT_EQ(png->substr(0, 8), std::string("\x89PNG\r\n\x1a\n", 8));

  const std::vector<Chunk> chunks = Chunks(*png);
  ASSERT_EQ(chunks.size(), 3u);
  EXPECT_EQ(chunks[0].type, "IHDR");
  EXPECT_EQ(chunks[1].type, "IDAT");
  EXPECT_EQ(chunks[2].type, "IEND");
  for (const Chunk& c : chunks) EXPECT_TRUE(c.crc_ok) << c.type;

  const std::string& ihdr = chunks[0].data;
  ASSERT_EQ(ihdr.size(), 13u);
  EXPECT_EQ(BigEndian32(ihdr, 0), 5u);  // width
  EXPECT_EQ(BigEndian32(ihdr, 4), 3u);  // height
  EXPECT_EQ(ihdr[8], 8);                // bit depth
  EXPECT_EQ(ihdr[9], 2);                // truecolor
  EXPECT_EQ(ihdr.substr(10), std::string(3, '\0'));

  const std::string raw = Inflate(chunks[1].data, 1000);
  ASSERT_EQ(raw.size(), static_cast<size_t>(height * (1 + width * channels)));
  for (int y = 0; y < height; ++y) {
    const size_t row = y * (1 + width * channels);
    EXPECT_EQ(raw[row], '\0');
    EXPECT_EQ(raw.substr(row + 1, width * channels),
              std::string(reinterpret_cast<const char*>(pixels.data()) + y * width * channels,
                          width * channels));
  }
}

TEST(PngTest, GrayscaleColorType) {
  std::vector<uint8_t> pixels(4 * 2, 200);
  auto png = EncodePng(pixels, 2, 4, 1);
  ASSERT_TRUE(png.ok()) << png.status();
  const std::vector<Chunk> chunks = Chunks(*png);
  ASSERT_EQ(chunks.size(), 3u);
  EXPECT_EQ(chunks[0].data[9], 0);
  EXPECT_EQ(Inflate(chunks[1].data, 100).size(), 2u * (1 + 4));
}

TEST(PngTest, RejectsBadArguments) {
  std::vector<uint8_t> pixels(12);
  EXPECT_EQ(EncodePng(pixels, 2, 2, 5).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(EncodePng(pixels, 0, 2, 3).status().code(), absl::StatusCode::kInvalidArgument);
  const absl::Status wrong_size = EncodePng(pixels, 2, 2, 1).status();
  EXPECT_EQ(wrong_size.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(wrong_size.message(), "PNG: 2x2x1 image needs 4 bytes, got 12");
}

}  // namespace
}  // namespace tessera
