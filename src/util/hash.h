// Hashing helpers: XXH3 (libxxhash) for key hashes and record checksums.
#pragma once

#include <xxhash.h>

#include <cstdint>
#include <string_view>

namespace coss {

inline uint64_t KeyHash(std::string_view key) {
  return XXH3_64bits(key.data(), key.size());
}

inline uint64_t Checksum(const void* p, size_t n, uint64_t seed) {
  return XXH3_64bits_withSeed(p, n, seed);
}

}  // namespace coss
