#ifndef TESSERA_COMMON_BATCH_H_
#define TESSERA_COMMON_BATCH_H_

// A batch of training examples as data/ produces it and nn/ consumes it.

#include <cstdint>
#include <vector>

#include "common/tensor.h"

namespace tessera {

struct Batch {
  // [N, ...]: images as [N, H, W, C] floats in [0, 1], or [N, features].
  Tensor inputs;
  // Classification: one class index per example (size N); targets is empty.
  std::vector<int32_t> labels;
  // Regression: [N, outputs] target values; labels is empty.
  Tensor targets;

  int64_t size() const { return inputs.rank() == 0 ? 0 : inputs.dim(0); }
};

}  // namespace tessera

#endif  // TESSERA_COMMON_BATCH_H_
