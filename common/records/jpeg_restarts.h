#ifndef TESSERA_COMMON_RECORDS_JPEG_RESTARTS_H_
#define TESSERA_COMMON_RECORDS_JPEG_RESTARTS_H_

// JPEGs with restart markers at fixed places, so that a reader decodes a window
// of the image without entropy-decoding the rest of it.
//
// A baseline JPEG is one Huffman-coded bit stream: to reach any block, a decoder
// must decode every block before it, and that entropy decoding is most of what a
// decode costs (about 60% of a 500x375 quality-90 photo with libjpeg-turbo). A
// restart marker (RSTn) ends an interval of MCUs; after it the decoder starts
// afresh (the DC predictions reset), so each interval can be decoded on its own.
//
// AddRestartMarkers (tessera_records) rewrites a JPEG losslessly with a restart
// interval that divides the MCU row: the same DCT coefficients, quantization
// tables, sampling and colour space, so every decoder gives the same pixels;
// only the Huffman coding is new (optimized tables, sequential, one scan).
//
// CutToWindow (the training reader) copies out of such a JPEG the intervals that
// cover a window, a complete JPEG of its own whose header says the cut's size:
// decoding it costs about the window's share of the file, not everything above
// and beside it. A JPEG without such intervals (TensorFlow's shards, progressive
// or arithmetic-coded files) is simply not cut.

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace tessera {

// About this many pixels of the image's width per restart interval: the
// reader's column granularity. Each interval costs the file 2-3 bytes.
inline constexpr int kRestartIntervalPixels = 64;

// `jpeg` rewritten as described above, with a restart interval of the largest
// divisor of the MCUs in a row that spans at most kRestartIntervalPixels (at
// least one MCU). APPn (except the JFIF and Adobe markers libjpeg writes itself)
// and COM markers are kept. Reading every coefficient with libjpeg's warnings as
// errors checks the file as strictly as a full decode does (the rest of a decode,
// IDCT and colour conversion, cannot fail): DATA_LOSS "<name>: corrupt JPEG ..."
// for corrupt or truncated data. Refuse huge images before calling this (it
// holds all the coefficients: about 3 bytes per pixel for 4:2:0).
absl::StatusOr<std::string> AddRestartMarkers(absl::string_view jpeg, absl::string_view name);

// A window of an image in its pixels: rows [y, y + height), columns [x, x + width).
struct PixelWindow {
  int64_t y = 0;
  int64_t x = 0;
  int64_t height = 0;
  int64_t width = 0;
};

// What CutToWindow made: a JPEG of the part of the image at (y, x) of
// height x width pixels, which covers the window asked for.
struct JpegCut {
  std::string jpeg;
  PixelWindow part;
  // CutToWindow's scratch (where each interval's bytes start and end), kept
  // so that a decoder calling it for every image allocates nothing.
  std::vector<size_t> starts, ends;
};

// When `jpeg` is a sequential Huffman-coded JPEG with one scan of all its
// components and a restart interval that divides its MCU rows, writes into
// `cut` (its buffer is reused) the intervals that cover `window` (rounded out
// to whole MCU rows and intervals) and returns true. Returns false, leaving
// `cut` unspecified, when the file is not laid out that way, when its restart
// markers are missing or out of order, when the window is outside the image or
// when the cut would be the whole image: the caller then decodes `jpeg` itself,
// and libjpeg reports any damage. Never reads outside `jpeg`; bytes inside the
// intervals are copied, not checked (the decoder checks them).
bool CutToWindow(absl::string_view jpeg, const PixelWindow& window, JpegCut* cut);

}  // namespace tessera

#endif  // TESSERA_COMMON_RECORDS_JPEG_RESTARTS_H_
