#include "ps/sync_accumulator.h"

#include <memory>
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
// Memory a worker shares with the ps, as the accumulator borrows it.
struct Shared {
  explicit Shared(std::vector<float> v)
      : values(std::make_shared<std::vector<float>>(std::move(v))) {}
  absl::Span<const float> span(size_t from, size_t n) const {
    return absl::MakeConstSpan(*values).subspan(from, n);
  }
  std::shared_ptr<std::vector<float>> values;
};

TEST(SyncAccumulatorTest, BorrowedPushesAreReadWhenTheyJoinTheSum) {
  SyncAccumulator acc(3, 2, 2);
  Shared a({1, 2, 3}), b({3, 4, 5});
  ASSERT_EQ(acc.Begin(0, 1, 1), Verdict::kAccumulate);
  const int64_t first = acc.Start(0);
  acc.AddBorrowed(first, 0, a.span(0, 2), a.values);
  acc.AddBorrowed(first, 2, a.span(2, 1), a.values);
  EXPECT_FALSE(acc.Complete(first));
  EXPECT_EQ(a.values.use_count(), 2);  // held, not copied:
  (*a.values)[0] = 5;                  // what it holds when the second joins counts
  ASSERT_EQ(acc.Begin(1, 1, 1), Verdict::kAccumulate);
  const int64_t second = acc.Start(1);
  acc.AddBorrowed(second, 0, b.span(0, 3), b.values);
  EXPECT_TRUE(acc.Complete(second));
  EXPECT_EQ(Mean(&acc), (std::vector<float>{4, 3, 4}));
  // Both read: neither is held any more, and the mean is the accumulator's.
  EXPECT_EQ(a.values.use_count(), 1);
  EXPECT_EQ(b.values.use_count(), 1);
  (*b.values)[0] = 100;
  EXPECT_EQ(Mean(&acc), (std::vector<float>{4, 3, 4}));
  acc.Reset();
}

TEST(SyncAccumulatorTest, BorrowedAndCopiedPushesMixInAnyOrder) {
  // The same three pushes, each borrowed or copied, in every combination:
  // the same mean, bit for bit.
  const std::vector<std::vector<float>> pushes = {{1, 2, 3, 4}, {0.5f, 7, -1, 2}, {3, 3, 3, 3}};
  std::vector<float> want;
  for (int mask = 0; mask < 8; ++mask) {
    SyncAccumulator acc(4, 3, 3);
    std::vector<Shared> memory;
    for (const auto& p : pushes) memory.emplace_back(p);
    for (int w = 0; w < 3; ++w) {
      ASSERT_EQ(acc.Begin(w, 2, 2), Verdict::kAccumulate);
      const int64_t ticket = acc.Start(w);
      for (size_t at = 0; at < 4; at += 2) {
        if (mask & (1 << w)) {
          acc.AddBorrowed(ticket, static_cast<int64_t>(at), memory[w].span(at, 2),
                          memory[w].values);
        } else {
          acc.Add(ticket, static_cast<int64_t>(at), memory[w].span(at, 2));
        }
      }
      EXPECT_EQ(acc.Complete(ticket), w == 2);
    }
    if (mask == 0) want = Mean(&acc);
    EXPECT_EQ(Mean(&acc), want) << "mask " << mask;
    for (const Shared& m : memory) EXPECT_EQ(m.values.use_count(), 1) << "mask " << mask;
    acc.Reset();
  }
  const float third = 1.0f / 3.0f;
  EXPECT_EQ(want, (std::vector<float>{(1 + 0.5f + 3) * third, (2 + 7 + 3) * third,
                                      (3 - 1 + 3) * third, (4 + 2 + 3) * third}));
}

TEST(SyncAccumulatorTest, ABorrowedChunkThatDoesNotContinueIsCopied) {
  SyncAccumulator acc(4, 2, 2);
  Shared a({1, 2, 9, 3, 4});  // the push's second chunk is not right after its first
  ASSERT_EQ(acc.Begin(0, 0, 0), Verdict::kAccumulate);
  const int64_t first = acc.Start(0);
  acc.AddBorrowed(first, 0, a.span(0, 2), a.values);
  acc.AddBorrowed(first, 2, a.span(3, 2), a.values);
  EXPECT_FALSE(acc.Complete(first));
  EXPECT_EQ(a.values.use_count(), 1);  // copied whole
  *a.values = {0, 0, 0, 0, 0};
  // Nor does a chunk of other memory that happens to follow.
  Shared b({1, 1, 1, 1});
  auto other = std::make_shared<int>(0);
  ASSERT_EQ(acc.Begin(1, 0, 0), Verdict::kAccumulate);
  const int64_t second = acc.Start(1);
  acc.AddBorrowed(second, 0, b.span(0, 2), b.values);
  acc.AddBorrowed(second, 2, b.span(2, 2), other);
  EXPECT_TRUE(acc.Complete(second));
  EXPECT_EQ(other.use_count(), 1);
  EXPECT_EQ(Mean(&acc), (std::vector<float>{1, 1.5f, 2, 2.5f}));
}

TEST(SyncAccumulatorTest, OneBorrowedReplicaIsItsOwnMeanWhereItIs) {
  SyncAccumulator acc(2, 1, 1);
  Shared a({6, 8});
  ASSERT_EQ(acc.Begin(0, 0, 0), Verdict::kAccumulate);
  const int64_t push = acc.Start(0);
  acc.AddBorrowed(push, 0, a.span(0, 2), a.values);
  EXPECT_TRUE(acc.Complete(push));
  EXPECT_EQ(acc.Average().data(), a.values->data());
  EXPECT_EQ(Mean(&acc), (std::vector<float>{6, 8}));
  acc.Reset();
  EXPECT_EQ(a.values.use_count(), 1);
}

TEST(SyncAccumulatorTest, ARetryOrTheStepsEndLetsABorrowedPushGo) {
  SyncAccumulator acc(2, 2, 2);
  Shared a({1, 1}), retry({2, 2});
  ASSERT_EQ(acc.Begin(0, 0, 0), Verdict::kAccumulate);
  const int64_t broken = acc.Start(0);
  acc.AddBorrowed(broken, 0, a.span(0, 1), a.values);
  const int64_t again = acc.Start(0);  // the stream broke; the worker retries
  EXPECT_EQ(a.values.use_count(), 1);
  acc.AddBorrowed(broken, 1, a.span(1, 1), a.values);  // the old ticket adds nothing
  EXPECT_EQ(a.values.use_count(), 1);
  acc.AddBorrowed(again, 0, retry.span(0, 2), retry.values);
  EXPECT_FALSE(acc.Complete(again));
  EXPECT_EQ(retry.values.use_count(), 2);
  Shared late({5, 5});
  ASSERT_EQ(acc.Begin(1, 0, 0), Verdict::kAccumulate);
  const int64_t in_progress = acc.Start(1);
  acc.AddBorrowed(in_progress, 0, late.span(0, 1), late.values);
  acc.Reset();  // the step ends (a restore) with both still held
  EXPECT_EQ(retry.values.use_count(), 1);
  EXPECT_EQ(late.values.use_count(), 1);
  EXPECT_FALSE(acc.Complete(in_progress));
}

}  // namespace tessera
