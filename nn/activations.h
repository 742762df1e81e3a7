#ifndef TESSERA_NN_ACTIVATIONS_H_
#define TESSERA_NN_ACTIVATIONS_H_

// Elementwise layers without variables: ReLU and dropout. Output shape = input shape.

#include <string>
#include <vector>

#include "nn/layer.h"

namespace tessera {

// ReLU's value and gradient (dLoss/dx from dLoss/dy and the output y), for
// ReluLayer and the layers a relu is fused into (Layer::FuseRelu), so that a
// fused pair computes the very floats of the two layers.
inline float ReluValue(float x) { return x > 0.0f ? x : 0.0f; }
inline float ReluGradient(float dy, float y) { return y > 0.0f ? dy : 0.0f; }

// y = max(x, 0); dx = dy where y > 0, else 0.
class ReluLayer final : public SingleInputLayer {
 public:
  ReluLayer(std::string name, const Shape& input_shape);

  void Forward(absl::Span<const Tensor* const> params, const Tensor& input,
               const ForwardOptions& options, Tensor* output) override;
  void Backward(absl::Span<const Tensor* const> params, const Tensor& input,
                const Tensor& output, const Tensor& grad_output, Tensor* grad_input,
                absl::Span<Tensor* const> grad_params) override;
};

// Training: each element is kept with probability 1 - rate and scaled by
// 1 / (1 - rate), else zeroed; the mask is a function of options.seed and the
// element index only, so one seed gives one mask. Evaluation: identity.
class DropoutLayer final : public SingleInputLayer {
 public:
  // 0 <= rate < 1 (checked by the caller).
  DropoutLayer(std::string name, const Shape& input_shape, float rate);

  void Forward(absl::Span<const Tensor* const> params, const Tensor& input,
               const ForwardOptions& options, Tensor* output) override;
  void Backward(absl::Span<const Tensor* const> params, const Tensor& input,
                const Tensor& output, const Tensor& grad_output, Tensor* grad_input,
                absl::Span<Tensor* const> grad_params) override;

 private:
  const float rate_;
  bool last_training_ = false;
  std::vector<float> scale_;  // per element: 0 or 1 / (1 - rate), from the last Forward
};

}  // namespace tessera

#endif  // TESSERA_NN_ACTIVATIONS_H_
