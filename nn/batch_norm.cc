#include "nn/batch_norm.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include "nn/layer_threads.h"

namespace tessera {

BatchNormLayer::BatchNormLayer(std::string name, const Shape& input_shape, float epsilon,
                               float decay)
    : SingleInputLayer(std::move(name), input_shape, input_shape),
      channels_(input_shape.back()),
      epsilon_(epsilon),
      decay_(decay),
      sum_(channels_),
      sum_sq_(channels_),
      mean_(channels_),
      inv_std_(channels_),
      batch_var_(channels_) {}

std::vector<VariableSpec> BatchNormLayer::Variables() const {
  Initializer ones;
  ones.mutable_constant()->set_value(1.0f);
  Initializer zeros;
  zeros.mutable_zeros();
  return {{name() + "/gamma", {channels_}, ones, TRAINABLE},
          {name() + "/beta", {channels_}, zeros, TRAINABLE},
          {name() + "/moving_mean", {channels_}, zeros, MOVING_AVERAGE},
          {name() + "/moving_variance", {channels_}, ones, MOVING_AVERAGE}};
}

void BatchNormLayer::SumRows(int64_t rows, int parts,
                             absl::FunctionRef<void(int64_t, int64_t, double*, double*)> add_rows) {
  // Each part adds its rows into sums of its own; the parts' sums are added in
  // part order, so a thread count always gives the same result.
  const int64_t c = channels_;
  part_sums_.assign(static_cast<size_t>(2 * c * parts), 0.0);
  RunLayerParts(parts, rows, [&](int part, int64_t begin, int64_t end) {
    double* a = part_sums_.data() + 2 * c * part;
    add_rows(begin, end, a, a + c);
  });
  std::fill(sum_.begin(), sum_.end(), 0.0);
  std::fill(sum_sq_.begin(), sum_sq_.end(), 0.0);
  for (int part = 0; part < parts; ++part) {
    const double* a = part_sums_.data() + 2 * c * part;
    for (int64_t ch = 0; ch < c; ++ch) {
      sum_[ch] += a[ch];
      sum_sq_[ch] += a[c + ch];
    }
  }
}

void BatchNormLayer::BatchStatistics(const Tensor& input) {
  const int64_t c = channels_;
  const int64_t rows = input.size() / c;
  const float* x = input.data();
  const int parts = LayerParts(rows, ItemsPerPart(c));
  SumRows(rows, parts, [&](int64_t begin, int64_t end, double* sum, double*) {
    for (int64_t r = begin; r < end; ++r) {
      const float* row = x + r * c;
      for (int64_t ch = 0; ch < c; ++ch) sum[ch] += row[ch];
    }
  });
  const double inv_rows = rows > 0 ? 1.0 / static_cast<double>(rows) : 0.0;
  for (int64_t ch = 0; ch < c; ++ch) mean_[ch] = static_cast<float>(sum_[ch] * inv_rows);
  // Two passes (mean, then squared deviations) for accuracy.
  SumRows(rows, parts, [&](int64_t begin, int64_t end, double*, double* sum_sq) {
    for (int64_t r = begin; r < end; ++r) {
      const float* row = x + r * c;
      for (int64_t ch = 0; ch < c; ++ch) {
        const double d = row[ch] - mean_[ch];
        sum_sq[ch] += d * d;
      }
    }
  });
  // TensorFlow's Bessel correction: n / (n - 1), with n - 1 at least 1.
  const double inv_rows_minus_one = rows > 1 ? 1.0 / static_cast<double>(rows - 1) : 1.0;
  for (int64_t ch = 0; ch < c; ++ch) {
    inv_std_[ch] = static_cast<float>(1.0 / std::sqrt(sum_sq_[ch] * inv_rows + epsilon_));
    batch_var_[ch] = static_cast<float>(sum_sq_[ch] * inv_rows_minus_one);
  }
}

void BatchNormLayer::MovingStatistics(const Tensor& moving_mean,
                                      const Tensor& moving_variance) {
  for (int64_t ch = 0; ch < channels_; ++ch) {
    mean_[ch] = moving_mean[ch];
    inv_std_[ch] = static_cast<float>(
        1.0 / std::sqrt(static_cast<double>(moving_variance[ch]) + epsilon_));
  }
}

void BatchNormLayer::Forward(absl::Span<const Tensor* const> params, const Tensor& input,
                             const ForwardOptions& options, Tensor* output) {
  EnsureBatchShape(BatchOf(input), output_shape(), output);
  training_ = options.training;
  if (training_) {
    BatchStatistics(input);
  } else {
    MovingStatistics(*params[2], *params[3]);
  }
  const int64_t c = channels_;
  const int64_t rows = input.size() / c;
  const float* x = input.data();
  const float* gamma = params[0]->data();
  const float* beta = params[1]->data();
  float* y = output->data();
  LayerParallelFor(rows, ItemsPerPart(c), [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      const float* in = x + r * c;
      float* out = y + r * c;
      for (int64_t ch = 0; ch < c; ++ch) {
        out[ch] = gamma[ch] * (in[ch] - mean_[ch]) * inv_std_[ch] + beta[ch];
      }
    }
  });
}

