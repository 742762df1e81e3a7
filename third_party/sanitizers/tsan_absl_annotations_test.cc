// Correct uses of absl::Mutex, absl::Notification and absl::Status from
// several threads.
// Meaningful under --config=tsan: without the annotations of
// tsan_absl_annotations.cc, TSan reports each of these as a data race.

#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "gtest/gtest.h"

namespace {

TEST(TsanAbslAnnotationsTest, MutexLockAndAwait) {
  absl::Mutex mu;
  int counter = 0;  // guarded by mu
  std::vector<std::thread> adders;
  for (int i = 0; i < 4; ++i) {
    adders.emplace_back([&] {
      for (int k = 0; k < 1000; ++k) {
        absl::MutexLock lock(&mu);
        ++counter;
      }
    });
  }
  std::thread waiter([&] {
    absl::MutexLock lock(&mu);
    mu.Await(absl::Condition(+[](int* c) { return *c == 4000; }, &counter));
    counter = -1;
  });
  for (std::thread& t : adders) t.join();
  waiter.join();
  absl::MutexLock lock(&mu);
  EXPECT_EQ(counter, -1);
}

TEST(TsanAbslAnnotationsTest, NotificationPublishesData) {
  int data = 0;
  absl::Notification ready;
  std::thread producer([&] {
    data = 42;
    ready.Notify();
  });
  std::thread poller([&] {
    while (!ready.HasBeenNotified()) std::this_thread::yield();
    EXPECT_EQ(data, 42);
  });
  ready.WaitForNotification();
  EXPECT_EQ(data, 42);
  producer.join();
  poller.join();
}

// The pattern of a callback on another thread: it copies an error into the
// caller's variable and drops its own copy after notifying; whichever copy
// goes last frees the shared representation.
TEST(TsanAbslAnnotationsTest, StatusSharedAcrossThreads) {
  for (int i = 0; i < 20; ++i) {
    absl::Status result;
    absl::Notification done;
    std::thread callback([&] {
      absl::Status status = absl::DeadlineExceededError("waited too long for worker 2");
      result = status;
      done.Notify();
    });
    done.WaitForNotification();
    EXPECT_EQ(result.message(), "waited too long for worker 2");
    result = absl::OkStatus();
    callback.join();
  }
}

}  // namespace
