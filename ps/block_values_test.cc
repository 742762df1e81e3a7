#include "ps/block_values.h"

#include <thread>
#include <vector>

#include "common/bfloat16.h"
#include "gtest/gtest.h"

namespace tessera {
namespace {

constexpr int64_t kPiece = kValuePieceElements;

std::vector<float> All(const BlockValues& values) {
  std::vector<float> out(values.size());
  values.CopyTo(0, absl::MakeSpan(out));
  return out;
}

TEST(BlockValuesTest, StartsAtZeroAndWritesAcrossPieces) {
  BlockValues values(2 * kPiece + 10);
  EXPECT_EQ(All(values), std::vector<float>(2 * kPiece + 10, 0.0f));
  // A range over the end of piece 0, all of piece 1 and the start of piece 2.
  std::vector<int64_t> starts;
  values.Write(kPiece - 3, kPiece + 8, [&](int64_t at, absl::Span<float> part) {
    starts.push_back(at);
    for (size_t i = 0; i < part.size(); ++i) part[i] = static_cast<float>(at + i + 1);
  });
  EXPECT_EQ(starts, (std::vector<int64_t>{0, 3, kPiece + 3}));
  const std::vector<float> all = All(values);
  for (int64_t i = 0; i < values.size(); ++i) {
    const bool written = i >= kPiece - 3 && i < 2 * kPiece + 5;
    ASSERT_EQ(all[i], written ? static_cast<float>(i - (kPiece - 3) + 1) : 0.0f) << i;
  }
  std::vector<float> middle(6);
  values.CopyTo(kPiece - 3, absl::MakeSpan(middle));
  EXPECT_EQ(middle, (std::vector<float>{1, 2, 3, 4, 5, 6}));
  EXPECT_EQ(values.copies_on_write(), 0);
}

TEST(BlockValuesTest, ShareEndsAtThePieceOrTheLimit) {
  BlockValues values(kPiece + 100);
  SharedFloats a = values.Share(0, kPiece * 4);
  EXPECT_EQ(a.size(), kPiece);
  SharedFloats b = values.Share(kPiece - 5, 1000);
  EXPECT_EQ(b.size(), 5);
  SharedFloats c = values.Share(kPiece + 10, 1000);
  EXPECT_EQ(c.size(), 90);
  SharedFloats d = values.Share(kPiece + 10, 7);
  EXPECT_EQ(d.size(), 7);
}

// What a Pull holds never changes: a write goes to a copy of the piece, and
// the block sees the write.
TEST(BlockValuesTest, WriteToASharedPieceCopiesIt) {
  BlockValues values(2 * kPiece);
  values.Write(0, 2 * kPiece, [](int64_t at, absl::Span<float> part) {
    for (size_t i = 0; i < part.size(); ++i) part[i] = 1.0f;
  });
  SharedFloats held = values.Share(kPiece, kPiece);
  values.Write(kPiece + 1, 2, [](int64_t, absl::Span<float> part) {
    for (float& v : part) v = 7.0f;
  });
  EXPECT_EQ(values.copies_on_write(), 1);
  for (int64_t i = 0; i < held.size(); ++i) ASSERT_EQ(held.data()[i], 1.0f) << i;
  std::vector<float> now(4);
  values.CopyTo(kPiece, absl::MakeSpan(now));
  EXPECT_EQ(now, (std::vector<float>{1, 7, 7, 1}));
  // Piece 0 was not shared: written in place.
  values.Write(0, 1, [](int64_t, absl::Span<float> part) { part[0] = 3.0f; });
  EXPECT_EQ(values.copies_on_write(), 1);
  // A piece shared and released again is written in place.
  held = SharedFloats();
  SharedFloats again = values.Share(kPiece, 1);
  EXPECT_EQ(again.data()[0], 1.0f);
  again = SharedFloats();
  values.Write(kPiece, 1, [](int64_t, absl::Span<float> part) { part[0] = 5.0f; });
  EXPECT_EQ(values.copies_on_write(), 1);
  values.CopyTo(kPiece, absl::MakeSpan(now));
  EXPECT_EQ(now, (std::vector<float>{5, 7, 7, 1}));
}

// A piece's bfloat16 copy is converted once and shared while the floats stay
// as they are; a write in place (nobody else holds the piece) drops it, and
// whoever holds the old copy keeps it intact.
TEST(BlockValuesTest, Bfloat16CopyIsSharedUntilThePieceChanges) {
  BlockValues values(kPiece + 10);
  auto fill = [&](float base) {
    values.Write(0, values.size(), [&](int64_t at, absl::Span<float> part) {
      for (size_t i = 0; i < part.size(); ++i) part[i] = base + static_cast<float>(at + i) / 3.0f;
    });
  };
  fill(1000.0f);
  Bfloat16Buffer* first = nullptr;
  {
    SharedFloats tail = values.Share(kPiece + 4, kPiece);  // piece 1 from element 4
    ASSERT_EQ(tail.offset(), 4);
    ASSERT_EQ(tail.size(), 6);
    first = tail.buffer()->Bfloat16Copy();
    Bfloat16Buffer* again = tail.buffer()->Bfloat16Copy();
    EXPECT_EQ(again, first);  // converted once
    again->Unref();
    ASSERT_EQ(first->size(), 10);
    for (int64_t i = 0; i < 6; ++i) {
      EXPECT_EQ(first->data()[tail.offset() + i], FloatToBfloat16(tail.data()[i])) << i;
    }
  }
  // Nobody shares piece 1 now: the write goes in place and forgets the copy.
  fill(2000.0f);
  EXPECT_EQ(values.copies_on_write(), 0);
  SharedFloats tail = values.Share(kPiece, kPiece);
  Bfloat16Buffer* second = tail.buffer()->Bfloat16Copy();
  EXPECT_NE(second, first);
  for (int64_t i = 0; i < 10; ++i) {
    EXPECT_EQ(second->data()[i], FloatToBfloat16(2000.0f + static_cast<float>(kPiece + i) / 3.0f));
    // The old copy, still held, has the old values.
    EXPECT_EQ(first->data()[i], FloatToBfloat16(1000.0f + static_cast<float>(kPiece + i) / 3.0f));
  }
  first->Unref();
  second->Unref();
}

// Pulls of the same values on several threads share one conversion.
TEST(BlockValuesTest, Bfloat16CopyOnManyThreadsIsOneConversion) {
  BlockValues values(kPiece);
  values.Write(0, kPiece, [](int64_t at, absl::Span<float> part) {
    for (size_t i = 0; i < part.size(); ++i) part[i] = static_cast<float>(at + i) * 0.001f;
  });
  std::vector<Bfloat16Buffer*> copies(4, nullptr);
  std::vector<std::thread> threads;
  for (size_t t = 0; t < copies.size(); ++t) {
    threads.emplace_back([&values, &copies, t] {
      SharedFloats piece = values.Share(0, kPiece);  // under the block's shared lock in the ps
      copies[t] = piece.buffer()->Bfloat16Copy();
    });
  }
  for (std::thread& thread : threads) thread.join();
  for (Bfloat16Buffer* copy : copies) {
    EXPECT_EQ(copy, copies[0]);
    copy->Unref();
  }
}

TEST(BlockValuesTest, EmptyAndTinyBlocks) {
  BlockValues empty(0);
  EXPECT_EQ(empty.size(), 0);
  EXPECT_TRUE(All(empty).empty());
  BlockValues tiny(3);
  tiny.Write(1, 2, [](int64_t at, absl::Span<float> part) {
    part[0] = 4.0f + static_cast<float>(at);
    part[1] = 5.0f;
  });
  EXPECT_EQ(All(tiny), (std::vector<float>{0, 4, 5}));
  SharedFloats s = tiny.Share(2, 10);
  EXPECT_EQ(s.size(), 1);
  EXPECT_EQ(s.data()[0], 5.0f);
}

}  // namespace
}  // namespace tessera
