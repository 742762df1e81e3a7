#include "nn/model.h"

#include <cmath>
#include <string>
#include <utility>
#include <vector>

#include "gtest/gtest.h"
#include "nn/model_def.h"
#include "nn/model_test_util.h"

namespace tessera {
namespace {

absl::Status FromTextStatus(const std::string& text) {
  auto def = ParseModelDef(text, "test");
  if (!def.ok()) return def.status();
  return Model::FromModelDef(*def).status();
}

TEST(ModelExamplesTest, MnistDeepVariables) {
  auto model = LoadExample("mnist_deep");
  ASSERT_NE(model, nullptr);
  const std::vector<std::pair<std::string, Shape>> want = {
      {"conv1/weights", {5, 5, 1, 32}}, {"conv1/biases", {32}},
      {"conv2/weights", {5, 5, 32, 64}}, {"conv2/biases", {64}},
      {"fc1/weights", {7 * 7 * 64, 1024}}, {"fc1/biases", {1024}},
      {"fc2/weights", {1024, 10}},       {"fc2/biases", {10}}};
  ASSERT_EQ(model->variables().size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    EXPECT_EQ(model->variables()[i].name, want[i].first);
    EXPECT_EQ(model->variables()[i].shape, want[i].second) << want[i].first;
  }
  EXPECT_EQ(model->output_shape(), Shape({10}));
  EXPECT_TRUE(model->is_classifier());
  const std::vector<Tensor> init = model->InitialValues(1);
  for (int64_t i = 0; i < init[0].size(); ++i) ASSERT_LE(std::fabs(init[0][i]), 0.2f);
  EXPECT_EQ(init[1][0], 0.1f);
  EXPECT_EQ(model->InitialValues(1)[4].span(), init[4].span()) << "deterministic";
}

TEST(ModelExamplesTest, SoftmaxRegression) {
  auto model = LoadExample("softmax_regression");
  ASSERT_NE(model, nullptr);
  ASSERT_EQ(model->variables().size(), 2u);
  EXPECT_EQ(model->variables()[0].name, "softmax/weights");
  EXPECT_EQ(model->variables()[0].shape, Shape({784, 10}));
  EXPECT_EQ(model->variables()[1].shape, Shape({10}));
  // Zero weights: every example's loss is log(10); argmax ties pick class 0.
  const std::vector<Tensor> params = model->InitialValues(3);
  Dataset batch;
  batch.inputs = Tensor({3, 28, 28, 1});
  batch.labels = {0, 5, 9};
  auto result = model->Evaluate(Pointers(params), batch);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_NEAR(result->loss_sum, 3 * std::log(10.0), 1e-5);
  EXPECT_EQ(result->correct, 1);
  EXPECT_EQ(result->count, 3);
}

TEST(ModelExamplesTest, LinearRegressionReproducesTensorFlowLab) {
  auto model = LoadExample("linear_regression");
  ASSERT_NE(model, nullptr);
  ASSERT_EQ(model->variables().size(), 2u);
  EXPECT_EQ(model->variables()[0].name, "linear/weights");
  EXPECT_EQ(model->variables()[0].shape, Shape({1, 1}));
  EXPECT_EQ(model->variables()[1].shape, Shape({1}));
  std::vector<Tensor> params = model->InitialValues(0);
  EXPECT_EQ(params[0][0], 0.3f);
  EXPECT_EQ(params[1][0], -0.3f);
  Dataset batch;
  batch.inputs = Tensor({4, 1}, {1, 2, 3, 4});
  batch.targets = Tensor({4, 1}, {0, -1, -2, -3});
  std::vector<Tensor> grads;
  for (int step = 0; step < 1000; ++step) {
    auto loss = model->ComputeGradients(Pointers(params), batch, step, &grads);
    ASSERT_TRUE(loss.ok()) << loss.status();
    if (step == 0) {
      EXPECT_NEAR(*loss, 23.66f, 1e-4);  // TF's first loss
    }
    for (size_t v = 0; v < params.size(); ++v) {
      for (int64_t i = 0; i < params[v].size(); ++i) params[v][i] -= 0.01f * grads[v][i];
    }
  }
  // TensorFlow: W: [-0.9999969] b: [ 0.99999082] loss: 5.69997e-11.
  EXPECT_NEAR(params[0][0], -0.9999969f, 1e-5);
  EXPECT_NEAR(params[1][0], 0.99999082f, 1e-5);
  auto eval = model->Evaluate(Pointers(params), batch);
  ASSERT_TRUE(eval.ok());
  EXPECT_LT(eval->loss_sum, 1e-9);
  EXPECT_EQ(eval->correct, 0);
}

// Every kind with a smooth loss surface (no ReLU or max-pool kinks): the model's
// gradients against central differences of its own loss.
TEST(ModelTest, GradientsMatchFiniteDifferences) {
  auto model = FromText(R"(
    name: "small" input_shape: [6, 6, 2]
    layer { name: "conv" conv2d { filters: 3 kernel_size: 3 } }
    layer { name: "bn" batch_norm {} }
    layer { name: "pool" avg_pool {} }
    layer { name: "drop" dropout { rate: 0.25 } }
    layer { name: "fc" dense { units: 4 } }
    loss { softmax_cross_entropy {} })");
  ASSERT_NE(model, nullptr);
  std::vector<Tensor> params = model->InitialValues(5);
  Dataset batch;
  batch.inputs = Tensor({3, 6, 6, 2});
  for (int64_t i = 0; i < batch.inputs.size(); ++i) batch.inputs[i] = std::sin(0.37 * i);
  batch.labels = {1, 3, 0};
  std::vector<Tensor> grads;
  ASSERT_TRUE(model->ComputeGradients(Pointers(params), batch, 11, &grads).ok());
  const std::vector<Tensor> analytic = grads;
  const double eps = 3e-3;
  int failures = 0;
  for (size_t v = 0; v < params.size(); ++v) {
    if (model->variables()[v].kind != TRAINABLE) continue;  // moving averages: deltas
    for (int64_t i = 0; i < params[v].size(); ++i) {
      const float saved = params[v][i];
      params[v][i] = saved + eps;
      const double plus = *model->ComputeGradients(Pointers(params), batch, 11, &grads);
      params[v][i] = saved - eps;
      const double minus = *model->ComputeGradients(Pointers(params), batch, 11, &grads);
      params[v][i] = saved;
      const double numeric = (plus - minus) / (2 * eps);
      if (std::fabs(numeric - analytic[v][i]) > 2e-3 + 3e-2 * std::fabs(numeric)) {
        if (failures++ < 5) {
          ADD_FAILURE() << model->variables()[v].name << "[" << i << "]: analytic "
                        << analytic[v][i] << " numeric " << numeric;
        }
      }
    }
  }
  EXPECT_EQ(failures, 0);
}

TEST(ModelTest, RepeatedStepsDoNotGrowTheHeap) {
  auto model = LoadExample("mnist_deep");
  ASSERT_NE(model, nullptr);
  Dataset batch;
  batch.inputs = Tensor({4, 28, 28, 1});
  batch.inputs.Fill(0.5f);
  batch.labels = {1, 2, 3, 4};
  EXPECT_EQ(HeapGrowthOverSteps(model.get(), model->InitialValues(2), batch, 5), 0);
}
TEST(ModelTest, RejectsBadBatchesAndParams) {
  auto model = LoadExample("softmax_regression");
  ASSERT_NE(model, nullptr);
  std::vector<Tensor> params = model->InitialValues(0);
  std::vector<Tensor> grads;
  Dataset batch;
  batch.inputs = Tensor({2, 28, 28, 1});
  batch.labels = {1, 10};
  auto s = model->ComputeGradients(Pointers(params), batch, 0, &grads).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "batch labels: label 10 of example 1 is outside [0, 10)");
  batch.labels = {1};
  EXPECT_EQ(model->Evaluate(Pointers(params), batch).status().message(),
            "batch labels: want 2 (one per example), got 1");
  batch.labels = {1, 2};
  batch.inputs = Tensor({2, 784});
  EXPECT_EQ(model->Evaluate(Pointers(params), batch).status().message(),
            "batch inputs: want shape [2, 28, 28, 1] with N >= 1, got [2, 784]");
  batch.inputs = Tensor({2, 28, 28, 1});
  params[0] = Tensor({10, 784});
  EXPECT_EQ(model->Evaluate(Pointers(params), batch).status().message(),
            "param 0 'softmax/weights': want shape [784, 10], got [10, 784]");
  params.pop_back();
  EXPECT_EQ(model->Evaluate(Pointers(params), batch).status().message(),
            "model 'softmax_regression' has 2 variables, got 1 params");
}

TEST(ModelTest, RejectsBadDefsNamingTheLayer) {
  const std::string ok_loss = " loss { softmax_cross_entropy {} }";
  auto expect = [&](const std::string& text, const std::string& message) {
    const absl::Status s = FromTextStatus(text);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << text;
    EXPECT_EQ(s.message(), message) << text;
  };
  expect("name: 'm' input_shape: [784] layer { name: 'c1' conv2d { filters: 2 kernel_size: 3 } }" +
             ok_loss,
         "model 'm': layer 0 'c1': conv2d needs an input of shape [H, W, C], got [784]");
  expect("name: 'm' input_shape: [4, 4, 1] layer { name: 'c1' conv2d { filters: 0 kernel_size: 3 } }" +
             ok_loss,
         "model 'm': layer 0 'c1': conv2d.filters must be in [1, 16777216], got 0");
  expect("name: 'm' input_shape: [4] layer { name: 'd' dropout { rate: 1 } }" + ok_loss,
         "model 'm': layer 0 'd': dropout.rate must be in [0, 1), got 1");
  expect("name: 'm' input_shape: [4] layer { name: 'a' relu {} } layer { name: 'a' relu {} }" +
             ok_loss,
         "model 'm': layer 1 'a': duplicate layer name");
  expect("name: 'm' input_shape: [4] layer { name: 'fc' dense { units: 3 "
         "weights_initializer { truncated_normal { stddev: -1 } } } }" + ok_loss,
         "model 'm': layer 0 'fc': weights_initializer: truncated_normal needs a finite "
         "stddev > 0 and a finite mean, got stddev -1 mean 0");
  expect("name: 'm' input_shape: [4] layer { name: 'fc' dense { units: 3 } }",
         "model 'm': loss is not set");
  expect("name: 'm' input_shape: [4, 4, 1] layer { name: 'r' relu {} }" + ok_loss,
         "model 'm': softmax_cross_entropy needs logits of shape [classes]; last layer 'r' "
         "output [4, 4, 1]");
  expect("name: 'm' input_shape: [] layer { name: 'r' relu {} }" + ok_loss,
         "model 'm': input_shape is empty");
  expect("name: 'm' input_shape: [4] layer { name: 'x' }" + ok_loss,
         "model 'm': layer 0 'x': layer kind is not set");
  expect("name: 'm' input_shape: [2, 2, 1] layer { name: 'p' max_pool { size: 3 padding: VALID } }" +
             ok_loss,
         "model 'm': layer 0 'p': output shape [0, 0, 1] for input [2, 2, 1] is empty");
  expect("name: 'm' input_shape: [4] layer { name: 'bn' batch_norm { decay: 1.5 } }" + ok_loss,
         "model 'm': layer 0 'bn': batch_norm.decay must be in [0, 1], got 1.5");
  expect("name: 'm' input_shape: [4] layer { name: 'fc' dense { units: 3 weight_decay: -1 } }" +
             ok_loss,
         "model 'm': layer 0 'fc': dense.weight_decay must be finite and >= 0, got -1");
  expect("name: 'm' input_shape: [4, 4, 1] layer { name: 'c' conv2d { filters: 1 kernel_size: 1 "
         "weight_decay: -0.5 } }" + ok_loss,
         "model 'm': layer 0 'c': conv2d.weight_decay must be finite and >= 0, got -0.5");
  expect("name: 'm' input_shape: [4] layer { name: 'fc' dense { units: 3 } } "
         "loss { softmax_cross_entropy { label_smoothing: 1 } }",
         "model 'm': softmax_cross_entropy.label_smoothing must be in [0, 1), got 1");
  // Dimensions each in bounds whose products are not (found by
  // //fuzz:model_def_fuzzer: fuzz/regressions/model_def_fuzzer/).
  expect(
      "name: 'm' input_shape: [28, 28, 1, 28, 28, 1, 28, 28, 1, 28, 28, 1, 28, 28] "
      "layer { name: 'r' relu {} }" +
          ok_loss,
      "model 'm': input_shape: shape [28, 28, 1, 28, 28, 1, 28, 28, 1, 28, 28, 1, 28, 28] "
      "has more than 2^40 elements");
  expect(
      "name: 'm' input_shape: [28, 28, 1, 28, 28, 1, 28, 28, 1, 28, 28, 1] "
      "layer { name: 'fc' dense { units: 10 } }" +
          ok_loss,
      "model 'm': layer 0 'fc': variable 'fc/weights': shape [377801998336, 10] has more "
      "than 2^40 elements");
  expect(
      "name: 'm' input_shape: [16777216, 16777216, 1] "
      "layer { name: 'c' conv2d { filters: 16777216 kernel_size: 1 } }" +
          ok_loss,
      "model 'm': input_shape: shape [16777216, 16777216, 1] has more than 2^40 elements");
  expect(
      "name: 'm' input_shape: [1048576, 1048576, 1] "
      "layer { name: 'c' conv2d { filters: 2 kernel_size: 1 } }" +
          ok_loss,
      "model 'm': layer 0 'c': output: shape [1048576, 1048576, 2] has more than 2^40 "
      "elements");
  // Output and weights each of 2^40 elements: 2^80 multiply-adds would
  // overflow int64 (and every summary after it).
  expect(
      "name: 'm' input_shape: [1048576, 1048576, 1] "
      "layer { name: 'c' conv2d { filters: 1 kernel_size: 1048576 } }" +
          ok_loss,
      "model 'm': layer 0 'c': more than 2^50 multiply-adds per example");
}

TEST(ModelDefTest, ParseErrorsHaveLineNumbers) {
  const auto def = ParseModelDef("name: 'm'\ninput_shape: [4]\nlayer { nme: 'x' }\n", "m.pbtxt");
  ASSERT_FALSE(def.ok());
  EXPECT_EQ(def.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(def.status().message().substr(0, 10), "m.pbtxt:3:") << def.status();
  EXPECT_EQ(ReadModelDefFile("no/such/file.pbtxt").status().code(),
            absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace tessera