#ifndef TESSERA_PS_VARIABLE_STORE_H_
#define TESSERA_PS_VARIABLE_STORE_H_

// The state of one parameter server: the variable blocks the chief created
// here (values, optimizer slots, versions), the global step when this ps holds
// it, the model fingerprint and each worker's progress. Plain C++ behind the
// gRPC adapter (ps/ps_service.h); every input is validated and errors name the
// block and what is wrong, as protos/ps_service.proto states:
//   NOT_FOUND            unknown block
//   FAILED_PRECONDITION  other fingerprint; Pull or GRADIENT before the chief
//                        created and initialized the variables
//   INVALID_ARGUMENT     bad shape, chunk offsets or sizes, chunk out of
//                        order, payload over 4 MiB, empty push, an unknown
//                        slot or a slot chunk outside an ASSIGN, bad SYNC or
//                        STALE settings in CreateVariables
//   DEADLINE_EXCEEDED    a waiting Pull (SYNC, STALE) not satisfied within
//                        sync_timeout_secs; the message names the workers
//                        waited for
// A failed request changes nothing beyond the chunks applied before it failed.
// Update modes: docs/update_modes.md; ps/update_policy.h applies gradients,
// ps/training_progress.h tracks the workers, ps/pull_waiter.h holds waiting
// Pulls off the RPC threads.
//
// Memory: the blocks and their slots (SYNC: plus one accumulator per block,
// as large as the block), plus up to kMaxIdleScratch reusable piece buffers
// (64 KiB each) shared by all pushes, plus the 1 MiB value pieces that Pull
// streams still send after a push replaced them (ps/block_values.h: one or two
// per stream in flight); a Snapshot stream holds a copy of one block (and of
// the previous one while its last chunks are still being sent).
//
// Thread-safe. Pushes and pulls of different blocks run in parallel (one
// mutex per block); the block set never changes once created.

#include <atomic>
#include <functional>
#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "common/rpc/chunk_sizes.h"
#include "common/clock.h"
#include "common/error_kind.h"
#include "common/optim/optimizer.h"
#include "protos/ps_service.pb.h"
#include "ps/pull_waiter.h"
#include "ps/training_progress.h"
#include "ps/update_policy.h"
#include "ps/variable_block.h"

namespace tessera {

inline constexpr char kNotInitializedMessage[] =
    "not initialized: waiting for the chief to create and initialize the variables";
// FAILED_PRECONDITION kNotInitializedMessage of kind ErrorKind::kNotInitialized
// (common/error_kind.h): workers act on the kind, never on the text.
absl::Status NotInitializedError();

struct VariableStoreOptions {
  Clock* clock = nullptr;    // borrowed; RealClock::Get() when null
  uint64_t incarnation = 0;  // 0: a random one
};

// A consistent-enough view for status reporting.
struct StoreSummary {
  bool created = false;
  bool ready = false;  // created and every block initialized
  std::string fingerprint;
  int64_t num_blocks = 0;
  int64_t initialized_blocks = 0;
  int64_t bytes_held = 0;    // values and slots
  int64_t global_step = -1;  // -1 when this ps does not hold it
  std::map<int, WorkerState> workers;
  std::string waiting_for;  // what waiting Pulls wait for; "" when none wait
};

class VariableStore;

// One Push stream: validates its chunks in order and applies them. Borrows the
// store, which must outlive it. Not thread-safe (one stream, one thread at a
// time). After an error every later call returns that error.
class PushSession {
 public:
  PushSession(const PushSession&) = delete;
  PushSession& operator=(const PushSession&) = delete;
  ~PushSession();

  // Fills `out` with the chunk's payload floats [element, element + out.size()).
  using PayloadReader = absl::FunctionRef<void(int64_t element, absl::Span<float> out)>;
  // Payload floats read and applied at a time: small enough to stay in the
  // core's cache between the read and the update (the payload goes from the
  // received message to the block without a chunk-sized copy).
  static constexpr int64_t kPieceElements = 16 << 10;

  // Validates the next chunk (`payload_bytes` of payload).
  absl::Status BeginChunk(const ChunkHeader& header, int64_t payload_bytes);
  // Applies the chunk BeginChunk validated, reading its payload piece by piece
  // with `read`, under the block's lock.
  absl::Status CommitChunk(PayloadReader read);
  // BeginChunk + CommitChunk, for callers holding the payload already.
  absl::Status AddChunk(const ChunkHeader& header, absl::Span<const float> payload);
  // Ends the stream: the last block must be complete. Advances the global step
  // (increment_global_step on the ps holding it), records the worker's progress.
  absl::StatusOr<PushResponse> Finish();

