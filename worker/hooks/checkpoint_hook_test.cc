#include "worker/hooks/checkpoint_hook.h"

#include <cstdlib>
#include <fstream>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/fault_file_system.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "worker/model_fingerprint.h"
#include "worker/ps_group.h"
#include "worker/ps_group_test_util.h"
#include "worker/worker_status.h"

namespace tessera {
namespace {

// The chief's checkpoint hook over the fixture's two in-memory ps (SGD).
class CheckpointHookTest : public TwoPsTest {
 protected:
  void SetUp() override {
    config_.mutable_optimizer()->set_learning_rate(0.5f);
    config_.mutable_optimizer()->mutable_sgd();
    config_.set_max_to_keep(5);
    config_.set_checkpoint_dir(::testing::TempDir() +
                               ::testing::UnitTest::GetInstance()->current_test_info()->name());
    group_ = NewGroup();
    ASSERT_TRUE(group_->CreateAndInitialize(config_, Zeros()).ok());
    fingerprint_ = *ModelFingerprint(variables_, config_.optimizer());
  }

  std::unique_ptr<CheckpointHook> NewHook() {
    auto hook = std::make_unique<CheckpointHook>(
        CheckpointHookOptions{fingerprint_, {}, absl::ZeroDuration(), &clock_, &faults_});
    HookContext context;
    context.config = &config_;
    context.variables = &variables_;
    context.ps = group_.get();
    context.status = &status_;
    context.is_chief = true;
    context.stop_job = [this](const absl::Status& error) { stops_.push_back(error); };
    begun_ = hook->Begin(context);
    return hook;
  }

  // Trains one step (every gradient 1); returns the global step after it.
  int64_t Step() {
    return *group_->PushAll(Filled(1), 0);
  }

  StepInfo After(int64_t global_step) {
    StepInfo info;
    info.global_step = global_step;
    return info;
  }

  std::vector<int64_t> Saved() {
    absl::StatusOr<CheckpointDirectoryListing> listing =
        ListCheckpoints(config_.checkpoint_dir());
    EXPECT_TRUE(listing.ok()) << listing.status();
    std::vector<int64_t> steps;
    if (listing.ok()) {
      for (const CheckpointListing& c : listing->checkpoints) steps.push_back(c.global_step);
    }
    return steps;
  }

