// RamTier: a byte-bounded in-memory cache of hot objects in front of the store.
//
// Policy: S3-FIFO (Yang et al., SOSP'23) per shard: new objects enter a small
// FIFO (10 % of the bytes); those read again while there move to the main FIFO,
// the others leave a ghost (their key hash) so that a quick return goes straight
// to main. Main is a FIFO with a 2-bit frequency (CLOCK-like second chances).
// Only objects read from the store's disk are admitted (fills); the store's
// write buffers already serve freshly written objects from memory.
//
// Write-through: every write goes to the store first; the tier is then updated
// (if it holds the key) or invalidated. The tier never holds the only copy.
//
// No stale fills (the invariant tests/server/ram_tier_test.cc provokes):
//   a reader takes ticket = BeginFill(hash) BEFORE it starts the store read, and
//   calls Fill(..., ticket) after. Every write/delete of a key bumps the write
//   counter of the key's stripe, under the shard lock, after the store applied
//   it, and updates or drops the resident copy in the same critical section;
//   Clear() bumps an epoch. Fill inserts only if neither moved since the ticket,
//   so a value read before a concurrent write can never be installed after it.
//   Versions (the store's CAS) order concurrent writers: an update never
//   replaces a newer version.
//
// Thread-safe: shards are guarded by their own mutex; statistics are atomics.
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace coss::server {

using SharedValue = std::shared_ptr<const std::string>;

struct RamHit {
  SharedValue value;
  uint32_t flags = 0;
  int64_t expiry = 0;
  uint64_t version = 0;
  bool hit_before = false;  // read from the tier before this lookup
  int64_t last_access = 0;  // unix seconds of the previous read (0: never)
};

struct RamTierStats {
  uint64_t items = 0, bytes = 0, capacity = 0;
  uint64_t hits = 0, misses = 0, evictions = 0, fills = 0;
  uint64_t fills_stale = 0;      // fills refused by the no-stale rule
  uint64_t fills_too_large = 0;  // objects larger than a shard's admission limit
};

uint64_t RamKeyHash(std::string_view key);

class RamTier {
 public:
  // Per-entry bookkeeping charged on top of key and value bytes.
  // Measured with 200 000 objects (glibc malloc): node, key copy, hash-map entry
  // and shared value header cost about 290 bytes besides the key and value.
  static constexpr uint64_t kEntryOverhead = 288;

  explicit RamTier(uint64_t capacity_bytes);
  ~RamTier();
  RamTier(const RamTier&) = delete;
  RamTier& operator=(const RamTier&) = delete;

  // A live (not expired at `now`) resident copy; counts a hit or a miss.
  bool Lookup(std::string_view key, uint64_t hash, int64_t now, RamHit* out);

  uint64_t BeginFill(uint64_t hash);
  // Returns true when the object was installed.
  bool Fill(std::string_view key, uint64_t hash, uint64_t ticket, SharedValue value, uint32_t flags,
            int64_t expiry, uint64_t version, int64_t now);

  // The store accepted a write of `key` with `version`. A resident copy is
  // replaced by a copy of `value` (when newer); the bytes are copied only then.
  void OnWrite(std::string_view key, uint64_t hash, uint64_t version, std::string_view value,
               uint32_t flags, int64_t expiry);
  // The key was deleted or is unknown to the store: drop any resident copy.
  void Invalidate(std::string_view key, uint64_t hash);
  // flush_all.
  void Clear();

  RamTierStats Stats() const;
  uint64_t capacity() const { return capacity_; }
  uint64_t max_object() const { return max_object_; }

 private:
  struct Node;
  struct List {
    Node* head = nullptr;
    Node* tail = nullptr;
    uint64_t bytes = 0;
    uint64_t count = 0;
    void PushHead(Node* n);
    void Remove(Node* n);
  };
  struct Shard {
    std::mutex mu;
    std::unordered_map<std::string_view, Node*> map;
    List small, main;
    std::unordered_set<uint64_t> ghost;
    std::deque<uint64_t> ghost_fifo;
    std::vector<uint32_t> writes;  // per-stripe write counters
    uint64_t capacity = 0;
  };
  static constexpr uint32_t kStripes = 1024;

  Shard& ShardFor(uint64_t hash) { return shards_[(hash >> 40) % shards_.size()]; }
  static uint32_t StripeOf(uint64_t hash) { return static_cast<uint32_t>(hash % kStripes); }
  uint64_t TicketLocked(Shard& s, uint64_t hash) const;
  void Unlink(Shard& s, Node* n);  // removes from list and map, frees
  void EvictLocked(Shard& s);
  void GhostAdd(Shard& s, uint64_t hash);

  uint64_t capacity_;
  uint64_t max_object_;
  std::vector<Shard> shards_;
  std::atomic<uint32_t> epoch_{0};
  mutable std::atomic<uint64_t> hits_{0}, misses_{0}, evictions_{0}, fills_{0}, fills_stale_{0},
      fills_too_large_{0}, items_{0}, bytes_{0};
};

}  // namespace coss::server
