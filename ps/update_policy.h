#ifndef TESSERA_PS_UPDATE_POLICY_H_
#define TESSERA_PS_UPDATE_POLICY_H_

// How gradient chunks become updates of a block (DESIGN.md, Update modes).
// ASYNC applies every chunk at once with the ps optimizer. SYNC (aggregate
// replicas_to_aggregate pushes, then apply) and STALE (bounded staleness) plug
// in here later; the store calls only this interface for gradients.

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
  int64_t update_count = 0;  // 1-based count of this block's updates (Adam's t)
  int worker_task = 0;
  int64_t step = 0;          // global step the gradient was computed at
};

// Implementations are thread-safe; Apply is called with block->mu held
// exclusively and must not block on other blocks.
class UpdatePolicy {
 public:
  virtual ~UpdatePolicy() = default;
  // Applies (or accumulates) `grad` at chunk.offset of `block`; true when it
  // was applied, false when dropped (stale). Errors name the block.
  virtual absl::StatusOr<bool> Apply(VariableBlock* block, const GradientChunk& chunk,
                                     absl::Span<const float> grad)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(block->mu) = 0;
};

// ASYNC: each chunk updates the block at once with `optimizer` (borrowed; it
// must outlive the policy).
class AsyncUpdatePolicy final : public UpdatePolicy {
 public:
  explicit AsyncUpdatePolicy(const Optimizer* optimizer) : optimizer_(optimizer) {}
  absl::StatusOr<bool> Apply(VariableBlock* block, const GradientChunk& chunk,
                             absl::Span<const float> grad) override
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(block->mu);

 private:
  const Optimizer* const optimizer_;
};

// The policy for `mode`; UNIMPLEMENTED for SYNC and STALE for now.
absl::StatusOr<std::unique_ptr<UpdatePolicy>> CreateUpdatePolicy(UpdateMode mode,
                                                                  const Optimizer* optimizer);

}  // namespace tessera

#endif  // TESSERA_PS_UPDATE_POLICY_H_
