#include "worker/hooks/checkpoint_hook.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "common/logging.h"
#include "common/status_macros.h"
#include "google/protobuf/text_format.h"
#include "worker/ps_group.h"
#include "worker/worker_status.h"

namespace tessera {

CheckpointHook::CheckpointHook(CheckpointHookOptions options)
    : options_(std::move(options)),
      clock_(options_.clock != nullptr ? options_.clock : RealClock::Get()) {}

CheckpointHook::~CheckpointHook() = default;

absl::Status CheckpointHook::Begin(const HookContext& context) {
  context_ = context;
  const TrainConfig& config = *context.config;
  CheckpointManagerOptions manager_options;
  manager_options.max_to_keep = config.max_to_keep();
  if (config.keep_checkpoint_every_n_hours() > 0) {
    manager_options.keep_checkpoint_every_n_hours = config.keep_checkpoint_every_n_hours();
  }
  manager_options.write_options.file_system = options_.fs;
  ASSIGN_OR_RETURN(manager_,
                   CheckpointManager::Create(config.checkpoint_dir(), manager_options, clock_));
  errors_ =
      std::make_unique<WriteErrors>("checkpoint", config.on_checkpoint_error(), context, clock_);
  CheckpointSaverOptions saver_options;
  saver_options.write_delay = options_.write_delay;
  WorkerStatus* status = context.status;
  WriteErrors* errors = errors_.get();
  saver_options.on_saved = [status, errors](const std::string& path) {
    if (status != nullptr) status->SetLastCheckpoint(path);
    errors->Succeeded();
  };
  saver_options.on_failed = [errors](const absl::Status& error) { errors->Failed(error); };
  saver_ = std::make_unique<CheckpointSaver>(manager_.get(), std::move(saver_options));
  // Where training starts (a restored step, or live state kept).
  std::vector<Tensor> scratch;
  for (const VariableInfo& v : *context.variables) scratch.emplace_back(v.shape);
  ASSIGN_OR_RETURN(const int64_t start_step, context.ps->PullAll(&scratch));
  last_saved_step_ = -1;
  ScheduleNext(start_step);
  LOG(INFO) << "checkpoints to " << config.checkpoint_dir() << " every "
            << (config.save_checkpoint_secs() > 0
                    ? absl::StrCat(config.save_checkpoint_secs(), " s")
                    : std::string())
            << (config.save_checkpoint_secs() > 0 && config.save_checkpoint_steps() > 0 ? " or "
                                                                                        : "")
            << (config.save_checkpoint_steps() > 0
                    ? absl::StrCat(config.save_checkpoint_steps(), " steps")
                    : std::string())
            << " and at the end (model " << options_.model_fingerprint << ")";
  return absl::OkStatus();
}

void CheckpointHook::ScheduleNext(int64_t global_step) {
  const TrainConfig& config = *context_.config;
  const int64_t every = config.save_checkpoint_steps();
  next_step_ = every > 0 ? (global_step / every + 1) * every : -1;
  next_time_ = config.save_checkpoint_secs() > 0
                   ? clock_->Now() + absl::Seconds(config.save_checkpoint_secs())
                   : absl::InfiniteFuture();
}

absl::StatusOr<CheckpointContents> CheckpointHook::TakeSnapshot() {
  ASSIGN_OR_RETURN(CheckpointContents contents, context_.ps->Snapshot(options_.slot_names));
  contents.metadata.model_fingerprint = options_.model_fingerprint;
  contents.metadata.optimizer = options_.model_fingerprint.substr(
      0, options_.model_fingerprint.find(':'));
  google::protobuf::TextFormat::PrintToString(*context_.config,
                                              &contents.metadata.train_config);
  return contents;
}

absl::Status CheckpointHook::AfterStep(const StepInfo& step) {
  const bool due = (next_step_ >= 0 && step.global_step >= next_step_) ||
                   clock_->Now() >= next_time_;
  if (!due || step.global_step == last_saved_step_) return absl::OkStatus();
  if (saver_->Busy()) {
    if (!delay_logged_) {
      LOG(WARNING) << "checkpoint due at global step " << step.global_step
                   << " delayed: the previous checkpoint is still being written";
      delay_logged_ = true;
    }
    return absl::OkStatus();
  }
  delay_logged_ = false;
  const absl::Time start = clock_->Now();
  absl::StatusOr<CheckpointContents> contents = TakeSnapshot();
  if (!contents.ok()) {
    if (!IsNotInitializedError(contents.status())) return contents.status();
    // A ps restarted; the training loop restores it, then we try again.
    LOG(WARNING) << "checkpoint snapshot skipped: " << contents.status().message();
    return absl::OkStatus();
  }
  const int64_t saved_step = contents->metadata.global_step;
  LOG(INFO) << "snapshot at global step " << saved_step << " took "
            << absl::FormatDuration(clock_->Now() - start) << "; writing in the background";
  saver_->TryStart(*std::move(contents));
  last_saved_step_ = saved_step;
  ScheduleNext(saved_step);
  return absl::OkStatus();
}

absl::Status CheckpointHook::End(const EndInfo& end) {
  // A failed write was logged and reported; its step is not saved, so the
  // final checkpoint must not be skipped for being at that step.
  if (!saver_->WaitIdle().ok()) last_saved_step_ = -1;
  ASSIGN_OR_RETURN(CheckpointContents contents, TakeSnapshot());
  if (contents.metadata.global_step == last_saved_step_) {
    LOG(INFO) << "final checkpoint: global step " << last_saved_step_ << " is saved already";
    return absl::OkStatus();
  }
  LOG(INFO) << "writing the final checkpoint at global step " << contents.metadata.global_step
            << (end.stopped_early ? " (stopped early)" : "");
  RETURN_IF_ERROR(saver_->SaveNow(contents).status());
  last_saved_step_ = contents.metadata.global_step;
  return absl::OkStatus();
}

}  // namespace tessera
