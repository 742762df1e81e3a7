#ifndef TESSERA_DATA_TEST_IMAGES_H_
#define TESSERA_DATA_TEST_IMAGES_H_

// Test helpers: synthetic photographs-in-miniature (smooth gradients, edges and
// noise) and their JPEG encodings in each colour layout the decoder handles.
// Test-only; thread-safe.

#include <cstdint>
#include <string>
#include <vector>

namespace tessera {
namespace testing {

// height x width x 3 RGB bytes: diagonal colour gradients, a few hard-edged
// discs and uniform noise of amplitude +-noise, fixed by `seed`.
std::vector<uint8_t> GradientNoiseRgb(int height, int width, int noise, uint32_t seed);

// Luma of `rgb` (ITU-R BT.601 weights), one byte per pixel.
std::vector<uint8_t> RgbToGrey(const std::vector<uint8_t>& rgb);

// Adobe-convention CMYK (stored 255 = no ink) whose C * K / 255 etc. gives back
// `rgb` to within rounding.
std::vector<uint8_t> RgbToAdobeCmyk(const std::vector<uint8_t>& rgb);

// kProgressive: 4:2:0 RGB in progressive scans.
enum class TestJpegKind { kRgb420, kRgb444, kGrey, kCmyk, kProgressive };
const char* TestJpegKindName(TestJpegKind kind);

// The JPEG bytes of GradientNoiseRgb(...) in layout `kind` at `quality`; the RGB
// the decoder should return (grey replicated to RGB for kGrey) in *expected_rgb.
// Aborts the test (ADD_FAILURE + empty string) if encoding fails.
std::string MakeTestJpeg(TestJpegKind kind, int height, int width, int quality,
                         uint32_t seed, std::vector<uint8_t>* expected_rgb = nullptr);

}  // namespace testing
}  // namespace tessera

#endif  // TESSERA_DATA_TEST_IMAGES_H_
