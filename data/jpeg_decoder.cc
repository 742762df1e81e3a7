#include "data/jpeg_decoder.h"

#include <algorithm>
#include <cmath>
#include <csetjmp>
#include <cstdio>

#include <jpeglib.h>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "common/records/jpeg_error.h"

// Every function here that calls setjmp keeps no local with a destructor alive
// across libjpeg calls, and changes no local after setjmp that it reads after the
// jump: a libjpeg error longjmps back into it and destroys nothing.

namespace tessera {

struct JpegDecoder::Libjpeg {
  jpeg_decompress_struct cinfo;
  JpegErrorManager err;
  bool created = false;  // jpeg_create_decompress has succeeded
};

namespace {

// Up to this many scanlines per jpeg_read_scanlines call (libjpeg returns at most
// rec_outbuf_height, 1 or 2, at a time).
constexpr int kRowsPerRead = 4;

void CmykToRgb(const uint8_t* cmyk, int pixels, uint8_t* rgb) {
  for (int i = 0; i < pixels; ++i) {
    const int k = cmyk[4 * i + 3];
    for (int c = 0; c < 3; ++c) {
      rgb[3 * i + c] = static_cast<uint8_t>((cmyk[4 * i + c] * k + 127) / 255);
    }
  }
}

}  // namespace

JpegDecoder::JpegDecoder(JpegDecodeOptions options)
    : options_(options), jpeg_(std::make_unique<Libjpeg>()) {
  jpeg_->cinfo.err =
      InstallJpegErrorManager(&jpeg_->err, options_.warnings_are_errors);
}

JpegDecoder::~JpegDecoder() {
  if (jpeg_->created) jpeg_destroy_decompress(&jpeg_->cinfo);
}

absl::Status JpegDecoder::LibjpegError(absl::string_view name) {
  if (jpeg_->created) jpeg_abort_decompress(&jpeg_->cinfo);
  return absl::InvalidArgumentError(
      absl::StrCat("JPEG ", name, ": ", jpeg_->err.message));
}

absl::Status JpegDecoder::ReadHeader(absl::string_view jpeg, absl::string_view name) {
  Libjpeg& j = *jpeg_;
  if (setjmp(j.err.jump)) return LibjpegError(name);
  if (!j.created) {
    jpeg_create_decompress(&j.cinfo);
    j.created = true;
  }
  jpeg_mem_src(&j.cinfo, reinterpret_cast<const unsigned char*>(jpeg.data()),
               static_cast<unsigned long>(jpeg.size()));
  jpeg_read_header(&j.cinfo, TRUE);
  const int64_t pixels =
      static_cast<int64_t>(j.cinfo.image_width) * j.cinfo.image_height;
  if (pixels > options_.max_pixels) {
    jpeg_abort_decompress(&j.cinfo);
    return absl::InvalidArgumentError(absl::StrCat(
        "JPEG ", name, ": ", j.cinfo.image_width, "x", j.cinfo.image_height,
        " pixels is over the limit of ", options_.max_pixels));
  }
  return absl::OkStatus();
}

absl::StatusOr<JpegInfo> JpegDecoder::ReadInfo(absl::string_view jpeg,
                                               absl::string_view name) {
  RETURN_IF_ERROR(ReadHeader(jpeg, name));
  const jpeg_decompress_struct& c = jpeg_->cinfo;
  JpegInfo info{static_cast<int>(c.image_height), static_cast<int>(c.image_width),
                c.num_components};
  jpeg_abort_decompress(&jpeg_->cinfo);
  return info;
}

int JpegDecoder::ChooseScaleDenom(const CropWindow& crop, int out_height,
                                  int out_width) const {
  if (!options_.dct_scaling) return 1;
  for (int denom : {8, 4, 2}) {
    if (crop.width >= static_cast<int64_t>(out_width) * denom &&
        crop.height >= static_cast<int64_t>(out_height) * denom) {
      return denom;
    }
  }
  return 1;
}

absl::Status JpegDecoder::DecodeCrop(absl::string_view jpeg, absl::string_view name,
                                     CropChooser choose_crop, int out_height,
                                     int out_width, DecodedRegion* region) {
  if (out_height <= 0 || out_width <= 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "JPEG ", name, ": output size must be positive, got ", out_height, "x",
        out_width));
  }
  RETURN_IF_ERROR(ReadHeader(jpeg, name));
  const jpeg_decompress_struct& c = jpeg_->cinfo;
  const JpegInfo info{static_cast<int>(c.image_height),
                      static_cast<int>(c.image_width), c.num_components};
  absl::StatusOr<CropWindow> crop = choose_crop(info);
  if (!crop.ok()) {
    jpeg_abort_decompress(&jpeg_->cinfo);
    return Annotate(crop.status(), absl::StrCat("JPEG ", name));
  }
  if (crop->x < 0 || crop->y < 0 || crop->width <= 0 || crop->height <= 0 ||
      crop->x + crop->width > info.width || crop->y + crop->height > info.height) {
    jpeg_abort_decompress(&jpeg_->cinfo);
    return absl::InvalidArgumentError(absl::StrCat(
        "JPEG ", name, ": crop ", crop->height, "x", crop->width, " at (", crop->y,
        ", ", crop->x, ") is outside the ", info.height, "x", info.width, " image"));
  }
  const int denom = ChooseScaleDenom(*crop, out_height, out_width);
  if (options_.partial_decode && options_.restart_cuts) {
    // The cut gives the very pixels of the partial decode without it: libjpeg's
    // own crop (jpeg_crop_scanline, jpeg_skip_scanlines) already starts afresh at
    // the crop's first row and column, but reads the decoded row below the crop
    // for fancy upsampling, so the cut holds one more (denom of the image's).
    const PixelWindow window{
        crop->y, crop->x,
        std::min<int64_t>(info.height, int64_t{crop->y} + crop->height + denom) - crop->y,
        crop->width};
    if (CutToWindow(jpeg, window, &cut_)) {
      jpeg_abort_decompress(&jpeg_->cinfo);
      RETURN_IF_ERROR(ReadHeader(cut_.jpeg, name));
      CropWindow local = *crop;
      local.y -= static_cast<int>(cut_.part.y);
      local.x -= static_cast<int>(cut_.part.x);
      region->restart_cut = true;
      return DecodeWindow(local, denom, name, region);
    }
  }
  region->restart_cut = false;
  return DecodeWindow(*crop, denom, name, region);
}

