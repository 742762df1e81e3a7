#include "ps/update_policy.h"

#include <algorithm>
#include <thread>
#include <vector>

#include "absl/container/inlined_vector.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "common/optim/moving_average.h"
#include "common/status_macros.h"

namespace tessera {
namespace {

// Applies `grad` at `offset` of `block`: with `optimizer` for a TRAINABLE
// block, as a moving average's delta (value -= grad; no learning rate, no
// slots) for a MOVING_AVERAGE one, the value pieces on `threads`, several
// at once when they are free.
absl::Status ApplyWithOptimizer(const Optimizer& optimizer, VariableBlock* block, int64_t offset,
                                absl::Span<const float> grad, float learning_rate,
                                int64_t update_count, ApplyThreads* threads)
    ABSL_EXCLUSIVE_LOCKS_REQUIRED(block->mu) {
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
  // The value pieces, each made the block's own first (block_values.h); no
  // one else can take them while the block's lock is held.
  struct Piece {
    int64_t at;
    absl::Span<float> var;
  };
  absl::InlinedVector<Piece, 32> pieces;
  block->values.Write(offset, static_cast<int64_t>(grad.size()),
                      [&](int64_t at, absl::Span<float> var) {
                        pieces.push_back({at, var});
                      });
  // Each piece with the slots' matching ranges; Apply's checks fail alike on
  // every piece, so a part stops at its first error.
  std::vector<std::vector<float>>& slots = block->slots;
  absl::InlinedVector<absl::Status, 4> errors;
  absl::Mutex errors_mu;
  threads->ForRanges(static_cast<int64_t>(pieces.size()), 1, [&](int64_t first, int64_t last) {
    for (int64_t p = first; p < last; ++p) {
      const Piece& piece = pieces[static_cast<size_t>(p)];
      const size_t start = static_cast<size_t>(offset + piece.at);
      absl::Span<float> slot_spans[8];
      for (size_t i = 0; i < slots.size(); ++i) {
        slot_spans[i] = absl::MakeSpan(slots[i]).subspan(start, piece.var.size());
      }
      absl::Status status = optimizer.Apply(
          piece.var, grad.subspan(static_cast<size_t>(piece.at), piece.var.size()),
          absl::MakeConstSpan(slot_spans, slots.size()), learning_rate, update_count);
      if (!status.ok()) {
        absl::MutexLock lock(&errors_mu);
        errors.push_back(std::move(status));
        return;
      }
    }
  });
  return Annotate(errors.empty() ? absl::OkStatus() : errors.front(),
                  absl::StrCat("applying a gradient to block ", block->name));
}

}  // namespace

BlockPush AsyncUpdatePolicy::BeginBlock(VariableBlock* block, const GradientChunk& /*chunk*/) {
  BlockPush push;
  push.update_count = ++block->updates_started;
  return push;
}

absl::Status AsyncUpdatePolicy::Apply(VariableBlock* block, const GradientChunk& chunk,
                                      const BlockPush& push, absl::Span<const float> grad,
                                      bool last, std::shared_ptr<const void> /*shared*/) {
  RETURN_IF_ERROR(ApplyWithOptimizer(*optimizer_, block, chunk.offset, grad, chunk.learning_rate,
                                     push.update_count, &threads_));
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

void ApplyThreads::ForRanges(int64_t n, int64_t min_part,
                             absl::FunctionRef<void(int64_t, int64_t)> body) {
  const int64_t parts =
      runner_ != nullptr ? std::min<int64_t>(runner_->width(), n / std::max<int64_t>(1, min_part))
                         : 1;
  if (parts <= 1 || !mu_.TryLock()) {
    body(0, n);
    return;
  }
  runner_->Run(static_cast<int>(parts), [&](int i) { body(n * i / parts, n * (i + 1) / parts); });
  mu_.Unlock();
}

int DefaultApplyThreads() {
  return static_cast<int>(std::clamp<unsigned>(std::thread::hardware_concurrency(), 1, 4));
}

SyncUpdatePolicy::SyncUpdatePolicy(const Optimizer* optimizer, int apply_threads)
    : optimizer_(optimizer), threads_(apply_threads) {}

absl::Status SyncUpdatePolicy::Apply(VariableBlock* block, const GradientChunk& chunk,
                                     const BlockPush& push, absl::Span<const float> grad, bool last,
                                     std::shared_ptr<const void> shared) {
  SyncAccumulator* sync = block->sync.get();
  if (sync == nullptr) return absl::InternalError(absl::StrCat("block ", block->name, " has no SYNC accumulator"));
  if (shared != nullptr) {
    sync->AddBorrowed(push.sync_ticket, chunk.offset, grad, std::move(shared));
  } else {
    sync->Add(push.sync_ticket, chunk.offset, grad);
  }
  auto for_elements = [this](int64_t n, absl::FunctionRef<void(int64_t, int64_t)> body) {
    threads_.ForRanges(n, kValuePieceElements, body);
  };
  if (!last || !sync->Complete(push.sync_ticket, for_elements)) return absl::OkStatus();
  const int64_t update_count = ++block->updates_started;
  absl::Status applied = ApplyWithOptimizer(*optimizer_, block, 0, sync->Average(),
                                            chunk.learning_rate, update_count, &threads_);
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
      return std::make_unique<AsyncUpdatePolicy>(optimizer, DefaultApplyThreads());
    case SYNC:
      return std::make_unique<SyncUpdatePolicy>(optimizer, DefaultApplyThreads());
    default:
      return absl::InvalidArgumentError(
          absl::StrCat("unknown update_mode ", static_cast<int>(mode)));
  }
}

}  // namespace tessera
