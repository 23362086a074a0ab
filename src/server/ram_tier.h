// RamTier: a byte-bounded in-memory cache of hot objects in front of the store.
//
// Policy: S3-FIFO (Yang et al., SOSP'23) per shard: new objects enter a small
// FIFO (10 % of the bytes); those read again while there move to the main FIFO,
// the others leave a ghost (their key hash) so that a quick return goes straight
// to main. Main is a FIFO with a 2-bit frequency (CLOCK-like second chances).
// Objects enter when read from the store's disk (fills) and when written: a
// value just stored is readable from RAM whatever the store's admission policy
// decided about its ring (read-your-writes while the tier has room).
//
// Write-through: every write goes to the store first; the tier is then updated
// or invalidated. When admission kept a written value off the ring, the tier
// holds its only copy (marked only_copy); a clean stop hands those to the store
// (ForEachOnlyCopy), so a restart still serves them.
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
// No stale inserts by writers: a writer takes ticket = BeginWrite(hash) before
//   the store write, and OnWrite inserts an absent key only if no copy of the
//   key's stripe left the tier (delete, invalidation, eviction, expiry) and no
//   Clear() came since: otherwise the key might have held a newer value that is
//   gone now. An OnWrite that may not insert counts as such a departure, so a
//   slower writer of an older version that took its ticket later cannot insert
//   either.
//
// Thread-safe: shards are guarded by their own mutex; statistics are atomics.
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
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
  uint64_t writes_in = 0;        // written objects that entered the tier (read-your-writes)
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

  // Taken before the store write whose result OnWrite reports.
  uint64_t BeginWrite(uint64_t hash);
  // The store accepted a write of `key` with `version`. A resident copy is
  // replaced by a copy of `value` (when newer); an absent key is inserted under
  // the BeginWrite rule above. only_copy: the store kept the value off its ring.
  void OnWrite(std::string_view key, uint64_t hash, uint64_t ticket, uint64_t version,
               std::string_view value, uint32_t flags, int64_t expiry, bool only_copy, int64_t now);
  // Every resident object that only this tier holds and that is live at `now`
  // (a clean stop stores them). Holds each shard's lock while it visits it.
  struct OnlyCopy {
    std::string_view key;
    std::string_view value;
    uint32_t flags;
    int64_t expiry;
    uint64_t version;
  };
  void ForEachOnlyCopy(int64_t now, const std::function<void(const OnlyCopy&)>& fn);
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
    std::vector<uint32_t> writes;  // per-stripe: writes and departures (fill tickets)
    std::vector<uint32_t> drops;   // per-stripe: departures only (write tickets)
    uint64_t capacity = 0;
  };
  static constexpr uint32_t kStripes = 1024;

  Shard& ShardFor(uint64_t hash) { return shards_[(hash >> 40) % shards_.size()]; }
  static uint32_t StripeOf(uint64_t hash) { return static_cast<uint32_t>(hash % kStripes); }
  uint64_t TicketLocked(Shard& s, uint64_t hash) const;
  uint64_t WriteTicketLocked(Shard& s, uint64_t hash) const;
  bool Install(Shard& s, std::string_view key, uint64_t hash, SharedValue value, uint32_t flags,
               int64_t expiry, uint64_t version, uint64_t charge, int64_t now, bool only_copy);
  void Unlink(Shard& s, Node* n);  // removes from list and map, frees
  void EvictLocked(Shard& s);
  void GhostAdd(Shard& s, uint64_t hash);

  uint64_t capacity_;
  uint64_t max_object_;
  std::vector<Shard> shards_;
  std::atomic<uint32_t> epoch_{0};
  mutable std::atomic<uint64_t> hits_{0}, misses_{0}, evictions_{0}, fills_{0}, fills_stale_{0},
      fills_too_large_{0}, items_{0}, bytes_{0}, writes_in_{0};
};

}  // namespace coss::server
