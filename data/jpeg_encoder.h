#ifndef TESSERA_DATA_JPEG_ENCODER_H_
#define TESSERA_DATA_JPEG_ENCODER_H_

// Encodes 8-bit pixels as a baseline (or progressive) JPEG with libjpeg-turbo's
// libjpeg API: test images and benchmark sets (grey, RGB with 4:2:0 or 4:4:4
// chroma, CMYK). Thread-safe (no shared state).

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"

namespace tessera {

struct JpegEncodeOptions {
  int quality = 90;          // 1..100
  bool subsample_420 = true;  // 4:2:0 chroma for RGB input; else 4:4:4
  bool progressive = false;   // progressive scans (jpeg_simple_progression)
};

// `pixels` holds height x width x components bytes, row-major: 1 component is
// grey, 3 RGB, 4 CMYK (stored as given, with libjpeg's Adobe marker; Adobe
// convention: 255 means no ink). INVALID_ARGUMENT for other component counts or
// sizes outside 1..65500; INTERNAL with libjpeg's message if it fails.
absl::StatusOr<std::string> EncodeJpeg(const uint8_t* pixels, int height, int width,
                                       int components,
                                       const JpegEncodeOptions& options = {});

}  // namespace tessera

#endif  // TESSERA_DATA_JPEG_ENCODER_H_