absl::Status JpegDecoder::DecodeWindow(const CropWindow& crop, int denom,
                                       absl::string_view name,
                                       DecodedRegion* region) {
  jpeg_decompress_struct& c = jpeg_->cinfo;
  switch (c.jpeg_color_space) {
    case JCS_GRAYSCALE:
    case JCS_YCbCr:
    case JCS_RGB:
      c.out_color_space = JCS_RGB;
      break;
    case JCS_CMYK:
    case JCS_YCCK:
      c.out_color_space = JCS_CMYK;
      break;
    default:
      jpeg_abort_decompress(&c);
      return absl::InvalidArgumentError(
          absl::StrCat("JPEG ", name, ": unsupported colour space ",
                       static_cast<int>(c.jpeg_color_space), " with ",
                       c.num_components, " components"));
  }
  c.scale_num = 1;
  c.scale_denom = denom;
  c.dct_method = options_.fast_dct ? JDCT_IFAST : JDCT_ISLOW;
  c.do_fancy_upsampling = options_.fast_upsampling ? FALSE : TRUE;
  // The crop in decoded (scaled) pixels, and the whole pixels that cover it.
  const double fy0 = static_cast<double>(crop.y) / denom;
  const double fx0 = static_cast<double>(crop.x) / denom;
  const double fy1 = static_cast<double>(crop.y + crop.height) / denom;
  const double fx1 = static_cast<double>(crop.x + crop.width) / denom;

  if (setjmp(jpeg_->err.jump)) return LibjpegError(name);
  jpeg_start_decompress(&c);
  JDIMENSION x_offset = 0, width = c.output_width;
  JDIMENSION first_row = 0, end_row = c.output_height;
  if (options_.partial_decode) {
    x_offset = static_cast<JDIMENSION>(std::floor(fx0));
    width = std::min(static_cast<JDIMENSION>(std::ceil(fx1)), c.output_width) -
            x_offset;
    if (width < c.output_width) jpeg_crop_scanline(&c, &x_offset, &width);
    first_row = static_cast<JDIMENSION>(std::floor(fy0));
    end_row = std::min(static_cast<JDIMENSION>(std::ceil(fy1)), c.output_height);
    if (first_row > 0 && jpeg_skip_scanlines(&c, first_row) != first_row) {
      jpeg_abort_decompress(&c);  // never expected: the crop is inside the image
      return absl::InternalError(absl::StrCat(
          "JPEG ", name, ": libjpeg did not skip to row ", first_row));
    }
  }
  region->height = static_cast<int>(end_row - first_row);
  region->width = static_cast<int>(c.output_width);
  region->pixels.resize(static_cast<size_t>(region->height) * region->width * 3);
  const bool cmyk = c.out_color_space == JCS_CMYK;
  const size_t stride = static_cast<size_t>(region->width) * (cmyk ? 4 : 3);
  if (cmyk) cmyk_rows_.resize(stride * kRowsPerRead);
  JSAMPROW rows[kRowsPerRead];
  while (c.output_scanline < end_row) {
    const JDIMENSION row = c.output_scanline - first_row;
    const int want = static_cast<int>(
        std::min<JDIMENSION>(kRowsPerRead, end_row - c.output_scanline));
    for (int k = 0; k < want; ++k) {
      rows[k] = cmyk ? cmyk_rows_.data() + k * stride
                     : region->pixels.data() + (row + k) * stride;
    }
    const JDIMENSION got = jpeg_read_scanlines(&c, rows, want);
    if (got == 0) {  // cannot happen with an in-memory source; never loop on it
      jpeg_abort_decompress(&c);
      return absl::InternalError(
          absl::StrCat("JPEG ", name, ": libjpeg returned no scanline"));
    }
    if (cmyk) {
      for (JDIMENSION k = 0; k < got; ++k) {
        CmykToRgb(rows[k], region->width,
                  region->pixels.data() + (row + k) * region->width * 3);
      }
    }
  }
  if (c.output_scanline == c.output_height) {
    jpeg_finish_decompress(&c);
  } else {
    jpeg_abort_decompress(&c);
  }
  region->scale_denom = denom;
  region->crop_y = fy0 - first_row;
  region->crop_x = fx0 - x_offset;
  region->crop_height = fy1 - fy0;
  region->crop_width = fx1 - fx0;
  return absl::OkStatus();
}

}  // namespace tessera
