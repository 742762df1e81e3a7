#include "ps/ps_metrics.h"

#include "gtest/gtest.h"

namespace tessera {
namespace {

TEST(PsMetricsTest, RatesAndTheAgeOfTheLastError) {
  FakeClock clock;
  PsMetrics metrics(&clock);
  PsMetricsSnapshot s = metrics.TakeSnapshot();
  EXPECT_EQ(s.last_error, "");
  EXPECT_EQ(s.last_error_age_secs, 0.0);
  metrics.AddPulledBytes(4000);
  metrics.RecordError("Pull from peer: NOT_FOUND: block 'x'");
  clock.Advance(absl::Seconds(2));
  s = metrics.TakeSnapshot();
  EXPECT_DOUBLE_EQ(s.pull_bytes_per_sec, 2000.0);
  EXPECT_EQ(s.last_error, "Pull from peer: NOT_FOUND: block 'x'");
  EXPECT_DOUBLE_EQ(s.last_error_age_secs, 2.0);
  clock.Advance(absl::Seconds(60));
  EXPECT_DOUBLE_EQ(metrics.TakeSnapshot().last_error_age_secs, 62.0);
}

}  // namespace
}  // namespace tessera
