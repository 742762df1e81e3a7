#include "nn/pool.h"

#include <algorithm>
#include <utility>

#include "nn/conv2d.h"

namespace tessera {

PoolLayer::PoolLayer(std::string name, PoolKind kind, const Shape& input_shape,
                     int64_t size, int64_t stride, Padding padding)
    : Layer(std::move(name), input_shape,
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

void PoolLayer::Forward(absl::Span<const Tensor* const> params, const Tensor& input,
                        const ForwardOptions& options, Tensor* output) {
  const int64_t n = BatchOf(input);
  EnsureBatchShape(n, output_shape(), output);
  const float* x = input.data();
  float* y = output->data();
  for (int64_t b = 0; b < n; ++b) {
    for (int64_t oy = 0; oy < oh_; ++oy) {
      const int64_t y_lo = std::max<int64_t>(oy * stride_ - pad_y_, 0);
      const int64_t y_hi = std::min<int64_t>(oy * stride_ - pad_y_ + size_, h_);
      for (int64_t ox = 0; ox < ow_; ++ox) {
        const int64_t x_lo = std::max<int64_t>(ox * stride_ - pad_x_, 0);
        const int64_t x_hi = std::min<int64_t>(ox * stride_ - pad_x_ + size_, w_);
        const int64_t out = ((b * oh_ + oy) * ow_ + ox) * c_;
        float* dst = y + out;
        if (kind_ == PoolKind::kMax) {
          const float* first = x + ((b * h_ + y_lo) * w_ + x_lo) * c_;
          std::copy(first, first + c_, dst);
          for (int64_t iy = y_lo; iy < y_hi; ++iy) {
            for (int64_t ix = x_lo; ix < x_hi; ++ix) {
              const float* src = x + ((b * h_ + iy) * w_ + ix) * c_;
              for (int64_t ch = 0; ch < c_; ++ch) dst[ch] = src[ch] > dst[ch] ? src[ch] : dst[ch];
            }
          }
        } else {
          std::fill(dst, dst + c_, 0.0f);
          for (int64_t iy = y_lo; iy < y_hi; ++iy) {
            for (int64_t ix = x_lo; ix < x_hi; ++ix) {
              const float* src = x + ((b * h_ + iy) * w_ + ix) * c_;
              for (int64_t ch = 0; ch < c_; ++ch) dst[ch] += src[ch];
            }
          }
          const float scale = 1.0f / static_cast<float>((y_hi - y_lo) * (x_hi - x_lo));
          for (int64_t ch = 0; ch < c_; ++ch) dst[ch] *= scale;
        }
      }
    }
  }
}

void PoolLayer::MaxBackward(const Tensor& input, const Tensor& output,
                            const Tensor& grad_output, Tensor* grad_input) {
  const int64_t n = BatchOf(input);
  const float* x = input.data();
  const float* y = output.data();
  const float* dy = grad_output.data();
  float* dx = grad_input->data();
  pending_.resize(static_cast<size_t>(c_));
  float* pending = pending_.data();
  for (int64_t b = 0; b < n; ++b) {
    for (int64_t oy = 0; oy < oh_; ++oy) {
      const int64_t y_lo = std::max<int64_t>(oy * stride_ - pad_y_, 0);
      const int64_t y_hi = std::min<int64_t>(oy * stride_ - pad_y_ + size_, h_);
      for (int64_t ox = 0; ox < ow_; ++ox) {
        const int64_t x_lo = std::max<int64_t>(ox * stride_ - pad_x_, 0);
        const int64_t x_hi = std::min<int64_t>(ox * stride_ - pad_x_ + size_, w_);
        const float* max = y + ((b * oh_ + oy) * ow_ + ox) * c_;
        std::copy(dy + (max - y), dy + (max - y) + c_, pending);
        // Scan the window in order; the first input equal to the maximum takes the
        // pending gradient (branch-free so the channel loop vectorizes).
        for (int64_t iy = y_lo; iy < y_hi; ++iy) {
          for (int64_t ix = x_lo; ix < x_hi; ++ix) {
            const int64_t in = ((b * h_ + iy) * w_ + ix) * c_;
            const float* src = x + in;
            float* dst = dx + in;
            for (int64_t ch = 0; ch < c_; ++ch) {
              const float taken = src[ch] == max[ch] ? pending[ch] : 0.0f;
              dst[ch] += taken;
              pending[ch] -= taken;
            }
          }
        }
      }
    }
  }
}

void PoolLayer::Backward(absl::Span<const Tensor* const> params, const Tensor& input,
                         const Tensor& output, const Tensor& grad_output,
                         Tensor* grad_input, absl::Span<Tensor* const> grad_params) {
  if (grad_input == nullptr) return;
  const int64_t n = BatchOf(input);
  EnsureBatchShape(n, input_shape(), grad_input);
  grad_input->Fill(0.0f);
  float* dx = grad_input->data();
  const float* dy = grad_output.data();
  if (kind_ == PoolKind::kMax) {
    MaxBackward(input, output, grad_output, grad_input);
    return;
  }
  for (int64_t b = 0; b < n; ++b) {
    for (int64_t oy = 0; oy < oh_; ++oy) {
      const int64_t y_lo = std::max<int64_t>(oy * stride_ - pad_y_, 0);
      const int64_t y_hi = std::min<int64_t>(oy * stride_ - pad_y_ + size_, h_);
      for (int64_t ox = 0; ox < ow_; ++ox) {
        const int64_t x_lo = std::max<int64_t>(ox * stride_ - pad_x_, 0);
        const int64_t x_hi = std::min<int64_t>(ox * stride_ - pad_x_ + size_, w_);
        const float scale = 1.0f / static_cast<float>((y_hi - y_lo) * (x_hi - x_lo));
        const float* src = dy + ((b * oh_ + oy) * ow_ + ox) * c_;
        for (int64_t iy = y_lo; iy < y_hi; ++iy) {
          for (int64_t ix = x_lo; ix < x_hi; ++ix) {
            float* dst = dx + ((b * h_ + iy) * w_ + ix) * c_;
            for (int64_t ch = 0; ch < c_; ++ch) dst[ch] += src[ch] * scale;
          }
        }
      }
    }
  }
}

}  // namespace tessera
