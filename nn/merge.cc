#include "nn/merge.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "nn/activations.h"
#include "nn/layer_threads.h"

namespace tessera {

AddLayer::AddLayer(std::string name, std::vector<Shape> input_shapes)
    : Layer(std::move(name), input_shapes, input_shapes[0]) {}

void AddLayer::ForwardInputs(absl::Span<const Tensor* const> params,
                             absl::Span<const Tensor* const> inputs,
                             const ForwardOptions& options, Tensor* output) {
  const int64_t n = BatchOf(*inputs[0]);
  EnsureBatchShape(n, output_shape(), output);
  const int64_t size = output->size();
  float* y = output->data();
  const float* a = inputs[0]->data();
  const float* b = inputs[1]->data();
  LayerParallelFor(size, kMinElementsPerPart, [&](int64_t begin, int64_t end) {
    if (fused_relu_ && inputs.size() == 2) {
      for (int64_t i = begin; i < end; ++i) {
        y[i] = ReluValue(a[i] + b[i]);
      }
      return;
    }
    for (int64_t i = begin; i < end; ++i) y[i] = a[i] + b[i];
    for (size_t j = 2; j < inputs.size(); ++j) {
      const float* x = inputs[j]->data();
      for (int64_t i = begin; i < end; ++i) y[i] += x[i];
    }
    if (fused_relu_) {
      for (int64_t i = begin; i < end; ++i) y[i] = ReluValue(y[i]);
    }
  });
}

void AddLayer::BackwardInputs(absl::Span<const Tensor* const> params,
                              absl::Span<const Tensor* const> inputs, const Tensor& output,
                              const Tensor& grad_output, absl::Span<Tensor* const> grad_inputs,
                              absl::Span<Tensor* const> grad_params) {
  const int64_t n = BatchOf(*inputs[0]);
  std::vector<float*> targets;
  for (size_t j = 0; j < grad_inputs.size(); ++j) {
    if (grad_inputs[j] == nullptr) continue;
    EnsureBatchShape(n, input_shapes()[j], grad_inputs[j]);
    targets.push_back(grad_inputs[j]->data());
  }
  if (targets.empty()) return;
  const float* dy = grad_output.data();
  const float* out = output.data();
  // Every input gets the same gradient: one pass over dy (and the output, for
  // a fused ReLU) writes the first, and each chunk is copied to the others
  // while it is still in L1 (two passes over dy had cost ResNet-18's adds
  // about a third of their backward time).
  LayerParallelFor(grad_output.size(), kMinElementsPerPart, [&](int64_t begin, int64_t end) {
    constexpr int64_t kChunk = 4096;  // 16 KB
    for (int64_t lo = begin; lo < end; lo += kChunk) {
      const int64_t hi = std::min(end, lo + kChunk);
      float* first = targets[0];
      if (fused_relu_) {
        for (int64_t i = lo; i < hi; ++i) first[i] = ReluGradient(dy[i], out[i]);
      } else {
        std::copy(dy + lo, dy + hi, first + lo);
      }
      for (size_t t = 1; t < targets.size(); ++t)
        std::copy(first + lo, first + hi, targets[t] + lo);
    }
  });
}

Shape ConcatLayer::OutputShape(const std::vector<Shape>& input_shapes) {
  Shape shape = input_shapes[0];
  for (size_t j = 1; j < input_shapes.size(); ++j) shape.back() += input_shapes[j].back();
  return shape;
}

ConcatLayer::ConcatLayer(std::string name, std::vector<Shape> input_shapes)
    : Layer(std::move(name), input_shapes, OutputShape(input_shapes)),
      out_channels_(output_shape().back()),
      rows_(NumElements(output_shape()) / output_shape().back()) {
  for (const Shape& shape : input_shapes) channels_.push_back(shape.back());
}

void ConcatLayer::ForwardInputs(absl::Span<const Tensor* const> params,
                                absl::Span<const Tensor* const> inputs,
                                const ForwardOptions& options, Tensor* output) {
  const int64_t n = BatchOf(*inputs[0]);
  EnsureBatchShape(n, output_shape(), output);
  const int64_t rows = n * rows_;
  int64_t offset = 0;  // of input j's channels in an output row
  for (size_t j = 0; j < inputs.size(); ++j) {
    const int64_t c = channels_[j];
    const float* x = inputs[j]->data();
    float* y = output->data() + offset;
    for (int64_t r = 0; r < rows; ++r) std::copy(x + r * c, x + (r + 1) * c, y + r * out_channels_);
    offset += c;
  }
}

void ConcatLayer::BackwardInputs(absl::Span<const Tensor* const> params,
                                 absl::Span<const Tensor* const> inputs, const Tensor& output,
                                 const Tensor& grad_output,
                                 absl::Span<Tensor* const> grad_inputs,
                                 absl::Span<Tensor* const> grad_params) {
  const int64_t n = BatchOf(*inputs[0]);
  const int64_t rows = n * rows_;
  int64_t offset = 0;
  for (size_t j = 0; j < grad_inputs.size(); ++j) {
    const int64_t c = channels_[j];
    Tensor* dx = grad_inputs[j];
    if (dx != nullptr) {
      EnsureBatchShape(n, input_shapes()[j], dx);
      const float* dy = grad_output.data() + offset;
      float* d = dx->data();
      for (int64_t r = 0; r < rows; ++r) {
        std::copy(dy + r * out_channels_, dy + r * out_channels_ + c, d + r * c);
      }
    }
    offset += c;
  }
}

}  // namespace tessera
