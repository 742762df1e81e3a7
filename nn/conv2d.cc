#include "nn/conv2d.h"

#include <cblas.h>

#include <algorithm>
#include <cstring>
#include <utility>

namespace tessera {

PaddedDim ComputePaddedDim(int64_t in, int64_t k, int64_t stride, Padding padding) {
  PaddedDim d;
  if (padding == VALID) {
    d.out = in >= k ? (in - k) / stride + 1 : 0;
    d.pad_before = 0;
  } else {
    d.out = (in + stride - 1) / stride;
    const int64_t total = std::max<int64_t>((d.out - 1) * stride + k - in, 0);
    d.pad_before = total / 2;
  }
  return d;
}

Conv2DLayer::Conv2DLayer(std::string name, const Shape& input_shape, int64_t filters,
                         int64_t kernel_size, int64_t stride, Padding padding,
                         Initializer weights_initializer, Initializer biases_initializer)
    : Layer(std::move(name), input_shape,
            Shape{ComputePaddedDim(input_shape[0], kernel_size, stride, padding).out,
                  ComputePaddedDim(input_shape[1], kernel_size, stride, padding).out,
                  filters}),
      h_(input_shape[0]),
      w_(input_shape[1]),
      cin_(input_shape[2]),
      k_(kernel_size),
      stride_(stride),
      cout_(filters),
      oh_(ComputePaddedDim(h_, k_, stride_, padding)),
      ow_(ComputePaddedDim(w_, k_, stride_, padding)),
      weights_initializer_(std::move(weights_initializer)),
      biases_initializer_(std::move(biases_initializer)) {}

std::vector<VariableSpec> Conv2DLayer::Variables() const {
  return {{name() + "/weights", {k_, k_, cin_, cout_}, weights_initializer_},
          {name() + "/biases", {cout_}, biases_initializer_}};
}

void Conv2DLayer::Im2Col(const float* input, int64_t n) {
  const int64_t patch = k_ * k_ * cin_;
  columns_.resize(static_cast<size_t>(n * oh_.out * ow_.out * patch));
  float* col = columns_.data();
  const size_t run = static_cast<size_t>(cin_) * sizeof(float);
  for (int64_t b = 0; b < n; ++b) {
    const float* image = input + b * h_ * w_ * cin_;
    for (int64_t oy = 0; oy < oh_.out; ++oy) {
      for (int64_t ox = 0; ox < ow_.out; ++ox) {
        const int64_t y0 = oy * stride_ - oh_.pad_before;
        const int64_t x0 = ox * stride_ - ow_.pad_before;
        for (int64_t ky = 0; ky < k_; ++ky) {
          const int64_t y = y0 + ky;
          if (y < 0 || y >= h_) {
            std::memset(col, 0, run * k_);
            col += k_ * cin_;
            continue;
          }
          // One kernel row covers inputs x0 .. x0 + k - 1 of image row y, which are
          // contiguous in NHWC: copy the part inside the image, zero the rest.
          const int64_t lo = std::clamp<int64_t>(-x0, 0, k_);
          const int64_t hi = std::clamp<int64_t>(w_ - x0, lo, k_);
          if (lo > 0) std::memset(col, 0, run * lo);
          if (hi > lo) {
            std::memcpy(col + lo * cin_, image + (y * w_ + x0 + lo) * cin_, run * (hi - lo));
          }
          if (hi < k_) std::memset(col + hi * cin_, 0, run * (k_ - hi));
          col += k_ * cin_;
        }
      }
    }
  }
}

void Conv2DLayer::Col2Im(int64_t n, float* grad_input) const {
  std::fill(grad_input, grad_input + n * h_ * w_ * cin_, 0.0f);
  const float* col = columns_.data();
  for (int64_t b = 0; b < n; ++b) {
    float* image = grad_input + b * h_ * w_ * cin_;
    for (int64_t oy = 0; oy < oh_.out; ++oy) {
      for (int64_t ox = 0; ox < ow_.out; ++ox) {
        const int64_t y0 = oy * stride_ - oh_.pad_before;
        const int64_t x0 = ox * stride_ - ow_.pad_before;
        for (int64_t ky = 0; ky < k_; ++ky) {
          const int64_t y = y0 + ky;
          if (y >= 0 && y < h_) {
            const int64_t lo = std::clamp<int64_t>(-x0, 0, k_);
            const int64_t hi = std::clamp<int64_t>(w_ - x0, lo, k_);
            if (hi > lo) {
              float* dst = image + (y * w_ + x0 + lo) * cin_;
              const float* src = col + lo * cin_;
              const int64_t count = (hi - lo) * cin_;
              for (int64_t i = 0; i < count; ++i) dst[i] += src[i];
            }
          }
          col += k_ * cin_;
        }
      }
    }
  }
}

void Conv2DLayer::Forward(absl::Span<const Tensor* const> params, const Tensor& input,
                          const ForwardOptions& options, Tensor* output) {
  const int64_t n = BatchOf(input);
  EnsureBatchShape(n, output_shape(), output);
  const int64_t rows = n * oh_.out * ow_.out;
  const int64_t patch = k_ * k_ * cin_;
  const float* bias = params[1]->data();
  float* y = output->data();
  for (int64_t r = 0; r < rows; ++r) std::copy(bias, bias + cout_, y + r * cout_);
  if (rows == 0) return;
  Im2Col(input.data(), n);
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, rows, cout_, patch, 1.0f,
              columns_.data(), patch, params[0]->data(), cout_, 1.0f, y, cout_);
}

void Conv2DLayer::Backward(absl::Span<const Tensor* const> params, const Tensor& input,
                           const Tensor& output, const Tensor& grad_output,
                           Tensor* grad_input, absl::Span<Tensor* const> grad_params) {
  const int64_t n = BatchOf(input);
  const int64_t rows = n * oh_.out * ow_.out;
  const int64_t patch = k_ * k_ * cin_;
  const float* dy = grad_output.data();
  float* db = grad_params[1]->data();
  std::fill(db, db + cout_, 0.0f);
  for (int64_t r = 0; r < rows; ++r) {
    const float* row = dy + r * cout_;
    for (int64_t c = 0; c < cout_; ++c) db[c] += row[c];
  }
  if (rows == 0) {
    grad_params[0]->Fill(0.0f);
    if (grad_input != nullptr) {
      EnsureBatchShape(n, input_shape(), grad_input);
      grad_input->Fill(0.0f);
    }
    return;
  }
  // dW = columns^T dy, with columns_ still holding the im2col of this input.
  cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, patch, cout_, rows, 1.0f,
              columns_.data(), patch, dy, cout_, 0.0f, grad_params[0]->data(), cout_);
  if (grad_input == nullptr) return;
  EnsureBatchShape(n, input_shape(), grad_input);
  // dcolumns = dy W^T overwrites columns_, then folds back into the image.
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, rows, patch, cout_, 1.0f, dy, cout_,
              params[0]->data(), cout_, 0.0f, columns_.data(), patch);
  Col2Im(n, grad_input->data());
}

}  // namespace tessera
