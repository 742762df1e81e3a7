#include "worker/hooks/write_errors.h"

#include <vector>

#include "common/clock.h"
#include "gtest/gtest.h"
#include "worker/worker_status.h"

namespace tessera {
namespace {

class WriteErrorsTest : public testing::Test {
 protected:
  HookContext Context() {
    HookContext context;
    context.status = &status_;
    context.stop_job = [this](const absl::Status& error) { stops_.push_back(error); };
    return context;
  }

  FakeClock clock_;
  WorkerStatus status_{&clock_, StatusResponse()};
  std::vector<absl::Status> stops_;
};

TEST_F(WriteErrorsTest, TrainOnCountsEveryFailureAndNeverStops) {
  WriteErrors errors("summary", TRAIN_ON, Context(), &clock_);
  errors.Failed(absl::ResourceExhaustedError("cannot write to /s/ev: No space left on device"));
  errors.Failed(absl::ResourceExhaustedError("cannot write to /s/ev.1: No space left on device"));
  EXPECT_EQ(errors.failures_in_a_row(), 2);
  EXPECT_TRUE(stops_.empty());
  StatusResponse snapshot = status_.Snapshot();
  EXPECT_EQ(snapshot.write_errors(), 2);
  EXPECT_EQ(snapshot.last_error(), "cannot write to /s/ev.1: No space left on device");
  errors.Succeeded();
  EXPECT_EQ(errors.failures_in_a_row(), 0);
  EXPECT_EQ(status_.Snapshot().write_errors(), 2) << "a count since the start, not in a row";
}

TEST_F(WriteErrorsTest, StopJobStopsOnceWithTheFirstError) {
  WriteErrors errors("checkpoint", STOP_JOB, Context(), &clock_);
  const absl::Status first = absl::UnknownError("cannot fsync /c/ckpt-20.data.tmp.7: EIO");
  errors.Failed(first);
  errors.Failed(absl::UnknownError("another"));
  ASSERT_EQ(stops_.size(), 1u);
  EXPECT_EQ(stops_[0], first);
  EXPECT_EQ(status_.Snapshot().write_errors(), 2);
}

TEST_F(WriteErrorsTest, WorksWithoutStatusOrStopJob) {
  WriteErrors errors("checkpoint", STOP_JOB, HookContext(), &clock_);
  errors.Failed(absl::UnknownError("x"));
  EXPECT_EQ(errors.failures_in_a_row(), 1);
}

}  // namespace
}  // namespace tessera
