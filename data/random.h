#ifndef TESSERA_DATA_RANDOM_H_
#define TESSERA_DATA_RANDOM_H_

// The random draws of data/: seeds for (seed, epoch, part) and uniform
// integers and floats from std::mt19937_64, the same on every platform and
// compiler (unlike the <random> distributions). Thread-safe (no state; each
// caller owns its generator).

#include <cstdint>
#include <random>

namespace tessera {

// The 64-bit seed of a shuffle or a record's augmentation for (seed, epoch,
// part): a splitmix64 mix.
uint64_t MixSeed(uint64_t seed, int64_t epoch, int part);

// Uniform in [0, range) (range >= 1) from whole 64-bit draws of `gen`,
// rejecting the biased low end.
uint64_t UniformBelow(std::mt19937_64& gen, uint64_t range);

// Uniform in [0, 1) with a step of 2^-24 (the top 24 bits of one draw).
float UniformFloat(std::mt19937_64* rng);

}  // namespace tessera

#endif  // TESSERA_DATA_RANDOM_H_
