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

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "common/optim/optimizer.h"
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
  virtual absl::Status Apply(VariableBlock* block, const GradientChunk& chunk,
                             const BlockPush& push, absl::Span<const float> grad, bool last)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(block->mu) = 0;
  // An ASSIGN of the block's values at global step `step` began: sets the
  // version (SYNC: `step`, else 0) and drops any partial aggregate.
  virtual void Assigned(VariableBlock* block, int64_t step)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(block->mu) = 0;
};

// ASYNC and STALE: each chunk updates the block at once with `optimizer`
// (borrowed; it must outlive the policy).
class AsyncUpdatePolicy final : public UpdatePolicy {
 public:
  explicit AsyncUpdatePolicy(const Optimizer* optimizer) : optimizer_(optimizer) {}
  BlockPush BeginBlock(VariableBlock* block, const GradientChunk& chunk) override
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(block->mu);
  absl::Status Apply(VariableBlock* block, const GradientChunk& chunk, const BlockPush& push,
                     absl::Span<const float> grad, bool last) override
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(block->mu);
  void Assigned(VariableBlock* block, int64_t step) override
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(block->mu);

 private:
  const Optimizer* const optimizer_;
};

// SYNC: blocks need an accumulator (VariableBlock's replicas_to_aggregate).
// A push whose verdict is not kAccumulate is dropped whole; a push stream
// that fails midway may leave its first chunks in the sum.
class SyncUpdatePolicy final : public UpdatePolicy {
 public:
  explicit SyncUpdatePolicy(const Optimizer* optimizer) : optimizer_(optimizer) {}
  BlockPush BeginBlock(VariableBlock* block, const GradientChunk& chunk) override
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(block->mu);
  absl::Status Apply(VariableBlock* block, const GradientChunk& chunk, const BlockPush& push,
                     absl::Span<const float> grad, bool last) override
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(block->mu);
  void Assigned(VariableBlock* block, int64_t step) override
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(block->mu);

 private:
  const Optimizer* const optimizer_;
};

// The policy for `mode` (ASYNC and STALE share one).
absl::StatusOr<std::unique_ptr<UpdatePolicy>> CreateUpdatePolicy(UpdateMode mode,
                                                                  const Optimizer* optimizer);

}  // namespace tessera

#endif  // TESSERA_PS_UPDATE_POLICY_H_
