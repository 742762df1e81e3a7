#include "ps/update_policy.h"

#include <vector>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace tessera {

absl::StatusOr<bool> AsyncUpdatePolicy::Apply(VariableBlock* block, const GradientChunk& chunk,
                                              absl::Span<const float> grad) {
  const size_t offset = static_cast<size_t>(chunk.offset);
  absl::Span<float> var = absl::MakeSpan(block->values).subspan(offset, grad.size());
  absl::Span<float> slot_spans[8];
  if (block->slots.size() > 8) return absl::InternalError("more than 8 optimizer slots");
  for (size_t i = 0; i < block->slots.size(); ++i) {
    slot_spans[i] = absl::MakeSpan(block->slots[i]).subspan(offset, grad.size());
  }
  RETURN_IF_ERROR(Annotate(
      optimizer_->Apply(var, grad, absl::MakeConstSpan(slot_spans, block->slots.size()),
                        chunk.learning_rate, chunk.update_count),
      absl::StrCat("applying a gradient to block ", block->name)));
  return true;
}

absl::StatusOr<std::unique_ptr<UpdatePolicy>> CreateUpdatePolicy(UpdateMode mode,
                                                                  const Optimizer* optimizer) {
  if (mode == ASYNC) return std::make_unique<AsyncUpdatePolicy>(optimizer);
  return absl::UnimplementedError(
      absl::StrCat("update mode ", UpdateMode_Name(mode), " is not implemented yet; use ASYNC"));
}

}  // namespace tessera
