#include "nn/activations.h"

#include <algorithm>
#include <utility>

#include "nn/layer_threads.h"
#include "nn/random.h"

namespace tessera {

ReluLayer::ReluLayer(std::string name, const Shape& input_shape)
    : SingleInputLayer(std::move(name), input_shape, input_shape) {}

void ReluLayer::Forward(absl::Span<const Tensor* const> params, const Tensor& input,
                        const ForwardOptions& options, Tensor* output) {
  EnsureBatchShape(BatchOf(input), output_shape(), output);
  const float* x = input.data();
  float* y = output->data();
  const int64_t count = input.size();
  LayerParallelFor(count, kMinElementsPerPart, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) y[i] = ReluValue(x[i]);
  });
}

void ReluLayer::Backward(absl::Span<const Tensor* const> params, const Tensor& input,
                         const Tensor& output, const Tensor& grad_output,
                         Tensor* grad_input, absl::Span<Tensor* const> grad_params) {
  if (grad_input == nullptr) return;
  EnsureBatchShape(BatchOf(input), input_shape(), grad_input);
  const float* y = output.data();
  const float* dy = grad_output.data();
  float* dx = grad_input->data();
  const int64_t count = output.size();
  LayerParallelFor(count, kMinElementsPerPart, [&](int64_t begin, int64_t end) {
    // dy[i] is loaded whatever y[i] is (an argument), so the loop vectorizes.
    for (int64_t i = begin; i < end; ++i) dx[i] = ReluGradient(dy[i], y[i]);
  });
}

DropoutLayer::DropoutLayer(std::string name, const Shape& input_shape, float rate)
    : SingleInputLayer(std::move(name), input_shape, input_shape), rate_(rate) {}

void DropoutLayer::Forward(absl::Span<const Tensor* const> params, const Tensor& input,
                           const ForwardOptions& options, Tensor* output) {
  EnsureBatchShape(BatchOf(input), output_shape(), output);
  const float* x = input.data();
  float* y = output->data();
  const int64_t count = input.size();
  last_training_ = options.training && rate_ > 0.0f;
  if (!last_training_) {
    std::copy(x, x + count, y);
    return;
  }
  scale_.resize(static_cast<size_t>(count));
  // Keep when a 24-bit uniform integer is at or above rate * 2^24.
  const uint64_t threshold = static_cast<uint64_t>(static_cast<double>(rate_) * 16777216.0);
  const float keep_scale = 1.0f / (1.0f - rate_);
  // Element e of the whole batch (this input may be a slice of it starting at
  // example_offset) uses 24 bits of the stream's draw e / 2: the high ones for
  // even e, the low ones for odd e. So a slice gets the whole batch's mask.
  const int64_t first = options.example_offset * NumElements(input_shape());
  Rng rng(options.seed);
  rng.Skip(static_cast<uint64_t>(first / 2));
  int64_t i = 0;
  if (first % 2 == 1 && count > 0) {
    scale_[0] = (((rng.Next() >> 8) & 0xFFFFFF) >= threshold) ? keep_scale : 0.0f;
    i = 1;
  }
  for (; i + 1 < count; i += 2) {
    const uint64_t bits = rng.Next();
    scale_[i] = ((bits >> 40) >= threshold) ? keep_scale : 0.0f;
    scale_[i + 1] = (((bits >> 8) & 0xFFFFFF) >= threshold) ? keep_scale : 0.0f;
  }
  if (i < count) scale_[i] = ((rng.Next() >> 40) >= threshold) ? keep_scale : 0.0f;
  const float* s = scale_.data();
  for (int64_t j = 0; j < count; ++j) y[j] = x[j] * s[j];
}

void DropoutLayer::Backward(absl::Span<const Tensor* const> params, const Tensor& input,
                            const Tensor& output, const Tensor& grad_output,
                            Tensor* grad_input, absl::Span<Tensor* const> grad_params) {
  if (grad_input == nullptr) return;
  EnsureBatchShape(BatchOf(input), input_shape(), grad_input);
  const float* dy = grad_output.data();
  float* dx = grad_input->data();
  const int64_t count = grad_output.size();
  if (!last_training_) {
    std::copy(dy, dy + count, dx);
    return;
  }
  const float* s = scale_.data();
  for (int64_t i = 0; i < count; ++i) dx[i] = dy[i] * s[i];
}

}  // namespace tessera
