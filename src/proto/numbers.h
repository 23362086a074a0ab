// Number parsing with memcached's text-protocol semantics.
//
// Contract: pure functions over bytes, no locale, no allocation. Each mirrors
// the observable behaviour of the C library conversion memcached applies to a
// token (leading white space and a sign are accepted, the number may be
// followed by white space or the end of the token, overflow of the 64-bit
// intermediate is an error), so that a request memcached accepts is accepted
// here with the same value, and one it refuses is refused.
#pragma once

#include <cstdint>
#include <string_view>

namespace coss::proto {

// Unsigned 64-bit (incr/decr deltas, cas uniques, stored counters). A '-' sign
// is refused when the result would have the top bit set (as memcached does).
bool ParseU64(std::string_view s, uint64_t* out);

// Client flags: parsed as an unsigned 64-bit number, stored modulo 2^32
// (memcached 1.6 keeps the low 32 bits).
bool ParseFlags(std::string_view s, uint32_t* out);

// Signed number truncated to 32 bits (exptime, data length): memcached parses a
// long and stores it in an int32_t.
bool ParseI32(std::string_view s, int32_t* out);

// Strict decimal for our own configuration values: digits only, no overflow.
bool ParseDecimal(std::string_view s, uint64_t* out);

}  // namespace coss::proto
