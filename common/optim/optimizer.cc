#include "common/optim/optimizer.h"

#include <cmath>
#include <limits>

#include "absl/strings/str_cat.h"
#include "common/optim/field_error.h"
#include "common/optim/learning_rate.h"
#include "common/optim/update_rules.h"
#include "common/status_macros.h"

namespace tessera {
namespace {

constexpr float kAdamDefaultLearningRate = 0.001f;

// [0, 1): betas, decays and momenta.
absl::Status CheckUnitInterval(absl::string_view field, float value) {
  if (value >= 0.0f && value < 1.0f) return absl::OkStatus();
  return FieldError(field, "in [0, 1)", value);
}

absl::Status CheckPositive(absl::string_view field, float value) {
  if (value > 0.0f && std::isfinite(value)) return absl::OkStatus();
  return FieldError(field, "> 0 and finite", value);
}

// Hyperparameters with TensorFlow 1.x's defaults filled in.
float AdamBeta1(const AdamOptions& o) { return o.has_beta1() ? o.beta1() : 0.9f; }
float AdamBeta2(const AdamOptions& o) { return o.has_beta2() ? o.beta2() : 0.999f; }
float AdamEpsilon(const AdamOptions& o) { return o.has_epsilon() ? o.epsilon() : 1e-8f; }
float RmsDecay(const RmsPropOptions& o) { return o.has_decay() ? o.decay() : 0.9f; }
float RmsMomentum(const RmsPropOptions& o) { return o.has_momentum() ? o.momentum() : 0.0f; }
float RmsEpsilon(const RmsPropOptions& o) { return o.has_epsilon() ? o.epsilon() : 1e-10f; }
float AdagradInitial(const AdagradOptions& o) {
  return o.has_initial_accumulator_value() ? o.initial_accumulator_value() : 0.1f;
}

}  // namespace

absl::Status Optimizer::InitializeSlots(absl::Span<const absl::Span<float>> slots) const {
  if (static_cast<int>(slots.size()) != NumSlots()) {
    return absl::InvalidArgumentError(absl::StrCat(Name(), " has ", NumSlots(),
                                                   " slots, got ", slots.size()));
  }
  for (int i = 0; i < NumSlots(); ++i) {
    const float value = SlotInitialValue(i);
    for (float& x : slots[i]) x = value;
  }
  return absl::OkStatus();
}

absl::Status Optimizer::Apply(absl::Span<float> var, absl::Span<const float> grad,
                              absl::Span<const absl::Span<float>> slots, float lr,
                              int64_t step) const {
  if (grad.size() != var.size()) {
    return absl::InvalidArgumentError(absl::StrCat(
        Name(), ": gradient has ", grad.size(), " elements, variable has ", var.size()));
  }
  if (static_cast<int>(slots.size()) != NumSlots()) {
    return absl::InvalidArgumentError(absl::StrCat(Name(), " needs ", NumSlots(),
                                                   " slots, got ", slots.size()));
  }
  for (int i = 0; i < NumSlots(); ++i) {
    if (slots[i].size() != var.size()) {
      return absl::InvalidArgumentError(
          absl::StrCat(Name(), ": slot \"", SlotNames()[i], "\" has ", slots[i].size(),
                       " elements, variable has ", var.size()));
    }
  }
  if (!(lr >= 0.0f) || !std::isfinite(lr)) {
    return absl::InvalidArgumentError(
        absl::StrCat(Name(), ": learning rate must be >= 0 and finite, got ", lr));
  }
  if (step < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat(Name(), ": step must be >= 1 (1-based update count), got ", step));
  }
  ApplyChecked(var, grad, slots, lr, step);
  return absl::OkStatus();
}

absl::Status ValidateOptimizerConfig(const OptimizerConfig& config) {
  if (config.has_learning_rate()) {
    if (!(config.learning_rate() >= 0.0f) || !std::isfinite(config.learning_rate())) {
      return FieldError("learning_rate", ">= 0 and finite", config.learning_rate());
    }
  } else if (config.kind_case() != OptimizerConfig::kAdam &&
             config.kind_case() != OptimizerConfig::KIND_NOT_SET) {
    return absl::InvalidArgumentError(
        "learning_rate must be set (only adam has a default, 0.001)");
  }
  switch (config.kind_case()) {
    case OptimizerConfig::kSgd:
      break;
    case OptimizerConfig::kMomentum: {
      const MomentumOptions& o = config.momentum();
      if (!o.has_momentum()) {
        return absl::InvalidArgumentError("momentum.momentum must be set, e.g. 0.9");
      }
      RETURN_IF_ERROR(CheckUnitInterval("momentum.momentum", o.momentum()));
      break;
    }
    case OptimizerConfig::kAdam: {
      const AdamOptions& o = config.adam();
      RETURN_IF_ERROR(CheckUnitInterval("adam.beta1", AdamBeta1(o)));
      RETURN_IF_ERROR(CheckUnitInterval("adam.beta2", AdamBeta2(o)));
      RETURN_IF_ERROR(CheckPositive("adam.epsilon", AdamEpsilon(o)));
      break;
    }
    case OptimizerConfig::kRmsprop: {
      const RmsPropOptions& o = config.rmsprop();
      RETURN_IF_ERROR(CheckUnitInterval("rmsprop.decay", RmsDecay(o)));
      RETURN_IF_ERROR(CheckUnitInterval("rmsprop.momentum", RmsMomentum(o)));
      RETURN_IF_ERROR(CheckPositive("rmsprop.epsilon", RmsEpsilon(o)));
      break;
    }
    case OptimizerConfig::kAdagrad:
      RETURN_IF_ERROR(CheckPositive("adagrad.initial_accumulator_value",
                                    AdagradInitial(config.adagrad())));
      break;
    case OptimizerConfig::KIND_NOT_SET:
      return absl::InvalidArgumentError(
          "optimizer kind not set: one of sgd, momentum, adam, rmsprop, adagrad");
  }
  return ValidateLearningRateSchedule(config.schedule());
}

float BaseLearningRate(const OptimizerConfig& config) {
  if (config.has_learning_rate()) return config.learning_rate();
  return config.kind_case() == OptimizerConfig::kAdam ? kAdamDefaultLearningRate : 0.0f;
}

absl::StatusOr<std::unique_ptr<Optimizer>> CreateOptimizer(const OptimizerConfig& config) {
  RETURN_IF_ERROR(ValidateOptimizerConfig(config));
  switch (config.kind_case()) {
    case OptimizerConfig::kSgd:
      return optim_internal::NewSgd();
    case OptimizerConfig::kMomentum:
      return optim_internal::NewMomentum(config.momentum().momentum(),
                                         config.momentum().use_nesterov());
    case OptimizerConfig::kAdam: {
      const AdamOptions& o = config.adam();
      return optim_internal::NewAdam(AdamBeta1(o), AdamBeta2(o), AdamEpsilon(o));
    }
    case OptimizerConfig::kRmsprop: {
      const RmsPropOptions& o = config.rmsprop();
      return optim_internal::NewRmsProp(RmsDecay(o), RmsMomentum(o), RmsEpsilon(o),
                                        o.centered());
    }
    case OptimizerConfig::kAdagrad:
      return optim_internal::NewAdagrad(AdagradInitial(config.adagrad()));
    case OptimizerConfig::KIND_NOT_SET:
      break;
  }
  return absl::InternalError("unreachable: optimizer kind not set after validation");
}

}  // namespace tessera
