#include "nn/model.h"

// Model compute: validation of params and batches, forward, backward and
// evaluation, and SPLIT_BATCH's slices. Construction is in model.cc.

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "nn/blas_kernel.h"
#include "nn/layer_threads.h"
#include "nn/loss.h"
#include "nn/model_graph.h"
#include "nn/random.h"

namespace tessera {
namespace {

// Whether `t` is [n, example...].
bool HasBatchShape(const Tensor& t, int64_t n, const Shape& example) {
  if (t.rank() != static_cast<int>(example.size()) + 1 || t.dim(0) != n) return false;
  for (size_t i = 0; i < example.size(); ++i) {
    if (t.dim(static_cast<int>(i) + 1) != example[i]) return false;
  }
  return true;
}

Shape WithBatch(int64_t n, const Shape& example) {
  Shape shape{n};
  shape.insert(shape.end(), example.begin(), example.end());
  return shape;
}

}  // namespace

absl::Status Model::Validate(absl::Span<const Tensor* const> params,
                             const Dataset& batch) const {
  if (params.size() != variables_.size()) {
    return absl::InvalidArgumentError(absl::StrCat("model '", name_, "' has ",
                                                   variables_.size(), " variables, got ",
                                                   params.size(), " params"));
  }
  for (size_t i = 0; i < params.size(); ++i) {
    if (params[i] == nullptr || params[i]->shape() != variables_[i].shape) {
      return absl::InvalidArgumentError(absl::StrCat(
          "param ", i, " '", variables_[i].name, "': want shape ",
          ShapeString(variables_[i].shape), ", got ",
          params[i] == nullptr ? "null" : ShapeString(params[i]->shape())));
    }
  }
  const int64_t n = batch.size();
  if (n <= 0 || !HasBatchShape(batch.inputs, n, input_shape_)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "batch inputs: want shape ", ShapeString(WithBatch(n > 0 ? n : 1, input_shape_)),
        " with N >= 1, got ", ShapeString(batch.inputs.shape())));
  }
  if (is_classifier()) {
    if (static_cast<int64_t>(batch.labels.size()) != n) {
      return absl::InvalidArgumentError(absl::StrCat(
          "batch labels: want ", n, " (one per example), got ", batch.labels.size()));
    }
    const int64_t classes = output_shape()[0];
    for (int64_t i = 0; i < n; ++i) {
      if (batch.labels[i] < 0 || batch.labels[i] >= classes) {
        return absl::InvalidArgumentError(absl::StrCat("batch labels: label ", batch.labels[i],
                                                       " of example ", i,
                                                       " is outside [0, ", classes, ")"));
      }
    }
  } else if (batch.targets.size() != n * NumElements(output_shape()) ||
             batch.targets.rank() == 0 || batch.targets.dim(0) != n) {
    return absl::InvalidArgumentError(absl::StrCat(
        "batch targets: want shape ", ShapeString(WithBatch(n, output_shape())), ", got ",
        ShapeString(batch.targets.shape())));
  }
  return absl::OkStatus();
}

absl::Span<const Tensor* const> Model::LayerInputs(size_t i, const Tensor& input) {
  const std::vector<int>& sources = inputs_[i];
  for (size_t j = 0; j < sources.size(); ++j) input_ptrs_[j] = &Output(sources[j], input);
  return absl::MakeConstSpan(input_ptrs_).subspan(0, sources.size());
}

bool Model::Forward(absl::Span<const Tensor* const> params, const Tensor& input,
                    const ForwardOptions& options, const AwaitParams& await_params) {
  for (size_t i = 0; i < layers_.size(); ++i) {
    if (fused_away_[i]) continue;  // its input layer applied it
    if (await_params) {
      for (size_t v = first_param_[i]; v < first_param_[i] + param_count_[i]; ++v) {
        if (!await_params(v)) return false;
      }
    }
    ForwardOptions layer_options = options;
    layer_options.seed = MixSeeds(options.seed, i);
    layers_[i]->ForwardInputs(params.subspan(first_param_[i], param_count_[i]),
                              LayerInputs(i, input), layer_options, &activations_[i]);
  }
  return true;
}

