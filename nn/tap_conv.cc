#include "nn/tap_conv.h"

#include <algorithm>
#include <tuple>

#include "nn/gemm.h"
#include "nn/layer_threads.h"

namespace tessera {
namespace {

// Columns are cut into parts in blocks of this many (whole SIMD rows for the
// sgemm kernels), at least kMinBlocksPerPart blocks a part.
constexpr int64_t kColumnBlock = 16;
constexpr int64_t kMinBlocksPerPart = 4;

// Runs fn(begin, end) over column ranges cutting [0, columns) on the layer
// threads, each part on single-threaded OpenBLAS.
template <typename Fn>
void ForColumnParts(int64_t columns, Fn fn) {
  const int64_t blocks = (columns + kColumnBlock - 1) / kColumnBlock;
  const int parts = LayerParts(blocks, kMinBlocksPerPart);
  RunLayerPartsOnSerialBlas(parts, blocks, [&](int, int64_t begin, int64_t end) {
    fn(begin * kColumnBlock, std::min(end * kColumnBlock, columns));
  });
}

}  // namespace

TapConv::TapConv(int64_t h, int64_t w, int64_t cin, int64_t k, int64_t stride, int64_t pad_y,
                 int64_t pad_x, int64_t oh, int64_t ow, int64_t cout)
    : h_(h), w_(w), cin_(cin), k_(k), oh_(oh), ow_(ow), cout_(cout) {
  for (int64_t oy = 0; oy < oh; ++oy) {
    for (int64_t ox = 0; ox < ow; ++ox) {
      for (int64_t ky = 0; ky < k; ++ky) {
        const int64_t y = oy * stride - pad_y + ky;
        if (y < 0 || y >= h) continue;
        for (int64_t kx = 0; kx < k; ++kx) {
          const int64_t x = ox * stride - pad_x + kx;
          if (x >= 0 && x < w) pairs_.push_back({oy * ow + ox, y * w + x, ky * k + kx});
        }
      }
    }
  }
  std::sort(pairs_.begin(), pairs_.end(), [](const Pair& a, const Pair& b) {
    return std::tie(a.tap, a.out) < std::tie(b.tap, b.out);
  });
}

void TapConv::Forward(const float* x, const float* weights, const float* bias, int64_t n,
                      float* y) const {
  const int64_t x_image = h_ * w_ * cin_;
  const int64_t y_image = oh_ * ow_ * cout_;
  const int64_t y_rows = n * oh_ * ow_;
  LayerParallelFor(y_rows, ItemsPerPart(cout_), [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      float* row = y + r * cout_;
      if (bias != nullptr) {
        std::copy(bias, bias + cout_, row);
      } else {
        std::fill(row, row + cout_, 0.0f);
      }
    }
  });
  ForColumnParts(cout_, [&](int64_t c0, int64_t c1) {
    for (const Pair& p : pairs_) {
      Sgemm(CblasNoTrans, CblasNoTrans, n, c1 - c0, cin_, 1.0f, x + p.in * cin_, x_image,
            weights + p.tap * cin_ * cout_ + c0, cout_, 1.0f, y + p.out * cout_ + c0, y_image);
    }
  });
}

void TapConv::Backward(const float* x, const float* weights, const float* dy, int64_t n, float* dx,
                       float* dweights) const {
  const int64_t x_image = h_ * w_ * cin_;
  const int64_t y_image = oh_ * ow_ * cout_;
  const int64_t weight_count = k_ * k_ * cin_ * cout_;
  LayerParallelFor(weight_count, kMinElementsPerPart, [&](int64_t begin, int64_t end) {
    std::fill(dweights + begin, dweights + end, 0.0f);
  });
  // dW[tap][:, c0:c1] += x[:, q, :]^T dy[:, p, c0:c1].
  ForColumnParts(cout_, [&](int64_t c0, int64_t c1) {
    for (const Pair& p : pairs_) {
      Sgemm(CblasTrans, CblasNoTrans, cin_, c1 - c0, n, 1.0f, x + p.in * cin_, x_image,
            dy + p.out * cout_ + c0, y_image, 1.0f, dweights + p.tap * cin_ * cout_ + c0, cout_);
    }
  });
  if (dx == nullptr) return;
  LayerParallelFor(n * x_image, kMinElementsPerPart,
                   [&](int64_t begin, int64_t end) { std::fill(dx + begin, dx + end, 0.0f); });
  // dx[:, q, c0:c1] += dy[:, p, :] W[tap][c0:c1, :]^T.
  ForColumnParts(cin_, [&](int64_t c0, int64_t c1) {
    for (const Pair& p : pairs_) {
      Sgemm(CblasNoTrans, CblasTrans, n, c1 - c0, cout_, 1.0f, dy + p.out * cout_, y_image,
            weights + (p.tap * cin_ + c0) * cout_, cout_, 1.0f, dx + p.in * cin_ + c0, x_image);
    }
  });
}

}  // namespace tessera
