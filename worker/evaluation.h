#ifndef TESSERA_WORKER_EVALUATION_H_
#define TESSERA_WORKER_EVALUATION_H_

// Evaluation of a model on a whole data set, in batches.

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "common/dataset.h"
#include "common/tensor.h"
#include "data/batch_stream.h"
#include "nn/model.h"

namespace tessera {

struct EvalMetrics {
  double mean_loss = 0;
  double accuracy = 0;  // classification only; 0 otherwise
  int64_t count = 0;
};

// Runs `model` (borrowed; one thread at a time) in eval mode over every batch
// `batches` (borrowed, a one-pass stream) gives until it ends. `params` are
// borrowed. The stream's errors (a damaged shard) end the evaluation.
absl::StatusOr<EvalMetrics> EvaluateBatches(Model* model, absl::Span<const Tensor* const> params,
                                            BatchStream* batches);

// EvaluateBatches over every example of `dataset` in order, `batch_size` at a
// time (the last batch may be smaller).
absl::StatusOr<EvalMetrics> EvaluateDataset(Model* model, absl::Span<const Tensor* const> params,
                                            const Dataset& dataset, int64_t batch_size);

// For a small model (the regression labs), whose every variable has at most
// `max_elements` elements, one line per variable:
// "linear/weights [1, 1] = [-0.9999969]" (values to 8 significant digits).
// Nothing for a larger model: its biases and batch-norm vectors would bury
// the lines that matter.
std::vector<std::string> FormatSmallVariables(const std::vector<std::string>& names,
                                              const std::vector<Tensor>& values,
                                              int64_t max_elements = 16);

}  // namespace tessera

#endif  // TESSERA_WORKER_EVALUATION_H_
