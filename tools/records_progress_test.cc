#include "tools/records_progress.h"

#include <sstream>

#include "gtest/gtest.h"

namespace tessera {
namespace {

TEST(RecordsProgressTest, LineShowsCountsRateAndEta) {
  FakeClock clock;
  RecordsProgress progress(nullptr, false, &clock, 100, 4);
  EXPECT_EQ(progress.Line(), "images 0/100  shards 0/4  0.0 images/s  ETA ?");
  for (int i = 0; i < 20; ++i) progress.ImageDone();
  progress.ShardDone(0);
  progress.ShardDone(30);  // a shard found complete: its images need no work
  clock.Advance(absl::Seconds(10));
  EXPECT_EQ(progress.Line(), "images 50/100  shards 2/4  2.0 images/s  ETA 0:00:25");
}

TEST(RecordsProgressTest, TerminalRewritesOneLineEachSecond) {
  FakeClock clock;
  std::ostringstream out;
  RecordsProgress progress(&out, true, &clock, 10, 1);
  progress.ImageDone();
  EXPECT_EQ(out.str(), "");
  clock.Advance(absl::Seconds(1));
  progress.ImageDone();
  EXPECT_EQ(out.str(), "\rimages 2/10  shards 0/1  2.0 images/s  ETA 0:00:04   ");
  progress.Finish();
  EXPECT_EQ(out.str().back(), '\n');
}

TEST(RecordsProgressTest, LogGetsPlainLinesEvery30Seconds) {
  FakeClock clock;
  std::ostringstream out;
  RecordsProgress progress(&out, false, &clock, 10, 1);
  clock.Advance(absl::Seconds(29));
  progress.ImageDone();
  EXPECT_EQ(out.str(), "");
  clock.Advance(absl::Seconds(1));
  progress.ImageDone();
  EXPECT_EQ(out.str().find('\r'), std::string::npos);
  EXPECT_EQ(out.str(), "images 2/10  shards 0/1  0.1 images/s  ETA 0:02:00\n");
}

}  // namespace
}  // namespace tessera
