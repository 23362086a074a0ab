// See numbers.h. The helpers emulate strtoull/strtol (base 10) followed by
// memcached's "ends at white space or end of token" check.
#include "proto/numbers.h"

namespace coss::proto {

namespace {

bool IsSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

struct Scan {
  uint64_t magnitude = 0;  // absolute value (saturated on overflow)
  bool negative = false;
  bool any_digit = false;
  bool overflow = false;
  size_t end = 0;  // index of the first byte not consumed
};

// strtoul-style scan: spaces, optional sign, decimal digits.
Scan ScanNumber(std::string_view s) {
  Scan r;
  size_t i = 0;
  while (i < s.size() && IsSpace(s[i])) i++;
  if (i < s.size() && (s[i] == '+' || s[i] == '-')) {
    r.negative = s[i] == '-';
    i++;
  }
  const size_t digits_from = i;
  while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
    const uint64_t d = static_cast<uint64_t>(s[i] - '0');
    if (r.magnitude > (UINT64_MAX - d) / 10) r.overflow = true;
    if (!r.overflow) r.magnitude = r.magnitude * 10 + d;
    i++;
  }
  r.any_digit = i > digits_from;
  r.end = r.any_digit ? i : 0;  // strto* leave endptr at the start when nothing converts
  return r;
}

// memcached's check after the conversion: the number ends at white space, or
// at the end of the token provided something was converted.
bool EndsWell(std::string_view s, const Scan& r) {
  if (r.end < s.size()) return IsSpace(s[r.end]);
  return r.end != 0;
}

}  // namespace

bool ParseU64(std::string_view s, uint64_t* out) {
  const Scan r = ScanNumber(s);
  if (r.overflow) return false;
  if (!EndsWell(s, r)) return false;
  const uint64_t v = r.negative ? (~r.magnitude + 1) : r.magnitude;
  if ((v >> 63) != 0 && s.substr(0, r.end).find('-') != std::string_view::npos) return false;
  *out = v;
  return true;
}

bool ParseFlags(std::string_view s, uint32_t* out) {
  uint64_t v = 0;
  if (!ParseU64(s, &v)) return false;
  *out = static_cast<uint32_t>(v);
  return true;
}

bool ParseI32(std::string_view s, int32_t* out) {
  const Scan r = ScanNumber(s);
  if (!r.any_digit) return false;
  // strtol range: [-2^63, 2^63-1]
  if (r.overflow) return false;
  if (!r.negative && r.magnitude > static_cast<uint64_t>(INT64_MAX)) return false;
  if (r.negative && r.magnitude > static_cast<uint64_t>(INT64_MAX) + 1) return false;
  if (!EndsWell(s, r)) return false;
  const uint64_t bits = r.negative ? (~r.magnitude + 1) : r.magnitude;
  *out = static_cast<int32_t>(static_cast<uint32_t>(bits));
  return true;
}

bool ParseDecimal(std::string_view s, uint64_t* out) {
  if (s.empty()) return false;
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    const uint64_t d = static_cast<uint64_t>(c - '0');
    if (v > (UINT64_MAX - d) / 10) return false;
    v = v * 10 + d;
  }
  *out = v;
  return true;
}

}  // namespace coss::proto
