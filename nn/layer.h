#ifndef TESSERA_NN_LAYER_H_
#define TESSERA_NN_LAYER_H_

// The interface every layer of a sequential model implements, and the description
// of the variables a layer reads.
//
// Shapes: a layer is built for one example shape (without the batch dimension) and
// runs on batches of any size N: input [N, input_shape...], output
// [N, output_shape...]. Layers keep scratch state from Forward (masks, im2col
// columns, batch statistics) that Backward reads, so Backward must follow the
// Forward of the same input. A layer is used by one thread at a time.

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/types/span.h"
#include "common/tensor.h"
#include "protos/model.pb.h"

namespace tessera {

// One variable of a model: a full name ("conv1/weights"), its shape and how it is
// initialized.
struct VariableSpec {
  std::string name;
  Shape shape;
  Initializer initializer;
};

struct ForwardOptions {
  bool training = false;
  uint64_t seed = 0;  // randomness of this step (dropout)
  // Index of the input's first example in the whole batch when the input is a
  // slice of it (Model's split batches): dropout then draws the mask the whole
  // batch would get at these examples.
  int64_t example_offset = 0;
};

// Gives `tensor` shape [batch, example_shape...], reallocating only when its
// shape differs (so repeated steps at one batch size never allocate).
void EnsureBatchShape(int64_t batch, const Shape& example_shape, Tensor* tensor);

class Layer {
 public:
  Layer(std::string name, Shape input_shape, Shape output_shape)
      : name_(std::move(name)),
        input_shape_(std::move(input_shape)),
        output_shape_(std::move(output_shape)) {}
  virtual ~Layer() = default;
  Layer(const Layer&) = delete;
  Layer& operator=(const Layer&) = delete;

  const std::string& name() const { return name_; }
  const Shape& input_shape() const { return input_shape_; }
  const Shape& output_shape() const { return output_shape_; }

  // The variables Forward reads, in order, named "<layer>/<variable>".
  virtual std::vector<VariableSpec> Variables() const { return {}; }

  // Computes `output` (reshaped to [N, output_shape] if needed) from `input`
  // ([N, input_shape]; any shape with that element count per example is accepted)
  // and `params` (shapes as Variables()). Shapes are the caller's contract.
  virtual void Forward(absl::Span<const Tensor* const> params, const Tensor& input,
                       const ForwardOptions& options, Tensor* output) = 0;

  // Given dLoss/dOutput, writes dLoss/dInput into `grad_input` (skipped when null,
  // e.g. for the first layer) and dLoss/dParam into `grad_params` (overwritten,
  // pre-shaped as Variables()). `input` and `output` are those of the last Forward.
  virtual void Backward(absl::Span<const Tensor* const> params, const Tensor& input,
                        const Tensor& output, const Tensor& grad_output,
                        Tensor* grad_input, absl::Span<Tensor* const> grad_params) = 0;

  // Weight gradients of a cut batch (Model, SPLIT_BATCH). A layer whose
  // variable 0 has the gradient input^T grad_output (a matrix product over the
  // examples, as dense's) returns true here; then Backward leaves that gradient
  // out when grad_params[0] is null, and the model computes it once over the
  // whole batch with WeightGradientRows instead of once per slice plus a sum.
  virtual bool has_batch_product_weight_gradient() const { return false; }
  // Rows [begin, end) of variable 0's gradient, overwritten in `grad` (shaped as
  // the variable), from the whole batch's inputs ([n, input elements]) and
  // output gradients ([n, output elements]). Only called when
  // has_batch_product_weight_gradient(); the default aborts.
  virtual void WeightGradientRows(const Tensor& input, const Tensor& grad_output,
                                  int64_t begin, int64_t end, Tensor* grad) const;

 protected:
  int64_t BatchOf(const Tensor& t) const { return t.rank() == 0 ? 0 : t.dim(0); }

 private:
  const std::string name_;
  const Shape input_shape_;
  const Shape output_shape_;
};

}  // namespace tessera

#endif  // TESSERA_NN_LAYER_H_
