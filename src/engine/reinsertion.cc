#include "engine/reinsertion.h"

#include <algorithm>

namespace coss {

Reinserter::Reinserter(const ReinsertionConfig& c, uint64_t ring_bytes)
    : cfg_(c), cap_(static_cast<double>(ring_bytes) / 4) {}

void Reinserter::Update(uint64_t offered, uint64_t written) {
  double t =
      (1.0 + cfg_.budget) * static_cast<double>(offered) - static_cast<double>(written) - base_;
  if (t > cap_) {
    base_ += t - cap_;
    t = cap_;
  }
  tokens_ = t;
}

bool Reinserter::Offer(uint8_t hits, uint64_t bytes) {
  if (hits < threshold_) return false;
  if (tokens_ < static_cast<double>(bytes)) {
    refused_ = true;
    return false;
  }
  tokens_ -= static_cast<double>(bytes);
  return true;
}

void Reinserter::EndOfStripe() {
  if (refused_) {
    if (threshold_ < 15) threshold_++;
  } else if (tokens_ > cap_ / 2 && threshold_ > 1) {
    threshold_--;
  }
  refused_ = false;
}

}  // namespace coss
