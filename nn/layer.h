#ifndef TESSERA_NN_LAYER_H_
#define TESSERA_NN_LAYER_H_

// The interface every layer of a model graph implements, and the description of
// the variables a layer reads.
//
// Shapes: a layer is built for one example shape per input (without the batch
// dimension) and runs on batches of any size N: inputs [N, input_shape...],
// output [N, output_shape...]. Layers keep scratch state from Forward (masks,
// im2col columns, batch statistics) that Backward reads, so Backward must follow
// the Forward of the same inputs. A layer is used by one thread at a time.

#include <atomic>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/types/span.h"
#include "common/tensor.h"
#include "protos/model.pb.h"
#include "protos/variable.pb.h"

namespace tessera {

// One variable of a model: a full name ("conv1/weights"), its shape, how it is
// initialized, and its kind. A TRAINABLE variable's "gradient" is dLoss/dvar;
// a MOVING_AVERAGE variable's (batch norm's moving statistics) is the delta
// the update subtracts: (1 - decay) * (var - batch statistic)
// (protos/variable.proto).
struct VariableSpec {
  std::string name;
  Shape shape;
  Initializer initializer;
  VariableKind kind = TRAINABLE;
};

struct ForwardOptions {
  bool training = false;
  uint64_t seed = 0;  // randomness of this step (dropout)
  // Index of the input's first example in the whole batch when the input is a
  // slice of it (Model's split batches): dropout then draws the mask the whole
  // batch would get at these examples.
  int64_t example_offset = 0;
};

// The first row of slice `slice` when `rows` rows are cut into `count`
// slices of consecutive rows (Model::CutBatch, SliceGroup::begin);
// SliceBegin(rows, count, count) = rows.
inline int64_t SliceBegin(int64_t rows, int slice, int count) { return rows * slice / count; }

// The copies of one layer in the slices of a split step (Model, SPLIT_BATCH),
// each run by its own thread at the same time, sharing work over the whole
// batch: the model sets the slices' rows before each split call, the layer
// sizes `tensors` (PrepareSliceGroup, on one thread before the slices run),
// and the copies write disjoint parts of them between meetings.
class SliceGroup {
 public:
  // Before the slices run (one thread): `count` >= 2 slices, slice i holding
  // rows [begin(i), begin(i + 1)) of a batch of `rows`.
  void Prepare(int count, int64_t rows);
  int count() const { return count_; }
  int64_t rows() const { return rows_; }
  // The first row of slice i; begin(count()) = rows().
  int64_t begin(int slice) const { return SliceBegin(rows_, slice, count_); }
  // Returns once all count() slices have called it (a reusable barrier: each
  // slice must make the same sequence of calls). Spins briefly, then blocks.
  void Meet();
  // Shared buffers, sized by the layer in PrepareSliceGroup.
  std::vector<Tensor> tensors;

 private:
  int count_ = 0;
  int64_t rows_ = 0;
  std::atomic<int> arrived_{0};
  std::atomic<int64_t> generation_{0};
  absl::Mutex mu_;
  absl::CondVar woken_;
};

// Gives `tensor` shape [batch, example_shape...], reallocating only when its
// shape differs (so repeated steps at one batch size never allocate).
void EnsureBatchShape(int64_t batch, const Shape& example_shape, Tensor* tensor);

// A layer of a model graph: it reads the outputs of one or more earlier layers
// (or the model's input) and writes one output. Most layers read one input and
// derive from SingleInputLayer; add and concat read several.
class Layer {
 public:
  Layer(std::string name, std::vector<Shape> input_shapes, Shape output_shape)
      : name_(std::move(name)),
        input_shapes_(std::move(input_shapes)),
        output_shape_(std::move(output_shape)) {}
  virtual ~Layer() = default;
  Layer(const Layer&) = delete;
  Layer& operator=(const Layer&) = delete;

  const std::string& name() const { return name_; }
  // One example's shape of each input, in the order ForwardInputs takes them.
  const std::vector<Shape>& input_shapes() const { return input_shapes_; }
  const Shape& output_shape() const { return output_shape_; }

  // The variables Forward reads, in order, named "<layer>/<variable>".
  virtual std::vector<VariableSpec> Variables() const { return {}; }

  // Multiply-adds of one example's forward pass in matrix products (dense,
  // conv2d); 0 for layers without them. For model summaries. The model builder
  // refuses a layer with more than kMaxMultiplyAddsPerExample.
  static constexpr int64_t kMaxMultiplyAddsPerExample = int64_t{1} << 50;
  virtual int64_t MultiplyAddsPerExample() const { return 0; }

  // Computes `output` (reshaped to [N, output_shape] if needed) from `inputs`
  // (one per input_shapes(), each [N, shape...]; any shape with that element
  // count per example is accepted) and `params` (shapes as Variables()).
  // Shapes are the caller's contract.
  virtual void ForwardInputs(absl::Span<const Tensor* const> params,
                             absl::Span<const Tensor* const> inputs,
                             const ForwardOptions& options, Tensor* output) = 0;

