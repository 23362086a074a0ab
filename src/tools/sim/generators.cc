#include "tools/sim/generators.h"

#include <algorithm>
#include <cmath>
#include <random>

namespace coss::sim {

namespace {

uint64_t Mix(uint64_t x) {  // splitmix64 finaliser
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

struct TtlClass {
  uint32_t ttl;
  double weight;
};

// "300:30+3600:30+0:40" -> classes; empty string -> no TTLs.
bool ParseTtlMix(const std::string& s, std::vector<TtlClass>* out) {
  for (const std::string& part : SplitList(s, '+')) {
    const size_t c = part.find(':');
    if (c == std::string::npos) return false;
    auto t = ParseUint(part.substr(0, c));
    auto w = ParseDouble(part.substr(c + 1));
    if (!t || !w || *w < 0) return false;
    out->push_back({static_cast<uint32_t>(*t), *w});
  }
  return true;
}

// Namespaces of ids: hot (Zipf) ids are rank + 1; scans and one-hit wonders
// live far above, so they never collide.
constexpr uint64_t kScanBase = uint64_t{1} << 61;
constexpr uint64_t kOneHitBase = uint64_t{1} << 62;

}  // namespace

ZipfSampler::ZipfSampler(uint64_t n, double alpha) : cdf_(n) {
  double sum = 0;
  for (uint64_t i = 0; i < n; i++) {
    sum += std::pow(static_cast<double>(i + 1), -alpha);
    cdf_[i] = sum;
  }
  for (auto& c : cdf_) c /= sum;
}

uint64_t ZipfSampler::Sample(double u) const {
  auto it = std::upper_bound(cdf_.begin(), cdf_.end(), u);
  return std::min<uint64_t>(static_cast<uint64_t>(it - cdf_.begin()), cdf_.size() - 1);
}

bool IsGenerator(const std::string& kind) {
  return kind == "zipf" || kind == "scan" || kind == "onehit" || kind == "ttl";
}

std::string Generate(const Spec& spec, uint64_t limit, Trace* out) {
  static const char* kKnown[] = {"alpha", "objects",  "requests",     "size",   "seed", "rate",
                                 "scan",  "scan_len", "scan_objects", "onehit", "ttl"};
  if (!spec.rest.empty() && spec.args.empty()) return "workload arguments must be key=value";
  for (const auto& arg : spec.args) {
    const std::string& k = arg.first;
    if (std::find_if(std::begin(kKnown), std::end(kKnown), [&](const char* n) { return k == n; }) ==
        std::end(kKnown))
      return "unknown workload argument '" + k + "'";
  }
  std::string err;
  const double alpha = ArgDouble(spec, "alpha", 1.0, &err);
  const uint64_t objects = ArgUint(spec, "objects", 1'000'000, &err);
  uint64_t requests = ArgUint(spec, "requests", 10'000'000, &err);
  const uint64_t seed = ArgUint(spec, "seed", 1, &err);
  const double rate = ArgDouble(spec, "rate", 1000, &err);
  const bool is_scan = spec.kind == "scan";
  const bool is_onehit = spec.kind == "onehit";
  const double scan = is_scan ? ArgDouble(spec, "scan", 0.3, &err) : 0;
  const uint64_t scan_len = ArgUint(spec, "scan_len", std::max<uint64_t>(1, objects / 10), &err);
  const uint64_t scan_objects = ArgUint(spec, "scan_objects", 4 * objects, &err);
  const double onehit = is_onehit ? ArgDouble(spec, "onehit", 0.5, &err) : 0;
  std::string size_s = ArgString(spec, "size", "512-8192");
  std::vector<TtlClass> ttls;
  const std::string ttl_s = ArgString(spec, "ttl", spec.kind == "ttl" ? "300:30+3600:30+0:40" : "");
  if (!err.empty()) return err;
  if (!ParseTtlMix(ttl_s, &ttls)) return "bad ttl mix '" + ttl_s + "' (want SECONDS:WEIGHT+...)";
  uint64_t smin, smax;
  if (const size_t d = size_s.find('-'); d != std::string::npos) {
    auto a = ParseBytes(size_s.substr(0, d));
    auto b = ParseBytes(size_s.substr(d + 1));
    if (!a || !b || *a < 1 || *b < *a) return "bad size range '" + size_s + "'";
    smin = *a;
    smax = *b;
  } else {
    auto a = ParseBytes(size_s);
    if (!a || *a < 1) return "bad size '" + size_s + "'";
    smin = smax = *a;
  }
  if (smax > UINT32_MAX) return "object size too large";
  if (objects == 0 || requests == 0) return "objects and requests must be > 0";
  if (alpha < 0) return "alpha must be >= 0";
  if (scan < 0 || scan >= 1 || onehit < 0 || onehit >= 1)
    return "scan and onehit fractions must be in [0, 1)";
  if (rate <= 0) return "rate must be > 0";
  if (limit != 0) requests = std::min(requests, limit);

  double wsum = 0;
  for (const auto& c : ttls) wsum += c.weight;
  auto size_of = [&](uint64_t id) {
    return static_cast<uint32_t>(smin +
                                 Mix(id ^ (seed * 0x2545F4914F6CDD1Dull)) % (smax - smin + 1));
  };
  auto ttl_of = [&](uint64_t id) -> uint32_t {
    if (ttls.empty() || wsum <= 0) return 0;
    double u = static_cast<double>(Mix(id ^ ~seed) >> 11) * 0x1.0p-53 * wsum;
    for (const auto& c : ttls) {
      if (u < c.weight) return c.ttl;
      u -= c.weight;
    }
    return ttls.back().ttl;
  };

  ZipfSampler zipf(objects, alpha);
  std::mt19937_64 rng(seed);
  auto uniform = [&] { return static_cast<double>(rng() >> 11) * 0x1.0p-53; };
  // Scans: a burst of scan_len ids after every hot_run hot requests, so the
  // scan share is exactly `scan` over whole periods.
  const uint64_t hot_run =
      scan > 0 ? static_cast<uint64_t>(std::llround(scan_len * (1 - scan) / scan)) : 0;
  uint64_t in_period = 0, scan_pos = 0, onehit_next = 0;
  out->requests.reserve(requests);
  for (uint64_t i = 0; i < requests; i++) {
    uint64_t id;
    if (scan > 0 && in_period >= hot_run) {
      id = kScanBase + scan_pos;
      scan_pos = (scan_pos + 1) % std::max<uint64_t>(1, scan_objects);
      if (++in_period >= hot_run + scan_len) in_period = 0;
    } else {
      if (scan > 0) in_period++;
      if (onehit > 0 && uniform() < onehit) {
        id = kOneHitBase + onehit_next++;
      } else {
        id = zipf.Sample(uniform()) + 1;
      }
    }
    const auto t = static_cast<uint32_t>(static_cast<double>(i) / rate);
    out->requests.push_back(Request{id, size_of(id), ttl_of(id), t, Op::kGet});
  }
  return {};
}

}  // namespace coss::sim
