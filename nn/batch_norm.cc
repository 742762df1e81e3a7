#include "nn/batch_norm.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include "common/simd_clones.h"
#include "nn/activations.h"
#include "nn/layer_threads.h"

namespace tessera {
namespace {

// The per-channel sums over rows: each block of kBlockRows rows is added up in
// float (8 channels per instruction with AVX2) and then into the double sums,
// so the long sums keep double precision and the inner loop stays in float.
// Every loop here runs once per element of a batch norm's input (or gradient):
// they are compiled for AVX2 as well as the baseline (common/simd_clones.h).
constexpr int64_t kBlockRows = 16;

// Joining the moments of n_b more rows to those of n_a rows (Chan, Golub and
// LeVeque): m2 += m2_b + delta^2 n_a n_b / (n_a + n_b), delta the difference
// of the two means, then sum += sum_b. The running mean is sum / n_a, divided
// rather than multiplied by 1 / n_a so that a constant channel's means agree
// exactly and its deviations stay 0.
struct MomentsJoin {
  MomentsJoin(int64_t na, int64_t nb)
      : na_or_1(static_cast<double>(std::max<int64_t>(na, 1))),
        weight(static_cast<double>(na) * static_cast<double>(nb) / static_cast<double>(na + nb)) {}
  [[gnu::always_inline]] void Add(double sum_b, double mean_b, double m2_b, double* sum,
                                  double* m2) const {
    const double delta = mean_b - *sum / na_or_1;
    *m2 += m2_b + delta * delta * weight;
    *sum += sum_b;
  }
  const double na_or_1, weight;
};

// A batch's moments in one pass over x: for rows [begin, end), sum[ch] <- the
// sum of x[r][ch] and m2[ch] <- the sum of its squared deviations from their
// mean (both start at 0). Each block of kBlockRows rows is taken about its
// first row k (d = x - k: exact for data near k, and small): s1 = sum d and
// s2 = sum d^2 in float, then in double the block's mean k + s1 / n_b and
// squared deviations s2 - s1^2 / n_b join the running ones (MomentsJoin).
// x is read from memory once, where a mean
// pass and then a deviations pass read it twice. s1, s2: c floats each.
TESSERA_SIMD_CLONES void AddBlockMoments(const float* __restrict x, int64_t c, int64_t begin,
                                         int64_t end, float* __restrict s1, float* __restrict s2,
                                         double* __restrict sum, double* __restrict m2) {
  for (int64_t r0 = begin; r0 < end; r0 += kBlockRows) {
    const int64_t r1 = std::min(end, r0 + kBlockRows);
    const float* k = x + r0 * c;
    std::fill(s1, s1 + c, 0.0f);
    std::fill(s2, s2 + c, 0.0f);
    for (int64_t r = r0 + 1; r < r1; ++r) {
      const float* row = x + r * c;
      for (int64_t ch = 0; ch < c; ++ch) {
        const float d = row[ch] - k[ch];
        s1[ch] += d;
        s2[ch] += d * d;
      }
    }
    const int64_t nb = r1 - r0;
    const MomentsJoin join(r0 - begin, nb);
    const double inv_nb = 1.0 / static_cast<double>(nb);
    for (int64_t ch = 0; ch < c; ++ch) {
      const double shifted = s1[ch];
      const double mean_b = k[ch] + shifted * inv_nb;
      join.Add(mean_b * static_cast<double>(nb), mean_b, s2[ch] - shifted * shifted * inv_nb,
               &sum[ch], &m2[ch]);
    }
  }
}

// dLoss/dy from grad_output: as is, or, with a fused ReLU (BatchNormLayer::
// FuseRelu), through ReluGradient with the layer's output.
template <bool kRelu>
inline float LayerGradient(float dy, float out) {
  if constexpr (kRelu) {
    return ReluGradient(dy, out);
  } else {
    return dy;
  }
}

// The output from y: as is, or with a fused ReLU, ReluValue(y).
template <bool kRelu>
inline float LayerOutput(float y) {
  if constexpr (kRelu) {
    return ReluValue(y);
  } else {
    return y;
  }
}

// gamma * (x - mean) * inv_std + beta: the forward's value before a fused
// ReLU. One expression for the forward and for the backward's recomputation
// of the ReLU's mask, so both round alike (same code, same CPU clone).
[[gnu::always_inline]] inline float NormalizedValue(float x, float mean, float inv_std, float gamma,
                                                    float beta) {
  return gamma * (x - mean) * inv_std + beta;
}

// dLoss/d(the normalized value): dy, or with a fused ReLU dy where the
// normalized value is > 0 (as ReluGradient(dy, ReluValue(value))), recomputed
// from x with the Forward's statistics rather than read from the output: a
// pass over the output less in each of the backward's two passes (ResNet's
// batch norms are memory-bound).
template <bool kRelu>
[[gnu::always_inline]] inline float MaskedGradient(float dy, float x, float mean, float inv_std,
                                                   float gamma, float beta) {
  if constexpr (kRelu) {
    return NormalizedValue(x, mean, inv_std, gamma, beta) > 0.0f ? dy : 0.0f;
  } else {
    return dy;
  }
}

// Backward's sums over rows [begin, end): sum_dy[ch] += g, sum_dy_xhat[ch] +=
// g * (x - mean) * inv_std with g = MaskedGradient. block: 2 x c floats.
template <bool kRelu>
[[gnu::always_inline]] inline void AddGradientSumsBody(
    const float* __restrict x, const float* __restrict dy, int64_t c, int64_t begin, int64_t end,
    const float* __restrict mean, const float* __restrict inv_std, const float* __restrict gamma,
    const float* __restrict beta, float* __restrict block, double* __restrict sum_dy,
    double* __restrict sum_dy_xhat) {
  float* __restrict block_dy = block;
  float* __restrict block_xhat = block + c;
  for (int64_t r0 = begin; r0 < end; r0 += kBlockRows) {
    const int64_t r1 = std::min(end, r0 + kBlockRows);
    std::fill(block, block + 2 * c, 0.0f);
    for (int64_t r = r0; r < r1; ++r) {
      const float* in = x + r * c;
      const float* d = dy + r * c;
      for (int64_t ch = 0; ch < c; ++ch) {
        const float g = MaskedGradient<kRelu>(d[ch], in[ch], mean[ch], inv_std[ch],
                                              kRelu ? gamma[ch] : 0.0f, kRelu ? beta[ch] : 0.0f);
        block_dy[ch] += g;
        block_xhat[ch] += g * (in[ch] - mean[ch]) * inv_std[ch];
      }
    }
    for (int64_t ch = 0; ch < c; ++ch) {
      sum_dy[ch] += block_dy[ch];
      sum_dy_xhat[ch] += block_xhat[ch];
    }
  }
}

TESSERA_SIMD_CLONES void AddGradientSums(const float* __restrict x, const float* __restrict dy,
                                         int64_t c, int64_t begin, int64_t end,
                                         const float* __restrict mean,
                                         const float* __restrict inv_std, float* __restrict block,
                                         double* __restrict sum_dy,
                                         double* __restrict sum_dy_xhat) {
  AddGradientSumsBody<false>(x, dy, c, begin, end, mean, inv_std, nullptr, nullptr, block, sum_dy,
                             sum_dy_xhat);
}

TESSERA_SIMD_CLONES void AddGradientSumsRelu(
    const float* __restrict x, const float* __restrict dy, int64_t c, int64_t begin, int64_t end,
    const float* __restrict mean, const float* __restrict inv_std, const float* __restrict gamma,
    const float* __restrict beta, float* __restrict block, double* __restrict sum_dy,
    double* __restrict sum_dy_xhat) {
  AddGradientSumsBody<true>(x, dy, c, begin, end, mean, inv_std, gamma, beta, block, sum_dy,
                            sum_dy_xhat);
}

// y = gamma * (x - mean) * inv_std + beta over rows [begin, end), through
// LayerOutput.
template <bool kRelu>
[[gnu::always_inline]] inline void NormalizeBody(
    const float* __restrict x, int64_t c, int64_t begin, int64_t end, const float* __restrict mean,
    const float* __restrict inv_std, const float* __restrict gamma, const float* __restrict beta,
    float* __restrict y) {
  for (int64_t r = begin; r < end; ++r) {
    const float* in = x + r * c;
    float* out = y + r * c;
    for (int64_t ch = 0; ch < c; ++ch) {
      out[ch] =
          LayerOutput<kRelu>(NormalizedValue(in[ch], mean[ch], inv_std[ch], gamma[ch], beta[ch]));
    }
  }
}

TESSERA_SIMD_CLONES void Normalize(const float* __restrict x, int64_t c, int64_t begin, int64_t end,
                                   const float* __restrict mean, const float* __restrict inv_std,
                                   const float* __restrict gamma, const float* __restrict beta,
                                   float* __restrict y) {
  NormalizeBody<false>(x, c, begin, end, mean, inv_std, gamma, beta, y);
}

TESSERA_SIMD_CLONES void NormalizeRelu(const float* __restrict x, int64_t c, int64_t begin,
                                       int64_t end, const float* __restrict mean,
                                       const float* __restrict inv_std,
                                       const float* __restrict gamma, const float* __restrict beta,
                                       float* __restrict y) {
  NormalizeBody<true>(x, c, begin, end, mean, inv_std, gamma, beta, y);
}

// dx = gamma * inv_std * (g - dbeta / n - xhat * dgamma / n) over rows
// [begin, end), with g = MaskedGradient, xhat = (x - mean) * inv_std,
// dbeta = the sum of g and dgamma = the sum of g * xhat over the batch,
// 1 / n = inv_rows.
template <bool kRelu>
[[gnu::always_inline]] inline void NormalizeGradientBody(
    const float* __restrict x, const float* __restrict dy, int64_t c, int64_t begin, int64_t end,
    const float* __restrict mean, const float* __restrict inv_std, const float* __restrict gamma,
    const float* __restrict beta, const float* __restrict dbeta, const float* __restrict dgamma,
    float inv_rows, float* __restrict dx) {
  for (int64_t r = begin; r < end; ++r) {
    const float* in = x + r * c;
    const float* d = dy + r * c;
    float* result = dx + r * c;
    for (int64_t ch = 0; ch < c; ++ch) {
      const float g = MaskedGradient<kRelu>(d[ch], in[ch], mean[ch], inv_std[ch], gamma[ch],
                                            kRelu ? beta[ch] : 0.0f);
      const float xhat = (in[ch] - mean[ch]) * inv_std[ch];
      result[ch] =
          gamma[ch] * inv_std[ch] * (g - dbeta[ch] * inv_rows - xhat * dgamma[ch] * inv_rows);
    }
  }
}

TESSERA_SIMD_CLONES void NormalizeGradient(
    const float* __restrict x, const float* __restrict dy, int64_t c, int64_t begin, int64_t end,
    const float* __restrict mean, const float* __restrict inv_std, const float* __restrict gamma,
    const float* __restrict dbeta, const float* __restrict dgamma, float inv_rows,
    float* __restrict dx) {
  NormalizeGradientBody<false>(x, dy, c, begin, end, mean, inv_std, gamma, nullptr, dbeta, dgamma,
                               inv_rows, dx);
}

TESSERA_SIMD_CLONES void NormalizeGradientRelu(
    const float* __restrict x, const float* __restrict dy, int64_t c, int64_t begin, int64_t end,
    const float* __restrict mean, const float* __restrict inv_std, const float* __restrict gamma,
    const float* __restrict beta, const float* __restrict dbeta, const float* __restrict dgamma,
    float inv_rows, float* __restrict dx) {
  NormalizeGradientBody<true>(x, dy, c, begin, end, mean, inv_std, gamma, beta, dbeta, dgamma,
                              inv_rows, dx);
}

}  // namespace

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

void BatchNormLayer::PartSums(
    int64_t rows, int parts,
    absl::FunctionRef<void(int64_t, int64_t, double*, double*, float*)> add_rows) {
  const int64_t c = channels_;
  part_sums_.assign(static_cast<size_t>(2 * c * parts), 0.0);
  part_scratch_.resize(static_cast<size_t>(2 * c * parts));
  part_rows_.assign(static_cast<size_t>(parts), 0);
  RunLayerParts(parts, rows, [&](int part, int64_t begin, int64_t end) {
    double* a = part_sums_.data() + 2 * c * part;
    add_rows(begin, end, a, a + c, part_scratch_.data() + 2 * c * part);
    part_rows_[static_cast<size_t>(part)] = end - begin;
  });
}

void BatchNormLayer::SumRows(
    int64_t rows, int parts,
    absl::FunctionRef<void(int64_t, int64_t, double*, double*, float*)> add_rows) {
  // The parts' sums are added in part order, so a thread count always gives
  // the same result.
  const int64_t c = channels_;
  PartSums(rows, parts, add_rows);
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
  // Each part's sum and squared deviations, then the parts joined in part
  // order by the same update as the blocks (so a thread count always gives
  // the same result).
  const int parts = LayerParts(rows, ItemsPerPart(c));
  PartSums(rows, parts, [&](int64_t begin, int64_t end, double* sum, double* m2, float* scratch) {
    AddBlockMoments(x, c, begin, end, scratch, scratch + c, sum, m2);
  });
  std::fill(sum_.begin(), sum_.end(), 0.0);
  std::fill(sum_sq_.begin(), sum_sq_.end(), 0.0);  // the squared deviations
  int64_t joined = 0;
  for (int part = 0; part < parts; ++part) {
    const int64_t nb = part_rows_[static_cast<size_t>(part)];
    if (nb == 0) continue;
    const double* a = part_sums_.data() + 2 * c * part;
    const MomentsJoin join(joined, nb);
    for (int64_t ch = 0; ch < c; ++ch) {
      join.Add(a[ch], a[ch] / static_cast<double>(nb), a[c + ch], &sum_[ch], &sum_sq_[ch]);
    }
    joined += nb;
  }
  // Rounding may leave a constant channel's squared deviations a hair below 0.
  for (int64_t ch = 0; ch < c; ++ch) sum_sq_[ch] = std::max(sum_sq_[ch], 0.0);
  const double inv_rows = rows > 0 ? 1.0 / static_cast<double>(rows) : 0.0;
  for (int64_t ch = 0; ch < c; ++ch) mean_[ch] = static_cast<float>(sum_[ch] * inv_rows);
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
    if (fused_relu_) {
      NormalizeRelu(x, c, begin, end, mean_.data(), inv_std_.data(), gamma, beta, y);
    } else {
      Normalize(x, c, begin, end, mean_.data(), inv_std_.data(), gamma, beta, y);
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
  // With a fused ReLU, g is dy where the normalized value is > 0, else 0
  // (MaskedGradient; the evaluation branch below reads the output instead).
  const float* out = output.data();
  const float* gamma = params[0]->data();
  const float* beta = params[1]->data();
  // sum_ <- sum(g), sum_sq_ <- sum(g * xhat), per channel.
  SumRows(rows, LayerParts(rows, ItemsPerPart(c)),
          [&](int64_t begin, int64_t end, double* sum, double* sum_xhat, float* scratch) {
            if (fused_relu_) {
              AddGradientSumsRelu(x, dy, c, begin, end, mean_.data(), inv_std_.data(), gamma, beta,
                                  scratch, sum, sum_xhat);
            } else {
              AddGradientSums(x, dy, c, begin, end, mean_.data(), inv_std_.data(), scratch, sum,
                              sum_xhat);
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
    LayerParallelFor(rows, ItemsPerPart(c), [&](int64_t begin, int64_t end) {
      for (int64_t r = begin; r < end; ++r) {
        for (int64_t ch = 0; ch < c; ++ch) {
          const float g =
              fused_relu_ ? LayerGradient<true>(dy[r * c + ch], out[r * c + ch]) : dy[r * c + ch];
          dx[r * c + ch] = gamma[ch] * inv_std_[ch] * g;
        }
      }
    });
    return;
  }
  // dx = gamma * inv_std * (g - mean(g) - xhat * mean(g * xhat)).
  const float inv_rows = 1.0f / static_cast<float>(rows);
  float* dx = grad_input->data();
  LayerParallelFor(rows, ItemsPerPart(c), [&](int64_t begin, int64_t end) {
    if (fused_relu_) {
      NormalizeGradientRelu(x, dy, c, begin, end, mean_.data(), inv_std_.data(), gamma, beta, dbeta,
                            dgamma, inv_rows, dx);
    } else {
      NormalizeGradient(x, dy, c, begin, end, mean_.data(), inv_std_.data(), gamma, dbeta, dgamma,
                        inv_rows, dx);
    }
  });
}

}  // namespace tessera
