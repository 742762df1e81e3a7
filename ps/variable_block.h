#ifndef TESSERA_PS_VARIABLE_BLOCK_H_
#define TESSERA_PS_VARIABLE_BLOCK_H_

// One block of a variable held by a parameter server: its values as one
// contiguous float buffer, the optimizer slots beside them and counters.
// The immutable description is public and const; everything else is guarded by
// the block's own mutex, so pushes to different blocks run in parallel.

#include <cstdint>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "common/tensor.h"

namespace tessera {

struct VariableBlock {
  VariableBlock(std::string block_name, Shape block_shape, int num_slots)
      : name(std::move(block_name)),
        shape(std::move(block_shape)),
        elements(NumElements(shape)),
        values(elements),
        slots(num_slots, std::vector<float>(elements)) {}

  const std::string name;
  const Shape shape;
  const int64_t elements;

  // Readers (Pull) take it shared; writers (pushes) exclusive.
  mutable absl::Mutex mu;
  std::vector<float> values ABSL_GUARDED_BY(mu);
  // In the optimizer's SlotNames() order, each `elements` long.
  std::vector<std::vector<float>> slots ABSL_GUARDED_BY(mu);
  // Gradient pushes of the whole block applied since initialization.
  int64_t version ABSL_GUARDED_BY(mu) = 0;
  // Gradient pushes begun: the optimizer's 1-based update count `step`.
  int64_t updates_started ABSL_GUARDED_BY(mu) = 0;
  // Every element was assigned by the chief (ASSIGN).
  bool initialized ABSL_GUARDED_BY(mu) = false;

  int64_t bytes_held() const {
    return elements * static_cast<int64_t>(sizeof(float)) * (1 + static_cast<int64_t>(slots.size()));
  }
};

}  // namespace tessera

#endif  // TESSERA_PS_VARIABLE_BLOCK_H_
