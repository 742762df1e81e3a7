#ifndef TESSERA_NN_MODEL_H_
#define TESSERA_NN_MODEL_H_

// A model built from a ModelDef: a graph of layers (each reads the model's input
// or earlier layers' outputs; protos/model.proto), a loss on the last layer's
// output, and the list of variables the layers read. Forward runs the layers in
// def order, backward in reverse, adding up the gradients of an output that
// several layers read. The Model holds no variable values: callers pass them
// in (params, in variables() order) and get gradients back, so the same Model serves
// a worker that pulls values from parameter servers and an in-process trainer.
//
// Thread safety: a Model keeps activation and scratch buffers between calls (so
// repeated steps at one batch size allocate nothing); it must be used by one thread
// at a time. Distinct Model objects are independent, except that a Model given
// compute threads (SetComputeThreads) sets OpenBLAS's process-wide thread count.

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "common/dataset.h"
#include "common/parallel_runner.h"
#include "common/tensor.h"
#include "nn/layer.h"
#include "protos/model.pb.h"

namespace tessera {

struct LossValue;  // nn/loss.h

// How FromModelDef builds a Model.
struct ModelBuildOptions {
  // A relu layer that alone reads the output of a layer able to apply it in
  // its own passes (batch_norm, add: Layer::FuseRelu) does no work of its own:
  // that layer writes max(y, 0) and masks the gradient. Else, when the relu's
  // output has one reader that can take it (max_pool: Layer::FuseReluBefore),
  // that reader applies it to what it reads and masks the gradient it
  // returns. The same floats either way, with a pass over the activations and
  // a tensor less each way (false: for tests that check that).
  bool fuse_relu = true;
};

class Model {
 public:
  struct EvalResult {
    double loss_sum = 0.0;  // sum over examples of each example's loss
    int64_t correct = 0;    // classification: argmax == label; 0 for regression
    int64_t count = 0;      // examples evaluated
  };

  // INVALID_ARGUMENT naming the layer and the problem for a bad def: no layers,
  // empty or duplicate names, inputs that name no layer or a later one, an
  // unread output (ResolveLayerInputs, nn/model_graph.h), bad input shapes
  // (add, concat: naming the input) or parameters (MakeLayer,
  // nn/layer_factory.h), missing loss, a final output that does not suit the
  // loss.
  static absl::StatusOr<std::unique_ptr<Model>> FromModelDef(
      const ModelDef& def, const ModelBuildOptions& options = ModelBuildOptions());

  // How ComputeGradients and Evaluate use the process's cores
  // (protos/model.proto; docs/models.md, "Threads").
  // SPLIT_BATCH: the batch is cut into `threads` slices of consecutive
  //   examples; each runs on its own thread, through its own copy of the
  //   layers' buffers, with single-threaded OpenBLAS; the slices' gradients
  //   and losses are combined in proportion to their sizes (added up for a
  //   SUM loss), except dense weight gradients, which the threads compute
  //   once over the whole batch (by rows) from the slices' gathered inputs
  //   and output gradients; large dense layers also run their forward and
  //   input-gradient products over the whole batch, the slices' threads
  //   meeting at the layer (Layer::uses_slice_group). The result is the
  //   whole batch's up to float rounding (dropout draws the same mask).
  //   Batches of fewer than 2 * kMinSliceExamples examples are not cut, nor
  //   are the training steps of models with batch_norm (its statistics span
  //   the whole batch): they run as BLAS_THREADS. Evaluation of such models
  //   is cut (it normalizes with the moving averages, example by example).
  // BLAS_THREADS: one thread walks the layers; OpenBLAS's `threads` threads
  //   share each matrix product.
  static constexpr int64_t kMinSliceExamples = 8;

  // `threads` >= 1, or 0 (or less) for OpenBLAS's thread count when the
  // process first called this (the number of cores unless
  // OPENBLAS_NUM_THREADS or openblas_set_num_threads said otherwise).
  // Before this is called the Model leaves OpenBLAS's thread count alone and
  // never cuts a batch; after it, each call sets OpenBLAS's (process-wide)
  // thread count to what the call needs.
  void SetComputeThreads(int threads, ComputeSplit split);
  // The threads a step uses: SetComputeThreads' count (resolved), or 1 before
  // it was called.
  int compute_threads() const { return std::max(compute_threads_, 1); }

