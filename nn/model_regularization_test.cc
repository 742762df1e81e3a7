// Batch norm's moving averages in a Model, L2 weight decay and label
// smoothing: exact expectations and finite differences.

#include <cmath>
#include <cstdio>
#include <string>
#include <utility>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "gtest/gtest.h"
#include "nn/model.h"
#include "nn/model_test_util.h"

namespace tessera {
namespace {

Dataset SineImages(int64_t n, const Shape& example, int classes) {
  Shape shape{n};
  shape.insert(shape.end(), example.begin(), example.end());
  Dataset batch;
  batch.inputs = Tensor(shape);
  for (int64_t i = 0; i < batch.inputs.size(); ++i) batch.inputs[i] = std::sin(0.37 * i);
  for (int64_t i = 0; i < n; ++i) batch.labels.push_back(static_cast<int32_t>((i * 7) % classes));
  return batch;
}

constexpr char kBnNet[] = R"(
    name: "bn" input_shape: [4]
    layer { name: "h" dense { units: 5 } }
    layer { name: "bn" batch_norm { decay: 0.9 } }
    layer { name: "out" dense { units: 3 } }
    loss { softmax_cross_entropy {} })";

TEST(ModelBatchNormTest, MovingAveragesAreNonTrainableVariables) {
  auto model = FromText(kBnNet);
  ASSERT_NE(model, nullptr);
  std::vector<std::string> names;
  std::vector<VariableKind> kinds;
  for (const VariableSpec& v : model->variables()) {
    names.push_back(v.name);
    kinds.push_back(v.kind);
  }
  EXPECT_EQ(names, std::vector<std::string>({"h/weights", "h/biases", "bn/gamma", "bn/beta",
                                             "bn/moving_mean", "bn/moving_variance",
                                             "out/weights", "out/biases"}));
  EXPECT_EQ(kinds, std::vector<VariableKind>({TRAINABLE, TRAINABLE, TRAINABLE, TRAINABLE,
                                              MOVING_AVERAGE, MOVING_AVERAGE, TRAINABLE,
                                              TRAINABLE}));
  const std::vector<Tensor> init = model->InitialValues(4);
  EXPECT_EQ(init[4].span(), Tensor({5}).span());
  EXPECT_EQ(init[5].span(), Tensor({5}, {1, 1, 1, 1, 1}).span());
}

// The moving averages' initial values are constants and draw no random
// stream: the other variables start as they did before the moving averages
// existed (a model without batch norm numbers its streams the same way).
TEST(ModelBatchNormTest, MovingAveragesDoNotShiftOtherInitialValues) {
  auto with_bn = FromText(kBnNet);
  auto without = FromText(R"(
    name: "bn" input_shape: [4]
    layer { name: "h" dense { units: 5 } }
    layer { name: "g" dense { units: 5 weights_initializer { constant { value: 1 } } } }
    layer { name: "out" dense { units: 3 } }
    loss { softmax_cross_entropy {} })");
  ASSERT_NE(with_bn, nullptr);
  ASSERT_NE(without, nullptr);
  // h/weights, then out/weights: trainable streams 0 and 4 in both.
  EXPECT_EQ(with_bn->InitialValues(9)[0].span(), without->InitialValues(9)[0].span());
  EXPECT_EQ(with_bn->InitialValues(9)[6].span(), without->InitialValues(9)[4].span());
}

// Evaluation normalizes each example with the moving averages alone, so a
// model with batch norm evaluates example by example: a batch cut into slices
// (SPLIT_BATCH) gives the whole batch's result, and one example evaluated
// alone gives its share.
TEST(ModelBatchNormTest, EvaluationUsesTheMovingAveragesAndMaySplit) {
  auto whole = FromText(kBnNet);
  auto split = FromText(kBnNet);
  ASSERT_NE(whole, nullptr);
  ASSERT_NE(split, nullptr);
  split->SetComputeThreads(2, SPLIT_BATCH);
  std::vector<Tensor> params = whole->InitialValues(6);
  params[4] = Tensor({5}, {0.1f, -0.2f, 0.3f, 0.0f, 0.5f});
  params[5] = Tensor({5}, {0.5f, 2.0f, 1.0f, 4.0f, 0.25f});
  const Dataset batch = SineImages(40, whole->input_shape(), 3);
  auto expected = whole->Evaluate(Pointers(params), batch);
  auto got = split->Evaluate(Pointers(params), batch);
  ASSERT_TRUE(expected.ok() && got.ok());
  EXPECT_NEAR(got->loss_sum, expected->loss_sum, 1e-4);
  EXPECT_EQ(got->correct, expected->correct);
  EXPECT_EQ(got->count, 40);
  double sum = 0;
  for (int64_t i = 0; i < 40; ++i) {
    Dataset one;
    one.inputs = Tensor({1, 4}, {batch.inputs[4 * i], batch.inputs[4 * i + 1],
                                 batch.inputs[4 * i + 2], batch.inputs[4 * i + 3]});
    one.labels = {batch.labels[i]};
    sum += whole->Evaluate(Pointers(params), one)->loss_sum;
  }
  EXPECT_NEAR(sum, expected->loss_sum, 1e-4);
}

TEST(ModelBatchNormTest, GradientsMatchFiniteDifferencesWithNonDefaultMovingAverages) {
  auto model = FromText(kBnNet);
  ASSERT_NE(model, nullptr);
  std::vector<Tensor> params = model->InitialValues(2);
  params[4] = Tensor({5}, {0.1f, -0.2f, 0.3f, 0.0f, 0.5f});  // training ignores them
  params[5] = Tensor({5}, {0.5f, 2.0f, 1.0f, 4.0f, 0.25f});
  EXPECT_EQ(CheckModelGradients(model.get(), params, SineImages(6, model->input_shape(), 3), 1),
            0);
}

constexpr char kDecayNet[] = R"(
    name: "wd" input_shape: [5, 5, 2]
    layer { name: "conv" conv2d { filters: 3 kernel_size: 3 %s } }
    layer { name: "pool" avg_pool {} }
    layer { name: "fc" dense { units: 4 %s } }
    loss { softmax_cross_entropy {} })";