void Model::Backward(absl::Span<const Tensor* const> params, const Tensor& input,
                     const GradientReady& ready) {
  const absl::Span<Tensor* const> grad_span(grad_ptrs_);
  for (size_t i = layers_.size(); i-- > 0;) {
    // A fused relu's input layer takes the gradient of the relu's output.
    if (fused_away_[i]) continue;
    const std::vector<int>& sources = inputs_[i];
    const std::vector<int>& scratch_of = scratch_of_[i];
    for (size_t j = 0; j < sources.size(); ++j) {
      Tensor* grad = nullptr;  // the model's input needs none
      if (sources[j] != kModelInput) {
        grad = scratch_of[j] >= 0 ? &grad_scratch_[scratch_of[j]]
                                  : &grad_activations_[storage_[sources[j]]];
      }
      grad_input_ptrs_[j] = grad;
    }
    layers_[i]->BackwardInputs(params.subspan(first_param_[i], param_count_[i]),
                               LayerInputs(i, input), activations_[i], grad_activations_[i],
                               absl::MakeSpan(grad_input_ptrs_).subspan(0, sources.size()),
                               grad_span.subspan(first_param_[i], param_count_[i]));
    for (size_t j = 0; j < sources.size(); ++j) {
      if (scratch_of[j] < 0) continue;
      const Tensor& add = grad_scratch_[scratch_of[j]];
      float* sum = grad_activations_[storage_[sources[j]]].data();
      const float* g = add.data();
      LayerParallelFor(add.size(), kMinElementsPerPart, [&](int64_t begin, int64_t end) {
        for (int64_t e = begin; e < end; ++e) sum[e] += g[e];
      });
    }
    if (ready) {
      for (size_t v = first_param_[i]; v < first_param_[i] + param_count_[i]; ++v) ready(v);
    }
  }
}

void Model::SetComputeThreads(int threads, ComputeSplit split) {
  // OpenBLAS's count before any Model changed it (a split step sets it to 1).
  static const int kDefaultThreads = std::max(1, BlasThreads());
  compute_threads_ = threads > 0 ? threads : kDefaultThreads;
  split_ = split;
}

absl::StatusOr<int> Model::PrepareSlices(int64_t n, bool training) {
  if (compute_threads_ == 0) return 1;  // OpenBLAS as the caller set it
  int count = 1;
  if (split_ == SPLIT_BATCH && (training_splittable_ || !training)) {
    count = static_cast<int>(std::min<int64_t>(compute_threads_, n / kMinSliceExamples));
  }
  if (count < 2) {
    SetBlasThreads(compute_threads_);
    for (const auto& layer : layers_) layer->SetSliceGroup(nullptr, 0);
    return 1;
  }
  SetBlasThreads(1);
  if (slices_.size() < static_cast<size_t>(count)) slices_.resize(count);
  for (int i = 1; i < count; ++i) {
    if (slices_[i].model != nullptr) continue;
    ASSIGN_OR_RETURN(slices_[i].model, FromModelDef(def_, options_));
  }
  if (runner_ == nullptr || runner_->width() < count) {
    runner_ = std::make_unique<ParallelRunner>(count);
  }
  slice_groups_.resize(layers_.size());
  for (size_t l = 0; l < layers_.size(); ++l) {
    if (!layers_[l]->uses_slice_group()) continue;
    if (slice_groups_[l] == nullptr) slice_groups_[l] = std::make_unique<SliceGroup>();
    SliceGroup* group = slice_groups_[l].get();
    group->Prepare(count, n);
    layers_[l]->PrepareSliceGroup(group);
    for (int i = 0; i < count; ++i) {
      Model& model = i == 0 ? *this : *slices_[i].model;
      model.layers_[l]->SetSliceGroup(group, i);
    }
  }
  return count;
}

