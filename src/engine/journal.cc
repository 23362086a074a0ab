#include "engine/journal.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>

#include "util/aligned_buffer.h"

namespace coss {

Journal::Journal(Device& dev, uint64_t offset, uint64_t bytes, uint64_t uuid_seed,
                 std::function<uint64_t(uint64_t)> durable_candidate, std::function<void()> nudge,
                 const VersionClock* clock)
    : dev_(dev),
      offset_(offset),
      slots_(static_cast<uint32_t>(bytes / format::kBlock)),
      seed_(uuid_seed),
      durable_candidate_(std::move(durable_candidate)),
      nudge_(std::move(nudge)),
      clock_(clock),
      slot_max_seq_(slots_, 0) {}

Journal::~Journal() {
  Stop();
}

Result<JournalScan> Journal::Scan(Device& dev, uint64_t offset, uint64_t bytes,
                                  uint64_t uuid_seed) {
  JournalScan out;
  AlignedBuffer buf(bytes);
  if (Status s = ReadSync(dev, offset, buf.data(), bytes); !s.ok()) return s;
  uint64_t best_block = 0;
  struct Valid {
    const format::JournalBlockHeader* h;
    const format::JournalEntry* e;
  };
  std::vector<Valid> valid;
  for (uint32_t slot = 0; slot < bytes / format::kBlock; slot++) {
    const format::JournalBlockHeader* h;
    const format::JournalEntry* e;
    const Status st =
        format::CheckJournalBlock(buf.data() + uint64_t{slot} * format::kBlock, uuid_seed, &h, &e);
    if (st.code() == Code::kCorruption) out.corrupt_blocks++;
    if (!st.ok()) continue;
    valid.push_back({h, e});
    out.durable_seq = std::max(out.durable_seq, h->durable_seq);
    out.version_limit = std::max(out.version_limit, h->version_limit);
    if (h->block_seq >= best_block) {
      best_block = h->block_seq;
      out.next_slot = (slot + 1) % static_cast<uint32_t>(bytes / format::kBlock);
    }
  }
  out.next_block_seq = best_block + 1;
  for (const Valid& v : valid) {
    for (uint32_t i = 0; i < v.h->count; i++) {
      if ((v.e[i].seq & ~format::JournalEntry::kClear) > out.durable_seq)
        out.tail.push_back(v.e[i]);
    }
  }
  return out;
}

void Journal::Start(const JournalScan& from) {
  next_slot_ = from.next_slot;
  next_block_seq_ = from.next_block_seq;
  synced_watermark_.store(from.durable_seq);
  // Slots of earlier runs hold entries at or below the recovered watermark, or
  // entries that recovery has already acted upon: all reusable.
  running_ = true;
  thread_ = std::thread([this] { Run(); });
}

uint64_t Journal::Append(uint64_t key_hash, uint64_t seq) {
  std::lock_guard lk(mu_);
  pending_.push_back({key_hash, seq});
  // A sleeping flusher wakes for the first entry (then lingers, see Run), any
  // for a full block; a waiter wakes it at once (WhenPersisted).
  if ((pending_.size() == 1 && asleep_) || pending_.size() == format::kJournalEntriesPerBlock)
    cv_.notify_one();
  return ++appended_lsn_;
}

void Journal::WhenPersisted(uint64_t lsn, Persistence level,
                            std::function<void(const Status&)> cb) {
  Status outcome;
  {
    std::lock_guard lk(mu_);
    const bool written = level == Persistence::kWritten;
    if (lsn > (written ? std::max(written_lsn_, durable_lsn_) : durable_lsn_)) {
      if (running_ && failed_.ok()) {
        (written ? written_waiters_ : waiters_).emplace(lsn, std::move(cb));
        cv_.notify_one();  // someone waits: no lingering
        return;
      }
      outcome = NotDurableLocked();
    }
  }
  cb(outcome);
}

void Journal::AdvanceWatermark(uint64_t seq) {
  if (seq > synced_watermark_.load(std::memory_order_relaxed))
    synced_watermark_.store(seq, std::memory_order_release);
}

uint64_t Journal::appended_lsn() {
  std::lock_guard lk(mu_);
  return appended_lsn_;
}

uint64_t Journal::durable_lsn() {
  std::lock_guard lk(mu_);
  return durable_lsn_;
}

void Journal::Stop() {
  {
    std::lock_guard lk(mu_);
    if (!running_) return;
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
  {
    std::lock_guard lk(mu_);
    running_ = false;
    done_cv_.notify_all();
  }
  // Nobody may wait forever: what is left was appended after the last batch.
  Release(UINT64_MAX, /*durable=*/false);
}

Status Journal::SyncDevice() {
  Status s = dev_.Sync();
  if (s.ok()) return s;
  errors_++;
  return SyncFailure(s);
}

Status Journal::SyncFailure(const Status& s) {
  return Error(s.code(), "fdatasync failed: " + s.message());
}

void Journal::RequestBlock() {
  std::lock_guard lk(mu_);
  block_requests_++;
  cv_.notify_one();
}

Status Journal::WriteNow() {
  std::unique_lock lk(mu_);
  const uint64_t want = ++block_requests_;
  cv_.notify_one();
  done_cv_.wait(lk, [&] { return blocks_done_ >= want || !failed_.ok() || !running_; });
  if (!failed_.ok()) return failed_;
  if (blocks_done_ >= want) return Status::Ok();
  return Error(Code::kShutdown, "journal stopped");
}

void Journal::SyncFailedElsewhere(const Status& st) {
  errors_++;
  Fail(SyncFailure(st));
}

bool Journal::failed() {
  std::lock_guard lk(mu_);
  return !failed_.ok();
}

void Journal::Fail(const Status& st) {
  std::lock_guard lk(mu_);
  done_cv_.notify_all();
  // Nothing is synced any more: no deferred sync is due (else the flusher
  // would wake for one at once, again and again).
  synced_writes_ = writes_;
  if (!failed_.ok()) return;
  failed_ = st;
  spdlog::error(
      "{}: journal failed ({}): no write can be acknowledged as durable until a restart; "
      "reads and buffered writes go on",
      dev_.path(), st.ToString());
}

Status Journal::NotDurableLocked() const {
  return failed_.ok() ? Error(Code::kShutdown, "journal stopped before the write was durable")
                      : failed_;
}

void Journal::Release(uint64_t lsn, bool durable) {
  std::vector<std::function<void(const Status&)>> ready;
  Status outcome;
  {
    std::lock_guard lk(mu_);
    // A sync that succeeded after the journal failed (elsewhere, meanwhile)
    // proves nothing: the failure stays the answer.
    durable = durable && failed_.ok();
    if (durable) durable_lsn_ = std::max(durable_lsn_, lsn);
    outcome = durable ? Status::Ok() : NotDurableLocked();
    for (auto* w : {&written_waiters_, &waiters_}) {
      auto end = w->upper_bound(lsn);
      for (auto it = w->begin(); it != end; ++it) ready.push_back(std::move(it->second));
      w->erase(w->begin(), end);
    }
  }
  for (auto& cb : ready) cb(outcome);
}

bool Journal::ReleaseWritten(uint64_t lsn) {
  std::vector<std::function<void(const Status&)>> ready;
  Status outcome;
  {
    std::lock_guard lk(mu_);
    outcome = failed_;  // failed meanwhile: sticky for every waiter
    if (outcome.ok()) written_lsn_ = std::max(written_lsn_, lsn);
    auto end = written_waiters_.upper_bound(lsn);
    for (auto it = written_waiters_.begin(); it != end; ++it)
      ready.push_back(std::move(it->second));
    written_waiters_.erase(written_waiters_.begin(), end);
  }
  for (auto& cb : ready) cb(outcome);
  return outcome.ok();
}

Status Journal::WriteBlock(uint32_t slot, const char* block, int attempts) {
  Status s;
  for (int attempt = 0; attempt < attempts; attempt++) {
    if (attempt > 0) std::this_thread::sleep_for(std::chrono::milliseconds(1 << (3 * attempt)));
    s = dev_.WriteNow(offset_ + uint64_t{slot} * format::kBlock, block, format::kBlock);
    if (s.ok()) return s;
    errors_++;
    spdlog::warn("{}: journal block write failed (attempt {} of {}): {}", dev_.path(), attempt + 1,
                 attempts, s.ToString());
  }
  return Error(s.code(), "journal block write failed: " + s.message());
}

bool Journal::SlotsReusable(uint32_t n) const {
  const uint64_t synced = synced_seq();
  for (uint32_t i = 0; i < n && i < slots_; i++) {
    if (slot_max_seq_[(next_slot_ + i) % slots_] > synced) return false;
  }
  return true;
}

namespace {
using Clock = std::chrono::steady_clock;

uint32_t BlocksFor(size_t entries) {
  return std::max<uint32_t>(1,
                            static_cast<uint32_t>((entries + format::kJournalEntriesPerBlock - 1) /
                                                  format::kJournalEntriesPerBlock));
}
}  // namespace

bool Journal::WriteHere(uint64_t lsn) {
  {
    std::lock_guard lk(mu_);
    if (lsn <= std::max(written_lsn_, durable_lsn_)) return true;
    if (!running_ || stop_ || !failed_.ok()) return false;
  }
  std::unique_lock wl(write_mu_, std::try_to_lock);
  if (!wl.owns_lock()) return false;  // the writer that holds it may be writing this very entry
  std::vector<format::JournalEntry> batch;
  uint64_t lsn_end;
  {
    std::lock_guard lk(mu_);
    if (lsn <= std::max(written_lsn_, durable_lsn_)) return true;
    if (!failed_.ok() || pending_.empty()) return false;
    batch = pending_;  // copied: taken out only once written (a failure leaves them to the flusher)
    lsn_end = appended_lsn_;
  }
  const uint32_t blocks = BlocksFor(batch.size());
  // Never wait here (the ring-full wait, which also syncs, is the flusher's).
  if (blocks > slots_ || !SlotsReusable(blocks)) return false;
  if (!WriteBlocks(batch, synced_seq(), lsn_end - batch.size(), /*attempts=*/1).ok()) return false;
  {
    std::lock_guard lk(mu_);
    // Only write_mu_'s holder takes entries out of pending_: the copied ones are still its front.
    pending_.erase(pending_.begin(), pending_.begin() + static_cast<ptrdiff_t>(batch.size()));
    if (!UnsyncedLocked() && asleep_) cv_.notify_one();  // the flusher's sync deadline starts now
    writes_++;
  }
  wl.unlock();
  return ReleaseWritten(lsn_end);  // false if the journal failed meanwhile
}

Status Journal::WriteBlocks(const std::vector<format::JournalEntry>& batch, uint64_t watermark,
                            uint64_t written_through, int attempts) {
  // An empty batch still writes one (empty) block: it records the watermark.
  const uint32_t n = BlocksFor(batch.size());
  AlignedBuffer buf(format::kBlock);
  for (uint32_t b = 0; b < n; b++) {
    const uint32_t slot = next_slot_;
    // Reuse a slot only when everything it names is on stable storage.
    // Waiters wait with it: acknowledging them unwritten would break the promise.
    for (uint64_t tries = 0; slot_max_seq_[slot] > synced_seq(); tries++) {
      // The open run may be what the slot waits for (its entries, or the
      // tombstones a failed run waits on): seal it, and again while waiting,
      // since writes keep opening new ones.
      if (tries % 100 == 0) nudge_();
      if (tries % 10000 == 9999) {
        spdlog::warn("{}: journal ring full for {} s: stripe writes are not completing",
                     dev_.path(), (tries + 1) / 1000);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
      // Taken after the batch: entries appended since (and the batch's own
      // blocks from this one on) are not written, so the candidate may rely
      // only on the entries before the batch. A failed run whose tombstones
      // are among the unwritten ones holds it back until their run is written:
      // the slot may name that run, and must not be reused before.
      const uint64_t cand = durable_candidate_(written_through);
      if (Status s = SyncDevice(); !s.ok()) return s;
      AdvanceWatermark(cand);
    }
    buf.zero();
    const size_t first = size_t{b} * format::kJournalEntriesPerBlock;
    const size_t count = std::min<size_t>(format::kJournalEntriesPerBlock, batch.size() - first);
    auto* h = reinterpret_cast<format::JournalBlockHeader*>(buf.data());
    auto* e = reinterpret_cast<format::JournalEntry*>(buf.data() + sizeof *h);
    uint64_t max_seq = 0;
    for (size_t i = 0; i < count; i++) {
      e[i] = batch[first + i];
      max_seq = std::max(max_seq, e[i].seq & ~format::JournalEntry::kClear);
    }
    h->count = static_cast<uint16_t>(count);
    h->block_seq = next_block_seq_++;
    h->durable_seq = watermark;
    h->version_limit = clock_ != nullptr ? clock_->limit() : 0;
    format::SealJournalBlock(h, e, seed_);
    if (Status s = WriteBlock(slot, buf.data(), attempts); !s.ok()) return s;
    slot_max_seq_[slot] = max_seq;
    next_slot_ = (slot + 1) % slots_;
    blocks_written_++;
  }
  return Status::Ok();
}

void Journal::Run() {
  for (;;) {
    {
      std::unique_lock lk(mu_);
      auto urgent = [this] {
        return stop_ || block_requests_ > blocks_done_ || !waiters_.empty() ||
               !written_waiters_.empty() || pending_.size() >= format::kJournalEntriesPerBlock;
      };
      // Wait for work: a waiter or block request (urgent), a deferred sync
      // that is due (kSyncDelay after the last sync, whoever wrote the blocks
      // it covers), or entries nobody waits for yet (buffered
      // acknowledgements, writes before their WhenPersisted), which linger up
      // to kLinger to share a block and a sync. While entries keep coming
      // the flusher looks every kLinger instead of being woken by each first
      // one (a thread in WriteHere may take them meanwhile: a wake-up per
      // write would cost each write a system call); it sleeps (asleep_, and
      // the next Append wakes it) once a look finds none arrived.
      Clock::time_point linger_end{};
      uint64_t seen = appended_lsn_;
      for (;;) {
        if (urgent()) break;
        const Clock::time_point now = Clock::now();
        Clock::time_point until = Clock::time_point::max();
        if (UnsyncedLocked()) {
          if (now >= last_sync_ + kSyncDelay) break;  // a round that only syncs
          until = last_sync_ + kSyncDelay;
        }
        if (!pending_.empty()) {
          if (linger_end == Clock::time_point{}) linger_end = now + kLinger;
          if (now >= linger_end) break;
          until = std::min(until, linger_end);
        } else {
          linger_end = {};
          if (appended_lsn_ != seen) {  // entries came and went: look again soon
            seen = appended_lsn_;
            until = std::min(until, now + kLinger);
          }
        }
        asleep_ = until == Clock::time_point::max();
        if (asleep_) {
          cv_.wait(lk);
        } else {
          cv_.wait_until(lk, until);
        }
      }
      asleep_ = false;
      if (pending_.empty() && stop_) {
        const bool failed = !failed_.ok();
        // Every entry is written (whoever took one from pending_ wrote it
        // before letting go of write_mu_, taken below), and no more come.
        const uint64_t lsn_end = appended_lsn_;
        const uint64_t requests = block_requests_;
        lk.unlock();
        if (failed) break;
        // Clean stop: the caller has written and synced every stripe. A last
        // block says so, and the next start has no journal tail to check.
        std::unique_lock wl(write_mu_);
        const uint64_t all = durable_candidate_(kAllWritten);
        Status s = SyncDevice();
        if (s.ok()) AdvanceWatermark(all);
        if (s.ok()) s = WriteBlocks({}, synced_seq(), lsn_end);
        if (s.ok()) s = SyncDevice();
        wl.unlock();
        if (!s.ok()) {
          Fail(s);
          break;
        }
        {
          std::lock_guard done(mu_);
          blocks_done_ = std::max(blocks_done_, requests);
          done_cv_.notify_all();
        }
        Release(lsn_end, /*durable=*/true);  // synced: their waiters need not hear kShutdown
        break;
      }
    }
    Round();
  }
}

void Journal::Round() {
  std::vector<format::JournalEntry> batch;
  uint64_t lsn_end, requests;
  bool failed, sync_only;
  std::unique_lock wl(write_mu_);
  // The candidate before the batch: every entry appended before it is taken
  // (under the shard's lock, with the state it reflects: the re-logged
  // tombstones of a failed run, the re-tombstones of a restart) is in this
  // batch or was written before it (write_mu_), so it is written and synced
  // before any block records a watermark that relies on it. Stripes that
  // completed before this point become durable with the sync below; the
  // blocks record only the watermark already synced (conservative).
  const uint64_t cand = durable_candidate_(kAllWritten);
  {
    std::lock_guard lk(mu_);
    batch.swap(pending_);
    lsn_end = appended_lsn_;
    requests = block_requests_;  // the blocks below record what they asked for
    failed = !failed_.ok();
    // A round woken only by a deferred sync's deadline has nothing to write.
    sync_only = batch.empty() && UnsyncedLocked() && requests <= blocks_done_;
    // A thread in WriteHere took the entries this round woke for, and nobody waits.
    if (batch.empty() && !sync_only && !failed && requests <= blocks_done_ && waiters_.empty() &&
        written_waiters_.empty())
      return;
  }
  if (failed) {  // nothing can become durable: drop the batch, tell its waiters
    wl.unlock();
    {
      std::lock_guard lk(mu_);
      blocks_done_ = std::max(blocks_done_, requests);  // answered by failed_ (WriteNow)
    }
    Release(lsn_end, /*durable=*/false);
    return;
  }
  Status st = sync_only ? Status::Ok() : WriteBlocks(batch, synced_seq(), lsn_end - batch.size());
  // Failed before write_mu_ goes: a WriteHere after it must not report
  // written the entries this batch took out of pending_ and never wrote.
  if (!st.ok()) Fail(st);
  bool defer = false;
  uint64_t covered = 0;  // the rounds of written blocks a sync now covers
  {
    std::lock_guard lk(mu_);
    if (st.ok() && !sync_only) writes_++;
    // Written (through the page cache): a process crash can no longer undo
    // these entries, and the kWritten waiters need not wait for the sync. The
    // sync is deferred while no kSynced waiter or block request needs it.
    defer = st.ok() && !batch.empty() && waiters_.empty() && requests <= blocks_done_ && !stop_ &&
            Clock::now() < last_sync_ + kSyncDelay;
    covered = writes_;
  }
  wl.unlock();
  if (st.ok()) ReleaseWritten(lsn_end);
  if (defer) return;  // synced by a later round (kSyncDelay at most)
  if (st.ok()) {
    st = SyncDevice();
    syncs_++;
  }
  if (st.ok()) {
    AdvanceWatermark(cand);
    std::lock_guard lk(mu_);
    synced_writes_ = std::max(synced_writes_, covered);
    last_sync_ = Clock::now();
    blocks_done_ = std::max(blocks_done_, requests);
    done_cv_.notify_all();
  } else {
    Fail(st);
  }
  Release(lsn_end, st.ok());
}

}  // namespace coss