  FaultFileSystem faults_{DefaultFileSystem()};
  std::vector<absl::Status> stops_;  // HookContext::stop_job's calls
  std::unique_ptr<PsGroup> group_;
  std::string fingerprint_;
  WorkerStatus status_{&clock_, StatusResponse()};
  absl::Status begun_;
};

TEST_F(CheckpointHookTest, SavesEveryNStepsAndAtTheEnd) {
  config_.set_save_checkpoint_steps(2);
  std::unique_ptr<CheckpointHook> hook = NewHook();
  ASSERT_TRUE(begun_.ok()) << begun_;
  ASSERT_TRUE(hook->AfterStep(After(Step())).ok());  // 1: not due
  ASSERT_TRUE(hook->AfterStep(After(Step())).ok());  // 2: due
  const int64_t last = Step();
  ASSERT_TRUE(hook->AfterStep(After(last)).ok());    // 3: not due
  EndInfo end;
  end.global_step = last;
  ASSERT_TRUE(hook->End(end).ok());  // waits for step 2's write, writes step 3
  EXPECT_EQ(Saved(), (std::vector<int64_t>{2, 3}));

  absl::StatusOr<RestoredCheckpoint> latest =
      RestoreLatest(config_.checkpoint_dir(), fingerprint_);
  ASSERT_TRUE(latest.ok()) << latest.status();
  EXPECT_EQ(latest->contents.metadata.global_step, 3);
  std::vector<Tensor> values = Zeros();
  ASSERT_TRUE(group_->PullAll(&values).ok());
  for (int64_t i = 0; i < 12; ++i) {
    EXPECT_EQ(latest->contents.variables[0].value.span()[i], values[0].span()[i]);
    EXPECT_EQ(values[0].span()[i], -1.5f);  // 3 steps of 0.5 * 1 from 0
  }
  EXPECT_NE(status_.Snapshot().last_checkpoint().find("ckpt-3"), std::string::npos);
}

TEST_F(CheckpointHookTest, SavesEveryNSecondsOfTheInjectedClock) {
  config_.set_save_checkpoint_secs(10);
  std::unique_ptr<CheckpointHook> hook = NewHook();
  ASSERT_TRUE(begun_.ok()) << begun_;
  ASSERT_TRUE(hook->AfterStep(After(Step())).ok());  // at 0 s: not due
  clock_.Advance(absl::Seconds(9));
  ASSERT_TRUE(hook->AfterStep(After(Step())).ok());  // at 9 s: not due
  clock_.Advance(absl::Seconds(2));
  const int64_t last = Step();
  ASSERT_TRUE(hook->AfterStep(After(last)).ok());    // at 11 s: due
  EndInfo end;
  end.global_step = last;
  ASSERT_TRUE(hook->End(end).ok());  // step 3 is saved already
  EXPECT_EQ(Saved(), std::vector<int64_t>{3});
}

TEST_F(CheckpointHookTest, SkipsTheSnapshotWhileAPsIsNotInitialized) {
  config_.set_save_checkpoint_steps(1);
  std::unique_ptr<CheckpointHook> hook = NewHook();
  ASSERT_TRUE(begun_.ok()) << begun_;
  const int64_t step = Step();
  ps1_.Restart();
  EXPECT_TRUE(hook->AfterStep(After(step)).ok());
  EXPECT_TRUE(Saved().empty());
}

TEST_F(CheckpointHookTest, BeginFailsForADirectoryThatCannotBeMade) {
  const std::string file = ::testing::TempDir() + "a_file";
  std::ofstream(file) << "x";
  config_.set_checkpoint_dir(file + "/checkpoints");
  NewHook();
  EXPECT_FALSE(begun_.ok());
  EXPECT_NE(begun_.message().find(file), absl::string_view::npos) << begun_;
}

// A regression: End skipped the final checkpoint when the periodic one at the
// same global step had failed, so a job whose last checkpoint failed ended
// without its final values saved.
TEST_F(CheckpointHookTest, CheckpointThatFailedAtTheLastStepIsWrittenAgainAtTheEnd) {
  config_.set_save_checkpoint_steps(2);
  std::unique_ptr<CheckpointHook> hook = NewHook();
  ASSERT_TRUE(begun_.ok()) << begun_;
  Step();
  const int64_t last = Step();
  faults_.FailSync("ckpt-");
  ASSERT_TRUE(hook->AfterStep(After(last)).ok());  // 2: due, fails in the background
  hook->WaitForBackgroundWrite();
  EXPECT_TRUE(Saved().empty());
  faults_.Clear();
  EndInfo end;
  end.global_step = last;
  ASSERT_TRUE(hook->End(end).ok());
  EXPECT_EQ(Saved(), std::vector<int64_t>{2});
}

// Disk faults (docs/reliability.md): a checkpoint whose write fails is never
// committed, the previous one stays the latest valid one, the error names the
// file, and training goes on (TRAIN_ON) or the job is asked to stop (STOP_JOB).
struct CheckpointFault {
  const char* name;
  std::function<void(FaultFileSystem&)> arm;
  const char* error;  // the start of the file system's error
};
void PrintTo(const CheckpointFault& fault, std::ostream* os) { *os << fault.name; }

class CheckpointHookFaultTest : public CheckpointHookTest,
                                public ::testing::WithParamInterface<CheckpointFault> {
 protected:
  // Saves step 2, then fails to save step 4 under the fault; returns that error.
  absl::Status SaveTwoThenFailFour(CheckpointHook& hook) {
    Step();
    hook.AfterStep(After(Step())).IgnoreError();  // 2: due
    hook.WaitForBackgroundWrite();
    GetParam().arm(faults_);
    Step();
    const absl::Status after = hook.AfterStep(After(Step()));  // 4: due, fails
    EXPECT_TRUE(after.ok()) << "the write runs in the background; the step goes on: " << after;
    hook.WaitForBackgroundWrite();
    EXPECT_EQ(status_.Snapshot().write_errors(), 1);
    EXPECT_EQ(Saved(), std::vector<int64_t>{2});
    absl::StatusOr<RestoredCheckpoint> latest =
        RestoreLatest(config_.checkpoint_dir(), fingerprint_);
    EXPECT_TRUE(latest.ok()) << latest.status();
    if (latest.ok()) EXPECT_EQ(latest->contents.metadata.global_step, 2);
    const std::string error = status_.Snapshot().last_error();
    EXPECT_THAT(error, ::testing::StartsWith(absl::StrCat(
                           "checkpoint at global step 4 not written: ", GetParam().error, " ",
                           config_.checkpoint_dir(), "/ckpt-4.")));
    return absl::UnknownError(error);
  }
};

TEST_P(CheckpointHookFaultTest, TrainOnKeepsThePreviousCheckpointAndTriesTheNext) {
  config_.set_save_checkpoint_steps(2);
  std::unique_ptr<CheckpointHook> hook = NewHook();
  ASSERT_TRUE(begun_.ok()) << begun_;
  SaveTwoThenFailFour(*hook);
  EXPECT_TRUE(stops_.empty());
  faults_.Clear();
  Step();
  const int64_t last = Step();
  ASSERT_TRUE(hook->AfterStep(After(last)).ok());  // 6: due, and the disk works again
  EndInfo end;
  end.global_step = last;
  ASSERT_TRUE(hook->End(end).ok());
  EXPECT_EQ(Saved(), (std::vector<int64_t>{2, 6}));
  EXPECT_EQ(status_.Snapshot().write_errors(), 1);
}

TEST_P(CheckpointHookFaultTest, StopJobAsksTheWorkerToStopWithTheError) {
  config_.set_save_checkpoint_steps(2);
  config_.set_on_checkpoint_error(STOP_JOB);
  std::unique_ptr<CheckpointHook> hook = NewHook();
  ASSERT_TRUE(begun_.ok()) << begun_;
  const absl::Status error = SaveTwoThenFailFour(*hook);
  ASSERT_EQ(stops_.size(), 1u);
  EXPECT_EQ(stops_[0].message(), error.message());
}

TEST_P(CheckpointHookFaultTest, FailedFinalCheckpointIsEndsErrorAndThePreviousStaysLatest) {
  config_.set_save_checkpoint_steps(2);
  std::unique_ptr<CheckpointHook> hook = NewHook();
  ASSERT_TRUE(begun_.ok()) << begun_;
  SaveTwoThenFailFour(*hook);
  GetParam().arm(faults_);  // again: a torn write is a fault of one append
  EndInfo end;
  end.global_step = Step();  // 5: the final checkpoint, under the same fault
  const absl::Status ended = hook->End(end);
  EXPECT_FALSE(ended.ok());
  EXPECT_THAT(std::string(ended.message()),
              ::testing::StartsWith(
                  absl::StrCat("checkpoint at global step 5 not written: ", GetParam().error)));
  EXPECT_EQ(Saved(), std::vector<int64_t>{2});
}

INSTANTIATE_TEST_SUITE_P(
    Faults, CheckpointHookFaultTest,
    ::testing::Values(
        CheckpointFault{
            "FullDisk",
            [](FaultFileSystem& f) { f.FailAppend(1, FaultFileSystem::kNoSpace, "ckpt-"); },
            "cannot write to"},
        CheckpointFault{
            "TornWrite",
            [](FaultFileSystem& f) { f.FailAppend(1, FaultFileSystem::kTorn, "ckpt-"); },
            "cannot write to"},
        CheckpointFault{"FailedFsync", [](FaultFileSystem& f) { f.FailSync("ckpt-"); },
                        "cannot fsync"},
        CheckpointFault{"FailedRename", [](FaultFileSystem& f) { f.FailRename("ckpt-"); },
                        "cannot rename"}),
    [](const ::testing::TestParamInfo<CheckpointFault>& info) {
      return std::string(info.param.name);
    });

}  // namespace
}  // namespace tessera
