#include "common/parallel_runner.h"

#include <atomic>
#include <set>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"

namespace tessera {
namespace {

TEST(ParallelRunnerTest, RunsEveryIndexOnceOnDistinctThreadsAndWaits) {
  ParallelRunner runner(3);
  for (int round = 0; round < 200; ++round) {
    absl::Mutex mu;
    std::multiset<int> seen;
    std::set<std::thread::id> threads;
    const int n = 1 + round % 3;
    runner.Run(n, [&](int i) {
      absl::MutexLock lock(&mu);
      seen.insert(i);
      threads.insert(std::this_thread::get_id());
    });
    ASSERT_EQ(seen.size(), static_cast<size_t>(n)) << "round " << round;
    for (int i = 0; i < n; ++i) EXPECT_EQ(seen.count(i), 1u);
    EXPECT_EQ(threads.size(), static_cast<size_t>(n));
  }
}

TEST(ParallelRunnerTest, CallsRunInParallel) {
  // Index 0 waits for index 1: this only finishes if they run at once.
  ParallelRunner runner(2);
  std::atomic<bool> one_ran{false};
  runner.Run(2, [&](int i) {
    if (i == 1) one_ran = true;
    while (i == 0 && !one_ran) std::this_thread::yield();
  });
  EXPECT_TRUE(one_ran);
}

// Runs that follow each other at once (the helpers still spinning) and after
// pauses longer than the spin (the helpers asleep on the mutex) both run
// every index, and parts that finish long after index 0 are waited for.
TEST(ParallelRunnerTest, WakesSpinningAndSleepingThreads) {
  ParallelRunner runner(3);
  const absl::Duration pauses[] = {absl::ZeroDuration(), absl::Microseconds(10),
                                   absl::Nanoseconds(3 * ParallelRunner::kSpinNanos),
                                   absl::Milliseconds(5)};
  for (int round = 0; round < 40; ++round) {
    absl::SleepFor(pauses[round % 4]);
    std::atomic<int> sum{0};
    runner.Run(3, [&](int i) {
      // A helper slower than the spin: Run() must block until it is done.
      if (i == 2 && round % 5 == 0) absl::SleepFor(absl::Milliseconds(1));
      sum += 1 << i;
    });
    ASSERT_EQ(sum.load(), 7) << "round " << round;
  }
}

TEST(ParallelRunnerTest, DestroysWhileThreadsSleepOrSpin) {
  for (const absl::Duration pause : {absl::ZeroDuration(), absl::Milliseconds(2)}) {
    ParallelRunner runner(2);
    int calls = 0;
    runner.Run(1, [&](int) { ++calls; });
    absl::SleepFor(pause);
    EXPECT_EQ(calls, 1);
  }  // the destructor joins a spinning and a sleeping helper
}

TEST(ParallelRunnerTest, WidthOneAndOversizedRequests) {
  ParallelRunner runner(1);
  int calls = 0;
  runner.Run(5, [&](int i) { calls += 1 + i; });
  EXPECT_EQ(calls, 1);  // only index 0: n is capped at width
  runner.Run(0, [&](int) { ++calls; });
  EXPECT_EQ(calls, 1);
}

// Every element of every array lands in exactly one part, in order, and
// arrays of size 0 are never called.
TEST(ForEachRangeOfPartTest, PartsCoverEveryElementOnce) {
  const std::vector<int64_t> sizes = {7, 0, 1, 13, 2};
  for (int parts : {1, 2, 3, 30}) {
    SCOPED_TRACE(parts);
    std::vector<std::vector<int>> seen(sizes.size());
    for (size_t i = 0; i < sizes.size(); ++i) seen[i].assign(sizes[i], 0);
    int64_t next = 0;  // parts come in order and touch consecutive elements
    for (int part = 0; part < parts; ++part) {
      ForEachRangeOfPart(
          sizes.size(), [&](size_t i) { return sizes[i]; }, part, parts,
          [&](size_t i, int64_t lo, int64_t hi) {
            ASSERT_LT(lo, hi);
            ASSERT_LE(hi, sizes[i]);
            int64_t start = 0;
            for (size_t j = 0; j < i; ++j) start += sizes[j];
            EXPECT_EQ(start + lo, next);
            next = start + hi;
            for (int64_t e = lo; e < hi; ++e) ++seen[i][e];
          });
    }
    EXPECT_EQ(next, 23);
    for (size_t i = 0; i < sizes.size(); ++i) {
      for (int count : seen[i]) EXPECT_EQ(count, 1) << "array " << i;
    }
  }
}

}  // namespace
}  // namespace tessera