  Model(const Model&) = delete;
  Model& operator=(const Model&) = delete;
  ~Model();

  const std::string& name() const { return name_; }
  // One example's input shape ([H, W, C] or [features]) and output shape.
  const Shape& input_shape() const { return input_shape_; }
  const Shape& output_shape() const;
  // All variables, layer by layer in def order ("conv1/weights", "conv1/biases").
  const std::vector<VariableSpec>& variables() const { return variables_; }
  const std::vector<std::unique_ptr<Layer>>& layers() const { return layers_; }
  // Per layer, the layers whose outputs it reads, in its input order
  // (kModelInput, nn/model_graph.h, for the model's input); each below the
  // layer's own index.
  const std::vector<std::vector<int>>& layer_inputs() const { return inputs_; }
  // Per layer: whether it is a relu whose work another layer does
  // (ModelBuildOptions::fuse_relu), and which: its input layer, or the layer
  // reading it (-1 for the other layers).
  const std::vector<bool>& fused_relus() const { return fused_away_; }
  const std::vector<int>& relus_done_by() const { return relu_done_by_; }
  const ModelDef& def() const { return def_; }
  bool is_classifier() const { return loss_.kind_case() == LossDef::kSoftmaxCrossEntropy; }
  // Whether SPLIT_BATCH cuts a training step into slices: not with batch norm,
  // whose statistics span the whole batch (such steps run as BLAS_THREADS).
  bool training_splittable() const { return training_splittable_; }

  // Initial values of variables(), deterministic in `seed` (each variable draws
  // from its own stream, so adding a variable does not change the others).
  std::vector<Tensor> InitialValues(uint64_t seed) const;

  // Training-mode forward and backward on `batch` with `params` (one per
  // variable, borrowed); `step_seed` drives dropout. Returns the loss (with
  // the layers' L2 weight decay, weight_decay / 2 * sum(w^2)) and sets
  // `*grads` to one gradient per variable (resized only when shapes change):
  // dLoss/dvar for a TRAINABLE variable (weight decay's weight_decay * w
  // included), the update's delta for a MOVING_AVERAGE one (nn/batch_norm.h).
  // INVALID_ARGUMENT for a wrong number or shape of params, a batch whose inputs
  // are not [N, input_shape] with N > 0, labels missing or out of range
  // (classification), or targets not [N, output_shape] (regression).
  //
  // `ready` (optional) is called with each variable's index as soon as its
  // gradient in `grads` is final, while the step goes on: a layer's variables
  // right after its backward (last layer first), a variable with weight decay
  // after the decay is added, at the end. An unsplit step calls it on the
  // calling thread; a split step (SPLIT_BATCH) from the thread of the slice
  // that finishes the layer last, which first combines the slices' gradients
  // of the variable: calls may come from different threads, one at a time
  // (that slice is the last past the layer, so every other slice has made
  // its calls for the layers before). A worker starts pushing each gradient
  // then (PsGroup::StartPush). Every variable is reported exactly once, unless the
  // call fails first (then none is).
  using GradientReady = std::function<void(size_t variable)>;
  //
  // `await_params` (optional) is called with each of a layer's variables
  // before its forward reads them (first layer first), and must return true
  // once params[variable] holds its final values for the step, or false if
  // they will not come: the step then ends with ABORTED before any gradient
  // is reported. A worker pulls the values meanwhile (PsGroup::StartPull).
  // A split step calls it from every slice's thread, so it must be
  // thread-safe and give every caller the same answer for a variable.
  using AwaitParams = std::function<bool(size_t variable)>;
  absl::StatusOr<float> ComputeGradients(absl::Span<const Tensor* const> params,
                                         const Dataset& batch, uint64_t step_seed,
                                         std::vector<Tensor>* grads,
                                         const GradientReady& ready = nullptr,
                                         const AwaitParams& await_params = nullptr);

