#include "common/records/jpeg_restarts.h"

#include <jpeglib.h>

#include <algorithm>
#include <csetjmp>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/records/jpeg_error.h"

namespace tessera {
namespace {

// libjpeg's state for one transcode; the destructor frees it whatever happened.
struct Transcoder {
  jpeg_decompress_struct src;
  jpeg_compress_struct dst;
  JpegErrorManager err;  // shared by both: one jump target
  bool src_created = false;
  bool dst_created = false;
  unsigned char* out = nullptr;  // jpeg_mem_dest's buffer (malloc)
  unsigned long out_size = 0;

  ~Transcoder() {
    if (dst_created) jpeg_destroy_compress(&dst);
    if (src_created) jpeg_destroy_decompress(&src);
    std::free(out);
  }
};

// The restart interval, in MCUs, for an image `width` pixels wide whose MCUs are
// `mcu_width` pixels wide: the largest divisor of the row's MCUs spanning at most
// kRestartIntervalPixels, at least 1.
unsigned int RestartInterval(JDIMENSION width, int mcu_width) {
  const unsigned int mcus = (width + mcu_width - 1) / mcu_width;
  unsigned int best = 1;
  for (unsigned int r = 1; r <= mcus && r * mcu_width <= kRestartIntervalPixels; ++r) {
    if (mcus % r == 0) best = r;
  }
  return best;
}

// The transcode itself. Calls setjmp: no local here has a destructor, and a
// libjpeg error returns false with t->err.message set.
bool Transcode(Transcoder* t, absl::string_view jpeg) {
  if (setjmp(t->err.jump)) return false;
  jpeg_create_decompress(&t->src);
  t->src_created = true;
  jpeg_create_compress(&t->dst);
  t->dst_created = true;
  jpeg_mem_src(&t->src, reinterpret_cast<const unsigned char*>(jpeg.data()),
               static_cast<unsigned long>(jpeg.size()));
  jpeg_save_markers(&t->src, JPEG_COM, 0xffff);
  for (int m = 1; m < 16; ++m) jpeg_save_markers(&t->src, JPEG_APP0 + m, 0xffff);
  jpeg_read_header(&t->src, TRUE);
  jvirt_barray_ptr* coefficients = jpeg_read_coefficients(&t->src);
  jpeg_copy_critical_parameters(&t->src, &t->dst);
  t->dst.optimize_coding = TRUE;
  // jpeg_write_coefficients writes one scan: interleaved MCUs of max_h x max_v
  // blocks for several components, single blocks for one.
  int mcu_width = 8;
  if (t->dst.num_components > 1) {
    int max_h = 1;
    for (int c = 0; c < t->dst.num_components; ++c) {
      max_h = std::max(max_h, t->dst.comp_info[c].h_samp_factor);
    }
    mcu_width = 8 * max_h;
  }
  t->dst.restart_interval = RestartInterval(t->dst.image_width, mcu_width);
  jpeg_mem_dest(&t->dst, &t->out, &t->out_size);
  jpeg_write_coefficients(&t->dst, coefficients);
  for (jpeg_saved_marker_ptr m = t->src.marker_list; m != nullptr; m = m->next) {
    // libjpeg writes its own Adobe marker when the colour space needs one.
    if (m->marker == JPEG_APP0 + 14 && t->dst.write_Adobe_marker && m->data_length >= 5 &&
        std::memcmp(m->data, "Adobe", 5) == 0) {
      continue;
    }
    jpeg_write_marker(&t->dst, m->marker, m->data, m->data_length);
  }
  jpeg_finish_compress(&t->dst);
  jpeg_finish_decompress(&t->src);
  return true;
}

uint8_t Byte(absl::string_view s, size_t i) { return static_cast<uint8_t>(s[i]); }
int Big16(absl::string_view s, size_t i) { return Byte(s, i) << 8 | Byte(s, i + 1); }

// What the marker segments before the first scan say, for cutting.
struct Layout {
  size_t sof_dims = 0;    // offset of the frame header's height (the width follows)
  size_t scan_start = 0;  // first byte of the entropy-coded data
  int64_t height = 0;
  int64_t width = 0;
  int mcu_height = 8;
  int mcu_width = 8;
  int64_t restart_interval = 0;  // in MCUs
};

// Reads the segments up to the first SOS; false unless the file is a
// sequential Huffman-coded JPEG whose first scan holds all components.
bool ReadLayout(absl::string_view j, Layout* out) {
  if (j.size() < 4 || Byte(j, 0) != 0xff || Byte(j, 1) != 0xd8) return false;
  size_t p = 2;
  int components = 0;
  int max_h = 1, max_v = 1;
  while (true) {
    if (p >= j.size() || Byte(j, p) != 0xff) return false;
    while (p < j.size() && Byte(j, p) == 0xff) ++p;  // fill bytes
    if (p + 3 > j.size()) return false;
    const uint8_t marker = Byte(j, p);
    const size_t length = static_cast<size_t>(Big16(j, p + 1));
    const size_t body = p + 3;
    if ((marker >= 0xd0 && marker <= 0xd9) || marker == 0x01 || marker == 0x00 || length < 2 ||
        p + 1 + length > j.size()) {
      return false;  // no stand-alone marker belongs here
    }
    const size_t end = p + 1 + length;
    if (marker == 0xc0 || marker == 0xc1) {  // baseline / extended sequential, Huffman
      if (components != 0 || length < 8 || Byte(j, body) != 8) return false;
      components = Byte(j, body + 5);
      if (components < 1 || components > 4 || length != 8 + 3 * static_cast<size_t>(components)) {
        return false;
      }
      out->sof_dims = body + 1;
      out->height = Big16(j, body + 1);
      out->width = Big16(j, body + 3);
      for (int c = 0; c < components; ++c) {
        const int h = Byte(j, body + 7 + 3 * c) >> 4;
        const int v = Byte(j, body + 7 + 3 * c) & 15;
        if (h < 1 || h > 4 || v < 1 || v > 4) return false;
        max_h = std::max(max_h, h);
        max_v = std::max(max_v, v);
      }
    } else if (marker >= 0xc2 && marker <= 0xcf && marker != 0xc4 && marker != 0xc8 &&
               marker != 0xcc) {
      return false;               // progressive, lossless, hierarchical or arithmetic
    } else if (marker == 0xdd) {  // DRI
      if (length != 4) return false;
      out->restart_interval = Big16(j, body);
    } else if (marker == 0xda) {  // SOS
      if (components == 0 || Byte(j, body) != components) return false;
      out->scan_start = end;
      break;
    }
    p = end;
  }
  if (out->height <= 0 || out->width <= 0 || out->restart_interval <= 0) return false;
  if (components > 1) {
    out->mcu_height = 8 * max_v;
    out->mcu_width = 8 * max_h;
  }
  return true;
}

}  // namespace

absl::StatusOr<std::string> AddRestartMarkers(absl::string_view jpeg, absl::string_view name) {
  Transcoder t;
  t.src.err = InstallJpegErrorManager(&t.err, /*warnings_are_errors=*/true);
  t.dst.err = &t.err.pub;
  if (!Transcode(&t, jpeg)) {
    return absl::DataLossError(
        absl::StrCat(name, ": corrupt JPEG (rewriting with restart markers): ", t.err.message));
  }
  return std::string(reinterpret_cast<const char*>(t.out), t.out_size);
}

bool CutToWindow(absl::string_view jpeg, const PixelWindow& window, JpegCut* cut) {
  Layout layout;
  if (!ReadLayout(jpeg, &layout)) return false;
  if (window.y < 0 || window.x < 0 || window.height <= 0 || window.width <= 0 ||
      window.y + window.height > layout.height || window.x + window.width > layout.width) {
    return false;
  }
  const int64_t mcus_per_row = (layout.width + layout.mcu_width - 1) / layout.mcu_width;
  const int64_t mcu_rows = (layout.height + layout.mcu_height - 1) / layout.mcu_height;
  const int64_t r = layout.restart_interval;
  if (mcus_per_row % r != 0) return false;
  const int64_t per_row = mcus_per_row / r;
  const int64_t interval_width = r * layout.mcu_width;
  const int64_t row0 = window.y / layout.mcu_height;
  const int64_t row1 = (window.y + window.height + layout.mcu_height - 1) / layout.mcu_height;
  const int64_t col0 = window.x / interval_width;
  const int64_t col1 = (window.x + window.width + interval_width - 1) / interval_width;
  if ((row1 - row0) * (col1 - col0) == mcu_rows * per_row) return false;

  // Where each interval's bytes start and end (before its marker and fill bytes).
  // A 0xff in entropy-coded data is always followed by a stuffed 0x00, so any
  // other byte after it starts a marker: RSTn between intervals, EOI at the end.
  const int64_t intervals = mcu_rows * per_row;
  // Each interval but the last ends with a 2-byte marker: a header claiming
  // more intervals than the data could hold is not cut (and nothing is
  // reserved for it).
  if (intervals - 1 > static_cast<int64_t>((jpeg.size() - layout.scan_start) / 2)) return false;
  const int64_t last_needed = (row1 - 1) * per_row + col1 - 1;
  std::vector<size_t>& starts = cut->starts;
  std::vector<size_t>& ends = cut->ends;
  starts.clear();
  ends.clear();
  starts.push_back(layout.scan_start);
  size_t p = layout.scan_start;
  while (static_cast<int64_t>(ends.size()) <= last_needed) {
    const void* ff =
        p < jpeg.size() ? std::memchr(jpeg.data() + p, 0xff, jpeg.size() - p) : nullptr;
    if (ff == nullptr) return false;  // truncated: no marker ends this interval
    const size_t marker_start = static_cast<const char*>(ff) - jpeg.data();
    size_t q = marker_start + 1;
    if (q < jpeg.size() && Byte(jpeg, q) == 0x00) {
      p = q + 1;
      continue;
    }
    while (q < jpeg.size() && Byte(jpeg, q) == 0xff) ++q;
    if (q >= jpeg.size()) return false;
    const uint8_t marker = Byte(jpeg, q);
    const int64_t k = static_cast<int64_t>(ends.size());
    ends.push_back(marker_start);
    if (marker >= 0xd0 && marker <= 0xd7) {
      if (marker - 0xd0 != k % 8 || k + 1 >= intervals) return false;
      starts.push_back(q + 1);
      p = q + 1;
    } else if (k + 1 != intervals) {
      return false;  // the scan ends (EOI or another marker) too early
    }
  }

  cut->part.y = row0 * layout.mcu_height;
  cut->part.x = col0 * interval_width;
  cut->part.height = std::min(row1 * layout.mcu_height, layout.height) - cut->part.y;
  cut->part.width = std::min(col1 * interval_width, layout.width) - cut->part.x;
  std::string& out = cut->jpeg;
  out.assign(jpeg.data(), layout.scan_start);
  out[layout.sof_dims] = static_cast<char>(cut->part.height >> 8);
  out[layout.sof_dims + 1] = static_cast<char>(cut->part.height & 0xff);
  out[layout.sof_dims + 2] = static_cast<char>(cut->part.width >> 8);
  out[layout.sof_dims + 3] = static_cast<char>(cut->part.width & 0xff);
  int64_t written = 0;
  for (int64_t row = row0; row < row1; ++row) {
    for (int64_t col = col0; col < col1; ++col) {
      const size_t k = static_cast<size_t>(row * per_row + col);
      if (written > 0) {
        out.push_back(static_cast<char>(0xff));
        out.push_back(static_cast<char>(0xd0 + (written - 1) % 8));
      }
      out.append(jpeg.data() + starts[k], ends[k] - starts[k]);
      ++written;
    }
  }
  out.push_back(static_cast<char>(0xff));
  out.push_back(static_cast<char>(0xd9));
  return true;
}

}  // namespace tessera