 private:
  friend class VariableStore;
  explicit PushSession(VariableStore* store) : store_(store) {}
  absl::Status Fail(absl::Status status);
  absl::Status CheckFirstChunk(const ChunkHeader& header);
  // Moves to the (block, slot) of `header` when it starts a new tensor.
  absl::Status StartTensor(const ChunkHeader& header);

  VariableStore* const store_;
  absl::Status error_;
  int64_t chunks_ = 0;
  ChunkHeader first_;  // push fields of the stream (from its first chunk)
  VariableBlock* block_ = nullptr;  // block in progress
  std::string slot_;                // its slot in progress ("" = the values)
  int slot_index_ = -1;             // index of slot_ in the optimizer's slots
  int64_t next_offset_ = 0;
  std::vector<VariableBlock*> assigned_;  // ASSIGN: blocks whose values are complete
  UpdatePolicy* policy_ = nullptr;        // the store's, fixed once created
  BlockPush block_push_;                  // GRADIENT: the block in progress
  TrainingProgress* progress_ = nullptr;  // the store's, fixed once created
  const Optimizer* optimizer_ = nullptr;  // the store's, fixed once created
  float block_learning_rate_ = 0;  // for the block in progress
  int64_t pending_elements_ = -1;  // elements between BeginChunk and CommitChunk
  std::set<std::string> seen_;
  std::vector<float> scratch_;  // piece buffer, borrowed from the store's pool
  int64_t applied_ = 0;
  int64_t dropped_ = 0;
};

// A response stream of chunks (Pull, Snapshot), produced one at a time.
// Borrows the store. Not thread-safe.
class ChunkSource {
 public:
  virtual ~ChunkSource() = default;
  virtual bool Done() const = 0;
  // The next chunk (at most max_elements > 0 elements) and its *header. The
  // payload is not copied: it stays valid and unchanged while the returned
  // SharedFloats, or a reference taken from it, lives (gRPC sends straight
  // from it). Requires !Done().
  virtual SharedFloats NextChunk(int64_t max_elements, ChunkHeader* header) = 0;
};

// One Pull stream over the requested blocks: VALUES chunks with version,
// incarnation and global step. A chunk is a piece of the block's values
// (ps/block_values.h) shared under the block's lock, so a block within one
// chunk is a consistent copy (docs/protocol.md, "Chunks and the fast path").
class PullSession final : public ChunkSource {
 public:
  bool Done() const override { return index_ == blocks_.size(); }
  SharedFloats NextChunk(int64_t max_elements, ChunkHeader* header) override;
  const std::vector<VariableBlock*>& blocks() const { return blocks_; }

 private:
  friend class VariableStore;
  PullSession(VariableStore* store, std::vector<VariableBlock*> blocks)
      : store_(store), blocks_(std::move(blocks)) {}
  VariableStore* const store_;
  const std::vector<VariableBlock*> blocks_;
  size_t index_ = 0;
  int64_t offset_ = 0;
};

// One Snapshot stream (protos/ps_service.proto): for each block, its values
// then each optimizer slot, all copied together under the block's lock when
// the block's first chunk is produced (consistent per block). Holds one
// block's copy (values and slots) at a time, plus the previous one while its
// last chunks are still being sent.
class SnapshotSession final : public ChunkSource {
 public:
  ~SnapshotSession() override;
  bool Done() const override { return index_ == blocks_.size(); }
  SharedFloats NextChunk(int64_t max_elements, ChunkHeader* header) override;

 private:
  friend class VariableStore;
  SnapshotSession(VariableStore* store, std::vector<VariableBlock*> blocks,
                  std::vector<std::string> slot_names, int64_t global_step)
      : store_(store),
        blocks_(std::move(blocks)),
        slot_names_(std::move(slot_names)),
        global_step_(global_step) {}
  void ReleaseCopy();

  VariableStore* const store_;
  const std::vector<VariableBlock*> blocks_;
  const std::vector<std::string> slot_names_;
  const int64_t global_step_;  // when the stream started
  size_t index_ = 0;           // block
  size_t tensor_ = 0;          // 0: values, i > 0: slot i - 1
  int64_t offset_ = 0;
  std::vector<FloatBuffer*> copy_;  // values, then slots, of block index_ (a reference each)
  int64_t version_ = 0;             // of the copy
};

class VariableStore {
 public:
  explicit VariableStore(const VariableStoreOptions& options);
  VariableStore(const VariableStore&) = delete;
  VariableStore& operator=(const VariableStore&) = delete;
  ~VariableStore();

  uint64_t incarnation() const { return incarnation_; }

