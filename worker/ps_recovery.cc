#include "worker/ps_recovery.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/checkpoint/checkpoint_manager.h"
#include "common/logging.h"
#include "common/status_macros.h"

namespace tessera {
namespace {

std::string PsList(const std::vector<int>& ps_tasks) {
  return absl::StrCat(ps_tasks.size() == 1 ? "ps " : "ps tasks ", absl::StrJoin(ps_tasks, ", "));
}

}  // namespace

PsRecovery::PsRecovery(PsGroup* ps, const TrainConfig* config, WorkerStatus* status,
                       PsRecoveryOptions options)
    : ps_(ps), config_(config), status_(status), options_(std::move(options)) {}

absl::StatusOr<RestoredCheckpoint> PsRecovery::LatestCheckpoint() const {
  if (config_->checkpoint_dir().empty()) {
    return absl::NotFoundError("no checkpoint_dir is set");
  }
  return RestoreLatest(config_->checkpoint_dir(), options_.model_fingerprint);
}

absl::StatusOr<int64_t> PsRecovery::LiveStep(const std::vector<int>& restored) {
  for (int ps = 0; ps < ps_->num_ps(); ++ps) {
    if (std::find(restored.begin(), restored.end(), ps) != restored.end()) continue;
    absl::StatusOr<int64_t> step = ps_->PsStep(ps);
    if (step.ok()) return step;
    if (!absl::IsNotFound(step.status())) {
      LOG(WARNING) << "could not read the step of ps " << ps << ": " << step.status().message();
    }
  }
  return absl::NotFoundError("no live ps answered with its step");
}

absl::Status PsRecovery::Restore(const std::vector<int>& ps_tasks,
                                 const RestoredCheckpoint& checkpoint) {
  const absl::Time start = ps_->clock()->Now();
  // SYNC: the restored blocks continue at the step of the ps that kept their
  // live state; at the checkpoint's step they would be behind, every push
  // would be stale on the live ps, and only the restored blocks would train
  // until they caught up (docs/update_modes.md, "After a restore").
  int64_t step = -1;
  if (config_->update_mode() == SYNC && static_cast<int>(ps_tasks.size()) < ps_->num_ps()) {
    absl::StatusOr<int64_t> live = LiveStep(ps_tasks);
    if (live.ok()) {
      step = *live;
    } else {
      LOG(WARNING) << "restoring at the checkpoint's step: " << live.status().message();
    }
  }
  for (int ps : ps_tasks) {
    RETURN_IF_ERROR(
        ps_->RestoreFromCheckpoint(ps, checkpoint.contents, options_.slot_names, step));
  }
  LOG(INFO) << "restored " << PsList(ps_tasks) << " from " << config_->checkpoint_dir() << "/"
            << checkpoint.name << " (global step " << checkpoint.contents.metadata.global_step
            << ", written " << absl::FormatTime(checkpoint.contents.metadata.write_time) << ") in "
            << absl::FormatDuration(ps_->clock()->Now() - start)
            << (step >= 0 ? absl::StrCat("; they continue at step ", step,
                                         ", the live ps tasks' (SYNC)")
                          : "");
  return absl::OkStatus();
}

absl::Status PsRecovery::InitializeOrRestore(
    const std::function<std::vector<Tensor>()>& initial) {
  status_->SetState("initializing");
  ASSIGN_OR_RETURN(std::vector<int> uninitialized, ps_->CreateVariables(*config_));
  if (uninitialized.empty()) {
    LOG(INFO) << "every ps holds initialized variables of this model already: keeping that "
                 "live state (no restore)";
    return absl::OkStatus();
  }
  absl::StatusOr<RestoredCheckpoint> checkpoint = LatestCheckpoint();
  if (checkpoint.ok()) return Restore(uninitialized, *checkpoint);
  if (!absl::IsNotFound(checkpoint.status())) return checkpoint.status();
  if (!config_->checkpoint_dir().empty()) {
    LOG(INFO) << "no checkpoint to restore: " << checkpoint.status().message();
  }
  if (static_cast<int>(uninitialized.size()) < ps_->num_ps()) {
    LOG(WARNING) << "initializing " << PsList(uninitialized)
                 << " with initial values while the others hold trained values";
  }
  const std::vector<Tensor> values = initial();
  for (int ps : uninitialized) RETURN_IF_ERROR(ps_->AssignInitialValues(ps, values));
  LOG(INFO) << "initialized the variables on " << PsList(uninitialized);
  return absl::OkStatus();
}

absl::Status PsRecovery::InitializeUntilReady(
    const std::function<std::vector<Tensor>()>& initial, absl::Time deadline) {
  std::vector<Tensor> scratch;
  while (true) {
    absl::Status s = InitializeOrRestore(initial);
    if (s.ok()) s = ps_->CheckInitialized(&scratch);
    if (s.ok() || !IsNotInitializedError(s)) return s;
    if (ps_->clock()->Now() >= deadline) {
      return absl::DeadlineExceededError(absl::StrCat(
          "gave up initializing the ps tasks: a ps kept losing its variables (", s.message(),
          ")"));
    }
    LOG(WARNING) << "a ps lost its variables while the chief started (" << s.message()
                 << "); initializing or restoring it again";
  }
}

absl::Status PsRecovery::Recover(const absl::Status& cause) {
  LOG(WARNING) << "a ps lost its variables (" << cause.message() << ")";
  if (!options_.is_chief) {
    const std::string what =
        absl::StrCat("the chief to restore a restarted ps (", cause.message(), ")");
    status_->SetState("waiting");
    RETURN_IF_ERROR(ps_->WaitUntilInitialized(ps_->clock()->Now() + options_.wait_timeout, what));
    status_->SetState("training");
    LOG(INFO) << "every ps is ready again; training goes on";
    return absl::OkStatus();
  }
  status_->SetState("restoring");
  ASSIGN_OR_RETURN(std::vector<int> uninitialized, ps_->CreateVariables(*config_));
  if (uninitialized.empty()) return absl::OkStatus();
  status_->SetWaitingFor(absl::StrCat("restoring ", PsList(uninitialized), " from a checkpoint"));
  absl::StatusOr<RestoredCheckpoint> checkpoint = LatestCheckpoint();
  if (!checkpoint.ok()) {
    return absl::FailedPreconditionError(absl::StrCat(
        PsList(uninitialized), " restarted and lost the variables, and there is no checkpoint "
        "to restore them from (", checkpoint.status().message(), "); set checkpoint_dir in the "
        "training config (or --checkpoint_dir) so that the chief can restore a restarted ps"));
  }
  RETURN_IF_ERROR(Restore(uninitialized, *checkpoint));
  status_->SetWaitingFor("");
  status_->SetState("training");
  return absl::OkStatus();
}

}  // namespace tessera
