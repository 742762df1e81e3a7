#include "worker/local_trainer.h"

#include <cmath>
#include <utility>
#include <vector>

#include "data/load_dataset.h"
#include "gtest/gtest.h"
#include "worker/evaluation.h"
#include "worker/train_config.h"

namespace tessera {
namespace {

// Adam over variables of odd sizes, cut into 1, 2 and 3 parts: every cut
// gives exactly the values and slots of updating each variable in one call.
TEST(ApplyUpdatesTest, PartsGiveTheWholeUpdate) {
  OptimizerConfig config;
  config.mutable_adam();
  config.set_learning_rate(0.01f);
  auto adam = CreateOptimizer(config);
  ASSERT_TRUE(adam.ok()) << adam.status();
  const std::vector<int64_t> sizes = {7, 1, 13, 2};
  auto filled = [&](int seed) {
    std::vector<Tensor> out;
    for (size_t v = 0; v < sizes.size(); ++v) {
      Tensor t({sizes[v]});
      for (int64_t e = 0; e < sizes[v]; ++e) {
        t[e] = std::sin(static_cast<float>(seed * 31 + v * 7 + e));
      }
      out.push_back(std::move(t));
    }
    return out;
  };
  const std::vector<Tensor> grads = filled(2);
  // The reference: one Apply per variable, two steps.
  std::vector<Tensor> want = filled(1);
  std::vector<std::vector<Tensor>> want_slots;
  for (int64_t size : sizes) want_slots.push_back({Tensor({size}), Tensor({size})});
  for (int64_t step = 1; step <= 2; ++step) {
    for (size_t v = 0; v < sizes.size(); ++v) {
      ASSERT_TRUE((*adam)
                      ->Apply(want[v].span(), grads[v].span(),
                              {want_slots[v][0].span(), want_slots[v][1].span()}, 0.01f, step)
                      .ok());
    }
  }
  for (int parts : {1, 2, 3}) {
    SCOPED_TRACE(parts);
    ParallelRunner runner(parts);
    std::vector<Tensor> values = filled(1);
    std::vector<std::vector<Tensor>> slots;
    for (int64_t size : sizes) slots.push_back({Tensor({size}), Tensor({size})});
    for (int64_t step = 1; step <= 2; ++step) {
      ASSERT_TRUE(ApplyUpdates(**adam, &runner, &values, grads, &slots, 0.01f, step).ok());
    }
    for (size_t v = 0; v < sizes.size(); ++v) {
      EXPECT_EQ(values[v].span(), want[v].span()) << v;
      EXPECT_EQ(slots[v][0].span(), want_slots[v][0].span()) << v;
      EXPECT_EQ(slots[v][1].span(), want_slots[v][1].span()) << v;
    }
    // A slot of the wrong size, a bad learning rate, a gradient of the wrong
    // size and a missing gradient are refused, and change nothing.
    std::vector<std::vector<Tensor>> bad = slots;
    bad[2][1] = Tensor({5});
    const absl::Status wrong_slot = ApplyUpdates(**adam, &runner, &values, grads, &bad, 0.01f, 3);
    EXPECT_EQ(wrong_slot.code(), absl::StatusCode::kInvalidArgument) << wrong_slot;
    EXPECT_FALSE(ApplyUpdates(**adam, &runner, &values, grads, &slots, -1.0f, 3).ok());
    std::vector<Tensor> bad_grads = grads;
    bad_grads[0] = Tensor({8});
    const absl::Status wrong_grad =
        ApplyUpdates(**adam, &runner, &values, bad_grads, &slots, 0.01f, 3);
    EXPECT_EQ(wrong_grad.code(), absl::StatusCode::kInvalidArgument) << wrong_grad;
    bad_grads.pop_back();
    const absl::Status too_few =
        ApplyUpdates(**adam, &runner, &values, bad_grads, &slots, 0.01f, 3);
    EXPECT_EQ(too_few.code(), absl::StatusCode::kInvalidArgument) << too_few;
    // The refusals changed nothing.
    for (size_t v = 0; v < sizes.size(); ++v) EXPECT_EQ(values[v].span(), want[v].span()) << v;
  }
}

// A MOVING_AVERAGE variable has no slots and gets value -= delta, whatever
// the optimizer and learning rate; the trainable one beside it gets Adam.
TEST(ApplyUpdatesTest, MovingAveragesSubtractTheirDeltaWithoutSlots) {
  OptimizerConfig config;
  config.mutable_adam();
  auto adam = CreateOptimizer(config);
  ASSERT_TRUE(adam.ok()) << adam.status();
  ParallelRunner runner(2);
  std::vector<Tensor> values = {Tensor({3}, {1, 2, 3}), Tensor({3}, {1, 2, 3})};
  const std::vector<Tensor> grads = {Tensor({3}, {1, 1, 1}), Tensor({3}, {0.5f, -1, 2})};
  std::vector<std::vector<Tensor>> slots = {{Tensor({3}), Tensor({3})}, {}};
  const std::vector<VariableKind> kinds = {TRAINABLE, MOVING_AVERAGE};
  ASSERT_TRUE(ApplyUpdates(**adam, &runner, &values, grads, &slots, 0.25f, 1, kinds).ok());
  EXPECT_EQ(values[1].span(), Tensor({3}, {0.5f, 3, 1}).span());
  EXPECT_NEAR(values[0][0], 0.75f, 1e-6);  // Adam's first step: lr against the sign
  // Slots for a moving average are refused.
  slots[1] = {Tensor({3}), Tensor({3})};
  const absl::Status s = ApplyUpdates(**adam, &runner, &values, grads, &slots, 0.25f, 2, kinds);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "ApplyUpdates: variable 1 has 2 slots, a moving average needs 0");
}

// The seeds' TensorFlow lab 4, from examples/linear_regression.pbtxt: TF printed
// W = -0.9999969, b = 0.99999082, loss = 5.69997e-11 after 1000 steps.
TEST(LocalTrainerTest, ReproducesTensorFlowLinearRegressionLab) {
  auto config = LoadTrainConfig("examples/linear_regression.pbtxt");
  ASSERT_TRUE(config.ok()) << config.status();
  auto data = LoadDataset(config->data());
  ASSERT_TRUE(data.ok()) << data.status();
  auto trainer = LocalTrainer::Create(*config, &*data);
  ASSERT_TRUE(trainer.ok()) << trainer.status();
  auto first = (*trainer)->Step();
  ASSERT_TRUE(first.ok());
  // Initial W = 0.3, b = -0.3: deltas 0, 1.3, 2.6, 3.9 -> sum of squares 23.66.
  EXPECT_NEAR(*first, 23.66f, 1e-4);
  while ((*trainer)->step() < config->max_steps()) ASSERT_TRUE((*trainer)->Step().ok());
  const auto& values = (*trainer)->values();
  ASSERT_EQ(values.size(), 2u);
  EXPECT_NEAR(values[0][0], -0.9999969f, 1e-5);
  EXPECT_NEAR(values[1][0], 0.99999082f, 1e-5);
  auto metrics = EvaluateDataset((*trainer)->model(), (*trainer)->params(), *data, 4);
  ASSERT_TRUE(metrics.ok());
  // Mean over the 4 examples of the summed loss; TF's total was 5.7e-11.
  EXPECT_LT(metrics->mean_loss * 4, 1e-9);
}

TEST(LocalTrainerTest, SoftmaxRegressionLearnsFashionMnist) {
  auto config = LoadTrainConfig("examples/softmax_regression_fashion.pbtxt");
  ASSERT_TRUE(config.ok()) << config.status();
  auto train = LoadDataset(config->data(), DataSplit::kTrain);
  if (!train.ok() && train.status().code() == absl::StatusCode::kNotFound) {
    GTEST_SKIP() << "Fashion-MNIST not installed (scripts/setup.sh installs it): "
                 << train.status();
  }
  ASSERT_TRUE(train.ok()) << train.status();
  auto test = LoadDataset(config->data(), DataSplit::kTest);
  ASSERT_TRUE(test.ok()) << test.status();
  auto trainer = LocalTrainer::Create(*config, &*train);
  ASSERT_TRUE(trainer.ok()) << trainer.status();
  auto before = EvaluateDataset((*trainer)->model(), (*trainer)->params(), *test, 1000);
  ASSERT_TRUE(before.ok()) << before.status();
  for (int i = 0; i < 300; ++i) ASSERT_TRUE((*trainer)->Step().ok());
  auto after = EvaluateDataset((*trainer)->model(), (*trainer)->params(), *test, 1000);
  ASSERT_TRUE(after.ok()) << after.status();
  EXPECT_EQ(after->count, 10000);
  EXPECT_LT(after->mean_loss, before->mean_loss);
  EXPECT_GT(after->accuracy, 0.75);  // chance is 0.10
}

}  // namespace
}  // namespace tessera
