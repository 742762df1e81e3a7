#ifndef TESSERA_COMMON_RECORDS_PNG_H_
#define TESSERA_COMMON_RECORDS_PNG_H_

// A minimal PNG encoder for 8-bit images (TensorBoard image summaries):
// one IHDR, one zlib-compressed IDAT with filter type 0 (None) on every row,
// IEND. Uses zlib for deflate and for the chunk CRCs. Thread-safe (no state).

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/types/span.h"

namespace tessera {

// The PNG bytes of a height x width image with `channels` interleaved 8-bit
// samples per pixel: 1 grayscale, 2 grayscale + alpha, 3 RGB, 4 RGBA.
// `pixels` is row-major, height * width * channels bytes. INVALID_ARGUMENT for
// a bad size or channel count; INTERNAL if zlib fails.
absl::StatusOr<std::string> EncodePng(absl::Span<const uint8_t> pixels, int height, int width,
                                      int channels);

}  // namespace tessera

#endif  // TESSERA_COMMON_RECORDS_PNG_H_
