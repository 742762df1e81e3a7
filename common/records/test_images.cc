#include "common/records/test_images.h"

#include <png.h>
#include <turbojpeg.h>

#include <cstdlib>
#include <cstring>
#include <vector>

namespace tessera {
namespace testing {
namespace {

// Aborts the test binary on an encoder failure: test inputs are fixed.
std::string Compress(const uint8_t* pixels, int width, int height, int pixel_format,
                     int subsampling, int flags) {
  tjhandle handle = tjInitCompress();
  unsigned char* buffer = nullptr;
  unsigned long size = 0;
  if (tjCompress2(handle, pixels, width, 0, height, pixel_format, &buffer, &size, subsampling,
                  90, flags) != 0) {
    std::abort();
  }
  std::string out(reinterpret_cast<const char*>(buffer), size);
  tjFree(buffer);
  tjDestroy(handle);
  return out;
}

// The image's pixels with a fourth channel of `fourth` after each RGB triple.
std::vector<uint8_t> WithFourthChannel(const RgbImage& image, uint8_t fourth) {
  const size_t n = static_cast<size_t>(image.width) * image.height;
  std::vector<uint8_t> out(n * 4);
  for (size_t i = 0; i < n; ++i) {
    std::memcpy(&out[4 * i], &image.pixels[3 * i], 3);
    out[4 * i + 3] = fourth;
  }
  return out;
}

}  // namespace

RgbImage PatternImage(int width, int height, int seed) {
  RgbImage image;
  image.width = width;
  image.height = height;
  image.pixels.resize(static_cast<size_t>(width) * height * 3);
  for (int y = 0; y < height; ++y) {
    for (int x = 0; x < width; ++x) {
      uint8_t* p = &image.pixels[(static_cast<size_t>(y) * width + x) * 3];
      p[0] = static_cast<uint8_t>(x * 255 / (width > 1 ? width - 1 : 1));
      p[1] = static_cast<uint8_t>(y * 255 / (height > 1 ? height - 1 : 1));
      p[2] = static_cast<uint8_t>((seed * 37) % 256);
    }
  }
  return image;
}

std::string RgbJpeg(const RgbImage& image, bool progressive) {
  return Compress(image.pixels.data(), image.width, image.height, TJPF_RGB, TJSAMP_420,
                  progressive ? TJFLAG_PROGRESSIVE : 0);
}

std::string GreyJpeg(const RgbImage& image) {
  std::vector<uint8_t> grey(static_cast<size_t>(image.width) * image.height);
  for (size_t i = 0; i < grey.size(); ++i) grey[i] = image.pixels[3 * i];
  return Compress(grey.data(), image.width, image.height, TJPF_GRAY, TJSAMP_GRAY, 0);
}

std::string CmykJpeg(const RgbImage& image) {
  const std::vector<uint8_t> cmyk = WithFourthChannel(image, 255);
  return Compress(cmyk.data(), image.width, image.height, TJPF_CMYK, TJSAMP_444, 0);
}

std::string RgbaPng(const RgbImage& image) {
  const std::vector<uint8_t> rgba = WithFourthChannel(image, 255);
  png_image png;
  std::memset(&png, 0, sizeof(png));
  png.version = PNG_IMAGE_VERSION;
  png.width = image.width;
  png.height = image.height;
  png.format = PNG_FORMAT_RGBA;
  png_alloc_size_t size = 0;
  if (!png_image_write_to_memory(&png, nullptr, &size, 0, rgba.data(), 0, nullptr)) {
    std::abort();
  }
  std::string out(size, '\0');
  if (!png_image_write_to_memory(&png, out.data(), &size, 0, rgba.data(), 0, nullptr)) {
    std::abort();
  }
  out.resize(size);
  return out;
}

}  // namespace testing
}  // namespace tessera
