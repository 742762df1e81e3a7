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
    if (push.worker == worker) {  // a retry: written again from its start
      push.ticket = ticket;
      push.data = nullptr;
      push.borrowed = 0;
      push.keep.reset();
      return ticket;
    }
  }
  in_progress_.push_back(InProgress{worker, ticket, {}, nullptr, 0, nullptr});
  return ticket;
}

void SyncAccumulator::Materialize(InProgress* push) {
  if (!push->values.empty()) return;
  push->values = TakeBuffer();
  std::copy_n(push->data, push->borrowed, push->values.begin());
  push->data = nullptr;
  push->borrowed = 0;
  push->keep.reset();
}

void SyncAccumulator::Add(int64_t ticket, int64_t offset, absl::Span<const float> grad) {
  InProgress* push = Find(ticket);
  if (push == nullptr) return;
  Materialize(push);
  std::copy(grad.begin(), grad.end(), push->values.begin() + offset);
}

void SyncAccumulator::AddBorrowed(int64_t ticket, int64_t offset, absl::Span<const float> grad,
                                  std::shared_ptr<const void> keep) {
  InProgress* push = Find(ticket);
  if (push == nullptr) return;
  const bool continues =
      push->values.empty() && offset == push->borrowed &&
      (push->borrowed == 0 || (grad.data() == push->data + push->borrowed && keep == push->keep));
  if (!continues) {
    Add(ticket, offset, grad);
    return;
  }
  if (push->borrowed == 0) {
    push->data = grad.data();
    push->keep = std::move(keep);
  }
  push->borrowed += static_cast<int64_t>(grad.size());
}

bool SyncAccumulator::Complete(int64_t ticket, ForRanges for_ranges) {
  InProgress* found = Find(ticket);
  if (found == nullptr) return false;
  InProgress push = std::move(*found);
  in_progress_.erase(in_progress_.begin() + (found - in_progress_.data()));
  contributors_.insert(push.worker);
  if (push.values.empty() && push.borrowed != elements_) Materialize(&push);  // a short push
  const absl::Span<const float> add =
      push.values.empty() ? absl::MakeConstSpan(push.data, static_cast<size_t>(push.borrowed))
                          : absl::MakeConstSpan(push.values);
  const int count = static_cast<int>(contributors_.size());
  const bool complete = count >= replicas_to_aggregate_;
  if (count == 1) {  // nothing summed since the step's Reset
    if (push.values.empty()) {
      sum_view_ = add;  // read where it is, with the next push
      sum_keep_ = std::move(push.keep);
    } else {
      sum_ = std::move(push.values);
      sum_view_ = absl::MakeConstSpan(sum_);
    }
    return complete;  // replicas_to_aggregate 1: the sum is the mean
  }
  // The sum so far (sum_view_) plus `add`, into a buffer: sum_ when the sum
  // is already there, else the push's own or a free one. One pass; the last
  // push makes it the mean.
  const float scale = complete ? 1.0f / static_cast<float>(count) : 1.0f;
  const float* a = sum_view_.data();
  const float* b = add.data();
  if (sum_view_.data() != sum_.data() || sum_.empty()) {
    sum_ = push.values.empty() ? TakeBuffer() : std::move(push.values);
  } else if (!push.values.empty()) {
    free_.push_back(std::move(push.values));
  }
  float* sum = sum_.data();
  for_ranges(static_cast<int64_t>(sum_.size()), [=](int64_t begin, int64_t end) {
    if (complete) {
      for (int64_t i = begin; i < end; ++i) sum[i] = (a[i] + b[i]) * scale;
    } else {
      for (int64_t i = begin; i < end; ++i) sum[i] = a[i] + b[i];
    }
  });
  sum_view_ = absl::MakeConstSpan(sum_);
  sum_keep_.reset();  // read: the borrowed memory is free again
  return complete;
}

absl::Span<const float> SyncAccumulator::Average() { return sum_view_; }

void SyncAccumulator::Reset() {
  if (!sum_.empty()) free_.push_back(std::move(sum_));
  sum_.clear();
  sum_view_ = {};
  sum_keep_.reset();
  for (InProgress& push : in_progress_) {
    if (!push.values.empty()) free_.push_back(std::move(push.values));
  }
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
