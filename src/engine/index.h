// Index: the in-memory map from key hash to packed Location.
//
// Layout: 1024 partitions chosen by the low 10 bits of the 64-bit key hash; each
// partition is an open-addressing table with linear probing over 12-byte slots
// {tag = high 32 bits of the hash, packed Location}. A slot's home position is
// (tag * capacity) >> 32, so any capacity works and a partition grows by 1.25x
// when its load passes 0.85 — the steady-state load stays between 0.68 and 0.85,
// i.e. 14-18 bytes per object. Deletion uses backward shift (no tombstones).
//
// Identity: a slot matches a key when partition and tag agree (42 hash bits).
// Two keys that agree on all 42 bits share a slot: the newer evicts the older,
// which is a miss, never wrong data, because every read compares the full key
// stored with the record.
//
// Locking: partitions are guarded by kLockStripes mutexes (partition p by lock
// p % kLockStripes). Every public call below takes the lock of the partition it
// touches (Clear and Reserve take them all), so lookups on different
// partitions never wait for each other. Calls that change which slots exist
// (Assign of a new hash, Erase, Sweep, Clear, Reserve) must also be serialized
// by the caller: the shard's mutex (size_ and capacity_ are kept under it).
// The read path instead holds one partition's lock across a lookup and an
// in-place update (Lock + FindLocked + UpdateLocked) without the shard's mutex;
// the shard changes what such a reader may see about a stripe (generation,
// membuf) only while holding every partition lock (AllLocked), so a reader
// sees a stripe's state consistent with the entry it found.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <vector>

namespace coss {

class Index {
 public:
  static constexpr uint32_t kPartitionBits = 10;
  static constexpr uint32_t kPartitions = 1u << kPartitionBits;
  // 32: ThreadSanitizer follows at most 64 locks held at once by one thread
  // (AllLocked holds them all, plus the ring mutex).
  static constexpr uint32_t kLockStripes = 32;

  explicit Index(uint64_t expected_objects = 0);

  // Packed location for hash, or 0 when absent.
  uint64_t Find(uint64_t hash) const;
  // Sets hash -> packed (packed != 0). Returns the previous packed value or 0.
  uint64_t Assign(uint64_t hash, uint64_t packed);
  // Replaces the value only if the current one equals `expect` (full 64 bits).
  bool CompareAndSet(uint64_t hash, uint64_t expect, uint64_t packed);
  // Removes hash; returns the removed packed value or 0.
  uint64_t Erase(uint64_t hash);
  void Clear();
  // Grows every partition to hold `total` objects (spread evenly) at load 0.8
  // without further growth. Loads of many entries call it first: inserting
  // sorted hashes into a table that grows step by step is quadratic.
  void Reserve(uint64_t total);

  // Visits every slot of one partition; slots for which `drop` returns true are
  // removed. Used by the stale-entry sweeper.
  void Sweep(uint32_t partition, const std::function<bool(uint64_t packed)>& drop);

  // Calls fn(hash, packed) for every slot of one partition. `hash` carries the
  // bits the index keeps (partition and tag): enough to Assign it back.
  void Visit(uint32_t partition,
             const std::function<void(uint64_t hash, uint64_t packed)>& fn) const;

  // The lock of hash's partition, held by the caller for FindLocked and
  // UpdateLocked (the read path).
  std::unique_lock<std::mutex> Lock(uint64_t hash) {
    return std::unique_lock<std::mutex>(locks_[hash & (kLockStripes - 1)].mu);
  }
  // As Find, with the partition's lock already held.
  uint64_t FindLocked(uint64_t hash) const;
  // Replaces the value of an entry that exists (a hit counter update); never
  // inserts, so it needs no serialization beyond the partition's lock.
  void UpdateLocked(uint64_t hash, uint64_t packed);

  // Every partition lock, in order, for as long as it lives.
  class AllLocked {
   public:
    explicit AllLocked(Index& idx);
    ~AllLocked();
    AllLocked(const AllLocked&) = delete;
    AllLocked& operator=(const AllLocked&) = delete;

   private:
    Index& idx_;
  };

  uint64_t size() const { return size_; }
  uint64_t capacity() const { return capacity_; }
  uint64_t MemoryBytes() const;

 private:
  struct Slot {
    uint32_t tag;
    uint32_t lo;  // packed location, low half
    uint32_t hi;  // packed location, high half; lo == hi == 0 means empty
    uint64_t packed() const { return uint64_t{lo} | (uint64_t{hi} << 32); }
    void set(uint64_t p) {
      lo = static_cast<uint32_t>(p);
      hi = static_cast<uint32_t>(p >> 32);
    }
    bool empty() const { return (lo | hi) == 0; }
  };
  static_assert(sizeof(Slot) == 12);

  struct Partition {
    std::unique_ptr<Slot[]> slots;
    uint32_t cap = 0;
    uint32_t count = 0;
  };

  static uint32_t Home(uint32_t tag, uint32_t cap) {
    return static_cast<uint32_t>((uint64_t{tag} * cap) >> 32);
  }
  Slot* Lookup(Partition& p, uint32_t tag) const;
  void EraseAt(Partition& p, uint32_t i);
  void Grow(Partition& p);
  void GrowTo(Partition& p, uint32_t ncap);
  static void Place(Partition& p, uint32_t tag, uint64_t packed);

  struct alignas(64) LockStripe {
    std::mutex mu;
  };
  std::mutex& LockOf(uint32_t partition) const { return locks_[partition & (kLockStripes - 1)].mu; }

  std::unique_ptr<LockStripe[]> locks_{new LockStripe[kLockStripes]};
  std::vector<Partition> parts_;
  uint32_t initial_cap_;
  uint64_t size_ = 0;
  uint64_t capacity_ = 0;
};

}  // namespace coss
