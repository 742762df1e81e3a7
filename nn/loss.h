#ifndef TESSERA_NN_LOSS_H_
#define TESSERA_NN_LOSS_H_

// Losses on the last layer's output. Shapes and label ranges are the caller's
// contract (Model validates them first).

#include <cstdint>

#include "absl/types/span.h"
#include "common/tensor.h"
#include "protos/model.pb.h"

namespace tessera {

struct LossValue {
  double loss = 0.0;         // the reduced loss the gradient is of
  double example_sum = 0.0;  // sum over examples of each example's own loss
  int64_t correct = 0;       // classification: examples whose argmax is the label
};

// logits [N, classes]; labels N values in [0, classes). Loss: mean over the batch of
// -sum_j target_j * log softmax(logits)_j, computed stably (log-sum-exp), with
// target = onehot(label) * (1 - label_smoothing) + label_smoothing / classes
// (TensorFlow's label smoothing; 0: -log softmax(logits)[label]). When
// `grad_logits` is not null it gets dLoss/dlogits = (softmax - target) / N,
// shaped like `logits`. An argmax tie counts the first index. label_smoothing
// in [0, 1) is the caller's contract.
LossValue SoftmaxCrossEntropy(const Tensor& logits, absl::Span<const int32_t> labels,
                              Tensor* grad_logits, float label_smoothing = 0.0f);

// predictions and targets [N, outputs] (equal element counts). MEAN: loss = mean of
// the squared differences over all N * outputs elements, an example's loss the mean
// over its outputs. SUM: loss = sum of squared differences, an example's loss the
// sum over its outputs. `grad_predictions` (if not null) gets dLoss/dpredictions.
LossValue MeanSquaredError(const Tensor& predictions, const Tensor& targets,
                           MeanSquaredErrorLoss::Reduction reduction,
                           Tensor* grad_predictions);

}  // namespace tessera

#endif  // TESSERA_NN_LOSS_H_
