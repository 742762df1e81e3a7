#ifndef TESSERA_PS_SYNC_ACCUMULATOR_H_
#define TESSERA_PS_SYNC_ACCUMULATOR_H_

// The SYNC gradient accumulator of one block (DESIGN.md, Update modes;
// docs/update_modes.md), with SyncReplicasOptimizer's rules: the block is at
// step `version`; a worker's push computed at that step is summed in, one
// computed at an older step is dropped as stale, a second push of the same
// worker for the step is dropped as a duplicate; once `replicas_to_aggregate`
// pushes are complete the caller applies the average and the accumulator
// starts the next step. With zero elements it counts pushes only (ps 0's
// global step).
//
// Memory: one float per block element (the sum).
// Not thread-safe: the owner guards it (the block's mutex).

#include <cstdint>
#include <set>
#include <vector>

#include "absl/types/span.h"

namespace tessera {

class SyncAccumulator {
 public:
  enum class Verdict {
    kAccumulate,  // computed at the current step: summed
    kStale,       // computed at an older step: dropped
    kDuplicate,   // this worker already pushed for this step: dropped
    kAhead,       // computed at a later step (the block was restored): dropped
  };

  SyncAccumulator(int64_t elements, int replicas_to_aggregate);

  // A push of this block by `worker`, computed at `step`, begins while the
  // block is at step `current_step`.
  Verdict Begin(int worker, int64_t step, int64_t current_step) const;
  // Adds gradient chunk `grad` at element `offset` of an accepted push.
  // Requires offset + grad.size() <= elements.
  void Add(int64_t offset, absl::Span<const float> grad);
  // The accepted push of `worker` is complete (all its chunks added). Returns
  // true when it is the replicas_to_aggregate-th: then Average() holds the
  // mean and the caller applies it, then calls Reset().
  bool Complete(int worker);
  // The sum scaled by 1 / replicas_to_aggregate (in place). Valid until Reset.
  absl::Span<const float> Average();
  // Starts a new step: no contributions, sum zero.
  void Reset();

  int replicas_to_aggregate() const { return replicas_to_aggregate_; }
  // Workers whose complete pushes are in this step's sum, ascending.
  const std::set<int>& contributors() const { return contributors_; }

 private:
  const int replicas_to_aggregate_;
  std::vector<float> sum_;
  std::set<int> contributors_;
};

const char* VerdictName(SyncAccumulator::Verdict verdict);

}  // namespace tessera

#endif  // TESSERA_PS_SYNC_ACCUMULATOR_H_
