// Journal: the small synced log that makes acknowledged writes safe across a crash.
//
// Problem it solves: a Put or Remove lives in a membuf until its stripe is
// written. If the process dies first, a rebuild would find the *older* copy of
// the key on disk and serve it: a stale value, or a deleted one come back.
//
// Contract: every acknowledged write appends (key hash, stripe seq) here; a
// flusher thread writes the pending entries as 4 KiB blocks into a ring in the
// device's journal region and fdatasyncs (group commit). WhenPersisted(lsn, kSynced, cb)
// runs cb once the entry numbered lsn is on stable storage: cossd acknowledges
// a write only then (unless the operator chose a relaxed mode). A batch that
// no kSynced waiter needs is written at once and its fdatasync deferred by up
// to kSyncDelay, so that kWritten and buffered writes share syncs; the synced
// watermark lags by as much (Shard::Flush forces a round).
// At recovery (Shard::Rebuild), an entry whose stripe seq is above the journal's
// durable watermark and whose stripe did not survive names a key whose newest
// write was lost: the key is dropped (a miss), so its older copy is never served.
//
// Ring reuse: a block slot may be overwritten only when every stripe its entries
// name is durable (seq <= the synced watermark). If the ring is full of entries
// for the still-open membuf, the flusher asks the shard to seal it (nudge), and
// waits (its waiters with it) for as long as it takes.
//
// Failures are sticky. A block write that fails is retried a few times; a
// failed fdatasync is never retried, because after one the kernel may have
// dropped dirty pages it will not write again (a later fdatasync returning OK
// proves nothing about them). Either way the journal is *failed* from then on:
// every waiter, present and future, is told the error instead of success, the
// synced watermark stops, and batches are dropped unwritten. Only a restart
// (which recovers from what is on disk) clears it.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

#include "coss/engine.h"
#include "engine/format.h"
#include "engine/version_clock.h"
#include "io/device.h"

namespace coss {

struct JournalScan {
  uint64_t durable_seq = 0;    // max watermark among valid blocks
  uint64_t version_limit = 0;  // max version reservation among valid blocks
  uint64_t next_block_seq = 1;
  uint32_t next_slot = 0;
  uint32_t corrupt_blocks = 0;
  std::vector<format::JournalEntry> tail;  // entries with seq > durable_seq
};

class Journal {
 public:
  // `durable_candidate(written_through)` returns the highest seq such that
  // every stripe with a lower or equal seq has completed its device write, and
  // no failed run at or below it still needs the entries naming it: their
  // keys' re-logged tombstones (Shard::RelogLostRecords) are neither on the
  // device nor among the first `written_through` journal entries (those are
  // written, and a sync follows before any watermark relies on them). Called
  // with write_mu_ held and no other lock.
  // `clock` (may be null): every block records its reservation (version_clock.h).
  Journal(Device& dev, uint64_t offset, uint64_t bytes, uint64_t uuid_seed,
          std::function<uint64_t(uint64_t)> durable_candidate, std::function<void()> nudge,
          const VersionClock* clock = nullptr);
  ~Journal();

  static Result<JournalScan> Scan(Device& dev, uint64_t offset, uint64_t bytes, uint64_t uuid_seed);

  void Start(const JournalScan& from);
  // Appends one entry; returns its lsn (1, 2, 3, ...). Cheap: memory only.
  uint64_t Append(uint64_t key_hash, uint64_t seq);
  // Runs cb(Ok) once entry lsn is on stable storage, or cb(error) once the
  // journal has failed (see above) or stopped without writing it. On the
  // flusher thread, or inline when the outcome is already known.
  // kWritten: cb(Ok) once the block holding entry lsn is written, before the
  // fdatasync that makes it durable (the group commit's write comes first).
  void WhenPersisted(uint64_t lsn, Persistence level, std::function<void(const Status&)> cb);
  uint64_t durable_lsn();
  // The lsn of the newest entry appended so far: waiting for it waits for every
  // write accepted before this call (an answer that depends on them, such as a
  // delete's NOT_FOUND after an earlier delete, is final only then).
  uint64_t appended_lsn();
  // Writes the pending entries on the calling thread if entry lsn is not
  // written yet, and returns true once it is (by this call or before). For
  // the server's worker before it waits for events: its kWritten
  // acknowledgements then need no hand-off to the flusher and back, and one
  // write covers every set of its loop turn. Never waits: false when another
  // thread is writing, a slot is not reusable yet, the journal failed or
  // stopped, or the write failed (once; the flusher retries and owns the
  // failure); the caller then waits with WhenPersisted. Call without locks
  // the engine's callbacks need (kWritten waiters released here run inline).
  bool WriteHere(uint64_t lsn);
  // Asks for a block to be written even if no entry is pending (it records the
  // version clock's new reservation). Cheap; safe under the caller's locks.
  void RequestBlock();
  // Writes a block now and waits until it is durable (or the journal failed).
  Status WriteNow();
  // Writes what is pending, then stops the flusher. Idempotent.
  void Stop();
  // A sync of the same device failed elsewhere (a flush, a checkpoint, Close):
  // Linux reports a writeback error once per file, so the journal's next sync
  // may succeed although writes were lost. The journal fails as if its own
  // sync had (see above).
  void SyncFailedElsewhere(const Status& st);
  bool failed();

