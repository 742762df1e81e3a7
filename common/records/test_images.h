#ifndef TESSERA_COMMON_RECORDS_TEST_IMAGES_H_
#define TESSERA_COMMON_RECORDS_TEST_IMAGES_H_

// Small images made in tests (no binary fixtures): encoded with libjpeg-turbo
// and libpng from a deterministic pattern. Test-only; thread-safe.

#include <string>

#include "common/records/image_codec.h"

namespace tessera {
namespace testing {

// A width x height RGB gradient that depends on `seed`.
RgbImage PatternImage(int width, int height, int seed);

// JPEG of `image`, quality 90 4:2:0; `progressive` for a progressive file.
std::string RgbJpeg(const RgbImage& image, bool progressive = false);
// Greyscale JPEG of the image's first channel.
std::string GreyJpeg(const RgbImage& image);
// A 4-component (CMYK/YCCK, Adobe-inverted as libjpeg-turbo writes it) JPEG
// whose RGB decode is close to `image`: C, M, Y = R, G, B and K = 255.
std::string CmykJpeg(const RgbImage& image);
// RGBA PNG of the image with alpha 255.
std::string RgbaPng(const RgbImage& image);

}  // namespace testing
}  // namespace tessera

#endif  // TESSERA_COMMON_RECORDS_TEST_IMAGES_H_
