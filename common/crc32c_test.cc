#include "common/crc32c.h"

#include <cstring>
#include <string>

#include "gtest/gtest.h"

namespace tessera {
namespace {

TEST(Crc32cTest, StandardCheckValue) {
  EXPECT_EQ(crc32c::Value("123456789", 9), 0xE3069283u);
  EXPECT_EQ(crc32c::ExtendPortable(0, "123456789", 9), 0xE3069283u);
}

TEST(Crc32cTest, KnownVectors) {
  // RFC 3720 (iSCSI) B.4 test vectors.
  char zeros[32];
  std::memset(zeros, 0, sizeof(zeros));
  EXPECT_EQ(crc32c::Value(zeros, 32), 0x8a9136aau);
  char ones[32];
  std::memset(ones, 0xff, sizeof(ones));
  EXPECT_EQ(crc32c::Value(ones, 32), 0x62a8ab43u);
  char ascending[32];
  for (int i = 0; i < 32; ++i) ascending[i] = static_cast<char>(i);
  EXPECT_EQ(crc32c::Value(ascending, 32), 0x46dd794eu);
}

TEST(Crc32cTest, ExtendEqualsWholeAndHardwareEqualsPortable) {
  std::string data;
  for (int i = 0; i < 1000; ++i) data.push_back(static_cast<char>(i * 7 + 3));
  for (size_t split : {0u, 1u, 7u, 8u, 9u, 500u, 999u, 1000u}) {
    uint32_t a = crc32c::Value(data.data(), split);
    EXPECT_EQ(crc32c::Extend(a, data.data() + split, data.size() - split),
              crc32c::Value(data.data(), data.size()));
  }
  for (size_t n : {0u, 1u, 13u, 64u, 1000u}) {
    EXPECT_EQ(crc32c::Value(data.data(), n), crc32c::ExtendPortable(0, data.data(), n));
  }
}

TEST(Crc32cTest, MaskRoundTripsAndDiffers) {
  uint32_t crc = crc32c::Value("foo", 3);
  EXPECT_NE(crc32c::Mask(crc), crc);
  EXPECT_NE(crc32c::Mask(crc32c::Mask(crc)), crc);
  EXPECT_EQ(crc32c::Unmask(crc32c::Mask(crc)), crc);
  EXPECT_EQ(crc32c::Unmask(crc32c::Unmask(crc32c::Mask(crc32c::Mask(crc)))), crc);
}

}  // namespace
}  // namespace tessera
