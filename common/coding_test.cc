#include "common/coding.h"

#include <limits>
#include <vector>

#include "gtest/gtest.h"

namespace tessera {
namespace {

TEST(CodingTest, FixedWidthIsLittleEndian) {
  std::string s;
  PutFixed16(&s, 0x0102);
  PutFixed32(&s, 0x03040506);
  PutFixed64(&s, 0x0708090a0b0c0d0eull);
  EXPECT_EQ(s, std::string("\x02\x01\x06\x05\x04\x03\x0e\x0d\x0c\x0b\x0a\x09\x08\x07", 14));
  EXPECT_EQ(DecodeFixed32(s.data() + 2), 0x03040506u);
  EXPECT_EQ(DecodeFixed64(s.data() + 6), 0x0708090a0b0c0d0eull);
  char buf[8];
  for (uint64_t v : {uint64_t{0}, uint64_t{1}, uint64_t{0xff}, uint64_t{0x80000000},
                     std::numeric_limits<uint64_t>::max()}) {
    EncodeFixed64(buf, v);
    EXPECT_EQ(DecodeFixed64(buf), v);
    EncodeFixed32(buf, static_cast<uint32_t>(v));
    EXPECT_EQ(DecodeFixed32(buf), static_cast<uint32_t>(v));
  }
}

TEST(CodingTest, VarintsRoundTripWithProtobufLengths) {
  const std::vector<std::pair<uint64_t, size_t>> cases = {
      {0, 1}, {1, 1}, {127, 1}, {128, 2}, {300, 2}, {16383, 2}, {16384, 3},
      {uint64_t{1} << 35, 6}, {std::numeric_limits<uint64_t>::max(), kMaxVarint64Bytes}};
  for (const auto& [value, length] : cases) {
    char buf[kMaxVarint64Bytes];
    const char* end = EncodeVarint64(buf, value);
    EXPECT_EQ(static_cast<size_t>(end - buf), length) << value;
    uint64_t back = 0;
    EXPECT_EQ(GetVarint64Ptr(buf, end, &back), end) << value;
    EXPECT_EQ(back, value);
    // Every shorter prefix is truncated.
    for (const char* cut = buf; cut < end; ++cut) {
      EXPECT_EQ(GetVarint64Ptr(buf, cut, &back), nullptr) << value << " cut at " << cut - buf;
    }
  }
  char buf[2] = {static_cast<char>(0xac), 0x02};  // 300, protobuf's example
  uint64_t v = 0;
  ASSERT_NE(GetVarint64Ptr(buf, buf + 2, &v), nullptr);
  EXPECT_EQ(v, 300u);
}

TEST(CodingTest, OverlongVarintIsRejected) {
  const std::string eleven(11, static_cast<char>(0x80));
  uint64_t v = 0;
  EXPECT_EQ(GetVarint64Ptr(eleven.data(), eleven.data() + eleven.size(), &v), nullptr);
}

}  // namespace
}  // namespace tessera
