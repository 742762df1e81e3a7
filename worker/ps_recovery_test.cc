#include "worker/ps_recovery.h"

#include <cstdlib>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "common/checkpoint/checkpoint_manager.h"
#include "common/clock.h"
#include "common/error_kind.h"
#include "gtest/gtest.h"
#include "worker/ps_group_test_util.h"
#include "worker/model_fingerprint.h"

namespace tessera {
namespace {

// Momentum (one slot) on the fixture's two ps.
class PsRecoveryTest : public TwoPsTest {
 protected:
  void SetUp() override {
    config_.mutable_optimizer()->set_learning_rate(0.5f);
    config_.mutable_optimizer()->mutable_momentum()->set_momentum(0.5f);
    options_.is_chief = true;
    options_.model_fingerprint = *ModelFingerprint(variables_, config_.optimizer());
    options_.slot_names = {"momentum"};
    options_.wait_timeout = absl::Seconds(30);
    dir_ = ::testing::TempDir() +
           ::testing::UnitTest::GetInstance()->current_test_info()->name();
  }

  static std::vector<Tensor> Initial() {
    std::vector<Tensor> values = Zeros();
    for (Tensor& t : values) {
      for (int64_t i = 0; i < t.size(); ++i) t.span()[i] = static_cast<float>(i);
    }
    return values;
  }

  // InitializeOrRestore on `recovery`, counting in *calls the times it asked
  // for the initial values.
  static absl::Status InitializeCounting(PsRecovery* recovery, int* calls) {
    return recovery->InitializeOrRestore([calls] {
      ++*calls;
      return Initial();
    });
  }

  // Trains one step on `group` and saves a checkpoint of it into dir_.
  CheckpointContents TrainOneStepAndSave(PsGroup* group) {
    EXPECT_TRUE(group->PushAll(Filled(1), 0).ok());
    absl::StatusOr<CheckpointContents> contents = group->Snapshot(options_.slot_names);
    EXPECT_TRUE(contents.ok()) << contents.status();
    contents->metadata.model_fingerprint = options_.model_fingerprint;
    absl::StatusOr<std::unique_ptr<CheckpointManager>> manager =
        CheckpointManager::Create(dir_, CheckpointManagerOptions(), &clock_);
    EXPECT_TRUE(manager.ok()) << manager.status();
    EXPECT_TRUE((*manager)->Save(*contents).ok());
    return *contents;
  }

  // Every ps answers a pull with global step `step` and the variables of
  // `saved`.
  static void ExpectHolds(PsGroup* group, int64_t step, const CheckpointContents& saved) {
    std::vector<Tensor> values = Zeros();
    absl::StatusOr<int64_t> pulled = group->PullAll(&values);
    ASSERT_TRUE(pulled.ok()) << pulled.status();
    EXPECT_EQ(*pulled, step);
    EXPECT_EQ(Flat(values[0]), Flat(saved.variables[0].value));
    EXPECT_EQ(Flat(values[1]), Flat(saved.variables[1].value));
  }

  // ps 1's blocks in `now` (a snapshot of every ps) are those of `saved`,
  // values and momentum slots.
  void ExpectPs1Holds(const CheckpointContents& now, const CheckpointContents& saved) {
    for (int i : plan_.BlocksOn(1)) {
      const PlacedBlock& b = plan_.blocks[i];
      const int v = b.variable == "w" ? 0 : 1;
      const int64_t begin = b.row_offset * (v == 0 ? 3 : 1);
      const int64_t n = NumElements(b.shape);
      for (int64_t e = begin; e < begin + n; ++e) {
        EXPECT_EQ(now.variables[v].value.span()[e], saved.variables[v].value.span()[e])
            << b.name << " " << e;
        EXPECT_EQ(now.variables[v].slots.at("momentum").span()[e],
                  saved.variables[v].slots.at("momentum").span()[e]);
      }
    }
  }

