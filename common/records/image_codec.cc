#include "common/records/image_codec.h"

#include <png.h>
#include <turbojpeg.h>

#include <cstring>
#include <memory>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/records/jpeg_restarts.h"
#include "common/status_macros.h"

namespace tessera {
namespace {

// Larger images (a corrupt header, or a decompression bomb) are refused.
constexpr int64_t kMaxPixels = int64_t{1} << 28;
constexpr unsigned char kPngSignature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};

struct TjFree {
  void operator()(void* handle) const { tjDestroy(handle); }
};
using TjHandle = std::unique_ptr<void, TjFree>;

absl::Status JpegError(tjhandle handle, absl::string_view name, absl::string_view what) {
  return absl::DataLossError(
      absl::StrCat(name, ": corrupt JPEG (", what, "): ", tjGetErrorStr2(handle)));
}

struct JpegHeader {
  int width = 0;
  int height = 0;
  int colorspace = 0;  // TJCS_*
};

absl::StatusOr<JpegHeader> ReadJpegHeader(tjhandle handle, absl::string_view bytes,
                                          absl::string_view name) {
  JpegHeader header;
  int subsampling = 0;
  if (tjDecompressHeader3(handle, reinterpret_cast<const unsigned char*>(bytes.data()),
                          bytes.size(), &header.width, &header.height, &subsampling,
                          &header.colorspace) != 0) {
    return JpegError(handle, name, "header");
  }
  if (header.width <= 0 || header.height <= 0 ||
      int64_t{header.width} * header.height > kMaxPixels) {
    return absl::DataLossError(absl::StrCat(name, ": corrupt JPEG (header): size ",
                                            header.width, "x", header.height));
  }
  return header;
}

// Decodes the whole image strictly into `pixel_format` (TJPF_RGB, TJPF_GRAY or
// TJPF_CMYK).
absl::Status DecodeStrict(tjhandle handle, absl::string_view bytes, const JpegHeader& header,
                          int pixel_format, std::vector<uint8_t>* out,
                          absl::string_view name) {
  out->resize(static_cast<size_t>(header.width) * header.height * tjPixelSize[pixel_format]);
  if (tjDecompress2(handle, reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(),
                    out->data(), header.width, 0, header.height, pixel_format,
                    TJFLAG_STOPONWARNING) != 0) {
    return JpegError(handle, name, "decode");
  }
  return absl::OkStatus();
}

absl::StatusOr<RgbImage> DecodeWithHeader(tjhandle handle, absl::string_view bytes,
                                          const JpegHeader& header, absl::string_view name) {
  RgbImage image;
  image.width = header.width;
  image.height = header.height;
  if (header.colorspace != TJCS_CMYK && header.colorspace != TJCS_YCCK) {
    RETURN_IF_ERROR(DecodeStrict(handle, bytes, header, TJPF_RGB, &image.pixels, name));
    return image;
  }
  std::vector<uint8_t> cmyk;
  RETURN_IF_ERROR(DecodeStrict(handle, bytes, header, TJPF_CMYK, &cmyk, name));
  const size_t n = static_cast<size_t>(header.width) * header.height;
  image.pixels.resize(n * 3);
  for (size_t i = 0; i < n; ++i) {
    const int k = cmyk[4 * i + 3];
    for (int c = 0; c < 3; ++c) {
      image.pixels[3 * i + c] = static_cast<uint8_t>((cmyk[4 * i + c] * k + 127) / 255);
    }
  }
  return image;
}

}  // namespace

ImageFormat DetectImageFormat(absl::string_view bytes) {
  if (bytes.size() >= 3 && static_cast<unsigned char>(bytes[0]) == 0xff &&
      static_cast<unsigned char>(bytes[1]) == 0xd8 &&
      static_cast<unsigned char>(bytes[2]) == 0xff) {
    return ImageFormat::kJpeg;
  }
  if (bytes.size() >= sizeof(kPngSignature) &&
      std::memcmp(bytes.data(), kPngSignature, sizeof(kPngSignature)) == 0) {
    return ImageFormat::kPng;
  }
  return ImageFormat::kOther;
}

absl::StatusOr<RgbImage> DecodeJpegToRgb(absl::string_view bytes, absl::string_view name) {
  TjHandle handle(tjInitDecompress());
  if (handle == nullptr) return absl::InternalError("cannot start a JPEG decoder");
  ASSIGN_OR_RETURN(JpegHeader header, ReadJpegHeader(handle.get(), bytes, name));
  return DecodeWithHeader(handle.get(), bytes, header, name);
}

