#include "nn/loss.h"

#include <cmath>

namespace tessera {
namespace {

// Resizes `t` to `like`'s shape only when it differs.
void EnsureSameShape(const Tensor& like, Tensor* t) {
  if (t->shape() != like.shape()) t->Resize(like.shape());
}

}  // namespace

LossValue SoftmaxCrossEntropy(const Tensor& logits, absl::Span<const int32_t> labels,
                              Tensor* grad_logits, float label_smoothing) {
  LossValue value;
  const int64_t n = logits.rank() == 0 ? 0 : logits.dim(0);
  if (n == 0) {
    if (grad_logits != nullptr) EnsureSameShape(logits, grad_logits);
    return value;
  }
  const int64_t classes = logits.size() / n;
  if (grad_logits != nullptr) EnsureSameShape(logits, grad_logits);
  const float inv_n = 1.0f / static_cast<float>(n);
  for (int64_t i = 0; i < n; ++i) {
    const float* z = logits.data() + i * classes;
    int64_t best = 0;
    for (int64_t j = 1; j < classes; ++j) {
      if (z[j] > z[best]) best = j;
    }
    const float max = z[best];
    double sum = 0.0;
    for (int64_t j = 0; j < classes; ++j) sum += std::exp(static_cast<double>(z[j] - max));
    const double log_sum = std::log(sum);
    const int32_t label = labels[i];
    if (best == label) ++value.correct;
    if (label_smoothing == 0.0f) {
      value.example_sum += log_sum - static_cast<double>(z[label] - max);
    } else {
      // -sum_j t_j (z_j - max - log_sum) with sum_j t_j = 1.
      double z_sum = 0.0;
      for (int64_t j = 0; j < classes; ++j) z_sum += static_cast<double>(z[j] - max);
      value.example_sum += log_sum - (1.0 - label_smoothing) * static_cast<double>(z[label] - max) -
                           label_smoothing * z_sum / static_cast<double>(classes);
    }
    if (grad_logits != nullptr) {
      float* g = grad_logits->data() + i * classes;
      const double inv_sum = 1.0 / sum;
      for (int64_t j = 0; j < classes; ++j) {
        g[j] = static_cast<float>(std::exp(static_cast<double>(z[j] - max)) * inv_sum) * inv_n;
      }
      if (label_smoothing == 0.0f) {
        g[label] -= inv_n;
      } else {
        const float off = label_smoothing / static_cast<float>(classes) * inv_n;
        for (int64_t j = 0; j < classes; ++j) g[j] -= off;
        g[label] -= (1.0f - label_smoothing) * inv_n;
      }
    }
  }
  value.loss = value.example_sum / static_cast<double>(n);
  return value;
}

LossValue MeanSquaredError(const Tensor& predictions, const Tensor& targets,
                           MeanSquaredErrorLoss::Reduction reduction,
                           Tensor* grad_predictions) {
  LossValue value;
  const int64_t count = predictions.size();
  const int64_t n = predictions.rank() == 0 ? 0 : predictions.dim(0);
  if (grad_predictions != nullptr) EnsureSameShape(predictions, grad_predictions);
  if (count == 0) return value;
  const bool mean = reduction == MeanSquaredErrorLoss::MEAN;
  const float scale = mean ? 2.0f / static_cast<float>(count) : 2.0f;
  const float* p = predictions.data();
  const float* t = targets.data();
  double sum_sq = 0.0;
  for (int64_t i = 0; i < count; ++i) {
    const double d = static_cast<double>(p[i]) - static_cast<double>(t[i]);
    sum_sq += d * d;
  }
  if (grad_predictions != nullptr) {
    float* g = grad_predictions->data();
    for (int64_t i = 0; i < count; ++i) g[i] = scale * (p[i] - t[i]);
  }
  const double outputs = static_cast<double>(count) / static_cast<double>(n);
  value.loss = mean ? sum_sq / static_cast<double>(count) : sum_sq;
  value.example_sum = mean ? sum_sq / outputs : sum_sq;
  return value;
}

}  // namespace tessera
