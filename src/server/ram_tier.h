// RamTier: a byte-bounded in-memory cache of hot objects in front of the store.
//
// Memory: segment-structured, the COSS idea applied to RAM (as Pelikan's
// Segcache does). Each shard cuts its share of -m into segments (64 or
// 128 KiB); objects are appended, byte-packed (ram_item.h), to an open
// segment, and a compact hash index (ram_index.h) maps each key to its place
// in 8 bytes plus bucket slack. An object costs its key and value plus about
// 16 bytes (5-7 of header, 9-10 of index, 1 of ghost filter): no per-object
// allocation, pointer or list node. Everything is charged to -m: segments,
// index, ghost filter, counters, and one spare segment per shard for eviction.
// A delete or overwrite leaves dead bytes in a segment until it is evicted.
// An object larger than a segment gets a segment of its own, sized for it
// (a jumbo segment: freed, or moved to main whole, when it is evicted).
//
// Policy: S3-FIFO (Yang et al., SOSP'23) per shard, over segments: new objects
// are appended to the small queue's open segment (10 % of the bytes); when the
// oldest small segment is evicted, its objects read again while there are
// copied to the main queue, the others leave a ghost (GhostFilter) so that a
// quick return goes straight to main. Evicting the oldest main segment copies
// forward the objects read since they were placed (with one read less: a
// CLOCK-like second chance) and drops the rest.
//
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
// Writes in flight: BeginWrite also marks the key's stripe busy until the
//   write's OnWrite or EndWrite. UpdateOnlyCopy (a read-modify-write of a value
//   only the tier holds) changes nothing while its stripe is busy: a plain set
//   whose store write is done but whose OnWrite is not would otherwise be
//   overwritten by a result computed from the value before it.
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
#include <vector>

#include "coss/bytes.h"
#include "server/ghost_filter.h"
#include "server/ram_index.h"
#include "server/ram_item.h"

namespace coss::server {

struct RamHit {
  Bytes value;
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
  uint64_t copied_forward = 0;   // objects copied to the main queue when their segment left
};

uint64_t RamKeyHash(std::string_view key);

class RamTier {
 public:
  // The most -m can be: 64 shards of the index's 16384 segments of 128 KiB.
  static constexpr uint64_t kMaxShards = 64;
  static constexpr uint64_t kMaxCapacity =
      kMaxShards * RamSlot::kMaxSegments * (RamSlot::kMaxOffset + 1);

  explicit RamTier(uint64_t capacity_bytes);
  ~RamTier();
  RamTier(const RamTier&) = delete;
  RamTier& operator=(const RamTier&) = delete;

  // A live (not expired at `now`) resident copy; counts a hit or a miss.
  bool Lookup(std::string_view key, uint64_t hash, int64_t now, RamHit* out);

  uint64_t BeginFill(uint64_t hash);
  // Returns true when the object was installed.
  bool Fill(std::string_view key, uint64_t hash, uint64_t ticket, Bytes value, uint32_t flags,
            int64_t expiry, uint64_t version, int64_t now);

  // Taken before the store write whose result OnWrite reports; the write is in
  // flight (its stripe busy) until OnWrite, or EndWrite when the store refused
  // it or the caller reports it otherwise. Exactly one of the two follows.
  uint64_t BeginWrite(uint64_t hash);
  void EndWrite(uint64_t hash);
  // The store accepted a write of `key` with `version`. A resident copy is
  // replaced by a copy of `value` (when newer); an absent key is inserted under
  // the BeginWrite rule above. only_copy: the store kept the value off its ring.
  // Ends the write BeginWrite began.
  void OnWrite(std::string_view key, uint64_t hash, uint64_t ticket, uint64_t version,
               std::string_view value, uint32_t flags, int64_t expiry, bool only_copy, int64_t now);
  // A read-modify-write of an only copy (DropStoreCopy returned it with
  // `read_version`): replaces it with `value` under `version` (a fresh one,
  // or read_version for a touch) if it is still that copy, still an only copy,
  // and no write of its stripe is in flight; an expiry at or before `now`
  // deletes it. The result stays an only copy: the store never sees it.
  enum class Update : uint8_t {
    kDone,
    kChanged,   // the copy changed, left, or a write is in flight: read again
    kTooLarge,  // the result exceeds max_object(); the copy is unchanged
    kNoRoom,    // no room for the result: the copy is gone
  };
  Update UpdateOnlyCopy(std::string_view key, uint64_t hash, uint64_t read_version,
                        std::string_view value, uint32_t flags, int64_t expiry, uint64_t version,
                        int64_t now);
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
  // True when that copy was an only copy (the key existed, in the tier alone).
  bool Invalidate(std::string_view key, uint64_t hash);
  // The store no longer has the key (evicted from its ring): drop a resident
  // copy, unless it is an only copy (which the store never had). Returns true
  // and fills *only (not counted as a hit) when such a copy is live at `now`.
  bool DropStoreCopy(std::string_view key, uint64_t hash, int64_t now, RamHit* only);
  // flush_all.
  void Clear();

  RamTierStats Stats() const;
  uint64_t capacity() const { return capacity_; }
  // Largest key + value that may enter (an eighth of a shard; objects larger
  // than a segment get a segment of their own).
  uint64_t max_object() const { return max_object_; }
  uint32_t segment_bytes() const { return segment_bytes_; }

