// MOVING_AVERAGE blocks through the VariableStore (BlockSpec.kind): in
// ASYNC, STALE and SYNC a pushed delta is subtracted with no optimizer (Adam
// here: no learning rate, no slots), beside a TRAINABLE block that Adam
// updates; snapshots carry no slots for them, and slots cannot be assigned.

#include <string>
#include <vector>

#include "common/clock.h"
#include "gtest/gtest.h"
#include "ps/variable_store.h"

namespace tessera {
namespace {

constexpr char kFingerprint[] = "00000000000000bb";

// "w" [2] TRAINABLE and "bn/moving_mean" [2] MOVING_AVERAGE under Adam.
CreateVariablesRequest TwoBlocks(UpdateMode mode, int workers) {
  CreateVariablesRequest request;
  request.set_fingerprint(kFingerprint);
  request.set_num_workers(workers);
  request.set_holds_global_step(true);
  request.set_update_mode(mode);
  request.set_staleness(100);
  request.mutable_optimizer()->set_learning_rate(0.5f);
  request.mutable_optimizer()->mutable_adam();
  for (const char* name : {"w", "bn/moving_mean"}) {
    BlockSpec* b = request.add_blocks();
    b->set_name(name);
    b->set_variable(name);
    b->mutable_shape()->add_dim(2);
    if (std::string(name) != "w") b->set_kind(MOVING_AVERAGE);
  }
  return request;
}

ChunkHeader Header(const std::string& block, ChunkKind kind, int worker, int64_t step) {
  ChunkHeader header;
  header.set_block(block);
  header.set_block_elements(2);
  header.set_kind(kind);
  header.set_fingerprint(kFingerprint);
  header.set_worker_task(worker);
  header.set_step(step);
  header.set_increment_global_step(true);
  return header;
}

// One push of `w` (a gradient) and `bn/moving_mean` (a delta).
absl::Status Push(VariableStore* store, ChunkKind kind, int worker, int64_t step,
                  std::vector<float> w, std::vector<float> mean) {
  auto session = store->StartPush();
  absl::Status s = session->AddChunk(Header("w", kind, worker, step), w);
  if (s.ok()) s = session->AddChunk(Header("bn/moving_mean", kind, worker, step), mean);
  if (!s.ok()) return s;
  return session->Finish().status();
}

// Each block's chunks: name (with "/slot") -> values.
std::vector<std::pair<std::string, std::vector<float>>> Snapshot(VariableStore* store) {
  SnapshotRequest request;
  request.set_fingerprint(kFingerprint);
  auto session = store->StartSnapshot(request);
  EXPECT_TRUE(session.ok()) << session.status();
  std::vector<std::pair<std::string, std::vector<float>>> out;
  if (!session.ok()) return out;
  while (!(*session)->Done()) {
    ChunkHeader header;
    const SharedFloats chunk = (*session)->NextChunk(2, &header);
    out.push_back({header.slot().empty() ? header.block() : header.block() + "/" + header.slot(),
                   std::vector<float>(chunk.data(), chunk.data() + chunk.size())});
  }
  return out;
}

std::vector<float> Value(VariableStore* store, const std::string& block) {
  for (const auto& [name, values] : Snapshot(store)) {
    if (name == block) return values;
  }
  return {};
}

// N pushes of constant batch statistics b, each delta (1 - decay) * (var - b)
// computed from the value pulled just before, as a worker does: the value
// is the closed form b + (var_0 - b) * decay^N, in every mode.
TEST(MovingAverageStoreTest, DeltasFollowAssignMovingAverageInEveryMode) {
  for (UpdateMode mode : {ASYNC, STALE, SYNC}) {
    SCOPED_TRACE(UpdateMode_Name(mode));
    FakeClock clock;
    VariableStore store({&clock, 7, {}});
    ASSERT_TRUE(store.CreateVariables(TwoBlocks(mode, 1)).ok());
    ASSERT_TRUE(Push(&store, ASSIGN, 0, 0, {1, 1}, {1, 7}).ok());
    const float decay = 0.5f, b = 3.0f;
    for (int step = 0; step < 4; ++step) {
      const std::vector<float> mean = Value(&store, "bn/moving_mean");
      ASSERT_EQ(mean.size(), 2u);
      ASSERT_TRUE(Push(&store, GRADIENT, 0, step, {1, -1},
                       {(1 - decay) * (mean[0] - b), (1 - decay) * (mean[1] - b)})
                      .ok());
    }
    EXPECT_EQ(Value(&store, "bn/moving_mean"), std::vector<float>({2.875f, 3.25f}));
    // The trainable block moved by Adam: 4 steps of lr 0.5 against the sign.
    const std::vector<float> w = Value(&store, "w");
    ASSERT_EQ(w.size(), 2u);
    EXPECT_NEAR(w[0], 1 - 4 * 0.5, 1e-4);
    EXPECT_NEAR(w[1], 1 + 4 * 0.5, 1e-4);
  }
}

// SYNC with 2 replicas: one update per step with the mean of the deltas,
// i.e. towards the mean of the replicas' batch statistics.
TEST(MovingAverageStoreTest, SyncAveragesTheReplicasDeltas) {
  FakeClock clock;
  VariableStore store({&clock, 7, {}});
  ASSERT_TRUE(store.CreateVariables(TwoBlocks(SYNC, 2)).ok());
  ASSERT_TRUE(Push(&store, ASSIGN, 0, 0, {0, 0}, {1, 1}).ok());
  // decay 0.5, var 1; batch means 3 and 5 (deltas -1 and -2): var = 2.5,
  // which is 1 - 0.5 * (1 - 4), 4 being the mean of the batch means.
  ASSERT_TRUE(Push(&store, GRADIENT, 0, 0, {0, 0}, {-1, -1}).ok());
  EXPECT_EQ(Value(&store, "bn/moving_mean"), std::vector<float>({1, 1}));  // not yet applied
  ASSERT_TRUE(Push(&store, GRADIENT, 1, 0, {0, 0}, {-2, -2}).ok());
  EXPECT_EQ(Value(&store, "bn/moving_mean"), std::vector<float>({2.5f, 2.5f}));
}

TEST(MovingAverageStoreTest, SnapshotsCarryNoSlotsAndSlotsCannotBeAssigned) {
  FakeClock clock;
  VariableStore store({&clock, 7, {}});
  ASSERT_TRUE(store.CreateVariables(TwoBlocks(ASYNC, 1)).ok());
  ASSERT_TRUE(Push(&store, ASSIGN, 0, 0, {1, 2}, {3, 4}).ok());
  std::vector<std::string> names;
  for (const auto& [name, values] : Snapshot(&store)) names.push_back(name);
  EXPECT_EQ(names, std::vector<std::string>({"w", "w/m", "w/v", "bn/moving_mean"}));

  auto session = store.StartPush();
  ASSERT_TRUE(session->AddChunk(Header("bn/moving_mean", ASSIGN, 0, 0), {3, 4}).ok());
  ChunkHeader slot = Header("bn/moving_mean", ASSIGN, 0, 0);
  slot.set_slot("m");
  const absl::Status s = session->AddChunk(slot, {0, 0});
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(),
            "block 'bn/moving_mean': slot 'm' pushed for a MOVING_AVERAGE block, which has no "
            "optimizer slots");
}

TEST(MovingAverageStoreTest, AnotherKindForTheSameBlockIsRefused) {
  FakeClock clock;
  VariableStore store({&clock, 7, {}});
  ASSERT_TRUE(store.CreateVariables(TwoBlocks(ASYNC, 1)).ok());
  CreateVariablesRequest other = TwoBlocks(ASYNC, 1);
  other.mutable_blocks(1)->set_kind(TRAINABLE);
  const auto s = store.CreateVariables(other);
  EXPECT_EQ(s.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(s.status().message(),
            "CreateVariables with fingerprint 00000000000000bb differs from the variables this ps "
            "holds under the same fingerprint: block 'bn/moving_mean' is MOVING_AVERAGE here, "
            "TRAINABLE in the request");
}

}  // namespace
}  // namespace tessera
