#ifndef TESSERA_NN_BATCH_NORM_H_
#define TESSERA_NN_BATCH_NORM_H_

// Batch normalization over the last dimension (channels), as TensorFlow's
// (fused) batch norm:
//
//   training:   y = gamma * (x - mean) / sqrt(var + epsilon) + beta with the
//               mean and biased variance of all other positions of the batch;
//   evaluation: the same with moving_mean and moving_variance.
//
// Variables, in this order: gamma [C] (initialized to 1), beta [C] (0), and the
// MOVING_AVERAGE variables moving_mean [C] (0) and moving_variance [C] (1).
// Backward writes, as the "gradients" of the moving averages, the deltas of
// tf.train.assign_moving_average, which the parameter servers subtract:
//
//   moving_mean:     (1 - decay) * (moving_mean - batch mean)
//   moving_variance: (1 - decay) * (moving_variance - n / (n - 1) * batch variance)
//
// with n the positions per channel (the unbiased variance, as TensorFlow's
// FusedBatchNorm gives for the moving average; n = 1: the biased one, 0).

#include <cstdint>
#include <string>
#include <vector>

#include "absl/functional/function_ref.h"
#include "nn/layer.h"

namespace tessera {

class BatchNormLayer final : public SingleInputLayer {
 public:
  // `input_shape` has rank >= 1; epsilon > 0 and decay in [0, 1] (checked by
  // the caller).
  BatchNormLayer(std::string name, const Shape& input_shape, float epsilon,
                 float decay = kDefaultDecay);

  // tf.layers.batch_normalization's and Keras' default momentum.
  static constexpr float kDefaultDecay = 0.99f;

  float decay() const { return decay_; }
  bool FuseRelu() override {
    fused_relu_ = true;
    return true;
  }

  std::vector<VariableSpec> Variables() const override;
  void Forward(absl::Span<const Tensor* const> params, const Tensor& input,
               const ForwardOptions& options, Tensor* output) override;
  // The moving averages' deltas need the batch statistics of a training
  // Forward; after an evaluation Forward they are written as 0.
  void Backward(absl::Span<const Tensor* const> params, const Tensor& input,
                const Tensor& output, const Tensor& grad_output, Tensor* grad_input,
                absl::Span<Tensor* const> grad_params) override;

 private:
  // Per channel mean_ and inv_std_ from the batch, and the unbiased variance
  // into batch_var_.
  void BatchStatistics(const Tensor& input);
  // mean_ and inv_std_ from the moving averages.
  void MovingStatistics(const Tensor& moving_mean, const Tensor& moving_variance);
  // add_rows(begin, end, sum, sum_sq, scratch) over `parts` ranges of
  // [0, rows) on the layer threads (nn/layer_threads.h), each part adding
  // into zeroed sums of its own (part_sums_: 2 x channels doubles, sum then
  // sum_sq) with 2 x channels floats of scratch; part_rows_ <- each part's
  // rows.
  void PartSums(int64_t rows, int parts,
                absl::FunctionRef<void(int64_t, int64_t, double*, double*, float*)> add_rows);
  // sum_ and sum_sq_ <- PartSums' sums, added.
  void SumRows(int64_t rows, int parts,
               absl::FunctionRef<void(int64_t, int64_t, double*, double*, float*)> add_rows);

  const int64_t channels_;
  const float epsilon_;
  const float decay_;
  // Per channel: SumRows' results (BatchStatistics': the sum and the squared
  // deviations), PartSums' per-part sums and float blocks (2 x channels
  // each), and the last Forward's statistics.
  std::vector<double> sum_, sum_sq_;
  std::vector<double> part_sums_;
  std::vector<float> part_scratch_;
  std::vector<int64_t> part_rows_;  // [part]: PartSums' rows
  std::vector<float> mean_, inv_std_;
  std::vector<float> batch_var_;  // unbiased; valid when training_
  bool training_ = false;         // the last Forward's mode
  bool fused_relu_ = false;       // FuseRelu
};

}  // namespace tessera

#endif  // TESSERA_NN_BATCH_NORM_H_