  uint64_t synced_seq() const { return synced_watermark_.load(std::memory_order_acquire); }
  uint64_t blocks_written() const { return blocks_written_; }
  uint64_t syncs() const { return syncs_; }
  // Failed journal writes and fdatasyncs (each retry of a block write counts).
  uint64_t errors() const { return errors_; }

  // Block writes are tried this many times before the journal fails.
  static constexpr int kWriteAttempts = 4;
  // How long entries that no one waits for may wait for company.
  static constexpr std::chrono::milliseconds kLinger{2};
  // A batch that no kSynced waiter and no block request needs synced now
  // (kWritten or buffered acknowledgements) is written at once and synced
  // later, at most this long after the last sync: a client waiting for a
  // written acknowledgement does not also wait for the previous batch's sync.
  static constexpr std::chrono::milliseconds kSyncDelay{10};

 private:
  void Run();
  // One flusher round: take the pending batch, write it, sync (or defer the
  // sync), release the waiters.
  void Round();
  // REQUIRES(write_mu_). attempts: per block (kWriteAttempts for the flusher).
  // written_through: the last lsn before the batch (written before it).
  Status WriteBlocks(const std::vector<format::JournalEntry>& batch, uint64_t watermark,
                     uint64_t written_through, int attempts = kWriteAttempts);
  // Whether the next n slots may be overwritten now. REQUIRES(write_mu_).
  bool SlotsReusable(uint32_t n) const;
  Status WriteBlock(uint32_t slot, const char* block, int attempts);
  Status SyncDevice();                         // counts a failure in errors_
  static Status SyncFailure(const Status& s);  // the error a failed fdatasync becomes
  // The sticky failure: logs, and from now on every waiter gets `st`.
  void Fail(const Status& st);
  // Hands waiters (both levels) up to `lsn` their outcome: Ok, or the sticky
  // failure.
  void Release(uint64_t lsn, bool durable);
  // The blocks holding entries up to `lsn` are written: kWritten waiters go
  // (told the failure instead if the journal failed meanwhile: false).
  bool ReleaseWritten(uint64_t lsn);
  // The outcome for a write that will never be durable: the failure, or kShutdown.
  Status NotDurableLocked() const;  // REQUIRES(mu_)

  Device& dev_;
  const uint64_t offset_;
  const uint32_t slots_;
  const uint64_t seed_;
  std::function<uint64_t(uint64_t)> durable_candidate_;
  // durable_candidate_'s argument when every entry appended so far is written
  // before the watermark moves (taken before a batch: it holds them all).
  static constexpr uint64_t kAllWritten = ~uint64_t{0};
  std::function<void()> nudge_;
  const VersionClock* clock_;

  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<format::JournalEntry> pending_;                                    // GUARDED_BY(mu_)
  uint64_t appended_lsn_ = 0;                                                    // GUARDED_BY(mu_)
  uint64_t durable_lsn_ = 0;                                                     // GUARDED_BY(mu_)
  std::multimap<uint64_t, std::function<void(const Status&)>> waiters_;          // GUARDED_BY(mu_)
  uint64_t written_lsn_ = 0;                                                     // GUARDED_BY(mu_)
  std::multimap<uint64_t, std::function<void(const Status&)>> written_waiters_;  // GUARDED_BY(mu_)
  bool stop_ = false;
  bool running_ = false;
  Status failed_;  // GUARDED_BY(mu_): the sticky failure (ok: none)
  // Block requests (RequestBlock, WriteNow): numbered; blocks_done_ is the
  // highest request covered by a durable block. GUARDED_BY(mu_).
  uint64_t block_requests_ = 0, blocks_done_ = 0;
  // Rounds of written blocks (by any writer), and how many of them the last
  // successful sync covered: blocks wait for a (deferred) sync while
  // writes_ > synced_writes_. GUARDED_BY(mu_).
  uint64_t writes_ = 0, synced_writes_ = 0;
  bool UnsyncedLocked() const { return writes_ > synced_writes_; }  // REQUIRES(mu_)
  std::chrono::steady_clock::time_point last_sync_{};               // GUARDED_BY(mu_)
  // The flusher waits with no deadline: the next entry must wake it (Run).
  // GUARDED_BY(mu_).
  bool asleep_ = false;
  std::condition_variable done_cv_;  // blocks_done_ advanced, or the journal failed

  // The writer's state: whoever writes blocks (the flusher, or a thread in
  // WriteHere) holds write_mu_, taken before mu_ when both are held. The
  // flusher holds it from its durable candidate to its blocks' end, so every
  // entry appended before the candidate is written before the sync that
  // relies on it; a sync itself runs without it.
  std::mutex write_mu_;
  std::vector<uint64_t> slot_max_seq_;  // highest stripe seq named in each slot
  uint32_t next_slot_ = 0;
  uint64_t next_block_seq_ = 1;
  // Highest seq such that every stripe at or below it is on stable storage
  // (written, then covered by a successful fdatasync). Written by the flusher.
  std::atomic<uint64_t> synced_watermark_{0};
  void AdvanceWatermark(uint64_t seq);
  std::atomic<uint64_t> blocks_written_{0}, syncs_{0}, errors_{0};
  std::thread thread_;
};

}  // namespace coss
