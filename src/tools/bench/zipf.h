// ZipfSampler: draws ranks 1..n with P(k) proportional to 1 / k^alpha, for any
// alpha > 0 (alpha = 1 included) and n up to 2^53, in O(1) time and memory per
// draw — rejection-inversion (W. Hörmann, G. Derflinger, "Rejection-inversion
// to generate variates from monotone discrete distributions", ACM TOMACS 1996),
// as in Apache Commons RNG's RejectionInversionZipfSampler. alpha = 0 is the
// uniform distribution. Const after construction: many threads may share one
// sampler, each with its own Rng.
#pragma once

#include <cstdint>

#include "tools/bench/rng.h"

namespace coss::tools::bench {

class ZipfSampler {
 public:
  ZipfSampler(uint64_t n, double alpha);
  uint64_t n() const { return n_; }
  double alpha() const { return alpha_; }
  // A rank in [1, n]; rank 1 is the most popular.
  uint64_t Sample(Rng& rng) const;

 private:
  double H(double x) const;          // 1 / x^alpha
  double HIntegral(double x) const;  // integral of H, shifted so it is 0 at x = 1
  double HIntegralInverse(double x) const;

  uint64_t n_;
  double alpha_;
  double h_integral_x1_ = 0;
  double h_integral_n_ = 0;
  double s_ = 0;
};

}  // namespace coss::tools::bench
