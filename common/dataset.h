#ifndef TESSERA_COMMON_DATASET_H_
#define TESSERA_COMMON_DATASET_H_

// N examples held in memory, with either class labels (classification, e.g.
// Fashion-MNIST) or target values (regression): a whole dataset as data/ loads
// it, or one batch of it as data/ cuts it and nn/ consumes it.
// A plain value type; safe to read from many threads while nobody mutates it.

#include <cstdint>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "common/tensor.h"

namespace tessera {

struct Dataset {
  // [N, ...]: images as [N, H, W, C] floats in [0, 1], or [N, features].
  Tensor inputs;
  // Classification: N class indices; `targets` is then empty (rank 0).
  std::vector<int32_t> labels;
  // Regression: [N, outputs]; `labels` is then empty.
  Tensor targets;

  int64_t size() const { return inputs.rank() == 0 ? 0 : inputs.dim(0); }
  // Floats per example in `inputs` (e.g. 784 for 28x28x1) and in `targets`.
  int64_t input_size() const;
  int64_t target_size() const;
  bool is_classification() const { return targets.rank() == 0; }
};

// Checks the invariants above: inputs of rank >= 1; exactly one of labels
// (size N, each >= 0) or targets (rank >= 1, first dimension N). Errors are
// INVALID_ARGUMENT and begin with `what` (e.g. the file name).
absl::Status ValidateDataset(const Dataset& dataset, absl::string_view what);

}  // namespace tessera

#endif  // TESSERA_COMMON_DATASET_H_
