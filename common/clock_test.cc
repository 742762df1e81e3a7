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

// A sleeper that Advance() woke no longer counts, even before it runs: a test
// that advances in steps (BlockUntilSleepers, Advance, repeat) used to take
// it for asleep and advance twice for one sleep, or wait forever once it had
// left (worker/ps_group_test's deadline test hung under ThreadSanitizer).
TEST(FakeClockTest, WokenSleeperIsNoLongerBlocked) {
  FakeClock clock;
  absl::Notification gate, slept_twice;
  std::thread sleeper([&] {
    clock.SleepFor(absl::Seconds(1));
    gate.WaitForNotification();
    clock.SleepFor(absl::Seconds(1));
    slept_twice.Notify();
  });
  clock.BlockUntilSleepers(1);
  EXPECT_EQ(clock.blocked_sleepers(), 1);
  clock.Advance(absl::Seconds(1));
  EXPECT_EQ(clock.blocked_sleepers(), 0);  // woken, whether or not it has run yet
  gate.Notify();
  clock.BlockUntilSleepers(1);  // its second sleep, whose deadline is 1 s ahead
  clock.Advance(absl::Seconds(1));
  slept_twice.WaitForNotification();
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
