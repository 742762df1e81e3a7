// The JPEG decoder (data/jpeg_decoder.h: libjpeg-turbo with DCT scaling,
// partial decode and cuts at restart markers (common/records/jpeg_restarts.h),
// the CMYK conversion): any bytes, any decode options and any crop give the
// header and a region that covers the crop, or an error naming the image;
// libjpeg never ends the process. A JPEG whose header reads is also rewritten
// with restart markers as tessera_records does (AddRestartMarkers): a file of
// the same size, or DATA_LOSS.
//
// Input: an options byte (bits 0-4: fast DCT, fast upsampling, DCT scaling,
// partial decode, warnings as errors; bit 5: the crop is taken as given, so
// it may lie outside the image; bit 6: no restart cuts), the crop (4 x 2
// bytes: y, x, height, width, as fractions of the image unless bit 5), the
// output size (2 bytes, 1-64 each), then the JPEG bytes.

#include <cstdint>

#include "absl/strings/str_cat.h"
#include "common/records/jpeg_restarts.h"
#include "data/jpeg_decoder.h"
#include "fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace tessera;
  fuzz::FuzzInput input(data, size);
  const uint8_t flags = input.Byte();
  JpegDecodeOptions options;
  options.fast_dct = flags & 1;
  options.fast_upsampling = flags & 2;
  options.dct_scaling = flags & 4;
  options.partial_decode = flags & 8;
  options.warnings_are_errors = flags & 16;
  options.restart_cuts = !(flags & 64);
  options.max_pixels = fuzz::kMaxPixels;
  const bool raw_crop = flags & 32;
  const uint16_t crop_bytes[4] = {input.U16(), input.U16(), input.U16(), input.U16()};
  const int out_height = input.Small(1, 64), out_width = input.Small(1, 64);
  const absl::string_view jpeg = input.Rest();

  JpegDecoder decoder(options);
  absl::StatusOr<JpegInfo> info = decoder.ReadInfo(jpeg, "fuzz.jpg");
  if (info.ok()) {
    FUZZ_CHECK(info->height > 0 && info->width > 0 &&
                   static_cast<int64_t>(info->height) * info->width <= fuzz::kMaxPixels,
               absl::StrCat(info->height, "x", info->width));
    // tessera_records' rewrite (ToShardImage checks the size first, as here):
    // the same size, and a file the decoder reads.
    absl::StatusOr<std::string> marked = AddRestartMarkers(jpeg, "fuzz.jpg");
    if (marked.ok()) {
      absl::StatusOr<JpegInfo> again = decoder.ReadInfo(*marked, "marked.jpg");
      FUZZ_CHECK(
          again.ok() && again->height == info->height && again->width == info->width,
          again.ok() ? absl::StrCat(again->height, "x", again->width) : again.status().ToString());
    } else {
      FUZZ_CHECK(marked.status().code() == absl::StatusCode::kDataLoss, marked.status().ToString());
    }
  }
  CropWindow crop;
  DecodedRegion region;
  absl::Status status = decoder.DecodeCrop(
      jpeg, "fuzz.jpg",
      [&](const JpegInfo& header) -> absl::StatusOr<CropWindow> {
        if (raw_crop) {
          crop = {static_cast<int16_t>(crop_bytes[0]), static_cast<int16_t>(crop_bytes[1]),
                  static_cast<int16_t>(crop_bytes[2]), static_cast<int16_t>(crop_bytes[3])};
        } else {  // a window inside the image
          crop.y = static_cast<int>(int64_t{header.height} * crop_bytes[0] / 65536);
          crop.x = static_cast<int>(int64_t{header.width} * crop_bytes[1] / 65536);
          crop.height = 1 + static_cast<int>(int64_t{header.height - crop.y - 1} * crop_bytes[2] / 65535);
          crop.width = 1 + static_cast<int>(int64_t{header.width - crop.x - 1} * crop_bytes[3] / 65535);
        }
        return crop;
      },
      out_height, out_width, &region);
  if (!status.ok()) {
    FUZZ_CHECK(status.code() == absl::StatusCode::kInvalidArgument, status.ToString());
    return 0;
  }
  FUZZ_CHECK(info.ok(), "DecodeCrop decoded what ReadInfo refused");
  const int denom = region.scale_denom;
  FUZZ_CHECK(denom == 1 || denom == 2 || denom == 4 || denom == 8, absl::StrCat(denom));
  FUZZ_CHECK(region.pixels.size() == static_cast<size_t>(region.height) * region.width * 3,
             "pixel buffer size");
  const double eps = 1e-9;
  FUZZ_CHECK(region.crop_y >= -eps && region.crop_x >= -eps &&
                 region.crop_y + region.crop_height <= region.height + eps &&
                 region.crop_x + region.crop_width <= region.width + eps,
             absl::StrCat("crop ", region.crop_height, "x", region.crop_width, " at (",
                          region.crop_y, ", ", region.crop_x, ") outside the decoded ",
                          region.height, "x", region.width));
  return 0;
}
