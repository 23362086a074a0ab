// GhostFilter: S3-FIFO's ghost queue (key hashes recently evicted from the
// small queue) in four bytes per remembered key: two Bloom filters, one
// filling and one full; when the filling one has taken its share of keys the
// older is dropped and the two swap. A key is a ghost while either holds it:
// it was evicted within the last one to two generations. False positives
// (about 0.5 %) send a new object straight to the main queue: rare enough that
// a long scan does not flood main (RamTierTest.ScanResistance).
// Not thread-safe: the owning shard's mutex guards it.
#pragma once

#include <cstdint>
#include <vector>

namespace coss::server {

class GhostFilter {
 public:
  // Remembers `keys` to 2 * `keys` keys, in keys * 32 bits.
  explicit GhostFilter(uint64_t keys) { Reset(keys); }

  void Reset(uint64_t keys) {
    per_generation_ = keys < 64 ? 64 : keys;
    bits_ = per_generation_ * 16;  // 16 bits per key, 4 probes: 0.25 % false positives each
    words_ = (bits_ + 63) / 64;
    cur_.assign(words_, 0);
    old_.assign(words_, 0);
    added_ = 0;
  }

  void Add(uint64_t hash) {
    if (added_ == per_generation_) {
      old_.swap(cur_);
      cur_.assign(words_, 0);
      added_ = 0;
    }
    for (int i = 0; i < kProbes; i++) Set(cur_, Probe(hash, i));
    added_++;
  }

  bool Contains(uint64_t hash) const {
    bool in_cur = true, in_old = true;
    for (int i = 0; i < kProbes; i++) {
      const uint64_t p = Probe(hash, i);
      in_cur = in_cur && Get(cur_, p);
      in_old = in_old && Get(old_, p);
    }
    return in_cur || in_old;
  }

  uint64_t bytes() const { return 2 * words_ * sizeof(uint64_t); }

 private:
  static constexpr int kProbes = 4;
  // Positions by double hashing of a remix of the key hash (the bits that the
  // shard, bucket and tag use are mixed with the rest).
  uint64_t Probe(uint64_t hash, int i) const {
    const uint64_t a = (hash ^ (hash >> 29)) * 0xBF58476D1CE4E5B9ull;
    const uint64_t b = ((hash ^ (hash >> 31)) * 0x94D049BB133111EBull) | 1;
    const uint64_t h = a + static_cast<uint64_t>(i) * b;
    return (h >> 32) * bits_ >> 32;
  }
  static void Set(std::vector<uint64_t>& v, uint64_t bit) {
    v[bit / 64] |= uint64_t{1} << (bit % 64);
  }
  static bool Get(const std::vector<uint64_t>& v, uint64_t bit) {
    return (v[bit / 64] >> (bit % 64)) & 1;
  }

  uint64_t per_generation_ = 64;
  uint64_t bits_ = 1024;
  uint64_t words_ = 16;
  uint64_t added_ = 0;
  std::vector<uint64_t> cur_, old_;
};

}  // namespace coss::server
