#include "ps/variable_store.h"

#include <utility>

#include "absl/random/random.h"
#include "absl/strings/str_cat.h"
#include "common/optim/learning_rate.h"
#include "common/status_macros.h"

namespace tessera {

absl::Status NotInitializedError() {
  return WithErrorKind(absl::FailedPreconditionError(kNotInitializedMessage),
                       ErrorKind::kNotInitialized);
}
namespace {

// Reusable push buffers kept when idle (4 MiB each at most).
constexpr size_t kMaxIdleScratch = 4;

uint64_t RandomIncarnation() {
  absl::BitGen gen;
  uint64_t value = 0;
  while (value == 0) value = absl::Uniform<uint64_t>(gen);
  return value;
}

Shape ShapeOf(const BlockSpec& spec) {
  return Shape(spec.shape().dim().begin(), spec.shape().dim().end());
}

// "" when `a` and `b` describe the same blocks, else the first difference.
std::string FirstDifference(const CreateVariablesRequest& a, const CreateVariablesRequest& b) {
  const int n = std::min(a.blocks_size(), b.blocks_size());
  for (int i = 0; i < n; ++i) {
    const BlockSpec& x = a.blocks(i);
    const BlockSpec& y = b.blocks(i);
    if (x.name() != y.name()) {
      return absl::StrCat("block ", i, " is '", x.name(), "' here, '", y.name(), "' in the request");
    }
    if (ShapeOf(x) != ShapeOf(y) || x.row_offset() != y.row_offset()) {
      return absl::StrCat("block '", x.name(), "' has shape ", ShapeString(ShapeOf(x)),
                          " at row ", x.row_offset(), " here, ", ShapeString(ShapeOf(y)),
                          " at row ", y.row_offset(), " in the request");
    }
  }
  if (a.blocks_size() != b.blocks_size()) {
    const auto& longer = a.blocks_size() > b.blocks_size() ? a : b;
    return absl::StrCat(a.blocks_size(), " blocks here, ", b.blocks_size(),
                        " in the request; first unmatched block '", longer.blocks(n).name(), "'");
  }
  if (a.optimizer().SerializeAsString() != b.optimizer().SerializeAsString()) {
    return "the optimizer configuration differs";
  }
  if (a.update_mode() != b.update_mode() || a.holds_global_step() != b.holds_global_step() ||
      a.num_workers() != b.num_workers()) {
    return "update_mode, num_workers or holds_global_step differs";
  }
  if (a.replicas_to_aggregate() != b.replicas_to_aggregate() ||
      a.total_replicas() != b.total_replicas() || a.staleness() != b.staleness() ||
      a.sync_timeout_secs() != b.sync_timeout_secs() ||
      a.worker_timeout_secs() != b.worker_timeout_secs()) {
    return absl::StrCat("the SYNC/STALE settings differ (replicas_to_aggregate ",
                        a.replicas_to_aggregate(), " vs ", b.replicas_to_aggregate(),
                        ", total_replicas ", a.total_replicas(), " vs ", b.total_replicas(),
                        ", staleness ", a.staleness(), " vs ", b.staleness(), ")");
  }
  return "";
}

// Replicas to aggregate, with 0 meaning every worker.
int ReplicasToAggregate(const CreateVariablesRequest& r) {
  return r.replicas_to_aggregate() > 0 ? r.replicas_to_aggregate() : r.num_workers();
}

absl::Status ValidateModeSettings(const CreateVariablesRequest& r) {
  auto invalid = [](const std::string& what) {
    return absl::InvalidArgumentError(absl::StrCat("CreateVariables: ", what));
  };
  if (!UpdateMode_IsValid(r.update_mode())) {
    return invalid(absl::StrCat("unknown update_mode ", static_cast<int>(r.update_mode())));
  }
  const int total = r.total_replicas() > 0 ? r.total_replicas() : r.num_workers();
  if (r.replicas_to_aggregate() < 0 || r.total_replicas() < 0) {
    return invalid(absl::StrCat("replicas_to_aggregate (", r.replicas_to_aggregate(),
                                ") and total_replicas (", r.total_replicas(), ") must be >= 0"));
  }
  if (total > r.num_workers()) {
    return invalid(absl::StrCat("total_replicas ", total, " exceeds num_workers ",
                                r.num_workers()));
  }
  if (ReplicasToAggregate(r) > total) {
    return invalid(absl::StrCat("replicas_to_aggregate ", ReplicasToAggregate(r),
                                " exceeds total_replicas ", total));
  }
  if (r.staleness() < 0) {
    return invalid(absl::StrCat("staleness must be >= 0, got ", r.staleness()));
  }
  if (!(r.sync_timeout_secs() >= 0) || !(r.worker_timeout_secs() >= 0)) {
    return invalid(absl::StrCat("sync_timeout_secs (", r.sync_timeout_secs(),
                                ") and worker_timeout_secs (", r.worker_timeout_secs(),
                                ") must be >= 0"));
  }
  return absl::OkStatus();
}

absl::Status ValidateRequest(const CreateVariablesRequest& request) {
  if (request.fingerprint().empty()) {
    return absl::InvalidArgumentError("CreateVariables: empty model fingerprint");
  }
  if (request.num_workers() < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("CreateVariables: num_workers must be >= 1, got ", request.num_workers()));
  }
  RETURN_IF_ERROR(ValidateModeSettings(request));
  std::set<std::string> names;
  for (const BlockSpec& spec : request.blocks()) {
    if (spec.name().empty()) return absl::InvalidArgumentError("CreateVariables: a block has no name");
    if (!names.insert(spec.name()).second) {
      return absl::InvalidArgumentError(
          absl::StrCat("CreateVariables: block '", spec.name(), "' appears twice"));
    }
    const Shape shape = ShapeOf(spec);
    RETURN_IF_ERROR(ValidateShape(shape, absl::StrCat("block '", spec.name(), "'")));
    if (NumElements(shape) == 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          "block '", spec.name(), "' has shape ", ShapeString(shape), " with no elements"));
    }
    if (spec.row_offset() < 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          "block '", spec.name(), "' has negative row_offset ", spec.row_offset()));
    }
  }
  return absl::OkStatus();
}

}  // namespace

