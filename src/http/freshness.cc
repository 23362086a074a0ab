#include "http/freshness.h"

#include <algorithm>

#include "http/date.h"

namespace coss::http {

bool HeuristicallyCacheable(int status) {
  switch (status) {
    case 200:
    case 203:
    case 204:
    case 206:
    case 300:
    case 301:
    case 308:
    case 404:
    case 405:
    case 410:
    case 414:
    case 501:
      return true;
    default:
      return false;
  }
}

bool StorableStatus(int status) {
  return (HeuristicallyCacheable(status) && status != 206) || status == 302 || status == 307;
}

namespace {

bool HasExplicitFreshness(const ResponseHead& resp, const CacheControl& cc) {
  return cc.s_maxage || cc.max_age || cc.s_maxage_invalid || cc.max_age_invalid ||
         resp.fields.Has("Expires");
}

std::optional<int64_t> DateField(const Fields& f, std::string_view name) {
  const auto v = f.Get(name);
  if (!v) return {};
  return ParseHttpDate(*v);
}

}  // namespace

std::string_view NotStorable(const RequestHead& req, const CacheControl& req_cc,
                             const ResponseHead& resp, const CacheControl& resp_cc) {
  if (req.method != "GET") return "method is not GET";
  if (!StorableStatus(resp.status)) return "status code not stored";
  if (req_cc.no_store) return "request says no-store";
  if (resp_cc.no_store) return "response says no-store";
  if (resp_cc.is_private) return "response is private";
  if (resp.fields.HasToken("Vary", "*")) return "Vary: *";
  if (resp.fields.Has("Set-Cookie")) return "response sets a cookie";
  if (req.fields.Has("Authorization") && !resp_cc.is_public && !resp_cc.s_maxage &&
      !resp_cc.must_revalidate) {
    return "request carries Authorization";
  }
  const bool validator = resp.fields.Has("ETag") || resp.fields.Has("Last-Modified");
  if (!HasExplicitFreshness(resp, resp_cc) && !validator) {
    return "no freshness information and no validator";
  }
  return {};
}

int64_t FreshnessLifetime(const ResponseHead& resp, const CacheControl& cc, const ExchangeTimes& t,
                          const HeuristicOptions& h, bool* heuristic) {
  *heuristic = false;
  if (cc.s_maxage_invalid) return 0;
  if (cc.s_maxage) return *cc.s_maxage;
  if (cc.max_age_invalid) return 0;
  if (cc.max_age) return *cc.max_age;
  const int64_t date = DateField(resp.fields, "Date").value_or(t.response_time);
  if (resp.fields.Has("Expires")) {
    // Invalid dates ("0" included) and repeated Expires fields mean already
    // expired (RFC 9111 §5.3, §4.2.1).
    if (resp.fields.Count("Expires") != 1) return 0;
    const auto expires = DateField(resp.fields, "Expires");
    return expires ? std::clamp<int64_t>(*expires - date, 0, kMaxDelta) : 0;
  }
  if (!HeuristicallyCacheable(resp.status)) return 0;
  const auto lm = DateField(resp.fields, "Last-Modified");
  if (!lm || *lm >= date) return 0;
  *heuristic = true;
  const auto v = static_cast<int64_t>(static_cast<double>(date - *lm) * h.fraction);
  return std::clamp<int64_t>(v, 0, h.max);
}

int64_t CurrentAge(const ResponseHead& resp, const ExchangeTimes& t, int64_t now) {
  // Age: the first member of a list; anything but a non-negative integer is
  // ignored (RFC 9111 §5.1).
  int64_t age_value = 0;
  if (const auto a = resp.fields.Get("Age")) {
    std::string_view first = *a;
    if (const size_t comma = first.find(','); comma != std::string_view::npos) {
      first = first.substr(0, comma);
    }
    age_value = ParseDeltaSeconds(TrimOws(first)).value_or(0);
  }
  const int64_t date = DateField(resp.fields, "Date").value_or(t.response_time);
  const int64_t apparent_age = std::max<int64_t>(0, t.response_time - date);
  const int64_t response_delay = std::max<int64_t>(0, t.response_time - t.request_time);
  const int64_t corrected_age_value = age_value + response_delay;
  const int64_t corrected_initial_age = std::max(apparent_age, corrected_age_value);
  const int64_t resident_time = std::max<int64_t>(0, now - t.response_time);
  return std::min(corrected_initial_age + resident_time, kMaxDelta);
}

Reuse Evaluate(const CacheControl& req_cc, const CacheControl& resp_cc, int64_t lifetime,
               int64_t age) {
  if (resp_cc.no_cache || req_cc.no_cache) return Reuse::kRevalidate;
  bool fresh = lifetime > age;
  if (req_cc.max_age && age > *req_cc.max_age) fresh = false;
  if (req_cc.min_fresh && lifetime - age < *req_cc.min_fresh) fresh = false;
  if (fresh) return Reuse::kFresh;
  if (resp_cc.must_revalidate || resp_cc.proxy_revalidate || resp_cc.s_maxage ||
      resp_cc.s_maxage_invalid) {
    return Reuse::kRevalidate;
  }
  const int64_t staleness = std::max<int64_t>(0, age - lifetime);
  if (req_cc.max_stale && (!req_cc.max_stale_limit || staleness <= *req_cc.max_stale_limit)) {
    return Reuse::kStaleAllowed;
  }
  if (resp_cc.stale_while_revalidate && staleness <= *resp_cc.stale_while_revalidate) {
    return Reuse::kStaleWhileRevalidate;
  }
  return Reuse::kRevalidate;
}

bool MayServeStaleOnError(const CacheControl& req_cc, const CacheControl& resp_cc, int64_t lifetime,
                          int64_t age) {
  if (resp_cc.must_revalidate || resp_cc.proxy_revalidate || resp_cc.s_maxage || resp_cc.no_cache) {
    return false;
  }
  const int64_t staleness = std::max<int64_t>(0, age - lifetime);
  const auto window = req_cc.stale_if_error ? req_cc.stale_if_error : resp_cc.stale_if_error;
  return window && staleness <= *window;
}

}  // namespace coss::http
