// Shard's policy hooks: admission of puts of new keys (admission.h) and lazy
// reinsertion at stripe eviction (reinsertion.h) — the "evacuation" of a
// stripe just before the write head reclaims it.
//
// Admission drops a put only when no older copy of the key can come back: the
// index holds no live entry, and no stale entry whose stripe is reclaimed but
// not yet rewritten on the device (a crash there would let a rebuild revive
// the old copy, which the dropped put was meant to replace). Deleted keys have
// their tombstone; expired values stay expired.
//
// Evacuation, step by step (see shard.h for invariants (a)-(d)):
//  1. When a run is opened (Reserve), the stripe max(2, membufs) positions
//     ahead is planned for evacuation if some object in it was read since it
//     was written (StripeState::max_hits >= the Reinserter's threshold). The
//     plan pins the stripe (invariant (b): its next content cannot be written
//     while the read is in flight), marks it `evacuating` (Reserve does not
//     reclaim it before the read is done: a put waits, like any back-pressure)
//     and records its seq and generation.
//  2. After mu_ is released (Issue), the whole stripe is read in one I/O.
//  3. On completion, under mu_: the header and directory are verified; every
//     value record whose index entry still names exactly this copy (stripe,
//     offset and generation — invariant (c): any overwrite, delete or eviction
//     since the read wins) and whose hit counter the Reinserter accepts is
//     checked against its checksum and stripe seq, then appended to the open
//     membuf before the index entry is switched to it (invariant (a)).
//     Expired records are left to die. The pin is dropped (the bytes are in
//     the buffer) and pinned writes retried. If every membuf is in flight, the
//     evacuation waits (evac_waiting_), the stripe still marked evacuating, and
//     resumes when a membuf is free (a write completes, or a run opens).
//     Once Close has begun (invariant (e)), nothing is reinserted: the pin and
//     the mark are dropped, and Close drops the waiting evacuations.
// Reinserted copies keep the value's version (CAS), flags and expiry, like a
// relocation; at rebuild, the later position wins, and a later overwrite or
// tombstone is later still.
#include <algorithm>

#include "engine/shard.h"

