// SYNC and STALE through the VariableStore: exact averaging, stale and
// duplicate drops counted per worker, backup workers, a restarted worker,
// waiting Pulls released by pushes or ended by the timeout (fake clock).

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/notification.h"
#include "common/clock.h"
#include "gtest/gtest.h"
#include "ps/block_values.h"
#include "ps/push_session.h"
#include "ps/variable_store.h"

namespace tessera {
namespace {

constexpr char kFingerprint[] = "00000000000000aa";

CreateVariablesRequest OneBlock(UpdateMode mode, int workers, int replicas) {
  CreateVariablesRequest request;
  request.set_fingerprint(kFingerprint);
  request.set_num_workers(workers);
  request.set_holds_global_step(true);
  request.set_update_mode(mode);
  request.set_replicas_to_aggregate(replicas);
  request.set_sync_timeout_secs(300);
  request.set_worker_timeout_secs(60);
  request.mutable_optimizer()->set_learning_rate(1.0f);
  request.mutable_optimizer()->mutable_sgd();
  BlockSpec* w = request.add_blocks();
  w->set_name("w");
  w->set_variable("w");
  w->mutable_shape()->add_dim(2);
  return request;
}

// The first chunk's header of a push of block "w" (2 elements) by `worker`.
ChunkHeader Header(ChunkKind kind, int worker, int64_t step) {
  ChunkHeader header;
  header.set_block("w");
  header.set_block_elements(2);
  header.set_kind(kind);
  header.set_fingerprint(kFingerprint);
  header.set_worker_task(worker);
  header.set_step(step);
  header.set_increment_global_step(true);
  return header;
}

absl::StatusOr<PushResponse> Push(VariableStore* store, ChunkKind kind, int worker, int64_t step,
                                  std::vector<float> values) {
  auto session = store->StartPush();
  absl::Status status = session->AddChunk(Header(kind, worker, step), values);
  if (!status.ok()) return status;
  return session->Finish();
}

PullRequest Pull(int worker, int64_t min_version) {
  PullRequest request;
  request.set_fingerprint(kFingerprint);
  request.set_worker_task(worker);
  request.set_min_version(min_version);
  return request;
}

std::vector<float> Values(VariableStore* store, int64_t* version) {
  auto session = store->StartPull(Pull(0, 0));
  EXPECT_TRUE(session.ok()) << session.status();
  ChunkHeader header;
  const SharedFloats chunk = (*session)->NextChunk(2, &header);
  std::vector<float> out(chunk.data(), chunk.data() + chunk.size());
  *version = header.version();
  return out;
}

class SyncStoreTest : public ::testing::Test {
 protected:
  SyncStoreTest() : store_({&clock_, 7, {}}) {}
  void Create(UpdateMode mode, int workers, int replicas) {
    ASSERT_TRUE(store_.CreateVariables(OneBlock(mode, workers, replicas)).ok());
    ASSERT_TRUE(Push(&store_, ASSIGN, 0, 0, {10, 20}).ok());
  }
  FakeClock clock_;
  VariableStore store_;
};

TEST_F(SyncStoreTest, AveragesReplicasAndDropsTheBackupsPush) {
  Create(SYNC, 3, 2);
  auto first = Push(&store_, GRADIENT, 0, 0, {2, 4});
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(first->global_step(), 0);
  int64_t version = -1;
  EXPECT_EQ(Values(&store_, &version), (std::vector<float>{10, 20}));  // not applied yet
  EXPECT_EQ(version, 0);
  auto second = Push(&store_, GRADIENT, 1, 0, {4, 8});
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second->global_step(), 1);
  EXPECT_EQ(second->chunks_applied(), 1);
  EXPECT_EQ(Values(&store_, &version), (std::vector<float>{7, 14}));  // minus the mean [3, 6]
  EXPECT_EQ(version, 1);
  // The (R+1)th push of step 0 is stale: dropped, counted for worker 2.
  auto late = Push(&store_, GRADIENT, 2, 0, {100, 100});
  ASSERT_TRUE(late.ok());
  EXPECT_EQ(late->chunks_dropped(), 1);
  EXPECT_EQ(late->chunks_applied(), 0);
  EXPECT_EQ(late->global_step(), 1);
  EXPECT_EQ(Values(&store_, &version), (std::vector<float>{7, 14}));
  const StoreSummary summary = store_.Summary();
  EXPECT_EQ(summary.workers.at(2).pushes_dropped, 1);
  EXPECT_EQ(summary.workers.at(0).pushes_dropped, 0);
  EXPECT_EQ(summary.global_step, 1);
}

TEST_F(SyncStoreTest, ABrokenPushThenItsRetryCountOnce) {
  Create(SYNC, 2, 2);
  {
    // Worker 0's stream breaks after the block's first element.
    auto session = store_.StartPush();
    const std::vector<float> first = {2};
    ASSERT_TRUE(session->AddChunk(Header(GRADIENT, 0, 0), first).ok());
  }
  ASSERT_TRUE(Push(&store_, GRADIENT, 0, 0, {2, 4}).ok());  // its retry
  ASSERT_TRUE(Push(&store_, GRADIENT, 1, 0, {4, 8}).ok());
  int64_t version = -1;
  EXPECT_EQ(Values(&store_, &version), (std::vector<float>{7, 14}));  // minus the mean [3, 6]
  EXPECT_EQ(version, 1);
}

TEST_F(SyncStoreTest, ABackupsPushAcrossTheStepsEndCountsInNeither) {
  Create(SYNC, 3, 2);
  auto backup = store_.StartPush();
  ChunkHeader header = Header(GRADIENT, 2, 0);
  ASSERT_TRUE(backup->AddChunk(header, std::vector<float>{100}).ok());  // its first half
  ASSERT_TRUE(Push(&store_, GRADIENT, 0, 0, {2, 4}).ok());
  ASSERT_TRUE(Push(&store_, GRADIENT, 1, 0, {4, 8}).ok());
  int64_t version = -1;
  EXPECT_EQ(Values(&store_, &version), (std::vector<float>{7, 14}));  // minus the mean [3, 6]
  header.set_offset(1);
  ASSERT_TRUE(backup->AddChunk(header, std::vector<float>{100}).ok());  // the rest, late
  auto late = backup->Finish();
  ASSERT_TRUE(late.ok()) << late.status();
  EXPECT_EQ(late->global_step(), 1);
  EXPECT_EQ(store_.Summary().workers.at(2).pushes_dropped, 1);
  ASSERT_TRUE(Push(&store_, GRADIENT, 0, 1, {2, 2}).ok());
  ASSERT_TRUE(Push(&store_, GRADIENT, 1, 1, {0, 0}).ok());
  EXPECT_EQ(Values(&store_, &version), (std::vector<float>{6, 13}));  // minus [1, 1]
  EXPECT_EQ(version, 2);
}

TEST_F(SyncStoreTest, DuplicateAndRestartedWorker) {
  Create(SYNC, 2, 2);
  ASSERT_TRUE(Push(&store_, GRADIENT, 0, 0, {1, 1}).ok());
  // Worker 0 restarts and pushes step 0 again: counted once.
  auto again = Push(&store_, GRADIENT, 0, 0, {50, 50});
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->chunks_dropped(), 1);
  ASSERT_TRUE(Push(&store_, GRADIENT, 1, 0, {3, 3}).ok());
  int64_t version = -1;
  EXPECT_EQ(Values(&store_, &version), (std::vector<float>{8, 18}));
  // A worker that was away rejoins at the current step (its pull carries
  // min_version 0 and returns the newest values; it pushes at their version).
  ASSERT_TRUE(Push(&store_, GRADIENT, 1, version, {2, 2}).ok());
  ASSERT_TRUE(Push(&store_, GRADIENT, 0, version, {0, 0}).ok());
  EXPECT_EQ(Values(&store_, &version), (std::vector<float>{7, 17}));
  EXPECT_EQ(version, 2);
  EXPECT_EQ(store_.Summary().global_step, 2);
}

