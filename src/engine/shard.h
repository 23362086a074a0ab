// Shard: one device's cyclic stripe ring, its index and its membufs.
//
// Files: shard.cc (ring: membufs, reclaim, sweep, device writes, flush),
// write_path.cc (Put/Remove/Clear), read_path.cc (Get, relocation),
// recovery.cc (format and rebuild at open).
//
// Concurrency: the ring mutex (mu_) guards the ring, the membufs and every
// change to the index's set of keys; the read path does not take it. A Get
// holds only the lock of its key's index partition (Index::Lock, one of 32)
// while it looks the key up, bumps its hit counter, and either copies the value
// out of a membuf or pins the stripe for a device read; it takes mu_ only to
// drop an expired entry. What a Get reads about a stripe is kept consistent by
// this rule: a stripe's generation, membuf and seq change only under mu_ AND
// every partition lock (Index::AllLocked, taken once per run opened or written:
// about 1 us per MiB). Pins and the max hit counter, which Gets on different
// partitions update at once, are atomics (PinsOf, MaxHitsOf). A read completion
// takes mu_ only to drop an expired entry, to relocate, or when a sealed run
// waits for pins to drain (pinned_count_). Lock order: mu_, then partition
// locks; a partition lock is never held while taking mu_.
// Device I/O is never submitted while a lock is held (collected as `Actions`
// and issued after unlock), because callbacks may run inline and take mu_.
//
// Invariants (each provoked by a deterministic test in tests/engine/races_test.cc):
//  (a) an index entry is published only after its record bytes are in a membuf,
//      and a stripe is served from its membuf until the device write completes;
//  (b) a run is written to the device only when no read is pinned on any of its
//      stripes (pins are taken under the partition lock before a read is issued,
//      dropped after; see the concurrency rule above);
//  (c) a relocation is applied only if the index still holds the identity of the
//      copy that was read, in the same critical section as the append, so a
//      concurrent overwrite or delete always wins.
//  (d) reclaiming a stripe bumps its generation: every entry in it becomes
//      unreachable at once; the sweeper frees those slots within one lap.
//  (e) once Close has begun (closing_), no run is opened: Reserve fails, and an
//      evacuation or relocation completing meanwhile only drops its pins, so the
//      checkpoint never names a run that Close does not write (provoked in
//      tests/engine/policy_test.cc, EvacuationDuringCloseLosesNothing).
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "coss/engine.h"
#include "engine/admission.h"
#include "engine/counters.h"
#include "engine/format.h"
#include "engine/index.h"
#include "engine/journal.h"
#include "engine/location.h"
#include "engine/membuf.h"
#include "engine/reinsertion.h"
#include "engine/relocation.h"
#include "engine/version_clock.h"
#include "io/buffer_pool.h"
#include "io/device.h"

namespace coss {

struct ShardConfig {
  const EngineOptions* opts;
  uint32_t device_index;
  uint32_t device_count;
  const RelocationPolicy* policy;
  Counters* counters;
  VersionClock* versions;              // engine-wide version (CAS) source
  const PolicySpec* spec = nullptr;    // reinsertion and admission (policy.h); null: none
  bool default_checkpoint = true;      // DeviceSpec::checkpoint "" means path + ".ckpt"
  bool journal = true;                 // false for simulated devices (no crash to survive)
  BufferPool* read_buffers = nullptr;  // engine-wide; outlives the shard
};

class Shard {
 public:
  Shard(ShardConfig cfg, std::unique_ptr<Device> dev);
  ~Shard();

  // Reads or creates the superblock and rebuilds the index from stripe
  // metadata. `uuid` is in/out: empty on the first device, then shared.
  Status Open(format::Uuid* uuid, bool* have_uuid);

  void Get(uint64_t hash, std::string_view key, GetCallback cb);
  uint64_t SizeHint(uint64_t hash);  // see Engine::SizeHint
  PutResult Put(uint64_t hash, const PutRequest& req);
  Status Remove(uint64_t hash, std::string_view key, const Locator* expect, uint64_t* lsn);
  Status Clear(uint64_t* lsn);
  // The version clock's reservation (version_clock.h) goes into this device's
  // journal: asynchronously, or now and durably (false: no journal).
  void RequestJournalBlock() {
    if (journal_) journal_->RequestBlock();
  }
  Status WriteJournalBlockNow() { return journal_ ? journal_->WriteNow() : Status::Ok(); }
  // Runs cb once journal entry `lsn` is on stable storage (see journal.h).
  void WhenPersisted(uint64_t lsn, Persistence level, std::function<void(const Status&)> cb);
  // Journal::WriteHere (true without a journal).
  bool WriteJournalHere(uint64_t lsn) { return journal_ == nullptr || journal_->WriteHere(lsn); }
  Status Flush();
  // Seals the open membuf if its first record was appended at or before cutoff
  // (EngineOptions::max_buffer_age_s).
  void SealIfOlder(std::chrono::steady_clock::time_point cutoff);
  void Close();
  // dev_->Sync(); a failure fails the journal too (Journal::SyncFailedElsewhere).
  Status SyncDevice();

