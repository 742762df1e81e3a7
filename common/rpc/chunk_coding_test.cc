#include "common/rpc/chunk_coding.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <numeric>
#include <string>
#include <vector>

#include "common/bfloat16.h"
#include "gtest/gtest.h"

namespace tessera {
namespace {

std::string Flatten(const grpc::ByteBuffer& buffer) {
  std::vector<grpc::Slice> slices;
  EXPECT_TRUE(buffer.Dump(&slices).ok());
  std::string out;
  for (const auto& s : slices) out.append(reinterpret_cast<const char*>(s.begin()), s.size());
  return out;
}

// `bytes` as a ByteBuffer cut into slices of `piece` bytes.
grpc::ByteBuffer Split(const std::string& bytes, size_t piece) {
  std::vector<grpc::Slice> slices;
  for (size_t i = 0; i < bytes.size(); i += piece) {
    slices.emplace_back(bytes.data() + i, std::min(piece, bytes.size() - i));
  }
  return grpc::ByteBuffer(slices.data(), slices.size());
}

ChunkHeader SampleHeader() {
  ChunkHeader header;
  header.set_block("fc1/weights/part_1");
  header.set_offset(1 << 20);
  header.set_block_elements(3 << 20);
  header.set_kind(GRADIENT);
  header.set_fingerprint("0123456789abcdef");
  header.set_worker_task(3);
  header.set_step(42);
  header.set_incarnation(0xfedcba9876543210ull);
  header.set_global_step(-1);
  return header;
}

class CountingOwner final : public PayloadOwner {
 public:
  void Ref() override { ++refs; }
  void Unref() override { --refs; }
  std::atomic<int> refs{0};
};

TEST(ChunkCodingTest, EncodedBytesAreAProtobufTensorChunkWithoutCopy) {
  std::vector<float> values(5000);
  std::iota(values.begin(), values.end(), 0.5f);
  CountingOwner owner;
  {
    grpc::ByteBuffer buffer =
        EncodeChunk(SampleHeader(), values.data(), values.size() * 4, &owner);
    EXPECT_EQ(owner.refs.load(), 1);
    std::vector<grpc::Slice> slices;
    ASSERT_TRUE(buffer.Dump(&slices).ok());
    ASSERT_EQ(slices.size(), 2u);
    EXPECT_EQ(static_cast<const void*>(slices[1].begin()), values.data());  // no copy

    TensorChunk chunk;
    ASSERT_TRUE(chunk.ParseFromString(Flatten(buffer)));
    EXPECT_EQ(chunk.header().SerializeAsString(), SampleHeader().SerializeAsString());
    ASSERT_EQ(chunk.data().size(), values.size() * 4);
    EXPECT_EQ(std::memcmp(chunk.data().data(), values.data(), values.size() * 4), 0);
  }
  EXPECT_EQ(owner.refs.load(), 0);  // released with the buffer
}

TEST(ChunkCodingTest, SmallPayloadIsCopiedAndNeedsNoOwner) {
  float values[3] = {1.0f, -2.0f, 3.5f};
  grpc::ByteBuffer buffer = EncodeChunk(SampleHeader(), values, sizeof(values), nullptr);
  values[0] = 99.0f;  // the buffer holds its own copy
  TensorChunk chunk;
  ASSERT_TRUE(chunk.ParseFromString(Flatten(buffer)));
  ASSERT_EQ(chunk.data().size(), sizeof(values));
  float first;
  std::memcpy(&first, chunk.data().data(), 4);
  EXPECT_EQ(first, 1.0f);
}

TEST(ChunkCodingTest, ParsesProtobufSerializedChunkAcrossSlices) {
  std::vector<float> values(10000);
  std::iota(values.begin(), values.end(), -7.0f);
  TensorChunk chunk;
  *chunk.mutable_header() = SampleHeader();
  chunk.set_data(values.data(), values.size() * 4);
  const std::string bytes = chunk.SerializeAsString();
  for (size_t piece : {size_t{1}, size_t{7}, size_t{4096}, bytes.size()}) {
    SCOPED_TRACE(piece);
    ChunkHeader header;
    ChunkView view;
    ASSERT_TRUE(ParseChunk(Split(bytes, piece), &header, &view).ok());
    EXPECT_EQ(header.SerializeAsString(), SampleHeader().SerializeAsString());
    ASSERT_EQ(view.payload_bytes(), values.size() * 4);
    std::vector<float> out(values.size());
    view.CopyPayloadTo(out.data());
    EXPECT_EQ(out, values);
    // Ranges, as the ps reads a push piece by piece: every piece size, both
    // aligned to floats and not, across every slice boundary.
    for (size_t range : {size_t{4}, size_t{13}, size_t{4096}, size_t{39999}}) {
      std::vector<char> whole(values.size() * 4);
      for (size_t begin = 0; begin < whole.size(); begin += range) {
        const size_t n = std::min(range, whole.size() - begin);
        view.CopyPayloadRange(begin, n, whole.data() + begin);
      }
      ASSERT_EQ(std::memcmp(whole.data(), values.data(), whole.size()), 0) << "range " << range;
    }
  }
}

TEST(ChunkCodingTest, RoundTripsThroughOurOwnParser) {
  std::vector<float> values(3000, 0.25f);
  PayloadTracker tracker;
  {
    grpc::ByteBuffer buffer = EncodeChunk(SampleHeader(), values.data(), values.size() * 4, &tracker);
    ChunkHeader header;
    ChunkView view;
    ASSERT_TRUE(ParseChunk(buffer, &header, &view).ok());
    EXPECT_EQ(header.block(), "fc1/weights/part_1");
    EXPECT_EQ(header.step(), 42);
    std::vector<float> out(values.size());
    view.CopyPayloadTo(out.data());
    EXPECT_EQ(out, values);
  }
  tracker.WaitForRelease();  // returns: every slice was released
}

TEST(ChunkCodingTest, AcceptsFieldsInAnyOrderAndSkipsUnknownFields) {
  TensorChunk chunk;
  *chunk.mutable_header() = SampleHeader();
  chunk.set_data(std::string(8, '\x01'));
  std::string data_first;
  // field 2 first, then an unknown varint field 9, then field 1.
  data_first.push_back(0x12);
  data_first.push_back(8);
  data_first.append(8, '\x01');
  data_first.push_back(static_cast<char>(9 << 3));
  data_first.push_back(5);
  const std::string header_bytes = SampleHeader().SerializeAsString();
  data_first.push_back(0x0a);
  data_first.push_back(static_cast<char>(header_bytes.size()));
  data_first.append(header_bytes);
  ChunkHeader header;
  ChunkView view;
  ASSERT_TRUE(ParseChunk(Split(data_first, 3), &header, &view).ok());
  EXPECT_EQ(header.block(), "fc1/weights/part_1");
  EXPECT_EQ(view.payload_bytes(), 8u);
}

TEST(ChunkCodingTest, EmptyMessageIsAnEmptyChunk) {
  grpc::ByteBuffer empty = EncodeChunk(ChunkHeader(), nullptr, 0, nullptr);
  EXPECT_EQ(empty.Length(), 0u);
  ChunkHeader header;
  ChunkView view;
  ASSERT_TRUE(ParseChunk(empty, &header, &view).ok());
  EXPECT_EQ(header.block(), "");
  EXPECT_EQ(view.payload_bytes(), 0u);
}

TEST(ChunkCodingTest, TruncatedOrMalformedBytesAreInvalidArgument) {
  float values[300] = {};
  grpc::ByteBuffer buffer = EncodeChunk(SampleHeader(), values, sizeof(values), nullptr);
  std::string bytes = Flatten(buffer);
  ChunkHeader header;
  ChunkView view;
  absl::Status status = ParseChunk(Split(bytes.substr(0, bytes.size() - 1), 64), &header, &view);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(status.message(), "malformed TensorChunk: truncated field");
  status = ParseChunk(Split(std::string("\x0b\x00", 2), 64), &header, &view);  // group
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  status = ParseChunk(Split(std::string("\x0a\x05\x0a\x01", 4), 64), &header, &view);
  EXPECT_EQ(status.message(), "malformed TensorChunk: truncated header");
}

TEST(ChunkCodingTest, SmallMessagesRoundTrip) {
  PullRequest request;
  request.add_blocks("a");
  request.set_min_version(7);
  PullRequest parsed;
  ASSERT_TRUE(ParseFromByteBuffer(SerializeToByteBuffer(request), &parsed, "PullRequest").ok());
  EXPECT_EQ(parsed.blocks(0), "a");
  EXPECT_EQ(parsed.min_version(), 7);
  absl::Status status = ParseFromByteBuffer(Split("\xff", 1), &parsed, "PullRequest");
  EXPECT_EQ(status.message(), "malformed PullRequest");
}

TEST(ChunkCodingTest, Bfloat16ChunksCarryHalfTheBytesAndDecodeToTheRoundedFloats) {
  std::vector<float> values(10000);
  for (size_t i = 0; i < values.size(); ++i) values[i] = std::sin(0.37f * i) * (1.0f + i);
  ChunkHeader sent = SampleHeader();
  sent.set_encoding(BFLOAT16);
  grpc::ByteBuffer buffer = EncodeBfloat16Chunk(sent, values);
  std::vector<float> expected = values;
  values.assign(values.size(), -1.0f);  // the chunk holds its own converted copy
  RoundToBfloat16(absl::MakeSpan(expected));
  // Protobuf reads it as a TensorChunk of 2 bytes per element.
  TensorChunk chunk;
  ASSERT_TRUE(chunk.ParseFromString(Flatten(buffer)));
  EXPECT_EQ(chunk.header().encoding(), BFLOAT16);
  ASSERT_EQ(chunk.data().size(), expected.size() * 2);
  uint16_t first;
  std::memcpy(&first, chunk.data().data(), 2);
  EXPECT_EQ(first, FloatToBfloat16(expected[0]));
  // Our parser, across slices cut at odd bytes, whole and by ranges.
  const std::string bytes = Flatten(buffer);
  for (size_t piece : {size_t{1}, size_t{7}, size_t{4097}, bytes.size()}) {
    SCOPED_TRACE(piece);
    ChunkHeader header;
    ChunkView view;
    ASSERT_TRUE(ParseChunk(Split(bytes, piece), &header, &view).ok());
    EXPECT_EQ(view.encoding(), BFLOAT16);
    ASSERT_EQ(view.elements(), static_cast<int64_t>(expected.size()));
    std::vector<float> out(expected.size());
    view.CopyFloats(0, view.elements(), out.data());
    EXPECT_EQ(out, expected);
    std::vector<float> ranges(expected.size(), 0.0f);
    for (int64_t begin = 0; begin < view.elements(); begin += 4999) {
      const int64_t n = std::min<int64_t>(4999, view.elements() - begin);
      view.CopyFloats(begin, n, ranges.data() + begin);
    }
    EXPECT_EQ(ranges, expected);
  }
}

TEST(ChunkCodingTest, TinyBfloat16ChunksRoundTrip) {
  // A few bytes: where gRPC would keep a payload inline (UBSan checks the
  // conversion's stores are aligned).
  for (size_t n : {size_t{0}, size_t{1}, size_t{3}, size_t{11}}) {
    std::vector<float> values(n);
    for (size_t i = 0; i < n; ++i) values[i] = 1.0f / 3.0f + static_cast<float>(i);
    ChunkHeader sent = SampleHeader();
    sent.set_encoding(BFLOAT16);
    ChunkHeader header;
    ChunkView view;
    ASSERT_TRUE(ParseChunk(EncodeBfloat16Chunk(sent, values), &header, &view).ok()) << n;
    ASSERT_EQ(view.elements(), static_cast<int64_t>(n));
    std::vector<float> out(n);
    view.CopyFloats(0, view.elements(), out.data());
    RoundToBfloat16(absl::MakeSpan(values));
    EXPECT_EQ(out, values) << n;
  }
}

TEST(ChunkCodingTest, Float32ChunksDecodeByElementsToo) {
  std::vector<float> values(3000);
  std::iota(values.begin(), values.end(), 0.25f);
  grpc::ByteBuffer buffer = EncodeChunk(SampleHeader(), values.data(), values.size() * 4, nullptr);
  ChunkHeader header;
  ChunkView view;
  ASSERT_TRUE(ParseChunk(Split(Flatten(buffer), 333), &header, &view).ok());
  EXPECT_EQ(view.encoding(), FLOAT32);
  ASSERT_EQ(view.elements(), 3000);
  std::vector<float> out(1000);
  view.CopyFloats(1500, 1000, out.data());
  EXPECT_EQ(out, std::vector<float>(values.begin() + 1500, values.begin() + 2500));
}

TEST(ChunkCodingTest, UnknownEncodingIsInvalidArgumentNamingTheBlock) {
  TensorChunk chunk;
  *chunk.mutable_header() = SampleHeader();
  chunk.mutable_header()->set_encoding(static_cast<TensorEncoding>(7));
  chunk.set_data(std::string(8, '\0'));
  ChunkHeader header;
  ChunkView view;
  const absl::Status status = ParseChunk(Split(chunk.SerializeAsString(), 64), &header, &view);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(status.message(),
            "chunk of block 'fc1/weights/part_1': unknown tensor encoding 7 (known: FLOAT32, "
            "BFLOAT16)");
}

}  // namespace
}  // namespace tessera
