#include "tools/bench/workload.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>

#include "util/store_list.h"

namespace coss::tools::bench {

namespace {

bool ParseDouble(std::string_view s, double* out) {
  if (s.empty()) return false;
  std::string tmp(s);
  char* end = nullptr;
  *out = std::strtod(tmp.c_str(), &end);
  return end == tmp.c_str() + tmp.size() && std::isfinite(*out);
}

constexpr uint64_t kMaxValue = 1ull << 30;

}  // namespace

std::optional<KeyDist> ParseKeyDist(std::string_view s, std::string* err) {
  if (s == "uniform") return KeyDist{0};
  if (s == "zipf") return KeyDist{1.0};
  std::string_view arg;
  if (s.starts_with("zipf:")) {
    arg = s.substr(5);
  } else if (s.starts_with("zipf(") && s.ends_with(")")) {
    arg = s.substr(5, s.size() - 6);
  } else {
    *err = "unknown key distribution '" + std::string(s) + "' (use uniform or zipf:ALPHA)";
    return std::nullopt;
  }
  double a = 0;
  if (!ParseDouble(arg, &a) || a < 0 || a > 100) {
    *err = "Zipf exponent must be a number in [0, 100], got '" + std::string(arg) + "'";
    return std::nullopt;
  }
  return KeyDist{a};
}

std::string Describe(const KeyDist& d) {
  if (d.alpha == 0) return "uniform";
  char buf[48];
  std::snprintf(buf, sizeof buf, "zipf:%g", d.alpha);
  return buf;
}

std::optional<ValueSizes> ParseValueSizes(std::string_view s, std::string* err) {
  ValueSizes v;
  auto bad = [&](const std::string& why) {
    *err = "bad value size '" + std::string(s) + "': " + why +
           " (use N, fixed:N, uniform:A-B, loguniform:A-B or trace; k/m suffixes allowed)";
    return std::nullopt;
  };
  if (s == "trace") {
    v.kind = ValueSizes::Kind::kTrace;
    v.lo = v.hi = 0;
    return v;
  }
  std::string_view body = s;
  if (s.starts_with("fixed:")) {
    body = s.substr(6);
  } else if (s.starts_with("uniform:")) {
    v.kind = ValueSizes::Kind::kUniform;
    body = s.substr(8);
  } else if (s.starts_with("loguniform:")) {
    v.kind = ValueSizes::Kind::kLogUniform;
    body = s.substr(11);
  }
  uint64_t lo = 0, hi = 0;
  if (v.kind == ValueSizes::Kind::kFixed) {
    if (!ParseByteSize(body, &lo)) return bad("not a size");
    hi = lo;
  } else {
    const size_t dash = body.find('-');
    if (dash == std::string_view::npos) return bad("a range needs A-B");
    if (!ParseByteSize(body.substr(0, dash), &lo) || !ParseByteSize(body.substr(dash + 1), &hi)) {
      return bad("not a size");
    }
    if (lo > hi) return bad("A must not exceed B");
    if (v.kind == ValueSizes::Kind::kLogUniform && lo == 0) return bad("loguniform needs A >= 1");
  }
  if (hi > kMaxValue) return bad("larger than 1 GiB");
  v.lo = static_cast<uint32_t>(lo);
  v.hi = static_cast<uint32_t>(hi);
  return v;
}

std::string Describe(const ValueSizes& v) {
  switch (v.kind) {
    case ValueSizes::Kind::kFixed:
      return "fixed:" + std::to_string(v.lo);
    case ValueSizes::Kind::kUniform:
      return "uniform:" + std::to_string(v.lo) + "-" + std::to_string(v.hi);
    case ValueSizes::Kind::kLogUniform:
      return "loguniform:" + std::to_string(v.lo) + "-" + std::to_string(v.hi);
    case ValueSizes::Kind::kTrace:
      return "trace";
  }
  return "?";
}

uint32_t SizeOfKey(const ValueSizes& v, uint64_t id, uint64_t seed) {
  if (v.kind == ValueSizes::Kind::kFixed || v.kind == ValueSizes::Kind::kTrace || v.lo == v.hi) {
    return v.lo;
  }
  const uint64_t h = Mix64(id ^ Mix64(seed ^ 0x5eed5a17u));
  if (v.kind == ValueSizes::Kind::kUniform) {
    const uint64_t span = static_cast<uint64_t>(v.hi) - v.lo + 1;
    return v.lo + static_cast<uint32_t>((static_cast<unsigned __int128>(h) * span) >> 64);
  }
  // Log-uniform: ln(size) uniform in [ln lo, ln(hi + 1)).
  const double u = static_cast<double>(h >> 11) * 0x1.0p-53;
  const double l0 = std::log(static_cast<double>(v.lo));
  const double l1 = std::log(static_cast<double>(v.hi) + 1.0);
  const double x = std::floor(std::exp(l0 + u * (l1 - l0)));
  return static_cast<uint32_t>(std::clamp(x, static_cast<double>(v.lo), static_cast<double>(v.hi)));
}

bool ValidKeyPrefix(std::string_view prefix, std::string* err) {
  if (prefix.size() > 200) {
    *err = "key prefix longer than 200 bytes";
    return false;
  }
  for (unsigned char c : prefix) {
    if (c <= ' ' || c == 0x7f) {
      *err = "key prefix must not contain spaces or control characters";
      return false;
    }
  }
  return true;
}

std::string KeyName(std::string_view prefix, uint64_t id) {
  char buf[24];
  const auto r = std::to_chars(buf, buf + sizeof buf, id);
  std::string k;
  k.reserve(prefix.size() + (r.ptr - buf));
  k.append(prefix);
  k.append(buf, r.ptr);
  return k;
}

namespace {

class Synthetic : public RequestSource {
 public:
  explicit Synthetic(const SyntheticSpec& s) : spec_(s), zipf_(s.keys, s.dist.alpha) {}
  bool Next(Rng& rng, Request* out) override {
    const bool set = spec_.set_ratio > 0 && rng.NextDouble() < spec_.set_ratio;
    const uint64_t id = zipf_.Sample(rng) - 1;
    out->op = set ? Op::kSet : Op::kGet;
    out->key = KeyName(spec_.prefix, id);
    out->value_size = SizeOfKey(spec_.sizes, id, spec_.seed);
    out->fill_on_miss = spec_.fill_on_miss;
    return true;
  }

 private:
  SyntheticSpec spec_;
  ZipfSampler zipf_;
};

class Prefill : public RequestSource {
 public:
  Prefill(const SyntheticSpec& s, Op op) : spec_(s), op_(op) {}
  bool Next(Rng&, Request* out) override {
    const uint64_t id = next_.fetch_add(1, std::memory_order_relaxed);
    if (id >= spec_.keys) return false;
    out->op = op_;
    out->key = KeyName(spec_.prefix, id);
    out->value_size = SizeOfKey(spec_.sizes, id, spec_.seed);
    out->fill_on_miss = false;
    return true;
  }
  uint64_t Total() const override { return spec_.keys; }
  uint64_t Consumed() const override {
    return std::min<uint64_t>(next_.load(std::memory_order_relaxed), spec_.keys);
  }

 private:
  SyntheticSpec spec_;
  Op op_;
  std::atomic<uint64_t> next_{0};
};

}  // namespace

std::unique_ptr<RequestSource> MakeSynthetic(const SyntheticSpec& spec) {
  return std::make_unique<Synthetic>(spec);
}

std::unique_ptr<RequestSource> MakePrefill(const SyntheticSpec& spec, Op op) {
  return std::make_unique<Prefill>(spec, op);
}

}  // namespace coss::tools::bench
