#include "tools/bench/histogram.h"

#include <algorithm>
#include <cmath>

namespace coss::tools::bench {

Histogram::Histogram() : counts_(kBucketCount, 0) {}

int Histogram::BucketOf(uint64_t v) {
  if (v < kSubCount) return static_cast<int>(v);
  const int msb = 63 - __builtin_clzll(v);
  const int shift = msb - kSubBits;      // >= 0
  const uint64_t mantissa = v >> shift;  // in [kSubCount, 2 * kSubCount)
  return static_cast<int>((shift + 1) * kSubCount + (mantissa - kSubCount));
}

uint64_t Histogram::BucketLow(int b) {
  if (b < static_cast<int>(kSubCount)) return static_cast<uint64_t>(b);
  const int shift = b / static_cast<int>(kSubCount) - 1;
  const uint64_t mantissa = kSubCount + static_cast<uint64_t>(b) % kSubCount;
  return mantissa << shift;
}

uint64_t Histogram::BucketHigh(int b) {
  if (b < static_cast<int>(kSubCount)) return static_cast<uint64_t>(b);
  const int shift = b / static_cast<int>(kSubCount) - 1;
  return BucketLow(b) + ((1ull << shift) - 1);
}

void Histogram::Record(uint64_t v) {
  counts_[BucketOf(v)]++;
  count_++;
  min_ = std::min(min_, v);
  max_ = std::max(max_, v);
  sum_ += v;
}

void Histogram::Merge(const Histogram& o) {
  for (int i = 0; i < kBucketCount; i++) counts_[i] += o.counts_[i];
  count_ += o.count_;
  min_ = std::min(min_, o.min_);
  max_ = std::max(max_, o.max_);
  sum_ += o.sum_;
}

void Histogram::Reset() {
  std::fill(counts_.begin(), counts_.end(), 0);
  count_ = 0;
  min_ = UINT64_MAX;
  max_ = 0;
  sum_ = 0;
}

uint64_t Histogram::Percentile(double q) const {
  if (count_ == 0) return 0;
  if (q >= 1.0) return max_;
  if (q < 0) q = 0;
  uint64_t rank = static_cast<uint64_t>(std::ceil(q * static_cast<double>(count_)));
  rank = std::clamp<uint64_t>(rank, 1, count_);
  uint64_t seen = 0;
  for (int b = 0; b < kBucketCount; b++) {
    seen += counts_[b];
    if (seen >= rank) return std::clamp(BucketHigh(b), min_, max_);
  }
  return max_;
}

}  // namespace coss::tools::bench
