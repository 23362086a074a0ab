// Request: one parsed memcached command (text or meta), as produced by Parser.
//
// Lifetime: string_views (keys, data, tokens) point into the input buffer that
// was handed to Parser::Next and stay valid until the caller discards or moves
// those input bytes. A base64-decoded meta key is owned by the Request
// (key_decoded) and is reached through key(), never through a stored view.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace coss::proto {

enum class Command : uint8_t {
  // retrieval
  kGet,
  kGets,
  kGat,
  kGats,
  // storage
  kSet,
  kAdd,
  kReplace,
  kAppend,
  kPrepend,
  kCas,
  // others
  kDelete,
  kIncr,
  kDecr,
  kTouch,
  kFlushAll,
  kStats,
  kVersion,
  kVerbosity,
  kQuit,
  // meta
  kMetaGet,
  kMetaSet,
  kMetaDelete,
  kMetaArithmetic,
  kMetaNoop,
  kMetaDebug,
};

const char* CommandName(Command c);
inline bool IsRetrieval(Command c) {
  return c <= Command::kGats;
}
inline bool IsStorage(Command c) {
  return c >= Command::kSet && c <= Command::kCas;
}
inline bool IsMeta(Command c) {
  return c >= Command::kMetaGet;
}

// Meta-command flags. `order` keeps every flag letter in request order: the
// reply echoes return flags in that order.
struct MetaFlags {
  std::string order;
  bool base64 = false;      // b
  bool ret_cas = false;     // c
  bool ret_flags = false;   // f
  bool ret_hit = false;     // h
  bool ret_key = false;     // k
  bool ret_access = false;  // l
  bool quiet = false;       // q
  bool ret_size = false;    // s
  bool ret_ttl = false;     // t
  bool no_bump = false;     // u
  bool ret_value = false;   // v
  bool invalidate = false;  // I
  std::string_view opaque;  // O token (valid when has_opaque)
  bool has_opaque = false;
  std::optional<int32_t> ttl;            // T
  std::optional<int32_t> vivify;         // N
  std::optional<int32_t> recache;        // R
  std::optional<uint64_t> compare_cas;   // C
  std::optional<uint64_t> new_cas;       // E
  std::optional<uint32_t> client_flags;  // F
  std::optional<uint64_t> delta;         // D
  std::optional<uint64_t> initial;       // J
  char mode = 0;                         // M: ms S/E/A/P/R, ma I/D (normalised)
};

struct Request {
  Command cmd = Command::kGet;
  bool noreply = false;                // text "noreply" (meta: see meta.quiet)
  std::vector<std::string_view> keys;  // retrieval commands: one or more keys
  std::string_view key_raw;            // single-key commands: key as sent
  std::string key_decoded;             // meta 'b': the binary key
  bool key_is_decoded = false;
  uint32_t client_flags = 0;
  int32_t exptime = 0;      // as sent (memcached semantics, see expiry.h)
  uint64_t cas_unique = 0;  // cas
  uint64_t delta = 0;       // incr/decr
  std::string_view data;    // storage value (without the trailing \r\n)
  int32_t verbosity = 0;
  std::vector<std::string_view> args;  // stats arguments
  MetaFlags meta;

  std::string_view key() const { return key_is_decoded ? std::string_view(key_decoded) : key_raw; }
};

}  // namespace coss::proto
