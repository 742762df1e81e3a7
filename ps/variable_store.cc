#include "ps/variable_store.h"

#include <utility>
#include <vector>

#include "absl/random/random.h"
#include "absl/strings/str_cat.h"
#include "common/rpc/chunk_sizes.h"
#include "common/status_macros.h"
#include "ps/store_core.h"
#include "ps/store_waits.h"

namespace tessera {
namespace {

uint64_t RandomIncarnation() {
  absl::BitGen gen;
  uint64_t value = 0;
  while (value == 0) value = absl::Uniform<uint64_t>(gen);
  return value;
}

}  // namespace

VariableStore::VariableStore(const VariableStoreOptions& options)
    : core_(std::make_unique<StoreCore>(
          options.clock != nullptr ? options.clock : RealClock::Get(),
          options.incarnation != 0 ? options.incarnation : RandomIncarnation(),
          options.limits)) {}

VariableStore::~VariableStore() = default;

uint64_t VariableStore::incarnation() const { return core_->incarnation(); }

absl::StatusOr<CreateVariablesResponse> VariableStore::CreateVariables(
    const CreateVariablesRequest& request) {
  return core_->CreateVariables(request);
}

std::unique_ptr<PushSession> VariableStore::StartPush() {
  return std::make_unique<PushSession>(core_.get());
}

absl::StatusOr<std::unique_ptr<PullSession>> VariableStore::StartPull(const PullRequest& request) {
  if (ElementBytes(request.encoding()) == 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("Pull asks for ", UnknownEncoding(request.encoding())));
  }
  ASSIGN_OR_RETURN(std::vector<VariableBlock*> blocks,
                   core_->ResolveBlocks(request.fingerprint(), request.blocks()));
  TrainingProgress* tracker = core_->progress();
  if (tracker != nullptr && request.worker_task() >= 0 &&
      request.worker_task() < tracker->options().num_workers) {
    tracker->RecordPull(request.worker_task());
  }
  return std::make_unique<PullSession>(core_.get(), std::move(blocks), request.encoding());
}

absl::StatusOr<std::unique_ptr<SnapshotSession>> VariableStore::StartSnapshot(
    const SnapshotRequest& request) {
  ASSIGN_OR_RETURN(std::vector<VariableBlock*> blocks,
                   core_->ResolveBlocks(request.fingerprint(), request.blocks()));
  return std::make_unique<SnapshotSession>(core_.get(), std::move(blocks), core_->SlotNames(),
                                           core_->ReportedGlobalStep());
}

absl::StatusOr<WorkerDoneResponse> VariableStore::WorkerDone(const WorkerDoneRequest& request) {
  return core_->WorkerDone(request);
}

bool VariableStore::PullReady(const PullRequest& request, const PullSession& session) {
  return tessera::PullReady(*core_, request, session.blocks());
}

uint64_t VariableStore::WaitForPull(const PullRequest& request, const PullSession* session,
                                    std::function<void(absl::Status)> done) {
  PullWaiter* waiter = core_->waiter();
  if (waiter == nullptr) {  // ASYNC: nothing to wait for
    done(absl::OkStatus());
    return 0;
  }
  const StoreCore* core = core_.get();
  return waiter->Add(
      [core, request, session] { return tessera::PullReady(*core, request, session->blocks()); },
      core->clock()->Now() + core->sync_timeout(),
      [core, request, session] { return PullTimeoutError(*core, request, session->blocks()); },
      std::move(done));
}

bool VariableStore::CancelPullWait(uint64_t id) {
  PullWaiter* waiter = core_->waiter();
  return waiter != nullptr && waiter->Cancel(id);
}

StoreSummary VariableStore::Summary() const {
  StoreSummary summary;
  core_->FillCounts(&summary);
  // Without the core's lock: the rest takes block locks and the tracker's.
  TrainingProgress* tracker = core_->progress();
  if (tracker != nullptr) {
    summary.workers = tracker->Workers(SyncContributors(*core_));
    summary.waiting_for = WaitingFor(*core_);
  }
  return summary;
}

}  // namespace tessera
