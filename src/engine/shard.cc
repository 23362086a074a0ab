// The ring: membuf lifecycle, stripe reclaim, the stale-entry sweeper, device
// writes and flush. See shard.h for the invariants this file maintains.
#include "engine/shard.h"

#include <spdlog/spdlog.h>

#include <algorithm>

namespace coss {

Shard::Shard(ShardConfig cfg, std::unique_ptr<Device> dev)
    : cfg_(cfg),
      dev_(std::move(dev)),
      stripe_size_(cfg.opts->stripe_size),
      ctr_(*cfg.counters),
      index_(cfg.opts->expected_objects / std::max<uint32_t>(1, cfg.device_count)) {
  const DeviceSpec& spec = cfg.opts->devices[cfg.device_index];
  if (spec.checkpoint == "none") {
    checkpoint_path_.clear();
  } else if (!spec.checkpoint.empty()) {
    checkpoint_path_ = spec.checkpoint;
  } else if (cfg.default_checkpoint) {
    checkpoint_path_ = spec.path + ".ckpt";
  }
}

Shard::~Shard() {
  Close();
}

bool Shard::Live(uint64_t packed) const {
  if (packed == 0) return false;
  const Location l = Location::Unpack(packed);
  return l.stripe < nstripes_ && stripes_[l.stripe].gen == l.gen;
}

bool Shard::OldCopyMayReturn(uint64_t packed) const {
  const Location l = Location::Unpack(packed);
  if (l.stripe >= nstripes_) return false;
  const StripeState& st = stripes_[l.stripe];
  if (st.membuf != nullptr) return true;
  return journal_ != nullptr && st.seq > journal_->synced_seq();
}

void Shard::DropEntry(uint64_t packed) {
  if (!Live(packed)) return;
  const Location l = Location::Unpack(packed);
  StripeState& st = stripes_[l.stripe];
  const uint64_t bytes = SizeClass::Decode(l.size_class);
  st.live--;
  st.live_bytes -= std::min(st.live_bytes, bytes);
  live_objects_--;
  live_bytes_ -= std::min(live_bytes_, bytes);
}

void Shard::Reclaim(uint32_t s) {
  StripeState& st = stripes_[s];
  if (st.live != 0) {
    Counters::Add(ctr_.evictions, st.live);
    live_objects_ -= st.live;
    live_bytes_ -= std::min(live_bytes_, st.live_bytes);
  }
  st.live = 0;
  st.live_bytes = 0;
  st.gen++;  // every index entry into s is unreachable from now on
}

void Shard::SweepSome(uint32_t partitions) {
  for (uint32_t i = 0; i < partitions; i++) {
    index_.Sweep(sweep_cursor_++ % Index::kPartitions, [this](uint64_t packed) {
      if (Live(packed)) return false;
      // Kept while the old copy may still come back after a power cut: admission
      // (shard_policies.cc) and Remove need to see that the key was evicted so recently.
      if (OldCopyMayReturn(packed)) return false;
      ctr_.CountEvicted(Location::Unpack(packed).hits);
      return true;
    });
  }
}

Result<Membuf*> Shard::Reserve(Lock& lk, uint64_t footprint, bool may_wait, Actions* act) {
  const bool jumbo = footprint > stripe_size_ - format::kStripeHeaderSize;
  const uint32_t span =
      jumbo ? static_cast<uint32_t>((footprint + format::kStripeHeaderSize + stripe_size_ - 1) /
                                    stripe_size_)
            : 1;
  bool waited = false;
  for (;;) {
    if (closing_) return Error(Code::kShutdown, "engine is closing");  // invariant (e)
    if (!jumbo && open_ != nullptr && open_->Fits(footprint)) return open_;
    // A new run is needed. It must have a free membuf, and its target stripes
    // (plus the stripes skipped at the end of the ring) must be on disk already.
    uint32_t target = head_;
    uint32_t skip_from = nstripes_, skip_to = nstripes_;
    if (target + span > nstripes_) {
      skip_from = target;
      target = 0;
    }
    bool ready = in_flight_ < cfg_.opts->membufs && (jumbo || !free_.empty());
    // A stripe being evacuated (shard_policies.cc) is reclaimed only once its read is done.
    for (uint32_t j = target; ready && j < target + span; j++)
      ready = stripes_[j].membuf == nullptr && !stripes_[j].evacuating;
    for (uint32_t j = skip_from; ready && j < skip_to; j++) ready = stripes_[j].membuf == nullptr;
    if (!ready) {
      if (!may_wait || cfg_.opts->on_full == FullPolicy::kBusy) {
        return Error(Code::kBusy, "all membufs are waiting for the device");
      }
      if (!waited) Counters::Add(ctr_.waits);
      waited = true;
      // Writes collected so far must start, or nobody will ever wake us.
      if (!act->writes.empty() || !act->evacuations.empty()) {
        Actions now;
        now.writes.swap(act->writes);
        now.evacuations.swap(act->evacuations);
        lk.unlock();
        Issue(now);
        lk.lock();
      } else {
        space_cv_.wait(lk);
      }
      continue;
    }
    if (open_ != nullptr) {
      Seal(open_, act);
      open_ = nullptr;
    }
    // Stripes at the end of the ring that a jumbo run cannot use are reclaimed
    // and overwritten with an empty header, so a rebuild never revives them.
    for (uint32_t j = skip_from; j < skip_to; j++) {
      auto* m = new Membuf;
      m->buf = AlignedBuffer(format::kBlock);
      m->buf.zero();
      m->kind = Membuf::Kind::kEmptyMarker;
      m->stripe = j;
      m->seq = next_seq_++;
      unwritten_seqs_.insert(m->seq);
      {
        Index::AllLocked all(index_);  // what Gets may see about stripe j changes
        Reclaim(j);
        stripes_[j].seq = m->seq;
        stripes_[j].membuf = m;
      }
      Seal(m, act);
    }
    Membuf* mb;
    if (jumbo) {
      mb = new Membuf;
      mb->buf = AlignedBuffer(uint64_t{span} * stripe_size_);
    } else {
      mb = free_.back();
      free_.pop_back();
    }
    mb->kind = Membuf::Kind::kData;
    mb->state = Membuf::State::kOpen;
    mb->pooled = !jumbo;
    mb->stripe = target;
    mb->span = span;
    mb->seq = next_seq_++;
    unwritten_seqs_.insert(mb->seq);
    mb->data_end = format::kStripeHeaderSize;
    mb->count = 0;
    {
      Index::AllLocked all(index_);  // what Gets may see about these stripes changes
      for (uint32_t j = target; j < target + span; j++) {
        Reclaim(j);
        stripes_[j].seq = mb->seq;
        stripes_[j].membuf = mb;
      }
    }
    head_ = (target + span) % nstripes_;
    head_hint_.store(head_, std::memory_order_relaxed);
    in_flight_++;
    // Sweep the whole index at least once per lap (generations are 8 bits).
    SweepSome(span * (Index::kPartitions / nstripes_ + 1));
    ScheduleEvacuation(mb, act);
    if (!jumbo) open_ = mb;
    return mb;
  }
}

void Shard::Seal(Membuf* mb, Actions* act) {
  format::StripeHeader h{};
  h.seq = mb->seq;
  h.stripe_index = mb->stripe;
  h.sealed_unix = static_cast<uint64_t>(NowSeconds());
  if (mb->kind == Membuf::Kind::kEmptyMarker) {
    h.kind = format::StripeKind::kEmpty;
    h.span = 1;
  } else {
    h.kind = format::StripeKind::kData;
    h.span = mb->span;
    h.record_count = mb->count;
    h.data_end = mb->data_end;
    h.dir_checksum =
        format::DirChecksum(mb->count ? mb->dir(mb->count - 1) : nullptr, mb->count, uuid_seed_);
  }
  format::SealStripeHeader(&h, uuid_seed_);
  std::memcpy(mb->buf.data(), &h, sizeof h);
  mb->state = Membuf::State::kSealed;
  writes_pending_++;
  TryStartWrite(mb, act);
}

void Shard::TryStartWrite(Membuf* mb, Actions* act) {
  // Announced before the pins are read: a read that unpins after this load
  // sees a waiter and retries (FinishDiskRead), one that unpinned before is
  // seen here (both sides sequentially consistent).
  pinned_count_.store(static_cast<uint32_t>(pinned_.size() + 1));
  for (uint32_t j = mb->stripe; j < mb->stripe + mb->span; j++) {
    if (PinsOf(stripes_[j]).load() != 0) {  // invariant (b): wait for reads of the old content
      pinned_.push_back(mb);
      return;
    }
  }
  pinned_count_.store(static_cast<uint32_t>(pinned_.size()));
  mb->state = Membuf::State::kWriting;
  act->writes.push_back(mb);
}

void Shard::RetryPinnedWrites(Actions* act) {
  if (pinned_.empty()) return;
  std::vector<Membuf*> waiting;
  waiting.swap(pinned_);
  pinned_count_.store(0);
  for (Membuf* mb : waiting) TryStartWrite(mb, act);
}

void Shard::Issue(Actions& act) {
  for (Membuf* mb : act.writes) {
    dev_->Write(StripeOffset(mb->stripe), mb->buf.data(), mb->buf.size(),
                [this, mb](Status st) { OnWriteDone(mb, std::move(st)); });
  }
  act.writes.clear();
  for (Evacuation* ev : act.evacuations) IssueEvacuation(ev);
  act.evacuations.clear();
}

void Shard::OnWriteDone(Membuf* mb, Status st) {
  Actions act;
  Lock lk(mu_);
  const bool failed = !st.ok();
  {
    // Gets stop reading this membuf (and, on failure, its stripes' entries)
    // before it goes back to the pool: each reads it under a partition lock.
    Index::AllLocked all(index_);
    if (failed) {
      for (uint32_t j = mb->stripe; j < mb->stripe + mb->span; j++) Reclaim(j);
    }
    for (uint32_t j = mb->stripe; j < mb->stripe + mb->span; j++) {
      if (stripes_[j].membuf == mb) stripes_[j].membuf = nullptr;
    }
  }
  if (failed) {
    Counters::Add(ctr_.io_errors);
    spdlog::error("{}: stripe write at stripe {} failed ({}); its {} objects are dropped",
                  dev_->path(), mb->stripe, st.ToString(), mb->count);
    CollectLostRecords(mb);
  } else {
    unwritten_seqs_.erase(mb->seq);
    if (!relogged_.empty()) SettleRelogged(mb->seq);
    Counters::Add(ctr_.stripes_written, mb->span);
    Counters::Add(ctr_.device_bytes_written, mb->buf.size());
  }
  writes_pending_--;
  if (mb->kind == Membuf::Kind::kData) in_flight_--;
  if (mb->pooled) {
    mb->state = Membuf::State::kFree;
    free_.push_back(mb);
  } else {
    delete mb;
  }
  RelogLostRecords(lk, &act);  // a membuf is free: room for what failed writes lost
  ResumeEvacuations(&act);     // (shard_policies.cc)
  space_cv_.notify_all();
  lk.unlock();
  Issue(act);
}

void Shard::CollectLostRecords(Membuf* mb) {
  // The device may still hold an older copy of each key the failed run wrote
  // (a value, or the value a tombstone deleted), and everything a flush_all in
  // it cleared. Each is re-logged in a later run: a tombstone for a value or a
  // tombstone, a clear for a clear. Until all are, the failed seq stays
  // "unwritten", so the journal keeps the entries that name it.
  if (mb->kind != Membuf::Kind::kData || closed_) {
    unwritten_seqs_.erase(mb->seq);
    return;
  }
  for (uint32_t i = 0; i < mb->count; i++) {
    const format::DirEntry e = *mb->dir(i);
    auto rec = format::DecodeRecordInMemory(mb->at(e.offset), e.length);
    if (!rec.ok()) continue;
    const bool clear = e.type == format::RecordType::kClear;
    relog_.push_back({e.key_hash, mb->seq, clear, std::string(rec->key)});
  }
  // Failed runs whose tombstones this run held now wait for its re-logging.
  for (auto& [seq, other] : relogged_) {
    if (other.runs.erase(mb->seq) > 0) other.follows.insert(mb->seq);
  }
  if (relog_.empty() || relog_.back().seq != mb->seq) unwritten_seqs_.erase(mb->seq);
}

void Shard::RelogLostRecords(Lock& lk, Actions* act) {
  while (!relog_.empty()) {
    const LostRecord& r = relog_.front();
    if (!r.clear) {
      // A newer record of the key in a later run already shadows the lost one.
      const uint64_t cur = index_.Find(r.hash);
      if (Live(cur) && stripes_[Location::Unpack(cur).stripe].seq > r.seq) {
        HoldForShadow(r.seq, stripes_[Location::Unpack(cur).stripe].seq);
        PopLostRecord();
        continue;
      }
    }
    uint64_t lsn = 0, run = 0;
    const Status s =
        r.clear ? AppendTombstone(lk, 0, "*", format::RecordType::kClear, act, &lsn,
                                  /*may_wait=*/false, &run)
                : AppendTombstone(lk, r.hash, r.key, format::RecordType::kTombstone, act, &lsn,
                                  /*may_wait=*/false, &run);
    if (!s.ok()) return;  // no room: again when the next write completes
    if (journal_ != nullptr) {
      Relogged& rl = relogged_[r.seq];
      rl.lsn = std::max(rl.lsn, lsn);
      rl.runs.insert(run);
      for (auto& [seq, other] : relogged_) {
        if (other.follows.contains(r.seq)) other.runs.insert(run);
      }
    }
    PopLostRecord();
  }
}

void Shard::HoldForShadow(uint64_t failed, uint64_t newer) {
  // The newer record stands in for the lost one as a tombstone would: until
  // its run is written, or its journal entry (appended before now) is, the
  // failed run's entries must stay.
  if (journal_ == nullptr || (!unwritten_seqs_.contains(newer) && !relogged_.contains(newer)))
    return;  // written, and not a failed run
  Relogged& rl = relogged_[failed];
  rl.lsn = std::max(rl.lsn, journal_->appended_lsn());
  const bool relogging = std::any_of(relog_.begin(), relog_.end(),
                                     [newer](const LostRecord& x) { return x.seq == newer; });
  if (relogging) {
    rl.follows.insert(newer);  // failed too: its re-logging carries the duty on
  } else if (auto it = relogged_.find(newer); it != relogged_.end()) {
    rl.runs.insert(it->second.runs.begin(), it->second.runs.end());
    rl.follows.insert(it->second.follows.begin(), it->second.follows.end());
  } else {
    rl.runs.insert(newer);
  }
}

void Shard::PopLostRecord() {
  const uint64_t seq = relog_.front().seq;
  relog_.pop_front();
  if (relog_.empty() || relog_.front().seq != seq) {
    unwritten_seqs_.erase(seq);  // held back by relogged_[seq] until settled
    for (auto& [s, other] : relogged_) other.follows.erase(seq);
  }
}

uint64_t Shard::WrittenCandidate() {
  std::lock_guard lk(mu_);
  return unwritten_seqs_.empty() ? next_seq_ - 1 : *unwritten_seqs_.begin() - 1;
}

uint64_t Shard::DurableCandidate(uint64_t written_through) {
  std::lock_guard lk(mu_);
  uint64_t below = unwritten_seqs_.empty() ? next_seq_ : *unwritten_seqs_.begin();
  // (Not erased when settled by written_through: that holds for this
  // candidate only, which the journal uses after its batch. SettleRelogged
  // erases them once their runs are written.)
  for (const auto& [seq, rl] : relogged_) {
    if (rl.Settled(written_through)) continue;
    below = std::min(below, seq);
    break;  // ordered by seq: the first unsettled one is the lowest
  }
  return below - 1;
}

void Shard::SettleRelogged(uint64_t run) {
  for (auto it = relogged_.begin(); it != relogged_.end();) {
    it->second.runs.erase(run);
    // Settled once every tombstone is on the device (the sync that precedes
    // any watermark covers it).
    it = it->second.Written() ? relogged_.erase(it) : std::next(it);
  }
}

void Shard::SealIfOlder(std::chrono::steady_clock::time_point cutoff) {
  Actions act;
  {
    Lock lk(mu_);
    if (open_ == nullptr || open_->count == 0 || closing_ || open_->first_record > cutoff) return;
    Seal(open_, &act);
    open_ = nullptr;
    Counters::Add(ctr_.aged_seals);
  }
  Issue(act);
}

void Shard::SealOpenForJournal() {
  Actions act;
  {
    Lock lk(mu_);
    if (open_ == nullptr || open_->count == 0 || closed_) return;
    Seal(open_, &act);
    open_ = nullptr;
  }
  Issue(act);
}

void Shard::WhenPersisted(uint64_t lsn, Persistence level, std::function<void(const Status&)> cb) {
  if (journal_ == nullptr || lsn == 0) {
    cb(Status::Ok());
    return;
  }
  journal_->WhenPersisted(lsn, level, std::move(cb));
}

Status Shard::Flush() {
  Actions act;
  Lock lk(mu_);
  if (closed_) return Status::Ok();
  if (open_ != nullptr && open_->count > 0) {
    Seal(open_, &act);
    open_ = nullptr;
  }
  lk.unlock();
  Issue(act);
  lk.lock();
  space_cv_.wait(lk, [this] { return writes_pending_ == 0; });
  lk.unlock();
  // With a journal, a block of its own: its sync makes every stripe written
  // above durable and advances the synced watermark at once (a deferred sync
  // would otherwise leave evicted entries looking recent for up to kSyncDelay).
  if (journal_) return journal_->WriteNow();
  return SyncDevice();
}

Status Shard::SyncDevice() {
  Status s = dev_->Sync();
  if (!s.ok() && journal_) journal_->SyncFailedElsewhere(s);
  return s;
}

void Shard::Close() {
  Actions act;
  Lock lk(mu_);
  if (closed_ || nstripes_ == 0) {
    closing_ = true;
    closed_ = true;
    return;
  }
  // Invariant (e): from here on no run is opened, so the open membuf sealed below
  // is the last one. Evacuations waiting for a membuf are dropped; waiting puts
  // give up (kShutdown).
  closing_ = true;
  DropWaitingEvacuations();
  space_cv_.notify_all();
  // Seal the open membuf even when empty: its stripe was reclaimed, and writing
  // it keeps a later rebuild from reviving what was evicted from it.
  if (open_ != nullptr) {
    Seal(open_, &act);
    open_ = nullptr;
  }
  lk.unlock();
  Issue(act);
  lk.lock();
  space_cv_.wait(lk, [this] { return writes_pending_ == 0; });
  lk.unlock();
  if (Status s = SyncDevice(); !s.ok()) spdlog::error("{}", s.ToString());
  // Every stripe is written and synced: the journal's last block says so, and a
  // restart drops nothing. Unless the journal failed (here or before): then
  // nothing says so, and no clean checkpoint claims it either.
  if (journal_) journal_->Stop();
  const bool failed = journal_ != nullptr && journal_->failed();
  // Everything is on disk and no request is served any more: the index dump lets
  // the next start skip the metadata scan.
  if (failed) {
    spdlog::warn(
        "{}: the journal failed: no clean checkpoint; the next start recovers as "
        "after a crash",
        dev_->path());
  } else if (Status s = WriteCheckpoint(/*clean=*/true); !s.ok()) {
    spdlog::warn("{}: no checkpoint written ({}); the next start rebuilds from stripe metadata",
                 dev_->path(), s.ToString());
  }
  lk.lock();
  closed_ = true;
  space_cv_.notify_all();
  lk.unlock();
  dev_->Shutdown();
}

void Shard::AddStats(StatsSnapshot* s) {
  std::lock_guard lk(mu_);
  s->objects += live_objects_;
  s->bytes += live_bytes_;
  s->index_bytes += index_.MemoryBytes();
  if (admission_) s->policy_bytes += admission_->MemoryBytes();
  s->index_capacity += index_.capacity();
  s->membufs_in_flight += in_flight_;
  if (journal_) {
    s->journal_syncs += journal_->syncs();
    s->journal_errors += journal_->errors();
    s->journal_failed += journal_->failed() ? 1 : 0;
    const uint64_t jb = journal_->blocks_written() * format::kBlock;
    s->journal_bytes_written += jb;
    s->device_bytes_written += jb;  // write amplification counts every byte the device took
  }
}

}  // namespace coss
