// Batch norm's moving averages through the PsGroup and checkpoints: created
// as MOVING_AVERAGE blocks (no optimizer slots), snapshotted without slots,
// saved and read back with their kind, restored onto restarted ps; a
// checkpoint whose moving average has another shape or kind is refused,
// naming the variable. Two in-memory ps (test/in_memory_ps.h).

#include <memory>
#include <string>
#include <vector>

#include "common/checkpoint/checkpoint.h"
#include "common/clock.h"
#include "common/cluster/placement.h"
#include "gtest/gtest.h"
#include "test/in_memory_ps.h"
#include "worker/ps_group.h"

namespace tessera {
namespace {

class PsGroupMovingAverageTest : public ::testing::Test {
 protected:
  PsGroupMovingAverageTest()
      : variables_{{"w", {4, 3}},
                   {"bn/moving_mean", {3}, MOVING_AVERAGE},
                   {"bn/moving_variance", {3}, MOVING_AVERAGE}} {
    plan_ = *PlaceVariables(variables_, 2, /*partition_bytes=*/24);
    config_.mutable_optimizer()->set_learning_rate(0.1f);
    config_.mutable_optimizer()->mutable_adam();
    PsGroupOptions options;
    options.clock = &clock_;
    group_ = *PsGroup::Create(variables_, plan_, options, ConnectAll({&ps0_, &ps1_}));
  }

  static std::vector<Tensor> Initial() {
    return {Tensor({4, 3}, std::vector<float>(12, 0.5f)), Tensor({3}),
            Tensor({3}, {1, 1, 1})};
  }
  static std::vector<float> Flat(const Tensor& t) { return {t.span().begin(), t.span().end()}; }

  FakeClock clock_;
  InMemoryPs ps0_{0, &clock_};
  InMemoryPs ps1_{1, &clock_};
  const std::vector<VariableInfo> variables_;
  PlacementPlan plan_;
  TrainConfig config_;
  std::unique_ptr<PsGroup> group_;
};

TEST_F(PsGroupMovingAverageTest, SnapshotSaveAndRestoreKeepTheMovingAverages) {
  ASSERT_TRUE(group_->CreateAndInitialize(config_, Initial()).ok());
  // One step: a gradient for w, deltas for the moving averages.
  std::vector<Tensor> pushed = {Tensor({4, 3}, std::vector<float>(12, 1.0f)),
                                Tensor({3}, {-0.5f, 0.25f, 1}), Tensor({3}, {0.5f, 0.5f, 0})};
  ASSERT_TRUE(group_->PushAll(pushed, 0).ok());
  absl::StatusOr<CheckpointContents> snapshot = group_->Snapshot({"m", "v"});
  ASSERT_TRUE(snapshot.ok()) << snapshot.status();
  ASSERT_EQ(snapshot->variables.size(), 3u);
  EXPECT_EQ(snapshot->variables[0].slots.size(), 2u);
  EXPECT_EQ(snapshot->variables[0].kind, TRAINABLE);
  EXPECT_EQ(snapshot->variables[1].kind, MOVING_AVERAGE);
  EXPECT_TRUE(snapshot->variables[1].slots.empty());
  EXPECT_EQ(Flat(snapshot->variables[1].value), std::vector<float>({0.5f, -0.25f, -1}));
  EXPECT_EQ(Flat(snapshot->variables[2].value), std::vector<float>({0.5f, 0.5f, 1}));

  const std::string dir = ::testing::TempDir();
  snapshot->metadata.model_fingerprint = "fp";
  ASSERT_TRUE(SaveCheckpoint(dir, *snapshot).ok());
  absl::StatusOr<CheckpointContents> read = ReadCheckpoint(dir, CheckpointName(1));
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(read->variables[1].kind, MOVING_AVERAGE);
  EXPECT_EQ(read->variables[2].kind, MOVING_AVERAGE);

  ps0_.Restart();
  ps1_.Restart();
  absl::StatusOr<std::vector<int>> uninitialized = group_->CreateVariables(config_);
  ASSERT_TRUE(uninitialized.ok()) << uninitialized.status();
  ASSERT_EQ(*uninitialized, std::vector<int>({0, 1}));
  for (int ps : {0, 1}) ASSERT_TRUE(group_->RestoreFromCheckpoint(ps, *read, {"m", "v"}).ok());
  absl::StatusOr<CheckpointContents> again = group_->Snapshot({"m", "v"});
  ASSERT_TRUE(again.ok()) << again.status();
  for (size_t v = 0; v < 3; ++v) {
    EXPECT_EQ(Flat(again->variables[v].value), Flat(snapshot->variables[v].value)) << v;
  }
  EXPECT_EQ(Flat(again->variables[0].slots.at("m")), Flat(snapshot->variables[0].slots.at("m")));
}

TEST_F(PsGroupMovingAverageTest, RestoreRefusesAMovingAverageOfAnotherShapeOrKind) {
  ASSERT_TRUE(group_->CreateAndInitialize(config_, Initial()).ok());
  absl::StatusOr<CheckpointContents> saved = group_->Snapshot({"m", "v"});
  ASSERT_TRUE(saved.ok()) << saved.status();
  saved->metadata.global_step = 7;
  const int ps = plan_.blocks[plan_.BlocksOf("bn/moving_mean")[0]].ps_task;

  CheckpointContents wider = *saved;
  wider.variables[1].value = Tensor({4});
  absl::Status restored = group_->RestoreFromCheckpoint(ps, wider, {"m", "v"});
  EXPECT_EQ(restored.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(restored.message(),
            "checkpoint ckpt-7: variable 'bn/moving_mean' has shape [4], the model's is [3]");

  CheckpointContents trainable = *saved;
  trainable.variables[1].kind = TRAINABLE;
  restored = group_->RestoreFromCheckpoint(ps, trainable, {"m", "v"});
  EXPECT_EQ(restored.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(restored.message(),
            "checkpoint ckpt-7: variable 'bn/moving_mean' is TRAINABLE, the model's is "
            "MOVING_AVERAGE");
}

}  // namespace
}  // namespace tessera