  PsRecoveryOptions options_;
  WorkerStatus status_{&clock_, StatusResponse()};
  std::string dir_;
};

TEST_F(PsRecoveryTest, ChiefInitializesFreshPsWithTheInitialValues) {
  std::unique_ptr<PsGroup> group = NewGroup(0, 2);
  PsRecovery recovery(group.get(), &config_, &status_, options_);
  int calls = 0;
  ASSERT_TRUE(InitializeCounting(&recovery, &calls).ok());
  EXPECT_EQ(calls, 1);
  std::vector<Tensor> values = Zeros();
  ASSERT_TRUE(group->PullAll(&values).ok());
  EXPECT_EQ(Flat(values[0]), Flat(Initial()[0]));

  // A restarted chief keeps the live state of ps that hold it.
  ASSERT_TRUE(InitializeCounting(&recovery, &calls).ok());
  EXPECT_EQ(calls, 1);
}

TEST_F(PsRecoveryTest, ChiefRestoresFreshPsFromTheLatestCheckpoint) {
  config_.set_checkpoint_dir(dir_);
  CheckpointContents saved;
  {
    std::unique_ptr<PsGroup> first = NewGroup(0, 2);
    ASSERT_TRUE(first->CreateAndInitialize(config_, Initial()).ok());
    saved = TrainOneStepAndSave(first.get());
  }
  ps0_.Restart();
  ps1_.Restart();
  std::unique_ptr<PsGroup> group = NewGroup(0, 2);
  PsRecovery recovery(group.get(), &config_, &status_, options_);
  int calls = 0;
  ASSERT_TRUE(InitializeCounting(&recovery, &calls).ok());
  EXPECT_EQ(calls, 0);  // the checkpoint, not the initial values
  ExpectHolds(group.get(), 1, saved);
}

TEST_F(PsRecoveryTest, ChiefRestoresARestartedPsFromTheLatestCheckpoint) {
  config_.set_checkpoint_dir(dir_);
  std::unique_ptr<PsGroup> group = NewGroup(0, 2);
  PsRecovery recovery(group.get(), &config_, &status_, options_);
  ASSERT_TRUE(recovery.InitializeOrRestore(Initial).ok());
  const CheckpointContents saved = TrainOneStepAndSave(group.get());
  std::vector<Tensor> grads = Zeros();
  for (float& x : grads[0].span()) x = 4;
  ASSERT_TRUE(group->PushAll(grads, 1).ok());  // step 2, after the checkpoint

  ps1_.Restart();
  std::vector<Tensor> values = Zeros();
  absl::Status cause = group->PullAll(&values).status();
  ASSERT_TRUE(IsNotInitializedError(cause)) << cause;
  ASSERT_TRUE(recovery.Recover(cause).ok());

  ASSERT_TRUE(group->PullAll(&values).ok());
  absl::StatusOr<CheckpointContents> now = group->Snapshot(options_.slot_names);
  ASSERT_TRUE(now.ok()) << now.status();
  // ps 1's blocks are the checkpoint's again (values and slots); ps 0 kept
  // its live state, global step included.
  EXPECT_EQ(now->metadata.global_step, 2);
  ExpectPs1Holds(*now, saved);
  EXPECT_EQ(status_.Snapshot().waiting_for(), "");
}

// Found by test/chaos.py: a ps killed while the (restarted) chief started,
// after the chief found every ps initialized and before its first pull. The
// chief restores that ps instead of waiting for "the chief", itself.
TEST_F(PsRecoveryTest, ChiefStartingRestoresAPsThatRestartsBeforeItsFirstPull) {
  config_.set_checkpoint_dir(dir_);
  CheckpointContents saved;
  {
    std::unique_ptr<PsGroup> first = NewGroup(0, 2);
    ASSERT_TRUE(first->CreateAndInitialize(config_, Initial()).ok());
    saved = TrainOneStepAndSave(first.get());
  }
  // The restarted chief: CreateVariables finds both ps initialized (live
  // state kept); ps 1 restarts just before the next call, the first pull.
  std::unique_ptr<PsGroup> group = NewGroup(0, 2);
  PsRecovery recovery(group.get(), &config_, &status_, options_);
  const uint64_t before = ps1_.incarnation();
  ps1_.RestartBeforeCall(2);
  int calls = 0;
  absl::Status started = recovery.InitializeUntilReady(
      [&calls] {
        ++calls;
        return Initial();
      },
      clock_.Now() + absl::Seconds(30));
  ASSERT_TRUE(started.ok()) << started;
  EXPECT_NE(ps1_.incarnation(), before);  // it did restart
  EXPECT_EQ(calls, 0);                    // restored from the checkpoint, not initialized
  ExpectHolds(group.get(), 1, saved);
}

TEST_F(PsRecoveryTest, ChiefStartingInitializesAgainAPsThatRestartsDuringInitialization) {
  std::unique_ptr<PsGroup> group = NewGroup(0, 2);
  PsRecovery recovery(group.get(), &config_, &status_, options_);
  int calls = 0;
  absl::Status started = recovery.InitializeUntilReady(
      [&] {
        if (++calls == 1) ps0_.Restart();  // after CreateVariables, before the assign
        return Initial();
      },
      clock_.Now() + absl::Seconds(30));
  ASSERT_TRUE(started.ok()) << started;
  EXPECT_EQ(calls, 2);
  std::vector<Tensor> values = Zeros();
  ASSERT_TRUE(group->PullAll(&values).ok());
  EXPECT_EQ(Flat(values[0]), Flat(Initial()[0]));
  EXPECT_EQ(Flat(values[1]), Flat(Initial()[1]));
}

TEST_F(PsRecoveryTest, ChiefStartingGivesUpAtTheDeadline) {
  std::unique_ptr<PsGroup> group = NewGroup(0, 2);
  PsRecovery recovery(group.get(), &config_, &status_, options_);
  absl::Status started = recovery.InitializeUntilReady(
      [&] {
        ps0_.Restart();  // every time: it never holds its variables
        return Initial();
      },
      clock_.Now());  // no time to try again
  EXPECT_EQ(started.code(), absl::StatusCode::kDeadlineExceeded) << started;
  EXPECT_NE(started.message().find("a ps kept losing its variables"), absl::string_view::npos)
      << started;
}

TEST_F(PsRecoveryTest, ChiefCannotRecoverWithoutACheckpointDir) {
  std::unique_ptr<PsGroup> group = NewGroup(0, 2);
  PsRecovery recovery(group.get(), &config_, &status_, options_);
  ASSERT_TRUE(recovery.InitializeOrRestore(Initial).ok());
  ps0_.Restart();
  std::vector<Tensor> values = Zeros();
  absl::Status cause = group->PullAll(&values).status();
  ASSERT_TRUE(IsNotInitializedError(cause)) << cause;
  absl::Status recovered = recovery.Recover(cause);
  EXPECT_EQ(recovered.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(recovered.message().find("ps 0 restarted and lost the variables"),
            absl::string_view::npos)
      << recovered;
  EXPECT_NE(recovered.message().find("set checkpoint_dir"), absl::string_view::npos);
}

TEST_F(PsRecoveryTest, OtherWorkerWaitsUntilTheChiefRestored) {
  config_.set_checkpoint_dir(dir_);
  std::unique_ptr<PsGroup> chief_group = NewGroup(0, 2);
  PsRecovery chief(chief_group.get(), &config_, &status_, options_);
  ASSERT_TRUE(chief.InitializeOrRestore(Initial).ok());
  TrainOneStepAndSave(chief_group.get());

  WorkerStatus other_status(&clock_, StatusResponse());
  std::unique_ptr<PsGroup> group = NewGroup(1, 2, &other_status);
  PsRecoveryOptions other_options = options_;
  other_options.is_chief = false;
  PsRecovery other(group.get(), &config_, &other_status, other_options);
  ps1_.Restart();
  std::vector<Tensor> values = Zeros();
  absl::Status cause = group->PullAll(&values).status();
  ASSERT_TRUE(IsNotInitializedError(cause)) << cause;
  absl::Status recovered = absl::UnknownError("not run");
  std::thread waiter([&] { recovered = other.Recover(cause); });
  clock_.BlockUntilSleepers(1);
  EXPECT_EQ(other_status.Snapshot().state(), "waiting");
  EXPECT_NE(other_status.Snapshot().waiting_for().find("the chief to restore a restarted ps"),
            std::string::npos);
  ASSERT_TRUE(chief.Recover(chief_group->PullAll(&values).status()).ok());
  clock_.Advance(absl::Seconds(1));
  waiter.join();
  EXPECT_TRUE(recovered.ok()) << recovered;
  EXPECT_EQ(other_status.Snapshot().state(), "training");
}

// Found by test/chaos.py (SYNC, 10 minutes of kills): ps 1 restored alone went
// back to the checkpoint's step while ps 0 stayed at the live one, so every
// push was stale on ps 0 and the global step stood still until ps 1's blocks
// had caught up (109 steps, 122 s). Restored blocks now continue at the live
// ps's step, whichever ps restarted.
class SyncPsRecoveryTest : public PsRecoveryTest {
 protected:
  void SetUp() override {
    PsRecoveryTest::SetUp();
    config_.set_update_mode(SYNC);
    config_.set_replicas_to_aggregate(1);
    config_.set_checkpoint_dir(dir_);
  }

  // Initializes, trains step 0 and checkpoints it (global step 1), then trains
  // steps 1 and 2 (global step 3), then restarts `restarted` and recovers.
  void TrainRestartAndRecover(PsGroup* group, PsRecovery* recovery, InMemoryPs* restarted) {
    ASSERT_TRUE(recovery->InitializeOrRestore(Initial).ok());
    saved_ = TrainOneStepAndSave(group);
    ASSERT_EQ(saved_.metadata.global_step, 1);
    for (int64_t step : {1, 2}) {
      absl::StatusOr<int64_t> pushed = group->PushAll(Filled(1), step);
      ASSERT_TRUE(pushed.ok()) << pushed.status();
      ASSERT_EQ(group->last_chunks_dropped(), 0);
    }
    restarted->Restart();
    std::vector<Tensor> values = Zeros();
    absl::Status cause = group->PullAll(&values).status();
    ASSERT_TRUE(IsNotInitializedError(cause)) << cause;
    ASSERT_TRUE(recovery->Recover(cause).ok());
  }

  // Every block is at step 3 with the global step, and the next step is
  // aggregated on both ps (nothing dropped as stale).
  void ExpectTrainsOnAtStep3(PsGroup* group) {
    std::vector<Tensor> values = Zeros();
    absl::StatusOr<PsGroup::Pulled> pulled = group->PullAll(&values, 0);
    ASSERT_TRUE(pulled.ok()) << pulled.status();
    EXPECT_EQ(pulled->global_step, 3);
    EXPECT_EQ(pulled->min_version, 3);
    absl::StatusOr<int64_t> pushed = group->PushAll(Filled(1), pulled->min_version);
    ASSERT_TRUE(pushed.ok()) << pushed.status();
    EXPECT_EQ(*pushed, 4);
    EXPECT_EQ(group->last_chunks_dropped(), 0);
    EXPECT_EQ(*group->PsStep(1), 4);
  }

  CheckpointContents saved_;
};

TEST_F(SyncPsRecoveryTest, PsRestoredAloneContinuesAtTheLiveStep) {
  std::unique_ptr<PsGroup> group = NewGroup(0, 1);
  PsRecovery recovery(group.get(), &config_, &status_, options_);
  TrainRestartAndRecover(group.get(), &recovery, &ps1_);
  // ps 1 holds the checkpoint's values, at ps 0's step.
  absl::StatusOr<CheckpointContents> now = group->Snapshot(options_.slot_names);
  ASSERT_TRUE(now.ok()) << now.status();
  ExpectPs1Holds(*now, saved_);
  ExpectTrainsOnAtStep3(group.get());
}

TEST_F(SyncPsRecoveryTest, Ps0RestoredAloneKeepsTheGlobalStepOfTheLivePs) {
  std::unique_ptr<PsGroup> group = NewGroup(0, 1);
  PsRecovery recovery(group.get(), &config_, &status_, options_);
  TrainRestartAndRecover(group.get(), &recovery, &ps0_);
  ExpectTrainsOnAtStep3(group.get());
}

TEST_F(SyncPsRecoveryTest, EveryPsRestoredGoesBackToTheCheckpointsStep) {
  std::unique_ptr<PsGroup> group = NewGroup(0, 1);
  PsRecovery recovery(group.get(), &config_, &status_, options_);
  ASSERT_TRUE(recovery.InitializeOrRestore(Initial).ok());
  saved_ = TrainOneStepAndSave(group.get());
  ASSERT_TRUE(group->PushAll(Filled(1), 1).ok());
  ps0_.Restart();
  ps1_.Restart();
  std::vector<Tensor> values = Zeros();
  absl::Status cause = group->PullAll(&values).status();
  ASSERT_TRUE(IsNotInitializedError(cause)) << cause;
  ASSERT_TRUE(recovery.Recover(cause).ok());
  ExpectHolds(group.get(), 1, saved_);
  absl::StatusOr<PsGroup::Pulled> pulled = group->PullAll(&values, 0);
  ASSERT_TRUE(pulled.ok()) << pulled.status();
  EXPECT_EQ(pulled->min_version, 1);
}

}  // namespace
}  // namespace tessera
