// GhostAdmission: admit a new key to the device only on its second miss.
//
// A put of a key the index does not hold is admitted only if the key's hash
// is in the ghost — the set of keys recently refused; otherwise the hash is
// remembered and the put is dropped (a cache may forget anything; the client
// sees a miss on its next get, and its next put of the key is admitted). Keys
// already in the index are always admitted (an overwrite must replace the old
// value), and conditional puts bypass admission. One-hit wonders therefore
// never reach the device: fewer device writes, and room kept for objects that
// are read again (CacheLib's reject-first admission; S3-FIFO's ghost queue).
//
// Representation: two generations of blocked Bloom filters (one 64-byte
// block per key, chosen by the key hash; 6 bits set in it), sized at 12 bits
// per key they may hold: 1.5 bytes per remembered key per generation, false
// positives (a first-timer admitted) about 0.6 % when full. A key is
// remembered until two generation swaps have passed; a generation swaps when
// it holds `capacity` keys: ghost_percent of the number of objects the ring
// holds (ring bytes / mean record footprint of the puts offered so far), at
// least 1024. So a key is admitted if it misses again within about one ring's
// worth of new keys. (Until session 3 the generations were tables of 32-bit
// fingerprints at half load, 8 bytes per key: 5.3 times the RAM, for false
// positives that were nearly nil.)
//
// Set dueling (admit:duel): whether refusing first-timers pays depends on the
// workload — it wins when many new keys never come back, and costs one extra
// miss per key that does. Keys are split by hash into 32 groups: group 0
// always admits, group 1 always uses the ghost, and the other 30 follow the
// leader group that has had fewer puts of new keys lately (in a look-aside
// cache, a put of a new key follows a miss). A saturating counter (PSEL, as in
// DIP/set-dueling caches) keeps the score.
//
// Not thread-safe: the owning shard's mutex guards it.
#pragma once

#include <cstdint>
#include <cstdlib>
#include <memory>

#include "engine/policy.h"

namespace coss {

class GhostAdmission {
 public:
  GhostAdmission(const AdmissionConfig& c, uint64_t ring_bytes) : cfg_(c), ring_(ring_bytes) {}

  // A put of a key the index does not hold, of `footprint` device bytes.
  // True: store it. False: drop it (the key is now remembered).
  bool Admit(uint64_t hash, uint64_t footprint);

  // Set dueling: records a put of a new key (a miss) and says whether the
  // ghost applies to this key (always true without admit:duel).
  bool UseGhost(uint64_t hash);

  uint64_t MemoryBytes() const { return (cur_.blocks + prev_.blocks) * sizeof(Block); }

 private:
  struct FreeDeleter {
    void operator()(void* p) const { std::free(p); }
  };
  struct Block {
    uint64_t w[8];  // 512 bits: one cache line
  };
  struct Filter {
    static constexpr uint64_t kBitsPerKey = 12;
    // calloc'd: a large filter arrives as untouched zero pages, so starting a
    // generation under the shard's mutex costs no memset of the whole filter
    // (its pages are touched by the inserts that follow).
    std::unique_ptr<Block[], FreeDeleter> bits;
    uint64_t blocks = 0;  // 0: no filter (allocation failed)
    uint64_t count = 0;   // keys inserted (that were not already in it)
    void Reset(uint64_t keys);
    bool Contains(uint64_t hash) const;
    void Insert(uint64_t hash);
  };

  AdmissionConfig cfg_;
  uint64_t ring_;
  uint64_t offered_ = 0, offered_bytes_ = 0;
  Filter cur_, prev_;
  uint64_t capacity_ = 0;
  int32_t psel_ = 0;  // > 0: the admit-all leader misses more, followers use the ghost
};

}  // namespace coss