void BatchNormLayer::Backward(absl::Span<const Tensor* const> params, const Tensor& input,
                              const Tensor& output, const Tensor& grad_output,
                              Tensor* grad_input, absl::Span<Tensor* const> grad_params) {
  const int64_t c = channels_;
  const int64_t rows = input.size() / c;
  const float* x = input.data();
  const float* dy = grad_output.data();
  // The moving averages' deltas (tf.train.assign_moving_average).
  if (grad_params.size() > 3 && grad_params[2] != nullptr && grad_params[3] != nullptr) {
    const float rate = 1.0f - decay_;
    const float* moving_mean = params[2]->data();
    const float* moving_variance = params[3]->data();
    float* dmean = grad_params[2]->data();
    float* dvar = grad_params[3]->data();
    for (int64_t ch = 0; ch < c; ++ch) {
      dmean[ch] = training_ ? rate * (moving_mean[ch] - mean_[ch]) : 0.0f;
      dvar[ch] = training_ ? rate * (moving_variance[ch] - batch_var_[ch]) : 0.0f;
    }
  }
  // sum_ <- sum(dy), sum_sq_ <- sum(dy * xhat), per channel.
  SumRows(rows, LayerParts(rows, ItemsPerPart(c)),
          [&](int64_t begin, int64_t end, double* sum, double* sum_xhat) {
            for (int64_t r = begin; r < end; ++r) {
              const float* in = x + r * c;
              const float* g = dy + r * c;
              for (int64_t ch = 0; ch < c; ++ch) {
                sum[ch] += g[ch];
                sum_xhat[ch] += g[ch] * (in[ch] - mean_[ch]) * inv_std_[ch];
              }
            }
          });
  float* dgamma = grad_params[0]->data();
  float* dbeta = grad_params[1]->data();
  for (int64_t ch = 0; ch < c; ++ch) {
    dgamma[ch] = static_cast<float>(sum_sq_[ch]);
    dbeta[ch] = static_cast<float>(sum_[ch]);
  }
  if (grad_input == nullptr) return;
  EnsureBatchShape(BatchOf(input), input_shape(), grad_input);
  if (rows == 0) return;
  if (!training_) {
    // Fixed statistics: y is affine in x.
    float* dx = grad_input->data();
    const float* gamma = params[0]->data();
    LayerParallelFor(rows, ItemsPerPart(c), [&](int64_t begin, int64_t end) {
      for (int64_t r = begin; r < end; ++r) {
        for (int64_t ch = 0; ch < c; ++ch) {
          dx[r * c + ch] = gamma[ch] * inv_std_[ch] * dy[r * c + ch];
        }
      }
    });
    return;
  }
  // dx = gamma * inv_std * (dy - mean(dy) - xhat * mean(dy * xhat)).
  const float* gamma = params[0]->data();
  const float inv_rows = 1.0f / static_cast<float>(rows);
  float* dx = grad_input->data();
  LayerParallelFor(rows, ItemsPerPart(c), [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      const float* in = x + r * c;
      const float* g = dy + r * c;
      float* out = dx + r * c;
      for (int64_t ch = 0; ch < c; ++ch) {
        const float xhat = (in[ch] - mean_[ch]) * inv_std_[ch];
        out[ch] = gamma[ch] * inv_std_[ch] *
                  (g[ch] - dbeta[ch] * inv_rows - xhat * dgamma[ch] * inv_rows);
      }
    }
  });
}

}  // namespace tessera
