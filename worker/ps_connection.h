#ifndef TESSERA_WORKER_PS_CONNECTION_H_
#define TESSERA_WORKER_PS_CONNECTION_H_

// A connection to one parameter-server task: the five calls of
// protos/ps_service.proto as the worker makes them, without saying how they
// travel. PsClient (worker/ps_client.h) is the gRPC implementation; tests use
// an in-memory one backed by a real VariableStore (test/in_memory_ps.h). The
// worker's logic (PsGroup and above) sees only this interface.
//
// Contract of every implementation:
// - A ps's error arrives with its code, message and ErrorKind
//   (common/error_kind.h) unchanged, prefixed with context by Annotate
//   (common/status_macros.h): "`Rpc` to ps N at ADDRESS: ...". A ps that is
//   down or restarting is UNAVAILABLE (an implementation may retry it first).
// - Every answer carries the ps's incarnation, so callers see restarts.
// - One call at a time per instance, except that one Push and one Pull may
//   run at once from two threads (PsGroup's overlapped push and pull);
//   different instances may be called from different threads at once.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/types/span.h"
#include "protos/ps_service.pb.h"

namespace tessera {

class SharedMemory;  // common/rpc/shared_segment.h

class PsConnection {
 public:
  struct PullResult {
    std::vector<int64_t> versions;  // per requested block
    int64_t global_step = -1;       // ps 0's global step, -1 from other ps
    uint64_t incarnation = 0;       // the ps process's incarnation
  };

  struct SnapshotResult {
    int64_t global_step = -1;  // ps 0's global step when the snapshot began, else -1
    uint64_t incarnation = 0;
    int64_t tensors = 0;       // (block, slot) tensors received
  };
  // Where the whole tensor (block, slot) of a Snapshot goes ("" slot: the
  // block's values); the span must have exactly the block's element count.
  // An error ends the snapshot with it.
  using SnapshotSink = std::function<absl::StatusOr<absl::Span<float>>(
      const std::string& block, const std::string& slot)>;

  // An overlapped pull's news (PsGroup::StartPull): block i of the request
  // has arrived whole.
  using BlockArrived = std::function<void(size_t block)>;
  // What Pull returns when its connection broke (`error`, UNAVAILABLE) after
  // `arrived` of `blocks` blocks had been handed on: ABORTED, not retried.
  static absl::Status PullBrokeAfterArrivals(const absl::Status& error, size_t arrived,
                                             size_t blocks) {
    return absl::AbortedError(absl::StrCat("pull broke after ", arrived, " of ", blocks,
                                           " blocks were in use (not retried): ", error.message()));
  }

  // An overlapped push's wait for its data (PsGroup::StartPush): Push calls
  // it with i before the first chunk of blocks[i] goes out (again on a
  // retry), and it returns true once values[i] is final, or false to abandon
  // the push: Push then cancels the call and returns CANCELLED. A ps has
  // applied what came before (as when a connection breaks mid-push).
  using AwaitBlock = std::function<bool(size_t block)>;
  // What Push returns when `await_block` abandoned it before block `sent` of
  // `blocks` (every implementation says the same).
  static absl::Status AbandonedPush(size_t sent, size_t blocks) {
    return absl::CancelledError(
        absl::StrCat("push abandoned by the worker after ", sent, " of ", blocks, " blocks"));
  }

  virtual ~PsConnection() = default;

  // "host:port" for a remote ps; a descriptive name otherwise. For messages.
  virtual const std::string& address() const = 0;

  // Creates the variables on the ps (idempotent for the same request).
  virtual absl::StatusOr<CreateVariablesResponse> CreateVariables(
      const CreateVariablesRequest& request) = 0;

  // Pulls request.blocks() (non-empty) into `destinations` (borrowed; one per
  // block, each exactly the block's element count); INVALID_ARGUMENT when the
  // counts differ. A ps answer that does not fit the destinations is INTERNAL
  // naming the block; then the destinations may hold part of the new values.
  // With request.min_version() > 0 (SYNC, STALE) the ps may hold the answer
  // until the other workers caught up, or until its sync timeout.
  // `arrived` (optional): called with i as soon as destinations[i] holds
  // block i's final values (blocks come in request order), while the rest
  // streams in (PsGroup::StartPull). Once it has been called, a failed
  // attempt is not retried (that would write into values already in use):
  // an UNAVAILABLE comes back as ABORTED (PullBrokeAfterArrivals).
  virtual absl::StatusOr<PullResult> Pull(const PullRequest& request,
                                          absl::Span<const absl::Span<float>> destinations,
                                          const BlockArrived& arrived = nullptr) = 0;

  // Pushes values[i] as block blocks[i]. `fields` gives kind, fingerprint,
  // worker_task, step and increment_global_step; block, offset,
  // block_elements and slot are set by the implementation. `values` are
  // borrowed until Push returns. With no blocks, one header-only chunk is
  // sent (to advance the global step on ps 0). `slots` (ASSIGN only) is
  // empty, or names each entry's slot ("" for a block's values; a block's
  // slots after its values). INVALID_ARGUMENT when the counts differ.
  // `await_block` (optional): see AwaitBlock.
  virtual absl::StatusOr<PushResponse> Push(const ChunkHeader& fields,
                                            absl::Span<const std::string> blocks,
                                            absl::Span<const absl::Span<const float>> values,
                                            absl::Span<const std::string> slots = {},
                                            const AwaitBlock& await_block = nullptr) = 0;

  // Streams request.blocks() (every block when empty) with their slots and
  // copies them into the spans `sink` gives for each tensor. An answer out
  // of order or not fitting is INTERNAL naming the block; after an error the
  // sink's spans may hold part of the data.
  virtual absl::StatusOr<SnapshotResult> Snapshot(const SnapshotRequest& request,
                                                  const SnapshotSink& sink) = 0;

  // Tells the ps (ps 0) that a worker reached max_steps.
  virtual absl::StatusOr<WorkerDoneResponse> WorkerDone(const WorkerDoneRequest& request) = 0;

  // Whether this connection may share memory with its ps (a ps of this host
  // reached through its local socket, shared memory on).
  virtual bool can_share_memory() const { return false; }
  // The memory the caller's variables and gradients live in (null: none),
  // given between calls: a connection that can share memory then pushes
  // gradients and pulls variables in place (worker/tensor_memory.h), and
  // makes its other shared segments anew; others ignore it.
  virtual void ShareTensorMemory(std::shared_ptr<SharedMemory> memory) { (void)memory; }
};

}  // namespace tessera

#endif  // TESSERA_WORKER_PS_CONNECTION_H_
