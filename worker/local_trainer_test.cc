#include "worker/local_trainer.h"

#include <cmath>

#include "data/load_dataset.h"
#include "gtest/gtest.h"
#include "worker/evaluation.h"
#include "worker/train_config.h"

namespace tessera {
namespace {

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
