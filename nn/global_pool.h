#ifndef TESSERA_NN_GLOBAL_POOL_H_
#define TESSERA_NN_GLOBAL_POOL_H_

// Global average pooling: each channel of an [H, W, C] input averaged over all
// H * W positions, giving [C] (as Keras' GlobalAveragePooling2D, and ResNet's
// pooling before its classifier). No variables.

#include <cstdint>
#include <string>

#include "nn/layer.h"

namespace tessera {

class GlobalAvgPoolLayer final : public SingleInputLayer {
 public:
  // `input_shape` is [H, W, C] with H * W > 0 (checked by the caller).
  GlobalAvgPoolLayer(std::string name, const Shape& input_shape);

  void Forward(absl::Span<const Tensor* const> params, const Tensor& input,
               const ForwardOptions& options, Tensor* output) override;
  void Backward(absl::Span<const Tensor* const> params, const Tensor& input,
                const Tensor& output, const Tensor& grad_output, Tensor* grad_input,
                absl::Span<Tensor* const> grad_params) override;

 private:
  const int64_t positions_;  // H * W
  const int64_t channels_;
};

}  // namespace tessera

#endif  // TESSERA_NN_GLOBAL_POOL_H_
