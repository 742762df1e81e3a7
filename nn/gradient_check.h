#ifndef TESSERA_NN_GRADIENT_CHECK_H_
#define TESSERA_NN_GRADIENT_CHECK_H_

// Test helpers: random tensors, a zeros initializer, and a finite-difference
// check of a Layer's Backward.

#include <cstdint>
#include <vector>

#include "common/tensor.h"
#include "nn/layer.h"
#include "protos/model.pb.h"

namespace tessera {

// Uniform in [lo, hi), deterministic in `seed`.
Tensor RandomTensor(const Shape& shape, uint64_t seed, float lo = -1.0f, float hi = 1.0f);

// An Initializer of zeros (for layers whose values a test passes in itself).
Initializer ZerosInitializer();

struct GradientCheckOptions {
  double epsilon = 1e-2;           // central difference step
  double abs_tolerance = 2e-3;     // |analytic - numeric| <= abs + rel * |numeric|
  double rel_tolerance = 2e-2;
  bool check_input = true;         // also check dLoss/dInput
  ForwardOptions forward{/*training=*/true, /*seed=*/7};
};

// Checks `layer`'s Backward against central differences of
// L = sum_i r_i * output_i (r fixed, random) with respect to every element of
// `input` (when options.check_input) and of every TRAINABLE tensor of `params`
// (a moving average's output is its update's delta, checked elsewhere), reporting
// failures with gtest (EXPECT), at most a few per tensor. Returns the number of
// mismatching elements.
int CheckLayerGradients(Layer* layer, std::vector<Tensor> params, Tensor input,
                        const GradientCheckOptions& options = {});

// The same for a layer of several inputs (one tensor per input_shapes()), each
// checked when options.check_input.
int CheckMultiInputLayerGradients(Layer* layer, std::vector<Tensor> params,
                                  std::vector<Tensor> inputs,
                                  const GradientCheckOptions& options = {});

}  // namespace tessera

#endif  // TESSERA_NN_GRADIENT_CHECK_H_
