#include "tools/fsck/live_index.h"

namespace coss::tools::fsck {

namespace {
constexpr size_t kInitialSlots = 1024;
}

LiveIndex::LiveIndex() : slots_(kInitialSlots, Slot{0, kFree, 0}) {}

uint32_t LiveIndex::AddRun(uint64_t seq) {
  run_seqs_.push_back(seq);
  return static_cast<uint32_t>(run_seqs_.size() - 1);
}

size_t LiveIndex::Home(uint64_t hash) const {
  return static_cast<size_t>((hash * 0x9E3779B97F4A7C15ull) >> 20) & (slots_.size() - 1);
}

LiveIndex::Slot* LiveIndex::Find(uint64_t hash) {
  for (size_t i = Home(hash);; i = (i + 1) & (slots_.size() - 1)) {
    Slot& s = slots_[i];
    if (s.run == kFree) return nullptr;
    if (s.hash == hash) return &s;
  }
}

void LiveIndex::Assign(uint64_t hash, uint32_t run, uint32_t length) {
  if (Slot* s = Find(hash)) {
    bytes_ = bytes_ - (s->length & ~kUnreadable) + length;
    s->run = run;
    s->length = length;
    return;
  }
  if ((count_ + 1) * 4 > slots_.size() * 3) Grow();
  size_t i = Home(hash);
  while (slots_[i].run != kFree) i = (i + 1) & (slots_.size() - 1);
  slots_[i] = Slot{hash, run, length};
  count_++;
  bytes_ += length;
}

void LiveIndex::Erase(uint64_t hash) {
  const size_t mask = slots_.size() - 1;
  size_t i = Home(hash);
  while (slots_[i].run != kFree && slots_[i].hash != hash) i = (i + 1) & mask;
  if (slots_[i].run == kFree) return;
  count_--;
  bytes_ -= slots_[i].length & ~kUnreadable;
  // Backward-shift deletion: move later members of the cluster into the hole
  // when their home does not lie (cyclically) between the hole and them.
  size_t hole = i;
  for (size_t j = (i + 1) & mask; slots_[j].run != kFree; j = (j + 1) & mask) {
    const size_t home = Home(slots_[j].hash);
    const bool stays = hole <= j ? (hole < home && home <= j) : (hole < home || home <= j);
    if (stays) continue;
    slots_[hole] = slots_[j];
    hole = j;
  }
  slots_[hole].run = kFree;
}

void LiveIndex::Clear() {
  slots_.assign(kInitialSlots, Slot{0, kFree, 0});
  count_ = 0;
  bytes_ = 0;
}

void LiveIndex::Grow() {
  std::vector<Slot> old(slots_.size() * 2, Slot{0, kFree, 0});
  old.swap(slots_);
  for (const Slot& s : old) {
    if (s.run == kFree) continue;
    size_t i = Home(s.hash);
    while (slots_[i].run != kFree) i = (i + 1) & (slots_.size() - 1);
    slots_[i] = s;
  }
}

void LiveIndex::MarkUnreadable(uint64_t hash, uint32_t run) {
  if (Slot* s = Find(hash); s != nullptr && s->run == run) s->length |= kUnreadable;
}

uint64_t LiveIndex::unreadable() const {
  uint64_t n = 0;
  for (const Slot& s : slots_) n += s.run != kFree && (s.length & kUnreadable) != 0;
  return n;
}

void LiveIndex::Apply(const format::DirEntry& e, uint32_t run, int64_t now) {
  switch (e.type) {
    case format::RecordType::kClear:
      Clear();
      break;
    case format::RecordType::kTombstone:
      Erase(e.key_hash);
      break;
    case format::RecordType::kValue:
      if (e.expiry != 0 && e.expiry <= now) {
        Erase(e.key_hash);
      } else {
        Assign(e.key_hash, run, e.length);
      }
      break;
  }
}

void LiveIndex::ApplyJournal(const JournalScan& scan, const std::set<uint64_t>& recovered,
                             JournalStats* out) {
  for (const format::JournalEntry& e : scan.tail) {
    const uint64_t seq = e.seq & ~format::JournalEntry::kClear;
    if (recovered.count(seq) != 0) continue;  // that write survived (or was superseded)
    out->lost_writes++;
    if ((e.seq & format::JournalEntry::kClear) != 0) {
      Clear();
      out->lost_clear = true;
      continue;
    }
    Slot* s = Find(e.key_hash);
    if (s != nullptr && run_seqs_[s->run] < seq) {
      Erase(e.key_hash);
      out->keys_dropped++;
    }
  }
}

}  // namespace coss::tools::fsck
