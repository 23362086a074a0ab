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
// Large bodies: a body over what one store value holds is stored as chunks of
// `chunk_size` bytes, each under ChunkKeyOf(url, body_id, index), and the
// entry (written after its chunks) carries no body, only body_id,
// body_length and chunk_size. body_id is unique per stored version, so a
// chunk of an older version is never read as part of a newer one.
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
  std::string body;       // inline bodies; empty when chunked
  // Chunked bodies (chunk_size != 0).
  uint64_t body_id = 0;
  uint64_t body_length = 0;
  uint32_t chunk_size = 0;
  bool chunked() const { return chunk_size != 0; }
  uint64_t length() const { return chunked() ? body_length : body.size(); }
  uint64_t chunks() const { return chunked() ? (body_length + chunk_size - 1) / chunk_size : 0; }
};

// The store key of chunk `index` of body `body_id` of the URL.
std::string ChunkKeyOf(std::string_view cache_key, uint64_t body_id, uint64_t index);

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
// An id no other marker or body of this or an earlier process has (64 random
// bits from the system, then a counter): Vary generations and body ids.
uint64_t NewUniqueId();
// The store key of the variant `req` selects under marker `m`.
std::string VariantKeyOf(const VaryMarker& m, const http::RequestHead& req);
// Whether a response's Vary values (VaryValues) name the marker's fields.
bool SameVaryNames(const VaryMarker& m, const http::Fields& vary);

}  // namespace coss::httpd
