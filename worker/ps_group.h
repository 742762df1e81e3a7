#ifndef TESSERA_WORKER_PS_GROUP_H_
#define TESSERA_WORKER_PS_GROUP_H_

// The worker's view of all parameter servers at once: variables in, through
// the placement plan, to blocks on each ps, and back. Pulls and pushes go to
// every ps in parallel (one thread per ps), straight from and into the
// variables' own memory: a block of a variable split along dimension 0 is a
// contiguous range of the variable's buffer, so nothing is copied on the
// worker side.
// Not thread-safe: one thread at a time drives it (the training thread),
// except GradientReady, which any thread may call during an overlapped push.

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/checkpoint/checkpoint.h"
#include "common/clock.h"
#include "common/cluster/placement.h"
#include "common/parallel_runner.h"
#include "common/tensor.h"
#include "protos/train_config.pb.h"
#include "worker/ps_connection.h"

namespace tessera {

class WorkerStatus;

struct PsGroupOptions {
  int worker_task = 0;
  int num_workers = 1;
  WorkerStatus* status = nullptr;  // borrowed, optional: shows what we wait for
  Clock* clock = nullptr;          // borrowed; RealClock::Get() when null
  // Borrowed, optional: when it turns true, WaitUntilInitialized ends with
  // CANCELLED (the worker was asked to stop while waiting).
  const std::atomic<bool>* cancelled = nullptr;
  // How the training step's traffic travels (TrainConfig.transport_encoding):
  // the gradients of PushAll and the values of PullAll(values, min_version).
  // Every other pull and push is FLOAT32.
  TensorEncoding transport_encoding = FLOAT32;
};

class PsGroup {
 public:
  // `variables` are the model's (names and shapes, in model order); `plan`
  // places them on the ps tasks; `connections` holds one connection per ps
  // task, in task order (ConnectToAllPs in worker/ps_client.h for gRPC).
  // INVALID_ARGUMENT when the plan is for another number of ps, or names a
  // variable that is not in `variables`.
  static absl::StatusOr<std::unique_ptr<PsGroup>> Create(
      const std::vector<VariableInfo>& variables, const PlacementPlan& plan,
      const PsGroupOptions& options, std::vector<std::unique_ptr<PsConnection>> connections);
  ~PsGroup();

  // Chief: creates the variables on every ps (idempotent) and assigns
  // `initial` (model order) to each ps that is not initialized yet.
  // Returns how many ps it initialized.
  absl::StatusOr<int> CreateAndInitialize(const TrainConfig& config,
                                          const std::vector<Tensor>& initial);

  // Chief: CreateVariables on every ps (idempotent). Returns the ps tasks
  // whose variables are not initialized (a new or restarted ps), ascending.
  absl::StatusOr<std::vector<int>> CreateVariables(const TrainConfig& config);
  // Chief: assigns `initial` (model order) to ps `ps`: its blocks' values,
  // fresh optimizer slots, global step 0 (ps 0).
  absl::Status AssignInitialValues(int ps, const std::vector<Tensor>& initial);
  // Chief: assigns a checkpoint's values and optimizer slots (TRAINABLE
  // variables only) to the blocks of ps `ps`, and its global step (ps 0
  // takes it; every block's update count too). INVALID_ARGUMENT naming the
  // checkpoint, variable and slot when the checkpoint lacks one of the
  // model's variables or slots `slot_names`, or its shape or kind differs.
  // `step` >= 0 replaces the checkpoint's global step as the step the
  // restored blocks (and ps 0's global step) continue from.
  absl::Status RestoreFromCheckpoint(int ps, const CheckpointContents& checkpoint,
                                     const std::vector<std::string>& slot_names,
                                     int64_t step = -1);
  // The step ps `ps` is at: the oldest version of its blocks, and on ps 0 its
  // global step if lower (under SYNC the step its values belong to; ASYNC
  // keeps versions at 0). Pulls the blocks of that ps (a Pull without
  // waiting). NOT_FOUND when the ps holds no block.
  absl::StatusOr<int64_t> PsStep(int ps);
  // Chief: a snapshot of every ps (Snapshot RPCs in parallel) assembled into
  // whole variables (model order, with their kinds) with their slots
  // `slot_names` (none for a MOVING_AVERAGE variable); the global step is
  // ps 0's. Only metadata.global_step is set in the metadata.
  absl::StatusOr<CheckpointContents> Snapshot(const std::vector<std::string>& slot_names);