void Model::CutBatch(const Dataset& batch, int count) {
  const int64_t n = batch.size();
  const int64_t example = NumElements(input_shape_);
  for (int i = 0; i < count; ++i) {
    Slice& slice = slices_[i];
    const int64_t begin = SliceBegin(n, i, count), end = SliceBegin(n, i + 1, count);
    slice.offset = begin;
    const Shape shape = WithBatch(end - begin, input_shape_);
    if (slice.batch.inputs.shape() != shape) slice.batch.inputs.Resize(shape);
    std::copy(batch.inputs.data() + begin * example, batch.inputs.data() + end * example,
              slice.batch.inputs.data());
    if (is_classifier()) {
      slice.batch.labels.assign(batch.labels.begin() + begin, batch.labels.begin() + end);
    } else {
      Shape target_shape = batch.targets.shape();
      target_shape[0] = end - begin;
      const int64_t outputs = batch.targets.size() / n;
      if (slice.batch.targets.shape() != target_shape) slice.batch.targets.Resize(target_shape);
      std::copy(batch.targets.data() + begin * outputs, batch.targets.data() + end * outputs,
                slice.batch.targets.data());
    }
  }
}

void Model::GatherBatchProduct(int i, const Model& model, BatchProduct* product) {
  const Slice& slice = slices_[i];
  const int64_t rows = slice.batch.size();
  const float weight = static_cast<float>(weights_[i]);
  const Tensor& input = model.Output(inputs_[product->layer][0], slice.batch.inputs);
  const Tensor& grad_output = model.grad_activations_[product->layer];
  const int64_t in = product->inputs.size() / product->inputs.dim(0);
  const int64_t out = product->grad_outputs.size() / product->grad_outputs.dim(0);
  std::copy(input.data(), input.data() + rows * in, product->inputs.data() + slice.offset * in);
  float* dst = product->grad_outputs.data() + slice.offset * out;
  const float* src = grad_output.data();
  for (int64_t e = 0; e < rows * out; ++e) dst[e] = weight * src[e];
}

void Model::GatherBatchProducts(int i, const Model& model) {
  for (BatchProduct& product : batch_products_) GatherBatchProduct(i, model, &product);
}

void Model::SliceFinishedVariable(int i, const Model& model, size_t v, int count,
                                  std::vector<Tensor>* grads, const GradientReady& ready) {
  BatchProduct* product = nullptr;
  if (is_batch_product_[v]) {
    for (BatchProduct& p : batch_products_) {
      if (p.var == v) product = &p;
    }
    GatherBatchProduct(i, model, product);
  }
  // acq_rel: the last slice sees every other slice's gradient (and rows).
  if (slices_done_[v].fetch_add(1, std::memory_order_acq_rel) != count - 1) return;
  Tensor& g = (*grads)[v];
  if (product != nullptr) {
    layers_[product->layer]->WeightGradientRows(product->inputs, product->grad_outputs, 0, g.dim(0),
                                                &g);
  } else {
    SumSlices(v, count, 0, g.size(), grads);
  }
  if (!has_weight_decay_[v]) ready(v);  // the decayed ones after the decay
}

void Model::SumSlices(size_t v, int count, int64_t lo, int64_t hi,
                      std::vector<Tensor>* grads) const {
  float* g = (*grads)[v].data();
  const float w0 = static_cast<float>(weights_[0]);
  const float w1 = static_cast<float>(weights_[1]);
  const float* g1 = slices_[1].grads[v].data();
  for (int64_t e = lo; e < hi; ++e) g[e] = w0 * g[e] + w1 * g1[e];
  for (int i = 2; i < count; ++i) {
    const float wi = static_cast<float>(weights_[i]);
    const float* gi = slices_[i].grads[v].data();
    for (int64_t e = lo; e < hi; ++e) g[e] += wi * gi[e];
  }
}

void Model::CombineGradients(int count, std::vector<Tensor>* grads) {
  // Thread t combines its part of the summed variables' elements laid end to
  // end, and rows [rows * t / count, rows * (t + 1) / count) of each batch
  // product.
  auto summed_size = [&](size_t v) { return is_batch_product_[v] ? 0 : (*grads)[v].size(); };
  auto part = [&](int t) {
    ForEachRangeOfPart(grads->size(), summed_size, t, count, [&](size_t v, int64_t lo, int64_t hi) {
      SumSlices(v, count, lo, hi, grads);
    });
    for (const BatchProduct& product : batch_products_) {
      const int64_t rows = (*grads)[product.var].dim(0);
      layers_[product.layer]->WeightGradientRows(product.inputs, product.grad_outputs,
                                                 rows * t / count, rows * (t + 1) / count,
                                                 &(*grads)[product.var]);
    }
  };
  runner_->Run(count, part);
}

