// Snapshot sessions and ASSIGN pushes with optimizer slots (restore), of
// ps/variable_store.h.

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "common/clock.h"
#include "gtest/gtest.h"
#include "ps/variable_store.h"

namespace tessera {
namespace {

constexpr char kFingerprint[] = "00000000000000bb";

CreateVariablesRequest AdamBlock() {
  CreateVariablesRequest request;
  request.set_fingerprint(kFingerprint);
  request.set_num_workers(1);
  request.set_holds_global_step(true);
  request.mutable_optimizer()->set_learning_rate(0.1f);
  request.mutable_optimizer()->mutable_adam();
  BlockSpec* w = request.add_blocks();
  w->set_name("w");
  w->set_variable("w");
  w->mutable_shape()->add_dim(3);
  return request;
}

ChunkHeader Chunk(const std::string& slot, ChunkKind kind, int64_t step = 0) {
  ChunkHeader header;
  header.set_block("w");
  header.set_slot(slot);
  header.set_block_elements(3);
  header.set_kind(kind);
  header.set_fingerprint(kFingerprint);
  header.set_step(step);
  return header;
}

// (slot -> values) of a whole Snapshot of the store, read in chunks of 2.
std::map<std::string, std::vector<float>> SnapshotAll(VariableStore* store, int64_t* step) {
  SnapshotRequest request;
  request.set_fingerprint(kFingerprint);
  auto session = store->StartSnapshot(request);
  EXPECT_TRUE(session.ok()) << session.status();
  std::map<std::string, std::vector<float>> out;
  while (session.ok() && !(*session)->Done()) {
    ChunkHeader header;
    const SharedFloats chunk = (*session)->NextChunk(2, &header);
    std::vector<float>& tensor = out[header.slot()];
    EXPECT_EQ(header.offset(), static_cast<int64_t>(tensor.size()));
    EXPECT_LE(chunk.size(), 2);
    tensor.insert(tensor.end(), chunk.data(), chunk.data() + chunk.size());
    *step = header.global_step();
  }
  return out;
}

class StoreSnapshotTest : public ::testing::Test {
 protected:
  StoreSnapshotTest() : store_({&clock_, 5, {}}) {}
  void SetUp() override { ASSERT_TRUE(store_.CreateVariables(AdamBlock()).ok()); }
  FakeClock clock_;
  VariableStore store_;
};

TEST_F(StoreSnapshotTest, RestoresValuesSlotsAndStepThenSnapshotsThem) {
  auto push = store_.StartPush();
  ASSERT_TRUE(push->AddChunk(Chunk("", ASSIGN, 40), {1, 2, 3}).ok());
  ASSERT_TRUE(push->AddChunk(Chunk("m", ASSIGN, 40), {0.1f, 0.2f, 0.3f}).ok());
  // Not ready before the stream finishes: slots and step are not all in yet.
  EXPECT_FALSE(store_.Summary().ready);
  ASSERT_TRUE(push->AddChunk(Chunk("v", ASSIGN, 40), {4, 5, 6}).ok());
  ASSERT_TRUE(push->Finish().ok());
  EXPECT_TRUE(store_.Summary().ready);
  EXPECT_EQ(store_.Summary().global_step, 40);

  int64_t step = -1;
  std::map<std::string, std::vector<float>> snapshot = SnapshotAll(&store_, &step);
  EXPECT_EQ(step, 40);
  EXPECT_EQ(snapshot[""], (std::vector<float>{1, 2, 3}));
  EXPECT_EQ(snapshot["m"], (std::vector<float>{0.1f, 0.2f, 0.3f}));
  EXPECT_EQ(snapshot["v"], (std::vector<float>{4, 5, 6}));
  EXPECT_EQ(snapshot.size(), 3u);
}

TEST_F(StoreSnapshotTest, AValueAssignResetsTheSlots) {
  ASSERT_TRUE(store_.StartPush()->AddChunk(Chunk("", ASSIGN), {1, 2, 3}).ok());  // not finished
  auto push = store_.StartPush();
  ASSERT_TRUE(push->AddChunk(Chunk("", ASSIGN), {7, 8, 9}).ok());
  ASSERT_TRUE(push->Finish().ok());
  int64_t step = -1;
  std::map<std::string, std::vector<float>> snapshot = SnapshotAll(&store_, &step);
  EXPECT_EQ(step, 0);
  EXPECT_EQ(snapshot[""], (std::vector<float>{7, 8, 9}));
  EXPECT_EQ(snapshot["m"], (std::vector<float>{0, 0, 0}));
}

TEST_F(StoreSnapshotTest, RejectsBadSlotChunks) {
  {
    auto push = store_.StartPush();
    const absl::Status status = push->AddChunk(Chunk("m", ASSIGN), {1, 2, 3});
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(status.message(), "block 'w': slot 'm' pushed before the block's values");
  }
  {
    auto push = store_.StartPush();
    ASSERT_TRUE(push->AddChunk(Chunk("", ASSIGN), {1, 2, 3}).ok());
    const absl::Status status = push->AddChunk(Chunk("momentum", ASSIGN), {1, 2, 3});
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(status.message(), "block 'w': optimizer adam has no slot 'momentum'");
  }
  {
    auto push = store_.StartPush();
    ASSERT_TRUE(push->AddChunk(Chunk("", ASSIGN), {1, 2, 3}).ok());
    ASSERT_TRUE(push->AddChunk(Chunk("m", ASSIGN), {1, 2, 3}).ok());
    const absl::Status status = push->AddChunk(Chunk("m", ASSIGN), {1, 2, 3});
    EXPECT_EQ(status.message(), "block 'w' slot 'm' appears twice in one push");
    ASSERT_TRUE(push->Finish().status().code() == absl::StatusCode::kInvalidArgument);
  }
  // Snapshots need an initialized ps, like Pull.
  SnapshotRequest request;
  request.set_fingerprint(kFingerprint);
  EXPECT_EQ(store_.StartSnapshot(request).status().code(),
            absl::StatusCode::kFailedPrecondition);
  auto push = store_.StartPush();
  ASSERT_TRUE(push->AddChunk(Chunk("", ASSIGN), {1, 2, 3}).ok());
  ASSERT_TRUE(push->Finish().ok());
  {
    auto gradient = store_.StartPush();
    const absl::Status status = gradient->AddChunk(Chunk("m", GRADIENT), {1, 2, 3});
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(status.message(),
              "block 'w': slot 'm' in a GRADIENT push (slots are pushed only with ASSIGN)");
  }
  request.add_blocks("nope");
  EXPECT_EQ(store_.StartSnapshot(request).status().code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace tessera
