// Reply encoding: appends memcached-format response pieces to a byte string.
// Pure functions; the server decides which reply applies, these only format.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "proto/request.h"

namespace coss::proto {

void AppendU64(std::string* out, uint64_t v);
void AppendI64(std::string* out, int64_t v);

// "VALUE <key> <flags> <bytes>[ <cas>]\r\n" (the data block and its \r\n follow).
void AppendValueHeader(std::string* out, std::string_view key, uint32_t flags, size_t bytes,
                       bool with_cas, uint64_t cas);

// What a meta reply may report about the item the command touched.
struct MetaItemInfo {
  bool present = false;  // c f h l s t are only reported for a present item
  uint64_t cas = 0;
  uint32_t flags = 0;
  int64_t ttl = -1;   // seconds remaining, -1 = never expires
  uint64_t size = 0;  // value bytes
  bool hit_before = false;
  int64_t last_access = 0;  // seconds since last access
  bool won = false;         // W: this client won the right to recache
  bool stale = false;       // X: the item was invalidated
  bool win_taken = false;   // Z: another client already holds the win
};

// Appends " <flag><token>" for every return flag of `req` that is in `allowed`,
// in request order, then the Z/X/W markers. Item flags (c f h l s t) are only
// echoed when item.present; k, O and b always are.
void AppendMetaFlags(std::string* out, const Request& req, const MetaItemInfo& item,
                     std::string_view allowed);

// memcached expiry semantics -> absolute unix seconds (0 = never):
// 0 never; negative: already expired; up to 30 days: relative to now; above:
// an absolute unix time.
int64_t AbsoluteExpiry(int32_t exptime, int64_t now);
inline constexpr int64_t kExpiredLongAgo = 1;  // an absolute time that is always past
inline constexpr int32_t kMaxRelativeExptime = 60 * 60 * 24 * 30;

// Remaining TTL in seconds for an absolute expiry (-1 for never).
int64_t RemainingTtl(int64_t expiry, int64_t now);

}  // namespace coss::proto