TEST_F(SyncStoreTest, RestoreSetsTheStepOfVersionAndGlobalStep) {
  Create(SYNC, 2, 1);
  auto restored = Push(&store_, ASSIGN, 0, 40, {1, 1});
  ASSERT_TRUE(restored.ok());
  int64_t version = -1;
  Values(&store_, &version);
  EXPECT_EQ(version, 40);
  EXPECT_EQ(store_.Summary().global_step, 40);
  EXPECT_EQ(Push(&store_, GRADIENT, 1, 39, {1, 1})->chunks_dropped(), 1);
  EXPECT_EQ(Push(&store_, GRADIENT, 1, 40, {1, 1})->global_step(), 41);
}

TEST_F(SyncStoreTest, WaitingPullReturnsWhenTheStepCompletes) {
  Create(SYNC, 2, 2);
  auto session = store_.StartPull(Pull(0, 1));
  ASSERT_TRUE(session.ok());
  EXPECT_FALSE(store_.PullReady(Pull(0, 1), **session));
  absl::Notification done;
  absl::Status result = absl::UnknownError("not called");
  store_.WaitForPull(Pull(0, 1), session->get(), [&](absl::Status s) {
    result = s;
    done.Notify();
  });
  ASSERT_TRUE(Push(&store_, GRADIENT, 0, 0, {1, 1}).ok());
  EXPECT_NE(store_.Summary().waiting_for.find("SYNC step 0: the global step has gradients "
                                              "from workers 0 (1 of 2 needed); none yet from "
                                              "worker 1"),
            std::string::npos)
      << store_.Summary().waiting_for;
  EXPECT_TRUE(store_.Summary().workers.at(1).holding_back);
  ASSERT_TRUE(Push(&store_, GRADIENT, 1, 0, {1, 1}).ok());
  ASSERT_TRUE(done.WaitForNotificationWithTimeout(absl::Seconds(60)));  // hang detector
  EXPECT_TRUE(result.ok()) << result;
  EXPECT_TRUE(store_.PullReady(Pull(0, 1), **session));
}

