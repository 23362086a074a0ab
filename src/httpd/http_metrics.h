// The HTTP proxy's counters: one table (names and help in http_metrics.cc)
// feeding both `stats` (as http_<name>) and /metrics (as
// cossd_http_<name>_total). Relaxed atomic adds from the proxy's loops.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>

namespace coss::httpd {

enum HttpCounter : int {
  kHttpRequests,       // requests parsed
  kHttpHits,           // answered from the store without asking the origin
  kHttpMisses,         // fetched from the origin (not stored, or not usable)
  kHttpRevalidated,    // stale entries the origin confirmed (304) and were served
  kHttpStaleServed,    // stale entries served (max-stale, stale-if-error, stale-while-revalidate)
  kHttpStored,         // responses written to the store
  kHttpNotStored,      // origin responses the rules kept out of the store
  kHttpPurges,         // PURGE requests that removed an entry
  kHttpInvalidations,  // entries removed after a successful unsafe request
  kHttpOriginErrors,   // origin connect, timeout or framing failures
  kHttpBadRequests,    // requests refused (4xx/5xx from the proxy itself)
  kHttpPassed,         // requests passed to the origin uncached (unsafe methods and others)
  kHttpBytesOut,       // response bytes sent to clients
  kHttpCollapsed,      // misses that waited for another request's fetch of the same URL
  kHttpRefreshes,      // background revalidations started (stale-while-revalidate)
  kHttpChunksMissing,  // chunked entries found incomplete (a chunk evicted): dropped
  kHttpCounterCount
};

struct HttpCounterInfo {
  const char* name;
  const char* help;
};
extern const HttpCounterInfo kHttpCounters[kHttpCounterCount];

struct HttpMetrics {
  std::array<std::atomic<uint64_t>, kHttpCounterCount> c{};
  void Add(HttpCounter k, uint64_t n = 1) { c[k].fetch_add(n, std::memory_order_relaxed); }
  uint64_t Get(HttpCounter k) const { return c[k].load(std::memory_order_relaxed); }
};

}  // namespace coss::httpd
