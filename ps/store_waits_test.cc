// The pull waits over a StoreCore on a ps without the global step, where SYNC
// waits read the blocks' accumulators (the store tests cover ps 0's count).

#include "ps/store_waits.h"

#include <set>
#include <string>

#include "absl/strings/match.h"
#include "common/clock.h"
#include "gtest/gtest.h"
#include "ps/push_session.h"
#include "ps/store_core.h"

namespace tessera {
namespace {

constexpr char kFingerprint[] = "00000000000000ff";

CreateVariablesRequest SyncWithoutGlobalStep(UpdateMode mode) {
  CreateVariablesRequest request;
  request.set_fingerprint(kFingerprint);
  request.set_num_workers(2);
  request.set_update_mode(mode);
  request.set_sync_timeout_secs(30);
  request.mutable_optimizer()->set_learning_rate(1.0f);
  request.mutable_optimizer()->mutable_sgd();
  BlockSpec* w = request.add_blocks();
  w->set_name("w");
  w->mutable_shape()->add_dim(2);
  return request;
}

class StoreWaitsTest : public ::testing::Test {
 protected:
  StoreWaitsTest() : core_(&clock_, 5) {}
  void Create(UpdateMode mode) {
    ASSERT_TRUE(core_.CreateVariables(SyncWithoutGlobalStep(mode)).ok());
    ASSERT_TRUE(PushW(ASSIGN, 0).ok());
    blocks_ = core_.Blocks();
  }
  absl::Status PushW(ChunkKind kind, int worker) {
    PushSession session(&core_);
    ChunkHeader header;
    header.set_kind(kind);
    header.set_fingerprint(kFingerprint);
    header.set_worker_task(worker);
    header.set_block("w");
    header.set_block_elements(2);
    const float values[] = {1, 1};
    absl::Status status = session.AddChunk(header, values);
    return status.ok() ? session.Finish().status() : status;
  }
  PullRequest Pull(int64_t min_version) const {
    PullRequest request;
    request.set_fingerprint(kFingerprint);
    request.set_min_version(min_version);
    return request;
  }
  FakeClock clock_;
  StoreCore core_;
  std::vector<VariableBlock*> blocks_;
};

TEST_F(StoreWaitsTest, AsyncNeverWaits) {
  Create(ASYNC);
  EXPECT_TRUE(PullReady(core_, Pull(5), blocks_));
  EXPECT_TRUE(SyncContributors(core_).empty());
  EXPECT_EQ(WaitingFor(core_), "");
}

TEST_F(StoreWaitsTest, SyncWaitsForTheBlocksStep) {
  Create(SYNC);
  EXPECT_TRUE(PullReady(core_, Pull(0), blocks_));
  EXPECT_FALSE(PullReady(core_, Pull(1), blocks_));
  ASSERT_TRUE(PushW(GRADIENT, 0).ok());
  EXPECT_FALSE(PullReady(core_, Pull(1), blocks_));
  EXPECT_EQ(SyncContributors(core_), std::set<int>{0});
  const absl::Status timeout = PullTimeoutError(core_, Pull(1), blocks_);
  EXPECT_EQ(timeout.code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_TRUE(absl::StartsWith(
      timeout.message(),
      "SYNC step 0 did not complete within 30s (sync_timeout_secs): block 'w' has gradients "
      "from workers 0 (1 of 2 needed); none yet from worker 1"))
      << timeout.message();
  EXPECT_EQ(WaitingFor(core_), "");  // nobody waits on the waiter

  ASSERT_TRUE(PushW(GRADIENT, 1).ok());
  EXPECT_TRUE(PullReady(core_, Pull(1), blocks_));
  EXPECT_TRUE(absl::StrContains(PullTimeoutError(core_, Pull(1), blocks_).message(),
                                "every block is past that step"));
}

}  // namespace
}  // namespace tessera
