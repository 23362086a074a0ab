#include "server/store.h"

namespace coss::server {

ReadResult Store::FromEngine(GetResult&& r) {
  ReadResult out;
  out.code = r.status.code();
  out.seen = r.seen;
  if (r.status.ok()) {
    out.value = std::move(r.item.value);
    out.flags = r.item.flags;
    out.expiry = r.item.expiry;
    out.version = r.item.version;
    out.source = r.tier == Tier::kDisk ? Source::kStoreDisk : Source::kStoreMemory;
  } else if (r.status.code() != Code::kNotFound) {
    out.error = r.status.ToString();
  }
  return out;
}

void Store::FromRam(RamHit&& hit, ReadResult* r) {
  r->code = Code::kOk;
  r->value = std::move(hit.value);
  r->flags = hit.flags;
  r->expiry = hit.expiry;
  r->version = hit.version;
  r->source = Source::kRam;
  r->hit_before = hit.hit_before;
  r->last_access = hit.last_access;
}

void Store::Read(std::string_view key, ReadCallback cb) {
  const int64_t now = NowSeconds();
  uint64_t hash = 0;
  uint64_t ticket = 0;
  if (ram_ != nullptr) {
    hash = RamKeyHash(key);
    RamHit hit;
    if (ram_->Lookup(key, hash, now, &hit)) {
      ReadResult r;
      FromRam(std::move(hit), &r);
      cb(std::move(r));
      return;
    }
    ticket = ram_->BeginFill(hash);  // before the engine read starts
  }
  RamTier* ram = ram_;
  std::string k(key);
  engine_->Get(key, [ram, hash, ticket, k = std::move(k), cb = std::move(cb)](GetResult g) {
    ReadResult r = FromEngine(std::move(g));
    if (ram != nullptr && r.ok() && r.source == Source::kStoreDisk) {
      ram->Fill(k, hash, ticket, r.value, r.flags, r.expiry, r.version, NowSeconds());
    }
    cb(std::move(r));
  });
}

void Store::ReadForUpdate(std::string_view key, ReadCallback cb) {
  RamTier* ram = ram_;
  std::string k(key);
  engine_->Get(key, [ram, k = std::move(k), cb = std::move(cb)](GetResult g) {
    ReadResult r = FromEngine(std::move(g));
    RamHit only;
    if (ram != nullptr && r.code == Code::kNotFound &&
        ram->DropStoreCopy(k, RamKeyHash(k), NowSeconds(), &only)) {
      // Admission kept it off the ring: the tier's copy is the object.
      FromRam(std::move(only), &r);
      r.only_copy = true;
    }
    cb(std::move(r));
  });
}

PutResult Store::Write(const PutRequest& req) {
  if (ram_ == nullptr) return engine_->Put(req);
  const uint64_t hash = RamKeyHash(req.key);
  const uint64_t ticket = ram_->BeginWrite(hash);  // before the engine
  PutResult r = engine_->Put(req);
  if (r.status.ok() && req.keep_version == 0) {
    ram_->OnWrite(req.key, hash, ticket, r.version, req.value, req.flags, req.expiry, !r.stored,
                  NowSeconds());
    return r;
  }
  if (r.status.ok()) {
    // A touch: same version, new expiry. The RAM tier orders updates by version,
    // so it could not tell two touches apart; the copy goes, the next read refills.
    ram_->Invalidate(req.key, hash);
  }
  ram_->EndWrite(hash);
  return r;
}

PutResult Store::Update(const ReadResult& basis, PutRequest req) {
  req.conditional = true;
  req.expect = basis.seen;
  if (!basis.only_copy || ram_ == nullptr) return Write(req);
  PutResult r;
  r.stored = false;  // never on the ring: nothing to wait for (ticket lsn 0)
  r.version = req.keep_version != 0 ? req.keep_version : engine_->NewVersion();
  switch (ram_->UpdateOnlyCopy(req.key, RamKeyHash(req.key), basis.version, req.value, req.flags,
                               req.expiry, r.version, NowSeconds())) {
    case RamTier::Update::kDone:
      break;
    case RamTier::Update::kChanged:
      r.status = Status(Code::kExists, "changed since it was read");
      break;
    case RamTier::Update::kTooLarge:
      r.status = Status(Code::kTooLarge, "larger than the RAM tier's object limit");
      break;
    case RamTier::Update::kNoRoom:
      r.status = Status(Code::kBusy, "no room in the RAM tier");
      break;
  }
  return r;
}

Result<uint64_t> Store::KeepRamOnlyCopies() {
  if (ram_ == nullptr) return uint64_t{0};
  uint64_t kept = 0;
  Status first;
  ram_->ForEachOnlyCopy(NowSeconds(), [&](const RamTier::OnlyCopy& c) {
    if (!first.ok()) return;
    PutRequest p;
    p.key = c.key;
    p.value = c.value;
    p.flags = c.flags;
    p.expiry = c.expiry;
    p.keep_version = c.version;
    p.skip_admission = true;
    const PutResult r = engine_->Put(p);
    if (r.status.ok()) {
      kept++;
    } else {
      first = r.status;
    }
  });
  if (!first.ok()) return first;
  return kept;
}

Status Store::Remove(std::string_view key, const Locator* expect, WriteTicket* ticket) {
  Status s = engine_->Remove(key, expect, ticket);
  // Also when the engine no longer had it: the RAM copy must not outlive it.
  // A copy only the RAM tier held (admission kept it off the ring) existed:
  // deleting it is a delete, not a miss.
  if (ram_ != nullptr && s.code() != Code::kExists && ram_->Invalidate(key, RamKeyHash(key)) &&
      s.code() == Code::kNotFound && (expect == nullptr || expect->absent())) {
    s = Status::Ok();
  }
  return s;
}

void Store::WhenPersisted(const WriteTicket& t, Persistence level,
                          std::function<void(const Status&)> cb) {
  if (t.lsn == 0) {
    cb(Status::Ok());
    return;
  }
  engine_->WhenPersisted(t, level, std::move(cb));
}

Status Store::Clear() {
  Status s = engine_->Clear();
  if (ram_ != nullptr) ram_->Clear();
  return s;
}

}  // namespace coss::server