namespace {

absl::Status ParamsDidNotCome() {
  return absl::AbortedError("the step's variables did not all arrive (the pull failed)");
}

}  // namespace

absl::StatusOr<float> Model::ComputeGradients(absl::Span<const Tensor* const> params,
                                              const Dataset& batch, uint64_t step_seed,
                                              std::vector<Tensor>* grads,
                                              const GradientReady& ready,
                                              const AwaitParams& await_params) {
  RETURN_IF_ERROR(Validate(params, batch));
  ASSIGN_OR_RETURN(const int count, PrepareSlices(batch.size(), /*training=*/true));
  if (count == 1) {
    GradientReady undecayed;
    if (ready) {
      undecayed = [&](size_t v) {
        if (!has_weight_decay_[v]) ready(v);
      };
    }
    const std::optional<double> loss =
        ComputeGradientsOnce(params, batch, step_seed, 0,
                             /*batch_products=*/false, grads, undecayed, await_params);
    if (!loss.has_value()) return ParamsDidNotCome();
    const double decay = AddWeightDecay(params, grads);
    if (ready) {
      for (const WeightDecay& wd : weight_decays_) ready(wd.var);
    }
    return static_cast<float>(*loss + decay);
  }
  CutBatch(batch, count);
  // Softmax cross-entropy and MEAN squared error average over the examples, so
  // a slice weighs by its share of them; a SUM loss adds up.
  const bool sum = !is_classifier() &&
                   loss_.mean_squared_error().reduction() == MeanSquaredErrorLoss::SUM;
  weights_.resize(count);
  for (int i = 0; i < count; ++i) {
    weights_[i] = sum ? 1.0
                      : static_cast<double>(slices_[i].batch.size()) /
                            static_cast<double>(batch.size());
  }
  const int64_t n = batch.size();
  grads->resize(variables_.size());
  for (BatchProduct& product : batch_products_) {
    const Layer& layer = *layers_[product.layer];
    const Shape inputs{n, NumElements(layer.input_shapes()[0])};
    const Shape grad_outputs{n, NumElements(layer.output_shape())};
    if (product.inputs.shape() != inputs) product.inputs.Resize(inputs);
    if (product.grad_outputs.shape() != grad_outputs) product.grad_outputs.Resize(grad_outputs);
    Tensor& grad = (*grads)[product.var];
    if (grad.shape() != variables_[product.var].shape) {
      grad = Tensor(variables_[product.var].shape);
    }
  }
  // With `ready`, each variable is combined as soon as every slice is past its
  // layer's backward, by the slice that gets there last, and reported at once
  // (so its push overlaps the other layers' backward); without, all of them at
  // the end, each thread a part of every variable (CombineGradients).
  if (ready) {
    if (slices_done_.size() != variables_.size()) {
      slices_done_ = std::vector<std::atomic<int>>(variables_.size());
    }
    for (size_t v = 0; v < variables_.size(); ++v) {
      slices_done_[v].store(0, std::memory_order_relaxed);  // Run orders it before the slices
    }
  }
  auto slice = [&](int i) {
    Slice& s = slices_[i];
    Model* model = i == 0 ? this : s.model.get();
    GradientReady finished;
    if (ready) {
      finished = [&, i, model](size_t v) {
        SliceFinishedVariable(i, *model, v, count, grads, ready);
      };
    }
    s.loss = model->ComputeGradientsOnce(params, s.batch, step_seed, s.offset,
                                         /*batch_products=*/true, i == 0 ? grads : &s.grads,
                                         finished, await_params);
    if (!ready && s.loss.has_value()) GatherBatchProducts(i, *model);
  };
  runner_->Run(count, slice);
  double loss = 0.0;
  for (int i = 0; i < count; ++i) {
    // Every slice got the same answers from await_params, so all stopped.
    if (!slices_[i].loss.has_value()) return ParamsDidNotCome();
    loss += weights_[i] * *slices_[i].loss;
  }
  if (!ready) CombineGradients(count, grads);
  const double decay = AddWeightDecay(params, grads);
  if (ready) {
    for (const WeightDecay& wd : weight_decays_) ready(wd.var);
  }
  return static_cast<float>(loss + decay);
}

