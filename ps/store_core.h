#ifndef TESSERA_PS_STORE_CORE_H_
#define TESSERA_PS_STORE_CORE_H_

// The state behind the variable store (ps/variable_store.h), internal to it:
// what CreateVariables made (the blocks, optimizer, update policy, worker
// progress, pull waiter and settings), the global step and the pool of push
// scratch buffers. The store owns one and lends it to its sessions
// (ps/push_session.h, ps/pull_session.h, ps/snapshot_session.h) and pull
// waits (ps/store_waits.h); this class is all they see of the store.
//
// Everything CreateVariables sets is set once and then never changes, so the
// pointers handed out (blocks, policy, optimizer, progress, waiter) stay valid
// for the core's lifetime. The blocks' contents are guarded by each block's
// own mutex (ps/variable_block.h).
//
// Thread-safe. CreateVariables makes the blocks outside the core's lock (it
// holds only its own, which serializes CreateVariables calls) and installs
// them under it at once, so status, pulls and pushes are not held up while a
// large model is allocated. Lock order: CreateVariables' lock before the
// core's; the core's lock before a block's or the tracker's (WorkerDone
// records the worker inside it); callers must not call in while holding a
// block's lock.

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "common/optim/optimizer.h"
#include "protos/ps_service.pb.h"
#include "ps/ps_limits.h"
#include "ps/pull_waiter.h"
#include "ps/store_summary.h"
#include "ps/training_progress.h"
#include "ps/update_policy.h"
#include "ps/variable_block.h"

namespace tessera {

// What a push applies its chunks with; borrowed from the core, fixed once the
// variables are created.
struct PushContext {
  UpdatePolicy* policy = nullptr;
  const Optimizer* optimizer = nullptr;
};

class StoreCore {
 public:
  // `clock` is borrowed and must outlive the core. CreateVariables refuses
  // what would take the store over `limits` (ps/ps_limits.h).
  StoreCore(Clock* clock, uint64_t incarnation, const PsLimits& limits = PsLimits());
  StoreCore(const StoreCore&) = delete;
  StoreCore& operator=(const StoreCore&) = delete;
  ~StoreCore();

  Clock* clock() const { return clock_; }
  uint64_t incarnation() const { return incarnation_; }
  const PsLimits& limits() const { return limits_; }

  // VariableStore::CreateVariables (same contract).
  absl::StatusOr<CreateVariablesResponse> CreateVariables(const CreateVariablesRequest& request);
  // VariableStore::WorkerDone (same contract).
  absl::StatusOr<WorkerDoneResponse> WorkerDone(const WorkerDoneRequest& request);

  // Created and every block initialized. Lock-free.
  bool ready() const { return ready_; }
  // The blocks named (every block, in creation order, when `names` is
  // empty): FAILED_PRECONDITION when not ready or another fingerprint,
  // NOT_FOUND for an unknown name.
  absl::StatusOr<std::vector<VariableBlock*>> ResolveBlocks(
      absl::string_view fingerprint,
      const google::protobuf::RepeatedPtrField<std::string>& names) const;
  // NOT_FOUND "no block named ..." when there is none.
  absl::StatusOr<VariableBlock*> FindBlock(absl::string_view name) const;
  // Every block in creation order (none before CreateVariables).
  std::vector<VariableBlock*> Blocks() const;
  // Admits a push whose first chunk is `first` (GRADIENT or ASSIGN):
  // FAILED_PRECONDITION before CreateVariables (and, for GRADIENT, before
  // every block is initialized) or for another fingerprint; INVALID_ARGUMENT
  // for a worker_task out of range.
  absl::StatusOr<PushContext> AdmitPush(const ChunkHeader& first) const;
  // The optimizer's slot names (empty before CreateVariables).
  std::vector<std::string> SlotNames() const;

  // The worker tracker; null before CreateVariables.
  TrainingProgress* progress() const;
  // SYNC and STALE: the thread waiting Pulls wait on; null otherwise.
  PullWaiter* waiter() const;
  // How long a Pull waits before DEADLINE_EXCEEDED (sync_timeout_secs).
  absl::Duration sync_timeout() const;

  // Whether this ps holds the global step. Lock-free.
  bool holds_global_step() const { return holds_global_step_; }
  // The global step reported to clients: this ps's counter, else -1. Lock-free.
  int64_t ReportedGlobalStep() const;
  // The schedule's learning rate for a push computed at `step` (at the
  // global step on the ps holding it).
  float LearningRateFor(int64_t step) const;

