#include "nn/dense.h"

#include <cblas.h>

#include <algorithm>
#include <utility>

namespace tessera {

DenseLayer::DenseLayer(std::string name, const Shape& input_shape, int64_t units,
                       Initializer weights_initializer, Initializer biases_initializer)
    : SingleInputLayer(std::move(name), input_shape, Shape{units}),
      in_(NumElements(input_shape)),
      units_(units),
      weights_initializer_(std::move(weights_initializer)),
      biases_initializer_(std::move(biases_initializer)) {}

std::vector<VariableSpec> DenseLayer::Variables() const {
  return {{name() + "/weights", {in_, units_}, weights_initializer_},
          {name() + "/biases", {units_}, biases_initializer_}};
}

void DenseLayer::Forward(absl::Span<const Tensor* const> params, const Tensor& input,
                         const ForwardOptions& options, Tensor* output) {
  const int64_t n = BatchOf(input);
  EnsureBatchShape(n, output_shape(), output);
  const float* bias = params[1]->data();
  float* y = output->data();
  for (int64_t i = 0; i < n; ++i) std::copy(bias, bias + units_, y + i * units_);
  if (n == 0) return;
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, units_, in_, 1.0f,
              input.data(), in_, params[0]->data(), units_, 1.0f, y, units_);
}

void DenseLayer::Backward(absl::Span<const Tensor* const> params, const Tensor& input,
                          const Tensor& output, const Tensor& grad_output,
                          Tensor* grad_input, absl::Span<Tensor* const> grad_params) {
  const int64_t n = BatchOf(input);
  const float* dy = grad_output.data();
  float* db = grad_params[1]->data();
  std::fill(db, db + units_, 0.0f);
  for (int64_t i = 0; i < n; ++i) {
    const float* row = dy + i * units_;
    for (int64_t j = 0; j < units_; ++j) db[j] += row[j];
  }
  if (grad_params[0] != nullptr) {
    WeightGradientRows(input, grad_output, 0, in_, grad_params[0]);
  }
  if (grad_input == nullptr) return;
  EnsureBatchShape(n, input_shape(), grad_input);
  if (n == 0) return;
  // dx = dy W^T.
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, in_, units_, 1.0f, dy, units_,
              params[0]->data(), units_, 0.0f, grad_input->data(), in_);
}

void DenseLayer::WeightGradientRows(const Tensor& input, const Tensor& grad_output,
                                    int64_t begin, int64_t end, Tensor* grad) const {
  if (begin >= end) return;
  const int64_t n = BatchOf(input);
  float* dw = grad->data() + begin * units_;
  if (n == 0) {
    std::fill(dw, dw + (end - begin) * units_, 0.0f);
    return;
  }
  // dW[begin:end] = x[:, begin:end]^T dy.
  cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, end - begin, units_, n, 1.0f,
              input.data() + begin, in_, grad_output.data(), units_, 0.0f, dw, units_);
}

}  // namespace tessera
