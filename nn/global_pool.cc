#include "nn/global_pool.h"

#include <algorithm>
#include <utility>

#include "nn/layer_threads.h"

namespace tessera {

GlobalAvgPoolLayer::GlobalAvgPoolLayer(std::string name, const Shape& input_shape)
    : SingleInputLayer(std::move(name), input_shape, Shape{input_shape[2]}),
      positions_(input_shape[0] * input_shape[1]),
      channels_(input_shape[2]) {}

void GlobalAvgPoolLayer::Forward(absl::Span<const Tensor* const> params, const Tensor& input,
                                 const ForwardOptions& options, Tensor* output) {
  const int64_t n = BatchOf(input);
  EnsureBatchShape(n, output_shape(), output);
  const float scale = 1.0f / static_cast<float>(positions_);
  LayerParallelFor(n, ItemsPerPart(positions_ * channels_), [&](int64_t begin, int64_t end) {
    for (int64_t b = begin; b < end; ++b) {
      float* y = output->data() + b * channels_;
      const float* x = input.data() + b * positions_ * channels_;
      std::fill(y, y + channels_, 0.0f);
      for (int64_t p = 0; p < positions_; ++p) {
        const float* row = x + p * channels_;
        for (int64_t c = 0; c < channels_; ++c) y[c] += row[c];
      }
      for (int64_t c = 0; c < channels_; ++c) y[c] *= scale;
    }
  });
}

void GlobalAvgPoolLayer::Backward(absl::Span<const Tensor* const> params, const Tensor& input,
                                  const Tensor& output, const Tensor& grad_output,
                                  Tensor* grad_input, absl::Span<Tensor* const> grad_params) {
  if (grad_input == nullptr) return;
  const int64_t n = BatchOf(input);
  EnsureBatchShape(n, input_shape(), grad_input);
  const float scale = 1.0f / static_cast<float>(positions_);
  LayerParallelFor(n, ItemsPerPart(positions_ * channels_), [&](int64_t begin, int64_t end) {
    for (int64_t b = begin; b < end; ++b) {
      const float* dy = grad_output.data() + b * channels_;
      float* dx = grad_input->data() + b * positions_ * channels_;
      for (int64_t p = 0; p < positions_; ++p) {
        float* row = dx + p * channels_;
        for (int64_t c = 0; c < channels_; ++c) row[c] = dy[c] * scale;
      }
    }
  });
}

}  // namespace tessera
