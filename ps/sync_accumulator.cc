#include "ps/sync_accumulator.h"

#include <algorithm>

namespace tessera {

SyncAccumulator::SyncAccumulator(int64_t elements, int replicas_to_aggregate)
    : replicas_to_aggregate_(std::max(1, replicas_to_aggregate)),
      sum_(static_cast<size_t>(elements), 0.0f) {}

SyncAccumulator::Verdict SyncAccumulator::Begin(int worker, int64_t step,
                                                int64_t current_step) const {
  if (step < current_step) return Verdict::kStale;
  if (step > current_step) return Verdict::kAhead;
  if (contributors_.count(worker) > 0) return Verdict::kDuplicate;
  return Verdict::kAccumulate;
}

void SyncAccumulator::Add(int64_t offset, absl::Span<const float> grad) {
  float* sum = sum_.data() + offset;
  for (size_t i = 0; i < grad.size(); ++i) sum[i] += grad[i];
}

bool SyncAccumulator::Complete(int worker) {
  contributors_.insert(worker);
  return static_cast<int>(contributors_.size()) >= replicas_to_aggregate_;
}

absl::Span<const float> SyncAccumulator::Average() {
  const float scale = 1.0f / static_cast<float>(replicas_to_aggregate_);
  for (float& x : sum_) x *= scale;
  return sum_;
}

void SyncAccumulator::Reset() {
  std::fill(sum_.begin(), sum_.end(), 0.0f);
  contributors_.clear();
}

const char* VerdictName(SyncAccumulator::Verdict verdict) {
  switch (verdict) {
    case SyncAccumulator::Verdict::kAccumulate: return "accumulated";
    case SyncAccumulator::Verdict::kStale: return "stale";
    case SyncAccumulator::Verdict::kDuplicate: return "duplicate";
    case SyncAccumulator::Verdict::kAhead: return "ahead";
  }
  return "?";
}

}  // namespace tessera