namespace coss {

struct Shard::Evacuation {
  uint32_t stripe;
  uint64_t seq;
  uint8_t gen;
  AlignedBuffer buf;
  bool read = false;                      // buf holds the stripe (verified header)
  std::vector<format::DirEntry> entries;  // its directory, in write order
  size_t next = 0;                        // first entry not yet considered
};

void Shard::EvacuationDeleter::operator()(Evacuation* ev) const {
  delete ev;
}

bool Shard::Admit(uint64_t hash, uint64_t bytes, uint64_t keep_version, uint64_t* lsn,
                  uint64_t* version) {
  if (cfg_.spec == nullptr || !cfg_.spec->admission.ghost) return true;
  std::lock_guard lk(mu_);
  const uint64_t cur = index_.Find(hash);
  if (Live(cur)) return true;  // an overwrite must replace the value the index holds
  if (!admission_) {
    admission_ =
        std::make_unique<GhostAdmission>(cfg_.spec->admission, uint64_t{nstripes_} * stripe_size_);
  }
  if (!admission_->UseGhost(hash)) return true;
  // While the ring is still filling, storing evicts nothing.
  if (stripes_[head_].seq == 0) return true;
  if (cur != 0) {
    // Evicted so recently that its stripe's new content is not durable yet:
    // after a crash or power cut a rebuild could find the old copy, so the new value
    // must be stored (and journaled) to shadow it. The sweeper keeps such
    // slots until then (shard.cc SweepSome).
    if (OldCopyMayReturn(cur)) return true;
  }
  // Device bytes of the record: header, key and value, directory entry, padding.
  if (admission_->Admit(hash, bytes + sizeof(format::RecordHeader) + sizeof(format::DirEntry)))
    return true;
  Counters::Add(ctr_.admission_rejected);
  Counters::Add(ctr_.admission_rejected_bytes, bytes);
  // The key is not indexed, but its last delete, flush_all or recovery
  // re-tombstone may not be durable yet: the drop is final only once it is.
  *lsn = journal_ ? journal_->appended_lsn() : 0;
  // The dropped value's version, taken under the lock like a stored put's: a
  // put stored concurrently is ordered against it (the RAM tier, which keeps
  // the dropped value, orders by version).
  *version = keep_version != 0 ? keep_version : cfg_.versions->Next();
  return false;
}

void Shard::UpdateReinsertionBudget() {
  auto r = [](const std::atomic<uint64_t>& c) { return c.load(std::memory_order_relaxed); };
  const uint64_t offered = r(ctr_.client_bytes_written) + r(ctr_.admission_rejected_bytes);
  // Bytes already committed to the open membuf count as written.
  uint64_t written = r(ctr_.device_bytes_written);
  if (open_ != nullptr) written += open_->run_bytes() - open_->Free();
  reinserter_->Update(offered, written);
}

void Shard::ScheduleEvacuation(Membuf* opened, Actions* act) {
  for (uint32_t j = opened->stripe; j < opened->stripe + opened->span; j++) {
    MaxHitsOf(stripes_[j]).store(0, std::memory_order_relaxed);
  }
  if (cfg_.spec == nullptr || !cfg_.spec->reinsertion.enabled) return;
  if (!reinserter_) {
    reinserter_ =
        std::make_unique<Reinserter>(cfg_.spec->reinsertion, uint64_t{nstripes_} * stripe_size_);
  }
  // Each stripe is planned once per lap, when the stripe `ahead` positions
  // before it is opened: the membufs that may still be in flight then have room
  // to take the reinserted records before the head reclaims it.
  const uint32_t ahead =
      std::min<uint32_t>(std::max<uint32_t>(2, cfg_.opts->membufs), nstripes_ - 1);
  for (uint32_t j = opened->stripe; j < opened->stripe + opened->span; j++) {
    PlanEvacuation((j + ahead) % nstripes_, act);
  }
  ResumeEvacuations(act);
}

void Shard::ResumeEvacuations(Actions* act) {
  for (auto& ev : evac_waiting_) act->evacuations.push_back(ev.release());
  evac_waiting_.clear();
}

void Shard::DropWaitingEvacuations() {
  for (auto& ev : evac_waiting_) {
    stripes_[ev->stripe].evacuating = false;  // already read: no pin left
    reinserter_->EndOfStripe();
  }
  evac_waiting_.clear();
}

void Shard::PlanEvacuation(uint32_t v, Actions* act) {
  StripeState& st = stripes_[v];
  // Runs of several stripes (jumbo values) share one seq; they are not evacuated.
  const bool multi = st.seq != 0 && ((v > 0 && stripes_[v - 1].seq == st.seq) ||
                                     (v + 1 < nstripes_ && stripes_[v + 1].seq == st.seq));
  if (st.seq == 0 || st.membuf != nullptr || multi || st.live == 0 ||
      MaxHitsOf(st).load(std::memory_order_relaxed) < reinserter_->threshold()) {
    UpdateReinsertionBudget();
    reinserter_->EndOfStripe();
    return;
  }
  auto* ev = new Evacuation{v, st.seq, st.gen, AlignedBuffer(stripe_size_)};
  PinsOf(st).fetch_add(1);
  st.evacuating = true;
  act->evacuations.push_back(ev);
}

void Shard::IssueEvacuation(Evacuation* ev) {
  if (ev->read) {  // waited for a membuf (see Reinsert): no I/O, just go on
    FinishEvacuation(ev, Status::Ok());
    return;
  }
  dev_->Read(StripeOffset(ev->stripe), ev->buf.data(), ev->buf.size(),
             [this, ev](Status s) { FinishEvacuation(ev, std::move(s)); });
}

void Shard::FinishEvacuation(Evacuation* ev, Status io) {
  std::unique_ptr<Evacuation> owner(ev);
  Actions act;
  {
    Lock lk(mu_);
    if (!ev->read) {
      Counters::Add(ctr_.device_bytes_read, ev->buf.size());
      Unpin(ev->stripe, 1);  // the bytes are in buf now
      if (!io.ok()) Counters::Add(ctr_.io_errors);
      ev->read = io.ok() && ParseEvacuated(ev);
    }
    StripeState& st = stripes_[ev->stripe];
    // Our own reservations below may reclaim the stripe (see Reinsert).
    st.evacuating = false;
    bool done = true;
    if (ev->read && !closing_ && st.seq == ev->seq && st.gen == ev->gen) {
      UpdateReinsertionBudget();
      done = Reinsert(lk, ev, &act);
    }
    if (done) {
      reinserter_->EndOfStripe();
      space_cv_.notify_all();  // a put may be waiting to reclaim this stripe
    } else {
      // Every membuf is in flight: the stripe stays unreclaimed until a membuf
      // is free (ResumeEvacuations from OnWriteDone or a run opening).
      stripes_[ev->stripe].evacuating = true;
      evac_waiting_.emplace_back(owner.release());
    }
    RetryPinnedWrites(&act);
  }
  Issue(act);
}

bool Shard::ParseEvacuated(Evacuation* ev) {
  const char* base = ev->buf.data();
  format::StripeHeader h;
  std::memcpy(&h, base, sizeof h);
  if (!format::CheckStripeHeader(h, uuid_seed_, ev->stripe, stripe_size_, nstripes_).ok() ||
      h.kind != format::StripeKind::kData || h.span != 1 || h.seq != ev->seq) {
    return false;
  }
  const uint64_t dir_bytes = uint64_t{h.record_count} * sizeof(format::DirEntry);
  return format::DecodeDirectory(h, base + stripe_size_ - dir_bytes, dir_bytes, uuid_seed_,
                                 &ev->entries)
      .ok();
}

bool Shard::Reinsert(Lock& lk, Evacuation* ev, Actions* act) {
  const char* base = ev->buf.data();
  for (; ev->next < ev->entries.size(); ev->next++) {
    const format::DirEntry& e = ev->entries[ev->next];
    if (e.type != format::RecordType::kValue) continue;
    // The entry must still name this very copy. FinishEvacuation checked that
    // the stripe's generation is ev->gen; if it changed since, our own Reserve
    // below reclaimed the stripe within this critical section, and no client
    // operation can have intervened — so gen == ev->gen is the identity test.
    const uint64_t cur = index_.Find(e.key_hash);
    if (cur == 0) continue;
    const Location old = Location::Unpack(cur);
    if (old.stripe != ev->stripe || old.offset != e.offset || old.gen != ev->gen) continue;
    if (old.hits < reinserter_->threshold()) continue;
    auto rec = format::DecodeRecord(base + e.offset, stripe_size_ - e.offset, uuid_seed_, ev->seq);
    if (!rec.ok()) {
      Counters::Add(ctr_.checksum_failures);
      continue;
    }
    const format::RecordHeader* rh = rec->header;
    if (rh->type != format::RecordType::kValue) continue;
    if (rh->expiry != 0 && rh->expiry <= NowSeconds()) continue;
    const uint64_t fp = format::RecordFootprint(rec->key.size(), rec->value.size());
    if (!reinserter_->Offer(old.hits, fp)) continue;
    // Never waits, so mu_ stays held; it may open a run and reclaim stripes
    // (this one too), and the sweeper runs then — the slot is checked again.
    auto mb = Reserve(lk, fp, /*may_wait=*/false, act);
    if (!mb.ok()) {
      // Every membuf is in flight: resume from this entry when a run opens.
      reinserter_->Refund(fp);
      return mb.status().code() != Code::kBusy;
    }
    if (index_.Find(e.key_hash) != cur) continue;
    Location nl = Location::Unpack(Append(*mb, format::RecordType::kValue, e.key_hash, rec->key,
                                          rec->value, rh->flags, rh->version, rh->expiry));
    nl.hits = reinserter_->HitsAfter(old.hits);
    DropEntry(index_.Assign(e.key_hash, nl.Pack()));
    StripeState& nst = stripes_[nl.stripe];
    const uint64_t bytes = SizeClass::Decode(nl.size_class);
    nst.live++;
    nst.live_bytes += bytes;
    live_objects_++;
    live_bytes_ += bytes;
    Counters::Add(ctr_.reinsertions);
    Counters::Add(ctr_.reinserted_bytes, format::RecordLength(rec->key.size(), rec->value.size()));
  }
  return true;
}

}  // namespace coss
