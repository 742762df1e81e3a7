#include "common/clock.h"

#include <thread>

#include "absl/synchronization/notification.h"
#include "gtest/gtest.h"

namespace tessera {
namespace {

TEST(FakeClockTest, MovesOnlyWhenAdvanced) {
  FakeClock clock;
  absl::Time t0 = clock.Now();
  EXPECT_EQ(clock.Now(), t0);
  clock.Advance(absl::Seconds(5));
  EXPECT_EQ(clock.Now() - t0, absl::Seconds(5));
}

TEST(FakeClockTest, SleepForReturnsAfterAdvance) {
  FakeClock clock;
  absl::Notification done;
  std::thread sleeper([&] {
    clock.SleepFor(absl::Seconds(10));
    done.Notify();
  });
  clock.BlockUntilSleepers(1);
  clock.Advance(absl::Seconds(9));
  EXPECT_FALSE(done.WaitForNotificationWithTimeout(absl::Milliseconds(50)));
  clock.Advance(absl::Seconds(1));
  EXPECT_TRUE(done.WaitForNotificationWithTimeout(absl::Seconds(10)));
  sleeper.join();
}

TEST(FakeClockTest, AwaitWithDeadlineTimesOutOnAdvanceAndSucceedsOnCondition) {
  FakeClock clock;
  absl::Mutex mu;
  bool flag = false;
  bool result = true;
  const absl::Time deadline = clock.Now() + absl::Seconds(3);
  absl::Notification done;
  std::thread waiter([&] {
    absl::MutexLock lock(&mu);
    result = clock.AwaitWithDeadline(&mu, absl::Condition(&flag), deadline);
    done.Notify();
  });
  EXPECT_FALSE(done.WaitForNotificationWithTimeout(absl::Milliseconds(50)));
  clock.Advance(absl::Seconds(3));
  EXPECT_TRUE(done.WaitForNotificationWithTimeout(absl::Seconds(10)));
  waiter.join();
  EXPECT_FALSE(result);

  absl::Notification done2;
  std::thread waiter2([&] {
    absl::MutexLock lock(&mu);
    result = clock.AwaitWithDeadline(&mu, absl::Condition(&flag), deadline + absl::Hours(1));
    done2.Notify();
  });
  {
    absl::MutexLock lock(&mu);
    flag = true;
  }
  EXPECT_TRUE(done2.WaitForNotificationWithTimeout(absl::Seconds(10)));
  waiter2.join();
  EXPECT_TRUE(result);
}

TEST(RealClockTest, AdvancesWithWallTime) {
  absl::Time t0 = RealClock::Get()->Now();
  RealClock::Get()->SleepFor(absl::Milliseconds(2));
  EXPECT_GE(RealClock::Get()->Now() - t0, absl::Milliseconds(2));
}

}  // namespace
}  // namespace tessera
