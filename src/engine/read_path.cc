// Read path: Get from a membuf or with one device read, verification of every
// record read from the device, and relocation of hits (invariant (c)).
#include <spdlog/spdlog.h>

#include <algorithm>

#include "engine/shard.h"

namespace coss {

struct Shard::DiskRead {
  uint64_t hash;
  std::string key;
  GetCallback cb;
  uint64_t identity;  // Location::Identity of the entry that was read
  uint64_t seq;       // seq the record must carry
  uint32_t pin_first, pin_count;
  PooledBuffer buf;
  uint64_t len;   // bytes read into buf
  uint32_t skip;  // record start within buf
};

namespace {
bool Expired(int64_t expiry) {
  return expiry != 0 && expiry <= NowSeconds();
}

// The value of a record read into `buf`: a view of the buffer itself when the
// value fills most of it (no copy: large values go to the socket from the
// buffer they were read into), else a copy, so that a small value does not
// keep a whole read buffer alive.
Bytes ValueOf(PooledBuffer&& buf, std::string_view value) {
  if (value.size() < buf.capacity / 2) return Bytes::Copy(value);
  return Bytes(std::move(buf.data), value, buf.capacity);
}

GetResult Miss(Locator seen = {}) {
  GetResult r;
  r.status = Error(Code::kNotFound, "miss");
  r.seen = seen;
  return r;
}
}  // namespace

double Shard::Age(uint32_t stripe) const {
  const uint32_t head = head_hint_.load(std::memory_order_relaxed);
  const uint32_t d = (stripe + nstripes_ - head) % nstripes_;
  return 1.0 - static_cast<double>(d + 1) / nstripes_;
}

uint64_t Shard::SameCopy(uint64_t hash, uint64_t identity) {
  auto lk = index_.Lock(hash);  // Live reads the stripe's generation: under the entry's lock
  const uint64_t cur = index_.FindLocked(hash);
  return Live(cur) && Location::Identity(cur) == identity ? cur : 0;
}

bool Shard::WantsRelocation(const format::RecordView& rec, uint64_t cur) const {
  const Location old = Location::Unpack(cur);
  const uint64_t fp = format::RecordFootprint(rec.key.size(), rec.value.size());
  const uint32_t len = format::RecordLength(rec.key.size(), rec.value.size());
  return fp <= stripe_size_ - format::kStripeHeaderSize &&
         cfg_.policy->ShouldRelocate(RelocationContext{Age(old.stripe), old.hits, len});
}

uint64_t Shard::SizeHint(uint64_t hash) {
  auto lk = index_.Lock(hash);
  const uint64_t cur = index_.FindLocked(hash);
  return Live(cur) ? SizeClass::Decode(Location::Unpack(cur).size_class) : 0;
}

namespace {
// Per-thread xorshift state for the hit counters' coin flips (no shared state
// on the read path).
uint32_t NextRandom() {
  thread_local uint32_t x = 0x9E3779B9u ^ static_cast<uint32_t>(reinterpret_cast<uintptr_t>(&x));
  if (x == 0) x = 0x9E3779B9u;
  x ^= x << 13;
  x ^= x >> 17;
  x ^= x << 5;
  return x;
}
}  // namespace

// Without mu_: see the concurrency rule in shard.h.
void Shard::Get(uint64_t hash, std::string_view key, GetCallback cb) {
  Counters::Add(ctr_.gets);
  if (closed_.load()) {
    GetResult r;
    r.status = Error(Code::kShutdown, "engine is closing");
    cb(std::move(r));
    return;
  }
  auto lk = index_.Lock(hash);
  const uint64_t cur = index_.FindLocked(hash);
  if (!Live(cur)) {
    lk.unlock();
    Counters::Add(ctr_.misses);
    cb(Miss());
    return;
  }
  Location loc = Location::Unpack(cur);
  const Locator seen{Location::Identity(cur)};
  const uint8_t hits = BumpHits(loc.hits, NextRandom());
  if (hits != loc.hits) {
    loc.hits = hits;
    index_.UpdateLocked(hash, loc.Pack());
  }
  StripeState& st = stripes_[loc.stripe];
  auto max_hits = MaxHitsOf(st);
  for (uint8_t m = max_hits.load(std::memory_order_relaxed);
       m < loc.hits && !max_hits.compare_exchange_weak(m, loc.hits, std::memory_order_relaxed);) {
  }

  if (Membuf* mb = st.membuf) {  // invariant (a): still in memory, served from memory
    // The record's bytes were written before its entry was published under
    // this lock, and the membuf is not recycled while any partition lock is
    // held (OnWriteDone). Its size class bounds it (data_end may be moving).
    const uint64_t avail =
        std::min<uint64_t>(SizeClass::Decode(loc.size_class), mb->run_bytes() - loc.offset);
    auto rec = format::DecodeRecordInMemory(mb->at(loc.offset), avail);
    if (!rec.ok() || rec->key != key || rec->header->type != format::RecordType::kValue) {
      lk.unlock();
      Counters::Add(ctr_.misses);
      cb(Miss(seen));
      return;
    }
    if (Expired(rec->header->expiry)) {
      lk.unlock();
      {
        Lock rlk(mu_);  // dropping an entry changes the live counts: mu_
        if (SameCopy(hash, seen.raw) != 0) DropEntry(index_.Erase(hash));
      }
      Counters::Add(ctr_.expired);
      Counters::Add(ctr_.misses);
      cb(Miss());
      return;
    }
    GetResult r;
    r.item.value = Bytes::Copy(rec->value);
    r.item.flags = rec->header->flags;
    r.item.expiry = rec->header->expiry;
    r.item.version = rec->header->version;
    r.seen = seen;
    r.tier = Tier::kMemory;
    lk.unlock();
    Counters::Add(ctr_.hits_memory);
    cb(std::move(r));
    return;
  }

  // One device read of the record's extent, pinned against overwrite (invariant (b)).
  const uint64_t dev_end = StripeOffset(nstripes_);
  const uint64_t start = StripeOffset(loc.stripe) + loc.offset;
  const uint64_t end = std::min(dev_end, start + SizeClass::Decode(loc.size_class));
  const uint64_t a = format::AlignDown(start, kIoAlign);
  const uint64_t b = std::min(dev_end, format::AlignUp(end, kIoAlign));
  auto* r = new DiskRead;
  r->hash = hash;
  r->key.assign(key);
  r->cb = std::move(cb);
  r->identity = seen.raw;
  r->seq = st.seq;
  r->pin_first = loc.stripe;
  r->pin_count = static_cast<uint32_t>(std::min<uint64_t>(
      nstripes_ - loc.stripe, (loc.offset + (end - start) + stripe_size_ - 1) / stripe_size_));
  // Under the partition lock: a run that reclaims these stripes takes every
  // partition lock first, then sees the pins (TryStartWrite).
  for (uint32_t j = 0; j < r->pin_count; j++) PinsOf(stripes_[r->pin_first + j]).fetch_add(1);
  lk.unlock();
  r->buf = cfg_.read_buffers->Get(b - a);
  r->len = b - a;
  r->skip = static_cast<uint32_t>(start - a);
  dev_->Read(a, r->buf.data.get(), r->len,
             [this, r](Status s) { FinishDiskRead(r, std::move(s)); });
}

void Shard::Unpin(uint32_t first, uint32_t count) {
  for (uint32_t j = 0; j < count; j++) PinsOf(stripes_[first + j]).fetch_sub(1);
}

void Shard::FinishDiskRead(DiskRead* r, Status io) {
  std::unique_ptr<DiskRead> owner(r);
  Counters::Add(ctr_.device_bytes_read, r->len);
  GetResult res = Miss(Locator{r->identity});
  const format::RecordView* view = nullptr;
  Result<format::RecordView> rec = Error(Code::kIoError, "not read");
  if (!io.ok()) {
    Counters::Add(ctr_.io_errors);
    static std::atomic<bool> logged{false};
    if (!logged.exchange(true)) spdlog::error("{}: read failed: {}", dev_->path(), io.ToString());
  } else {
    rec = format::DecodeRecord(r->buf.data.get() + r->skip, r->len - r->skip, uuid_seed_, r->seq);
    if (!rec.ok()) {
      Counters::Add(ctr_.checksum_failures);
      static std::atomic<bool> logged{false};
      if (!logged.exchange(true))
        spdlog::error("{}: record at stripe {} failed verification ({}); served as a miss",
                      dev_->path(), r->pin_first, rec.status().ToString());
    } else if (rec->key == r->key && rec->header->type == format::RecordType::kValue) {
      view = &*rec;
    }
  }
  bool expired = false;
  if (view != nullptr && Expired(view->header->expiry)) {
    expired = true;
    view = nullptr;
    Counters::Add(ctr_.expired);
  }

  // Without mu_ unless there is something to change: an expired entry to drop,
  // a relocation the policy asks for, or a sealed run waiting for these pins.
  Unpin(r->pin_first, r->pin_count);
  const uint64_t cur = view != nullptr || expired ? SameCopy(r->hash, r->identity) : 0;
  // (cur != 0 and not expired: view is set)
  const bool locked_work =
      pinned_count_.load() != 0 || (cur != 0 && (expired || WantsRelocation(*view, cur)));
  Actions act;
  if (locked_work) {
    Lock lk(mu_);
    const uint64_t now = SameCopy(r->hash, r->identity);  // again: it may have changed
    if (expired && now != 0) {
      DropEntry(index_.Erase(r->hash));
      res.seen = Locator{};
    }
    // Invariant (c): relocate only the copy the index still points at, in the
    // same critical section as the append. Invariant (e): not once Close began.
    if (view != nullptr && now != 0 && !closing_ && WantsRelocation(*view, now)) {
      const Location old = Location::Unpack(now);
      const uint32_t len = format::RecordLength(view->key.size(), view->value.size());
      const uint64_t fp = format::RecordFootprint(view->key.size(), view->value.size());
      if (auto mb = Reserve(lk, fp, /*may_wait=*/false, &act); mb.ok()) {
        const auto* h = view->header;
        Location nl = Location::Unpack(Append(*mb, format::RecordType::kValue, r->hash, view->key,
                                              view->value, h->flags, h->version, h->expiry));
        nl.hits = old.hits;
        DropEntry(index_.Assign(r->hash, nl.Pack()));
        StripeState& st = stripes_[nl.stripe];
        const uint64_t bytes = SizeClass::Decode(nl.size_class);
        st.live++;
        st.live_bytes += bytes;
        live_objects_++;
        live_bytes_ += bytes;
        res.seen = Locator{Location::Identity(nl.Pack())};
        Counters::Add(ctr_.relocations);
        Counters::Add(ctr_.relocated_bytes, len);
      }
    }
    RetryPinnedWrites(&act);
  }
  Issue(act);
  if (view != nullptr) {
    res.status = Status::Ok();
    res.item.value = ValueOf(std::move(r->buf), view->value);
    res.item.flags = view->header->flags;
    res.item.expiry = view->header->expiry;
    res.item.version = view->header->version;
    res.tier = Tier::kDisk;
    Counters::Add(ctr_.hits_disk);
  } else {
    Counters::Add(ctr_.misses);
  }
  r->cb(std::move(res));
}

}  // namespace coss