  // Blocks until a Pull succeeds on every ps, i.e. the chief has initialized
  // them, or until `deadline`; says what it waits for in the log and status
  // every few seconds. DEADLINE_EXCEEDED naming the ps that never got ready;
  // CANCELLED when options' `cancelled` turns true. `what` describes the wait
  // (default: the chief's first initialization).
  absl::Status WaitUntilInitialized(absl::Time deadline, absl::string_view what = "");
  // One Pull of every variable from every ps into `scratch` (tensors of the
  // variables' shapes, made when it is empty): OK when every ps holds
  // initialized variables, else the first error (IsNotInitializedError for a
  // ps that restarted and lost them).
  absl::Status CheckInitialized(std::vector<Tensor>* scratch);

  // Whether some ps can share memory with this worker (a ps of this host,
  // shared memory on; PsConnection::can_share_memory).
  bool can_share_memory() const;
  // Hands `memory`, which the worker's variables and gradients live in, to
  // every connection (PsConnection::ShareTensorMemory).
  void ShareTensorMemory(const std::shared_ptr<SharedMemory>& memory);

  // The incarnation each ps last answered with (0 before any answer).
  // PullAll and PushAll log a change ("ps 1 restarted").
  const std::vector<uint64_t>& incarnations() const { return incarnations_; }

  // Pulls every variable into `values` (model order, shapes as the model's).
  // Returns the global step (from ps 0).
  absl::StatusOr<int64_t> PullAll(std::vector<Tensor>* values);

  struct Pulled {
    int64_t global_step = -1;  // ps 0's
    // The oldest block version pulled, and ps 0's global step if lower:
    // under SYNC the step the values belong to.
    int64_t min_version = -1;
  };
  // The training step's pull: PullAll with PullRequest.min_version =
  // `min_version` on every ps (SYNC: wait until every block reached it;
  // STALE: > 0 passes the staleness gate), in the options'
  // transport_encoding (BFLOAT16: the values come rounded to bfloat16).
  absl::StatusOr<Pulled> PullAll(std::vector<Tensor>* values, int64_t min_version);

  // The training step's pull overlapped with forward, as P3 and BytePS do:
  // PullAll(values, min_version) on a thread of its own, each ps's blocks
  // asked for first variable first, each variable usable as soon as all its
  // blocks are in, while the later layers' values still stream:
  //   RETURN_IF_ERROR(ps->StartPull(&values, min_version));
  //   loss = model->ComputeGradients(params, batch, seed, &grads, ready,
  //                                  [&](size_t v) { return ps->AwaitVariable(v); });
  //   ASSIGN_OR_RETURN(Pulled pulled, ps->FinishPull());
  // Until FinishPull, `values` (borrowed) belong to the pull, except the
  // variables AwaitVariable said true for, and the only other PsGroup calls
  // allowed are the overlapped push's (StartPush ... FinishPush or
  // AbandonPush), AwaitVariable and AwaitPull. A connection that breaks
  // after a block was handed on is not retried: the pull ends ABORTED
  // (PsConnection::PullBrokeAfterArrivals) and the caller redoes the step.
  // With min_version > 0, the options' status is cleared ("waiting for")
  // when the first block arrives.
  absl::Status StartPull(std::vector<Tensor>* values, int64_t min_version);
  // Blocks until every block of variable `variable` is in (true) or the pull
  // ended without them (false). Thread-safe; the same answer for every caller.
  bool AwaitVariable(size_t variable);
  // Waits until the pull ended; its result. Thread-safe; after FinishPull
  // too, until the next StartPull.
  absl::StatusOr<Pulled> AwaitPull();
  // AwaitPull, and the pull is over (StartPull may come again).
  absl::StatusOr<Pulled> FinishPull();
  // How long AwaitVariable held its callers in the last StartPull ...
  // FinishPull: for each variable that was not in yet, the wait of its first
  // caller (the forward pass's wait for the pull).
  absl::Duration pull_waited() const;

  // Pushes gradients (model order) computed at `step`, in the options'
  // transport_encoding; ps 0 advances the global step. Returns the global
  // step after the push.
  absl::StatusOr<int64_t> PushAll(const std::vector<Tensor>& grads, int64_t step);
  // Chunks the ps tasks dropped (SYNC: stale or duplicate) in the last PushAll
  // or FinishPush.
  int64_t last_chunks_dropped() const { return last_chunks_dropped_; }

