// The sessions over a StoreCore alone (no VariableStore): what they take
// from the core and give back to it.

#include <memory>
#include <string>
#include <vector>

#include "common/clock.h"
#include "gtest/gtest.h"
#include "ps/pull_session.h"
#include "ps/push_session.h"
#include "ps/snapshot_session.h"
#include "ps/store_core.h"

namespace tessera {
namespace {

constexpr char kFingerprint[] = "00000000000000ee";

CreateVariablesRequest Blocks(int64_t w_elements, int64_t b_elements) {
  CreateVariablesRequest request;
  request.set_fingerprint(kFingerprint);
  request.set_num_workers(1);
  request.set_holds_global_step(true);
  request.mutable_optimizer()->set_learning_rate(1.0f);
  request.mutable_optimizer()->mutable_sgd();
  BlockSpec* w = request.add_blocks();
  w->set_name("w");
  w->mutable_shape()->add_dim(w_elements);
  BlockSpec* b = request.add_blocks();
  b->set_name("b");
  b->mutable_shape()->add_dim(b_elements);
  return request;
}

// Pushes one chunk per block; returns the push's status.
absl::Status Push(StoreCore* core, ChunkKind kind, int64_t step,
                  const std::vector<std::pair<std::string, std::vector<float>>>& blocks) {
  PushSession session(core);
  for (const auto& [name, values] : blocks) {
    ChunkHeader header;
    header.set_kind(kind);
    header.set_fingerprint(kFingerprint);
    header.set_block(name);
    header.set_block_elements(static_cast<int64_t>(values.size()));
    header.set_step(step);
    header.set_increment_global_step(kind == GRADIENT);
    absl::Status status = session.AddChunk(header, values);
    if (!status.ok()) return status;
  }
  return session.Finish().status();
}

class StoreSessionsTest : public ::testing::Test {
 protected:
  StoreSessionsTest() : core_(&clock_, 9) {}
  void SetUp() override {
    ASSERT_TRUE(core_.CreateVariables(Blocks(5, 2)).ok());
    ASSERT_TRUE(Push(&core_, ASSIGN, 7, {{"w", {1, 2, 3, 4, 5}}, {"b", {6, 7}}}).ok());
    ASSERT_TRUE(core_.ready());
  }
  FakeClock clock_;
  StoreCore core_;
};

TEST_F(StoreSessionsTest, PushReturnsItsScratchToTheCoresPool) {
  // The ASSIGN of SetUp gave its piece buffer back, and only one was made.
  EXPECT_EQ(static_cast<int64_t>(core_.TakeScratch().size()), PushSession::kPieceElements);
  EXPECT_TRUE(core_.TakeScratch().empty());
  ASSERT_TRUE(Push(&core_, GRADIENT, 7, {{"b", {1, 1}}}).ok());
  EXPECT_EQ(static_cast<int64_t>(core_.TakeScratch().size()), PushSession::kPieceElements);
  EXPECT_EQ(core_.ReportedGlobalStep(), 8);
}

TEST_F(StoreSessionsTest, PullChunksEachBlockWithTheCoresStep) {
  PullSession pull(&core_, {*core_.FindBlock("w"), *core_.FindBlock("b")});
  std::vector<std::string> seen;
  while (!pull.Done()) {
    ChunkHeader header;
    const SharedFloats chunk = pull.NextChunk(3, &header);
    EXPECT_EQ(header.kind(), VALUES);
    EXPECT_EQ(header.incarnation(), 9u);
    EXPECT_EQ(header.global_step(), 7);
    seen.push_back(header.block() + "@" + std::to_string(header.offset()) + ":" +
                   std::to_string(chunk.size()) + "=" + std::to_string(chunk.data()[0]));
  }
  EXPECT_EQ(seen, (std::vector<std::string>{"w@0:3=1.000000", "w@3:2=4.000000", "b@0:2=6.000000"}));
}

TEST_F(StoreSessionsTest, SnapshotKeepsItsCopyAndZeroFillsSlotsTheBlockLacks) {
  // SGD has no slots; a snapshot asked for one sends zeros, never stale heap.
  SnapshotSession snapshot(&core_, {*core_.FindBlock("w")}, {"extra"}, 7);
  ChunkHeader header;
  const SharedFloats first = snapshot.NextChunk(2, &header);
  EXPECT_EQ(std::vector<float>(first.data(), first.data() + first.size()),
            (std::vector<float>{1, 2}));
  // A gradient applied now does not reach the copy being sent.
  ASSERT_TRUE(Push(&core_, GRADIENT, 7, {{"w", {1, 1, 1, 1, 1}}, {"b", {0, 0}}}).ok());
  std::vector<float> values(first.data(), first.data() + first.size());
  std::vector<float> extra;
  while (!snapshot.Done()) {
    const SharedFloats chunk = snapshot.NextChunk(2, &header);
    EXPECT_EQ(header.global_step(), 7);  // as when the stream started
    std::vector<float>& out = header.slot().empty() ? values : extra;
    out.insert(out.end(), chunk.data(), chunk.data() + chunk.size());
  }
  EXPECT_EQ(values, (std::vector<float>{1, 2, 3, 4, 5}));
  EXPECT_EQ(extra, (std::vector<float>{0, 0, 0, 0, 0}));
}

}  // namespace
}  // namespace tessera
