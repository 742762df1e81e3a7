#include "ps/store_core.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/error_kind.h"
#include "common/optim/learning_rate.h"
#include "common/status_macros.h"
#include "ps/store_errors.h"
#include "ps/variables_request.h"

namespace tessera {

StoreCore::StoreCore(Clock* clock, uint64_t incarnation, const PsLimits& limits)
    : clock_(clock), incarnation_(incarnation), limits_(limits) {}

StoreCore::~StoreCore() = default;

absl::StatusOr<CreateVariablesResponse> StoreCore::CreateVariables(
    const CreateVariablesRequest& request) {
  // One CreateVariables at a time; the core's lock only to read the state
  // and, at the end, to install what was made. Making the blocks (the values
  // and slots of the whole model, tens or hundreds of MB) is outside it, so
  // status, pulls and pushes go on meanwhile (they see no variables yet).
  absl::MutexLock create_lock(&create_mu_);
  CreateVariablesResponse response;
  response.set_incarnation(incarnation_);
  int64_t held_blocks = 0;
  int64_t held_bytes = 0;
  {
    absl::ReaderMutexLock lock(&mu_);
    if (created_) return RepeatedCreate(request, response);
    held_blocks = static_cast<int64_t>(blocks_.size());
    for (const auto& block : blocks_) held_bytes += block->bytes_held();
  }
  RETURN_IF_ERROR(ValidateCreateRequest(request));
  ASSIGN_OR_RETURN(std::unique_ptr<Optimizer> optimizer, CreateOptimizer(request.optimizer()));
  ASSIGN_OR_RETURN(std::unique_ptr<UpdatePolicy> policy,
                   CreateUpdatePolicy(request.update_mode(), optimizer.get()));
  const int replicas = request.update_mode() == SYNC ? ReplicasToAggregate(request) : 0;
  // Before any allocation: a request over a cap allocates nothing.
  // SYNC: a buffer per pushing worker at most (ps/sync_accumulator.h).
  const int workers = static_cast<int>(request.num_workers());
  const int sync_buffers = replicas > 0 ? SyncAccumulator::BuffersBound(replicas, workers) : 0;
  RETURN_IF_ERROR(CheckCreateWithinLimits(request, optimizer->NumSlots(), sync_buffers, limits_,
                                          held_blocks, held_bytes));
  std::vector<std::unique_ptr<VariableBlock>> blocks;
  for (const BlockSpec& spec : request.blocks()) {
    const int slots = spec.kind() == TRAINABLE ? optimizer->NumSlots() : 0;
    auto block = std::make_unique<VariableBlock>(spec.name(), ShapeOf(spec), slots, replicas,
                                                 spec.kind(), workers);
    {
      absl::MutexLock block_lock(&block->mu);
      for (int i = 0; i < slots; ++i) {
        std::fill(block->slots[i].begin(), block->slots[i].end(), optimizer->SlotInitialValue(i));
      }
    }
    blocks.push_back(std::move(block));
  }
  if (blocks_made_hook_) blocks_made_hook_();
  TrainingProgressOptions progress;
  progress.mode = request.update_mode();
  progress.num_workers = request.num_workers();
  progress.replicas_to_aggregate = ReplicasToAggregate(request);
  progress.staleness = request.staleness();
  progress.worker_timeout = absl::Seconds(
      request.worker_timeout_secs() > 0 ? request.worker_timeout_secs() : 60);
  absl::MutexLock lock(&mu_);
  for (std::unique_ptr<VariableBlock>& block : blocks) {
    by_name_[block->name] = block.get();
    blocks_.push_back(std::move(block));
  }
  request_ = request;
  optimizer_ = std::move(optimizer);
  policy_ = std::move(policy);
  progress_ = std::make_unique<TrainingProgress>(progress, clock_);
  sync_timeout_ =
      absl::Seconds(request.sync_timeout_secs() > 0 ? request.sync_timeout_secs() : 300);
  if (request.update_mode() != ASYNC) waiter_ = std::make_unique<PullWaiter>(clock_);
  holds_global_step_ = request.holds_global_step();
  created_ = true;
  ready_ = blocks_.empty();
  response.set_created(true);
  response.set_initialized(ready_.load());
  return response;
}

absl::StatusOr<CreateVariablesResponse> StoreCore::RepeatedCreate(
    const CreateVariablesRequest& request, CreateVariablesResponse response) const {
  const std::string difference = FirstDifference(request_, request);
  if (request.fingerprint() != request_.fingerprint()) {
    return WithErrorKind(
        absl::FailedPreconditionError(absl::StrCat(
            "this ps holds the variables of model fingerprint ", request_.fingerprint(),
            "; the request has fingerprint ", request.fingerprint(),
            difference.empty() ? "" : "; first difference: ", difference,
            " (every task must use the same model and cluster file)")),
        ErrorKind::kFingerprintMismatch);
  }
  if (!difference.empty()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "CreateVariables with fingerprint ", request.fingerprint(),
        " differs from the variables this ps holds under the same fingerprint: ", difference));
  }
  response.set_created(false);
  response.set_initialized(ready_.load());
  return response;
}

absl::StatusOr<WorkerDoneResponse> StoreCore::WorkerDone(const WorkerDoneRequest& request) {
  absl::MutexLock lock(&mu_);
  if (!created_) return NotInitializedError();
  RETURN_IF_ERROR(CheckFingerprint(request.fingerprint()));
  RETURN_IF_ERROR(CheckWorkerTask(request.worker_task()));
  WorkerDoneResponse response;
  response.set_incarnation(incarnation_);
  response.set_workers_done(progress_->RecordDone(request.worker_task(), request.last_step()));
  if (waiter_ != nullptr) waiter_->Notify();
  return response;
}

