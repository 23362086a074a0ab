#include "tools/bench/zipf.h"

#include <cmath>

namespace coss::tools::bench {

namespace {

// log1p(x) / x, continuous at 0.
double Helper1(double x) {
  return std::abs(x) > 1e-8 ? std::log1p(x) / x : 1 - x * (0.5 - x * (1.0 / 3 - 0.25 * x));
}

// expm1(x) / x, continuous at 0.
double Helper2(double x) {
  return std::abs(x) > 1e-8 ? std::expm1(x) / x
                            : 1 + x * 0.5 * (1 + x * (1.0 / 3) * (1 + 0.25 * x));
}

}  // namespace

ZipfSampler::ZipfSampler(uint64_t n, double alpha) : n_(n == 0 ? 1 : n), alpha_(alpha) {
  if (alpha_ <= 0) return;
  h_integral_x1_ = HIntegral(1.5) - 1;
  h_integral_n_ = HIntegral(static_cast<double>(n_) + 0.5);
  s_ = 2 - HIntegralInverse(HIntegral(2.5) - H(2));
}

double ZipfSampler::H(double x) const {
  return std::exp(-alpha_ * std::log(x));
}

double ZipfSampler::HIntegral(double x) const {
  const double log_x = std::log(x);
  return Helper2((1 - alpha_) * log_x) * log_x;
}

double ZipfSampler::HIntegralInverse(double x) const {
  double t = x * (1 - alpha_);
  if (t < -1) t = -1;  // rounding guard, as in the reference implementation
  return std::exp(Helper1(t) * x);
}

uint64_t ZipfSampler::Sample(Rng& rng) const {
  if (alpha_ <= 0) return 1 + rng.Below(n_);
  for (;;) {
    // u is uniform in (h_integral_x1_, h_integral_n_].
    const double u = h_integral_n_ + rng.NextDouble() * (h_integral_x1_ - h_integral_n_);
    const double x = HIntegralInverse(u);
    double kd = std::floor(x + 0.5);
    if (kd < 1) kd = 1;
    if (kd > static_cast<double>(n_)) kd = static_cast<double>(n_);
    const uint64_t k = static_cast<uint64_t>(kd);
    if (kd - x <= s_ || u >= HIntegral(kd + 0.5) - H(kd)) return k;
  }
}

}  // namespace coss::tools::bench
