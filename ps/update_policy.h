#ifndef TESSERA_PS_UPDATE_POLICY_H_
#define TESSERA_PS_UPDATE_POLICY_H_

// How gradient chunks become updates of a block (DESIGN.md, Update modes;
// docs/update_modes.md). ASYNC and STALE apply every chunk at once with the ps
// optimizer (STALE's waiting happens in Pull, ps/training_progress.h). SYNC
// sums the pushes of the block's current step in its SyncAccumulator and
// applies their average once replicas_to_aggregate are complete. "Apply" to
// a MOVING_AVERAGE block means value -= chunk (common/optim/moving_average.h)
// instead of the optimizer, in every mode. The store
// calls only this interface for gradients and assignments.

#include <cstdint>
#include <memory>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/types/span.h"
#include "common/optim/optimizer.h"
#include "common/parallel_runner.h"
#include "protos/ps_service.pb.h"
#include "ps/variable_block.h"

namespace tessera {

// What the store knows about one gradient chunk besides its payload.
struct GradientChunk {
  int64_t offset = 0;        // first element within the block
  float learning_rate = 0;   // from the schedule at the current global step
  int worker_task = 0;
  int64_t step = 0;          // global step the gradient was computed at
};

// One push's part for one block, decided at the block's first chunk.
struct BlockPush {
  bool accepted = true;      // false: every chunk of it is dropped
  SyncAccumulator::Verdict verdict = SyncAccumulator::Verdict::kAccumulate;
  int64_t sync_ticket = 0;   // SYNC: the accumulator's ticket for an accepted push
  int64_t update_count = 0;  // ASYNC: 1-based count of the block's updates (Adam's t)
};

// Implementations are thread-safe; every method is called with block->mu held
// exclusively and must not block on other blocks.
class UpdatePolicy {
 public:
  virtual ~UpdatePolicy() = default;
  // The first chunk (offset 0) of a push of `block` arrives.
  virtual BlockPush BeginBlock(VariableBlock* block, const GradientChunk& chunk)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(block->mu) = 0;
  // Applies (or accumulates) chunk `grad` of an accepted push at
  // chunk.offset; `last` when it ends the block. Advances block->version when
  // an update of the whole block is complete. Errors name the block.
  // `shared` (may be null): `grad` lies in memory the worker shares with the
  // ps, which `shared` holds, and stays unchanged until the block's step
  // ends, so SYNC sums it from there (SyncAccumulator::AddBorrowed).
  virtual absl::Status Apply(VariableBlock* block, const GradientChunk& chunk,
                             const BlockPush& push, absl::Span<const float> grad, bool last,
                             std::shared_ptr<const void> shared)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(block->mu) = 0;
  // An ASSIGN of the block's values at global step `step` began: sets the
  // version (SYNC: `step`, else 0) and drops any partial aggregate.
  virtual void Assigned(VariableBlock* block, int64_t step)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(block->mu) = 0;
};

// The threads a policy applies large updates on: the calling one and
// helpers started once. On a host whose cores the workers share, an update
// spread over the cores delays each worker a little instead of one worker
// (or one of a worker's compute threads, which the others then wait for) a
// lot. Thread-safe.
class ApplyThreads {
 public:
  explicit ApplyThreads(int threads)
      : runner_(threads > 1 ? std::make_unique<ParallelRunner>(threads) : nullptr) {}
  // Runs body(begin, end) over [0, n) in parts of at least `min_part`, at
  // once on the threads when no other update holds them, else in one part
  // on the calling thread.
  void ForRanges(int64_t n, int64_t min_part, absl::FunctionRef<void(int64_t, int64_t)> body);

 private:
  std::unique_ptr<ParallelRunner> runner_;  // null: one thread
  absl::Mutex mu_;                          // held while an update uses the runner
};

// min(4, this host's cores): the apply threads of the ps's policies.
int DefaultApplyThreads();

// ASYNC and STALE: each chunk updates the block at once with `optimizer`
// (borrowed; it must outlive the policy), a large chunk in parts of value
// pieces on up to `apply_threads` threads.
class AsyncUpdatePolicy final : public UpdatePolicy {
 public:
  explicit AsyncUpdatePolicy(const Optimizer* optimizer, int apply_threads = 1)
      : optimizer_(optimizer), threads_(apply_threads) {}
  BlockPush BeginBlock(VariableBlock* block, const GradientChunk& chunk) override
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(block->mu);
  absl::Status Apply(VariableBlock* block, const GradientChunk& chunk, const BlockPush& push,
                     absl::Span<const float> grad, bool last,
                     std::shared_ptr<const void> shared) override
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(block->mu);
  void Assigned(VariableBlock* block, int64_t step) override
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(block->mu);

 private:
  const Optimizer* const optimizer_;
  ApplyThreads threads_;
};

// SYNC: blocks need an accumulator (VariableBlock's replicas_to_aggregate).
// A push whose verdict is not kAccumulate is dropped whole; a push stream
// that fails midway may leave its first chunks in the sum.
//
// A large block's step (the sum of its pushes, then the optimizer) runs in
// parts of value pieces on up to `apply_threads` threads (ApplyThreads).
class SyncUpdatePolicy final : public UpdatePolicy {
 public:
  explicit SyncUpdatePolicy(const Optimizer* optimizer, int apply_threads = 1);
  BlockPush BeginBlock(VariableBlock* block, const GradientChunk& chunk) override
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(block->mu);
  absl::Status Apply(VariableBlock* block, const GradientChunk& chunk, const BlockPush& push,
                     absl::Span<const float> grad, bool last,
                     std::shared_ptr<const void> shared) override
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(block->mu);
  void Assigned(VariableBlock* block, int64_t step) override
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(block->mu);

 private:
  const Optimizer* const optimizer_;
  ApplyThreads threads_;
};

// The policy for `mode` (ASYNC and STALE share one), with
// DefaultApplyThreads().
absl::StatusOr<std::unique_ptr<UpdatePolicy>> CreateUpdatePolicy(UpdateMode mode,
                                                                  const Optimizer* optimizer);

}  // namespace tessera

#endif  // TESSERA_PS_UPDATE_POLICY_H_
