#ifndef TESSERA_NN_RANDOM_H_
#define TESSERA_NN_RANDOM_H_

// A small deterministic random generator (SplitMix64) for initializers and dropout.
// The same seed gives the same sequence on every platform and compiler, unlike the
// <random> distributions. Not thread-safe; cheap to create per use.

#include <cmath>
#include <cstdint>

namespace tessera {

class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed) {}

  uint64_t Next() {
    uint64_t z = (state_ += kGamma);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }

  // Moves on as if Next() had been called `draws` times (SplitMix64's state
  // advances by a constant per draw).
  void Skip(uint64_t draws) { state_ += draws * kGamma; }

  // Uniform in [0, 1), 24 random bits.
  float Uniform() { return static_cast<float>(Next() >> 40) * (1.0f / 16777216.0f); }

  // Standard normal (Box-Muller), computed in double.
  double Normal() {
    const double u1 = (static_cast<double>(Next() >> 11) + 1.0) * (1.0 / 9007199254740992.0);
    const double u2 = static_cast<double>(Next() >> 11) * (1.0 / 9007199254740992.0);
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
  }

 private:
  static constexpr uint64_t kGamma = 0x9E3779B97F4A7C15ull;
  uint64_t state_;
};

// Combines two seeds into one, e.g. (model seed, variable index).
inline uint64_t MixSeeds(uint64_t a, uint64_t b) {
  Rng rng(a ^ (b * 0xD6E8FEB86659FD93ull));
  rng.Next();
  return rng.Next();
}

}  // namespace tessera

#endif  // TESSERA_NN_RANDOM_H_
