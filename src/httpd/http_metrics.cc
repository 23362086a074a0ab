#include "httpd/http_metrics.h"

namespace coss::httpd {

const HttpCounterInfo kHttpCounters[kHttpCounterCount] = {
    {"requests", "HTTP requests parsed"},
    {"hits", "HTTP requests answered from the store without the origin"},
    {"misses", "HTTP requests fetched from the origin"},
    {"revalidated", "stale HTTP entries the origin confirmed with 304"},
    {"stale_served",
     "stale HTTP entries served (max-stale, stale-if-error, "
     "stale-while-revalidate)"},
    {"stored", "HTTP responses written to the store"},
    {"not_stored", "HTTP responses the caching rules kept out of the store"},
    {"purges", "PURGE requests that removed an entry"},
    {"invalidations", "HTTP entries removed after a successful unsafe request"},
    {"origin_errors", "origin connect, timeout and framing failures"},
    {"bad_requests", "HTTP requests refused by the proxy"},
    {"passed", "HTTP requests passed to the origin uncached"},
    {"bytes_out", "HTTP response bytes sent to clients"},
    {"collapsed", "HTTP misses that waited for another request's origin fetch of the URL"},
    {"refreshes", "background revalidations of HTTP entries served stale-while-revalidate"},
    {"chunks_missing", "chunked HTTP entries found without one of their chunks, dropped"},
};

}  // namespace coss::httpd
