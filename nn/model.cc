#include "nn/model.h"

// Model construction: FromModelDef, the constructor and initial values. The
// compute (validation, forward, backward, batch slices) is in model_compute.cc.

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "nn/initializers.h"
#include "nn/layer_factory.h"
#include "nn/model_graph.h"
#include "nn/random.h"

namespace tessera {

absl::StatusOr<std::unique_ptr<Model>> Model::FromModelDef(const ModelDef& def,
                                                           const ModelBuildOptions& options) {
  const std::string model = absl::StrCat("model '", def.name(), "': ");
  const Shape input_shape(def.input_shape().begin(), def.input_shape().end());
  if (input_shape.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(model, "input_shape is empty"));
  }
  for (int64_t d : input_shape) {
    if (d <= 0 || d > (int64_t{1} << 24)) {
      return absl::InvalidArgumentError(absl::StrCat(
          model, "input_shape ", ShapeString(input_shape), " needs dimensions in [1, 2^24]"));
    }
  }
  RETURN_IF_ERROR(ValidateShape(input_shape, absl::StrCat(model, "input_shape")));
  if (def.layer_size() == 0) {
    return absl::InvalidArgumentError(absl::StrCat(model, "no layers"));
  }
  auto inputs = ResolveLayerInputs(def);
  if (!inputs.ok()) return Annotate(inputs.status(), absl::StrCat("model '", def.name(), "'"));
  std::vector<std::unique_ptr<Layer>> layers;
  for (int i = 0; i < def.layer_size(); ++i) {
    std::vector<LayerInput> layer_inputs;
    for (int source : (*inputs)[i]) {
      layer_inputs.push_back({InputName(def, source),
                              source == kModelInput ? input_shape : layers[source]->output_shape()});
    }
    auto layer = MakeLayer(def.layer(i), i, layer_inputs);
    if (!layer.ok()) return Annotate(layer.status(), absl::StrCat("model '", def.name(), "'"));
    // Each dimension is bounded, but their products need not be: a dense layer
    // over an input of many dimensions can ask for more than a Tensor holds.
    const std::string where = absl::StrCat(model, "layer ", i, " '", (*layer)->name(), "': ");
    RETURN_IF_ERROR(ValidateShape((*layer)->output_shape(), absl::StrCat(where, "output")));
    for (const VariableSpec& v : (*layer)->Variables()) {
      RETURN_IF_ERROR(ValidateShape(v.shape, absl::StrCat(where, "variable '", v.name, "'")));
    }
    if ((*layer)->MultiplyAddsPerExample() > Layer::kMaxMultiplyAddsPerExample) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, "more than 2^50 multiply-adds per example"));
    }
    layers.push_back(std::move(layer).value());
  }
  const Shape& shape = layers.back()->output_shape();
  const std::string last = absl::StrCat("last layer '", layers.back()->name(), "' output ",
                                        ShapeString(shape));
  switch (def.loss().kind_case()) {
    case LossDef::kSoftmaxCrossEntropy: {
      if (shape.size() != 1 || shape[0] < 1 || shape[0] > (int64_t{1} << 31) - 1) {
        return absl::InvalidArgumentError(absl::StrCat(
            model, "softmax_cross_entropy needs logits of shape [classes]; ", last));
      }
      const float smoothing = def.loss().softmax_cross_entropy().label_smoothing();
      if (!(smoothing >= 0.0f && smoothing < 1.0f)) {
        return absl::InvalidArgumentError(absl::StrCat(
            model, "softmax_cross_entropy.label_smoothing must be in [0, 1), got ", smoothing));
      }
      break;
    }
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
      new Model(def, options, input_shape, std::move(inputs).value(), std::move(layers)));
}

