// Histogram: an HDR-style log-linear histogram of non-negative 64-bit values
// (coss bench records latencies in nanoseconds).
//
// Contract:
//  * Values below 2^kSubBits are recorded exactly. Above, each power-of-two
//    range [2^m, 2^(m+1)) is cut into 2^kSubBits equal buckets, so any value is
//    reported with a relative error of at most 2^-kSubBits (0.78 % for 7 bits):
//    Percentile() returns the largest value that maps to the same bucket as the
//    true order statistic, clamped to the exact maximum seen.
//  * Every uint64_t value is accepted; count, min, max and sum are exact.
//  * Fixed memory (~59 KiB), no allocation after construction; Record is O(1).
//  * Not thread-safe: one histogram per thread, Merge() them afterwards.
#pragma once

#include <cstdint>
#include <vector>

namespace coss::tools::bench {

class Histogram {
 public:
  static constexpr int kSubBits = 7;
  static constexpr uint64_t kSubCount = 1ull << kSubBits;
  // Buckets: kSubCount exact ones, then kSubCount per power of two from
  // 2^kSubBits up to 2^63.
  static constexpr int kBucketCount = static_cast<int>((64 - kSubBits + 1) * kSubCount);

  Histogram();

  void Record(uint64_t v);
  void Merge(const Histogram& other);
  void Reset();

  uint64_t Count() const { return count_; }
  uint64_t Min() const { return count_ ? min_ : 0; }
  uint64_t Max() const { return max_; }
  double Mean() const { return count_ ? static_cast<double>(sum_) / count_ : 0.0; }

  // The value at quantile q in [0, 1] (q = 0.99 is p99): the smallest recorded
  // value v such that at least ceil(q * count) values are <= v, up to the
  // bucket's precision. 0 when empty; q >= 1 gives Max().
  uint64_t Percentile(double q) const;

  // Bucket mapping, exposed for tests.
  static int BucketOf(uint64_t v);
  static uint64_t BucketLow(int b);
  static uint64_t BucketHigh(int b);  // largest value mapping to bucket b

 private:
  std::vector<uint64_t> counts_;
  uint64_t count_ = 0;
  uint64_t min_ = UINT64_MAX;
  uint64_t max_ = 0;
  unsigned __int128 sum_ = 0;
};

}  // namespace coss::tools::bench
