#include "nn/pool.h"

#include <algorithm>
#include <utility>

#include "common/simd_clones.h"
#include "nn/activations.h"
#include "nn/conv2d.h"
#include "nn/layer_threads.h"

namespace tessera {
namespace {

// The channel loops of a window's cells, as free functions whose pointers are
// __restrict (in the layer's lambdas GCC could not prove them apart and left
// the loops scalar) and compiled for AVX2 too (common/simd_clones.h).
//
// The max pooling ones come in two kinds: kRelu for a pool that takes the
// relu before it (PoolLayer::FuseReluBefore), reading each input as
// ReluValue(x), so that the maxima, the recorded cells and the gradients are
// those of a relu layer and then the pool, and passing a cell's gradient only
// where its relu output is > 0 (ReluGradient).
template <bool kRelu>
inline float PoolInput(float x) {
  return kRelu ? ReluValue(x) : x;
}

// dst = max(dst, src), elementwise.
template <bool kRelu>
TESSERA_SIMD_CLONES void MaxInto(const float* __restrict src, float* __restrict dst, int64_t c) {
  for (int64_t ch = 0; ch < c; ++ch) {
    const float v = PoolInput<kRelu>(src[ch]);
    dst[ch] = v > dst[ch] ? v : dst[ch];
  }
}

// A window's first cell: dst = src.
template <bool kRelu>
TESSERA_SIMD_CLONES void StartMax(const float* __restrict src, float* __restrict dst, int64_t c) {
  for (int64_t ch = 0; ch < c; ++ch) dst[ch] = PoolInput<kRelu>(src[ch]);
}

// dst += src * scale.
TESSERA_SIMD_CLONES void AddScaled(const float* __restrict src, float scale, float* __restrict dst,
                                   int64_t c) {
  for (int64_t ch = 0; ch < c; ++ch) dst[ch] += src[ch] * scale;
}

// One cell of a max window, backward: where the cell holds the window's
// maximum, the pending gradient goes to dx (stored, or added when windows
// overlap) and is no longer pending, so only the first such cell takes it
// (kRelu: and reaches dx where the cell's relu output is > 0).
// Not __restrict and two loops: GCC 12 vectorizes these loops (versioned for
// aliasing) only so; with __restrict pointers, or the choice inside the loop,
// it left them scalar with a branch per channel.
template <bool kRelu>
TESSERA_SIMD_CLONES void TakeMaxGradient(const float* src, const float* max, float* pending,
                                         float* dst, int64_t c, bool add) {
  if (add) {
    for (int64_t ch = 0; ch < c; ++ch) {
      const float v = PoolInput<kRelu>(src[ch]);
      const float taken = v == max[ch] ? pending[ch] : 0.0f;
      dst[ch] += !kRelu || v > 0.0f ? taken : 0.0f;
      pending[ch] -= taken;
    }
  } else {
    for (int64_t ch = 0; ch < c; ++ch) {
      const float v = PoolInput<kRelu>(src[ch]);
      const float taken = v == max[ch] ? pending[ch] : 0.0f;
      dst[ch] = !kRelu || v > 0.0f ? taken : 0.0f;
      pending[ch] -= taken;
    }
  }
}

// dst = max(dst, src), and where src is strictly greater, arg = k: the first
// cell holding the window's maximum keeps its number (NaN never replaces).
template <bool kRelu>
TESSERA_SIMD_CLONES void MaxIntoWithArg(const float* __restrict src, float* __restrict dst,
                                        uint8_t* __restrict arg, uint8_t k, int64_t c) {
  for (int64_t ch = 0; ch < c; ++ch) {
    const float v = PoolInput<kRelu>(src[ch]);
    const bool greater = v > dst[ch];
    dst[ch] = greater ? v : dst[ch];
    arg[ch] = greater ? k : arg[ch];
  }
}

// A window's first cell, number k: dst = src, arg = k, or no_cell where it is
// NaN (a NaN maximum passes no gradient; a relu output is never NaN).
template <bool kRelu>
TESSERA_SIMD_CLONES void StartMaxWithArg(const float* __restrict src, float* __restrict dst,
                                         uint8_t* __restrict arg, uint8_t k, uint8_t no_cell,
                                         int64_t c) {
  for (int64_t ch = 0; ch < c; ++ch) {
    const float v = PoolInput<kRelu>(src[ch]);
    dst[ch] = v;
    arg[ch] = v == v ? k : no_cell;
  }
}

// dst (=, or += when add) the gradient of the outputs whose recorded cell is
// k. kRelu: an output that chose the cell holds the cell's relu output, so
// `max` > 0 is the cell's ReluGradient mask (and adding the masked terms
// gives the masked sum: 0 for a cell whose relu output is 0).
template <bool kRelu>
TESSERA_SIMD_CLONES void GradientOfCell(const uint8_t* __restrict arg, uint8_t k,
                                        const float* __restrict dy, const float* __restrict max,
                                        float* __restrict dst, int64_t c, bool add) {
  if (add) {
    for (int64_t ch = 0; ch < c; ++ch) {
      dst[ch] += arg[ch] == k && (!kRelu || max[ch] > 0.0f) ? dy[ch] : 0.0f;
    }
  } else {
    for (int64_t ch = 0; ch < c; ++ch) {
      dst[ch] = arg[ch] == k && (!kRelu || max[ch] > 0.0f) ? dy[ch] : 0.0f;
    }
  }
}

// Cell numbers within a window are (row, column) in the unclipped size x size
// square; kNoCell marks a NaN maximum.
constexpr int64_t kMaxArgWindow = 15;  // 15 x 15 = 225 numbers, below kNoCell
constexpr uint8_t kNoCell = 255;

}  // namespace

PoolLayer::PoolLayer(std::string name, PoolKind kind, const Shape& input_shape,
                     int64_t size, int64_t stride, Padding padding)
    : SingleInputLayer(std::move(name), input_shape,
            Shape{ComputePaddedDim(input_shape[0], size, stride, padding).out,
                  ComputePaddedDim(input_shape[1], size, stride, padding).out,
                  input_shape[2]}),
      kind_(kind),
      h_(input_shape[0]),
      w_(input_shape[1]),
      c_(input_shape[2]),
      size_(size),
      stride_(stride),
      oh_(ComputePaddedDim(h_, size, stride, padding).out),
      ow_(ComputePaddedDim(w_, size, stride, padding).out),
      pad_y_(ComputePaddedDim(h_, size, stride, padding).pad_before),
      pad_x_(ComputePaddedDim(w_, size, stride, padding).pad_before) {}

template <typename Visit>
void PoolLayer::ForEachWindow(int64_t begin, int64_t end, Visit visit) const {
  for (int64_t b = begin; b < end; ++b) {
    for (int64_t oy = 0; oy < oh_; ++oy) {
      const int64_t y_lo = std::max<int64_t>(oy * stride_ - pad_y_, 0);
      const int64_t y_hi = std::min<int64_t>(oy * stride_ - pad_y_ + size_, h_);
      for (int64_t ox = 0; ox < ow_; ++ox) {
        const int64_t x_lo = std::max<int64_t>(ox * stride_ - pad_x_, 0);
        const int64_t x_hi = std::min<int64_t>(ox * stride_ - pad_x_ + size_, w_);
        visit(b, ((b * oh_ + oy) * ow_ + ox) * c_,
              Window{y_lo, y_hi, x_lo, x_hi, oy * stride_ - pad_y_, ox * stride_ - pad_x_});
      }
    }
  }
}

void PoolLayer::Forward(absl::Span<const Tensor* const> params, const Tensor& input,
                        const ForwardOptions& options, Tensor* output) {
  const int64_t n = BatchOf(input);
  EnsureBatchShape(n, output_shape(), output);
  const float* x = input.data();
  float* y = output->data();
  const bool record_arg = kind_ == PoolKind::kMax && size_ <= kMaxArgWindow;
  const auto start_max_with_arg = relu_before_ ? &StartMaxWithArg<true> : &StartMaxWithArg<false>;
  const auto max_into_with_arg = relu_before_ ? &MaxIntoWithArg<true> : &MaxIntoWithArg<false>;
  const auto start_max = relu_before_ ? &StartMax<true> : &StartMax<false>;
  const auto max_into = relu_before_ ? &MaxInto<true> : &MaxInto<false>;
  if (record_arg) {
    arg_.resize(static_cast<size_t>(output->size()));
    arg_output_ = y;
    arg_batch_ = n;
  }
  LayerParallelFor(n, ItemsPerPart(h_ * w_ * c_), [&](int64_t begin, int64_t end) {
    ForEachWindow(begin, end, [&](int64_t b, int64_t out, const Window& window) {
      float* dst = y + out;
      if (record_arg) {
        uint8_t* arg = arg_.data() + out;
        start_max_with_arg(x + InputOffset(b, window.y_lo, window.x_lo), dst, arg,
                           window.Cell(window.y_lo, window.x_lo, size_), kNoCell, c_);
        for (int64_t iy = window.y_lo; iy < window.y_hi; ++iy) {
          for (int64_t ix = iy == window.y_lo ? window.x_lo + 1 : window.x_lo; ix < window.x_hi;
               ++ix) {
            max_into_with_arg(x + InputOffset(b, iy, ix), dst, arg, window.Cell(iy, ix, size_), c_);
          }
        }
      } else if (kind_ == PoolKind::kMax) {
        start_max(x + InputOffset(b, window.y_lo, window.x_lo), dst, c_);
        for (int64_t iy = window.y_lo; iy < window.y_hi; ++iy) {
          for (int64_t ix = window.x_lo; ix < window.x_hi; ++ix) {
            max_into(x + InputOffset(b, iy, ix), dst, c_);
          }
        }
      } else {
        std::fill(dst, dst + c_, 0.0f);
        for (int64_t iy = window.y_lo; iy < window.y_hi; ++iy) {
          for (int64_t ix = window.x_lo; ix < window.x_hi; ++ix) {
            AddScaled(x + InputOffset(b, iy, ix), 1.0f, dst, c_);
          }
        }
        const float scale = 1.0f / static_cast<float>(window.count());
        for (int64_t ch = 0; ch < c_; ++ch) dst[ch] *= scale;
      }
    });
  });
}

void PoolLayer::MaxBackward(const Tensor& input, const Tensor& output,
                            const Tensor& grad_output, Tensor* grad_input) {
  const int64_t n = BatchOf(input);
  if (arg_output_ != output.data() || arg_batch_ != n) {
    MaxBackwardByScan(input, output, grad_output, grad_input);
    return;
  }
  const auto gradient_of_cell = relu_before_ ? &GradientOfCell<true> : &GradientOfCell<false>;
  const uint8_t* arg = arg_.data();
  const float* y = output.data();
  const float* dy = grad_output.data();
  float* dx = grad_input->data();
  // The outputs whose windows hold input row (or column) i: [first, last].
  auto covering = [this](int64_t i, int64_t pad, int64_t out_dim, int64_t* first, int64_t* last) {
    const int64_t lowest = i + pad - size_ + 1;  // the first window may start here
    *first = lowest <= 0 ? 0 : (lowest + stride_ - 1) / stride_;
    *last = std::min<int64_t>((i + pad) / stride_, out_dim - 1);
  };
  LayerParallelFor(n, ItemsPerPart(h_ * w_ * c_), [&](int64_t begin, int64_t end) {
    for (int64_t b = begin; b < end; ++b) {
      for (int64_t iy = 0; iy < h_; ++iy) {
        int64_t oy_first, oy_last;
        covering(iy, pad_y_, oh_, &oy_first, &oy_last);
        for (int64_t ix = 0; ix < w_; ++ix) {
          int64_t ox_first, ox_last;
          covering(ix, pad_x_, ow_, &ox_first, &ox_last);
          float* dst = dx + InputOffset(b, iy, ix);
          bool add = false;
          for (int64_t oy = oy_first; oy <= oy_last; ++oy) {
            for (int64_t ox = ox_first; ox <= ox_last; ++ox) {
              const int64_t out = ((b * oh_ + oy) * ow_ + ox) * c_;
              const uint8_t k =
                  CellNumber(iy - (oy * stride_ - pad_y_), ix - (ox * stride_ - pad_x_), size_);
              gradient_of_cell(arg + out, k, dy + out, y + out, dst, c_, add);
              add = true;
            }
          }
          if (!add) std::fill(dst, dst + c_, 0.0f);  // in no window (stride > size)
        }
      }
    }
  });
}

void PoolLayer::MaxBackwardByScan(const Tensor& input, const Tensor& output,
                                  const Tensor& grad_output, Tensor* grad_input) {
  const int64_t n = BatchOf(input);
  const float* x = input.data();
  const float* y = output.data();
  const float* dy = grad_output.data();
  float* dx = grad_input->data();
  const int parts = LayerParts(n, ItemsPerPart(h_ * w_ * c_));
  pending_.resize(static_cast<size_t>(c_ * parts));
  // Windows that tile the input (stride = size, no padding, as mnist_deep's
  // 2x2 pools) cover every input cell exactly once: each cell's gradient is
  // stored, with no zeroing pass first and no read of dx.
  const bool tiles =
      stride_ == size_ && pad_y_ == 0 && pad_x_ == 0 && oh_ * size_ == h_ && ow_ * size_ == w_;
  const auto take_max_gradient = relu_before_ ? &TakeMaxGradient<true> : &TakeMaxGradient<false>;
  RunLayerParts(parts, n, [&](int part, int64_t begin, int64_t end) {
    float* pending = pending_.data() + c_ * part;
    // Overlapping windows add into dx: one image at a time, zeroed just
    // before, so that the adds find it in the cache (a whole part's images
    // zeroed first had left it by then: ResNet's 3x3/2 stem pool spent 5 ms
    // of a 64-image step there).
    for (int64_t image = begin; image < end; ++image) {
      if (!tiles) ZeroImages(image, image + 1, dx);
      ForEachWindow(image, image + 1, [&](int64_t b, int64_t out, const Window& window) {
        const float* max = y + out;
        std::copy(dy + out, dy + out + c_, pending);
        // Scan the window in order; the first input equal to the maximum takes the
        // pending gradient (branch-free so the channel loop vectorizes).
        for (int64_t iy = window.y_lo; iy < window.y_hi; ++iy) {
          for (int64_t ix = window.x_lo; ix < window.x_hi; ++ix) {
            const int64_t in = InputOffset(b, iy, ix);
            take_max_gradient(x + in, max, pending, dx + in, c_, /*add=*/!tiles);
          }
        }
      });
    }
  });
}

bool PoolLayer::FuseReluBefore() {
  if (kind_ != PoolKind::kMax) return false;  // the mean of max(x, 0) is no max(mean, 0)
  relu_before_ = true;
  return true;
}

void PoolLayer::ZeroImages(int64_t begin, int64_t end, float* dx) const {
  const int64_t image = h_ * w_ * c_;
  std::fill(dx + begin * image, dx + end * image, 0.0f);
}

void PoolLayer::Backward(absl::Span<const Tensor* const> params, const Tensor& input,
                         const Tensor& output, const Tensor& grad_output,
                         Tensor* grad_input, absl::Span<Tensor* const> grad_params) {
  if (grad_input == nullptr) return;
  const int64_t n = BatchOf(input);
  EnsureBatchShape(n, input_shape(), grad_input);
  float* dx = grad_input->data();
  const float* dy = grad_output.data();
  if (kind_ == PoolKind::kMax) {
    MaxBackward(input, output, grad_output, grad_input);
    return;
  }
  LayerParallelFor(n, ItemsPerPart(h_ * w_ * c_), [&](int64_t begin, int64_t end) {
    ZeroImages(begin, end, dx);
    ForEachWindow(begin, end, [&](int64_t b, int64_t out, const Window& window) {
      const float scale = 1.0f / static_cast<float>(window.count());
      const float* src = dy + out;
      for (int64_t iy = window.y_lo; iy < window.y_hi; ++iy) {
        for (int64_t ix = window.x_lo; ix < window.x_hi; ++ix) {
          AddScaled(src, scale, dx + InputOffset(b, iy, ix), c_);
        }
      }
    });
  });
}

}  // namespace tessera
