#include "nn/layer_factory.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "nn/activations.h"
#include "nn/batch_norm.h"
#include "nn/conv2d.h"
#include "nn/dense.h"
#include "nn/global_pool.h"
#include "nn/initializers.h"
#include "nn/merge.h"
#include "nn/model_def.h"
#include "nn/pool.h"

namespace tessera {
namespace {

// Largest kernel, stride, filter or unit count accepted (guards against overflow).
constexpr int64_t kMaxDim = int64_t{1} << 24;

// `init` if set (validated), else `fallback`.
absl::StatusOr<Initializer> ResolveInitializer(const Initializer& init,
                                               const Initializer& fallback,
                                               const std::string& what) {
  if (init.kind_case() == Initializer::KIND_NOT_SET) return fallback;
  RETURN_IF_ERROR(ValidateInitializer(init, what));
  return init;
}

absl::Status CheckRange(int64_t value, int64_t lo, const std::string& prefix,
                        absl::string_view field) {
  if (value < lo || value > kMaxDim) {
    return absl::InvalidArgumentError(absl::StrCat(prefix, field, " must be in [", lo, ", ",
                                                   kMaxDim, "], got ", value));
  }
  return absl::OkStatus();
}

absl::Status CheckWeightDecay(float value, const std::string& prefix, absl::string_view field) {
  if (value >= 0.0f && std::isfinite(value)) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrCat(prefix, field, " must be finite and >= 0, got ", value));
}

absl::Status CheckImageInput(const Shape& input_shape, const std::string& prefix,
                             absl::string_view kind) {
  if (input_shape.size() != 3) {
    return absl::InvalidArgumentError(absl::StrCat(prefix, kind,
                                                   " needs an input of shape [H, W, C], got ",
                                                   ShapeString(input_shape)));
  }
  return absl::OkStatus();
}

absl::Status CheckOutput(const Shape& output, const Shape& input,
                         const std::string& prefix) {
  if (NumElements(output) == 0) {
    return absl::InvalidArgumentError(absl::StrCat(prefix, "output shape ",
                                                   ShapeString(output), " for input ",
                                                   ShapeString(input), " is empty"));
  }
  return absl::OkStatus();
}

// Checks the inputs of add (equal shapes) or concat (equal rank >= 1 and
// dimensions but the last) and returns their shapes.
absl::StatusOr<std::vector<Shape>> MergeInputShapes(absl::Span<const LayerInput> inputs,
                                                    bool concat, const std::string& prefix) {
  std::vector<Shape> shapes;
  const Shape& first = inputs[0].shape;
  for (const LayerInput& input : inputs) {
    const Shape& shape = input.shape;
    const bool fits = concat ? !shape.empty() && shape.size() == first.size() &&
                                   std::equal(shape.begin(), shape.end() - 1, first.begin())
                             : shape == first;
    if (!fits) {
      return absl::InvalidArgumentError(absl::StrCat(
          prefix,
          concat ? "concat needs inputs whose dimensions but the last agree"
                 : "add needs inputs of one shape",
          ": input '", input.name, "' is ", ShapeString(shape), ", input '", inputs[0].name,
          "' is ", ShapeString(first)));
    }
    shapes.push_back(shape);
  }
  return shapes;
}

}  // namespace

