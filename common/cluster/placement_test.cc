#include "common/cluster/placement.h"

#include <cmath>

#include "gtest/gtest.h"

namespace tessera {
namespace {

// mnist_deep's variables (examples/models/mnist_deep.pbtxt).
std::vector<VariableInfo> MnistDeep() {
  return {{"conv1/weights", {5, 5, 1, 32}}, {"conv1/biases", {32}},
          {"conv2/weights", {5, 5, 32, 64}}, {"conv2/biases", {64}},
          {"fc1/weights", {3136, 1024}},     {"fc1/biases", {1024}},
          {"fc2/weights", {1024, 10}},       {"fc2/biases", {10}}};
}

TEST(PlacementTest, MnistDeepOnTwoPsIsBalancedWithinTenPercent) {
  auto plan = PlaceVariables(MnistDeep(), 2, 1 << 20);
  ASSERT_TRUE(plan.ok()) << plan.status();
  ASSERT_EQ(plan->ps_bytes.size(), 2u);
  const double a = plan->ps_bytes[0], b = plan->ps_bytes[1];
  EXPECT_LE(std::abs(a - b) / std::max(a, b), 0.10) << a << " vs " << b;
  // fc1/weights (12.8 MB) is split into 14 blocks (13 rounded up to 2 x 7).
  std::vector<int> parts = plan->BlocksOf("fc1/weights");
  ASSERT_EQ(parts.size(), 14u);
  int64_t rows = 0;
  for (int i : parts) {
    EXPECT_EQ(plan->blocks[i].row_offset, rows);
    EXPECT_EQ(plan->blocks[i].shape[1], 1024);
    rows += plan->blocks[i].shape[0];
  }
  EXPECT_EQ(rows, 3136);
  EXPECT_EQ(plan->blocks[parts[0]].name, "fc1/weights/part_0");
  int64_t total = 0;
  for (const auto& blk : plan->blocks) total += blk.bytes();
  EXPECT_EQ(total, plan->ps_bytes[0] + plan->ps_bytes[1]);
}

TEST(PlacementTest, GreedyLargestFirstTiesByName) {
  auto plan = PlaceVariables({{"b", {10}}, {"a", {10}}, {"c", {30}}, {"d", {5}}}, 2, 1 << 20);
  ASSERT_TRUE(plan.ok());
  // c (120 B) -> ps 0; a (40) -> ps 1; b (40) -> ps 1; d (20) -> ps 1.
  EXPECT_EQ(plan->blocks[2].ps_task, 0);
  EXPECT_EQ(plan->blocks[1].ps_task, 1);
  EXPECT_EQ(plan->blocks[0].ps_task, 1);
  EXPECT_EQ(plan->blocks[3].ps_task, 1);
  EXPECT_EQ(plan->ps_bytes, std::vector<int64_t>({120, 100}));
  EXPECT_EQ(plan->BlocksOn(0), std::vector<int>({2}));
}

TEST(PlacementTest, UnevenSplitAndSingleRowVariablesStayWhole) {
  // 10 rows x 4 floats = 160 bytes, partition 50 -> ceil(3.2) = 4 parts (x1 ps).
  auto plan = PlaceVariables({{"w", {10, 4}}, {"row", {1, 100}}, {"s", {}}}, 1, 50);
  ASSERT_TRUE(plan.ok());
  std::vector<int> parts = plan->BlocksOf("w");
  ASSERT_EQ(parts.size(), 4u);
  EXPECT_EQ(plan->blocks[parts[0]].shape, Shape({3, 4}));
  EXPECT_EQ(plan->blocks[parts[1]].shape, Shape({3, 4}));
  EXPECT_EQ(plan->blocks[parts[2]].shape, Shape({2, 4}));
  EXPECT_EQ(plan->blocks[parts[3]].row_offset, 8);
  EXPECT_EQ(plan->BlocksOf("row").size(), 1u);
  EXPECT_EQ(plan->BlocksOf("s").size(), 1u);
}

TEST(PlacementTest, DeterministicFingerprintThatSeesEveryChange) {
  auto a = PlaceVariables(MnistDeep(), 2, 1 << 20);
  auto b = PlaceVariables(MnistDeep(), 2, 1 << 20);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->fingerprint, b->fingerprint);
  EXPECT_EQ(a->fingerprint.size(), 16u);
  auto vars = MnistDeep();
  vars[7].shape = {11};
  EXPECT_NE(PlaceVariables(vars, 2, 1 << 20)->fingerprint, a->fingerprint);
  EXPECT_NE(PlaceVariables(MnistDeep(), 3, 1 << 20)->fingerprint, a->fingerprint);
  EXPECT_NE(PlaceVariables(MnistDeep(), 2, 1 << 21)->fingerprint, a->fingerprint);
}

TEST(PlacementTest, BadInputIsNamed) {
  EXPECT_EQ(PlaceVariables(MnistDeep(), 0, 1 << 20).status().message(),
            "placement needs at least one ps, got 0");
  EXPECT_EQ(PlaceVariables(MnistDeep(), 2, 0).status().message(),
            "partition_bytes must be at least 4, got 0");
  EXPECT_EQ(PlaceVariables({{"w", {2}}, {"w", {3}}}, 1, 64).status().message(),
            "variable \"w\" appears twice");
  EXPECT_EQ(PlaceVariables({{"w", {2, -3}}}, 1, 64).status().message(),
            "variable \"w\": dimension 1 of shape [2, -3] is negative");
  EXPECT_EQ(PlaceVariables({{"", {2}}}, 1, 64).status().message(), "a variable has an empty name");
}

TEST(PlacementKindTest, KindsReachTheBlocksAndOnlyNonTrainableOnesChangeTheFingerprint) {
  const std::vector<VariableInfo> plain = {{"w", {4, 3}}, {"m", {3}}};
  const std::vector<VariableInfo> with_kind = {{"w", {4, 3}}, {"m", {3}, MOVING_AVERAGE}};
  absl::StatusOr<PlacementPlan> a = PlaceVariables(plain, 2, 24);
  absl::StatusOr<PlacementPlan> b = PlaceVariables(with_kind, 2, 24);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NE(a->fingerprint, b->fingerprint);
  EXPECT_EQ(b->blocks[b->BlocksOf("m")[0]].kind, MOVING_AVERAGE);
  EXPECT_EQ(b->blocks[b->BlocksOf("w")[0]].kind, TRAINABLE);
}

}  // namespace
}  // namespace tessera
