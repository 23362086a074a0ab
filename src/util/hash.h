// Hashing helpers: XXH3 (libxxhash) for key hashes and record checksums.
#pragma once

#include <xxhash.h>

#include <cstdint>
#include <string_view>

namespace coss {

// The key hash the index, the directories and the journal use. `seed` is the
// store's (Superblock::key_seed): random per store, so that keys cannot be
// crafted to collide in the index (long probe chains, a denial of service);
// 0 in stores made before it (XXH3 with seed 0 is the unseeded XXH3).
inline uint64_t KeyHash(std::string_view key, uint64_t seed) {
  return XXH3_64bits_withSeed(key.data(), key.size(), seed);
}

inline uint64_t Checksum(const void* p, size_t n, uint64_t seed) {
  return XXH3_64bits_withSeed(p, n, seed);
}

}  // namespace coss
