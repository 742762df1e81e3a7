#include "worker/worker_status.h"

#include "gtest/gtest.h"

namespace tessera {
namespace {

TEST(WorkerStatusTest, TracksStateStepsRateAndWaits) {
  FakeClock clock;
  StatusResponse identity;
  identity.set_job("worker");
  identity.set_task(1);
  WorkerStatus status(&clock, identity);
  EXPECT_EQ(status.state(), "starting");
  EXPECT_EQ(status.Snapshot().global_step(), -1);
  status.SetWaitingFor("ps 1 at localhost:2223");
  status.SetState("waiting");
  StatusResponse s = status.Snapshot();
  EXPECT_EQ(s.job(), "worker");
  EXPECT_EQ(s.state(), "waiting");
  EXPECT_EQ(s.waiting_for(), "ps 1 at localhost:2223");
  status.SetWaitingFor("");
  status.SetState("training");
  for (int i = 0; i < 4; ++i) {
    clock.Advance(absl::Milliseconds(500));
    status.RecordStep(10 + i, 0.5f - i * 0.1f, 50, absl::Milliseconds(100));
  }
  s = status.Snapshot();
  EXPECT_EQ(s.waiting_for(), "");
  EXPECT_EQ(s.global_step(), 13);
  EXPECT_EQ(s.local_steps(), 4);
  EXPECT_FLOAT_EQ(s.loss(), 0.2f);
  EXPECT_DOUBLE_EQ(s.images_per_sec(), 100.0);  // 200 images in 2 s
  EXPECT_DOUBLE_EQ(s.input_wait_fraction(), 0.2);  // 0.4 s of input wait in 2 s
  EXPECT_DOUBLE_EQ(s.uptime_seconds(), 2.0);
  EXPECT_EQ(s.last_error_age_secs(), 0.0);
  status.SetError("ps 0: DEADLINE_EXCEEDED");
  clock.Advance(absl::Seconds(90));
  EXPECT_EQ(status.Snapshot().last_error(), "ps 0: DEADLINE_EXCEEDED");
  EXPECT_DOUBLE_EQ(status.Snapshot().last_error_age_secs(), 90.0);
}

}  // namespace
}  // namespace tessera