  // Dumps the index to the checkpoint file without holding the mutex for more
  // than one index partition at a time (see checkpoint.h).
  Status WriteCheckpoint(bool clean);

  // Adds this shard's live object and byte counts and index memory.
  void AddStats(StatsSnapshot* s);

  // Admission of a put (admission.h): false = drop it. Keys the index holds
  // are always admitted. A dropped put is a value stored and evicted at once:
  // it may be acknowledged only when no older copy of the key can come back,
  // so on false *lsn is the journal entry to wait for (every write accepted
  // before, such as an earlier delete's tombstone), and *version the dropped
  // value's version (keep_version, or the next one, taken under the lock).
  // Implemented in shard_policies.cc.
  bool Admit(uint64_t hash, uint64_t bytes, uint64_t keep_version, uint64_t* lsn,
             uint64_t* version);

  uint32_t stripe_count() const { return nstripes_; }
  uint64_t key_seed() const { return key_seed_; }
  uint32_t stripe_size() const { return stripe_size_; }
  Device& device() { return *dev_; }

 private:
  struct StripeState {
    // seq, gen, membuf: written under mu_ and Index::AllLocked (or in Open).
    uint64_t seq = 0;  // seq of the current content (0: none)
    uint8_t gen = 0;   // reclaim generation (see location.h)
    Membuf* membuf = nullptr;
    uint32_t live = 0;        // live index entries in this stripe (mu_)
    uint64_t live_bytes = 0;  // their record bytes (by size class) (mu_)
    uint32_t pins = 0;        // device reads in flight against this stripe (PinsOf only)
    uint8_t max_hits = 0;     // highest hit counter read since written (MaxHitsOf only)
    bool evacuating = false;  // its evacuation read is in flight (not reclaimed meanwhile) (mu_)
  };
  static std::atomic_ref<uint32_t> PinsOf(StripeState& s) { return std::atomic_ref(s.pins); }
  static std::atomic_ref<uint8_t> MaxHitsOf(StripeState& s) { return std::atomic_ref(s.max_hits); }

  struct Evacuation;  // shard_policies.cc

  // Device writes to start once mu_ is released.
  struct Actions {
    std::vector<Membuf*> writes;
    std::vector<Evacuation*> evacuations;  // stripe reads for lazy reinsertion
  };

  using Lock = std::unique_lock<std::mutex>;

  // --- ring (shard.cc) ---
  uint64_t StripeOffset(uint32_t stripe) const {
    return data_start_ + uint64_t{stripe} * stripe_size_;
  }
  // Highest seq such that every stripe with a lower or equal seq has been
  // written, and every failed run at or below it is settled (relogged_).
  // For the journal (journal.h, durable_candidate). Settles what
  // `written_through` settles.
  uint64_t DurableCandidate(uint64_t written_through);
  // The same without the failed runs' settling, for a checkpoint's replay point.
  uint64_t WrittenCandidate();
  // Seals the open membuf if it holds records (the journal needs it on disk).
  void SealOpenForJournal();
  // A failed stripe write: queues what it held for re-logging (relog_).
  void CollectLostRecords(Membuf* mb);
  // Appends a tombstone (or clear) for each queued lost record, as room allows:
  // the older copies on disk must not come back after a crash.
  void RelogLostRecords(Lock& lk, Actions* act);
  void PopLostRecord();
  // A failed run's lost record is shadowed by a newer one in run `newer`:
  // hold the failed run (relogged_) until that record is safe.
  void HoldForShadow(uint64_t failed, uint64_t newer);
  // A run's write completed: the failed runs whose tombstones it held may be settled.
  void SettleRelogged(uint64_t run);
  // Under mu_ or the entry's partition lock (reads the stripe's generation).
  bool Live(uint64_t packed) const;
  // True while the stripe an index entry points into holds content that is not
  // yet durable: after a power cut the entry's old copy could still be there.
  bool OldCopyMayReturn(uint64_t packed) const;
  // Makes room for `footprint` bytes in the open membuf, sealing it and opening
  // the next one if needed. May wait (kWait) unless `may_wait` is false.
  Result<Membuf*> Reserve(Lock& lk, uint64_t footprint, bool may_wait, Actions* act);
  Result<Membuf*> OpenRun(Lock& lk, uint32_t span, bool may_wait, Actions* act);
  void Reclaim(uint32_t stripe);  // REQUIRES: mu_ and Index::AllLocked (or in Open)
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
  // A tombstone or clear record, journaled (*lsn: its entry; *run: the seq of
  // the run it went into). Without may_wait it fails (kBusy) rather than wait
  // for a membuf.
  Status AppendTombstone(Lock& lk, uint64_t hash, std::string_view key, format::RecordType type,
                         Actions* act, uint64_t* lsn, bool may_wait = true,
                         uint64_t* run = nullptr);

