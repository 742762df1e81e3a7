#include "common/refusal_log.h"

#include <optional>

#include "common/clock.h"
#include "gtest/gtest.h"

namespace tessera {
namespace {

TEST(RefusalLogTest, LogsTheFirstThenOncePerIntervalWithTheCountSuppressed) {
  FakeClock clock;
  RefusalLog log(&clock, absl::Seconds(10));
  EXPECT_EQ(log.Record("a"), "a");
  EXPECT_EQ(log.Record("b"), std::nullopt);
  clock.Advance(absl::Seconds(9));
  EXPECT_EQ(log.Record("c"), std::nullopt);
  clock.Advance(absl::Seconds(1));
  EXPECT_EQ(log.Record("d"), "d (and 2 more refused call(s) not logged in the last 10s)");
  clock.Advance(absl::Seconds(10));
  EXPECT_EQ(log.Record("e"), "e");
}

}  // namespace
}  // namespace tessera