  // The training step's push overlapped with backward: PushAll begun before
  // the gradients exist, each block sent as soon as its variable's gradient
  // is final, while backward goes on; the ps applies (or, SYNC, adds up)
  // each block as it arrives.
  //   RETURN_IF_ERROR(ps->StartPush(&grads, step));
  //   loss = model->ComputeGradients(params, batch, seed, &grads,
  //                                  [&](size_t v) { ps->GradientReady(v); });
  //   if (!loss.ok()) { ps->AbandonPush(); ... }
  //   ASSIGN_OR_RETURN(global_step, ps->FinishPush());
  // Each ps's blocks go out last variable first (backward's order). `grads`
  // (borrowed until FinishPush or AbandonPush returns) must already hold a
  // tensor of each variable's shape, which ComputeGradients then fills in
  // place (INVALID_ARGUMENT otherwise). Between StartPush and FinishPush or
  // AbandonPush, no other PsGroup call but GradientReady.
  absl::Status StartPush(const std::vector<Tensor>* grads, int64_t step);
  // StartPush whose step is known later: the push's thread calls `step`
  // before it sends anything (with an overlapped pull, it waits for
  // AwaitPull there); an error is the push's result, and nothing is sent.
  using PushStep = std::function<absl::StatusOr<int64_t>()>;
  absl::Status StartPush(const std::vector<Tensor>* grads, PushStep step);
  // Variable `variable`'s gradient is final. Thread-safe.
  void GradientReady(size_t variable);
  // Every gradient is final: sends what is left and returns as PushAll.
  absl::StatusOr<int64_t> FinishPush();
  // Ends the push without the rest of the gradients: the calls are
  // cancelled (a ps keeps what it applied already, as after a broken
  // connection; the global step does not advance).
  void AbandonPush();

  // Tells ps 0 this worker is done; returns how many workers are.
  absl::StatusOr<int> WorkerDone(int64_t last_step);

  const PlacementPlan& plan() const { return plan_; }
  Clock* clock() const { return clock_; }  // the options' clock (or the real one)
  int num_ps() const { return static_cast<int>(clients_.size()); }

 private:
  // One ps's part of a pull: its global step (ps 0; else -1) and the oldest
  // version of its blocks.
  struct PsPulled {
    int64_t global_step = -1;
    int64_t min_version = -1;
  };
  // Pulls the blocks of ps `ps` into `destinations` (one per block, in
  // blocks_by_ps_ order) with PullRequest.min_version `min_version` in
  // `encoding`, and notes the incarnation it answered with.
  // `arrived` (optional) as PsConnection::Pull's.
  absl::StatusOr<PsPulled> PullPs(int ps, int64_t min_version, TensorEncoding encoding,
                                  absl::Span<const absl::Span<float>> destinations,
                                  const PsConnection::BlockArrived& arrived = nullptr);
  // On `runner`'s threads; `arrived` (optional) is called with (ps, index
  // into blocks_by_ps_[ps]) as each block arrives.
  absl::StatusOr<Pulled> PullAllAs(
      std::vector<Tensor>* values, int64_t min_version, TensorEncoding encoding,
      ParallelRunner* runner, const std::function<void(int ps, size_t block)>& arrived = nullptr);
  // INVALID_ARGUMENT unless `tensors` has one tensor of each variable's shape:
  // "CALL: 1 NOUNs for 2 variables", "CALL: the NOUN of 'b' has shape ...".
  absl::Status MatchVariables(const char* call, const char* noun,
                              const std::vector<Tensor>& tensors) const;
  // The overlapped pull's thread: runs each StartPull's pull.
  void PullLoop();
  // A block of the overlapped pull arrived (any ps thread).
  void BlockArrived(int ps, size_t block);
  // PushAll's work; with `overlapped`, each block waits for its variable's
  // GradientReady (or AbandonPush).
  absl::StatusOr<int64_t> PushGradients(const std::vector<Tensor>& grads, int64_t step,
                                        bool overlapped);
  // The overlapped push's thread: runs each StartPush's PushGradients.
  void PushLoop();