VariableStore::VariableStore(const VariableStoreOptions& options)
    : clock_(options.clock != nullptr ? options.clock : RealClock::Get()),
      incarnation_(options.incarnation != 0 ? options.incarnation : RandomIncarnation()) {}

VariableStore::~VariableStore() = default;

absl::StatusOr<CreateVariablesResponse> VariableStore::CreateVariables(
    const CreateVariablesRequest& request) {
  CreateVariablesResponse response;
  response.set_incarnation(incarnation_);
  absl::MutexLock lock(&mu_);
  if (created_) {
    if (request.fingerprint() != request_.fingerprint()) {
      const std::string difference = FirstDifference(request_, request);
      return WithErrorKind(
          absl::FailedPreconditionError(absl::StrCat(
              "this ps holds the variables of model fingerprint ", request_.fingerprint(),
              "; the request has fingerprint ", request.fingerprint(),
              difference.empty() ? "" : "; first difference: ", difference,
              " (every task must use the same model and cluster file)")),
          ErrorKind::kFingerprintMismatch);
    }
    const std::string difference = FirstDifference(request_, request);
    if (!difference.empty()) {
      return absl::FailedPreconditionError(absl::StrCat(
          "CreateVariables with fingerprint ", request.fingerprint(),
          " differs from the variables this ps holds under the same fingerprint: ", difference));
    }
    response.set_created(false);
    response.set_initialized(ready_.load());
    return response;
  }
  RETURN_IF_ERROR(ValidateRequest(request));
  ASSIGN_OR_RETURN(std::unique_ptr<Optimizer> optimizer, CreateOptimizer(request.optimizer()));
  ASSIGN_OR_RETURN(std::unique_ptr<UpdatePolicy> policy,
                   CreateUpdatePolicy(request.update_mode(), optimizer.get()));
  const int replicas = request.update_mode() == SYNC ? ReplicasToAggregate(request) : 0;
  for (const BlockSpec& spec : request.blocks()) {
    auto block = std::make_unique<VariableBlock>(spec.name(), ShapeOf(spec),
                                                 optimizer->NumSlots(), replicas);
    {
      absl::MutexLock block_lock(&block->mu);
      for (int i = 0; i < optimizer->NumSlots(); ++i) {
        std::fill(block->slots[i].begin(), block->slots[i].end(), optimizer->SlotInitialValue(i));
      }
    }
    by_name_[spec.name()] = block.get();
    blocks_.push_back(std::move(block));
  }
  request_ = request;
  optimizer_ = std::move(optimizer);
  policy_ = std::move(policy);
  TrainingProgressOptions progress;
  progress.mode = request.update_mode();
  progress.num_workers = request.num_workers();
  progress.replicas_to_aggregate = ReplicasToAggregate(request);
  progress.staleness = request.staleness();
  progress.worker_timeout = absl::Seconds(
      request.worker_timeout_secs() > 0 ? request.worker_timeout_secs() : 60);
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

absl::StatusOr<std::vector<VariableBlock*>> VariableStore::ResolveBlocks(
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
      ASSIGN_OR_RETURN(VariableBlock * block, FindBlock(name));
      blocks.push_back(block);
    }
  }
  return blocks;
}

