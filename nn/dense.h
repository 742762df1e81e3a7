#ifndef TESSERA_NN_DENSE_H_
#define TESSERA_NN_DENSE_H_

// Fully connected layer y = x W + b on OpenBLAS sgemm. The input of each example is
// flattened: [N, d1, d2, ...] is read as [N, d1 * d2 * ...].
// Variables: weights [in, units], biases [units].

#include <string>
#include <vector>

#include "absl/functional/function_ref.h"
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

  // In a split step, a layer with at least kMinSharedWeights weights runs its
  // two matrix products over the whole batch, each slice's thread taking a
  // part of the output columns: every thread then packs only its part of the
  // weights for OpenBLAS, where a product per slice packs all of them in each
  // slice (for mnist_deep's fc1, 12.8 MB twice a step per slice), and the
  // products have all the batch's rows.
  static constexpr int64_t kMinSharedWeights = 1 << 16;
  bool uses_slice_group() const override { return in_ * units_ >= kMinSharedWeights; }
  void PrepareSliceGroup(SliceGroup* group) const override;
  void SetSliceGroup(SliceGroup* group, int slice) override {
    group_ = group;
    slice_ = slice;
  }

 private:
  // A product over the group's whole batch: copies this slice's rows of
  // `slice_in` into the group's tensor `in_tensor`, meets the other slices,
  // calls product(whole input, lo, hi, whole output) for this slice's share
  // [lo, hi) of the columns of tensor `out_tensor`, meets them again, and
  // copies this slice's rows of the result into `slice_out`.
  void RunShared(const Tensor& slice_in, int in_tensor, int out_tensor,
                 absl::FunctionRef<void(const float*, int64_t, int64_t, float*)> product,
                 Tensor* slice_out);
  // Forward and the input gradient over the group's whole batch (tensors:
  // inputs [rows, in], outputs [rows, units], output gradients [rows, units],
  // input gradients [rows, in]).
  void ForwardShared(const float* weights, const float* bias, const Tensor& input, Tensor* output);
  void InputGradientShared(const float* weights, const Tensor& grad_output, Tensor* grad_input);

  const int64_t in_;
  const int64_t units_;
  const Initializer weights_initializer_;
  const Initializer biases_initializer_;
  SliceGroup* group_ = nullptr;  // in a split step
  int slice_ = 0;
};

}  // namespace tessera

#endif  // TESSERA_NN_DENSE_H_