  // Creates the blocks (values 0, uninitialized). Idempotent for the same
  // request; another fingerprint (or the same fingerprint with other blocks)
  // is FAILED_PRECONDITION naming both and the first differing block.
  absl::StatusOr<CreateVariablesResponse> CreateVariables(const CreateVariablesRequest& request);

  std::unique_ptr<PushSession> StartPush() {
    return std::unique_ptr<PushSession>(new PushSession(this));
  }

  // Validates `request` (ready, fingerprint, block names) and starts a Pull.
  // An empty block list means every block, in creation order.
  absl::StatusOr<std::unique_ptr<PullSession>> StartPull(const PullRequest& request);

  // Validates `request` like StartPull and starts a Snapshot.
  absl::StatusOr<std::unique_ptr<SnapshotSession>> StartSnapshot(const SnapshotRequest& request);

  // A worker reached max_steps.
  absl::StatusOr<WorkerDoneResponse> WorkerDone(const WorkerDoneRequest& request);

  // Whether the Pull `request` (started as `session`) may stream now: true
  // unless SYNC or STALE and request.min_version() > 0 and the wait of
  // protos/ps_service.proto (PullRequest.min_version) is not over.
  bool PullReady(const PullRequest& request, const PullSession& session);
  // Waits for PullReady off the caller's thread and calls `done` exactly once
  // (on the store's waiter thread): OK when ready; DEADLINE_EXCEEDED naming
  // the workers waited for after sync_timeout_secs; CANCELLED when the store
  // is destroyed first. `session` is borrowed until `done` or a successful
  // CancelPullWait. Returns an id for CancelPullWait.
  uint64_t WaitForPull(const PullRequest& request, const PullSession* session,
                       std::function<void(absl::Status)> done);
  // True when the wait was withdrawn and `done` will never run.
  bool CancelPullWait(uint64_t id);

  StoreSummary Summary() const;

 private:
  friend class PushSession;
  friend class PullSession;
  friend class SnapshotSession;

  // The blocks named (every block when `names` is empty), after checking
  // readiness and the fingerprint.
  absl::StatusOr<std::vector<VariableBlock*>> ResolveBlocks(
      absl::string_view fingerprint, const google::protobuf::RepeatedPtrField<std::string>& names)
      const;

  // The global step reported to clients: ps 0's counter, else -1.
  int64_t ReportedGlobalStep() const;
  // The step the learning-rate schedule uses for a push computed at `step`.
  float LearningRateFor(int64_t step) const;
  absl::Status CheckFingerprint(absl::string_view fingerprint) const
      ABSL_SHARED_LOCKS_REQUIRED(mu_);
  absl::StatusOr<VariableBlock*> FindBlock(absl::string_view name) const
      ABSL_SHARED_LOCKS_REQUIRED(mu_);
  absl::Status CheckWorkerTask(int task) const ABSL_SHARED_LOCKS_REQUIRED(mu_);
  // The worker tracker (null before CreateVariables); fixed once created.
  TrainingProgress* progress() const;
  // Why a Pull waiting for `request` is not ready yet (the timeout error).
  absl::Status PullTimeoutError(const PullRequest& request, const PullSession& session);
  // The workers a SYNC step still needs, described; from ps 0's global-step
  // count or else the first block short of `step`.
  std::string DescribeSyncWait(int64_t step, const std::vector<VariableBlock*>& blocks) const;
  // Re-checks waiting Pulls (after a block advanced or a push finished).
  void NotifyWaiters();
  // SYNC: the workers counted for the current step (ps 0's global-step count,
  // else the first block's accumulator); empty in other modes.
  std::set<int> SyncContributors() const;
  // What waiting Pulls wait for (status); "" when none wait.
  std::string WaitingFor() const;
  std::vector<float> TakeScratch();
  void ReturnScratch(std::vector<float> scratch);
  void BlockInitialized();
  void RecordPush(int worker_task, int64_t step, bool dropped);

  Clock* const clock_;
  const uint64_t incarnation_;

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
  // SYNC and STALE only; set once with the variables.
  std::unique_ptr<PullWaiter> waiter_ ABSL_GUARDED_BY(mu_);
  std::vector<std::vector<float>> idle_scratch_ ABSL_GUARDED_BY(mu_);

  // Lock-free for the hot path. ready_: created and every block initialized.
  std::atomic<bool> ready_{false};
  std::atomic<bool> holds_global_step_{false};
  std::atomic<int64_t> global_step_{0};
  // Highest step seen in pushes: the schedule's step on a ps without the counter.
  std::atomic<int64_t> max_push_step_{0};
};

}  // namespace tessera

#endif  // TESSERA_PS_VARIABLE_STORE_H_
