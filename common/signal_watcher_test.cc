#include "common/signal_watcher.h"

#include <csignal>

#include "absl/synchronization/notification.h"
#include "gtest/gtest.h"

namespace tessera {
namespace {

TEST(SignalWatcherTest, RunsTheReactionOnceWithTheSignal) {
  absl::Notification reacted;
  int seen = 0;
  int calls = 0;
  SignalWatcher watcher(
      [&](int signal) {
        seen = signal;
        ++calls;
        reacted.Notify();
      },
      absl::Milliseconds(5));
  ASSERT_EQ(std::raise(SIGTERM), 0);  // recorded by the handler, not fatal
  ASSERT_TRUE(reacted.WaitForNotificationWithTimeout(absl::Seconds(30)));
  ASSERT_EQ(std::raise(SIGINT), 0);
  watcher.Stop();
  EXPECT_EQ(seen, SIGTERM);
  EXPECT_EQ(calls, 1);
}

TEST(SignalWatcherTest, StopWithoutASignalNeverReacts) {
  int calls = 0;
  {
    SignalWatcher watcher([&](int) { ++calls; }, absl::Milliseconds(5));
    absl::SleepFor(absl::Milliseconds(20));
    watcher.Stop();
    watcher.Stop();
  }
  EXPECT_EQ(calls, 0);
}

TEST(SignalWatcherTest, StopWaitsForARunningReaction) {
  absl::Notification started;
  bool finished = false;
  SignalWatcher watcher(
      [&](int) {
        started.Notify();
        absl::SleepFor(absl::Milliseconds(50));
        finished = true;
      },
      absl::Milliseconds(5));
  ASSERT_EQ(std::raise(SIGINT), 0);
  ASSERT_TRUE(started.WaitForNotificationWithTimeout(absl::Seconds(30)));
  watcher.Stop();
  EXPECT_TRUE(finished);
}

}  // namespace
}  // namespace tessera
