#include "worker/model_fingerprint.h"

#include "gtest/gtest.h"

namespace tessera {
namespace {

OptimizerConfig Adam(float learning_rate) {
  OptimizerConfig config;
  config.set_learning_rate(learning_rate);
  config.mutable_adam();
  return config;
}

OptimizerConfig Sgd() {
  OptimizerConfig config;
  config.set_learning_rate(0.1f);
  config.mutable_sgd();
  return config;
}

const std::vector<VariableInfo> kModel = {{"dense/w", {784, 10}}, {"dense/b", {10}}};

TEST(ModelFingerprintTest, NamesTheOptimizerAndIgnoresHyperparameters) {
  absl::StatusOr<std::string> a = ModelFingerprint(kModel, Adam(0.001f));
  absl::StatusOr<std::string> b = ModelFingerprint(kModel, Adam(0.01f));
  ASSERT_TRUE(a.ok()) << a.status();
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ(*a, *b);
  EXPECT_EQ(a->substr(0, 5), "adam:");
  EXPECT_EQ(a->size(), 5u + 16u);
}

TEST(ModelFingerprintTest, ChangesWithShapesNamesAndOptimizer) {
  const std::string base = *ModelFingerprint(kModel, Sgd());
  EXPECT_NE(*ModelFingerprint({{"dense/w", {784, 11}}, {"dense/b", {10}}}, Sgd()), base);
  EXPECT_NE(*ModelFingerprint({{"dense/v", {784, 10}}, {"dense/b", {10}}}, Sgd()), base);
  EXPECT_NE(*ModelFingerprint({{"dense/b", {10}}, {"dense/w", {784, 10}}}, Sgd()), base);
  EXPECT_NE(*ModelFingerprint(kModel, Adam(0.1f)), base);
  // A moving average (batch norm) is another kind of variable.
  EXPECT_NE(*ModelFingerprint({{"dense/w", {784, 10}}, {"dense/b", {10}, MOVING_AVERAGE}}, Sgd()),
            base);
  EXPECT_EQ(*ModelFingerprint({{"dense/w", {784, 10}, TRAINABLE}, {"dense/b", {10}}}, Sgd()),
            base);
  // A name/shape boundary cannot be moved without changing the fingerprint.
  EXPECT_NE(*ModelFingerprint({{"a", {1}}, {"b", {2}}}, Sgd()),
            *ModelFingerprint({{"a", {1, 2}}, {"b", {}}}, Sgd()));
}

TEST(ModelFingerprintTest, RejectsABadOptimizer) {
  OptimizerConfig none;
  EXPECT_EQ(ModelFingerprint(kModel, none).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(OptimizerSlotNames(none).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(*OptimizerSlotNames(Adam(0.1f)), (std::vector<std::string>{"m", "v"}));
}

}  // namespace
}  // namespace tessera