  // A GRADIENT push of `worker_task` computed at `step` finished, `dropped`
  // when some of its chunks were dropped. With `increment_global_step` on the
  // ps holding it, advances the global step (SYNC: once per step, when
  // replicas_to_aggregate pushes of it finished). Records the worker's
  // progress (dropped also when SYNC did not count it towards the step) and
  // wakes waiting Pulls.
  void GradientPushDone(int worker_task, int64_t step, bool increment_global_step, bool dropped);
  // An ASSIGN push at `step` finished: on the ps holding the global step and
  // for step >= 0, sets it to `step` (the SYNC count starts afresh). Wakes
  // waiting Pulls.
  void AssignPushDone(int64_t step);
  // One more block became initialized (once per block).
  void BlockInitialized();
  // Re-checks waiting Pulls (a block advanced or a push finished).
  void NotifyWaiters();

  // A push's piece buffer: an idle one from the pool, else empty.
  std::vector<float> TakeScratch();
  // Returns a buffer to the pool (kept when fewer than kMaxIdleScratch idle).
  void ReturnScratch(std::vector<float> scratch);
  static constexpr size_t kMaxIdleScratch = 4;

  // Tests only: `hook` runs inside every CreateVariables that creates, once
  // the blocks are made and before they are installed (the core's lock is
  // not held then). Set it before any call.
  void SetBlocksMadeHookForTest(std::function<void()> hook) { blocks_made_hook_ = std::move(hook); }

  // Fills the counters of `summary` (all but workers and waiting_for),
  // read together under the core's lock.
  void FillCounts(StoreSummary* summary) const;

 private:
  absl::Status CheckFingerprint(absl::string_view fingerprint) const
      ABSL_SHARED_LOCKS_REQUIRED(mu_);
  absl::StatusOr<VariableBlock*> FindBlockLocked(absl::string_view name) const
      ABSL_SHARED_LOCKS_REQUIRED(mu_);
  absl::Status CheckWorkerTask(int task) const ABSL_SHARED_LOCKS_REQUIRED(mu_);
  // CreateVariables once created: idempotent for the same request, else
  // FAILED_PRECONDITION naming the difference.
  absl::StatusOr<CreateVariablesResponse> RepeatedCreate(const CreateVariablesRequest& request,
                                                         CreateVariablesResponse response) const
      ABSL_SHARED_LOCKS_REQUIRED(mu_);

  Clock* const clock_;
  const uint64_t incarnation_;
  const PsLimits limits_;

  std::function<void()> blocks_made_hook_;  // tests only

  // Held through a whole CreateVariables (see the class comment).
  absl::Mutex create_mu_ ABSL_ACQUIRED_BEFORE(mu_);
  mutable absl::Mutex mu_;
  // Set once by the first successful CreateVariables, then never changed.
  bool created_ ABSL_GUARDED_BY(mu_) = false;
  CreateVariablesRequest request_ ABSL_GUARDED_BY(mu_);
  std::unique_ptr<Optimizer> optimizer_ ABSL_GUARDED_BY(mu_);
  std::unique_ptr<UpdatePolicy> policy_ ABSL_GUARDED_BY(mu_);
  std::vector<std::unique_ptr<VariableBlock>> blocks_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, VariableBlock*> by_name_ ABSL_GUARDED_BY(mu_);
  int64_t initialized_blocks_ ABSL_GUARDED_BY(mu_) = 0;
  std::unique_ptr<TrainingProgress> progress_ ABSL_GUARDED_BY(mu_);
  absl::Duration sync_timeout_ ABSL_GUARDED_BY(mu_) = absl::Seconds(300);
  std::vector<std::vector<float>> idle_scratch_ ABSL_GUARDED_BY(mu_);
  // Lock-free for the hot path. ready_: created and every block initialized.
  std::atomic<bool> ready_{false};
  std::atomic<bool> holds_global_step_{false};
  std::atomic<int64_t> global_step_{0};
  // SYNC and STALE only; set once with the variables. Declared after what its
  // conditions read, so it stops (joining its thread) before they go.
  std::unique_ptr<PullWaiter> waiter_ ABSL_GUARDED_BY(mu_);
};

}  // namespace tessera

#endif  // TESSERA_PS_STORE_CORE_H_
