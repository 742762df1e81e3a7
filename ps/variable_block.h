#ifndef TESSERA_PS_VARIABLE_BLOCK_H_
#define TESSERA_PS_VARIABLE_BLOCK_H_

// One block of a variable held by a parameter server: its values (in pieces
// that a Pull sends without a copy: ps/block_values.h), the optimizer slots
// beside them (each one contiguous buffer) and counters.
// The immutable description is public and const; everything else is guarded by
// the block's own mutex, so pushes to different blocks run in parallel.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "common/tensor.h"
#include "protos/variable.pb.h"
#include "ps/block_values.h"
#include "ps/sync_accumulator.h"

namespace tessera {

struct VariableBlock {
  // `replicas_to_aggregate` > 0 gives the block a SYNC accumulator, for
  // pushes of `workers` workers. A MOVING_AVERAGE block has no slots
  // (num_slots is then 0).
  VariableBlock(std::string block_name, Shape block_shape, int num_slots,
                int replicas_to_aggregate = 0, VariableKind variable_kind = TRAINABLE,
                int workers = 1)
      : name(std::move(block_name)),
        shape(std::move(block_shape)),
        elements(NumElements(shape)),
        kind(variable_kind),
        sync_buffers(replicas_to_aggregate > 0
                         ? SyncAccumulator::BuffersBound(replicas_to_aggregate, workers)
                         : 0),
        sync(replicas_to_aggregate > 0
                 ? std::make_unique<SyncAccumulator>(elements, replicas_to_aggregate, workers)
                 : nullptr),
        values(elements),
        slots(num_slots, std::vector<float>(elements)) {}

  const std::string name;
  const Shape shape;
  const int64_t elements;
  // TRAINABLE: updated by the optimizer; MOVING_AVERAGE: value -= delta
  // (protos/variable.proto).
  const VariableKind kind;

  // SYNC: the block-sized buffers its accumulator may hold; 0 without one.
  const int sync_buffers;

  // Readers (Pull) take it shared; writers (pushes) exclusive.
  mutable absl::Mutex mu;
  // SYNC only, else null: this step's pushes and their sum (up to
  // sync_buffers more block-sized buffers). The pointer never
  // changes; the accumulator is guarded by mu.
  const std::unique_ptr<SyncAccumulator> sync ABSL_PT_GUARDED_BY(mu);
  BlockValues values ABSL_GUARDED_BY(mu);
  // In the optimizer's SlotNames() order, each `elements` long; none for a
  // MOVING_AVERAGE block.
  std::vector<std::vector<float>> slots ABSL_GUARDED_BY(mu);
  // ASYNC and STALE: gradient pushes of the whole block applied since
  // initialization. SYNC: the step the block is at (the global step of its
  // last ASSIGN plus the averaged updates applied since).
  int64_t version ABSL_GUARDED_BY(mu) = 0;
  // Updates begun: the optimizer's 1-based update count `step`.
  int64_t updates_started ABSL_GUARDED_BY(mu) = 0;
  // Every element was assigned by the chief (ASSIGN).
  bool initialized ABSL_GUARDED_BY(mu) = false;

  // Bytes a block of `elements` holds at most with `num_slots` optimizer
  // slots and `sync_buffers` SYNC accumulator buffers (0 without SYNC): what
  // bytes_held() will say, known before the block is made (the ps's
  // --max_bytes_held check).
  static int64_t BytesFor(int64_t elements, int num_slots, int sync_buffers) {
    const int64_t tensors = int64_t{1} + num_slots + sync_buffers;
    return elements * static_cast<int64_t>(sizeof(float)) * tensors;
  }
  int64_t bytes_held() const {
    return BytesFor(elements, static_cast<int>(slots.size()), sync_buffers);
  }
};

}  // namespace tessera

#endif  // TESSERA_PS_VARIABLE_BLOCK_H_
