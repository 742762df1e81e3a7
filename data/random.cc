#include "data/random.h"

namespace tessera {
namespace {

uint64_t SplitMix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

}  // namespace

uint64_t UniformBelow(std::mt19937_64& gen, uint64_t range) {
  const uint64_t threshold = (0 - range) % range;  // 2^64 mod range
  while (true) {
    const uint64_t x = gen();
    if (x >= threshold) return x % range;
  }
}

uint64_t MixSeed(uint64_t seed, int64_t epoch, int part) {
  uint64_t h = SplitMix64(seed);
  h = SplitMix64(h ^ static_cast<uint64_t>(epoch));
  return SplitMix64(h ^ static_cast<uint64_t>(static_cast<uint32_t>(part)));
}

float UniformFloat(std::mt19937_64* rng) {
  // The top 24 bits: every float in [0, 1) with a step of 2^-24.
  return static_cast<float>((*rng)() >> 40) * (1.0f / 16777216.0f);
}

}  // namespace tessera
