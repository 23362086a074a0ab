// Location: where a record lives, packed into 64 bits for the index.
//
//   bits  0..23  stripe      (24 bits: 16 Mi stripes per device)
//   bits 24..43  offset/16   (20 bits: offsets up to 16 MiB, the largest stripe)
//   bits 44..51  size class  (8 bits, see SizeClass: never smaller than the record)
//   bits 52..59  generation  (8 bits: the stripe's reclaim generation at insert time)
//   bits 60..63  hits        (4 bits: log2-ish read counter, see BumpHits)
//
// An entry is live only while its generation equals its stripe's current
// generation: reclaiming a stripe bumps the generation and so invalidates every
// entry in it at once; a sweeper frees the stale slots lazily (see Index::Sweep).
// offset 0 is never a record (the stripe header lives there), so packed value 0
// marks an empty index slot.
#pragma once

#include <cstdint>
#include <random>

namespace coss {

// 8-bit size classes over 64-byte units: exact up to 4 KiB, then 8 steps per
// doubling (overshoot < 12.5 %). Decode(Encode(n)) >= n for n up to 2^32.
class SizeClass {
 public:
  static uint8_t Encode(uint64_t bytes);
  static uint64_t Decode(uint8_t code);
};

struct Location {
  uint32_t stripe = 0;
  uint32_t offset = 0;  // bytes from the run start, multiple of 16, > 0
  uint8_t size_class = 0;
  uint8_t gen = 0;
  uint8_t hits = 0;

  uint64_t Pack() const {
    return uint64_t{stripe & 0xFFFFFFu} | (uint64_t{(offset >> 4) & 0xFFFFFu} << 24) |
           (uint64_t{size_class} << 44) | (uint64_t{gen} << 52) | (uint64_t{hits & 0xFu} << 60);
  }
  static Location Unpack(uint64_t p) {
    Location l;
    l.stripe = static_cast<uint32_t>(p & 0xFFFFFFu);
    l.offset = static_cast<uint32_t>((p >> 24) & 0xFFFFFu) << 4;
    l.size_class = static_cast<uint8_t>(p >> 44);
    l.gen = static_cast<uint8_t>(p >> 52);
    l.hits = static_cast<uint8_t>(p >> 60);
    return l;
  }
  // Identity of the stored copy, ignoring the hit counter (for compare-and-swap).
  static uint64_t Identity(uint64_t packed) { return packed & ~(uint64_t{0xF} << 60); }
};

inline constexpr uint32_t kMaxStripesPerDevice = 1u << 24;

// Hit counter: c = 0 never read, c = k >= 1 means about 2^(k-1) .. 2^k - 1 reads.
// Increments from c >= 1 happen with probability 2^-(c-1) (a Morris counter).
inline uint8_t BumpHits(uint8_t c, uint32_t random) {
  if (c >= 15) return 15;
  if (c == 0) return 1;
  const uint32_t mask = (1u << (c - 1)) - 1;
  return (random & mask) == 0 ? static_cast<uint8_t>(c + 1) : c;
}

}  // namespace coss