 private:
  enum Queue : uint8_t { kSmall = 0, kMain = 1 };
  struct Segment {
    std::unique_ptr<char[]> mem;  // null: an unused id
    uint32_t size = 0;            // bytes of mem
    uint32_t used = 0;            // bytes appended
    uint64_t base_version = 0;    // versions are stored relative to it
    Queue queue = kSmall;
    bool jumbo = false;  // holds one object larger than a segment; freed when it leaves
    // A jumbo segment's value, shared rather than copied (a fill keeps the
    // device buffer it was read into; a hit hands out a reference): mem then
    // holds only the item's header and key (value length 0).
    Bytes value;
  };
  struct Shard {
    mutable std::mutex mu;
    RamIndex index;
    GhostFilter ghost{64};
    std::vector<Segment> segs;         // by id
    std::vector<uint32_t> free_ids;    // evicted segments that keep their memory for reuse
    std::vector<uint32_t> empty_ids;   // ids without memory
    std::deque<uint32_t> fifo[2];      // sealed segments per queue, oldest first
    int64_t open[2] = {-1, -1};        // open segment per queue
    uint64_t allocated = 0;            // bytes of segment memory held
    uint64_t queue_bytes[2] = {0, 0};  // segment bytes in each queue (open ones included)
    uint64_t capacity = 0;
    std::vector<uint32_t> writes;   // per-stripe: writes and departures (fill tickets)
    std::vector<uint32_t> drops;    // per-stripe: departures only (write tickets)
    std::vector<uint16_t> writing;  // per-stripe: writes in flight (BeginWrite..OnWrite/EndWrite)
  };
  static constexpr uint32_t kStripes = 1024;

  Shard& ShardFor(uint64_t hash) { return shards_[((hash >> 32) & 0xfffff) % shards_.size()]; }
  static uint32_t StripeOf(uint64_t hash) { return static_cast<uint32_t>(hash % kStripes); }
  uint64_t TicketLocked(Shard& s, uint64_t hash) const;
  uint64_t WriteTicketLocked(Shard& s, uint64_t hash) const;

  // The slot of `key`, or nullptr.
  uint64_t* FindLocked(Shard& s, std::string_view key, uint64_t hash);
  const char* ItemAt(Shard& s, uint64_t slot) {
    return s.segs[RamSlot::Segment(slot)].mem.get() + RamSlot::Offset(slot);
  }
  ram_item::Fields DecodeAt(Shard& s, uint64_t slot);
  // A hit's fields for the caller (a jumbo segment's value by reference).
  static void CopyOut(const Shard& s, uint64_t slot, const ram_item::Fields& f, int64_t now,
                      RamHit* out);
  // Appends an object to `queue`'s open segment, making room first; returns
  // the new slot's location bits (RamSlot::Make with hash). for_eviction: the
  // copy-forward of an eviction, which may use the spare segment.
  // shared: f's value as a Bytes, kept by reference if the object gets a jumbo
  // segment (else copied).
  uint64_t AppendLocked(Shard& s, Queue queue, uint64_t hash, const ram_item::Fields& f,
                        bool for_eviction, const Bytes* shared = nullptr);
  // Appends (to small, or to main for a ghost) and indexes a new object;
  // false when there was no room.
  bool InsertLocked(Shard& s, uint64_t hash, const ram_item::Fields& f, bool only_copy, int64_t now,
                    const Bytes* shared = nullptr);
  // Indexes an appended object (grows the index, and makes room, as needed).
  void IndexLocked(Shard& s, uint64_t hash, uint64_t loc, bool only_copy, int64_t now);
  void EraseLocked(Shard& s, uint64_t* slot, uint64_t hash);  // the object departs
  // Replaces the object at *slot with `f` in the object's queue (the old bytes
  // stay behind, dead); false when there was no room (the object is gone).
  bool ReplaceLocked(Shard& s, uint64_t* slot, uint64_t hash, const ram_item::Fields& f,
                     bool only_copy, int64_t now);
  void EndWriteLocked(Shard& s, uint64_t hash);
  // What a shard keeps besides segments: index, ghost filter, ticket counters.
  static uint64_t OverheadBytes(const Shard& s);
  uint64_t BudgetBytes(const Shard& s) const;  // segment memory the shard may hold
  // Evicts until `need` more bytes of segments fit beside the spare segment
  // that an eviction's copies may need.
  void MakeRoomLocked(Shard& s, uint64_t need, bool jumbo);
  // -1: no room. size: bytes charged. jumbo_mem: 0 for a plain segment (mem of
  // `size` bytes), else a jumbo one whose mem has jumbo_mem bytes.
  int64_t NewSegmentLocked(Shard& s, uint64_t size, uint64_t jumbo_mem = 0);
  uint64_t AppendJumboLocked(Shard& s, Queue q, uint64_t hash, const ram_item::Fields& f,
                             Bytes value);
  void EvictOneLocked(Shard& s);
  void ResizeIndexLocked(Shard& s, uint64_t items);
  uint64_t SlotHashLocked(Shard& s, uint64_t slot);  // key hash of the object a slot points to
  void FreeSegmentLocked(Shard& s, uint32_t id);
  void ResetShardLocked(Shard& s);

  uint64_t capacity_;
  uint64_t max_object_;
  uint32_t segment_bytes_;
  std::vector<Shard> shards_;
  std::atomic<uint32_t> epoch_{0};
  std::atomic<int64_t> now_{0};  // the latest time a caller gave (for evictions)
  mutable std::atomic<uint64_t> hits_{0}, misses_{0}, evictions_{0}, fills_{0}, fills_stale_{0},
      fills_too_large_{0}, items_{0}, writes_in_{0}, copied_forward_{0};
};

}  // namespace coss::server
