// What a shared cache may store and when a stored response may be reused
// (RFC 9111 §3 and §4). Pure functions of message heads and times (seconds
// since the epoch on the cache's clock).
//
// Choices where the RFC leaves room (documented in docs/OPERATIONS.md):
//  * stored: only responses to GET, with a status in kStorableStatus (206
//    partial content is not stored: ranges are served from complete objects);
//  * never stored: `no-store` in the request or response, `private`,
//    `Vary: *`, a `Set-Cookie` (one client's cookie would be handed to all), a
//    request with `Authorization` unless the response says `public`,
//    `s-maxage` or `must-revalidate` (§3.5), a response with neither explicit
//    freshness, nor a `Last-Modified` the heuristic can use, nor a validator to
//    revalidate it with;
//  * heuristic freshness: only with `Last-Modified` on a heuristically
//    cacheable status, `fraction` of (Date - Last-Modified), at most `max`;
//  * stale responses are served only within the client's `max-stale`, the
//    response's `stale-while-revalidate` (then refreshed in the background) or
//    `stale-if-error` windows, never under `must-revalidate`,
//    `proxy-revalidate` or `s-maxage`.
#pragma once

#include <cstdint>
#include <string_view>

#include "http/cache_control.h"
#include "http/message.h"

namespace coss::http {

struct HeuristicOptions {
  double fraction = 0.1;  // of the time since Last-Modified
  int64_t max = 86400;    // seconds
};

// Empty when a shared cache may store `resp` (the response to `req`);
// otherwise why not (for logs and tests).
std::string_view NotStorable(const RequestHead& req, const CacheControl& req_cc,
                             const ResponseHead& resp, const CacheControl& resp_cc);

// When the exchange happened on the cache's clock (§4.2.3).
struct ExchangeTimes {
  int64_t request_time = 0;   // the request to the origin was sent
  int64_t response_time = 0;  // its response was received
};

// Freshness lifetime in seconds (§4.2.1): s-maxage, max-age, Expires - Date,
// or the heuristic; 0 when stale at once. *heuristic: the heuristic was used.
int64_t FreshnessLifetime(const ResponseHead& resp, const CacheControl& cc, const ExchangeTimes& t,
                          const HeuristicOptions& h, bool* heuristic);

// Current age at `now` (§4.2.3), from Date, Age and the exchange times.
int64_t CurrentAge(const ResponseHead& resp, const ExchangeTimes& t, int64_t now);

enum class Reuse : uint8_t {
  kFresh,                 // serve it
  kStaleAllowed,          // stale, but the client's max-stale allows it: serve
  kStaleWhileRevalidate,  // serve, and refresh it in the background
  kRevalidate,            // ask the origin first (conditional request)
};

Reuse Evaluate(const CacheControl& req_cc, const CacheControl& resp_cc, int64_t lifetime,
               int64_t age);

// On an origin failure or 5xx: may a stale response be served instead
// (stale-if-error, §4.2.4 of RFC 5861)?
bool MayServeStaleOnError(const CacheControl& req_cc, const CacheControl& resp_cc, int64_t lifetime,
                          int64_t age);

// Statuses a response may be stored with.
bool StorableStatus(int status);
// Statuses that heuristic freshness may apply to (RFC 9110 §15.1).
bool HeuristicallyCacheable(int status);

}  // namespace coss::http
