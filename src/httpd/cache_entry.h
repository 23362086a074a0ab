// CacheEntry: one stored HTTP response as the proxy keeps it in the store
// (engine + RAM tier), and the key it is stored under.
//
// Key: "H" + 32 hex digits of XXH3-128 of the cache key (scheme, lower-cased
// authority, request target: see CacheKeyOf), so that any URL fits the
// engine's 250-byte key limit. The full cache key is stored in the entry and
// compared on every read: two URLs whose hashes collide never serve each
// other's response (the second is a miss).
//
// Variants (Vary): a URL whose response varies is stored as a VaryMarker under
// the URL's key — the field names and a generation — and one entry per
// variant under VariantKeyOf (the URL, the generation and the request's
// normalised values of those fields). A new marker always gets a new
// generation, so replacing or removing the marker (a purge, an invalidation,
// a response with other Vary names) makes every older variant unreachable
// for good: none can come back, after a crash or otherwise.
//
// Value: a versioned binary head (magic, exchange times, status, reason, the
// request fields named by Vary with the values the stored response was
// selected with, the response fields) followed by the body. Decode checks
// every length against the value and rejects anything else (a value written
// by another program, a truncated one): a corrupt entry is a miss, never a
// response.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "http/freshness.h"
#include "http/message.h"

namespace coss::httpd {

struct CacheEntry {
  std::string url;  // the cache key (CacheKeyOf)
  http::ExchangeTimes times;
  int status = 200;
  std::string reason;
  http::Fields vary;      // request field name -> value the response was selected with
  http::Fields response;  // stored response fields (hop-by-hop ones removed)
  std::string body;
};

// scheme "://" lower-case authority, then the target's path and query
// ("http://example.com/a?b"). The authority comes from an absolute-form target
// or from Host.
std::string CacheKeyOf(const http::RequestHead& req);
// The store key for a cache key.
std::string StoreKeyOf(std::string_view cache_key);

std::string EncodeEntry(const CacheEntry& e);
// Empty when `value` is not a well-formed entry.
std::optional<CacheEntry> DecodeEntry(std::string_view value);

// The request's values of the fields the response's Vary names (for storing),
// and whether a request selects the stored response (values equal after
// whitespace normalisation, RFC 9111 §4.1).
http::Fields VaryValues(const http::ResponseHead& resp, const http::RequestHead& req);
bool VaryMatches(const CacheEntry& e, const http::RequestHead& req);

struct VaryMarker {
  std::string url;  // the cache key
  uint64_t generation = 0;
  std::vector<std::string> names;  // the fields Vary names, as the response spelt them
};

std::string EncodeVaryMarker(const VaryMarker& m);
// Empty when `value` is not a well-formed marker (an entry, say).
std::optional<VaryMarker> DecodeVaryMarker(std::string_view value);
// A generation no other marker of this or an earlier process has (64 random
// bits from the system, then a counter).
uint64_t NewVaryGeneration();
// The store key of the variant `req` selects under marker `m`.
std::string VariantKeyOf(const VaryMarker& m, const http::RequestHead& req);
// Whether a response's Vary values (VaryValues) name the marker's fields.
bool SameVaryNames(const VaryMarker& m, const http::Fields& vary);

}  // namespace coss::httpd
