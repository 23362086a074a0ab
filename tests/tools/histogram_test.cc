// Histogram (src/tools/bench/histogram.h): bucket mapping is monotone and
// covers every uint64_t; percentiles are within the stated relative error of
// the exact order statistics; merge equals recording everything in one.
#include "tools/bench/histogram.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

namespace coss::tools::bench {
namespace {

constexpr double kRelErr = 1.0 / Histogram::kSubCount;

TEST(Histogram, SmallValuesAreExact) {
  for (uint64_t v = 0; v < 2 * Histogram::kSubCount; v++) {
    const int b = Histogram::BucketOf(v);
    EXPECT_LE(Histogram::BucketLow(b), v);
    EXPECT_GE(Histogram::BucketHigh(b), v);
    if (v < Histogram::kSubCount) {
      EXPECT_EQ(Histogram::BucketHigh(b), v);
    }
  }
}

TEST(Histogram, BucketsAreContiguousAndBounded) {
  uint64_t expect_low = 0;
  for (int b = 0; b < Histogram::kBucketCount; b++) {
    ASSERT_EQ(Histogram::BucketLow(b), expect_low) << b;
    const uint64_t hi = Histogram::BucketHigh(b);
    ASSERT_GE(hi, Histogram::BucketLow(b));
    ASSERT_EQ(Histogram::BucketOf(Histogram::BucketLow(b)), b);
    ASSERT_EQ(Histogram::BucketOf(hi), b);
    // width / low <= 2^-kSubBits: the relative error bound
    const double width = static_cast<double>(hi - Histogram::BucketLow(b));
    if (Histogram::BucketLow(b) > 0) {
      ASSERT_LE(width / static_cast<double>(Histogram::BucketLow(b)), kRelErr);
    }
    expect_low = hi + 1;
    if (hi == UINT64_MAX) {
      EXPECT_EQ(b, Histogram::kBucketCount - 1);
      break;
    }
  }
  EXPECT_EQ(Histogram::BucketOf(UINT64_MAX), Histogram::kBucketCount - 1);
}

TEST(Histogram, ExtremesAndEmpty) {
  Histogram h;
  EXPECT_EQ(h.Count(), 0u);
  EXPECT_EQ(h.Percentile(0.5), 0u);
  EXPECT_EQ(h.Max(), 0u);
  h.Record(0);
  h.Record(UINT64_MAX);
  EXPECT_EQ(h.Count(), 2u);
  EXPECT_EQ(h.Min(), 0u);
  EXPECT_EQ(h.Max(), UINT64_MAX);
  EXPECT_EQ(h.Percentile(0.5), 0u);
  EXPECT_EQ(h.Percentile(1.0), UINT64_MAX);
  EXPECT_EQ(h.Percentile(0.99), UINT64_MAX);
}

TEST(Histogram, ConstantValue) {
  Histogram h;
  for (int i = 0; i < 1000; i++) h.Record(123456789);
  for (double q : {0.0, 0.5, 0.9, 0.99, 0.999, 1.0}) EXPECT_EQ(h.Percentile(q), 123456789u) << q;
  EXPECT_DOUBLE_EQ(h.Mean(), 123456789.0);
}

// Percentiles against exact order statistics of log-normal "latencies".
TEST(Histogram, PercentilesWithinRelativeError) {
  std::mt19937_64 rng(7);
  std::lognormal_distribution<double> lat(std::log(100000.0), 1.5);  // ~100 us median
  std::vector<uint64_t> v;
  Histogram h;
  for (int i = 0; i < 200000; i++) {
    const uint64_t x = static_cast<uint64_t>(lat(rng));
    v.push_back(x);
    h.Record(x);
  }
  std::sort(v.begin(), v.end());
  for (double q : {0.01, 0.1, 0.5, 0.9, 0.99, 0.999, 0.9999}) {
    const size_t rank = static_cast<size_t>(std::ceil(q * v.size()));
    const double exact = static_cast<double>(v[rank - 1]);
    const double got = static_cast<double>(h.Percentile(q));
    EXPECT_GE(got, exact) << q;  // highest equivalent value, never below
    EXPECT_LE(got, exact * (1 + kRelErr) + 1) << q;
  }
  EXPECT_EQ(h.Min(), v.front());
  EXPECT_EQ(h.Max(), v.back());
  EXPECT_EQ(h.Percentile(1.0), v.back());
}

TEST(Histogram, MergeEqualsSingle) {
  std::mt19937_64 rng(3);
  Histogram a, b, all;
  for (int i = 0; i < 50000; i++) {
    const uint64_t x = rng() >> (rng() % 64);
    (i % 3 ? a : b).Record(x);
    all.Record(x);
  }
  a.Merge(b);
  EXPECT_EQ(a.Count(), all.Count());
  EXPECT_EQ(a.Min(), all.Min());
  EXPECT_EQ(a.Max(), all.Max());
  EXPECT_DOUBLE_EQ(a.Mean(), all.Mean());
  for (double q : {0.0, 0.25, 0.5, 0.75, 0.99, 0.9999, 1.0}) {
    EXPECT_EQ(a.Percentile(q), all.Percentile(q)) << q;
  }
  a.Reset();
  EXPECT_EQ(a.Count(), 0u);
  EXPECT_EQ(a.Percentile(0.5), 0u);
}

}  // namespace
}  // namespace coss::tools::bench