  // Evaluation-mode forward (dropout off, batch norm with its moving
  // averages) and the loss (without weight decay); errors as ComputeGradients.
  absl::StatusOr<EvalResult> Evaluate(absl::Span<const Tensor* const> params,
                                      const Dataset& batch);

 private:
  // One slice of a cut batch: its examples, the Model that runs it (null for
  // slice 0, which runs on this one), its gradients and results.
  struct Slice {
    std::unique_ptr<Model> model;
    Dataset batch;
    int64_t offset = 0;  // index of its first example in the whole batch
    std::vector<Tensor> grads;
    std::optional<double> loss;
    EvalResult eval;
  };

  Model(ModelDef def, const ModelBuildOptions& options, Shape input_shape,
        std::vector<std::vector<int>> inputs, std::vector<std::unique_ptr<Layer>> layers);
  // Fuses the relu layers ModelBuildOptions::fuse_relu allows (sets
  // fused_away_ and storage_).
  void FuseRelus();

  absl::Status Validate(absl::Span<const Tensor* const> params, const Dataset& batch) const;
  // Every layer's forward in order; with `await_params`, each layer's
  // variables first (false: stops there and returns false).
  bool Forward(absl::Span<const Tensor* const> params, const Tensor& input,
               const ForwardOptions& options, const AwaitParams& await_params = nullptr);
  // Backward of every layer, in reverse, after a Forward of `input`, from
  // grad_activations_.back(); weight gradients go to grad_ptrs_.
  // `ready` (may be empty) is called with each of a layer's variables after
  // its backward; weight decay is the caller's.
  void Backward(absl::Span<const Tensor* const> params, const Tensor& input,
                const GradientReady& ready);
  // Points input_ptrs_ at layer i's inputs (activations_, or `input`).
  absl::Span<const Tensor* const> LayerInputs(size_t i, const Tensor& input);
  // The output of source `source` (kModelInput: `input`).
  const Tensor& Output(int source, const Tensor& input) const {
    return source < 0 ? input : activations_[storage_[source]];
  }
  // The unsplit work on a validated batch (or slice of one): the loss, or
  // nullopt when `await_params` said a variable will not come. With
  // `batch_products`, the weight gradients of batch_products_' layers are left
  // out (and their tensors in `grads` untouched).
  std::optional<double> ComputeGradientsOnce(absl::Span<const Tensor* const> params,
                                             const Dataset& batch, uint64_t step_seed,
                                             int64_t example_offset, bool batch_products,
                                             std::vector<Tensor>* grads, const GradientReady& ready,
                                             const AwaitParams& await_params);
  EvalResult EvaluateOnce(absl::Span<const Tensor* const> params, const Dataset& batch);
  // How many slices a batch of `n` examples is cut into (1 = not cut) for a
  // training step or an evaluation, with OpenBLAS's thread count set for that.
  absl::StatusOr<int> PrepareSlices(int64_t n, bool training);
  // Adds the L2 weight decay of weight_decays_ to `grads`; returns its loss.
  double AddWeightDecay(absl::Span<const Tensor* const> params, std::vector<Tensor>* grads) const;
  // The loss of `output` against `batch` (dLoss/doutput into `grad` unless null).
  LossValue ComputeLoss(const Tensor& output, const Dataset& batch, Tensor* grad) const;
  // Cuts `batch` into the first `count` slices_.
  void CutBatch(const Dataset& batch, int count);
  struct BatchProduct;
  // Copies slice `i`'s (run by `model`) rows of each batch product's inputs
  // and output gradients (times weights_[i]) into the whole-batch tensors.
  void GatherBatchProducts(int i, const Model& model);
  void GatherBatchProduct(int i, const Model& model, BatchProduct* product);
  // A split step with a GradientReady: slice `i` (run by `model`) is past
  // variable v's layer. The last slice to get there combines v (the weighted
  // sum of the slices', or the batch product over the whole batch) and, unless
  // it has weight decay, calls `ready` (from this runner thread).
  void SliceFinishedVariable(int i, const Model& model, size_t v, int count,
                             std::vector<Tensor>* grads, const GradientReady& ready);
  // Elements [lo, hi) of summed variable v: (*grads)[v] (slice 0's) becomes
  // the sum over the `count` slices of weights_[slice] * their gradients.
  void SumSlices(size_t v, int count, int64_t lo, int64_t hi, std::vector<Tensor>* grads) const;
  // On the runner's threads: grads = sum over slices of weights_[slice] *
  // slice gradients, where slice 0's are already in `grads`, and the batch
  // products' weight gradients over the whole batch.
  void CombineGradients(int count, std::vector<Tensor>* grads);

