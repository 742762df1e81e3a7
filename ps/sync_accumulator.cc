#include "ps/sync_accumulator.h"

#include <algorithm>

namespace tessera {

SyncAccumulator::SyncAccumulator(int64_t elements, int replicas_to_aggregate, int workers)
    : elements_(elements),
      replicas_to_aggregate_(std::max(1, replicas_to_aggregate)),
      buffers_bound_(BuffersBound(replicas_to_aggregate, workers)) {}

SyncAccumulator::Verdict SyncAccumulator::Begin(int worker, int64_t step,
                                                int64_t current_step) const {
  if (step < current_step) return Verdict::kStale;
  if (step > current_step) return Verdict::kAhead;
  if (contributors_.count(worker) > 0) return Verdict::kDuplicate;
  return Verdict::kAccumulate;
}

std::vector<float> SyncAccumulator::TakeBuffer() {
  if (free_.empty()) return std::vector<float>(static_cast<size_t>(elements_));
  std::vector<float> buffer = std::move(free_.back());
  free_.pop_back();
  return buffer;
}

SyncAccumulator::InProgress* SyncAccumulator::Find(int64_t ticket) {
  for (InProgress& push : in_progress_) {
    if (push.ticket == ticket) return &push;
  }
  return nullptr;
}

int64_t SyncAccumulator::Start(int worker) {
  const int64_t ticket = next_ticket_++;
  for (InProgress& push : in_progress_) {
    if (push.worker == worker) {  // a retry: its buffer is written again
      push.ticket = ticket;
      return ticket;
    }
  }
  in_progress_.push_back(InProgress{worker, ticket, TakeBuffer()});
  return ticket;
}

void SyncAccumulator::Add(int64_t ticket, int64_t offset, absl::Span<const float> grad) {
  InProgress* push = Find(ticket);
  if (push == nullptr) return;
  std::copy(grad.begin(), grad.end(), push->values.begin() + offset);
}

bool SyncAccumulator::Complete(int64_t ticket) {
  InProgress* push = Find(ticket);
  if (push == nullptr) return false;
  std::vector<float> values = std::move(push->values);
  contributors_.insert(push->worker);
  in_progress_.erase(in_progress_.begin() + (push - in_progress_.data()));
  const int count = static_cast<int>(contributors_.size());
  const bool complete = count >= replicas_to_aggregate_;
  if (count == 1) {  // sum_ is empty since the step's Reset
    sum_ = std::move(values);
    return complete;  // replicas_to_aggregate 1: the sum is the mean
  }
  float* sum = sum_.data();
  const float* add = values.data();
  const size_t n = sum_.size();
  if (complete) {  // the last one: sum and mean in one pass
    const float scale = 1.0f / static_cast<float>(count);
    for (size_t i = 0; i < n; ++i) sum[i] = (sum[i] + add[i]) * scale;
  } else {
    for (size_t i = 0; i < n; ++i) sum[i] += add[i];
  }
  free_.push_back(std::move(values));
  return complete;
}

absl::Span<const float> SyncAccumulator::Average() { return sum_; }

void SyncAccumulator::Reset() {
  if (!sum_.empty()) free_.push_back(std::move(sum_));
  sum_.clear();
  for (InProgress& push : in_progress_) free_.push_back(std::move(push.values));
  in_progress_.clear();
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
