#include "ps/update_policy.h"

#include <algorithm>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/optim/moving_average.h"
#include "common/status_macros.h"

namespace tessera {
namespace {

// Applies `grad` at `offset` of `block`: with `optimizer` for a TRAINABLE
// block, as a moving average's delta (value -= grad; no learning rate, no
// slots) for a MOVING_AVERAGE one.
absl::Status ApplyWithOptimizer(const Optimizer& optimizer, VariableBlock* block, int64_t offset,
                                absl::Span<const float> grad, float learning_rate,
                                int64_t update_count) ABSL_EXCLUSIVE_LOCKS_REQUIRED(block->mu) {
  if (block->kind == MOVING_AVERAGE) {
    absl::Status status;
    block->values.Write(offset, static_cast<int64_t>(grad.size()),
                        [&](int64_t at, absl::Span<float> var) {
      if (!status.ok()) return;
      status = ApplyMovingAverageDelta(var, grad.subspan(static_cast<size_t>(at), var.size()));
    });
    return Annotate(status, absl::StrCat("applying a delta to moving average block ", block->name));
  }
  if (block->slots.size() > 8) return absl::InternalError("more than 8 optimizer slots");
  // Piece by piece of the values (a piece may be copied first: block_values.h);
  // the slots' matching ranges beside them.
  // Apply's checks fail alike on every piece, so an error stops at the first.
  absl::Status status;
  std::vector<std::vector<float>>& slots = block->slots;
  block->values.Write(offset, static_cast<int64_t>(grad.size()),
                      [&](int64_t at, absl::Span<float> var) {
    if (!status.ok()) return;
    const size_t start = static_cast<size_t>(offset + at);
    absl::Span<float> slot_spans[8];
    for (size_t i = 0; i < slots.size(); ++i) {
      slot_spans[i] = absl::MakeSpan(slots[i]).subspan(start, var.size());
    }
    status = optimizer.Apply(var, grad.subspan(static_cast<size_t>(at), var.size()),
                             absl::MakeConstSpan(slot_spans, slots.size()), learning_rate,
                             update_count);
  });
  return Annotate(status, absl::StrCat("applying a gradient to block ", block->name));
}

}  // namespace

BlockPush AsyncUpdatePolicy::BeginBlock(VariableBlock* block, const GradientChunk& /*chunk*/) {
  BlockPush push;
  push.update_count = ++block->updates_started;
  return push;
}

absl::Status AsyncUpdatePolicy::Apply(VariableBlock* block, const GradientChunk& chunk,
                                      const BlockPush& push, absl::Span<const float> grad,
                                      bool last) {
  RETURN_IF_ERROR(ApplyWithOptimizer(*optimizer_, block, chunk.offset, grad, chunk.learning_rate,
                                     push.update_count));
  if (last) ++block->version;
  return absl::OkStatus();
}

void AsyncUpdatePolicy::Assigned(VariableBlock* block, int64_t /*step*/) { block->version = 0; }

BlockPush SyncUpdatePolicy::BeginBlock(VariableBlock* block, const GradientChunk& chunk) {
  BlockPush push;
  push.verdict = block->sync->Begin(chunk.worker_task, chunk.step, block->version);
  push.accepted = push.verdict == SyncAccumulator::Verdict::kAccumulate;
  if (push.accepted) push.sync_ticket = block->sync->Start(chunk.worker_task);
  return push;
}

absl::Status SyncUpdatePolicy::Apply(VariableBlock* block, const GradientChunk& chunk,
                                     const BlockPush& push, absl::Span<const float> grad,
                                     bool last) {
  SyncAccumulator* sync = block->sync.get();
  if (sync == nullptr) return absl::InternalError(absl::StrCat("block ", block->name, " has no SYNC accumulator"));
  sync->Add(push.sync_ticket, chunk.offset, grad);
  if (!last || !sync->Complete(push.sync_ticket)) return absl::OkStatus();
  const int64_t update_count = ++block->updates_started;
  absl::Status applied = ApplyWithOptimizer(*optimizer_, block, 0, sync->Average(),
                                            chunk.learning_rate, update_count);
  sync->Reset();
  ++block->version;  // the step is over even if the optimizer refused it
  return applied;
}

void SyncUpdatePolicy::Assigned(VariableBlock* block, int64_t step) {
  block->version = std::max<int64_t>(0, step);
  if (block->sync != nullptr) block->sync->Reset();
}

absl::StatusOr<std::unique_ptr<UpdatePolicy>> CreateUpdatePolicy(UpdateMode mode,
                                                                  const Optimizer* optimizer) {
  switch (mode) {
    case ASYNC:
    case STALE:
      return std::make_unique<AsyncUpdatePolicy>(optimizer);
    case SYNC:
      return std::make_unique<SyncUpdatePolicy>(optimizer);
    default:
      return absl::InvalidArgumentError(
          absl::StrCat("unknown update_mode ", static_cast<int>(mode)));
  }
}

}  // namespace tessera