std::string DecayNet(const std::string& conv, const std::string& fc) {
  char text[512];
  std::snprintf(text, sizeof(text), kDecayNet, conv.c_str(), fc.c_str());
  return text;
}

// Weight decay adds weight_decay * w to the weights' gradients (not the
// biases') and weight_decay / 2 * sum(w^2) to the loss.
TEST(ModelWeightDecayTest, AddsToTheLossAndTheWeightsGradients) {
  auto plain = FromText(DecayNet("", ""));
  auto decayed = FromText(DecayNet("weight_decay: 0.01", "weight_decay: 0.5"));
  ASSERT_NE(plain, nullptr);
  ASSERT_NE(decayed, nullptr);
  const std::vector<Tensor> params = plain->InitialValues(3);
  const Dataset batch = SineImages(4, plain->input_shape(), 4);
  std::vector<Tensor> g0, g1;
  auto l0 = plain->ComputeGradients(Pointers(params), batch, 1, &g0);
  auto l1 = decayed->ComputeGradients(Pointers(params), batch, 1, &g1);
  ASSERT_TRUE(l0.ok() && l1.ok());
  double l2 = 0;
  for (const auto& [var, wd] : {std::pair<int, double>{0, 0.01}, {2, 0.5}}) {
    double sum_sq = 0;
    for (int64_t i = 0; i < params[var].size(); ++i) {
      sum_sq += double{params[var][i]} * params[var][i];
      EXPECT_NEAR(g1[var][i] - g0[var][i], wd * params[var][i], 1e-6) << var << " " << i;
    }
    l2 += wd / 2 * sum_sq;
  }
  EXPECT_GT(l2, 0.1);
  EXPECT_NEAR(*l1 - *l0, l2, 1e-5);
  EXPECT_EQ(g1[1].span(), g0[1].span());  // biases: no decay
  EXPECT_EQ(g1[3].span(), g0[3].span());
  // Evaluation reports the data loss alone.
  EXPECT_EQ(decayed->Evaluate(Pointers(params), batch)->loss_sum,
            plain->Evaluate(Pointers(params), batch)->loss_sum);
}

TEST(ModelWeightDecayTest, GradientsMatchFiniteDifferences) {
  auto model = FromText(DecayNet("weight_decay: 0.05", "weight_decay: 0.2"));
  ASSERT_NE(model, nullptr);
  EXPECT_EQ(CheckModelGradients(model.get(), model->InitialValues(5),
                                SineImages(3, model->input_shape(), 4), 1),
            0);
}

// Split over threads, the decay is added once to the combined gradient.
TEST(ModelWeightDecayTest, SplitBatchAddsItOnce) {
  const std::string text = DecayNet("weight_decay: 0.05", "weight_decay: 0.2");
  auto whole = FromText(text);
  auto split = FromText(text);
  ASSERT_NE(whole, nullptr);
  ASSERT_NE(split, nullptr);
  split->SetComputeThreads(2, SPLIT_BATCH);
  const std::vector<Tensor> params = whole->InitialValues(5);
  const Dataset batch = SineImages(32, whole->input_shape(), 4);
  std::vector<Tensor> g0, g1;
  auto l0 = whole->ComputeGradients(Pointers(params), batch, 1, &g0);
  auto l1 = split->ComputeGradients(Pointers(params), batch, 1, &g1);
  ASSERT_TRUE(l0.ok() && l1.ok());
  EXPECT_NEAR(*l1, *l0, 1e-5);
  for (size_t v = 0; v < g0.size(); ++v) {
    for (int64_t i = 0; i < g0[v].size(); ++i) EXPECT_NEAR(g1[v][i], g0[v][i], 1e-5);
  }
}

