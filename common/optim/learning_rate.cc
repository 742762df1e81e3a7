#include "common/optim/learning_rate.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "common/optim/field_error.h"

namespace tessera {
namespace {

constexpr double kPi = 3.14159265358979323846;

// The decayed rate before warm-up, in double.
double Decayed(const LearningRateSchedule& schedule, double base_lr, int64_t step) {
  switch (schedule.decay_case()) {
    case LearningRateSchedule::kExponentialDecay: {
      const ExponentialDecay& d = schedule.exponential_decay();
      if (d.decay_steps() <= 0) return base_lr;
      double p = static_cast<double>(step) / static_cast<double>(d.decay_steps());
      if (d.staircase()) p = static_cast<double>(step / d.decay_steps());
      return base_lr * std::pow(static_cast<double>(d.decay_rate()), p);
    }
    case LearningRateSchedule::kPiecewiseConstant: {
      const PiecewiseConstantDecay& d = schedule.piecewise_constant();
      if (d.values().empty()) return base_lr;
      // values[i] applies while step <= boundaries[i]; the last value after.
      int i = 0;
      while (i < d.boundaries_size() && step > d.boundaries(i)) ++i;
      return d.values(std::min(i, d.values_size() - 1));
    }
    case LearningRateSchedule::kCosineDecay: {
      const CosineDecay& d = schedule.cosine_decay();
      if (d.decay_steps() <= 0) return base_lr;
      const double s = static_cast<double>(std::min(step, d.decay_steps()));
      const double cosine = 0.5 * (1.0 + std::cos(kPi * s / d.decay_steps()));
      const double alpha = d.alpha();
      return base_lr * ((1.0 - alpha) * cosine + alpha);
    }
    case LearningRateSchedule::DECAY_NOT_SET:
      break;
  }
  return base_lr;
}

}  // namespace

absl::Status ValidateLearningRateSchedule(const LearningRateSchedule& schedule) {
  if (schedule.warmup_steps() < 0) {
    return FieldError("schedule.warmup_steps", ">= 0",
                      static_cast<double>(schedule.warmup_steps()));
  }
  switch (schedule.decay_case()) {
    case LearningRateSchedule::kExponentialDecay: {
      const ExponentialDecay& d = schedule.exponential_decay();
      if (d.decay_steps() <= 0) {
        return FieldError("schedule.exponential_decay.decay_steps", "> 0",
                          static_cast<double>(d.decay_steps()));
      }
      if (!(d.decay_rate() > 0.0f) || !std::isfinite(d.decay_rate())) {
        return FieldError("schedule.exponential_decay.decay_rate", "> 0 and finite",
                          d.decay_rate());
      }
      break;
    }
    case LearningRateSchedule::kPiecewiseConstant: {
      const PiecewiseConstantDecay& d = schedule.piecewise_constant();
      if (d.values_size() != d.boundaries_size() + 1) {
        return absl::InvalidArgumentError(absl::StrCat(
            "schedule.piecewise_constant.values must have one more element than "
            "boundaries: got ",
            d.values_size(), " values and ", d.boundaries_size(), " boundaries"));
      }
      for (int i = 1; i < d.boundaries_size(); ++i) {
        if (d.boundaries(i) <= d.boundaries(i - 1)) {
          return absl::InvalidArgumentError(absl::StrCat(
              "schedule.piecewise_constant.boundaries must be strictly increasing: "
              "boundaries[",
              i, "] = ", d.boundaries(i), " <= boundaries[", i - 1,
              "] = ", d.boundaries(i - 1)));
        }
      }
      for (int i = 0; i < d.values_size(); ++i) {
        if (!(d.values(i) >= 0.0f) || !std::isfinite(d.values(i))) {
          return FieldError(absl::StrCat("schedule.piecewise_constant.values[", i, "]"),
                            ">= 0 and finite", d.values(i));
        }
      }
      break;
    }
    case LearningRateSchedule::kCosineDecay: {
      const CosineDecay& d = schedule.cosine_decay();
      if (d.decay_steps() <= 0) {
        return FieldError("schedule.cosine_decay.decay_steps", "> 0",
                          static_cast<double>(d.decay_steps()));
      }
      if (!(d.alpha() >= 0.0f && d.alpha() <= 1.0f)) {
        return FieldError("schedule.cosine_decay.alpha", "in [0, 1]", d.alpha());
      }
      break;
    }
    case LearningRateSchedule::DECAY_NOT_SET:
      break;
  }
  return absl::OkStatus();
}

float LearningRate(const LearningRateSchedule& schedule, float base_lr,
                   int64_t global_step) {
  const int64_t step = std::max<int64_t>(global_step, 0);
  double lr = Decayed(schedule, base_lr, step);
  if (schedule.warmup_steps() > 0 && step < schedule.warmup_steps()) {
    lr *= static_cast<double>(step) / static_cast<double>(schedule.warmup_steps());
  }
  return static_cast<float>(lr);
}

}  // namespace tessera