double Model::AddWeightDecay(absl::Span<const Tensor* const> params,
                             std::vector<Tensor>* grads) const {
  double loss = 0.0;
  for (const WeightDecay& wd : weight_decays_) {
    const float* w = params[wd.var]->data();
    float* g = (*grads)[wd.var].data();
    const int64_t n = params[wd.var]->size();
    double sum_sq = 0.0;
    for (int64_t i = 0; i < n; ++i) {
      sum_sq += static_cast<double>(w[i]) * w[i];
      g[i] += wd.decay * w[i];
    }
    loss += 0.5 * wd.decay * sum_sq;
  }
  return loss;
}

LossValue Model::ComputeLoss(const Tensor& output, const Dataset& batch, Tensor* grad) const {
  if (is_classifier()) {
    return SoftmaxCrossEntropy(output, batch.labels, grad,
                               loss_.softmax_cross_entropy().label_smoothing());
  }
  return MeanSquaredError(output, batch.targets, loss_.mean_squared_error().reduction(), grad);
}

std::optional<double> Model::ComputeGradientsOnce(absl::Span<const Tensor* const> params,
                                                  const Dataset& batch, uint64_t step_seed,
                                                  int64_t example_offset, bool batch_products,
                                                  std::vector<Tensor>* grads,
                                                  const GradientReady& ready,
                                                  const AwaitParams& await_params) {
  ForwardOptions options;
  options.training = true;
  options.seed = step_seed;
  options.example_offset = example_offset;
  if (!Forward(params, batch.inputs, options, await_params)) return std::nullopt;

  const LossValue loss =
      ComputeLoss(activations_[storage_.back()], batch, &grad_activations_[storage_.back()]);

  grads->resize(variables_.size());
  for (size_t i = 0; i < variables_.size(); ++i) {
    if (batch_products && is_batch_product_[i]) {
      grad_ptrs_[i] = nullptr;
      continue;
    }
    if ((*grads)[i].shape() != variables_[i].shape) (*grads)[i] = Tensor(variables_[i].shape);
    grad_ptrs_[i] = &(*grads)[i];
  }
  Backward(params, batch.inputs, ready);
  return loss.loss;
}

absl::StatusOr<Model::EvalResult> Model::Evaluate(absl::Span<const Tensor* const> params,
                                                  const Dataset& batch) {
  RETURN_IF_ERROR(Validate(params, batch));
  ASSIGN_OR_RETURN(const int count, PrepareSlices(batch.size(), /*training=*/false));
  if (count == 1) return EvaluateOnce(params, batch);
  CutBatch(batch, count);
  auto slice = [&](int i) {
    Slice& s = slices_[i];
    s.eval = (i == 0 ? this : s.model.get())->EvaluateOnce(params, s.batch);
  };
  runner_->Run(count, slice);
  EvalResult result;
  for (int i = 0; i < count; ++i) {
    result.loss_sum += slices_[i].eval.loss_sum;
    result.correct += slices_[i].eval.correct;
    result.count += slices_[i].eval.count;
  }
  return result;
}

Model::EvalResult Model::EvaluateOnce(absl::Span<const Tensor* const> params,
                                      const Dataset& batch) {
  Forward(params, batch.inputs, ForwardOptions{});
  const LossValue loss = ComputeLoss(activations_[storage_.back()], batch, nullptr);
  EvalResult result;
  result.loss_sum = loss.example_sum;
  result.correct = loss.correct;
  result.count = batch.size();
  return result;
}

}  // namespace tessera
