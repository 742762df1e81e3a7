#include "nn/conv_reference.h"

#include <algorithm>

namespace tessera {

std::vector<double> NaiveConv(const Tensor& x, const Tensor& w, const Tensor& b,
                              int64_t stride, bool same, int64_t* oh, int64_t* ow) {
  const int64_t n = x.dim(0), h = x.dim(1), wd = x.dim(2), cin = x.dim(3);
  const int64_t k = w.dim(0), cout = w.dim(3);
  int64_t pad_y = 0, pad_x = 0;
  if (same) {
    *oh = (h + stride - 1) / stride;
    *ow = (wd + stride - 1) / stride;
    pad_y = std::max<int64_t>((*oh - 1) * stride + k - h, 0) / 2;
    pad_x = std::max<int64_t>((*ow - 1) * stride + k - wd, 0) / 2;
  } else {
    *oh = (h - k) / stride + 1;
    *ow = (wd - k) / stride + 1;
  }
  std::vector<double> y(n * *oh * *ow * cout);
  for (int64_t b0 = 0; b0 < n; ++b0)
    for (int64_t oy = 0; oy < *oh; ++oy)
      for (int64_t ox = 0; ox < *ow; ++ox)
        for (int64_t co = 0; co < cout; ++co) {
          double s = b[co];
          for (int64_t ky = 0; ky < k; ++ky)
            for (int64_t kx = 0; kx < k; ++kx)
              for (int64_t ci = 0; ci < cin; ++ci) {
                const int64_t iy = oy * stride - pad_y + ky, ix = ox * stride - pad_x + kx;
                if (iy < 0 || iy >= h || ix < 0 || ix >= wd) continue;
                s += double{x[((b0 * h + iy) * wd + ix) * cin + ci]} *
                     w[((ky * k + kx) * cin + ci) * cout + co];
              }
          y[((b0 * *oh + oy) * *ow + ox) * cout + co] = s;
        }
  return y;
}

void NaiveConvBackward(const Tensor& x, const Tensor& w, const Tensor& dy,
                       std::vector<double>* dx, std::vector<double>* dw,
                       std::vector<double>* db) {
  const int64_t n = x.dim(0), h = x.dim(1), wd = x.dim(2), cin = x.dim(3);
  const int64_t k = w.dim(0), cout = w.dim(3), pad = (k - 1) / 2;
  dx->assign(x.size(), 0.0);
  dw->assign(w.size(), 0.0);
  db->assign(cout, 0.0);
  for (int64_t b0 = 0; b0 < n; ++b0)
    for (int64_t oy = 0; oy < h; ++oy)
      for (int64_t ox = 0; ox < wd; ++ox)
        for (int64_t co = 0; co < cout; ++co) {
          const double g = dy[((b0 * h + oy) * wd + ox) * cout + co];
          (*db)[co] += g;
          for (int64_t ky = 0; ky < k; ++ky)
            for (int64_t kx = 0; kx < k; ++kx)
              for (int64_t ci = 0; ci < cin; ++ci) {
                const int64_t iy = oy - pad + ky, ix = ox - pad + kx;
                if (iy < 0 || iy >= h || ix < 0 || ix >= wd) continue;
                const int64_t xi = ((b0 * h + iy) * wd + ix) * cin + ci;
                const int64_t wi = ((ky * k + kx) * cin + ci) * cout + co;
                (*dx)[xi] += g * w[wi];
                (*dw)[wi] += g * x[xi];
              }
        }
}

}  // namespace tessera
