#ifndef TESSERA_NN_DENSE_H_
#define TESSERA_NN_DENSE_H_

// Fully connected layer y = x W + b on OpenBLAS sgemm. The input of each example is
// flattened: [N, d1, d2, ...] is read as [N, d1 * d2 * ...].
// Variables: weights [in, units], biases [units].

#include <string>
#include <vector>

#include "nn/layer.h"

namespace tessera {

class DenseLayer final : public SingleInputLayer {
 public:
  // `input_shape` is one example's shape; units > 0 (checked by the caller).
  DenseLayer(std::string name, const Shape& input_shape, int64_t units,
             Initializer weights_initializer, Initializer biases_initializer);

  std::vector<VariableSpec> Variables() const override;
  void Forward(absl::Span<const Tensor* const> params, const Tensor& input,
               const ForwardOptions& options, Tensor* output) override;
  void Backward(absl::Span<const Tensor* const> params, const Tensor& input,
                const Tensor& output, const Tensor& grad_output, Tensor* grad_input,
                absl::Span<Tensor* const> grad_params) override;
  int64_t MultiplyAddsPerExample() const override { return in_ * units_; }
  bool has_batch_product_weight_gradient() const override { return true; }
  void WeightGradientRows(const Tensor& input, const Tensor& grad_output, int64_t begin,
                          int64_t end, Tensor* grad) const override;

 private:
  const int64_t in_;
  const int64_t units_;
  const Initializer weights_initializer_;
  const Initializer biases_initializer_;
};

}  // namespace tessera

#endif  // TESSERA_NN_DENSE_H_