absl::StatusOr<RgbImage> DecodePngToRgb(absl::string_view bytes, absl::string_view name) {
  png_image png;
  std::memset(&png, 0, sizeof(png));
  png.version = PNG_IMAGE_VERSION;
  if (!png_image_begin_read_from_memory(&png, bytes.data(), bytes.size())) {
    const std::string message = png.message;
    png_image_free(&png);
    return absl::DataLossError(absl::StrCat(name, ": corrupt PNG: ", message));
  }
  if (int64_t{png.width} * png.height > kMaxPixels) {
    png_image_free(&png);
    return absl::DataLossError(
        absl::StrCat(name, ": corrupt PNG: size ", png.width, "x", png.height));
  }
  png.format = PNG_FORMAT_RGB;
  RgbImage image;
  image.width = static_cast<int>(png.width);
  image.height = static_cast<int>(png.height);
  image.pixels.resize(PNG_IMAGE_SIZE(png));
  const png_color black = {0, 0, 0};
  if (!png_image_finish_read(&png, &black, image.pixels.data(), 0, nullptr)) {
    const std::string message = png.message;
    png_image_free(&png);
    return absl::DataLossError(absl::StrCat(name, ": corrupt PNG: ", message));
  }
  return image;
}

absl::StatusOr<std::string> EncodeRgbJpeg(const RgbImage& image, int quality,
                                          absl::string_view name) {
  TjHandle handle(tjInitCompress());
  if (handle == nullptr) return absl::InternalError("cannot start a JPEG encoder");
  unsigned char* buffer = nullptr;
  unsigned long size = 0;
  if (tjCompress2(handle.get(), image.pixels.data(), image.width, 0, image.height, TJPF_RGB,
                  &buffer, &size, TJSAMP_420, quality, 0) != 0) {
    tjFree(buffer);
    return absl::InternalError(
        absl::StrCat(name, ": cannot encode JPEG: ", tjGetErrorStr2(handle.get())));
  }
  std::string out(reinterpret_cast<const char*>(buffer), size);
  tjFree(buffer);
  return out;
}

absl::StatusOr<ShardImage> ToShardImage(std::string bytes, absl::string_view name,
                                        bool restart_markers) {
  ShardImage out;
  RgbImage rgb;
  switch (DetectImageFormat(bytes)) {
    case ImageFormat::kJpeg: {
      TjHandle handle(tjInitDecompress());
      if (handle == nullptr) return absl::InternalError("cannot start a JPEG decoder");
      ASSIGN_OR_RETURN(JpegHeader header, ReadJpegHeader(handle.get(), bytes, name));
      if (header.colorspace == TJCS_YCbCr || header.colorspace == TJCS_RGB) {
        // The rewrite reads every coefficient as strictly as a decode would.
        if (restart_markers) {
          ASSIGN_OR_RETURN(out.jpeg, AddRestartMarkers(bytes, name));
        } else {
          RETURN_IF_ERROR(DecodeWithHeader(handle.get(), bytes, header, name).status());
          out.jpeg = std::move(bytes);
        }
        out.width = header.width;
        out.height = header.height;
        return out;
      }
      ASSIGN_OR_RETURN(rgb, DecodeWithHeader(handle.get(), bytes, header, name));
      break;
    }
    case ImageFormat::kPng: {
      ASSIGN_OR_RETURN(rgb, DecodePngToRgb(bytes, name));
      break;
    }
    case ImageFormat::kOther: {
      std::string head;
      for (size_t i = 0; i < bytes.size() && i < 4; ++i) {
        absl::StrAppend(&head, i ? " " : "",
                        absl::Hex(static_cast<unsigned char>(bytes[i]), absl::kZeroPad2));
      }
      return absl::InvalidArgumentError(absl::StrCat(
          name, ": not a JPEG or PNG image (", bytes.size(), " bytes, starting ",
          head.empty() ? "with nothing" : head, ")"));
    }
  }
  ASSIGN_OR_RETURN(out.jpeg, EncodeRgbJpeg(rgb, kJpegQuality, name));
  if (restart_markers) {
    absl::StatusOr<std::string> marked = AddRestartMarkers(out.jpeg, name);
    if (!marked.ok()) {  // our own fresh JPEG: not the input's fault
      return absl::InternalError(absl::StrCat("re-encoded ", marked.status().message()));
    }
    out.jpeg = std::move(*marked);
  }
  out.width = rgb.width;
  out.height = rgb.height;
  out.reencoded = true;
  return out;
}

}  // namespace tessera
