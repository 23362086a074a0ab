// HTTP-date (RFC 9110 §5.6.7): parsing the three formats a recipient must
// accept, and formatting the preferred one (IMF-fixdate). Time is seconds since
// the Unix epoch, UTC; no locale or time zone is consulted.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace coss::http {

// "Sun, 06 Nov 1994 08:49:37 GMT", "Sunday, 06-Nov-94 08:49:37 GMT" (a
// two-digit year more than 50 years ahead is taken as the previous century,
// RFC 9110 §5.6.7), "Sun Nov  6 08:49:37 1994". Empty on anything else,
// including out-of-range fields.
std::optional<int64_t> ParseHttpDate(std::string_view s);
// IMF-fixdate of t.
std::string FormatHttpDate(int64_t t);
// Used by ParseHttpDate for the RFC 850 century; exposed for tests.
std::optional<int64_t> ParseHttpDate(std::string_view s, int64_t now);

}  // namespace coss::http