absl::StatusOr<std::vector<VariableBlock*>> StoreCore::ResolveBlocks(
    absl::string_view fingerprint,
    const google::protobuf::RepeatedPtrField<std::string>& names) const {
  if (!ready_) return NotInitializedError();
  absl::ReaderMutexLock lock(&mu_);
  RETURN_IF_ERROR(CheckFingerprint(fingerprint));
  std::vector<VariableBlock*> blocks;
  if (names.empty()) {
    for (const auto& block : blocks_) blocks.push_back(block.get());
  } else {
    for (const std::string& name : names) {
      ASSIGN_OR_RETURN(VariableBlock * block, FindBlockLocked(name));
      blocks.push_back(block);
    }
  }
  return blocks;
}

absl::StatusOr<VariableBlock*> StoreCore::FindBlock(absl::string_view name) const {
  absl::ReaderMutexLock lock(&mu_);
  return FindBlockLocked(name);
}

std::vector<VariableBlock*> StoreCore::Blocks() const {
  absl::ReaderMutexLock lock(&mu_);
  std::vector<VariableBlock*> blocks;
  for (const auto& block : blocks_) blocks.push_back(block.get());
  return blocks;
}

absl::StatusOr<PushContext> StoreCore::AdmitPush(const ChunkHeader& first) const {
  absl::ReaderMutexLock lock(&mu_);
  if (!created_ || (first.kind() == GRADIENT && !ready_)) return NotInitializedError();
  RETURN_IF_ERROR(CheckFingerprint(first.fingerprint()));
  RETURN_IF_ERROR(CheckWorkerTask(first.worker_task()));
  PushContext context;
  context.policy = policy_.get();
  context.optimizer = optimizer_.get();
  return context;
}

std::vector<std::string> StoreCore::SlotNames() const {
  absl::ReaderMutexLock lock(&mu_);
  if (optimizer_ == nullptr) return {};
  return optimizer_->SlotNames();
}

TrainingProgress* StoreCore::progress() const {
  absl::ReaderMutexLock lock(&mu_);
  return progress_.get();
}

PullWaiter* StoreCore::waiter() const {
  absl::ReaderMutexLock lock(&mu_);
  return waiter_.get();
}

absl::Duration StoreCore::sync_timeout() const {
  absl::ReaderMutexLock lock(&mu_);
  return sync_timeout_;
}

int64_t StoreCore::ReportedGlobalStep() const {
  return holds_global_step_ ? global_step_.load() : -1;
}

float StoreCore::LearningRateFor(int64_t step) const {
  const int64_t global_step = holds_global_step_ ? global_step_.load() : step;
  absl::ReaderMutexLock lock(&mu_);
  return LearningRate(request_.optimizer().schedule(), BaseLearningRate(request_.optimizer()),
                      global_step);
}

void StoreCore::GradientPushDone(int worker_task, int64_t step, bool increment_global_step,
                                 bool dropped) {
  TrainingProgress* tracker = progress();
  if (increment_global_step && holds_global_step_) {
    if (tracker->options().mode == SYNC) {
      // Once per step: when replicas_to_aggregate pushes of it finished.
      dropped |= tracker->CountSyncStep(worker_task, step, &global_step_) !=
                 SyncAccumulator::Verdict::kAccumulate;
    } else {
      ++global_step_;
    }
  }
  tracker->RecordPush(worker_task, step, dropped);
  NotifyWaiters();
}

void StoreCore::AssignPushDone(int64_t step) {
  if (holds_global_step_ && step >= 0) {
    global_step_ = step;
    progress()->ResetSyncStep();
  }
  NotifyWaiters();
}

void StoreCore::BlockInitialized() {
  absl::MutexLock lock(&mu_);
  ++initialized_blocks_;
  if (initialized_blocks_ == static_cast<int64_t>(blocks_.size())) ready_ = true;
}

void StoreCore::NotifyWaiters() {
  absl::ReaderMutexLock lock(&mu_);
  if (waiter_ != nullptr) waiter_->Notify();
}

std::vector<float> StoreCore::TakeScratch() {
  absl::MutexLock lock(&mu_);
  if (idle_scratch_.empty()) return {};
  std::vector<float> scratch = std::move(idle_scratch_.back());
  idle_scratch_.pop_back();
  return scratch;
}

void StoreCore::ReturnScratch(std::vector<float> scratch) {
  if (scratch.empty()) return;
  absl::MutexLock lock(&mu_);
  if (idle_scratch_.size() < kMaxIdleScratch) idle_scratch_.push_back(std::move(scratch));
}

void StoreCore::FillCounts(StoreSummary* summary) const {
  absl::ReaderMutexLock lock(&mu_);
  summary->created = created_;
  summary->ready = ready_;
  summary->fingerprint = request_.fingerprint();
  summary->num_blocks = static_cast<int64_t>(blocks_.size());
  summary->initialized_blocks = initialized_blocks_;
  for (const auto& block : blocks_) summary->bytes_held += block->bytes_held();
  summary->global_step = ReportedGlobalStep();
}

absl::Status StoreCore::CheckFingerprint(absl::string_view fingerprint) const {
  if (fingerprint == request_.fingerprint()) return absl::OkStatus();
  return FingerprintMismatchError(fingerprint, request_.fingerprint());
}

absl::StatusOr<VariableBlock*> StoreCore::FindBlockLocked(absl::string_view name) const {
  auto it = by_name_.find(name);
  if (it == by_name_.end()) {
    return absl::NotFoundError(absl::StrCat("no block named '", name, "' on this ps"));
  }
  return it->second;
}

absl::Status StoreCore::CheckWorkerTask(int task) const {
  if (task >= 0 && task < request_.num_workers()) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat(
      "worker_task ", task, " is out of range [0, ", request_.num_workers(), ")"));
}

}  // namespace tessera
