#include "common/bfloat16.h"

#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

#include "gtest/gtest.h"

namespace tessera {
namespace {

uint32_t Bits(float f) {
  uint32_t b;
  std::memcpy(&b, &f, sizeof(b));
  return b;
}

float FromBits(uint32_t b) {
  float f;
  std::memcpy(&f, &b, sizeof(f));
  return f;
}

TEST(Bfloat16Test, RepresentableValuesAreExact) {
  for (float v : {0.0f, -0.0f, 1.0f, -2.5f, 0.15625f, 3.0e38f, -1.0e-30f}) {
    const float bf = FromBits(Bits(v) & 0xffff0000u);  // a bfloat16 value
    EXPECT_EQ(Bits(Bfloat16ToFloat(FloatToBfloat16(bf))), Bits(bf)) << v;
  }
  EXPECT_EQ(FloatToBfloat16(1.0f), 0x3f80);
  EXPECT_EQ(FloatToBfloat16(-0.0f), 0x8000);
}

TEST(Bfloat16Test, RoundsToNearestTiesToEven) {
  // 1 + 2^-8 lies halfway between 1 (even) and 1 + 2^-7: down to 1.
  EXPECT_EQ(Bfloat16ToFloat(FloatToBfloat16(1.0f + std::ldexp(1.0f, -8))), 1.0f);
  // 1 + 3 * 2^-8 lies halfway between 1 + 2^-7 (odd) and 1 + 2^-6: up.
  EXPECT_EQ(Bfloat16ToFloat(FloatToBfloat16(1.0f + 3 * std::ldexp(1.0f, -8))),
            1.0f + std::ldexp(1.0f, -6));
  // Just above halfway goes up, just below goes down.
  EXPECT_EQ(Bfloat16ToFloat(FloatToBfloat16(1.0f + std::ldexp(1.0f, -8) + std::ldexp(1.0f, -20))),
            1.0f + std::ldexp(1.0f, -7));
  EXPECT_EQ(Bfloat16ToFloat(FloatToBfloat16(1.0f + std::ldexp(1.0f, -8) - std::ldexp(1.0f, -20))),
            1.0f);
  EXPECT_EQ(Bfloat16ToFloat(FloatToBfloat16(-1.0f - 3 * std::ldexp(1.0f, -8))),
            -1.0f - std::ldexp(1.0f, -6));
}

TEST(Bfloat16Test, SpecialValues) {
  const float inf = std::numeric_limits<float>::infinity();
  EXPECT_EQ(Bfloat16ToFloat(FloatToBfloat16(inf)), inf);
  EXPECT_EQ(Bfloat16ToFloat(FloatToBfloat16(-inf)), -inf);
  // The largest float32 is above the largest bfloat16 by more than half a step.
  EXPECT_EQ(Bfloat16ToFloat(FloatToBfloat16(std::numeric_limits<float>::max())), inf);
  // A NaN whose payload is only in the low bits must not become infinity.
  EXPECT_TRUE(std::isnan(Bfloat16ToFloat(FloatToBfloat16(FromBits(0x7f800001u)))));
  EXPECT_TRUE(std::isnan(Bfloat16ToFloat(FloatToBfloat16(FromBits(0xffc00000u)))));
  EXPECT_TRUE(std::signbit(Bfloat16ToFloat(FloatToBfloat16(FromBits(0xffc00000u)))));
  // The smallest float32 subnormal rounds to zero; a bfloat16 subnormal stays.
  EXPECT_EQ(Bfloat16ToFloat(FloatToBfloat16(std::numeric_limits<float>::denorm_min())), 0.0f);
  EXPECT_EQ(Bits(Bfloat16ToFloat(FloatToBfloat16(FromBits(0x00010000u)))), 0x00010000u);
}

TEST(Bfloat16Test, BulkConversionsEqualTheScalarOnes) {
  std::mt19937 rng(7);
  std::vector<float> in(1000 + 37);  // not a multiple of any vector width
  for (float& v : in) v = FromBits(rng());
  in[0] = std::numeric_limits<float>::quiet_NaN();
  in[1] = FromBits(0x7f800001u);
  std::vector<uint16_t> wire(in.size());
  FloatsToBfloat16(in, wire.data());
  std::vector<float> back(in.size());
  Bfloat16ToFloats(wire.data(), static_cast<int64_t>(wire.size()), back.data());
  std::vector<float> rounded = in;
  RoundToBfloat16(absl::MakeSpan(rounded));
  for (size_t i = 0; i < in.size(); ++i) {
    ASSERT_EQ(wire[i], FloatToBfloat16(in[i])) << i;
    ASSERT_EQ(Bits(back[i]), static_cast<uint32_t>(wire[i]) << 16) << i;
    ASSERT_EQ(Bits(rounded[i]), Bits(back[i])) << i;
  }
}

TEST(Bfloat16Test, RelativeErrorIsAtMostHalfAStep) {
  std::mt19937 rng(11);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  for (int i = 0; i < 100000; ++i) {
    const float v = normal(rng) * std::ldexp(1.0f, static_cast<int>(rng() % 60) - 30);
    const float r = Bfloat16ToFloat(FloatToBfloat16(v));
    ASSERT_LE(std::fabs(r - v), std::ldexp(std::fabs(v), -8)) << v;
  }
}

}  // namespace
}  // namespace tessera
