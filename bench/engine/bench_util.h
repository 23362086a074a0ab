// Helpers shared by engine_bench's files.
#pragma once

#include <cstdint>

namespace coss::engine_bench {

// SplitMix64: a fast, well-mixed pseudo-random sequence from a 64-bit state.
inline uint64_t SplitMix(uint64_t& s) {
  uint64_t z = (s += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

}  // namespace coss::engine_bench
