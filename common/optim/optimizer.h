#ifndef TESSERA_COMMON_OPTIM_OPTIMIZER_H_
#define TESSERA_COMMON_OPTIM_OPTIMIZER_H_

// Optimizer update rules with TensorFlow 1.x's formulas (protos/optimizer.proto
// states each one). An Optimizer holds only its validated hyperparameters; the
// variable and its slots (per-element state such as Adam's "m" and "v") belong
// to the caller, who keeps them beside the variable and checkpoints them by
// SlotNames().
//
//   ASSIGN_OR_RETURN(std::unique_ptr<Optimizer> opt, CreateOptimizer(config));
//   std::vector<std::vector<float>> slots(opt->NumSlots());
//   for (int i = 0; i < opt->NumSlots(); ++i)
//     slots[i].assign(var.size(), opt->SlotInitialValue(i));
//   ...
//   RETURN_IF_ERROR(opt->Apply(var, grad, {slots[0], slots[1]}, lr, step));
//
// Thread safety: an Optimizer is immutable after creation, so Apply may run
// concurrently from many threads, each on its own variable and slots (the
// parameter server applies one block per lock).

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "protos/optimizer.pb.h"

namespace tessera {

class Optimizer {
 public:
  virtual ~Optimizer() = default;

  // "sgd", "momentum", "adam", "rmsprop" or "adagrad".
  virtual absl::string_view Name() const = 0;

  // Slot names in the order Apply expects them, with TensorFlow's names:
  // momentum {"momentum"}, adam {"m", "v"}, rmsprop {"rms", "momentum"} (+ "mg"
  // when centered), adagrad {"accumulator"}, sgd {}.
  virtual const std::vector<std::string>& SlotNames() const = 0;
  int NumSlots() const { return static_cast<int>(SlotNames().size()); }

  // Value every element of slot `index` (0 <= index < NumSlots()) starts at:
  // 0, except RMSProp's "rms" (1) and Adagrad's "accumulator"
  // (initial_accumulator_value).
  virtual float SlotInitialValue(int index) const = 0;

  // Fills each slot with its initial value. Errors as Apply's for slot count.
  absl::Status InitializeSlots(absl::Span<const absl::Span<float>> slots) const;

  // One update of `var` in place from `grad` with learning rate `lr` (>= 0),
  // updating `slots` (NumSlots() of them, in SlotNames() order). `step` is the
  // 1-based count of updates of this variable including this one; Adam's bias
  // correction uses it, the other rules ignore it. `var`, `grad` and every
  // slot must have the same size and must not overlap.
  // INVALID_ARGUMENT, naming the argument, on a size or count mismatch, a
  // negative or non-finite lr, or step < 1; nothing is modified then.
  absl::Status Apply(absl::Span<float> var, absl::Span<const float> grad,
                     absl::Span<const absl::Span<float>> slots, float lr,
                     int64_t step) const;

 protected:
  // Called by Apply after the checks: sizes agree, slots.size() == NumSlots().
  virtual void ApplyChecked(absl::Span<float> var, absl::Span<const float> grad,
                            absl::Span<const absl::Span<float>> slots, float lr,
                            int64_t step) const = 0;
};

// Checks `config` (kind set, learning_rate present where required and >= 0,
// betas and decays in [0, 1), epsilons > 0, ...) and the schedule in it.
// INVALID_ARGUMENT naming the field, e.g. "adam.beta2 must be in [0, 1), got 1".
absl::Status ValidateOptimizerConfig(const OptimizerConfig& config);

// The base learning rate of a valid `config`: learning_rate, or 0.001 for Adam
// when unset.
float BaseLearningRate(const OptimizerConfig& config);

// A new Optimizer for `config`, after ValidateOptimizerConfig.
absl::StatusOr<std::unique_ptr<Optimizer>> CreateOptimizer(const OptimizerConfig& config);

}  // namespace tessera

#endif  // TESSERA_COMMON_OPTIM_OPTIMIZER_H_
