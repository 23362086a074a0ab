// RamTier implementation: see ram_tier.h for the policy and the no-stale-fill
// protocol.
#include "server/ram_tier.h"

#include <xxhash.h>

#include <algorithm>

namespace coss::server {

struct RamTier::Node {
  std::string key;
  uint64_t hash = 0;
  SharedValue value;
  uint32_t flags = 0;
  int64_t expiry = 0;
  uint64_t version = 0;
  uint64_t charge = 0;
  int64_t last_access = 0;
  uint8_t freq = 0;
  bool in_main = false;
  bool only_copy = false;  // the store kept it off its ring
  bool hit_before = false;
  Node* prev = nullptr;
  Node* next = nullptr;
};

uint64_t RamKeyHash(std::string_view key) {
  return XXH3_64bits(key.data(), key.size());
}

void RamTier::List::PushHead(Node* n) {
  n->prev = nullptr;
  n->next = head;
  if (head != nullptr) head->prev = n;
  head = n;
  if (tail == nullptr) tail = n;
  bytes += n->charge;
  count++;
}

void RamTier::List::Remove(Node* n) {
  if (n->prev != nullptr)
    n->prev->next = n->next;
  else
    head = n->next;
  if (n->next != nullptr)
    n->next->prev = n->prev;
  else
    tail = n->prev;
  n->prev = n->next = nullptr;
  bytes -= n->charge;
  count--;
}

RamTier::RamTier(uint64_t capacity_bytes) : capacity_(capacity_bytes) {
  // About 8 MiB per shard, between 1 and 16 shards: enough parallelism for the
  // workers, while a shard stays large enough to admit 1 MiB objects.
  const uint64_t n = std::clamp<uint64_t>(capacity_bytes / (8u << 20), 1, 16);
  shards_ = std::vector<Shard>(n);
  for (auto& s : shards_) {
    s.capacity = capacity_bytes / n;
    s.writes.assign(kStripes, 0);
    s.drops.assign(kStripes, 0);
  }
  max_object_ = capacity_bytes / n / 8;
}

RamTier::~RamTier() {
  for (auto& s : shards_) {
    for (auto& [k, n] : s.map) delete n;
  }
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
  return WriteTicketLocked(s, hash);
}

uint64_t RamTier::BeginFill(uint64_t hash) {
  Shard& s = ShardFor(hash);
  std::lock_guard lk(s.mu);
  return TicketLocked(s, hash);
}

bool RamTier::Lookup(std::string_view key, uint64_t hash, int64_t now, RamHit* out) {
  Shard& s = ShardFor(hash);
  std::lock_guard lk(s.mu);
  auto it = s.map.find(key);
  if (it == s.map.end()) {
    misses_.fetch_add(1, std::memory_order_relaxed);
    return false;
  }
  Node* n = it->second;
  if (n->expiry != 0 && n->expiry <= now) {
    Unlink(s, n);
    misses_.fetch_add(1, std::memory_order_relaxed);
    return false;
  }
  out->value = n->value;
  out->flags = n->flags;
  out->expiry = n->expiry;
  out->version = n->version;
  out->hit_before = n->hit_before;
  out->last_access = n->last_access;
  n->hit_before = true;
  n->last_access = now;
  if (n->freq < 3) n->freq++;
  hits_.fetch_add(1, std::memory_order_relaxed);
  return true;
}

bool RamTier::Fill(std::string_view key, uint64_t hash, uint64_t ticket, SharedValue value,
                   uint32_t flags, int64_t expiry, uint64_t version, int64_t now) {
  if (expiry != 0 && expiry <= now) return false;
  const uint64_t charge = key.size() + value->size() + kEntryOverhead;
  if (charge > max_object_) {
    fills_too_large_.fetch_add(1, std::memory_order_relaxed);
    return false;
  }
  Shard& s = ShardFor(hash);
  std::lock_guard lk(s.mu);
  if (TicketLocked(s, hash) != ticket) {
    fills_stale_.fetch_add(1, std::memory_order_relaxed);
    return false;
  }
  auto it = s.map.find(key);
  if (it != s.map.end()) {
    // Same stripe counter: no write since the ticket, so the resident copy is
    // at least as new as ours.
    return false;
  }
  fills_.fetch_add(1, std::memory_order_relaxed);
  return Install(s, key, hash, std::move(value), flags, expiry, version, charge, now, false);
}

bool RamTier::Install(Shard& s, std::string_view key, uint64_t hash, SharedValue value,
                      uint32_t flags, int64_t expiry, uint64_t version, uint64_t charge,
                      int64_t now, bool only_copy) {
  auto* n = new Node;
  n->key.assign(key);
  n->hash = hash;
  n->value = std::move(value);
  n->flags = flags;
  n->expiry = expiry;
  n->version = version;
  n->charge = charge;
  n->last_access = now;
  n->only_copy = only_copy;
  if (s.ghost.erase(hash) != 0) {
    n->in_main = true;
    s.main.PushHead(n);
  } else {
    s.small.PushHead(n);
  }
  s.map.emplace(std::string_view(n->key), n);
  items_.fetch_add(1, std::memory_order_relaxed);
  bytes_.fetch_add(charge, std::memory_order_relaxed);
  EvictLocked(s);
  return true;
}

void RamTier::OnWrite(std::string_view key, uint64_t hash, uint64_t ticket, uint64_t version,
                      std::string_view value, uint32_t flags, int64_t expiry, bool only_copy,
                      int64_t now) {
  Shard& s = ShardFor(hash);
  std::lock_guard lk(s.mu);
  const uint32_t stripe = StripeOf(hash);
  const bool may_insert = WriteTicketLocked(s, hash) == ticket;
  s.writes[stripe]++;
  const uint64_t charge = key.size() + value.size() + kEntryOverhead;
  const bool expired = expiry != 0 && expiry <= now;
  auto it = s.map.find(key);
  if (it == s.map.end()) {
    if (may_insert && !expired && charge <= max_object_) {
      writes_in_.fetch_add(1, std::memory_order_relaxed);
      Install(s, key, hash, std::make_shared<const std::string>(value), flags, expiry, version,
              charge, now, only_copy);
    } else {
      // Not inserted: a slower writer of an older version, whose ticket is
      // newer than ours, must not insert either.
      s.drops[stripe]++;
    }
    return;
  }
  Node* n = it->second;
  if (n->version >= version) return;  // a newer write already landed here
  if (charge > max_object_ || expired) {
    Unlink(s, n);
    return;
  }
  List& l = n->in_main ? s.main : s.small;
  l.bytes -= n->charge;
  bytes_.fetch_sub(n->charge, std::memory_order_relaxed);
  n->charge = charge;
  l.bytes += charge;
  bytes_.fetch_add(charge, std::memory_order_relaxed);
  n->value = std::make_shared<const std::string>(value);
  n->flags = flags;
  n->expiry = expiry;
  n->version = version;
  n->only_copy = only_copy;
  EvictLocked(s);
}

void RamTier::ForEachOnlyCopy(int64_t now, const std::function<void(const OnlyCopy&)>& fn) {
  for (auto& s : shards_) {
    std::lock_guard lk(s.mu);
    for (const auto& [k, n] : s.map) {
      if (!n->only_copy || (n->expiry != 0 && n->expiry <= now)) continue;
      fn(OnlyCopy{n->key, *n->value, n->flags, n->expiry, n->version});
    }
  }
}

void RamTier::Invalidate(std::string_view key, uint64_t hash) {
  Shard& s = ShardFor(hash);
  std::lock_guard lk(s.mu);
  s.writes[StripeOf(hash)]++;
  s.drops[StripeOf(hash)]++;  // also when absent: a pending insert of the key is stale
  auto it = s.map.find(key);
  if (it != s.map.end()) Unlink(s, it->second);
}

void RamTier::Clear() {
  epoch_.fetch_add(1, std::memory_order_acq_rel);
  for (auto& s : shards_) {
    std::lock_guard lk(s.mu);
    // Bump under the lock too: a fill that read the epoch before the increment
    // and takes the lock after it still compares unequal.
    for (auto& w : s.writes) w++;
    while (s.small.head != nullptr) Unlink(s, s.small.head);
    while (s.main.head != nullptr) Unlink(s, s.main.head);
    s.ghost.clear();
    s.ghost_fifo.clear();
  }
}

void RamTier::Unlink(Shard& s, Node* n) {
  s.drops[StripeOf(n->hash)]++;  // a writer's pending insert of this key may be stale now
  (n->in_main ? s.main : s.small).Remove(n);
  s.map.erase(std::string_view(n->key));
  items_.fetch_sub(1, std::memory_order_relaxed);
  bytes_.fetch_sub(n->charge, std::memory_order_relaxed);
  delete n;
}

void RamTier::GhostAdd(Shard& s, uint64_t hash) {
  if (!s.ghost.insert(hash).second) return;
  s.ghost_fifo.push_back(hash);
  const uint64_t limit = std::max<uint64_t>(64, s.main.count + s.small.count);
  while (s.ghost_fifo.size() > limit) {
    s.ghost.erase(s.ghost_fifo.front());
    s.ghost_fifo.pop_front();
  }
}

void RamTier::EvictLocked(Shard& s) {
  const uint64_t small_cap = s.capacity / 10;
  while (s.small.bytes + s.main.bytes > s.capacity) {
    if (s.small.bytes > small_cap || s.main.head == nullptr) {
      Node* n = s.small.tail;
      if (n->freq > 0) {  // read again while in small: promote
        s.small.Remove(n);
        n->freq = 0;
        n->in_main = true;
        s.main.PushHead(n);
      } else {
        GhostAdd(s, n->hash);
        Unlink(s, n);
        evictions_.fetch_add(1, std::memory_order_relaxed);
      }
    } else {
      Node* n = s.main.tail;
      if (n->freq > 0) {  // second chance
        s.main.Remove(n);
        n->freq--;
        s.main.PushHead(n);
      } else {
        Unlink(s, n);
        evictions_.fetch_add(1, std::memory_order_relaxed);
      }
    }
  }
}

RamTierStats RamTier::Stats() const {
  RamTierStats st;
  st.items = items_.load(std::memory_order_relaxed);
  st.bytes = bytes_.load(std::memory_order_relaxed);
  st.capacity = capacity_;
  st.hits = hits_.load(std::memory_order_relaxed);
  st.misses = misses_.load(std::memory_order_relaxed);
  st.evictions = evictions_.load(std::memory_order_relaxed);
  st.fills = fills_.load(std::memory_order_relaxed);
  st.fills_stale = fills_stale_.load(std::memory_order_relaxed);
  st.fills_too_large = fills_too_large_.load(std::memory_order_relaxed);
  st.writes_in = writes_in_.load(std::memory_order_relaxed);
  return st;
}

}  // namespace coss::server
