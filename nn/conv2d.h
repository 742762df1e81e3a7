#ifndef TESSERA_NN_CONV2D_H_
#define TESSERA_NN_CONV2D_H_

// 2-D convolution over NHWC inputs with a [KH, KW, Cin, Cout] kernel (TensorFlow's
// layouts), computed as im2col + one OpenBLAS sgemm over the whole batch.
// Variables: weights [KH, KW, Cin, Cout], biases [Cout].

#include <string>
#include <vector>

#include "nn/layer.h"

namespace tessera {

// Output size and leading padding of one spatial dimension, as TensorFlow computes
// them. SAME: out = ceil(in / stride), total padding max((out - 1) * stride + k - in,
// 0), the smaller half before. VALID: out = (in - k) / stride + 1 (0 when k > in).
struct PaddedDim {
  int64_t out = 0;
  int64_t pad_before = 0;
};
PaddedDim ComputePaddedDim(int64_t in, int64_t k, int64_t stride, Padding padding);

class Conv2DLayer final : public Layer {
 public:
  // `input_shape` is [H, W, Cin]; filters, kernel_size, stride > 0 and the output
  // non-empty (checked by the caller).
  Conv2DLayer(std::string name, const Shape& input_shape, int64_t filters,
              int64_t kernel_size, int64_t stride, Padding padding,
              Initializer weights_initializer, Initializer biases_initializer);

  std::vector<VariableSpec> Variables() const override;
  void Forward(absl::Span<const Tensor* const> params, const Tensor& input,
               const ForwardOptions& options, Tensor* output) override;
  void Backward(absl::Span<const Tensor* const> params, const Tensor& input,
                const Tensor& output, const Tensor& grad_output, Tensor* grad_input,
                absl::Span<Tensor* const> grad_params) override;

 private:
  // Fills columns_ ([N * OH * OW, KH * KW * Cin]) from `input`.
  void Im2Col(const float* input, int64_t n);
  // Adds columns_ back into `grad_input` (zeroed first).
  void Col2Im(int64_t n, float* grad_input) const;

  const int64_t h_, w_, cin_, k_, stride_, cout_;
  const PaddedDim oh_, ow_;
  const Initializer weights_initializer_;
  const Initializer biases_initializer_;
  std::vector<float> columns_;  // im2col of the last Forward; reused by Backward
};

}  // namespace tessera

#endif  // TESSERA_NN_CONV2D_H_
