#ifndef TESSERA_COMMON_RECORDS_IMAGE_CODEC_H_
#define TESSERA_COMMON_RECORDS_IMAGE_CODEC_H_

// Image files into the RGB JPEG bytes image shards hold, as TensorFlow's
// build_imagenet_data.py does, but recognizing the format by the file's bytes
// (not by a list of names) and never crashing on a bad file:
//
//   JPEG, 3 components (YCbCr or RGB)   the same coefficients, rewritten with
//                                       restart markers (or, without them,
//                                       kept byte for byte after a full,
//                                       strict decode proves it sound)
//   JPEG, greyscale, CMYK or YCCK       decoded to RGB, re-encoded
//   PNG (any bit depth, palette, alpha) decoded to RGB, re-encoded
//   anything else                       INVALID_ARGUMENT
//
// Re-encoding is baseline JPEG, 4:2:0, quality kJpegQuality, with
// libjpeg-turbo; restart markers as AddRestartMarkers writes them
// (common/records/jpeg_restarts.h) unless turned off; it is deterministic. A JPEG that
// libjpeg-turbo cannot decode, or decodes only with a warning (a truncated file, corrupt entropy
// data), is DATA_LOSS, as is an image of more than 2^28 pixels (a corrupt header or a decompression
// bomb). Every error message starts with the `name` passed in. Free functions; thread-safe (each
// call has its own codec state).

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace tessera {

inline constexpr int kJpegQuality = 95;

enum class ImageFormat { kJpeg, kPng, kOther };

// The format by the magic bytes: FF D8 FF for JPEG, the 8-byte PNG signature.
ImageFormat DetectImageFormat(absl::string_view bytes);

// Interleaved 8-bit RGB, rows top to bottom, no padding.
struct RgbImage {
  int width = 0;
  int height = 0;
  std::vector<uint8_t> pixels;  // width * height * 3
};

// Any JPEG libjpeg-turbo reads (grey, YCbCr, RGB, CMYK, YCCK) as RGB; CMYK and
// YCCK follow the Adobe convention (inverted values) as libjpeg-turbo does.
// DATA_LOSS on a decode error or warning.
absl::StatusOr<RgbImage> DecodeJpegToRgb(absl::string_view bytes, absl::string_view name);

// A PNG as RGB (palette and grey expanded, 16 bits reduced, alpha composited
// on black). DATA_LOSS when libpng cannot read it.
absl::StatusOr<RgbImage> DecodePngToRgb(absl::string_view bytes, absl::string_view name);

// Baseline 4:2:0 JPEG of `image` at `quality` (1-100).
absl::StatusOr<std::string> EncodeRgbJpeg(const RgbImage& image, int quality,
                                          absl::string_view name);

// What goes into image/encoded, with its size.
struct ShardImage {
  std::string jpeg;
  int width = 0;
  int height = 0;
  bool reencoded = false;  // false: `jpeg` has the input's very pixels
};

// The table at the top of this file. `restart_markers`: as AddRestartMarkers
// writes them; false: the input's bytes where the table says "kept".
absl::StatusOr<ShardImage> ToShardImage(std::string bytes, absl::string_view name,
                                        bool restart_markers = true);

}  // namespace tessera

#endif  // TESSERA_COMMON_RECORDS_IMAGE_CODEC_H_
