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
//   RESOURCE_EXHAUSTED   CreateVariables over a cap of VariableStoreOptions::limits
//                        (bytes held, block count, one block's size), checked
//                        before anything is allocated; the message names the
//                        flag, the value asked and the limit
//   DEADLINE_EXCEEDED    a waiting Pull (SYNC, STALE) not satisfied within
//                        sync_timeout_secs; the message names the workers
//                        waited for
// A failed request changes nothing beyond the chunks applied before it failed.
// Update modes: docs/update_modes.md; ps/update_policy.h applies gradients,
// ps/training_progress.h tracks the workers, ps/pull_waiter.h holds waiting
// Pulls off the RPC threads.
//
// The streams are sessions in their own files: ps/push_session.h,
// ps/pull_session.h and ps/snapshot_session.h (ps/chunk_source.h). They and
// the pull waits (ps/store_waits.h) share the store's state through its
// internal core (ps/store_core.h), which the store owns and lends them.
//
// Memory: the blocks and their slots (SYNC: plus one accumulator per block,
// as large as the block): Summary().bytes_held, capped by
// limits.max_bytes_held; plus up to StoreCore::kMaxIdleScratch (4) reusable piece buffers
// (64 KiB each) shared by all pushes, plus the 1 MiB value pieces that Pull
// streams still send after a push replaced them (ps/block_values.h: one or two
// per stream in flight); a Snapshot stream holds a copy of one block (and of
// the previous one while its last chunks are still being sent).
//
// Thread-safe. Pushes and pulls of different blocks run in parallel (one
// mutex per block); the block set never changes once created. Sessions borrow
// the store: it must outlive every session it started.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/clock.h"
#include "protos/ps_service.pb.h"
#include "ps/ps_limits.h"
#include "ps/pull_session.h"
#include "ps/push_session.h"
#include "ps/snapshot_session.h"
#include "ps/store_errors.h"
#include "ps/store_summary.h"

namespace tessera {

class StoreCore;

struct VariableStoreOptions {
  Clock* clock = nullptr;    // borrowed; RealClock::Get() when null
  uint64_t incarnation = 0;  // 0: a random one
  // Caps on what CreateVariables may make the store hold (the stream cap is
  // the service's); a request over one is RESOURCE_EXHAUSTED.
  PsLimits limits;
};

class VariableStore {
 public:
  explicit VariableStore(const VariableStoreOptions& options);
  VariableStore(const VariableStore&) = delete;
  VariableStore& operator=(const VariableStore&) = delete;
  ~VariableStore();

  uint64_t incarnation() const;

  // Creates the blocks (values 0, uninitialized). Idempotent for the same
  // request; another fingerprint (or the same fingerprint with other blocks)
  // is FAILED_PRECONDITION naming both and the first differing block.
  absl::StatusOr<CreateVariablesResponse> CreateVariables(const CreateVariablesRequest& request);

  // Starts a Push; its first chunk is checked (created, ready for GRADIENT,
  // fingerprint, worker task).
  std::unique_ptr<PushSession> StartPush();

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
  // The state the sessions share; never null.
  const std::unique_ptr<StoreCore> core_;
};

}  // namespace tessera

#endif  // TESSERA_PS_VARIABLE_STORE_H_
