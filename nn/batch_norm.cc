#include "nn/batch_norm.h"

#include <algorithm>
#include <cmath>
#include <utility>

namespace tessera {

BatchNormLayer::BatchNormLayer(std::string name, const Shape& input_shape, float epsilon)
    : SingleInputLayer(std::move(name), input_shape, input_shape),
      channels_(input_shape.back()),
      epsilon_(epsilon),
      sum_(channels_),
      sum_sq_(channels_),
      mean_(channels_),
      inv_std_(channels_) {}

std::vector<VariableSpec> BatchNormLayer::Variables() const {
  Initializer ones;
  ones.mutable_constant()->set_value(1.0f);
  Initializer zeros;
  zeros.mutable_zeros();
  return {{name() + "/gamma", {channels_}, ones}, {name() + "/beta", {channels_}, zeros}};
}

void BatchNormLayer::Forward(absl::Span<const Tensor* const> params, const Tensor& input,
                             const ForwardOptions& options, Tensor* output) {
  EnsureBatchShape(BatchOf(input), output_shape(), output);
  const int64_t c = channels_;
  const int64_t rows = input.size() / c;
  const float* x = input.data();
  std::fill(sum_.begin(), sum_.end(), 0.0);
  std::fill(sum_sq_.begin(), sum_sq_.end(), 0.0);
  for (int64_t r = 0; r < rows; ++r) {
    const float* row = x + r * c;
    for (int64_t ch = 0; ch < c; ++ch) sum_[ch] += row[ch];
  }
  const double inv_rows = rows > 0 ? 1.0 / static_cast<double>(rows) : 0.0;
  for (int64_t ch = 0; ch < c; ++ch) mean_[ch] = static_cast<float>(sum_[ch] * inv_rows);
  // Two passes (mean, then squared deviations) for accuracy.
  for (int64_t r = 0; r < rows; ++r) {
    const float* row = x + r * c;
    for (int64_t ch = 0; ch < c; ++ch) {
      const double d = row[ch] - mean_[ch];
      sum_sq_[ch] += d * d;
    }
  }
  for (int64_t ch = 0; ch < c; ++ch) {
    inv_std_[ch] = static_cast<float>(1.0 / std::sqrt(sum_sq_[ch] * inv_rows + epsilon_));
  }
  const float* gamma = params[0]->data();
  const float* beta = params[1]->data();
  float* y = output->data();
  for (int64_t r = 0; r < rows; ++r) {
    const float* in = x + r * c;
    float* out = y + r * c;
    for (int64_t ch = 0; ch < c; ++ch) {
      out[ch] = gamma[ch] * (in[ch] - mean_[ch]) * inv_std_[ch] + beta[ch];
    }
  }
}

void BatchNormLayer::Backward(absl::Span<const Tensor* const> params, const Tensor& input,
                              const Tensor& output, const Tensor& grad_output,
                              Tensor* grad_input, absl::Span<Tensor* const> grad_params) {
  const int64_t c = channels_;
  const int64_t rows = input.size() / c;
  const float* x = input.data();
  const float* dy = grad_output.data();
  // sum_ <- sum(dy), sum_sq_ <- sum(dy * xhat), per channel.
  std::fill(sum_.begin(), sum_.end(), 0.0);
  std::fill(sum_sq_.begin(), sum_sq_.end(), 0.0);
  for (int64_t r = 0; r < rows; ++r) {
    const float* in = x + r * c;
    const float* g = dy + r * c;
    for (int64_t ch = 0; ch < c; ++ch) {
      sum_[ch] += g[ch];
      sum_sq_[ch] += g[ch] * (in[ch] - mean_[ch]) * inv_std_[ch];
    }
  }
  float* dgamma = grad_params[0]->data();
  float* dbeta = grad_params[1]->data();
  for (int64_t ch = 0; ch < c; ++ch) {
    dgamma[ch] = static_cast<float>(sum_sq_[ch]);
    dbeta[ch] = static_cast<float>(sum_[ch]);
  }
  if (grad_input == nullptr) return;
  EnsureBatchShape(BatchOf(input), input_shape(), grad_input);
  if (rows == 0) return;
  // dx = gamma * inv_std * (dy - mean(dy) - xhat * mean(dy * xhat)).
  const float* gamma = params[0]->data();
  const float inv_rows = 1.0f / static_cast<float>(rows);
  float* dx = grad_input->data();
  for (int64_t r = 0; r < rows; ++r) {
    const float* in = x + r * c;
    const float* g = dy + r * c;
    float* out = dx + r * c;
    for (int64_t ch = 0; ch < c; ++ch) {
      const float xhat = (in[ch] - mean_[ch]) * inv_std_[ch];
      out[ch] = gamma[ch] * inv_std_[ch] *
                (g[ch] - dbeta[ch] * inv_rows - xhat * dgamma[ch] * inv_rows);
    }
  }
}

}  // namespace tessera
