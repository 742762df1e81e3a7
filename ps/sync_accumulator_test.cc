#include "ps/sync_accumulator.h"

#include <vector>

#include "gtest/gtest.h"

namespace tessera {
namespace {

using Verdict = SyncAccumulator::Verdict;

std::vector<float> Mean(SyncAccumulator* acc) {
  absl::Span<const float> average = acc->Average();
  return std::vector<float>(average.begin(), average.end());
}

TEST(SyncAccumulatorTest, AveragesExactlyAfterReplicasToAggregate) {
  SyncAccumulator acc(3, 2, 3);
  ASSERT_EQ(acc.Begin(0, 5, 5), Verdict::kAccumulate);
  const int64_t first = acc.Start(0);
  acc.Add(first, 0, std::vector<float>{1, 2});
  acc.Add(first, 2, std::vector<float>{3});
  EXPECT_FALSE(acc.Complete(first));
  ASSERT_EQ(acc.Begin(2, 5, 5), Verdict::kAccumulate);
  const int64_t second = acc.Start(2);
  acc.Add(second, 0, std::vector<float>{3, 4, 5});
  EXPECT_TRUE(acc.Complete(second));
  EXPECT_EQ(acc.contributors(), (std::set<int>{0, 2}));
  EXPECT_EQ(Mean(&acc), (std::vector<float>{2, 3, 4}));
  acc.Reset();
  EXPECT_TRUE(acc.contributors().empty());
  // The next step reuses the buffers: every element is written again.
  ASSERT_EQ(acc.Begin(0, 6, 6), Verdict::kAccumulate);
  const int64_t third = acc.Start(0);
  acc.Add(third, 0, std::vector<float>{2, 2, 2});
  acc.Complete(third);
  ASSERT_EQ(acc.Begin(1, 6, 6), Verdict::kAccumulate);
  const int64_t fourth = acc.Start(1);
  acc.Add(fourth, 0, std::vector<float>{0, 0, 0});
  ASSERT_TRUE(acc.Complete(fourth));
  EXPECT_EQ(Mean(&acc), (std::vector<float>{1, 1, 1}));
}

TEST(SyncAccumulatorTest, StaleDuplicateAndAheadAreDropped) {
  SyncAccumulator acc(1, 3, 3);
  EXPECT_EQ(acc.Begin(1, 3, 4), Verdict::kStale);
  EXPECT_EQ(acc.Begin(1, 5, 4), Verdict::kAhead);
  ASSERT_EQ(acc.Begin(1, 4, 4), Verdict::kAccumulate);
  const int64_t push = acc.Start(1);
  acc.Add(push, 0, std::vector<float>{1});
  EXPECT_FALSE(acc.Complete(push));
  // A restarted worker pushing the same step again counts once.
  EXPECT_EQ(acc.Begin(1, 4, 4), Verdict::kDuplicate);
  EXPECT_STREQ(VerdictName(Verdict::kDuplicate), "duplicate");
}

TEST(SyncAccumulatorTest, ABrokenPushAddsNothingAndItsRetryCountsOnce) {
  SyncAccumulator acc(2, 2, 2);
  ASSERT_EQ(acc.Begin(0, 0, 0), Verdict::kAccumulate);
  const int64_t broken = acc.Start(0);
  acc.Add(broken, 0, std::vector<float>{100});          // then the stream breaks
  ASSERT_EQ(acc.Begin(0, 0, 0), Verdict::kAccumulate);  // not a contributor yet
  const int64_t retry = acc.Start(0);
  acc.Add(broken, 1, std::vector<float>{100});  // the old stream's late chunk: nothing
  EXPECT_FALSE(acc.Complete(broken));
  acc.Add(retry, 0, std::vector<float>{2, 4});
  EXPECT_FALSE(acc.Complete(retry));
  const int64_t other = acc.Start(1);
  acc.Add(other, 0, std::vector<float>{4, 8});
  ASSERT_TRUE(acc.Complete(other));
  EXPECT_EQ(Mean(&acc), (std::vector<float>{3, 6}));
}

TEST(SyncAccumulatorTest, APushInProgressWhenTheStepEndsAddsNothing) {
  SyncAccumulator acc(2, 2, 3);  // worker 2 is a backup
  const int64_t backup = acc.Start(2);
  acc.Add(backup, 0, std::vector<float>{100});
  const int64_t a = acc.Start(0), b = acc.Start(1);
  acc.Add(a, 0, std::vector<float>{1, 1});
  acc.Add(b, 0, std::vector<float>{3, 3});
  EXPECT_FALSE(acc.Complete(a));
  ASSERT_TRUE(acc.Complete(b));
  EXPECT_EQ(Mean(&acc), (std::vector<float>{2, 2}));
  acc.Reset();
  // The backup's rest arrives in the next step: not part of it.
  acc.Add(backup, 1, std::vector<float>{100});
  EXPECT_FALSE(acc.Complete(backup));
  EXPECT_TRUE(acc.contributors().empty());
  const int64_t c = acc.Start(0), d = acc.Start(1);
  acc.Add(c, 0, std::vector<float>{5, 7});
  acc.Add(d, 0, std::vector<float>{1, 1});
  EXPECT_FALSE(acc.Complete(c));
  ASSERT_TRUE(acc.Complete(d));
  EXPECT_EQ(Mean(&acc), (std::vector<float>{3, 4}));
  EXPECT_EQ(acc.buffers_bound(), 3);
}

TEST(SyncAccumulatorTest, OneReplicaIsItsOwnMean) {
  SyncAccumulator acc(2, 1, 1);
  const int64_t push = acc.Start(0);
  acc.Add(push, 0, std::vector<float>{1.5f, -2});
  ASSERT_TRUE(acc.Complete(push));
  EXPECT_EQ(Mean(&acc), (std::vector<float>{1.5f, -2}));
}

TEST(SyncAccumulatorTest, ZeroElementsCountsPushesOnly) {
  SyncAccumulator acc(0, 1, 1);
  ASSERT_EQ(acc.Begin(0, 0, 0), Verdict::kAccumulate);
  EXPECT_TRUE(acc.Complete(acc.Start(0)));
  EXPECT_TRUE(acc.Average().empty());
}

}  // namespace
}  // namespace tessera
