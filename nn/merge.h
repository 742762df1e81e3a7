#ifndef TESSERA_NN_MERGE_H_
#define TESSERA_NN_MERGE_H_

// Layers that merge the outputs of several earlier layers: the elementwise sum
// of a residual connection (add) and the channel concatenation of an Inception
// block (concat). No variables.

#include <cstdint>
#include <string>
#include <vector>

#include "nn/layer.h"

namespace tessera {

// y = x_0 + x_1 + ...; dx_j = dy. With a fused ReLU (Layer::FuseRelu, as a
// ResNet block ends), y = max(x_0 + x_1 + ..., 0) and dx_j = dy where y > 0.
class AddLayer final : public Layer {
 public:
  // Two or more inputs of one shape (checked by the caller).
  AddLayer(std::string name, std::vector<Shape> input_shapes);

  bool FuseRelu() override {
    fused_relu_ = true;
    return true;
  }

  void ForwardInputs(absl::Span<const Tensor* const> params,
                     absl::Span<const Tensor* const> inputs, const ForwardOptions& options,
                     Tensor* output) override;
  void BackwardInputs(absl::Span<const Tensor* const> params,
                      absl::Span<const Tensor* const> inputs, const Tensor& output,
                      const Tensor& grad_output, absl::Span<Tensor* const> grad_inputs,
                      absl::Span<Tensor* const> grad_params) override;

 private:
  bool fused_relu_ = false;
};

// Concatenation along the last dimension (channels of NHWC): inputs
// [..., C_j] with equal leading dimensions give [..., C_0 + C_1 + ...], each
// input's channels in input order.
class ConcatLayer final : public Layer {
 public:
  // Two or more inputs of one rank >= 1 whose dimensions other than the last
  // agree (checked by the caller).
  ConcatLayer(std::string name, std::vector<Shape> input_shapes);

  void ForwardInputs(absl::Span<const Tensor* const> params,
                     absl::Span<const Tensor* const> inputs, const ForwardOptions& options,
                     Tensor* output) override;
  void BackwardInputs(absl::Span<const Tensor* const> params,
                      absl::Span<const Tensor* const> inputs, const Tensor& output,
                      const Tensor& grad_output, absl::Span<Tensor* const> grad_inputs,
                      absl::Span<Tensor* const> grad_params) override;

  // The output shape of concatenating `input_shapes` as above.
  static Shape OutputShape(const std::vector<Shape>& input_shapes);

 private:
  std::vector<int64_t> channels_;  // per input: its last dimension
  const int64_t out_channels_;
  const int64_t rows_;  // per example: product of the dimensions but the last
};

}  // namespace tessera

#endif  // TESSERA_NN_MERGE_H_
