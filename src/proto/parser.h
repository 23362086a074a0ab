// Parser: turns a byte stream from one client into Requests, errors and
// "need more bytes", with memcached 1.6 framing rules. Pure: no sockets.
//
// Use: keep the unconsumed input in a buffer; call Next(buffer, &step) in a
// loop; drop step.consumed bytes from the front after each call; stop on
// kNeedMore. The input handed to Next must start at the first unconsumed byte.
//
// Guarantees (relied on by the server and checked by the fragmentation test and
// the fuzzer):
//  * the outcome does not depend on how the stream is cut into reads: feeding
//    the same bytes in any fragmentation produces the same sequence of steps;
//  * Next never consumes more than it was given and never needs more than
//    max(max_get_line, max_line + max_value + 2) buffered bytes to make
//    progress (so a bounded read buffer of that size always suffices);
//  * after an error the parser resynchronises like memcached: the rest of a
//    bad line is dropped, a value that is too large is swallowed (vlen + 2
//    bytes, without buffering it), a bad data chunk consumes exactly vlen + 2;
//  * a line longer than its limit yields kClose (memcached drops the client).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "proto/request.h"

namespace coss::proto {

struct ParserLimits {
  size_t max_line = 2048;          // longest command line (bytes, with \r\n)
  size_t max_get_line = 1u << 20;  // longest get/gets/gat/gats line (many keys)
  size_t max_value = 1u << 20;     // largest data block accepted
  size_t max_key = 250;            // memcached's key limit

  size_t BufferBound() const {
    const size_t store = max_line + max_value + 2;
    return store > max_get_line ? store : max_get_line;
  }
};

enum class StepKind : uint8_t {
  kNeedMore,  // wait for more bytes (consumed may be > 0 while swallowing)
  kRequest,   // step.req is a complete request
  kReply,     // reply with step.reply (empty: suppressed by noreply)
  kClose,     // send step.reply, then close the connection
};

struct Step {
  StepKind kind = StepKind::kNeedMore;
  size_t consumed = 0;
  size_t need = 0;         // kNeedMore: bytes the buffer must hold to progress (0: unknown)
  std::string_view reply;  // kReply/kClose: static text
  Request req;             // kRequest
};

class Parser {
 public:
  explicit Parser(ParserLimits limits = {}) : lim_(limits) {}

  void Next(std::string_view in, Step* step);

  bool swallowing() const { return swallow_ != 0; }
  const ParserLimits& limits() const { return lim_; }

 private:
  void ParseLine(std::string_view line, size_t line_len, std::string_view rest, Step* step);
  void ParseText(std::string_view line, size_t line_len, std::string_view rest, Step* step);
  void ParseMeta(std::string_view line, size_t line_len, std::string_view rest, Step* step);
  // Storage framing shared by text and meta: waits for / checks the data block.
  void TakeData(int32_t vlen, size_t line_len, std::string_view rest, Step* step);
  void ErrorSwallow(std::string_view reply, int32_t vlen, size_t line_len, Step* step);

  ParserLimits lim_;
  uint64_t swallow_ = 0;               // bytes still to discard
  std::vector<std::string_view> tok_;  // reused token storage
};

// Replies used by the parser (also used by the server for the same situations).
namespace reply {
inline constexpr std::string_view kOk = "OK\r\n";
inline constexpr std::string_view kError = "ERROR\r\n";
inline constexpr std::string_view kBadFormat = "CLIENT_ERROR bad command line format\r\n";
inline constexpr std::string_view kBadChunk = "CLIENT_ERROR bad data chunk\r\n";
inline constexpr std::string_view kTooLarge = "SERVER_ERROR object too large for cache\r\n";
inline constexpr std::string_view kLineTooLong = "CLIENT_ERROR line too long\r\n";
inline constexpr std::string_view kBadExptime = "CLIENT_ERROR invalid exptime argument\r\n";
inline constexpr std::string_view kBadDelta = "CLIENT_ERROR invalid numeric delta argument\r\n";
inline constexpr std::string_view kDeleteUsage =
    "CLIENT_ERROR bad command line format.  Usage: delete <key> [noreply]\r\n";
inline constexpr std::string_view kInvalidFlag = "CLIENT_ERROR invalid flag\r\n";
inline constexpr std::string_view kDuplicateFlag = "CLIENT_ERROR duplicate flag\r\n";
inline constexpr std::string_view kInvalidOrDuplicateFlag =
    "CLIENT_ERROR invalid or duplicate flag\r\n";
inline constexpr std::string_view kOpaqueTooLong = "CLIENT_ERROR opaque token too long\r\n";
inline constexpr std::string_view kBadToken = "CLIENT_ERROR bad token in command line format\r\n";
inline constexpr std::string_view kBadKeyEncoding = "CLIENT_ERROR error decoding key\r\n";
inline constexpr std::string_view kBadMsMode = "CLIENT_ERROR invalid mode for ms M token\r\n";
inline constexpr std::string_view kBadMaMode = "CLIENT_ERROR invalid mode for ma M token\r\n";
}  // namespace reply

}  // namespace coss::proto
