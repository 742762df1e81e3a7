#include "common/records/png.h"

#include <zlib.h>

#include <limits>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace tessera {
namespace {

void AppendBigEndian32(uint32_t v, std::string* out) {
  for (int shift = 24; shift >= 0; shift -= 8)
    out->push_back(static_cast<char>((v >> shift) & 0xff));
}

// Appends length, type, data and the CRC-32 of type + data.
void AppendChunk(absl::string_view type, absl::string_view data, std::string* out) {
  AppendBigEndian32(static_cast<uint32_t>(data.size()), out);
  uLong crc = crc32(0L, Z_NULL, 0);
  crc = crc32(crc, reinterpret_cast<const Bytef*>(type.data()), static_cast<uInt>(type.size()));
  crc = crc32(crc, reinterpret_cast<const Bytef*>(data.data()), static_cast<uInt>(data.size()));
  out->append(type.data(), type.size());
  out->append(data.data(), data.size());
  AppendBigEndian32(static_cast<uint32_t>(crc), out);
}

// PNG color type for a channel count (PNG spec, IHDR).
int ColorType(int channels) {
  switch (channels) {
    case 1:
      return 0;  // grayscale
    case 2:
      return 4;  // grayscale + alpha
    case 3:
      return 2;  // truecolor
    default:
      return 6;  // truecolor + alpha
  }
}

}  // namespace

absl::StatusOr<std::string> EncodePng(absl::Span<const uint8_t> pixels, int height, int width,
                                      int channels) {
  if (channels < 1 || channels > 4) {
    return absl::InvalidArgumentError(absl::StrCat("PNG: channels must be 1 to 4, got ", channels));
  }
  if (height <= 0 || width <= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("PNG: image must be at least 1x1, got ", height, "x", width));
  }
  const uint64_t row_bytes = static_cast<uint64_t>(width) * channels;
  const uint64_t raw_bytes = (row_bytes + 1) * static_cast<uint64_t>(height);
  if (raw_bytes > std::numeric_limits<uLong>::max() / 2 || raw_bytes > (uint64_t{1} << 31)) {
    return absl::InvalidArgumentError(
        absl::StrCat("PNG: image ", height, "x", width, "x", channels, " is too large"));
  }
  if (pixels.size() != row_bytes * static_cast<uint64_t>(height)) {
    return absl::InvalidArgumentError(absl::StrCat("PNG: ", height, "x", width, "x", channels,
                                                   " image needs ", row_bytes * height,
                                                   " bytes, got ", pixels.size()));
  }

  // Each scanline is preceded by its filter type byte (0 = None).
  std::string raw;
  raw.reserve(raw_bytes);
  for (int y = 0; y < height; ++y) {
    raw.push_back('\0');
    raw.append(reinterpret_cast<const char*>(pixels.data()) + y * row_bytes, row_bytes);
  }
  uLongf compressed_size = compressBound(static_cast<uLong>(raw.size()));
  std::string compressed(compressed_size, '\0');
  const int rc = compress2(reinterpret_cast<Bytef*>(&compressed[0]), &compressed_size,
                           reinterpret_cast<const Bytef*>(raw.data()),
                           static_cast<uLong>(raw.size()), Z_DEFAULT_COMPRESSION);
  if (rc != Z_OK) return absl::InternalError(absl::StrCat("PNG: zlib compress2 failed: ", rc));
  compressed.resize(compressed_size);

  std::string ihdr;
  AppendBigEndian32(static_cast<uint32_t>(width), &ihdr);
  AppendBigEndian32(static_cast<uint32_t>(height), &ihdr);
  ihdr.push_back(8);  // bit depth
  ihdr.push_back(static_cast<char>(ColorType(channels)));
  ihdr.push_back(0);  // compression: deflate
  ihdr.push_back(0);  // filter method 0
  ihdr.push_back(0);  // no interlace

  std::string png("\x89PNG\r\n\x1a\n", 8);
  AppendChunk("IHDR", ihdr, &png);
  AppendChunk("IDAT", compressed, &png);
  AppendChunk("IEND", "", &png);
  return png;
}

}  // namespace tessera
