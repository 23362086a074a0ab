#include "http/range.h"

#include <algorithm>
#include <limits>

#include "http/date.h"

namespace coss::http {

namespace {

constexpr uint64_t kMax = std::numeric_limits<uint64_t>::max();

// Decimal digits only, saturating at 2^64-1. False when empty or not digits.
bool ParseNumber(std::string_view s, uint64_t* v) {
  if (s.empty()) return false;
  uint64_t n = 0;
  for (const char c : s) {
    if (c < '0' || c > '9') return false;
    const auto d = static_cast<uint64_t>(c - '0');
    n = n > (kMax - d) / 10 ? kMax : n * 10 + d;
  }
  *v = n;
  return true;
}

}  // namespace

RangeOutcome EvaluateRange(std::string_view value, uint64_t length, std::vector<ByteRange>* out) {
  out->clear();
  const size_t eq = value.find('=');
  if (eq == std::string_view::npos || !EqualsNoCase(TrimOws(value.substr(0, eq)), "bytes")) {
    return RangeOutcome::kIgnore;
  }
  std::vector<ByteRange> got;
  bool bad = false;
  size_t parts = 0;
  ForEachListElement(value.substr(eq + 1), [&](std::string_view spec) {
    if (bad) return;
    if (++parts > kMaxRanges) {
      bad = true;
      return;
    }
    const size_t dash = spec.find('-');
    if (dash == std::string_view::npos) {
      bad = true;
      return;
    }
    const std::string_view a = spec.substr(0, dash);
    const std::string_view b = spec.substr(dash + 1);
    uint64_t first = 0;
    uint64_t last = kMax;
    if (a.empty()) {  // suffix: the last `b` bytes
      if (!ParseNumber(b, &last)) {
        bad = true;
      } else if (last != 0 && length != 0) {
        got.push_back({length - std::min(last, length), length - 1});
      }
      return;
    }
    if (!ParseNumber(a, &first) || (!b.empty() && (!ParseNumber(b, &last) || last < first))) {
      bad = true;
      return;
    }
    if (first < length) got.push_back({first, std::min(last, length - 1)});
  });
  if (bad || parts == 0) return RangeOutcome::kIgnore;
  if (got.empty()) return RangeOutcome::kUnsatisfiable;
  std::sort(got.begin(), got.end(),
            [](const ByteRange& x, const ByteRange& y) { return x.first < y.first; });
  for (const ByteRange& r : got) {
    // last < length <= 2^64-1, so last + 1 cannot wrap.
    if (!out->empty() && r.first <= out->back().last + 1) {
      out->back().last = std::max(out->back().last, r.last);
    } else {
      out->push_back(r);
    }
  }
  return RangeOutcome::kSatisfiable;
}

bool IfRangeHolds(const Fields& request, const Fields& response) {
  if (!request.Has("If-Range")) return true;
  if (request.Count("If-Range") > 1) return false;
  const std::string_view v = TrimOws(*request.Get("If-Range"));
  if (!v.empty() && (v[0] == '"' || v.substr(0, 2) == "W/")) {
    // A strong comparison: a weak tag on either side never matches.
    const auto etag = response.Get("ETag");
    return v[0] == '"' && etag && TrimOws(*etag) == v;
  }
  const auto date = ParseHttpDate(v);
  const auto lm = response.Get("Last-Modified");
  if (!date || !lm) return false;
  const auto modified = ParseHttpDate(*lm);
  return modified && *modified == *date;
}

std::string ContentRange(const ByteRange& r, uint64_t length) {
  return "bytes " + std::to_string(r.first) + "-" + std::to_string(r.last) + "/" +
         std::to_string(length);
}

std::string UnsatisfiedRange(uint64_t length) {
  return "bytes */" + std::to_string(length);
}

std::vector<std::string> MultipartFraming(const std::vector<ByteRange>& ranges, uint64_t length,
                                          std::string_view content_type,
                                          std::string_view boundary) {
  std::vector<std::string> out;
  out.reserve(ranges.size() + 1);
  for (const ByteRange& r : ranges) {
    std::string part(out.empty() ? "" : "\r\n");
    part.append("--").append(boundary).append("\r\n");
    if (!content_type.empty()) part.append("Content-Type: ").append(content_type).append("\r\n");
    part.append("Content-Range: ").append(ContentRange(r, length)).append("\r\n\r\n");
    out.push_back(std::move(part));
  }
  out.push_back(std::string("\r\n--").append(boundary).append("--\r\n"));
  return out;
}

std::string MultipartByteranges(std::string_view body, const std::vector<ByteRange>& ranges,
                                std::string_view content_type, std::string_view boundary) {
  const std::vector<std::string> framing =
      MultipartFraming(ranges, body.size(), content_type, boundary);
  std::string out;
  for (size_t i = 0; i < ranges.size(); i++) {
    out.append(framing[i]);
    out.append(body.substr(ranges[i].first, ranges[i].size()));
  }
  out.append(framing.back());
  return out;
}

}  // namespace coss::http
