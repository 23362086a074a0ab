// RamTier implementation: see ram_tier.h for the memory layout, the policy and
// the no-stale-fill and no-stale-insert protocols.
#include "server/ram_tier.h"

#include <xxhash.h>

#include <algorithm>
#include <cassert>
#include <random>

namespace coss::server {

namespace {

// Index home buckets for `items` objects at about 90 % of their slots (two
// bucket choices keep overflow rare up to about 97 %).
uint64_t BucketsFor(uint64_t items) {
  return std::max<uint64_t>(8, items * 100 / (90 * RamIndex::kWays) + 1);
}

}  // namespace

uint64_t RamKeyHash(std::string_view key) {
  // Seeded per process (the tier is not persistent), so that keys cannot be
  // crafted to pile into one bucket chain.
  static const uint64_t seed = [] {
    std::random_device rd;
    return (uint64_t{rd()} << 32) ^ rd();
  }();
  return XXH3_64bits_withSeed(key.data(), key.size(), seed);
}

RamTier::RamTier(uint64_t capacity_bytes) : capacity_(capacity_bytes) {
  // Shards of about 16 MiB (1 to 64): parallelism for the workers. Segments
  // of 64 KiB (a shard's open and spare segments stay near 1 % of it; S3-FIFO
  // evicts in fine steps), 128 KiB (the index's offset limit) only for shards
  // above 1 GiB (the index's segment-id limit), smaller for tiny tiers.
  const uint64_t n = std::clamp<uint64_t>(capacity_bytes / (16u << 20), 1, kMaxShards);
  const uint64_t per = capacity_bytes / n;
  uint64_t seg = per > (1ull << 30) ? uint64_t{RamSlot::kMaxOffset} + 1 : 64u << 10;
  while (seg > 4096 && seg * 64 > per) seg /= 2;
  segment_bytes_ = static_cast<uint32_t>(seg);
  max_object_ = per / 8;
  shards_ = std::vector<Shard>(n);
  for (auto& s : shards_) {
    s.capacity = per;
    s.writes.assign(kStripes, 0);
    s.drops.assign(kStripes, 0);
    s.writing.assign(kStripes, 0);
    ResetShardLocked(s);
  }
}

RamTier::~RamTier() = default;

void RamTier::ResetShardLocked(Shard& s) {
  s.segs.clear();
  s.segs.shrink_to_fit();
  s.free_ids.clear();
  s.empty_ids.clear();
  for (auto& f : s.fifo) f.clear();
  s.open[kSmall] = s.open[kMain] = -1;
  s.allocated = 0;
  s.queue_bytes[kSmall] = s.queue_bytes[kMain] = 0;
  // Sized for a quarter of the objects of 128 bytes the shard could hold; it
  // grows (or shrinks) to what it really holds.
  s.index.Reset(BucketsFor(s.capacity / 128 / 4));
  s.ghost.Reset(s.capacity / 1024);
}

uint64_t RamTier::TicketLocked(Shard& s, uint64_t hash) const {
  return (uint64_t{epoch_.load(std::memory_order_acquire)} << 32) | s.writes[StripeOf(hash)];
}

uint64_t RamTier::WriteTicketLocked(Shard& s, uint64_t hash) const {
  return (uint64_t{epoch_.load(std::memory_order_acquire)} << 32) | s.drops[StripeOf(hash)];
}

uint64_t RamTier::BeginWrite(uint64_t hash) {
  Shard& s = ShardFor(hash);
  std::lock_guard lk(s.mu);
  s.writing[StripeOf(hash)]++;  // bounded by the threads writing at once
  return WriteTicketLocked(s, hash);
}

void RamTier::EndWriteLocked(Shard& s, uint64_t hash) {
  uint16_t& n = s.writing[StripeOf(hash)];
  assert(n > 0 && "OnWrite/EndWrite without BeginWrite");
  if (n > 0) n--;
}

void RamTier::EndWrite(uint64_t hash) {
  Shard& s = ShardFor(hash);
  std::lock_guard lk(s.mu);
  EndWriteLocked(s, hash);
}

uint64_t RamTier::BeginFill(uint64_t hash) {
  Shard& s = ShardFor(hash);
  std::lock_guard lk(s.mu);
  return TicketLocked(s, hash);
}

ram_item::Fields RamTier::DecodeAt(Shard& s, uint64_t slot) {
  ram_item::Fields f;
  const Segment& g = s.segs[RamSlot::Segment(slot)];
  (void)ram_item::Decode(ItemAt(s, slot), g.base_version, &f);
  if (g.jumbo) f.value = g.value.view();
  return f;
}

uint64_t* RamTier::FindLocked(Shard& s, std::string_view key, uint64_t hash) {
  return s.index.Find(hash, [&](uint64_t slot) {
    const char* p = ItemAt(s, slot);
    return static_cast<uint8_t>(p[0]) == key.size() && DecodeAt(s, slot).key == key;
  });
}

uint64_t RamTier::OverheadBytes(const Shard& s) {
  return s.index.bytes() + s.ghost.bytes() + (s.writes.size() + s.drops.size()) * sizeof(uint32_t) +
         s.writing.size() * sizeof(uint16_t);
}

uint64_t RamTier::BudgetBytes(const Shard& s) const {
  const uint64_t overhead = OverheadBytes(s);
  return overhead >= s.capacity ? 0 : s.capacity - overhead;
}

void RamTier::FreeSegmentLocked(Shard& s, uint32_t id) {
  Segment& g = s.segs[id];
  s.queue_bytes[g.queue] -= g.size;
  g.used = 0;
  if (g.jumbo) {  // sized for its object: the memory goes back
    s.allocated -= g.size;
    g.mem.reset();
    g.value = Bytes();
    g.size = 0;
    g.jumbo = false;
    s.empty_ids.push_back(id);
  } else {
    s.free_ids.push_back(id);  // keeps its memory for reuse
  }
}

int64_t RamTier::NewSegmentLocked(Shard& s, uint64_t size, uint64_t jumbo_mem) {
  const bool plain = jumbo_mem == 0;
  if (plain && !s.free_ids.empty()) {
    const uint32_t id = s.free_ids.back();
    s.free_ids.pop_back();
    return id;
  }
  // (An eviction's copies find the spare that MakeRoomLocked keeps: a kept
  // segment, or room for one.)
  if (s.allocated + size > BudgetBytes(s)) return -1;
  uint32_t id;
  if (!s.empty_ids.empty()) {
    id = s.empty_ids.back();
    s.empty_ids.pop_back();
  } else if (s.segs.size() < RamSlot::kMaxSegments) {
    id = static_cast<uint32_t>(s.segs.size());
    s.segs.emplace_back();
  } else {
    return -1;
  }
  Segment& g = s.segs[id];
  g.mem.reset(new char[plain ? size : jumbo_mem]);
  g.size = static_cast<uint32_t>(size);
  g.jumbo = !plain;
  s.allocated += size;
  return id;
}

void RamTier::EraseLocked(Shard& s, uint64_t* slot, uint64_t hash) {
  s.index.Erase(slot);
  s.drops[StripeOf(hash)]++;  // a writer's pending insert of this key may be stale now
  items_.fetch_sub(1, std::memory_order_relaxed);
}

uint64_t RamTier::AppendLocked(Shard& s, Queue q, uint64_t hash, const ram_item::Fields& f,
                               bool for_eviction, const Bytes* shared) {
  if (ram_item::Size(f, f.version) > segment_bytes_)
    return AppendJumboLocked(s, q, hash, f, shared != nullptr ? *shared : Bytes::Copy(f.value));
  auto size_in = [&](int64_t id) -> uint64_t {
    const Segment& g = s.segs[id];
    return ram_item::Size(f, g.used == 0 ? f.version : g.base_version);
  };
  auto fits = [&](int64_t id) {
    return id >= 0 && s.segs[id].used + size_in(id) <= segment_bytes_;
  };
  auto seal = [&] {
    if (s.open[q] >= 0) {
      s.fifo[q].push_back(static_cast<uint32_t>(s.open[q]));
      s.open[q] = -1;
    }
  };
  if (!fits(s.open[q])) {
    seal();
    if (!for_eviction) MakeRoomLocked(s, segment_bytes_, /*jumbo=*/false);
    if (!fits(s.open[q])) {  // an eviction's copies may have opened one with room
      seal();
      const int64_t id = NewSegmentLocked(s, segment_bytes_);
      if (id < 0) return 0;  // no room at all (a tiny tier): the object does not enter
      Segment& g = s.segs[id];
      g.queue = q;
      g.base_version = f.version;
      s.queue_bytes[q] += g.size;
      s.open[q] = id;
    }
  }
  Segment& g = s.segs[s.open[q]];
  const auto off = g.used;
  const auto size = static_cast<uint32_t>(size_in(s.open[q]));
  ram_item::Encode(g.mem.get() + off, f, g.base_version);
  g.used += size;
  return RamSlot::Make(hash, static_cast<uint32_t>(s.open[q]), off);
}

uint64_t RamTier::AppendJumboLocked(Shard& s, Queue q, uint64_t hash, const ram_item::Fields& f,
                                    Bytes value) {
  ram_item::Fields head = f;
  head.value = {};  // the value stays in `value`
  const uint32_t head_size = ram_item::Size(head, f.version);
  // Charged: the item as if it were inline, or the header and key and all the
  // memory the value's owner holds if that is more.
  const uint64_t size = std::max<uint64_t>(ram_item::Size(f, f.version), head_size + value.held());
  MakeRoomLocked(s, size, /*jumbo=*/true);
  const int64_t id = NewSegmentLocked(s, size, head_size);
  if (id < 0) return 0;
  Segment& g = s.segs[id];
  g.queue = q;
  g.base_version = f.version;
  ram_item::Encode(g.mem.get(), head, g.base_version);
  g.used = head_size;
  g.value = std::move(value);
  s.queue_bytes[q] += g.size;
  s.fifo[q].push_back(static_cast<uint32_t>(id));  // sealed at once: it is full
  return RamSlot::Make(hash, static_cast<uint32_t>(id), 0);
}

void RamTier::MakeRoomLocked(Shard& s, uint64_t need, bool jumbo) {
  // Taking `need` more bytes must leave a spare plain segment for the copies
  // of an eviction, with no more memory held than the budget.
  for (int guard = 0; guard < 4 * 16384; guard++) {
    const uint64_t budget = BudgetBytes(s);
    const uint64_t spare = s.free_ids.size() * segment_bytes_;
    const uint64_t in_use = s.allocated - spare;
    const bool over = s.allocated > budget || (jumbo && s.allocated + need > budget);
    if (over && !s.free_ids.empty()) {
      // The index grew into the segments' share, or a large object needs
      // memory of its own: give a kept segment back.
      const uint32_t id = s.free_ids.back();
      s.free_ids.pop_back();
      s.segs[id].mem.reset();
      s.segs[id].size = 0;
      s.allocated -= segment_bytes_;
      s.empty_ids.push_back(id);
      continue;
    }
    if (!over && in_use + need + segment_bytes_ <= budget) return;
    if (s.fifo[kSmall].empty() && s.fifo[kMain].empty()) return;  // nothing sealed to evict
    // Right-size an index that holds far fewer objects than it was made for
    // (larger objects than guessed), so its memory goes to segments.
    if (s.index.load() < 0.45 && s.index.home_buckets() > BucketsFor(s.index.size()) * 3 / 2) {
      ResizeIndexLocked(s, s.index.size());
      continue;
    }
    EvictOneLocked(s);
  }
}

void RamTier::EvictOneLocked(Shard& s) {
  const uint64_t total = s.queue_bytes[kSmall] + s.queue_bytes[kMain];
  Queue q = kMain;
  if (s.fifo[kMain].empty() || (!s.fifo[kSmall].empty() && s.queue_bytes[kSmall] * 10 > total))
    q = kSmall;
  if (s.fifo[q].empty()) return;
  const uint32_t id = s.fifo[q].front();
  s.fifo[q].pop_front();
  // Copies may add segments (s.segs may move): read through stable values.
  const char* mem = s.segs[id].mem.get();
  const uint32_t used = s.segs[id].used;
  const uint64_t base = s.segs[id].base_version;
  const bool jumbo = s.segs[id].jumbo;
  const int64_t now = now_.load(std::memory_order_relaxed);
  for (uint32_t off = 0; off < used;) {
    ram_item::Fields f;
    const uint32_t size = ram_item::Decode(mem + off, base, &f);
    const uint64_t hash = RamKeyHash(f.key);
    uint64_t* slot = s.index.Find(
        hash, [&](uint64_t v) { return RamSlot::Segment(v) == id && RamSlot::Offset(v) == off; });
    if (slot != nullptr) {
      const uint32_t freq = RamSlot::Freq(*slot);
      const bool expired = f.expiry != 0 && f.expiry <= now;
      if (freq > 0 && !expired && jumbo) {
        // Read while here: to main with one read less (a second chance). A
        // segment of its own moves whole.
        *slot = RamSlot::WithFreq(*slot, freq - 1);
        s.queue_bytes[q] -= s.segs[id].size;
        s.queue_bytes[kMain] += s.segs[id].size;
        s.segs[id].queue = kMain;
        s.fifo[kMain].push_back(id);
        copied_forward_.fetch_add(1, std::memory_order_relaxed);
        return;
      }
      uint64_t moved = 0;
      if (freq > 0 && !expired) moved = AppendLocked(s, kMain, hash, f, /*for_eviction=*/true);
      if (moved != 0) {
        *slot = RamSlot::WithFreq(
            RamSlot::Move(*slot, RamSlot::Segment(moved), RamSlot::Offset(moved)), freq - 1);
        copied_forward_.fetch_add(1, std::memory_order_relaxed);
      } else {
        if (q == kSmall && !expired) s.ghost.Add(hash);
        EraseLocked(s, slot, hash);
        evictions_.fetch_add(1, std::memory_order_relaxed);
      }
    }
    off += size;
  }
  FreeSegmentLocked(s, id);
}

uint64_t RamTier::SlotHashLocked(Shard& s, uint64_t slot) {
  return RamKeyHash(DecodeAt(s, slot).key);
}

void RamTier::ResizeIndexLocked(Shard& s, uint64_t items) {
  s.index.Resize(BucketsFor(items), [&](uint64_t slot) { return SlotHashLocked(s, slot); });
}

bool RamTier::InsertLocked(Shard& s, uint64_t hash, const ram_item::Fields& f, bool only_copy,
                           int64_t now, const Bytes* shared) {
  // A key evicted from small a short while ago goes straight to main.
  const Queue q = s.ghost.Contains(hash) ? kMain : kSmall;
  const uint64_t loc = AppendLocked(s, q, hash, f, /*for_eviction=*/false, shared);
  if (loc == 0) return false;
  IndexLocked(s, hash, loc, only_copy, now);
  return true;
}

void RamTier::IndexLocked(Shard& s, uint64_t hash, uint64_t loc, bool only_copy, int64_t now) {
  s.index.Insert(hash, RamSlot::WithAccess(RamSlot::WithOnlyCopy(loc, only_copy), now),
                 [&](uint64_t v) { return SlotHashLocked(s, v); });
  items_.fetch_add(1, std::memory_order_relaxed);
  if (s.index.load() > 0.97) {
    ResizeIndexLocked(s, s.index.size() * 26 / 25);  // to about 87 %
    MakeRoomLocked(s, 0, /*jumbo=*/false);           // the index took memory from the segments
  }
}

void RamTier::CopyOut(const Shard& s, uint64_t slot, const ram_item::Fields& f, int64_t now,
                      RamHit* out) {
  const Segment& g = s.segs[RamSlot::Segment(slot)];
  out->value = g.jumbo ? g.value : Bytes::Copy(f.value);  // a large value by reference
  out->flags = f.flags;
  out->expiry = f.expiry;
  out->version = f.version;
  out->hit_before = RamSlot::HitBefore(slot);
  out->last_access = RamSlot::Access(slot, now);
}

bool RamTier::Lookup(std::string_view key, uint64_t hash, int64_t now, RamHit* out) {
  Shard& s = ShardFor(hash);
  std::lock_guard lk(s.mu);
  now_.store(now, std::memory_order_relaxed);
  uint64_t* slot = FindLocked(s, key, hash);
  if (slot == nullptr) {
    misses_.fetch_add(1, std::memory_order_relaxed);
    return false;
  }
  const ram_item::Fields f = DecodeAt(s, *slot);
  if (f.expiry != 0 && f.expiry <= now) {
    EraseLocked(s, slot, hash);
    misses_.fetch_add(1, std::memory_order_relaxed);
    return false;
  }
  CopyOut(s, *slot, f, now, out);
  uint64_t v = RamSlot::WithAccess(RamSlot::WithHit(*slot), now);
  if (RamSlot::Freq(v) < 3) v = RamSlot::WithFreq(v, RamSlot::Freq(v) + 1);
  *slot = v;
  hits_.fetch_add(1, std::memory_order_relaxed);
  return true;
}

bool RamTier::Fill(std::string_view key, uint64_t hash, uint64_t ticket, Bytes value,
                   uint32_t flags, int64_t expiry, uint64_t version, int64_t now) {
  if (expiry != 0 && expiry <= now) return false;
  if (key.size() + value.size() > max_object_) {
    fills_too_large_.fetch_add(1, std::memory_order_relaxed);
    return false;
  }
  Shard& s = ShardFor(hash);
  std::lock_guard lk(s.mu);
  now_.store(now, std::memory_order_relaxed);
  if (TicketLocked(s, hash) != ticket) {
    fills_stale_.fetch_add(1, std::memory_order_relaxed);
    return false;
  }
  // Same stripe counter: no write since the ticket, so a resident copy is at
  // least as new as ours.
  if (FindLocked(s, key, hash) != nullptr) return false;
  fills_.fetch_add(1, std::memory_order_relaxed);
  const ram_item::Fields f{key, value.view(), flags, expiry, version};
  InsertLocked(s, hash, f, false, now, &value);
  return true;
}

void RamTier::OnWrite(std::string_view key, uint64_t hash, uint64_t ticket, uint64_t version,
                      std::string_view value, uint32_t flags, int64_t expiry, bool only_copy,
                      int64_t now) {
  Shard& s = ShardFor(hash);
  std::lock_guard lk(s.mu);
  now_.store(now, std::memory_order_relaxed);
  const uint32_t stripe = StripeOf(hash);
  EndWriteLocked(s, hash);
  const bool may_insert = WriteTicketLocked(s, hash) == ticket;
  s.writes[stripe]++;
  const bool fits = key.size() + value.size() <= max_object_;
  const bool expired = expiry != 0 && expiry <= now;
  const ram_item::Fields f{key, value, flags, expiry, version};
  uint64_t* slot = FindLocked(s, key, hash);
  if (slot == nullptr) {
    if (may_insert && !expired && fits && InsertLocked(s, hash, f, only_copy, now)) {
      writes_in_.fetch_add(1, std::memory_order_relaxed);
    } else {
      // Not inserted (refused, or no room): a slower writer of an older
      // version, whose ticket is newer than ours, must not insert either.
      s.drops[stripe]++;
    }
    return;
  }
  if (DecodeAt(s, *slot).version >= version) return;  // a newer write already landed here
  if (!fits || expired) {
    EraseLocked(s, slot, hash);
    return;
  }
  (void)ReplaceLocked(s, slot, hash, f, only_copy, now);
}

bool RamTier::ReplaceLocked(Shard& s, uint64_t* slot, uint64_t hash, const ram_item::Fields& f,
                            bool only_copy, int64_t now) {
  // The new value goes to the queue the object is in, keeping its reads.
  // Appending may evict (even the object itself), so the slot is looked up
  // again afterwards.
  const Queue q = s.segs[RamSlot::Segment(*slot)].queue;
  const uint64_t loc = AppendLocked(s, q, hash, f, /*for_eviction=*/false);
  slot = FindLocked(s, f.key, hash);  // the old copy (the new one is not indexed yet)
  if (loc == 0) {
    if (slot != nullptr) EraseLocked(s, slot, hash);
    return false;
  }
  if (slot != nullptr) {
    *slot = RamSlot::WithOnlyCopy(RamSlot::Move(*slot, RamSlot::Segment(loc), RamSlot::Offset(loc)),
                                  only_copy);
  } else {
    IndexLocked(s, hash, loc, only_copy, now);  // the old copy was evicted meanwhile
  }
  return true;
}

RamTier::Update RamTier::UpdateOnlyCopy(std::string_view key, uint64_t hash, uint64_t read_version,
                                        std::string_view value, uint32_t flags, int64_t expiry,
                                        uint64_t version, int64_t now) {
  Shard& s = ShardFor(hash);
  std::lock_guard lk(s.mu);
  now_.store(now, std::memory_order_relaxed);
  const uint32_t stripe = StripeOf(hash);
  if (s.writing[stripe] != 0) return Update::kChanged;
  uint64_t* slot = FindLocked(s, key, hash);
  if (slot == nullptr || !RamSlot::OnlyCopy(*slot)) return Update::kChanged;
  const ram_item::Fields old = DecodeAt(s, *slot);
  if (old.version != read_version || (old.expiry != 0 && old.expiry <= now)) {
    return Update::kChanged;
  }
  if (key.size() + value.size() > max_object_) return Update::kTooLarge;
  s.writes[stripe]++;  // a fill read before this is stale
  if (expiry != 0 && expiry <= now) {
    EraseLocked(s, slot, hash);
    return Update::kDone;
  }
  const ram_item::Fields f{key, value, flags, expiry, version};
  return ReplaceLocked(s, slot, hash, f, /*only_copy=*/true, now) ? Update::kDone : Update::kNoRoom;
}

void RamTier::ForEachOnlyCopy(int64_t now, const std::function<void(const OnlyCopy&)>& fn) {
  for (auto& s : shards_) {
    std::lock_guard lk(s.mu);
    s.index.ForEach([&](uint64_t& slot) {
      if (!RamSlot::OnlyCopy(slot)) return;
      const ram_item::Fields f = DecodeAt(s, slot);
      if (f.expiry != 0 && f.expiry <= now) return;
      fn(OnlyCopy{f.key, f.value, f.flags, f.expiry, f.version});
    });
  }
}

bool RamTier::Invalidate(std::string_view key, uint64_t hash) {
  Shard& s = ShardFor(hash);
  std::lock_guard lk(s.mu);
  s.writes[StripeOf(hash)]++;
  s.drops[StripeOf(hash)]++;  // also when absent: a pending insert of the key is stale
  uint64_t* slot = FindLocked(s, key, hash);
  if (slot == nullptr) return false;
  const bool only = RamSlot::OnlyCopy(*slot);
  EraseLocked(s, slot, hash);
  return only;
}

bool RamTier::DropStoreCopy(std::string_view key, uint64_t hash, int64_t now, RamHit* only) {
  Shard& s = ShardFor(hash);
  std::lock_guard lk(s.mu);
  uint64_t* slot = FindLocked(s, key, hash);
  if (slot == nullptr) return false;
  if (RamSlot::OnlyCopy(*slot)) {
    const ram_item::Fields f = DecodeAt(s, *slot);
    if (f.expiry != 0 && f.expiry <= now) {
      EraseLocked(s, slot, hash);
      return false;
    }
    CopyOut(s, *slot, f, now, only);
    return true;
  }
  s.writes[StripeOf(hash)]++;  // a fill read before this miss is stale too
  EraseLocked(s, slot, hash);
  return false;
}

void RamTier::Clear() {
  epoch_.fetch_add(1, std::memory_order_acq_rel);
  for (auto& s : shards_) {
    std::lock_guard lk(s.mu);
    // Bump under the lock too: a fill that read the epoch before the increment
    // and takes the lock after it still compares unequal.
    for (auto& w : s.writes) w++;
    for (auto& d : s.drops) d++;
    items_.fetch_sub(s.index.size(), std::memory_order_relaxed);
    ResetShardLocked(s);
  }
}

RamTierStats RamTier::Stats() const {
  RamTierStats st;
  st.items = items_.load(std::memory_order_relaxed);
  for (auto& s : shards_) {
    std::lock_guard lk(s.mu);
    st.bytes += s.allocated + OverheadBytes(s);
  }
  st.capacity = capacity_;
  st.hits = hits_.load(std::memory_order_relaxed);
  st.misses = misses_.load(std::memory_order_relaxed);
  st.evictions = evictions_.load(std::memory_order_relaxed);
  st.fills = fills_.load(std::memory_order_relaxed);
  st.fills_stale = fills_stale_.load(std::memory_order_relaxed);
  st.fills_too_large = fills_too_large_.load(std::memory_order_relaxed);
  st.writes_in = writes_in_.load(std::memory_order_relaxed);
  st.copied_forward = copied_forward_.load(std::memory_order_relaxed);
  return st;
}

}  // namespace coss::server
