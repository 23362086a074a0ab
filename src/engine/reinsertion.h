// Reinserter: the decision half of lazy reinsertion at stripe eviction (the
// mechanism is Shard's evacuation, shard_policies.cc).
//
// Before the write head reclaims a stripe, the shard reads it and offers each
// record the index still points at to the Reinserter, with its hit counter (a
// log2 Morris counter of reads since the record was written, location.h).
// Records with hits >= threshold are written again at the head while the
// write budget lasts.
//
// Budget: a write-amplification target. With offered = bytes clients asked
// to store (stored or dropped by admission) and written = device bytes written
// or committed to a membuf, reinsertion may spend
//     tokens = target x offered - written
// (saved-up tokens are capped at a quarter of the ring's bytes, so a quiet
// period cannot fund a long burst). Whatever the workload, reinsertion keeps
// device bytes / offered bytes at or below the target — the diary's write
// spiral cannot happen — and admission that keeps one-hit wonders off the
// device leaves more of the budget to objects that are read again.
//
// Threshold: adapts once per stripe about to be reclaimed. It rises after a
// stripe in which a wanted record found the budget empty, and falls while the
// budget stays above half its cap, so the budget goes to the most-read records.
//
// Not thread-safe: the owning shard's mutex guards it.
#pragma once

#include <cstdint>

#include "engine/policy.h"

namespace coss {

class Reinserter {
 public:
  Reinserter(const ReinsertionConfig& c, uint64_t ring_bytes);

  // Lowest hit counter worth a device read of a stripe (StripeState::max_hits).
  uint8_t threshold() const { return threshold_; }

  // Refreshes the budget from the engine's byte counts (see above).
  void Update(uint64_t offered, uint64_t written);

  // Offers one record of `bytes` device bytes with counter `hits`. True:
  // reinsert it (the bytes are charged to the budget).
  bool Offer(uint8_t hits, uint64_t bytes);

  // Gives back the bytes of an accepted record that could not be written.
  void Refund(uint64_t bytes) { tokens_ += static_cast<double>(bytes); }

  // Called once per stripe about to be reclaimed (evacuated or not).
  void EndOfStripe();

  // Hit counter given to the reinserted copy.
  uint8_t HitsAfter(uint8_t hits) const {
    return cfg_.reset_hits ? 0 : static_cast<uint8_t>(hits > 0 ? hits - 1 : 0);
  }

 private:
  ReinsertionConfig cfg_;
  double cap_;       // most budget that may be saved up
  double base_ = 0;  // budget forfeited by the cap
  double tokens_ = 0;
  uint8_t threshold_ = 1;
  bool refused_ = false;  // a record >= threshold found the budget empty this stripe
};

}  // namespace coss
