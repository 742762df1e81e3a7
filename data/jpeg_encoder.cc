#include "data/jpeg_encoder.h"

#include <csetjmp>
#include <cstdlib>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/records/jpeg_error.h"

namespace tessera {
namespace {

// The libjpeg calls, with no C++ object alive across them (errors longjmp here).
// On success *out/*out_size hold a malloc'ed buffer the caller frees.
bool CompressToMemory(const uint8_t* pixels, int height, int width, int components,
                      const JpegEncodeOptions& options, JpegErrorManager* err,
                      unsigned char** out, unsigned long* out_size) {
  jpeg_compress_struct cinfo;
  cinfo.err = InstallJpegErrorManager(err, /*warnings_are_errors=*/false);
  if (setjmp(err->jump)) {
    jpeg_destroy_compress(&cinfo);
    return false;
  }
  jpeg_create_compress(&cinfo);
  jpeg_mem_dest(&cinfo, out, out_size);
  cinfo.image_width = width;
  cinfo.image_height = height;
  cinfo.input_components = components;
  cinfo.in_color_space =
      components == 1 ? JCS_GRAYSCALE : components == 3 ? JCS_RGB : JCS_CMYK;
  jpeg_set_defaults(&cinfo);
  jpeg_set_quality(&cinfo, options.quality, TRUE);
  if (components == 3) {
    const int h = options.subsample_420 ? 2 : 1;
    cinfo.comp_info[0].h_samp_factor = h;
    cinfo.comp_info[0].v_samp_factor = h;
    for (int c = 1; c < 3; ++c) {
      cinfo.comp_info[c].h_samp_factor = 1;
      cinfo.comp_info[c].v_samp_factor = 1;
    }
  }
  if (options.progressive) jpeg_simple_progression(&cinfo);
  jpeg_start_compress(&cinfo, TRUE);
  const size_t stride = static_cast<size_t>(width) * components;
  while (cinfo.next_scanline < cinfo.image_height) {
    JSAMPROW row = const_cast<uint8_t*>(pixels + cinfo.next_scanline * stride);
    jpeg_write_scanlines(&cinfo, &row, 1);
  }
  jpeg_finish_compress(&cinfo);
  jpeg_destroy_compress(&cinfo);
  return true;
}

}  // namespace

absl::StatusOr<std::string> EncodeJpeg(const uint8_t* pixels, int height, int width,
                                       int components,
                                       const JpegEncodeOptions& options) {
  if (components != 1 && components != 3 && components != 4) {
    return absl::InvalidArgumentError(
        absl::StrCat("JPEG encode: components must be 1, 3 or 4, got ", components));
  }
  if (height < 1 || width < 1 || height > 65500 || width > 65500) {
    return absl::InvalidArgumentError(
        absl::StrCat("JPEG encode: bad size ", height, "x", width));
  }
  if (options.quality < 1 || options.quality > 100) {
    return absl::InvalidArgumentError(
        absl::StrCat("JPEG encode: quality must be 1..100, got ", options.quality));
  }
  JpegErrorManager err;
  unsigned char* buffer = nullptr;
  unsigned long size = 0;
  const bool ok = CompressToMemory(pixels, height, width, components, options, &err,
                                   &buffer, &size);
  // After a failure libjpeg may have replaced the buffer without telling us, so
  // it is not freed then (a leak only on out-of-memory or libjpeg bugs).
  if (!ok) return absl::InternalError(absl::StrCat("JPEG encode: ", err.message));
  std::string bytes(reinterpret_cast<const char*>(buffer), size);
  std::free(buffer);
  return bytes;
}

}  // namespace tessera