absl::StatusOr<std::unique_ptr<Layer>> MakeLayer(const LayerDef& def, int index,
                                                 absl::Span<const LayerInput> inputs) {
  const std::string prefix = absl::StrCat("layer ", index, " '", def.name(), "': ");
  if (def.kind_case() == LayerDef::KIND_NOT_SET) {
    return absl::InvalidArgumentError(absl::StrCat(prefix, "layer kind is not set"));
  }
  const bool merge = def.kind_case() == LayerDef::kAdd || def.kind_case() == LayerDef::kConcat;
  if (merge && inputs.size() < 2) {
    return absl::InvalidArgumentError(absl::StrCat(prefix, LayerKindName(def),
                                                   " needs 2 or more inputs, got ",
                                                   inputs.size()));
  }
  if (!merge && inputs.size() != 1) {
    return absl::InvalidArgumentError(absl::StrCat(prefix, LayerKindName(def),
                                                   " reads 1 input, got ", inputs.size()));
  }
  const Shape& input_shape = inputs[0].shape;
  Initializer glorot;
  glorot.mutable_glorot_uniform();
  Initializer zeros;
  zeros.mutable_zeros();
  std::unique_ptr<Layer> layer;
  switch (def.kind_case()) {
    case LayerDef::kDense: {
      const auto& d = def.dense();
      RETURN_IF_ERROR(CheckRange(d.units(), 1, prefix, "dense.units"));
      ASSIGN_OR_RETURN(Initializer w, ResolveInitializer(d.weights_initializer(), glorot,
                                                         prefix + "weights_initializer"));
      ASSIGN_OR_RETURN(Initializer b, ResolveInitializer(d.biases_initializer(), zeros,
                                                         prefix + "biases_initializer"));
      RETURN_IF_ERROR(CheckWeightDecay(d.weight_decay(), prefix, "dense.weight_decay"));
      if (NumElements(input_shape) == 0) {
        return absl::InvalidArgumentError(
            absl::StrCat(prefix, "dense input ", ShapeString(input_shape), " is empty"));
      }
      layer = std::make_unique<DenseLayer>(def.name(), input_shape, d.units(), std::move(w),
                                           std::move(b));
      break;
    }
    case LayerDef::kConv2D: {
      const auto& c = def.conv2d();
      RETURN_IF_ERROR(CheckImageInput(input_shape, prefix, "conv2d"));
      RETURN_IF_ERROR(CheckRange(c.filters(), 1, prefix, "conv2d.filters"));
      RETURN_IF_ERROR(CheckRange(c.kernel_size(), 1, prefix, "conv2d.kernel_size"));
      const int64_t stride = c.stride() == 0 ? 1 : c.stride();
      RETURN_IF_ERROR(CheckRange(stride, 1, prefix, "conv2d.stride"));
      if (c.padding() != SAME && c.padding() != VALID) {
        return absl::InvalidArgumentError(absl::StrCat(prefix, "unknown padding ", c.padding()));
      }
      RETURN_IF_ERROR(CheckWeightDecay(c.weight_decay(), prefix, "conv2d.weight_decay"));
      ASSIGN_OR_RETURN(Initializer w, ResolveInitializer(c.weights_initializer(), glorot,
                                                         prefix + "weights_initializer"));
      ASSIGN_OR_RETURN(Initializer b, ResolveInitializer(c.biases_initializer(), zeros,
                                                         prefix + "biases_initializer"));
      layer = std::make_unique<Conv2DLayer>(def.name(), input_shape, c.filters(),
                                            c.kernel_size(), stride, c.padding(),
                                            std::move(w), std::move(b),
                                            !c.has_use_bias() || c.use_bias());
      break;
    }
    case LayerDef::kMaxPool:
    case LayerDef::kAvgPool: {
      const bool max = def.kind_case() == LayerDef::kMaxPool;
      const PoolDef& p = max ? def.max_pool() : def.avg_pool();
      const char* kind = max ? "max_pool" : "avg_pool";
      RETURN_IF_ERROR(CheckImageInput(input_shape, prefix, kind));
      const int64_t size = p.size() == 0 ? 2 : p.size();
      const int64_t stride = p.stride() == 0 ? size : p.stride();
      RETURN_IF_ERROR(CheckRange(size, 1, prefix, absl::StrCat(kind, ".size")));
      RETURN_IF_ERROR(CheckRange(stride, 1, prefix, absl::StrCat(kind, ".stride")));
      if (p.padding() != SAME && p.padding() != VALID) {
        return absl::InvalidArgumentError(absl::StrCat(prefix, "unknown padding ", p.padding()));
      }
      layer = std::make_unique<PoolLayer>(
          def.name(), max ? PoolKind::kMax : PoolKind::kAverage, input_shape, size, stride,
          p.padding());
      break;
    }
    case LayerDef::kRelu:
      layer = std::make_unique<ReluLayer>(def.name(), input_shape);
      break;
    case LayerDef::kDropout: {
      const float rate = def.dropout().rate();
      if (!(rate >= 0.0f && rate < 1.0f)) {
        return absl::InvalidArgumentError(
            absl::StrCat(prefix, "dropout.rate must be in [0, 1), got ", rate));
      }
      layer = std::make_unique<DropoutLayer>(def.name(), input_shape, rate);
      break;
    }
    case LayerDef::kBatchNorm: {
      const float eps = def.batch_norm().epsilon() == 0.0f ? 1e-3f : def.batch_norm().epsilon();
      if (!(eps > 0.0f) || !std::isfinite(eps)) {
        return absl::InvalidArgumentError(
            absl::StrCat(prefix, "batch_norm.epsilon must be > 0, got ", eps));
      }
      if (input_shape.empty()) {
        return absl::InvalidArgumentError(
            absl::StrCat(prefix, "batch_norm needs an input of rank >= 1"));
      }
      const BatchNormDef& bn = def.batch_norm();
      const float decay = bn.has_decay() ? bn.decay() : BatchNormLayer::kDefaultDecay;
      if (!(decay >= 0.0f && decay <= 1.0f)) {
        return absl::InvalidArgumentError(
            absl::StrCat(prefix, "batch_norm.decay must be in [0, 1], got ", decay));
      }
      layer = std::make_unique<BatchNormLayer>(def.name(), input_shape, eps, decay);
      break;
    }
    case LayerDef::kGlobalAvgPool:
      RETURN_IF_ERROR(CheckImageInput(input_shape, prefix, "global_avg_pool"));
      layer = std::make_unique<GlobalAvgPoolLayer>(def.name(), input_shape);
      break;
    case LayerDef::kAdd: {
      ASSIGN_OR_RETURN(std::vector<Shape> shapes, MergeInputShapes(inputs, false, prefix));
      layer = std::make_unique<AddLayer>(def.name(), std::move(shapes));
      break;
    }
    case LayerDef::kConcat: {
      ASSIGN_OR_RETURN(std::vector<Shape> shapes, MergeInputShapes(inputs, true, prefix));
      layer = std::make_unique<ConcatLayer>(def.name(), std::move(shapes));
      break;
    }
    case LayerDef::KIND_NOT_SET:
      break;  // answered above
  }
  RETURN_IF_ERROR(CheckOutput(layer->output_shape(), input_shape, prefix));
  return layer;
}

}  // namespace tessera
