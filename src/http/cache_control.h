// Cache-Control (RFC 9111 §5.2): the directives of a request or a response,
// parsed once into values.
//
// Robustness choices (the RFC leaves some to the cache):
//  * names are case-insensitive; an argument may be a token or a quoted
//    string; unknown directives are ignored;
//  * a delta-seconds argument above 2^31 counts as 2^31 (§1.2.2);
//  * a max-age or s-maxage whose argument is missing or not a number, or that
//    appears twice with different arguments, makes the response stale
//    (`*_invalid`; §4.2.1 allows treating conflicting values as stale), so
//    the cache revalidates rather than guessing a lifetime;
//  * `private` and `no-cache` with a field-name list are treated as the
//    unqualified directive (stricter than required: the whole response is
//    private / must be revalidated).
#pragma once

#include <cstdint>
#include <optional>

#include "http/message.h"

namespace coss::http {

constexpr int64_t kMaxDelta = int64_t{1} << 31;

struct CacheControl {
  // Response directives.
  bool no_store = false;
  bool no_cache = false;
  bool is_private = false;
  bool is_public = false;
  bool must_revalidate = false;
  bool proxy_revalidate = false;
  bool must_understand = false;
  std::optional<int64_t> max_age;
  std::optional<int64_t> s_maxage;
  bool max_age_invalid = false;
  bool s_maxage_invalid = false;
  std::optional<int64_t> stale_while_revalidate;
  std::optional<int64_t> stale_if_error;
  // Request directives (max-age, no-cache and no-store above are shared).
  std::optional<int64_t> min_fresh;
  bool max_stale = false;                  // present
  std::optional<int64_t> max_stale_limit;  // with an argument: at most this stale
  bool only_if_cached = false;
};

CacheControl ParseCacheControl(const Fields& fields);

// A delta-seconds value: digits only, clamped to kMaxDelta. Empty when invalid.
std::optional<int64_t> ParseDeltaSeconds(std::string_view s);

}  // namespace coss::http
