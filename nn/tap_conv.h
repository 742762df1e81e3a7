#ifndef TESSERA_NN_TAP_CONV_H_
#define TESSERA_NN_TAP_CONV_H_

// Convolution of NHWC images with a [K, K, Cin, Cout] kernel as one matrix
// product per (output position, kernel tap) pair whose input pixel lies inside
// the image: y[:, p, :] += x[:, q, :] W[tap], the batch's rows of one position
// at a time (strided views of the NHWC tensors, no im2col, no transforms).
// It does only the multiplies of taps inside the image, and each product has
// the whole batch as its rows, so it suits small output maps: ResNet's 2x2
// layers at 64x64 input, where a 3x3 SAME kernel has 16 pairs against
// im2col's 36 rows of taps and the same 16 products as Winograd F(2x2, 3x3)
// without its transforms (whose weight transform alone writes 16 Cin x Cout
// matrices a step), and its 1x1 layers at 32x32 input (one pair).
//
// Backward: dx[:, q, :] += dy[:, p, :] W[tap]^T and dW[tap] += x[:, q, :]^T
// dy[:, p, :] over the same pairs.
//
// Threads: with OpenBLAS at T > 1 threads, each phase cuts its output
// channels (Forward: Cout; dx: Cin; dW: Cout) into up to T column ranges, one
// per layer thread, each on single-threaded OpenBLAS
// (RunLayerPartsOnSerialBlas): every thread does the same pairs on its own
// columns, so the parts are even, and no two write the same float. A
// TapConv is used by one thread at a time.

#include <cstdint>
#include <vector>

namespace tessera {

class TapConv {
 public:
  // Images [h, w, cin] to [oh, ow, cout]: output pixel (oy, ox) reads input
  // pixels (oy * stride - pad_y + ky, ox * stride - pad_x + kx) for taps
  // (ky, kx) in [0, k)^2, those outside the image being zero.
  TapConv(int64_t h, int64_t w, int64_t cin, int64_t k, int64_t stride, int64_t pad_y,
          int64_t pad_x, int64_t oh, int64_t ow, int64_t cout);

  // y [n, oh, ow, cout] = conv(x [n, h, w, cin], weights [k, k, cin, cout]) +
  // bias (when non-null), overwritten.
  void Forward(const float* x, const float* weights, const float* bias, int64_t n, float* y) const;
  // From dy [n, oh, ow, cout]: dweights [k, k, cin, cout] (overwritten) and,
  // when non-null, dx [n, h, w, cin] (overwritten).
  void Backward(const float* x, const float* weights, const float* dy, int64_t n, float* dx,
                float* dweights) const;

 private:
  struct Pair {
    int64_t out;  // output position oy * ow + ox
    int64_t in;   // input position y * w + x
    int64_t tap;  // ky * k + kx
  };

  const int64_t h_, w_, cin_, k_, oh_, ow_, cout_;
  // The (output position, tap) pairs whose input pixel lies inside the image,
  // sorted by tap, then output position (so dW's sums over a tap's pairs are
  // consecutive and their order fixed).
  std::vector<Pair> pairs_;
};

}  // namespace tessera

#endif  // TESSERA_NN_TAP_CONV_H_
