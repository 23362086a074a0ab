// Shard: one device's cyclic stripe ring, its index and its membufs.
//
// Files: shard.cc (ring: membufs, reclaim, sweep, device writes, flush),
// write_path.cc (Put/Remove/Clear), read_path.cc (Get, relocation),
// recovery.cc (format and rebuild at open).
//
// Concurrency: one mutex (mu_) guards all state below. Device I/O is never
// submitted while mu_ is held (collected as `Actions` and issued after unlock),
// because callbacks may run inline and take mu_.
//
// Invariants (each provoked by a deterministic test in tests/engine/races_test.cc):
//  (a) an index entry is published only after its record bytes are in a membuf,
//      and a stripe is served from its membuf until the device write completes;
//  (b) a run is written to the device only when no read is pinned on any of its
//      stripes (pins are taken under mu_ before a read is issued, dropped after);
//  (c) a relocation is applied only if the index still holds the identity of the
//      copy that was read, in the same critical section as the append, so a
//      concurrent overwrite or delete always wins.
//  (d) reclaiming a stripe bumps its generation: every entry in it becomes
//      unreachable at once; the sweeper frees those slots within one lap.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include "coss/engine.h"
#include "engine/counters.h"
#include "engine/format.h"
#include "engine/index.h"
#include "engine/location.h"
#include "engine/membuf.h"
#include "engine/relocation.h"
#include "io/device.h"

namespace coss {

struct ShardConfig {
  const EngineOptions* opts;
  uint32_t device_index;
  uint32_t device_count;
  const RelocationPolicy* policy;
  Counters* counters;
  std::atomic<uint64_t>* versions;  // engine-wide version (CAS) counter
};

class Shard {
 public:
  Shard(ShardConfig cfg, std::unique_ptr<Device> dev);
  ~Shard();

  // Reads or creates the superblock and rebuilds the index from stripe
  // metadata. `uuid` is in/out: empty on the first device, then shared.
  Status Open(format::Uuid* uuid, bool* have_uuid);

  void Get(uint64_t hash, std::string_view key, GetCallback cb);
  PutResult Put(uint64_t hash, const PutRequest& req);
  Status Remove(uint64_t hash, std::string_view key, const Locator* expect);
  Status Clear();
  Status Flush();
  void Close();

  // Adds this shard's live object and byte counts and index memory.
  void AddStats(StatsSnapshot* s);

  uint32_t stripe_count() const { return nstripes_; }
  uint32_t stripe_size() const { return stripe_size_; }
  Device& device() { return *dev_; }

 private:
  struct StripeState {
    uint64_t seq = 0;         // seq of the current content (0: none)
    uint8_t gen = 0;          // reclaim generation (see location.h)
    uint32_t live = 0;        // live index entries in this stripe
    uint64_t live_bytes = 0;  // their record bytes (by size class)
    uint32_t pins = 0;        // device reads in flight against this stripe
    Membuf* membuf = nullptr;
  };

  // Device writes to start once mu_ is released.
  struct Actions {
    std::vector<Membuf*> writes;
  };

  using Lock = std::unique_lock<std::mutex>;

  // --- ring (shard.cc) ---
  uint64_t StripeOffset(uint32_t stripe) const {
    return format::kSuperblockSize + uint64_t{stripe} * stripe_size_;
  }
  bool Live(uint64_t packed) const;
  // Makes room for `footprint` bytes in the open membuf, sealing it and opening
  // the next one if needed. May wait (kWait) unless `may_wait` is false.
  Result<Membuf*> Reserve(Lock& lk, uint64_t footprint, bool may_wait, Actions* act);
  Result<Membuf*> OpenRun(Lock& lk, uint32_t span, bool may_wait, Actions* act);
  void Reclaim(uint32_t stripe);
  void Seal(Membuf* mb, Actions* act);
  void TryStartWrite(Membuf* mb, Actions* act);
  void RetryPinnedWrites(Actions* act);
  void Issue(Actions& act);
  void OnWriteDone(Membuf* mb, Status st);
  void SweepSome(uint32_t partitions);
  void DropEntry(uint64_t packed);  // live-count bookkeeping for a removed live entry

  // --- write path (write_path.cc) ---
  // Appends one record and returns its packed location (hits 0).
  uint64_t Append(Membuf* mb, format::RecordType type, uint64_t hash, std::string_view key,
                  std::string_view value, uint32_t flags, uint64_t version, int64_t expiry);
  Status AppendTombstone(Lock& lk, uint64_t hash, std::string_view key, format::RecordType type,
                         Actions* act);

  // --- read path (read_path.cc) ---
  struct DiskRead;
  void FinishDiskRead(DiskRead* r, Status st);
  void Unpin(uint32_t first, uint32_t count);
  double Age(uint32_t stripe) const;

  // --- recovery (recovery.cc) ---
  Status Format(const format::Uuid& uuid);
  Status Rebuild();

  ShardConfig cfg_;
  std::unique_ptr<Device> dev_;
  uint32_t stripe_size_;
  uint32_t nstripes_ = 0;
  uint64_t uuid_seed_ = 0;
  Counters& ctr_;

  std::mutex mu_;
  std::condition_variable space_cv_;  // a membuf became free / a write finished
  Index index_;
  std::vector<StripeState> stripes_;
  std::vector<std::unique_ptr<Membuf>> pool_;
  std::vector<Membuf*> free_;
  std::vector<Membuf*> pinned_;  // sealed runs waiting for pins to drain
  Membuf* open_ = nullptr;
  uint32_t head_ = 0;  // next stripe to open
  uint64_t next_seq_ = 1;
  uint32_t in_flight_ = 0;       // data membufs open or not yet written
  uint32_t writes_pending_ = 0;  // membufs (any kind) sealed and not yet written
  uint32_t sweep_cursor_ = 0;
  uint64_t live_objects_ = 0;
  uint64_t live_bytes_ = 0;
  uint32_t rng_ = 0x9E3779B9u;  // for hit counter increments
  bool closed_ = false;
};

}  // namespace coss
