#include "ps/sync_accumulator.h"

#include <vector>

#include "gtest/gtest.h"

namespace tessera {
namespace {

using Verdict = SyncAccumulator::Verdict;

TEST(SyncAccumulatorTest, AveragesExactlyAfterReplicasToAggregate) {
  SyncAccumulator acc(3, 2);
  ASSERT_EQ(acc.Begin(0, 5, 5), Verdict::kAccumulate);
  acc.Add(0, std::vector<float>{1, 2});
  acc.Add(2, std::vector<float>{3});
  EXPECT_FALSE(acc.Complete(0));
  ASSERT_EQ(acc.Begin(2, 5, 5), Verdict::kAccumulate);
  acc.Add(0, std::vector<float>{3, 4, 5});
  EXPECT_TRUE(acc.Complete(2));
  EXPECT_EQ(acc.contributors(), (std::set<int>{0, 2}));
  absl::Span<const float> average = acc.Average();
  EXPECT_EQ(std::vector<float>(average.begin(), average.end()), (std::vector<float>{2, 3, 4}));
  acc.Reset();
  EXPECT_TRUE(acc.contributors().empty());
  ASSERT_EQ(acc.Begin(0, 6, 6), Verdict::kAccumulate);
  acc.Add(0, std::vector<float>{2, 2, 2});
  acc.Complete(0);
  ASSERT_EQ(acc.Begin(1, 6, 6), Verdict::kAccumulate);
  acc.Add(0, std::vector<float>{0, 0, 0});
  ASSERT_TRUE(acc.Complete(1));
  average = acc.Average();
  EXPECT_EQ(std::vector<float>(average.begin(), average.end()), (std::vector<float>{1, 1, 1}));
}

TEST(SyncAccumulatorTest, StaleDuplicateAndAheadAreDropped) {
  SyncAccumulator acc(1, 3);
  EXPECT_EQ(acc.Begin(1, 3, 4), Verdict::kStale);
  EXPECT_EQ(acc.Begin(1, 5, 4), Verdict::kAhead);
  ASSERT_EQ(acc.Begin(1, 4, 4), Verdict::kAccumulate);
  acc.Add(0, std::vector<float>{1});
  EXPECT_FALSE(acc.Complete(1));
  // A restarted worker pushing the same step again counts once.
  EXPECT_EQ(acc.Begin(1, 4, 4), Verdict::kDuplicate);
  EXPECT_STREQ(VerdictName(Verdict::kDuplicate), "duplicate");
}

TEST(SyncAccumulatorTest, ZeroElementsCountsPushesOnly) {
  SyncAccumulator acc(0, 1);
  ASSERT_EQ(acc.Begin(0, 0, 0), Verdict::kAccumulate);
  EXPECT_TRUE(acc.Complete(0));
  EXPECT_TRUE(acc.Average().empty());
}

}  // namespace
}  // namespace tessera
