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
// A push arrives in chunks, so each accepted push is kept apart, in a buffer
// of its own, until its last chunk: only complete pushes join the sum. A push
// whose stream breaks off adds nothing (its retry is counted once), and a
// push still arriving when the step ends (a backup worker's) adds nothing to
// it or to the next step.
//
// A push whose chunks lie in memory the worker shares with the ps
// (AddBorrowed: docs/protocol.md, "Shared memory") is not copied: the
// accumulator reads it where it is when the push joins the sum, and the
// first complete push is read only when the second joins it (both in one
// pass); with replicas_to_aggregate 1 the mean is the push itself. Such
// memory must stay unchanged until then (the worker does not write a pushed
// gradient before its next pull shows the step applied).
//
// Memory: up to `workers` block-sized buffers (the pushes in progress and
// the sum, which is the first complete push's buffer), kept for reuse.
// Not thread-safe: the owner guards it (the block's mutex).

#include <algorithm>
#include <cstdint>
#include <memory>
#include <set>
#include <vector>

#include "absl/functional/function_ref.h"
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

  // `workers`: the workers that may push (task numbers below it), which bounds
  // the buffers.
  SyncAccumulator(int64_t elements, int replicas_to_aggregate, int workers);

  // A push of this block by `worker`, computed at `step`, begins while the
  // block is at step `current_step`.
  Verdict Begin(int worker, int64_t step, int64_t current_step) const;
  // An accepted push of `worker` starts (its first chunk); returns its ticket
  // for Add and Complete. A worker's newer push of the step (a retry after a
  // broken stream) replaces its older one, whose chunks then add nothing.
  int64_t Start(int worker);
  // Chunk `grad` at element `offset` of the push `ticket` (a push writes each
  // element once, in order), copied. Nothing when the ticket is no longer
  // live: the step ended or the worker started again. Requires offset +
  // grad.size() <= elements.
  void Add(int64_t ticket, int64_t offset, absl::Span<const float> grad);
  // As Add, but `grad` is borrowed: it stays valid (`keep` holds its memory)
  // and unchanged until the push joined the sum, or the step ended. A chunk
  // that does not continue the push's borrowed chunks in the same memory is
  // copied (and the push's borrowed chunks with it).
  void AddBorrowed(int64_t ticket, int64_t offset, absl::Span<const float> grad,
                   std::shared_ptr<const void> keep);
  // Runs body(begin, end) over element ranges covering [0, n), perhaps
  // several at once on other threads.
  using ForRanges =
      absl::FunctionRef<void(int64_t n, absl::FunctionRef<void(int64_t begin, int64_t end)> body)>;
  // The push `ticket` has all its chunks: it joins the step's sum (summed by
  // `for_ranges`; default: here). Returns true when it is the
  // replicas_to_aggregate-th: then Average() holds the mean and the caller
  // applies it, then calls Reset(). False for a ticket no longer live.
  bool Complete(int64_t ticket, ForRanges for_ranges = Serially);
  static void Serially(int64_t n, absl::FunctionRef<void(int64_t, int64_t)> body) { body(0, n); }
  // The mean of the step's complete pushes, once Complete returned true.
  // Valid until Reset.
  absl::Span<const float> Average();
  // Starts a new step: no contributions, no push in progress.
  void Reset();

  int replicas_to_aggregate() const { return replicas_to_aggregate_; }
  // Block-sized buffers an accumulator may hold at once, known before one is
  // made (the ps's --max_bytes_held check): max(workers, replicas, 1).
  static int BuffersBound(int replicas_to_aggregate, int workers) {
    return std::max({1, replicas_to_aggregate, workers});
  }
  int buffers_bound() const { return buffers_bound_; }
  // Workers whose complete pushes are in this step's sum, ascending.
  const std::set<int>& contributors() const { return contributors_; }

 private:
  // A push's chunks so far: copied into `values`, or (while every chunk was
  // borrowed) the `borrowed` elements at `data`, held by `keep`.
  struct InProgress {
    int worker = 0;
    int64_t ticket = 0;
    std::vector<float> values;  // empty while borrowed
    const float* data = nullptr;
    int64_t borrowed = 0;
    std::shared_ptr<const void> keep;
  };
  std::vector<float> TakeBuffer();
  InProgress* Find(int64_t ticket);
  // Copies a push's borrowed chunks into a buffer of its own.
  void Materialize(InProgress* push);

  const int64_t elements_;
  const int replicas_to_aggregate_;
  const int buffers_bound_;
  int64_t next_ticket_ = 1;
  std::vector<float> sum_;  // the complete pushes' sum; their mean once complete
  // The sum as it stands: sum_, or the only complete push's borrowed
  // elements (held by sum_keep_).
  absl::Span<const float> sum_view_;
  std::shared_ptr<const void> sum_keep_;
  std::set<int> contributors_;
  std::vector<InProgress> in_progress_;
  std::vector<std::vector<float>> free_;  // buffers for reuse
};

const char* VerdictName(SyncAccumulator::Verdict verdict);

}  // namespace tessera

#endif  // TESSERA_PS_SYNC_ACCUMULATOR_H_