  struct BlockRef {
    int variable;          // index into the model's variables
    int64_t offset;        // element offset within the variable
    int64_t elements;
    std::string name;
  };
  // Where each planned block lives in the variables' memory, per ps task;
  // INVALID_ARGUMENT for a block of a variable not in `variables`.
  static absl::StatusOr<std::vector<std::vector<BlockRef>>> LocateBlocks(
      const std::vector<VariableInfo>& variables, const PlacementPlan& plan);
  PsGroup(std::vector<VariableInfo> variables, PlacementPlan plan, PsGroupOptions options,
          std::vector<std::unique_ptr<PsConnection>> clients,
          std::vector<std::vector<BlockRef>> blocks_by_ps);

  const std::vector<VariableInfo> variables_;
  const PlacementPlan plan_;
  const PsGroupOptions options_;
  Clock* const clock_;
  std::vector<std::unique_ptr<PsConnection>> clients_;
  // [ps][block]: first variable first (forward's order, in which they are
  // pulled), a variable's blocks by offset.
  std::vector<std::vector<BlockRef>> blocks_by_ps_;
  // [ps]: the indices into blocks_by_ps_[ps] in push order: last variable
  // first (backward's order), a variable's blocks by offset.
  std::vector<std::vector<int>> push_order_;
  // [variable]: its blocks on all ps (what a pull waits for).
  std::vector<int> blocks_per_variable_;
  ParallelRunner runner_;  // one thread per ps, started once
  // [ps]; each written only by the thread serving that ps in ForEachPs.
  std::vector<uint64_t> incarnations_;
  int64_t last_chunks_dropped_ = 0;

  // The overlapped push (StartPush ... FinishPush).
  absl::Mutex push_mu_;
  std::vector<bool> gradient_ready_ ABSL_GUARDED_BY(push_mu_);  // [variable]
  bool abandon_push_ ABSL_GUARDED_BY(push_mu_) = false;
  // The push the thread is to run: set by StartPush, cleared by the thread
  // once push_result_ holds its result.
  const std::vector<Tensor>* push_grads_ ABSL_GUARDED_BY(push_mu_) = nullptr;
  PushStep push_step_ ABSL_GUARDED_BY(push_mu_);         // the push's step, when it is to start
  bool push_running_ ABSL_GUARDED_BY(push_mu_) = false;  // from StartPush until FinishPush
  absl::StatusOr<int64_t> push_result_ ABSL_GUARDED_BY(push_mu_);
  bool stop_push_thread_ ABSL_GUARDED_BY(push_mu_) = false;
  std::thread push_thread_;  // started by the first StartPush

  // The overlapped pull (StartPull ... FinishPull).
  ParallelRunner pull_runner_;  // one thread per ps, for the pull's thread
  mutable absl::Mutex pull_mu_;
  std::vector<Tensor>* pull_values_ ABSL_GUARDED_BY(pull_mu_) = nullptr;  // to pull into
  int64_t pull_min_version_ ABSL_GUARDED_BY(pull_mu_) = 0;
  bool pull_running_ ABSL_GUARDED_BY(pull_mu_) = false;   // from StartPull until FinishPull
  bool pull_ended_ ABSL_GUARDED_BY(pull_mu_) = false;     // pull_result_ is set
  bool pull_arrivals_ ABSL_GUARDED_BY(pull_mu_) = false;  // a block arrived
  absl::StatusOr<Pulled> pull_result_ ABSL_GUARDED_BY(pull_mu_);
  std::vector<int> blocks_missing_ ABSL_GUARDED_BY(pull_mu_);  // [variable]
  std::vector<bool> wait_counted_ ABSL_GUARDED_BY(pull_mu_);   // [variable]
  absl::Duration pull_waited_ ABSL_GUARDED_BY(pull_mu_);
  bool stop_pull_thread_ ABSL_GUARDED_BY(pull_mu_) = false;
  std::thread pull_thread_;  // started by the first StartPull

  void ObserveIncarnation(int ps, uint64_t incarnation);
  absl::Status PushAssign(int ps, int64_t step, std::vector<std::string> names,
                          std::vector<absl::Span<const float>> values,
                          std::vector<std::string> slots);
};

// True for the ps's FAILED_PRECONDITION of kind ErrorKind::kNotInitialized
// (common/error_kind.h): a ps that has not been (or, restarted, is no longer)
// initialized by the chief. The kind, not the message, identifies it.
bool IsNotInitializedError(const absl::Status& status);

}  // namespace tessera

#endif  // TESSERA_WORKER_PS_GROUP_H_
