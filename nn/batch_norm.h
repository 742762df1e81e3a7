#ifndef TESSERA_NN_BATCH_NORM_H_
#define TESSERA_NN_BATCH_NORM_H_

// Batch normalization over the last dimension (channels): each channel is
// normalized with the mean and (biased) variance of all other positions of the
// batch, y = gamma * (x - mean) / sqrt(var + epsilon) + beta. Batch statistics are
// used in training and evaluation alike (no moving averages yet).
// Variables: gamma [C] (initialized to 1), beta [C] (initialized to 0).

#include <string>
#include <vector>

#include "nn/layer.h"

namespace tessera {

class BatchNormLayer final : public SingleInputLayer {
 public:
  // `input_shape` has rank >= 1; epsilon > 0 (checked by the caller).
  BatchNormLayer(std::string name, const Shape& input_shape, float epsilon);

  std::vector<VariableSpec> Variables() const override;
  void Forward(absl::Span<const Tensor* const> params, const Tensor& input,
               const ForwardOptions& options, Tensor* output) override;
  void Backward(absl::Span<const Tensor* const> params, const Tensor& input,
                const Tensor& output, const Tensor& grad_output, Tensor* grad_input,
                absl::Span<Tensor* const> grad_params) override;

 private:
  const int64_t channels_;
  const float epsilon_;
  // Per channel, from the last Forward (double sums, float results).
  std::vector<double> sum_, sum_sq_;
  std::vector<float> mean_, inv_std_;
};

}  // namespace tessera

#endif  // TESSERA_NN_BATCH_NORM_H_
