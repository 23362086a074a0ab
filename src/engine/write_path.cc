// Write path: Put, Remove, Clear. A record is encoded straight into the open
// membuf, its directory entry appended at the membuf's tail, and only then is
// the index entry published (invariant (a)). Nothing here touches the device
// except through back-pressure in Reserve.
#include <algorithm>

#include "engine/shard.h"

namespace coss {

uint64_t Shard::Append(Membuf* mb, format::RecordType type, uint64_t hash, std::string_view key,
                       std::string_view value, uint32_t flags, uint64_t version, int64_t expiry) {
  const uint32_t off = mb->data_end;
  const uint32_t len = format::RecordLength(key.size(), value.size());
  format::EncodeRecord(mb->at(off), type, key, value, flags, version, expiry, mb->seq, uuid_seed_);
  format::DirEntry e{};
  e.key_hash = hash;
  e.version = version;
  e.offset = off;
  e.length = len;
  e.expiry = expiry <= 0 ? 0 : static_cast<uint32_t>(std::min<int64_t>(expiry, UINT32_MAX));
  e.type = type;
  *mb->dir(mb->count) = e;
  if (mb->count == 0) mb->first_record = std::chrono::steady_clock::now();
  mb->count++;
  mb->data_end = static_cast<uint32_t>(format::AlignUp(off + uint64_t{len}, format::kRecordAlign));
  Location l;
  l.stripe = mb->stripe;
  l.offset = off;
  l.size_class = SizeClass::Encode(len);
  l.gen = stripes_[mb->stripe].gen;
  return l.Pack();
}

PutResult Shard::Put(uint64_t hash, const PutRequest& req) {
  const uint64_t fp = format::RecordFootprint(req.key.size(), req.value.size());
  Actions act;
  Lock lk(mu_);
  auto current = [&] {
    const uint64_t cur = index_.Find(hash);
    return Live(cur) ? Location::Identity(cur) : Locator::kAbsent;
  };
  if (req.conditional && current() != req.expect.raw) return {Error(Code::kExists, "changed"), 0};
  auto mb = Reserve(lk, fp, /*may_wait=*/true, &act);
  if (!mb.ok()) {
    if (mb.status().code() == Code::kBusy) Counters::Add(ctr_.busy);
    lk.unlock();
    Issue(act);
    return {mb.status(), 0};
  }
  Membuf* m = *mb;
  PutResult res;
  // Reserve may have waited (mu_ released): the condition is checked again.
  if (req.conditional && current() != req.expect.raw) {
    res.status = Error(Code::kExists, "changed");
  } else {
    res.version = req.keep_version != 0 ? req.keep_version : cfg_.versions->Next();
    const uint64_t packed = Append(m, format::RecordType::kValue, hash, req.key, req.value,
                                   req.flags, res.version, req.expiry);
    DropEntry(index_.Assign(hash, packed));
    if (journal_) res.ticket.lsn = journal_->Append(hash, m->seq);
    StripeState& st = stripes_[m->stripe];
    const uint64_t bytes = SizeClass::Decode(Location::Unpack(packed).size_class);
    st.live++;
    st.live_bytes += bytes;
    live_objects_++;
    live_bytes_ += bytes;
    Counters::Add(ctr_.puts);
    Counters::Add(ctr_.client_bytes_written, req.key.size() + req.value.size());
  }
  if (m != open_) Seal(m, &act);  // a jumbo run holds exactly one record
  lk.unlock();
  Issue(act);
  return res;
}

Status Shard::AppendTombstone(Lock& lk, uint64_t hash, std::string_view key,
                              format::RecordType type, Actions* act, uint64_t* lsn, bool may_wait,
                              uint64_t* run) {
  auto mb = Reserve(lk, format::RecordFootprint(key.size(), 0), may_wait, act);
  if (!mb.ok()) return mb.status();
  if (run != nullptr) *run = (*mb)->seq;
  const uint64_t version = cfg_.versions->Next();
  Append(*mb, type, hash, key, {}, 0, version, 0);
  if (journal_) {
    const uint64_t seq =
        (*mb)->seq | (type == format::RecordType::kClear ? format::JournalEntry::kClear : 0);
    const uint64_t l = journal_->Append(hash, seq);
    if (lsn != nullptr) *lsn = l;
  }
  return Status::Ok();
}

Status Shard::Remove(uint64_t hash, std::string_view key, const Locator* expect, uint64_t* lsn) {
  Actions act;
  Lock lk(mu_);
  // Reserve the tombstone's room first: it may wait, and the index is checked after.
  auto mb = Reserve(lk, format::RecordFootprint(key.size(), 0), /*may_wait=*/true, &act);
  Status res;
  if (!mb.ok()) {
    res = mb.status();
  } else {
    const uint64_t cur = index_.Find(hash);
    if (!Live(cur)) {
      res = Error(Code::kNotFound, "not found");
      if (cur != 0) {
        index_.Erase(hash);
        // Evicted, but the stripe that reclaimed its copy may not be durable yet:
        // after a power cut that copy could come back, so it gets a tombstone.
        if (OldCopyMayReturn(cur))
          (void)AppendTombstone(lk, hash, key, format::RecordType::kTombstone, &act, nullptr);
      }
      // NOT_FOUND is final only once the writes that made it so (an earlier
      // delete, a flush_all, the tombstone above) are durable: wait for them all.
      if (journal_ && lsn != nullptr) *lsn = journal_->appended_lsn();
    } else if (expect != nullptr && Location::Identity(cur) != expect->raw) {
      res = Error(Code::kExists, "changed");
    } else {
      DropEntry(index_.Erase(hash));
      // The tombstone keeps a rebuild from reviving an older copy on disk.
      res = AppendTombstone(lk, hash, key, format::RecordType::kTombstone, &act, lsn);
      Counters::Add(ctr_.removes);
    }
  }
  lk.unlock();
  Issue(act);
  return res;
}

Status Shard::Clear(uint64_t* lsn) {
  Actions act;
  Lock lk(mu_);
  Status res = AppendTombstone(lk, 0, "*", format::RecordType::kClear, &act, lsn);
  if (res.ok()) {
    index_.Clear();
    for (auto& st : stripes_) {
      st.live = 0;
      st.live_bytes = 0;
    }
    live_objects_ = 0;
    live_bytes_ = 0;
  }
  lk.unlock();
  Issue(act);
  return res;
}

}  // namespace coss