TEST_F(SyncStoreTest, WaitingPullTimesOutNamingTheMissingWorker) {
  Create(SYNC, 3, 3);
  ASSERT_TRUE(Push(&store_, GRADIENT, 0, 0, {1, 1}).ok());
  ASSERT_TRUE(Push(&store_, GRADIENT, 1, 0, {1, 1}).ok());
  auto session = store_.StartPull(Pull(0, 1));
  ASSERT_TRUE(session.ok());
  absl::Notification done;
  absl::Status result;
  store_.WaitForPull(Pull(0, 1), session->get(), [&](absl::Status s) {
    result = s;
    done.Notify();
  });
  clock_.Advance(absl::Seconds(299));
  store_.StartPull(Pull(1, 0)).IgnoreError();  // worker 1 is alive; worker 2 is silent
  EXPECT_FALSE(done.HasBeenNotified());
  clock_.Advance(absl::Seconds(1));
  ASSERT_TRUE(done.WaitForNotificationWithTimeout(absl::Seconds(60)));  // hang detector
  EXPECT_EQ(result.code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_EQ(result.message(),
            "SYNC step 0 did not complete within 5m (sync_timeout_secs): the global step has "
            "gradients from workers 0, 1 (2 of 3 needed); none yet from worker 2 (step 0, no "
            "push yet, missing: silent for 300.0 s) (without backup workers, total_replicas > "
            "replicas_to_aggregate, every step needs them)");
  EXPECT_TRUE(store_.Summary().workers.at(2).missing);
}

TEST_F(SyncStoreTest, CancelledWaitNeverCallsBack) {
  Create(SYNC, 2, 2);
  auto session = store_.StartPull(Pull(0, 1));
  ASSERT_TRUE(session.ok());
  bool called = false;
  const uint64_t id =
      store_.WaitForPull(Pull(0, 1), session->get(), [&](absl::Status) { called = true; });
  EXPECT_TRUE(store_.CancelPullWait(id));
  EXPECT_FALSE(store_.CancelPullWait(id));
  EXPECT_FALSE(called);
}

TEST_F(SyncStoreTest, StaleGateHoldsThePullOfAWorkerTooFarAhead) {
  Create(STALE, 2, 0);
  ASSERT_TRUE(Push(&store_, GRADIENT, 0, 0, {1, 1}).ok());  // applied at once
  int64_t version = -1;
  EXPECT_EQ(Values(&store_, &version), (std::vector<float>{9, 19}));
  auto session = store_.StartPull(Pull(0, 1));
  ASSERT_TRUE(session.ok());
  EXPECT_FALSE(store_.PullReady(Pull(0, 1), **session));  // s = 0: worker 1 has not pushed
  EXPECT_TRUE(store_.PullReady(Pull(0, 0), **session));   // min_version 0: no gate
  absl::Notification done;
  absl::Status result;
  store_.WaitForPull(Pull(0, 1), session->get(), [&](absl::Status s) {
    result = s;
    done.Notify();
  });
  ASSERT_TRUE(Push(&store_, GRADIENT, 1, 1, {1, 1}).ok());
  ASSERT_TRUE(done.WaitForNotificationWithTimeout(absl::Seconds(60)));  // hang detector
  EXPECT_TRUE(result.ok()) << result;
}

// Large blocks (several value pieces: the step's sum and update run in parts
// on the apply threads) pushed from memory the workers share with the ps
// (summed where it is), by two workers on two threads, each block in its own
// order so that both blocks' steps may complete at once: every step exact,
// and no push held once its step is applied.
TEST_F(SyncStoreTest, LargeBlocksFromSharedMemoryStepExactlyFromTwoThreads) {
  constexpr int64_t kElements = 3 * kValuePieceElements + 7;
  CreateVariablesRequest request = OneBlock(SYNC, 2, 2);
  request.clear_blocks();
  for (const char* name : {"a", "b"}) {
    BlockSpec* block = request.add_blocks();
    block->set_name(name);
    block->set_variable(name);
    block->mutable_shape()->add_dim(kElements);
  }
  ASSERT_TRUE(store_.CreateVariables(request).ok());
  auto header = [](const char* block, ChunkKind kind, int worker, int64_t step) {
    ChunkHeader h = Header(kind, worker, step);
    h.set_block(block);
    h.set_block_elements(kElements);
    return h;
  };
  {
    std::vector<float> initial(kElements);
    for (int64_t i = 0; i < kElements; ++i) initial[i] = static_cast<float>(i % 1000);
    auto session = store_.StartPush();
    ASSERT_TRUE(session->AddChunk(header("a", ASSIGN, 0, 0), initial).ok());
    ASSERT_TRUE(session->AddChunk(header("b", ASSIGN, 0, 0), initial).ok());
    ASSERT_TRUE(session->Finish().ok());
  }
  // Each worker's gradients, as its shared memory: worker w pushes w + 1
  // everywhere, so each step moves every value by -1.5 (learning rate 1).
  std::vector<std::shared_ptr<std::vector<float>>> memory;
  for (int w = 0; w < 2; ++w) {
    memory.push_back(std::make_shared<std::vector<float>>(2 * kElements, w + 1.0f));
  }
  constexpr int kSteps = 6;
  auto worker = [&](int w) {
    for (int64_t step = 0; step < kSteps; ++step) {
      auto session = store_.StartPush();
      for (int i = 0; i < 2; ++i) {
        const int b = (i + w) % 2;  // worker 0: a, b; worker 1: b, a
        const absl::Span<const float> grad =
            absl::MakeConstSpan(*memory[w]).subspan(b * kElements, kElements);
        ASSERT_TRUE(
            session->BeginChunk(header(b == 0 ? "a" : "b", GRADIENT, w, step), kElements * 4).ok());
        ASSERT_TRUE(session->CommitSharedChunk(grad, memory[w]).ok());
      }
      ASSERT_TRUE(session->Finish().ok());
      // Until the step is applied on both blocks (as a worker's next pull).
      absl::Notification applied;
      const PullRequest wait = Pull(w, step + 1);
      auto pull = store_.StartPull(wait);
      ASSERT_TRUE(pull.ok());
      if (!store_.PullReady(wait, **pull)) {
        store_.WaitForPull(wait, pull->get(), [&](absl::Status status) {
          EXPECT_TRUE(status.ok()) << status;
          applied.Notify();
        });
        applied.WaitForNotification();
      }
    }
  };
  std::thread other(worker, 1);
  worker(0);
  other.join();
  EXPECT_EQ(memory[0].use_count(), 1);
  EXPECT_EQ(memory[1].use_count(), 1);
  auto session = store_.StartPull(Pull(0, 0));
  ASSERT_TRUE(session.ok());
  for (const char* block : {"a", "b"}) {
    for (int64_t at = 0; at < kElements;) {
      ChunkHeader h;
      const SharedFloats chunk = (*session)->NextChunk(kValuePieceElements, &h);
      ASSERT_EQ(h.block(), block);
      ASSERT_EQ(h.version(), kSteps);
      for (int64_t i = 0; i < chunk.size(); ++i) {
        ASSERT_EQ(chunk.data()[i], static_cast<float>((at + i) % 1000) - 1.5f * kSteps)
            << block << " " << at + i;
      }
      at += chunk.size();
    }
  }
}

// STALE (and ASYNC, the same policy): a large chunk from shared memory is
// applied at once, in parts on the apply threads, exactly.
TEST_F(SyncStoreTest, ALargeSharedChunkAppliesAtOnceExactlyInStale) {
  constexpr int64_t kElements = 3 * kValuePieceElements + 7;
  CreateVariablesRequest request = OneBlock(STALE, 2, 0);
  request.set_staleness(10);
  request.mutable_blocks(0)->mutable_shape()->set_dim(0, kElements);
  ASSERT_TRUE(store_.CreateVariables(request).ok());
  auto header = [](ChunkKind kind, int64_t step) {
    ChunkHeader h = Header(kind, 0, step);
    h.set_block_elements(kElements);
    return h;
  };
  {
    auto session = store_.StartPush();
    ASSERT_TRUE(session->AddChunk(header(ASSIGN, 0), std::vector<float>(kElements, 1.0f)).ok());
    ASSERT_TRUE(session->Finish().ok());
  }
  auto memory = std::make_shared<std::vector<float>>(kElements);
  for (int64_t i = 0; i < kElements; ++i) (*memory)[i] = static_cast<float>(i % 7);
  for (int64_t step = 0; step < 2; ++step) {
    auto session = store_.StartPush();
    ASSERT_TRUE(session->BeginChunk(header(GRADIENT, step), kElements * 4).ok());
    ASSERT_TRUE(session->CommitSharedChunk(*memory, memory).ok());
    ASSERT_TRUE(session->Finish().ok());
  }
  EXPECT_EQ(memory.use_count(), 1);  // applied, not held
  auto session = store_.StartPull(Pull(0, 0));
  ASSERT_TRUE(session.ok());
  for (int64_t at = 0; at < kElements;) {
    ChunkHeader h;
    const SharedFloats chunk = (*session)->NextChunk(kValuePieceElements, &h);
    for (int64_t i = 0; i < chunk.size(); ++i) {
      ASSERT_EQ(chunk.data()[i], 1.0f - 2.0f * static_cast<float>((at + i) % 7)) << at + i;
    }
    at += chunk.size();
  }
}

}  // namespace
}  // namespace tessera
