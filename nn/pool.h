#ifndef TESSERA_NN_POOL_H_
#define TESSERA_NN_POOL_H_

// Max and average pooling of NHWC inputs over square windows, with TensorFlow's
// SAME / VALID output sizes. Padding never contributes: max takes the largest
// input inside the image; average divides by the number of inputs inside it.
// No variables.

#include <string>
#include <vector>

#include "nn/layer.h"

namespace tessera {

enum class PoolKind { kMax, kAverage };

class PoolLayer final : public Layer {
 public:
  // `input_shape` is [H, W, C]; size, stride > 0 and the output non-empty
  // (checked by the caller).
  PoolLayer(std::string name, PoolKind kind, const Shape& input_shape, int64_t size,
            int64_t stride, Padding padding);

  void Forward(absl::Span<const Tensor* const> params, const Tensor& input,
               const ForwardOptions& options, Tensor* output) override;
  void Backward(absl::Span<const Tensor* const> params, const Tensor& input,
                const Tensor& output, const Tensor& grad_output, Tensor* grad_input,
                absl::Span<Tensor* const> grad_params) override;

 private:
  // Routes each output's gradient to the first input of its window equal to the
  // output (the maximum); a NaN maximum passes no gradient.
  void MaxBackward(const Tensor& input, const Tensor& output, const Tensor& grad_output,
                   Tensor* grad_input);

  const PoolKind kind_;
  const int64_t h_, w_, c_, size_, stride_;
  const int64_t oh_, ow_, pad_y_, pad_x_;
  std::vector<float> pending_;  // MaxBackward scratch: [C]
};

}  // namespace tessera

#endif  // TESSERA_NN_POOL_H_
