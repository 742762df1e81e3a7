#include "nn/model.h"

#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "nn/initializers.h"
#include "nn/layer_factory.h"
#include "nn/loss.h"
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

absl::StatusOr<std::unique_ptr<Model>> Model::FromModelDef(const ModelDef& def) {
  const std::string model = absl::StrCat("model '", def.name(), "': ");
  Shape shape(def.input_shape().begin(), def.input_shape().end());
  if (shape.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(model, "input_shape is empty"));
  }
  for (int64_t d : shape) {
    if (d <= 0 || d > (int64_t{1} << 24)) {
      return absl::InvalidArgumentError(absl::StrCat(
          model, "input_shape ", ShapeString(shape), " needs dimensions in [1, 2^24]"));
    }
  }
  const Shape input_shape = shape;
  if (def.layer_size() == 0) {
    return absl::InvalidArgumentError(absl::StrCat(model, "no layers"));
  }
  std::vector<std::unique_ptr<Layer>> layers;
  absl::flat_hash_set<std::string> names;
  for (int i = 0; i < def.layer_size(); ++i) {
    const LayerDef& layer_def = def.layer(i);
    if (layer_def.name().empty()) {
      return absl::InvalidArgumentError(absl::StrCat(model, "layer ", i, " has no name"));
    }
    if (layer_def.name().find('/') != std::string::npos) {
      return absl::InvalidArgumentError(absl::StrCat(
          model, "layer ", i, " '", layer_def.name(), "': name must not contain '/'"));
    }
    if (!names.insert(layer_def.name()).second) {
      return absl::InvalidArgumentError(absl::StrCat(
          model, "layer ", i, " '", layer_def.name(), "': duplicate layer name"));
    }
    auto layer = MakeLayer(layer_def, i, shape);
    if (!layer.ok()) return Annotate(layer.status(), absl::StrCat("model '", def.name(), "'"));
    shape = (*layer)->output_shape();
    layers.push_back(std::move(layer).value());
  }
  const std::string last = absl::StrCat("last layer '", layers.back()->name(), "' output ",
                                        ShapeString(shape));
  switch (def.loss().kind_case()) {
    case LossDef::kSoftmaxCrossEntropy:
      if (shape.size() != 1 || shape[0] < 1 || shape[0] > (int64_t{1} << 31) - 1) {
        return absl::InvalidArgumentError(absl::StrCat(
            model, "softmax_cross_entropy needs logits of shape [classes]; ", last));
      }
      break;
    case LossDef::kMeanSquaredError: {
      const auto reduction = def.loss().mean_squared_error().reduction();
      if (reduction != MeanSquaredErrorLoss::MEAN && reduction != MeanSquaredErrorLoss::SUM) {
        return absl::InvalidArgumentError(
            absl::StrCat(model, "mean_squared_error: unknown reduction ", reduction));
      }
      break;
    }
    case LossDef::KIND_NOT_SET:
      return absl::InvalidArgumentError(absl::StrCat(model, "loss is not set"));
  }
  return std::unique_ptr<Model>(
      new Model(def.name(), input_shape, std::move(layers), def.loss()));
}

Model::Model(std::string name, Shape input_shape, std::vector<std::unique_ptr<Layer>> layers,
             LossDef loss)
    : name_(std::move(name)),
      input_shape_(std::move(input_shape)),
      layers_(std::move(layers)),
      loss_(std::move(loss)),
      activations_(layers_.size()),
      grad_activations_(layers_.size()) {
  for (const auto& layer : layers_) {
    first_param_.push_back(variables_.size());
    std::vector<VariableSpec> vars = layer->Variables();
    param_count_.push_back(vars.size());
    for (auto& v : vars) variables_.push_back(std::move(v));
  }
  grad_ptrs_.resize(variables_.size());
}

Model::~Model() = default;

const Shape& Model::output_shape() const { return layers_.back()->output_shape(); }

const Tensor& Model::last_output() const { return activations_.back(); }

std::vector<Tensor> Model::InitialValues(uint64_t seed) const {
  std::vector<Tensor> values;
  values.reserve(variables_.size());
  for (size_t i = 0; i < variables_.size(); ++i) {
    values.push_back(
        InitialTensor(variables_[i].initializer, variables_[i].shape, MixSeeds(seed, i)));
  }
  return values;
}

absl::Status Model::Validate(absl::Span<const Tensor* const> params,
                             const Batch& batch) const {
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

void Model::Forward(absl::Span<const Tensor* const> params, const Tensor& input,
                    const ForwardOptions& options) {
  const Tensor* x = &input;
  for (size_t i = 0; i < layers_.size(); ++i) {
    ForwardOptions layer_options = options;
    layer_options.seed = MixSeeds(options.seed, i);
    layers_[i]->Forward(params.subspan(first_param_[i], param_count_[i]), *x, layer_options,
                        &activations_[i]);
    x = &activations_[i];
  }
}

absl::StatusOr<float> Model::ComputeGradients(absl::Span<const Tensor* const> params,
                                              const Batch& batch, uint64_t step_seed,
                                              std::vector<Tensor>* grads) {
  RETURN_IF_ERROR(Validate(params, batch));
  ForwardOptions options;
  options.training = true;
  options.seed = step_seed;
  Forward(params, batch.inputs, options);

  const Tensor& output = activations_.back();
  Tensor* grad_output = &grad_activations_.back();
  LossValue loss =
      is_classifier()
          ? SoftmaxCrossEntropy(output, batch.labels, grad_output)
          : MeanSquaredError(output, batch.targets, loss_.mean_squared_error().reduction(),
                             grad_output);

  grads->resize(variables_.size());
  for (size_t i = 0; i < variables_.size(); ++i) {
    if ((*grads)[i].shape() != variables_[i].shape) (*grads)[i] = Tensor(variables_[i].shape);
    grad_ptrs_[i] = &(*grads)[i];
  }
  const absl::Span<Tensor* const> grad_span(grad_ptrs_);
  for (size_t i = layers_.size(); i-- > 0;) {
    const Tensor& input = i == 0 ? batch.inputs : activations_[i - 1];
    Tensor* grad_input = i == 0 ? nullptr : &grad_activations_[i - 1];
    layers_[i]->Backward(params.subspan(first_param_[i], param_count_[i]), input,
                         activations_[i], grad_activations_[i], grad_input,
                         grad_span.subspan(first_param_[i], param_count_[i]));
  }
  return static_cast<float>(loss.loss);
}

absl::StatusOr<Model::EvalResult> Model::Evaluate(absl::Span<const Tensor* const> params,
                                                  const Batch& batch) {
  RETURN_IF_ERROR(Validate(params, batch));
  Forward(params, batch.inputs, ForwardOptions{});
  const Tensor& output = activations_.back();
  LossValue loss =
      is_classifier()
          ? SoftmaxCrossEntropy(output, batch.labels, nullptr)
          : MeanSquaredError(output, batch.targets, loss_.mean_squared_error().reduction(),
                             nullptr);
  EvalResult result;
  result.loss_sum = loss.example_sum;
  result.correct = loss.correct;
  result.count = batch.size();
  return result;
}

}  // namespace tessera
