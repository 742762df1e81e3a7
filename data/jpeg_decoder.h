#ifndef TESSERA_DATA_JPEG_DECODER_H_
#define TESSERA_DATA_JPEG_DECODER_H_

// Decodes only the part of a JPEG a training or evaluation crop needs, with
// libjpeg-turbo's libjpeg API:
//  - DCT scaling: the smallest of 1/8, 1/4, 1/2, 1/1 at which the crop still has at
//    least the output's height and width in decoded pixels (a 2x-4x downscale by
//    the IDCT costs a fraction of a full decode);
//  - a partial decode: only the crop's columns (jpeg_crop_scanline, which widens
//    them to whole iMCU columns) and rows (jpeg_skip_scanlines; rows after the crop
//    are never decoded);
//  - in a JPEG with restart markers at the places tessera_records puts them
//    (common/records/jpeg_restarts.h), only the restart intervals that cover the
//    crop are entropy-decoded at all: the file is first cut to them (CutToWindow,
//    keeping the decoded row below the crop that fancy upsampling reads), which
//    gives the very pixels of the partial decode without the cut.
// Grey and YCbCr/RGB images come out as RGB through libjpeg's own conversion;
// CMYK and YCCK are decoded to CMYK and converted by hand, taking the Adobe
// convention that Photoshop writes (stored 255 = no ink): R = C * K / 255, etc.
// Corrupt or truncated data (libjpeg's warnings included), unsupported colour
// spaces and images over max_pixels are errors naming the image; libjpeg never
// exits the process. A partial decode reads the file only up to the crop's last
// row (with a restart cut, only the intervals around the crop), so damage
// elsewhere goes unnoticed (the pixels used are all intact).
//
// Thread safety: a JpegDecoder is not thread-safe; use one per thread. It keeps
// libjpeg's decompressor and its row buffers between calls, so steady-state
// decoding allocates only what libjpeg allocates per image.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/records/jpeg_restarts.h"
#include "data/crop_sampler.h"

namespace tessera {

struct JpegDecodeOptions {
  bool fast_dct = false;         // JDCT_IFAST instead of JDCT_ISLOW
  bool fast_upsampling = false;  // do_fancy_upsampling = FALSE (box chroma)
  bool dct_scaling = true;       // false: always decode at 1/1
  bool partial_decode = true;    // false: decode every row and column
  bool restart_cuts = true;      // with partial_decode: cut at restart markers
  int64_t max_pixels = int64_t{1} << 28;  // width * height above this is refused
  // libjpeg's warnings ("Premature end of JPEG file", "Corrupt JPEG data: ...")
  // as errors. A few real ImageNet files carry harmless extraneous bytes that warn;
  // false accepts them (libjpeg fills what it could not decode with grey).
  bool warnings_are_errors = true;
};

struct JpegInfo {
  int height = 0;
  int width = 0;
  int components = 0;  // in the file: 1 grey, 3 YCbCr/RGB, 4 CMYK/YCCK
};

// RGB pixels that cover a crop, and where the crop lies in them.
struct DecodedRegion {
  int height = 0;
  int width = 0;
  std::vector<uint8_t> pixels;  // height x width x 3, RGB; capacity is reused
  int scale_denom = 1;          // the image was decoded at 1 / scale_denom
  bool restart_cut = false;     // only the restart intervals around the crop
  // The crop in `pixels` coordinates (pixel (0, 0) covers [0, 1) x [0, 1)):
  // fractional when the DCT scale does not divide the crop's edges.
  double crop_y = 0, crop_x = 0, crop_height = 0, crop_width = 0;
};

class JpegDecoder {
 public:
  // Chooses the crop (in the image's pixels) once the header is read.
  using CropChooser = absl::FunctionRef<absl::StatusOr<CropWindow>(const JpegInfo&)>;

  explicit JpegDecoder(JpegDecodeOptions options = {});
  ~JpegDecoder();
  JpegDecoder(const JpegDecoder&) = delete;
  JpegDecoder& operator=(const JpegDecoder&) = delete;

  // The header of `jpeg`. INVALID_ARGUMENT naming `name` if it is not a JPEG
  // libjpeg can decode (as above).
  absl::StatusOr<JpegInfo> ReadInfo(absl::string_view jpeg, absl::string_view name);

  // Decodes the window choose_crop(info) returns, at the DCT scale above for an
  // output of out_height x out_width, into `region` (borrowed; its buffer is
  // reused). Errors: INVALID_ARGUMENT naming `name` for bad data or a window
  // outside the image; choose_crop's own error, prefixed with `name`.
  absl::Status DecodeCrop(absl::string_view jpeg, absl::string_view name,
                          CropChooser choose_crop, int out_height, int out_width,
                          DecodedRegion* region);

  // The scale denominator (1, 2, 4 or 8) DecodeCrop uses for `crop`.
  int ChooseScaleDenom(const CropWindow& crop, int out_height, int out_width) const;

 private:
  struct Libjpeg;  // libjpeg's state, kept out of this header

  // The setjmp-guarded halves of DecodeCrop; see jpeg_decoder.cc.
  absl::Status ReadHeader(absl::string_view jpeg, absl::string_view name);
  absl::Status DecodeWindow(const CropWindow& crop, int denom, absl::string_view name,
                            DecodedRegion* region);
  absl::Status LibjpegError(absl::string_view name);

  const JpegDecodeOptions options_;
  std::unique_ptr<Libjpeg> jpeg_;
  std::vector<uint8_t> cmyk_rows_;  // CMYK scanlines before conversion
  JpegCut cut_;                     // the crop's restart intervals; buffer reused
};

}  // namespace tessera

#endif  // TESSERA_DATA_JPEG_DECODER_H_