Model::Model(ModelDef def, const ModelBuildOptions& options, Shape input_shape,
             std::vector<std::vector<int>> inputs, std::vector<std::unique_ptr<Layer>> layers)
    : def_(std::move(def)),
      options_(options),
      name_(def_.name()),
      input_shape_(std::move(input_shape)),
      inputs_(std::move(inputs)),
      layers_(std::move(layers)),
      loss_(def_.loss()),
      activations_(layers_.size()),
      grad_activations_(layers_.size()) {
  for (const LayerDef& layer : def_.layer()) {
    if (layer.has_batch_norm()) training_splittable_ = false;
  }
  for (const auto& layer : layers_) {
    first_param_.push_back(variables_.size());
    std::vector<VariableSpec> vars = layer->Variables();
    param_count_.push_back(vars.size());
    for (auto& v : vars) variables_.push_back(std::move(v));
  }
  for (size_t i = 0; i < layers_.size(); ++i) {
    const LayerDef& layer = def_.layer(static_cast<int>(i));
    const float decay = layer.has_dense()    ? layer.dense().weight_decay()
                        : layer.has_conv2d() ? layer.conv2d().weight_decay()
                                             : 0.0f;
    if (decay > 0.0f) weight_decays_.push_back({first_param_[i], decay});  // weights: variable 0
  }
  has_weight_decay_.assign(variables_.size(), false);
  for (const WeightDecay& wd : weight_decays_) has_weight_decay_[wd.var] = true;
  grad_ptrs_.resize(variables_.size());
  FuseRelus();
  // Backward visits the layers in reverse: the first to reach an output writes
  // its gradient, the later ones add to it.
  // The others write into a scratch tensor, one per shape and position among
  // the layer's added inputs: its shape stays put from step to step (one
  // tensor for all would be resized, and zeroed, at every use).
  std::vector<bool> written(layers_.size(), false);
  scratch_of_.resize(layers_.size());
  std::vector<std::pair<Shape, size_t>> scratch_keys;
  size_t max_inputs = 0;
  for (size_t i = layers_.size(); i-- > 0;) {
    size_t layer_scratch = 0;
    if (fused_away_[i]) continue;
    for (int source : inputs_[i]) {
      int index = -1;
      const int held = source == kModelInput ? kModelInput : storage_[source];
      if (held != kModelInput && written[held]) {
        const std::pair<Shape, size_t> key(layers_[source]->output_shape(), layer_scratch++);
        const auto found = std::find(scratch_keys.begin(), scratch_keys.end(), key);
        index = static_cast<int>(found - scratch_keys.begin());
        if (found == scratch_keys.end()) scratch_keys.push_back(key);
      }
      scratch_of_[i].push_back(index);
      if (held != kModelInput) written[held] = true;
    }
    max_inputs = std::max(max_inputs, inputs_[i].size());
  }
  grad_scratch_.resize(scratch_keys.size());
  input_ptrs_.resize(max_inputs);
  grad_input_ptrs_.resize(max_inputs);
  is_batch_product_.assign(variables_.size(), false);
  for (size_t i = 0; i < layers_.size(); ++i) {
    if (layers_[i]->has_batch_product_weight_gradient() && param_count_[i] > 0) {
      batch_products_.push_back({i, first_param_[i], Tensor(), Tensor()});
      is_batch_product_[first_param_[i]] = true;
    }
  }
}

void Model::FuseRelus() {
  const size_t n = layers_.size();
  fused_away_.assign(n, false);
  relu_done_by_.assign(n, -1);
  storage_.resize(n);
  for (size_t i = 0; i < n; ++i) storage_[i] = static_cast<int>(i);
  if (!options_.fuse_relu) return;
  // How many inputs read each layer's output, and (when one does) which layer.
  std::vector<int> readers(n, 0), reader(n, -1);
  for (size_t r = 0; r < n; ++r) {
    for (int source : inputs_[r]) {
      if (source == kModelInput) continue;
      ++readers[source];
      reader[source] = static_cast<int>(r);
    }
  }
  for (size_t i = 0; i < n; ++i) {
    if (!def_.layer(static_cast<int>(i)).has_relu() || inputs_[i].size() != 1) continue;
    const int source = inputs_[i][0];
    if (source == kModelInput || readers[source] != 1 || fused_away_[source]) continue;
    int done_by = -1;
    if (layers_[source]->FuseRelu()) {
      done_by = source;
    } else if (readers[i] == 1 && layers_[reader[i]]->FuseReluBefore()) {
      done_by = reader[i];
    } else {
      continue;
    }
    fused_away_[i] = true;
    relu_done_by_[i] = done_by;
    storage_[i] = source;
  }
}

Model::~Model() = default;

const Shape& Model::output_shape() const { return layers_.back()->output_shape(); }

std::vector<Tensor> Model::InitialValues(uint64_t seed) const {
  // Trainable variables draw from streams numbered in their own order, so
  // batch norm's moving averages (constants) changed no other initial value.
  std::vector<Tensor> values;
  values.reserve(variables_.size());
  uint64_t trainable = 0, other = 0;
  for (const VariableSpec& v : variables_) {
    const uint64_t stream =
        v.kind == TRAINABLE ? trainable++ : (uint64_t{1} << 32) + other++;
    values.push_back(InitialTensor(v.initializer, v.shape, MixSeeds(seed, stream)));
  }
  return values;
}

}  // namespace tessera