// ComputeGradients' `ready`: each variable once, when its gradient is final
// (what was reported equals what the call returns). Unsplit: the last
// layer's first, a weight-decayed variable (conv/weights) at the end; split:
// all at the end.
TEST(ModelGradientReadyTest, ReportsEachVariableOnceWhenFinal) {
  for (const int threads : {1, 2}) {
    SCOPED_TRACE(threads);
    auto model = FromText(DecayNet("weight_decay: 0.05", ""));
    ASSERT_NE(model, nullptr);
    model->SetComputeThreads(threads, SPLIT_BATCH);
    const std::vector<Tensor> params = model->InitialValues(5);
    const Dataset batch = SineImages(32, model->input_shape(), 4);
    std::vector<Tensor> grads;
    for (int step = 0; step < 2; ++step) {  // the first step allocates the gradients
      std::vector<size_t> order;
      std::vector<Tensor> seen(params.size());
      auto loss = model->ComputeGradients(Pointers(params), batch, step, &grads, [&](size_t v) {
        order.push_back(v);
        seen[v] = grads[v];
      });
      ASSERT_TRUE(loss.ok()) << loss.status();
      // Split or not, layer by layer from the last; the decayed weights last.
      EXPECT_EQ(order, (std::vector<size_t>{2, 3, 1, 0}));
      for (size_t v = 0; v < grads.size(); ++v) EXPECT_EQ(seen[v].span(), grads[v].span()) << v;
    }
  }
}

// ComputeGradients' `await_params`: every variable before its layer's
// forward, first layer first (each slice of a split step asks too), the same
// floats as without it; a variable that will not come ends the step ABORTED
// before any gradient is reported, and the layers after it never ask.
TEST(ModelAwaitParamsTest, AsksLayerByLayerAndStopsWhenValuesDoNotCome) {
  for (const int threads : {1, 2}) {
    SCOPED_TRACE(threads);
    auto model = FromText(DecayNet("weight_decay: 0.05", ""));
    ASSERT_NE(model, nullptr);
    model->SetComputeThreads(threads, SPLIT_BATCH);
    const std::vector<Tensor> params = model->InitialValues(5);
    const Dataset batch = SineImages(32, model->input_shape(), 4);
    std::vector<Tensor> plain;
    auto want = model->ComputeGradients(Pointers(params), batch, 1, &plain);
    ASSERT_TRUE(want.ok()) << want.status();

    absl::Mutex mu;
    std::vector<size_t> asked;
    std::vector<Tensor> grads;
    auto loss = model->ComputeGradients(Pointers(params), batch, 1, &grads, nullptr, [&](size_t v) {
      absl::MutexLock lock(&mu);
      asked.push_back(v);
      return true;
    });
    ASSERT_TRUE(loss.ok()) << loss.status();
    EXPECT_EQ(*loss, *want);
    for (size_t v = 0; v < grads.size(); ++v) EXPECT_EQ(grads[v].span(), plain[v].span()) << v;
    // Per slice in order: conv/weights, conv/bias, fc/weights, fc/bias.
    const int slices = threads == 1 ? 1 : 2;
    ASSERT_EQ(asked.size(), 4u * slices);
    std::vector<size_t> first_seen;
    for (size_t v : asked) {
      if (first_seen.empty() || first_seen.back() < v) first_seen.push_back(v);
    }
    EXPECT_EQ(first_seen, (std::vector<size_t>{0, 1, 2, 3}));

    // fc/weights (variable 2) never comes.
    asked.clear();
    int reported = 0;
    auto stopped = model->ComputeGradients(
        Pointers(params), batch, 2, &grads, [&](size_t) { ++reported; },
        [&](size_t v) {
          absl::MutexLock lock(&mu);
          asked.push_back(v);
          return v != 2;
        });
    EXPECT_EQ(stopped.status().code(), absl::StatusCode::kAborted) << stopped.status();
    EXPECT_EQ(reported, 0);
    for (size_t v : asked) EXPECT_LE(v, 2u);
    EXPECT_EQ(asked.size(), 3u * slices);

    // The next step is whole again.
    auto again = model->ComputeGradients(Pointers(params), batch, 1, &grads);
    ASSERT_TRUE(again.ok()) << again.status();
    EXPECT_EQ(*again, *want);
  }
}

TEST(ModelLabelSmoothingTest, GradientsMatchFiniteDifferences) {
  auto model = FromText(R"(
    name: "ls" input_shape: [5, 5, 2]
    layer { name: "conv" conv2d { filters: 3 kernel_size: 3 } }
    layer { name: "pool" avg_pool {} }
    layer { name: "fc" dense { units: 4 } }
    loss { softmax_cross_entropy { label_smoothing: 0.2 } })");
  ASSERT_NE(model, nullptr);
  EXPECT_EQ(CheckModelGradients(model.get(), model->InitialValues(7),
                                SineImages(3, model->input_shape(), 4), 1),
            0);
}

}  // namespace
}  // namespace tessera
