// PullAssembler::AddFromSegment: a Pull answer whose payloads are in the
// pull's shared segment lands in the destinations; a chunk naming another
// segment, carrying data too, not FLOAT32, or outside the segment is INTERNAL
// naming the block, and nothing is written.

#include "worker/answer_assembler.h"

#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "gtest/gtest.h"

namespace tessera {
namespace {

constexpr uint64_t kId = 42;

ChunkHeader Header(const std::string& block, int64_t offset, int64_t elements,
                   int64_t segment_offset, int64_t segment_bytes) {
  ChunkHeader h;
  h.set_block(block);
  h.set_offset(offset);
  h.set_block_elements(elements);
  h.set_kind(VALUES);
  h.set_version(3);
  h.set_segment(kId);
  h.set_segment_offset(segment_offset);
  h.set_segment_bytes(segment_bytes);
  return h;
}

class AddFromSegmentTest : public ::testing::Test {
 protected:
  void SetUp() override {
    request_.add_blocks("w");
    request_.add_blocks("b");
    for (size_t i = 0; i < segment_.size(); ++i) segment_[i] = static_cast<float>(i);
  }
  const char* data() const { return reinterpret_cast<const char*>(segment_.data()); }
  size_t size() const { return segment_.size() * sizeof(float); }

  PullRequest request_;
  std::vector<float> segment_ = std::vector<float>(16);
  std::vector<float> w_ = std::vector<float>(6, -1.0f);
  std::vector<float> b_ = std::vector<float>(2, -1.0f);
  const std::vector<absl::Span<float>> destinations_ = {absl::MakeSpan(w_), absl::MakeSpan(b_)};
};

TEST_F(AddFromSegmentTest, ChunksLandWhereTheirPlaceSays) {
  PullAssembler answer(request_, destinations_);
  // w in two chunks from segment floats 0-3 and 8-9, b from 14-15.
  const absl::Status first =
      answer.AddFromSegment(Header("w", 0, 6, 0, 16), 0, kId, data(), size());
  ASSERT_TRUE(first.ok()) << first;
  ASSERT_TRUE(answer.AddFromSegment(Header("w", 4, 6, 32, 8), 0, kId, data(), size()).ok());
  ASSERT_TRUE(answer.AddFromSegment(Header("b", 0, 2, 56, 8), 0, kId, data(), size()).ok());
  ASSERT_TRUE(answer.Finish().ok());
  EXPECT_EQ(w_, (std::vector<float>{0, 1, 2, 3, 8, 9}));
  EXPECT_EQ(b_, (std::vector<float>{14, 15}));
}

TEST_F(AddFromSegmentTest, BadChunksAreInternalAndWriteNothing) {
  struct Case {
    const char* name;
    ChunkHeader header;
    size_t data_bytes;
    uint64_t segment;
    const char* expected;
  };
  ChunkHeader bf16 = Header("w", 0, 6, 0, 12);
  bf16.set_encoding(BFLOAT16);
  ChunkHeader other = Header("w", 0, 6, 0, 24);
  other.set_segment(kId + 1);
  const Case cases[] = {
      {"no segment asked", Header("w", 0, 6, 0, 24), 0, 0, "(the pull named none)"},
      {"another segment", other, 0, kId, "names shared segment 43, not the pull's 42"},
      {"data too", Header("w", 0, 6, 0, 24), 24, kId, "and carries data too"},
      {"bfloat16", bf16, 0, kId, "and is not FLOAT32"},
      {"past the end", Header("w", 0, 6, 48, 24), 0, kId,
       "the chunk: bytes [48, +24) are not inside the shared segment of 64 bytes"},
      {"negative", Header("w", 0, 6, -8, 24), 0, kId, "bytes [-8, +24)"},
      {"huge", Header("w", 0, 6, int64_t{1} << 62, int64_t{1} << 62), 0, kId, "are not inside"},
  };
  for (const Case& c : cases) {
    PullAssembler answer(request_, destinations_);
    const absl::Status status =
        answer.AddFromSegment(c.header, c.data_bytes, c.segment, c.segment != 0 ? data() : nullptr,
                              c.segment != 0 ? size() : 0);
    EXPECT_EQ(status.code(), absl::StatusCode::kInternal) << c.name;
    EXPECT_TRUE(absl::StrContains(status.message(), "Pull answer for block 'w'")) << status;
    EXPECT_TRUE(absl::StrContains(status.message(), c.expected)) << c.name << ": " << status;
    EXPECT_EQ(w_, std::vector<float>(6, -1.0f)) << c.name;
  }
}

TEST(AddFromSegmentInPlaceTest, ChunksAlreadyInPlaceAreNotCopiedAndMisplacedOnesAreInternal) {
  // The destinations are the segment itself: w at floats 2-7, b at 10-11.
  std::vector<float> segment(16);
  for (size_t i = 0; i < segment.size(); ++i) segment[i] = static_cast<float>(i);
  const char* data = reinterpret_cast<const char*>(segment.data());
  const size_t size = segment.size() * sizeof(float);
  PullRequest request;
  request.add_blocks("w");
  request.add_blocks("b");
  const std::vector<absl::Span<float>> destinations = {absl::MakeSpan(segment).subspan(2, 6),
                                                       absl::MakeSpan(segment).subspan(10, 2)};
  PullAssembler answer(request, destinations);
  ASSERT_TRUE(answer.AddFromSegment(Header("w", 0, 6, 8, 16), 0, kId, data, size, true).ok());
  ASSERT_TRUE(answer.AddFromSegment(Header("w", 4, 6, 24, 8), 0, kId, data, size, true).ok());
  // b put at floats 12-13 instead: copied to its place, and then INTERNAL.
  const absl::Status misplaced =
      answer.AddFromSegment(Header("b", 0, 2, 48, 8), 0, kId, data, size, true);
  EXPECT_EQ(misplaced.code(), absl::StatusCode::kInternal);
  EXPECT_EQ(misplaced.message(),
            "Pull answer for block 'b': the chunk at element 0 is at byte 48 of shared segment "
            "42, not where the pull asked for it");
  EXPECT_EQ(segment[10], 12.0f);
  EXPECT_EQ(segment[2], 2.0f);  // in place: untouched
}

}  // namespace
}  // namespace tessera
