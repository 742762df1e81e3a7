// The layers whose own loops run on the layer threads (nn/layer_threads.h)
// give the same forward outputs and gradients on 2 threads as on 1, on inputs
// big enough to be cut in two parts.

#include <cmath>
#include <functional>
#include <memory>
#include <vector>

#include "gtest/gtest.h"
#include "nn/activations.h"
#include "nn/batch_norm.h"
#include "nn/blas_kernel.h"
#include "nn/global_pool.h"
#include "nn/layer_threads.h"
#include "nn/merge.h"
#include "nn/pool.h"
#include "nn/random.h"

namespace tessera {
namespace {

constexpr int64_t kBatch = 8;
const Shape kImage = {32, 32, 16};  // 8 x 16384 floats: two parts of the layer threads

Tensor RandomTensor(const Shape& shape, uint64_t seed) {
  Tensor t(shape);
  Rng rng(seed);
  // Distinct-enough values so max pooling has no ties.
  for (int64_t i = 0; i < t.size(); ++i) {
    t[i] = static_cast<float>(static_cast<double>(rng.Next() >> 11) / 9007199254740992.0) * 4 - 2;
  }
  return t;
}

struct Run {
  Tensor output;
  std::vector<Tensor> grad_inputs;
  std::vector<Tensor> grad_params;
};

// Forward (training) and backward of `layer` on `inputs` with `params`, on
// `threads` layer threads.
Run ForwardBackward(Layer* layer, const std::vector<Tensor>& params,
                    const std::vector<Tensor>& inputs, int threads) {
  SetBlasThreads(threads);
  std::vector<const Tensor*> param_ptrs, input_ptrs;
  for (const Tensor& p : params) param_ptrs.push_back(&p);
  for (const Tensor& x : inputs) input_ptrs.push_back(&x);
  Run run;
  ForwardOptions options;
  options.training = true;
  layer->ForwardInputs(param_ptrs, input_ptrs, options, &run.output);
  const Tensor dy = RandomTensor(run.output.shape(), 99);
  run.grad_inputs.resize(inputs.size());
  run.grad_params.clear();
  for (const Tensor& p : params) run.grad_params.emplace_back(p.shape());
  std::vector<Tensor*> grad_input_ptrs, grad_param_ptrs;
  for (Tensor& g : run.grad_inputs) grad_input_ptrs.push_back(&g);
  for (Tensor& g : run.grad_params) grad_param_ptrs.push_back(&g);
  layer->BackwardInputs(param_ptrs, input_ptrs, run.output, dy, grad_input_ptrs,
                        grad_param_ptrs);
  return run;
}

void ExpectNear(const Tensor& a, const Tensor& b, float tolerance, const char* what) {
  ASSERT_EQ(a.shape(), b.shape()) << what;
  for (int64_t i = 0; i < a.size(); ++i) {
    ASSERT_NEAR(a[i], b[i], tolerance * (1.0f + std::abs(a[i]))) << what << " element " << i;
  }
}

// 0 tolerance for loops whose parts do the same arithmetic as one thread
// would; batch norm adds the parts' sums in a different order.
void ExpectSameOnTwoThreads(const std::function<std::unique_ptr<Layer>()>& make,
                            const std::vector<Tensor>& params,
                            const std::vector<Tensor>& inputs, float tolerance) {
  const int saved = BlasThreads();
  SetBlasThreads(2);
  ASSERT_EQ(LayerParts(kBatch * NumElements(kImage), kMinElementsPerPart), 2);
  auto one = make();
  auto two = make();
  const Run a = ForwardBackward(one.get(), params, inputs, 1);
  const Run b = ForwardBackward(two.get(), params, inputs, 2);
  SetBlasThreads(saved);
  ExpectNear(a.output, b.output, tolerance, "output");
  for (size_t i = 0; i < a.grad_inputs.size(); ++i) {
    ExpectNear(a.grad_inputs[i], b.grad_inputs[i], tolerance, "grad input");
  }
  for (size_t i = 0; i < a.grad_params.size(); ++i) {
    ExpectNear(a.grad_params[i], b.grad_params[i], tolerance, "grad param");
  }
}

Shape Batched(const Shape& image) {
  Shape shape = {kBatch};
  shape.insert(shape.end(), image.begin(), image.end());
  return shape;
}

TEST(LayerThreadsLayersTest, Relu) {
  ExpectSameOnTwoThreads([] { return std::make_unique<ReluLayer>("relu", kImage); }, {},
                         {RandomTensor(Batched(kImage), 1)}, 0.0f);
}

TEST(LayerThreadsLayersTest, Add) {
  ExpectSameOnTwoThreads(
      [] { return std::make_unique<AddLayer>("add", std::vector<Shape>{kImage, kImage, kImage}); },
      {}, {RandomTensor(Batched(kImage), 1), RandomTensor(Batched(kImage), 2),
           RandomTensor(Batched(kImage), 3)},
      0.0f);
}

TEST(LayerThreadsLayersTest, MaxAndAveragePool) {
  for (PoolKind kind : {PoolKind::kMax, PoolKind::kAverage}) {
    ExpectSameOnTwoThreads(
        [kind] { return std::make_unique<PoolLayer>("pool", kind, kImage, 3, 2, SAME); }, {},
        {RandomTensor(Batched(kImage), 4)}, 0.0f);
  }
}

TEST(LayerThreadsLayersTest, GlobalAveragePool) {
  ExpectSameOnTwoThreads([] { return std::make_unique<GlobalAvgPoolLayer>("gap", kImage); }, {},
                         {RandomTensor(Batched(kImage), 5)}, 0.0f);
}

TEST(LayerThreadsLayersTest, BatchNormTraining) {
  const int64_t c = kImage.back();
  std::vector<Tensor> params = {RandomTensor({c}, 6), RandomTensor({c}, 7), RandomTensor({c}, 8),
                                RandomTensor({c}, 9)};
  for (int64_t i = 0; i < c; ++i) params[3][i] = 1.0f + std::abs(params[3][i]);  // variance
  ExpectSameOnTwoThreads(
      [] { return std::make_unique<BatchNormLayer>("bn", kImage, 1e-3f); }, params,
      {RandomTensor(Batched(kImage), 10)}, 2e-6f);
}

}  // namespace
}  // namespace tessera