  // --- read path (read_path.cc) ---
  struct DiskRead;
  void FinishDiskRead(DiskRead* r, Status st);
  void Unpin(uint32_t first, uint32_t count);
  // Fraction of a lap since the stripe was written (1: just now), from
  // head_hint_: exact under mu_, a hint without it.
  double Age(uint32_t stripe) const;
  // The entry for hash if it is still the copy `identity` (and live), else 0.
  // Takes the entry's partition lock; callable with or without mu_.
  uint64_t SameCopy(uint64_t hash, uint64_t identity);
  // What the relocation policy says of a record read from disk whose entry is cur.
  bool WantsRelocation(const format::RecordView& rec, uint64_t cur) const;

  // --- lazy reinsertion at eviction (shard_policies.cc) ---
  // After `opened` took its stripes: plans the read of the next stripe to reclaim.
  void ScheduleEvacuation(Membuf* opened, Actions* act);
  void PlanEvacuation(uint32_t stripe, Actions* act);
  // Evacuations waiting for a membuf go on (after mu_ is released, via act).
  void ResumeEvacuations(Actions* act);
  // At Close (invariant (e)): they never will; their stripes are unmarked.
  void DropWaitingEvacuations();
  void IssueEvacuation(Evacuation* ev);
  void FinishEvacuation(Evacuation* ev, Status st);
  bool ParseEvacuated(Evacuation* ev);
  // False: every membuf was in flight; resume later from ev->next.
  bool Reinsert(Lock& lk, Evacuation* ev, Actions* act);
  void UpdateReinsertionBudget();

  // --- recovery (recovery.cc) ---
  Status Format(const format::Uuid& uuid);
  Status Rebuild();
  struct RunRef {
    uint32_t stripe;
    format::StripeHeader h;
    // Stripes the run covers (an empty marker: one).
    uint32_t span() const { return h.kind == format::StripeKind::kData ? h.span : 1; }
  };
  // Places `runs` (oldest first) at their positions (seq, next seq, write head;
  // with reclaim, what the positions indexed before is dropped first) and
  // applies their directories in that order. Directories are read ahead in
  // windows (many reads in flight, bounded bytes), so a full scan is not one
  // synchronous read per stripe.
  // Runs whose directory is torn or unreadable contribute nothing; their seqs
  // go to *unusable (the journal treats their writes as lost).
  void ApplyRuns(const std::vector<RunRef>& runs, bool reclaim, uint64_t* max_version,
                 std::set<uint64_t>* unusable);
  // False: the directory failed its checksum (the run is dropped).
  bool ApplyDirectory(uint32_t stripe, const format::StripeHeader& h, const char* dir,
                      uint64_t* max_version);
  // For runs sorted by position: drops (counts, logs, hides) the earlier lap's
  // leftovers (ring_order.h) and returns the others, still by position.
  std::vector<RunRef> DropLeftovers(const std::vector<RunRef>& by_position);
  Status FinishRecovery(const std::set<uint64_t>& recovered_seqs, uint64_t max_version);
  // Recovery's decisions must hold for every later recovery too: content it
  // declined to index (an earlier lap's leftover, a torn run, a position whose
  // newer run was lost) must not be indexed by the next rebuild after this life
  // has answered NOT_FOUND for its keys. Overwrites the first block of each
  // position in hidden_ with zeros and syncs, before the store serves.
  Status HideDroppedContent();
  void Hide(const RunRef& r);  // queues every position of r for HideDroppedContent
  // The clock never reads earlier than the newest of `runs` was sealed, or than
  // `also` (a checkpoint's time) (RaiseClockFloor): objects expired before a
  // crash stay expired.
  void RaiseClock(const std::vector<RunRef>& runs, uint64_t also);
  // --- checkpoint (checkpoint.cc) ---
  // Loads the checkpoint and replays the runs written after it; false when there
  // is no usable checkpoint (the caller rebuilds from stripe metadata).
  Result<bool> WarmStart();
  void ApplyJournal(const JournalScan& scan, const std::set<uint64_t>& recovered_seqs);
  Status ReTombstoneDropped();