absl::StatusOr<std::unique_ptr<PullSession>> VariableStore::StartPull(const PullRequest& request) {
  ASSIGN_OR_RETURN(std::vector<VariableBlock*> blocks,
                   ResolveBlocks(request.fingerprint(), request.blocks()));
  TrainingProgress* tracker = progress();
  if (tracker != nullptr && request.worker_task() >= 0 &&
      request.worker_task() < tracker->options().num_workers) {
    tracker->RecordPull(request.worker_task());
  }
  return std::unique_ptr<PullSession>(new PullSession(this, std::move(blocks)));
}

absl::StatusOr<std::unique_ptr<SnapshotSession>> VariableStore::StartSnapshot(
    const SnapshotRequest& request) {
  ASSIGN_OR_RETURN(std::vector<VariableBlock*> blocks,
                   ResolveBlocks(request.fingerprint(), request.blocks()));
  std::vector<std::string> slot_names;
  {
    absl::ReaderMutexLock lock(&mu_);
    slot_names = optimizer_->SlotNames();
  }
  return std::unique_ptr<SnapshotSession>(
      new SnapshotSession(this, std::move(blocks), std::move(slot_names), ReportedGlobalStep()));
}

absl::StatusOr<WorkerDoneResponse> VariableStore::WorkerDone(const WorkerDoneRequest& request) {
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

StoreSummary VariableStore::Summary() const {
  StoreSummary summary;
  {
    absl::ReaderMutexLock lock(&mu_);
    summary.created = created_;
    summary.ready = ready_;
    summary.fingerprint = request_.fingerprint();
    summary.num_blocks = static_cast<int64_t>(blocks_.size());
    summary.initialized_blocks = initialized_blocks_;
    for (const auto& block : blocks_) summary.bytes_held += block->bytes_held();
    summary.global_step = ReportedGlobalStep();
  }
  // Without mu_: the rest takes block locks and the tracker's.
  TrainingProgress* tracker = progress();
  if (tracker != nullptr) {
    summary.workers = tracker->Workers(SyncContributors());
    summary.waiting_for = WaitingFor();
  }
  return summary;
}

int64_t VariableStore::ReportedGlobalStep() const {
  return holds_global_step_ ? global_step_.load() : -1;
}

float VariableStore::LearningRateFor(int64_t step) const {
  const int64_t global_step = holds_global_step_ ? global_step_.load() : step;
  absl::ReaderMutexLock lock(&mu_);
  return LearningRate(request_.optimizer().schedule(), BaseLearningRate(request_.optimizer()),
                      global_step);
}

absl::Status VariableStore::CheckFingerprint(absl::string_view fingerprint) const {
  if (fingerprint == request_.fingerprint()) return absl::OkStatus();
  return WithErrorKind(
      absl::FailedPreconditionError(absl::StrCat(
          "model fingerprint '", fingerprint, "' does not match this ps's fingerprint ",
          request_.fingerprint(), " (every task must use the same model and cluster file)")),
      ErrorKind::kFingerprintMismatch);
}

absl::StatusOr<VariableBlock*> VariableStore::FindBlock(absl::string_view name) const {
  auto it = by_name_.find(name);
  if (it == by_name_.end()) {
    return absl::NotFoundError(absl::StrCat("no block named '", name, "' on this ps"));
  }
  return it->second;
}

absl::Status VariableStore::CheckWorkerTask(int task) const {
  if (task >= 0 && task < request_.num_workers()) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat(
      "worker_task ", task, " is out of range [0, ", request_.num_workers(), ")"));
}

std::vector<float> VariableStore::TakeScratch() {
  absl::MutexLock lock(&mu_);
  if (idle_scratch_.empty()) return {};
  std::vector<float> scratch = std::move(idle_scratch_.back());
  idle_scratch_.pop_back();
  return scratch;
}

void VariableStore::ReturnScratch(std::vector<float> scratch) {
  if (scratch.empty()) return;
  absl::MutexLock lock(&mu_);
  if (idle_scratch_.size() < kMaxIdleScratch) idle_scratch_.push_back(std::move(scratch));
}

void VariableStore::BlockInitialized() {
  absl::MutexLock lock(&mu_);
  ++initialized_blocks_;
  if (initialized_blocks_ == static_cast<int64_t>(blocks_.size())) ready_ = true;
}

void VariableStore::RecordPush(int worker_task, int64_t step, bool dropped) {
  progress()->RecordPush(worker_task, step, dropped);
  NotifyWaiters();
}

TrainingProgress* VariableStore::progress() const {
  absl::ReaderMutexLock lock(&mu_);
  return progress_.get();
}

void VariableStore::NotifyWaiters() {
  absl::ReaderMutexLock lock(&mu_);
  if (waiter_ != nullptr) waiter_->Notify();
}

}  // namespace tessera
