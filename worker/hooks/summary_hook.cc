#include "worker/hooks/summary_hook.h"

#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/file_util.h"
#include "common/logging.h"
#include "common/optim/learning_rate.h"
#include "common/optim/optimizer.h"
#include "common/status_macros.h"

namespace tessera {
namespace {

constexpr int kMaxImages = 3;

// The first multiple of `every` after `step`.
int64_t NextMultiple(int64_t step, int64_t every) { return (step / every + 1) * every; }

}  // namespace

absl::StatusOr<std::unique_ptr<SummaryHook>> SummaryHook::Create(const TrainConfig& config,
                                                                 int task, Clock* clock,
                                                                 FileSystem* fs) {
  const std::string dir = JoinPath(config.summary_dir(), absl::StrCat(kWorkerJob, "_", task));
  SummaryWriterOptions options;
  options.clock = clock;
  options.file_system = fs;
  ASSIGN_OR_RETURN(std::unique_ptr<SummaryWriter> writer, SummaryWriter::Create(dir, options));
  LOG(INFO) << "writing summaries to " << writer->path();
  return std::make_unique<SummaryHook>(std::move(writer), clock);
}

SummaryHook::SummaryHook(std::unique_ptr<SummaryWriter> writer, Clock* clock)
    : writer_(std::move(writer)), clock_(clock) {}

absl::Status SummaryHook::Begin(const HookContext& context) {
  context_ = context;
  errors_ =
      std::make_unique<WriteErrors>("summary", context.config->on_summary_error(), context, clock_);
  variable_bytes_ = 0;
  for (const VariableInfo& v : *context.variables) {
    variable_bytes_ += NumElements(v.shape) * static_cast<int64_t>(sizeof(float));
  }
  next_summary_ = 0;
  const int64_t histograms = context.config->save_histograms_steps();
  next_histograms_ = context.is_chief && histograms > 0 ? 0 : -1;
  window_start_ = clock_->Now();
  return absl::OkStatus();
}

absl::Status SummaryHook::AfterStep(const StepInfo& step) {
  if (++local_steps_ == 1) window_start_step_ = step.global_step - 1;
  ++window_steps_;
  window_images_ += step.batch_size;
  window_loss_ += step.loss;
  window_step_seconds_ += step.step_seconds;
  window_input_wait_seconds_ += step.input_wait_seconds;

  if (context_.is_chief && !images_written_ && step.batch != nullptr) {
    images_written_ = true;
    const Tensor& inputs = step.batch->inputs;
    if (inputs.rank() == 4 && (inputs.dim(3) == 1 || inputs.dim(3) == 3)) {
      RETURN_IF_ERROR(Written(writer_->AddImages("input", inputs, kMaxImages, step.global_step)));
    }
  }
  if (step.global_step >= next_summary_) {
    RETURN_IF_ERROR(Written(WriteScalars(step.global_step)));
    next_summary_ = NextMultiple(step.global_step, context_.config->save_summaries_steps());
  }
  if (next_histograms_ >= 0 && step.global_step >= next_histograms_ && step.values != nullptr) {
    RETURN_IF_ERROR(WriteHistograms(step.global_step, *step.values));  // write errors: Written
    next_histograms_ = NextMultiple(step.global_step, context_.config->save_histograms_steps());
  }
  return absl::OkStatus();
}

absl::Status SummaryHook::End(const EndInfo& end) {
  if (window_steps_ > 0) RETURN_IF_ERROR(Written(WriteScalars(end.global_step)));
  if (next_histograms_ >= 0 && end.values != nullptr) {
    RETURN_IF_ERROR(WriteHistograms(end.global_step, *end.values));
  }
  return Written(writer_->Flush());
}

absl::Status SummaryHook::Written(absl::Status status) {
  if (status.code() == absl::StatusCode::kInvalidArgument) return status;
  if (errors_ == nullptr) return status;  // before Begin
  if (status.ok()) {
    errors_->Succeeded();
  } else {
    errors_->Failed(status);
  }
  return absl::OkStatus();
}

void SummaryHook::AddEvalResult(int64_t global_step, const EvalMetrics& metrics) {
  std::vector<std::pair<std::string, double>> scalars = {{"eval/loss", metrics.mean_loss}};
  if (context_.model != nullptr && context_.model->is_classifier()) {
    scalars.push_back({"eval/accuracy", metrics.accuracy});
  }
  absl::Status status = writer_->AddScalars(scalars, global_step);
  if (status.ok()) status = writer_->Flush();
  status = Written(status);
  if (!status.ok()) LOG(WARNING) << "eval summary: " << status.message();
}

absl::Status SummaryHook::WriteScalars(int64_t global_step) {
  const absl::Time now = clock_->Now();
  const double seconds = absl::ToDoubleSeconds(now - window_start_);
  const OptimizerConfig& optimizer = context_.config->optimizer();
  const float learning_rate =
      LearningRate(optimizer.schedule(), BaseLearningRate(optimizer), global_step);
  const double bytes = static_cast<double>(variable_bytes_) * local_steps_;
  const std::pair<std::string, double> scalars[] = {
      {"loss", window_loss_ / window_steps_},
      {"learning_rate", learning_rate},
      {"images_per_sec", seconds > 0 ? window_images_ / seconds : 0},
      {"global_step/sec", seconds > 0 ? (global_step - window_start_step_) / seconds : 0},
      {"step_time_seconds", window_step_seconds_ / window_steps_},
      {"input_wait_fraction",
       window_step_seconds_ > 0 ? window_input_wait_seconds_ / window_step_seconds_ : 0},
      {"bytes_pulled", bytes},
      {"bytes_pushed", bytes},
  };
  // The window restarts even when the write fails: the next summary covers
  // the steps after this one, as it would have.
  const absl::Status written = writer_->AddScalars(scalars, global_step);
  window_start_ = now;
  window_start_step_ = global_step;
  window_steps_ = 0;
  window_images_ = 0;
  window_loss_ = 0;
  window_step_seconds_ = 0;
  window_input_wait_seconds_ = 0;
  return written;
}

absl::Status SummaryHook::WriteHistograms(int64_t global_step, const std::vector<Tensor>& values) {
  for (size_t i = 0; i < values.size() && i < context_.variables->size(); ++i) {
    const std::string& name = (*context_.variables)[i].name;
    const absl::Status status = writer_->AddHistogram(name, values[i].span(), global_step);
    if (status.code() == absl::StatusCode::kInvalidArgument) {
      // A NaN or infinite value: training diverged; say so, but let the loop
      // (and its loss) decide what happens.
      LOG(WARNING) << "no histogram at global step " << global_step << ": " << status.message();
      continue;
    }
    // A failed write ends this round: one failure counted, not one per variable.
    if (!status.ok()) return Written(status);
  }
  return Written(absl::OkStatus());
}

}  // namespace tessera
