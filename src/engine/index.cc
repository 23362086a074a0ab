#include "engine/index.h"

#include <algorithm>
#include <cmath>

namespace coss {

namespace {
constexpr uint32_t kMinCap = 8;
constexpr double kMaxLoad = 0.85;
}  // namespace

Index::Index(uint64_t expected_objects) : parts_(kPartitions) {
  const uint64_t per = expected_objects / kPartitions;
  initial_cap_ = std::max<uint32_t>(kMinCap, static_cast<uint32_t>(per / 0.8) + 1);
}

Index::Slot* Index::Lookup(Partition& p, uint32_t tag) const {
  if (p.cap == 0) return nullptr;
  uint32_t i = Home(tag, p.cap);
  for (;;) {
    Slot& s = p.slots[i];
    if (s.empty()) return nullptr;
    if (s.tag == tag) return &s;
    if (++i == p.cap) i = 0;
  }
}

uint64_t Index::FindLocked(uint64_t hash) const {
  auto& p = const_cast<Partition&>(parts_[hash & (kPartitions - 1)]);
  Slot* s = Lookup(p, static_cast<uint32_t>(hash >> 32));
  return s ? s->packed() : 0;
}

uint64_t Index::Find(uint64_t hash) const {
  std::lock_guard lk(LockOf(static_cast<uint32_t>(hash)));
  return FindLocked(hash);
}

void Index::UpdateLocked(uint64_t hash, uint64_t packed) {
  Partition& p = parts_[hash & (kPartitions - 1)];
  if (Slot* s = Lookup(p, static_cast<uint32_t>(hash >> 32))) s->set(packed);
}

Index::AllLocked::AllLocked(Index& idx) : idx_(idx) {
  for (uint32_t i = 0; i < kLockStripes; i++) idx_.locks_[i].mu.lock();
}

Index::AllLocked::~AllLocked() {
  for (uint32_t i = kLockStripes; i-- > 0;) idx_.locks_[i].mu.unlock();
}

void Index::Place(Partition& p, uint32_t tag, uint64_t packed) {
  uint32_t i = Home(tag, p.cap);
  while (!p.slots[i].empty()) {
    if (++i == p.cap) i = 0;
  }
  p.slots[i].tag = tag;
  p.slots[i].set(packed);
}

void Index::Grow(Partition& p) {
  GrowTo(p, p.cap == 0 ? initial_cap_ : p.cap + p.cap / 4 + 1);
}

void Index::Reserve(uint64_t total) {
  AllLocked all(*this);
  // Mean per partition at load 0.8, plus four standard deviations of the
  // (Poisson) spread so that hardly any partition grows during the load.
  const double mean = static_cast<double>(total) / kPartitions;
  const uint64_t want = static_cast<uint64_t>(mean / 0.8 + 4 * std::sqrt(mean)) + kMinCap;
  const uint32_t cap = static_cast<uint32_t>(std::min<uint64_t>(want, UINT32_MAX / 2));
  for (auto& p : parts_) {
    if (p.cap < cap) GrowTo(p, cap);
  }
}

void Index::GrowTo(Partition& p, uint32_t ncap) {
  Partition n;
  n.slots = std::make_unique<Slot[]>(ncap);  // value-initialised: all empty
  n.cap = ncap;
  n.count = p.count;
  for (uint32_t i = 0; i < p.cap; i++) {
    if (!p.slots[i].empty()) Place(n, p.slots[i].tag, p.slots[i].packed());
  }
  capacity_ += ncap - p.cap;
  p = std::move(n);
}

uint64_t Index::Assign(uint64_t hash, uint64_t packed) {
  std::lock_guard lk(LockOf(static_cast<uint32_t>(hash)));
  Partition& p = parts_[hash & (kPartitions - 1)];
  const uint32_t tag = static_cast<uint32_t>(hash >> 32);
  if (Slot* s = Lookup(p, tag)) {
    const uint64_t old = s->packed();
    s->set(packed);
    return old;
  }
  if (p.count + 1 > static_cast<uint64_t>(p.cap * kMaxLoad)) Grow(p);
  Place(p, tag, packed);
  p.count++;
  size_++;
  return 0;
}

bool Index::CompareAndSet(uint64_t hash, uint64_t expect, uint64_t packed) {
  std::lock_guard lk(LockOf(static_cast<uint32_t>(hash)));
  Partition& p = parts_[hash & (kPartitions - 1)];
  Slot* s = Lookup(p, static_cast<uint32_t>(hash >> 32));
  if (s == nullptr || s->packed() != expect) return false;
  s->set(packed);
  return true;
}

void Index::EraseAt(Partition& p, uint32_t i) {
  // Backward-shift deletion: pull later members of the probe run into the hole.
  uint32_t hole = i;
  uint32_t j = i;
  for (;;) {
    if (++j == p.cap) j = 0;
    Slot& s = p.slots[j];
    if (s.empty()) break;
    const uint32_t home = Home(s.tag, p.cap);
    // s may move to `hole` unless its home lies cyclically in (hole, j].
    const bool home_in_range = hole <= j ? (home > hole && home <= j) : (home > hole || home <= j);
    if (!home_in_range) {
      p.slots[hole] = s;
      hole = j;
    }
  }
  p.slots[hole] = Slot{};
  p.count--;
  size_--;
}

uint64_t Index::Erase(uint64_t hash) {
  std::lock_guard lk(LockOf(static_cast<uint32_t>(hash)));
  Partition& p = parts_[hash & (kPartitions - 1)];
  Slot* s = Lookup(p, static_cast<uint32_t>(hash >> 32));
  if (s == nullptr) return 0;
  const uint64_t old = s->packed();
  EraseAt(p, static_cast<uint32_t>(s - p.slots.get()));
  return old;
}

void Index::Clear() {
  AllLocked all(*this);
  for (auto& p : parts_) {
    p = Partition{};
  }
  size_ = 0;
  capacity_ = 0;
}

void Index::Sweep(uint32_t partition, const std::function<bool(uint64_t)>& drop) {
  std::lock_guard lk(LockOf(partition % kPartitions));
  Partition& p = parts_[partition % kPartitions];
  uint32_t i = 0;
  while (i < p.cap) {
    if (!p.slots[i].empty() && drop(p.slots[i].packed())) {
      // Backward shift may move an unvisited slot into i (re-check i), or wrap a
      // slot from the front to the back; visiting it twice is harmless because
      // drop() is a pure predicate of the slot's value.
      EraseAt(p, i);
      continue;
    }
    i++;
  }
}

void Index::Visit(uint32_t partition, const std::function<void(uint64_t, uint64_t)>& fn) const {
  std::lock_guard lk(LockOf(partition % kPartitions));
  const Partition& p = parts_[partition % kPartitions];
  for (uint32_t i = 0; i < p.cap; i++) {
    if (!p.slots[i].empty()) fn((uint64_t{p.slots[i].tag} << 32) | partition, p.slots[i].packed());
  }
}

uint64_t Index::MemoryBytes() const {
  return capacity_ * sizeof(Slot) + parts_.size() * sizeof(Partition);
}

}  // namespace coss