  // Given dLoss/dOutput, writes dLoss/dInput j into `grad_inputs[j]` (overwritten
  // and shaped as input j; skipped when null, e.g. for the model's input) and
  // dLoss/dParam into `grad_params` (overwritten, pre-shaped as Variables()).
  // `inputs` and `output` are those of the last ForwardInputs.
  virtual void BackwardInputs(absl::Span<const Tensor* const> params,
                              absl::Span<const Tensor* const> inputs, const Tensor& output,
                              const Tensor& grad_output, absl::Span<Tensor* const> grad_inputs,
                              absl::Span<Tensor* const> grad_params) = 0;

  // Weight gradients of a cut batch (Model, SPLIT_BATCH). A single-input layer
  // whose variable 0 has the gradient input^T grad_output (a matrix product over
  // the examples, as dense's) returns true here; then Backward leaves that
  // gradient out when grad_params[0] is null, and the model computes it once
  // over the whole batch with WeightGradientRows instead of once per slice plus
  // a sum.
  virtual bool has_batch_product_weight_gradient() const { return false; }
  // Rows [begin, end) of variable 0's gradient, overwritten in `grad` (shaped as
  // the variable), from the whole batch's inputs ([n, input elements]) and
  // output gradients ([n, output elements]). Only called when
  // has_batch_product_weight_gradient(); the default aborts.
  virtual void WeightGradientRows(const Tensor& input, const Tensor& grad_output,
                                  int64_t begin, int64_t end, Tensor* grad) const;

  // A ReLU applied to this layer's output within its own passes, for a model
  // whose relu layer alone reads this layer's output (Model fuses them; the
  // relu layer then does no work). Returns false, changing nothing, for a
  // layer that cannot; otherwise from now on Forward writes max(y, 0) (as
  // ReluLayer: x > 0 ? x : 0) and Backward takes dLoss/d(max(y, 0)) as
  // grad_output, passing it on only where the output is > 0 (as ReluLayer's
  // Backward, the same floats: a fused pair computes what the two layers do).
  virtual bool FuseRelu() { return false; }
  // The other way round: a ReLU applied to this layer's input, for a model
  // whose relu layer is this layer's only input and is read by this layer
  // alone, and whose own input layer cannot take it (FuseRelu). Returns false,
  // changing nothing, for a layer that cannot; otherwise from now on Forward
  // is given the relu's input and computes from max(x, 0) (ReluValue) what it
  // computed from the relu's output, and Backward returns dLoss/d(the relu's
  // input) (through ReluGradient): the same floats as the two layers apart.
  // Max pooling does (max over max(x, 0) is max(max over x, 0)).
  virtual bool FuseReluBefore() { return false; }

  // Work shared over the slices of a split step. A layer that returns true
  // from uses_slice_group() is given, before each call of a split step, the
  // group its copies in the other slices share and its slice's index
  // (SetSliceGroup), and null before an unsplit call; the model first calls
  // PrepareSliceGroup on its own copy (one thread) to size the group's
  // tensors for a batch of group->rows(). A layer in a group must make the
  // same sequence of Meet() calls in every slice.
  virtual bool uses_slice_group() const { return false; }
  virtual void PrepareSliceGroup(SliceGroup* group) const {}
  virtual void SetSliceGroup(SliceGroup* group, int slice) {}

 protected:
  int64_t BatchOf(const Tensor& t) const { return t.rank() == 0 ? 0 : t.dim(0); }

 private:
  const std::string name_;
  const std::vector<Shape> input_shapes_;
  const Shape output_shape_;
};

// A layer of one input (every kind but add and concat), with Forward and
// Backward on that input alone.
class SingleInputLayer : public Layer {
 public:
  SingleInputLayer(std::string name, Shape input_shape, Shape output_shape)
      : Layer(std::move(name), {std::move(input_shape)}, std::move(output_shape)) {}

  const Shape& input_shape() const { return input_shapes()[0]; }

  // ForwardInputs of the one input.
  virtual void Forward(absl::Span<const Tensor* const> params, const Tensor& input,
                       const ForwardOptions& options, Tensor* output) = 0;

  // BackwardInputs of the one input: dLoss/dInput into `grad_input` (skipped
  // when null).
  virtual void Backward(absl::Span<const Tensor* const> params, const Tensor& input,
                        const Tensor& output, const Tensor& grad_output,
                        Tensor* grad_input, absl::Span<Tensor* const> grad_params) = 0;

  void ForwardInputs(absl::Span<const Tensor* const> params,
                     absl::Span<const Tensor* const> inputs, const ForwardOptions& options,
                     Tensor* output) final {
    Forward(params, *inputs[0], options, output);
  }
  void BackwardInputs(absl::Span<const Tensor* const> params,
                      absl::Span<const Tensor* const> inputs, const Tensor& output,
                      const Tensor& grad_output, absl::Span<Tensor* const> grad_inputs,
                      absl::Span<Tensor* const> grad_params) final {
    Backward(params, *inputs[0], output, grad_output, grad_inputs[0], grad_params);
  }
};

}  // namespace tessera

#endif  // TESSERA_NN_LAYER_H_