  ShardConfig cfg_;
  std::unique_ptr<Device> dev_;
  uint32_t stripe_size_;
  uint32_t nstripes_ = 0;
  uint64_t journal_bytes_ = 0;
  uint64_t data_start_ = format::kSuperblockSize;  // first stripe's device offset
  std::unique_ptr<Journal> journal_;
  std::string checkpoint_path_;            // empty: checkpoints disabled
  JournalScan journal_scan_;               // from Rebuild, consumed by Open
  std::vector<uint64_t> journal_dropped_;  // hashes to re-tombstone after Open
  std::vector<uint32_t> hidden_;           // positions recovery dropped (HideDroppedContent)
  bool journal_lost_clear_ = false;
  uint64_t uuid_seed_ = 0;
  uint64_t key_seed_ = 0;  // the store's KeyHash seed (Superblock::key_seed)
  Counters& ctr_;

  std::mutex mu_;
  std::condition_variable space_cv_;  // a membuf became free / a write finished
  Index index_;
  std::vector<StripeState> stripes_;
  std::vector<std::unique_ptr<Membuf>> pool_;
  std::vector<Membuf*> free_;
  std::vector<Membuf*> pinned_;  // sealed runs waiting for pins to drain
  // pinned_.size(), announced before the pins are checked (TryStartWrite) and
  // read after a read unpins (FinishDiskRead), both sequentially consistent:
  // either the unpinning read sees the waiting run, or the run sees no pin.
  std::atomic<uint32_t> pinned_count_{0};
  Membuf* open_ = nullptr;
  uint32_t head_ = 0;                   // next stripe to open
  std::atomic<uint32_t> head_hint_{0};  // head_, for Age() without mu_
  uint64_t next_seq_ = 1;
  uint32_t in_flight_ = 0;             // data membufs open or not yet written
  uint32_t writes_pending_ = 0;        // membufs (any kind) sealed and not yet written
  std::set<uint64_t> unwritten_seqs_;  // runs opened but not yet (successfully) written
  struct LostRecord {
    uint64_t hash;
    uint64_t seq;  // of the failed run
    bool clear;
    std::string key;
  };
  // Records of failed runs still to re-log, in order; at most the records of
  // the membufs whose writes failed (bounded by membufs x records per stripe).
  std::deque<LostRecord> relog_;
  // Failed runs whose lost records are all re-logged but not yet settled. The
  // journal's entries that name such a run say its keys' newest writes were
  // lost; once the watermark passes the run, their slots may be reused, so the
  // tombstones standing in for them must be safe first: their own journal
  // entries written (lsn: the highest), or the runs holding them written.
  // Until then the run holds the durable candidate back (DurableCandidate).
  // Erased once its tombstones' runs are written. At most one per failed run
  // (bounded like relog_).
  // A tombstone's run that fails in turn passes the duty on: the run waits for
  // that failed run's own re-logging (follows) and the runs it goes into.
  struct Relogged {
    uint64_t lsn = 0;
    std::set<uint64_t> runs;     // runs holding its tombstones, not yet written
    std::set<uint64_t> follows;  // failed runs among them, still re-logging
    bool Written() const { return runs.empty() && follows.empty(); }
    bool Settled(uint64_t written_through) const { return lsn <= written_through || Written(); }
  };
  std::map<uint64_t, Relogged> relogged_;
  uint32_t sweep_cursor_ = 0;
  uint64_t live_objects_ = 0;
  uint64_t live_bytes_ = 0;
  std::unique_ptr<Reinserter> reinserter_;     // when the policy has reinsert:B
  std::unique_ptr<GhostAdmission> admission_;  // when the policy has admit:ghost
  struct EvacuationDeleter {
    void operator()(Evacuation* ev) const;
  };
  // Evacuations read and waiting for a membuf (shard_policies.cc).
  std::vector<std::unique_ptr<Evacuation, EvacuationDeleter>> evac_waiting_;
  bool closing_ = false;             // Close has begun: no new run (invariant (e))
  std::atomic<bool> closed_{false};  // read by Get without mu_
};

}  // namespace coss
