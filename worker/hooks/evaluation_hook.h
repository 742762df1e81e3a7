#ifndef TESSERA_WORKER_HOOKS_EVALUATION_HOOK_H_
#define TESSERA_WORKER_HOOKS_EVALUATION_HOOK_H_

// The chief's evaluation on the test set: every `eval_every_steps` global
// steps (when set) and at the end, logging loss and accuracy; at the end it
// also logs every variable of at most 16 elements. Not thread-safe (the
// training thread calls it).

#include <functional>

#include "worker/evaluation.h"
#include "worker/training_hook.h"

namespace tessera {

class EvaluationHook final : public TrainingHook {
 public:
  // `on_result` (optional) receives each evaluation: (global step, metrics),
  // e.g. for summaries.
  using ResultCallback = std::function<void(int64_t, const EvalMetrics&)>;
  explicit EvaluationHook(ResultCallback on_result = nullptr) : on_result_(std::move(on_result)) {}

  absl::Status Begin(const HookContext& context) override;
  absl::Status AfterStep(const StepInfo& step) override;
  absl::Status End(const EndInfo& end) override;

 private:
  absl::Status Evaluate(int64_t global_step, const std::vector<Tensor>& values);

  const ResultCallback on_result_;
  HookContext context_;
  int64_t next_eval_ = 0;
};

}  // namespace tessera

#endif  // TESSERA_WORKER_HOOKS_EVALUATION_HOOK_H_
