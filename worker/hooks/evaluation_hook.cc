#include "worker/hooks/evaluation_hook.h"

#include "common/logging.h"
#include "common/status_macros.h"

namespace tessera {

absl::Status EvaluationHook::Begin(const HookContext& context) {
  context_ = context;
  const int64_t every = context.config->eval_every_steps();
  next_eval_ = every > 0 ? every : -1;
  return absl::OkStatus();
}

absl::Status EvaluationHook::AfterStep(const StepInfo& step) {
  if (next_eval_ < 0 || step.global_step < next_eval_ || !context_.open_test) {
    return absl::OkStatus();
  }
  const int64_t every = context_.config->eval_every_steps();
  next_eval_ = (step.global_step / every + 1) * every;
  return Evaluate(step.global_step, *step.values);
}

absl::Status EvaluationHook::End(const EndInfo& end) {
  if (context_.open_test && context_.config->eval_at_end()) {
    RETURN_IF_ERROR(Evaluate(end.global_step, *end.values));
  }
  std::vector<std::string> names;
  for (const VariableInfo& v : *context_.variables) names.push_back(v.name);
  for (const std::string& line : FormatSmallVariables(names, *end.values)) LOG(INFO) << line;
  return absl::OkStatus();
}

absl::Status EvaluationHook::Evaluate(int64_t global_step, const std::vector<Tensor>& values) {
  std::vector<const Tensor*> params;
  for (const Tensor& t : values) params.push_back(&t);
  // In training-sized batches (the stream's): the model's buffers keep one
  // size, instead of growing tenfold for every evaluation (docs/operations.md,
  // "Memory").
  ASSIGN_OR_RETURN(std::unique_ptr<BatchStream> test, context_.open_test());
  ASSIGN_OR_RETURN(EvalMetrics m, EvaluateBatches(context_.model, params, test.get()));
  if (context_.model->is_classifier()) {
    LOG(INFO) << "test at global step " << global_step << ": " << m.count << " examples, loss "
              << m.mean_loss << ", accuracy " << m.accuracy;
  } else {
    LOG(INFO) << "test at global step " << global_step << ": " << m.count << " examples, loss "
              << m.mean_loss;
  }
  if (on_result_) on_result_(global_step, m);
  return absl::OkStatus();
}

}  // namespace tessera
