#include "engine/admission.h"

#include <algorithm>

namespace coss {

namespace {
// A key's block and its six bit positions in it, from two remixes of the key
// hash (the shard and the index have used some of the hash's bits already).
struct Probe {
  uint64_t block;
  uint64_t bits;  // 6 x 9-bit positions
};
uint64_t Mix(uint64_t x) {
  x ^= x >> 30;
  x *= 0xBF58476D1CE4E5B9ull;
  x ^= x >> 27;
  x *= 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}
Probe ProbeOf(uint64_t hash, uint64_t blocks) {
  return {((Mix(hash) >> 32) * blocks) >> 32, Mix(hash ^ 0x9E3779B97F4A7C15ull)};
}
}  // namespace

void GhostAdmission::Filter::Reset(uint64_t keys) {
  const uint64_t n = std::max<uint64_t>(1, (keys * kBitsPerKey + 511) / 512);
  bits.reset(static_cast<Block*>(std::calloc(n, sizeof(Block))));
  blocks = bits ? n : 0;
  count = 0;
}

bool GhostAdmission::Filter::Contains(uint64_t hash) const {
  if (blocks == 0) return false;
  const Probe p = ProbeOf(hash, blocks);
  const Block& b = bits[p.block];
  for (int i = 0; i < 6; i++) {
    const uint64_t pos = (p.bits >> (9 * i)) & 511;
    if ((b.w[pos >> 6] & (uint64_t{1} << (pos & 63))) == 0) return false;
  }
  return true;
}

void GhostAdmission::Filter::Insert(uint64_t hash) {
  if (blocks == 0) return;
  const Probe p = ProbeOf(hash, blocks);
  Block& b = bits[p.block];
  bool added = false;
  for (int i = 0; i < 6; i++) {
    const uint64_t pos = (p.bits >> (9 * i)) & 511;
    const uint64_t bit = uint64_t{1} << (pos & 63);
    added |= (b.w[pos >> 6] & bit) == 0;
    b.w[pos >> 6] |= bit;
  }
  if (added) count++;
}

bool GhostAdmission::Admit(uint64_t hash, uint64_t footprint) {
  offered_++;
  offered_bytes_ += footprint;
  if (cur_.Contains(hash) || prev_.Contains(hash)) return true;
  if (cur_.blocks == 0 || cur_.count >= capacity_) {
    // New generation, sized for the ring and the objects seen so far.
    const uint64_t objects = ring_ / std::max<uint64_t>(1, offered_bytes_ / offered_);
    capacity_ = std::max<uint64_t>(1024, objects * cfg_.ghost_percent / 100);
    std::swap(prev_, cur_);
    cur_.Reset(capacity_);
    if (cur_.blocks == 0) return true;  // out of memory: nothing can be remembered, so store it
  }
  cur_.Insert(hash);
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