  const ModelDef def_;  // to build the slices' Models
  const ModelBuildOptions options_;
  const std::string name_;
  const Shape input_shape_;
  const std::vector<std::vector<int>> inputs_;  // per layer, as layer_inputs()
  const std::vector<std::unique_ptr<Layer>> layers_;
  const LossDef loss_;
  std::vector<VariableSpec> variables_;
  std::vector<size_t> first_param_;  // per layer: index of its first variable
  std::vector<size_t> param_count_;  // per layer: number of its variables

  // Per layer: a fused relu (skipped by Forward and Backward), the layer that
  // does its work (relus_done_by), and the layer whose activations_ and
  // grad_activations_ hold its output and gradient: itself; for a fused relu,
  // its input layer, which writes the relu's output (FuseRelu) or, when the
  // relu's reader applies it (FuseReluBefore), the relu's input, which that
  // reader alone reads, and the gradient of that input it returns.
  std::vector<bool> fused_away_;
  std::vector<int> relu_done_by_;
  std::vector<int> storage_;
  // Reused between calls: activations_[storage_[i]] is layer i's output,
  // grad_activations_[storage_[i]] dLoss/d(that output) (for a relu its
  // reader does, the relu's input and its gradient, as above; a fused relu's
  // own are never used); grad_ptrs_ points into the caller's grads.
  std::vector<Tensor> activations_;
  std::vector<Tensor> grad_activations_;
  std::vector<Tensor*> grad_ptrs_;
  // Backward of an output several layers read: the first reader backward
  // reaches (the last in def order) writes its gradient into grad_activations_;
  // the others write into grad_scratch_[scratch_of_[layer][input]] (-1 for
  // the first), which is then added. A scratch tensor serves every such input
  // of one shape at one position among its layer's added inputs, so its shape
  // never changes.
  std::vector<std::vector<int>> scratch_of_;
  std::vector<Tensor> grad_scratch_;
  std::vector<const Tensor*> input_ptrs_;  // one layer's inputs
  std::vector<Tensor*> grad_input_ptrs_;   // one layer's input gradients

  int compute_threads_ = 0;  // 0: SetComputeThreads not called
  ComputeSplit split_ = BLAS_THREADS;
  bool training_splittable_ = true;  // no batch_norm
  // Layers with L2 weight decay: their weights' variable index and the decay.
  struct WeightDecay {
    size_t var;
    float decay;
  };
  std::vector<WeightDecay> weight_decays_;
  std::vector<bool> has_weight_decay_;  // per variable
  std::vector<Slice> slices_;
  // Per layer: the group its slices' copies share (Layer::uses_slice_group),
  // else null.
  std::vector<std::unique_ptr<SliceGroup>> slice_groups_;
  std::vector<double> weights_;  // per slice: its share of the loss
  std::unique_ptr<ParallelRunner> runner_;

  // A layer whose weight gradient (variable `var`) a split step computes once
  // over the whole batch (Layer::has_batch_product_weight_gradient): a single
  // matrix product instead of one per slice, each writing a whole gradient the
  // size of the weights, and their sum.
  struct BatchProduct {
    size_t layer;
    size_t var;
    Tensor inputs;        // [n, input elements], the slices' inputs in order
    Tensor grad_outputs;  // [n, output elements], each slice's times its weight
  };
  std::vector<BatchProduct> batch_products_;
  std::vector<bool> is_batch_product_;  // per variable
  // Per variable, in a split step with a GradientReady: the slices past its
  // layer's backward.
  std::vector<std::atomic<int>> slices_done_;
};

}  // namespace tessera

#endif  // TESSERA_NN_MODEL_H_
