#ifndef TESSERA_DATA_IMAGE_RESIZER_H_
#define TESSERA_DATA_IMAGE_RESIZER_H_

// Resamples a rectangle of an 8-bit interleaved image (RGB from JpegDecoder) to a
// fixed output size in float, optionally mirrored left-right, applying a
// per-channel affine map (normalization) as it writes.
//
// Filter: separable triangle (tent). Upscaling, it is bilinear interpolation with
// half-pixel centres (TF's resize_bilinear with half_pixel_centers=true). When
// shrinking by a factor s > 1, the tent is widened to a radius of s source pixels
// (as Pillow's BILINEAR and TF's antialiased resize do), so every source pixel
// contributes and fine detail does not alias into the output. Source pixels
// outside the rectangle's covering pixels never contribute: weights are
// renormalized at its edges, so resizing a decoded crop equals cropping first.
//
// Output layout: HWC (height, width, channel), the NHWC layout nn/conv2d.h takes.
//
// Thread safety: not thread-safe; one per thread. Tap tables and the row buffer
// are kept and reused between calls.

#include <cstdint>
#include <vector>

namespace tessera {

// A rectangle in source pixel coordinates (pixel (0, 0) covers [0, 1) x [0, 1)).
struct SourceRect {
  double y = 0, x = 0, height = 0, width = 0;
};

class ImageResizer {
 public:
  // `src` is src_height x src_width x channels bytes (borrowed for the call);
  // `rect` lies within it with positive size (callers guarantee; clamped if not);
  // `out` has room for out_height x out_width x channels floats, each written as
  // value * scale[c] + bias[c] with value in source units (0-255). With `flip`,
  // output column j holds what column out_width - 1 - j would have held.
  void Resize(const uint8_t* src, int src_height, int src_width, int channels,
              const SourceRect& rect, int out_height, int out_width, bool flip,
              const float* scale, const float* bias, float* out);

 private:
  // For each output index i, count[i] <= taps weights starting at source index
  // first[i]: weights[i * taps + k] applies to source first[i] + k.
  struct Taps {
    int taps = 0;
    std::vector<int> first;
    std::vector<int> count;
    std::vector<float> weights;
  };
  // Tap table for `out` samples over [start, start + extent) of a source axis of
  // `size` pixels.
  static void BuildTaps(double start, double extent, int size, int out, Taps* t);

  Taps x_taps_, y_taps_;
  std::vector<float> row_;  // one output row's vertical pass, src columns x channels
  std::vector<float> out_row_;  // one output row, made here before it is streamed out
};

}  // namespace tessera

#endif  // TESSERA_DATA_IMAGE_RESIZER_H_
