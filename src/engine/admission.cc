#include "engine/admission.h"

#include <algorithm>

namespace coss {

void GhostAdmission::Table::Reset(size_t size) {
  slots.reset(static_cast<uint32_t*>(std::calloc(size, sizeof(uint32_t))));
  n = slots ? size : 0;
  count = 0;
}

bool GhostAdmission::Table::Contains(uint32_t fp) const {
  if (n == 0) return false;
  for (size_t i = (uint64_t{fp} * n) >> 32;; i = (i + 1 == n ? 0 : i + 1)) {
    if (slots[i] == fp) return true;
    if (slots[i] == 0) return false;
  }
}

void GhostAdmission::Table::Insert(uint32_t fp) {
  if (n == 0) return;
  for (size_t i = (uint64_t{fp} * n) >> 32;; i = (i + 1 == n ? 0 : i + 1)) {
    if (slots[i] == fp) return;
    if (slots[i] == 0) {
      slots[i] = fp;
      count++;
      return;
    }
  }
}

bool GhostAdmission::Admit(uint64_t hash, uint64_t footprint) {
  offered_++;
  offered_bytes_ += footprint;
  const uint32_t fp = std::max<uint32_t>(1, static_cast<uint32_t>(hash >> 32));
  if (cur_.Contains(fp) || prev_.Contains(fp)) return true;
  if (cur_.n == 0 || cur_.count >= capacity_) {
    // New generation, sized for the ring and the objects seen so far.
    const uint64_t objects = ring_ / std::max<uint64_t>(1, offered_bytes_ / offered_);
    capacity_ = std::max<uint64_t>(1024, objects * cfg_.ghost_percent / 100);
    std::swap(prev_, cur_);
    cur_.Reset(2 * capacity_ + 1);
    if (cur_.n == 0) return true;  // out of memory: nothing can be remembered, so store it
  }
  cur_.Insert(fp);
  return false;
}

bool GhostAdmission::UseGhost(uint64_t hash) {
  if (!cfg_.duel) return true;
  constexpr int32_t kMax = 1024;
  const uint32_t group = static_cast<uint32_t>(hash >> 20) & 31;
  if (group == 0) {
    psel_ = std::min(psel_ + 1, kMax);
    return false;
  }
  if (group == 1) {
    psel_ = std::max(psel_ - 1, -kMax);
    return true;
  }
  return psel_ > 0;
}

}  // namespace coss
