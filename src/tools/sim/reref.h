// Re-reference buckets shared by every cache model in `coss sim`, matching the
// engine's histogram (include/coss/stats.h): bucket 0 = never re-read, bucket
// k >= 1 = 2^(k-1) .. 2^k - 1 reads, the last bucket open-ended.
#pragma once

#include <bit>
#include <cstdint>

#include "coss/stats.h"

namespace coss::sim {

inline int RerefBucket(uint64_t reads) {
  if (reads == 0) return 0;
  const int b = static_cast<int>(std::bit_width(reads));  // 1 -> 1, 2..3 -> 2, 4..7 -> 3, ...
  return b < kRerefBuckets ? b : kRerefBuckets - 1;
}

// Lower bound of bucket b, for labels: 0, 1, 2, 4, 8, ...
inline uint64_t RerefBucketLow(int b) {
  return b == 0 ? 0 : uint64_t{1} << (b - 1);
}

}  // namespace coss::sim
