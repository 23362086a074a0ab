// HTTP/1.1 message parsing for the caching proxy (RFC 9112): message heads,
// body framing and the chunked transfer coding. Pure: no sockets.
//
// Strictness is the defence against request smuggling: the proxy re-frames
// every message it forwards, but a message whose framing two parsers could
// read differently is refused outright rather than guessed at. Refused (400
// unless noted):
//  * a bare CR or LF as a line ending, a control character (NUL included) in
//    a request target or field value, whitespace between a field name and its
//    colon, obsolete line folding (a field line starting with SP or HTAB);
//  * a request line that is not "method SP target SP HTTP/1.x" (other
//    versions: 505), a target that is not origin-form or absolute-form;
//  * Transfer-Encoding together with Content-Length; a Transfer-Encoding other
//    than a lone "chunked" (501 for a request, an error for a response); a
//    Transfer-Encoding in an HTTP/1.0 message; Content-Length values that are
//    not all the same decimal number; a missing or repeated Host in an
//    HTTP/1.1 request;
//  * a head larger than Limits::max_head or with more than max_fields fields
//    (431), a request line longer than max_line (414);
//  * in chunked bodies: a chunk size that is not 1-16 hex digits, a chunk
//    line or trailer section over its bound, data not followed by CRLF.
//
// Bounds: HeadParser never looks at more than max_head bytes, and rescans
// nothing (each call resumes where the last stopped), so a client trickling a
// head one byte at a time costs linear work.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "http/message.h"

namespace coss::http {

struct Limits {
  size_t max_head = size_t{64} * 1024;  // request/status line plus fields, in bytes
  size_t max_line = size_t{8} * 1024;   // longest request line
  size_t max_fields = 100;              // field lines per head
};

// Why a message was refused: the HTTP status to answer a client with (a
// response from an origin that fails is answered 502 by the caller), and a
// short reason for the log and the error body.
struct ParseError {
  int status = 400;
  std::string reason;
};

enum class ParseStatus : uint8_t { kNeedMore, kDone, kError };

// Finds and parses one message head at the front of a buffer. Feed it the
// whole unconsumed buffer on each call (it remembers how far it looked);
// Reset() before the next message.
class HeadParser {
 public:
  HeadParser() = default;
  explicit HeadParser(Limits limits) : lim_(limits) {}

  // kDone: *out holds the head and *consumed its length in bytes (leading empty
  // lines before a request line included). kError: *err says why.
  ParseStatus ParseRequest(std::string_view in, RequestHead* out, size_t* consumed,
                           ParseError* err);
  ParseStatus ParseResponse(std::string_view in, ResponseHead* out, size_t* consumed,
                            ParseError* err);
  void Reset() { scanned_ = 0; }
  const Limits& limits() const { return lim_; }

 private:
  // Length of the head ending in an empty line, 0 when not there yet, or
  // npos when it cannot end within max_head (or uses a bare LF).
  size_t FindEnd(std::string_view in, size_t skip, ParseError* err);

  Limits lim_;
  size_t scanned_ = 0;
};

enum class BodyKind : uint8_t {
  kNone,        // no body
  kLength,      // exactly `length` bytes
  kChunked,     // chunked transfer coding (ChunkedDecoder)
  kUntilClose,  // a response delimited by the origin closing the connection
};

struct Framing {
  BodyKind kind = BodyKind::kNone;
  uint64_t length = 0;
};

// RFC 9112 §6.3 for a request. False (with *err) when the framing is refused.
bool RequestFraming(const RequestHead& req, Framing* out, ParseError* err);
// RFC 9112 §6.3 for a response to a request with `method`.
bool ResponseFraming(const ResponseHead& resp, std::string_view method, Framing* out,
                     ParseError* err);

// Decodes the chunked transfer coding incrementally. Trailer fields are read
// and dropped (bounded).
class ChunkedDecoder {
 public:
  struct Step {
    enum Kind : uint8_t { kNeedMore, kData, kDone, kError } kind = kNeedMore;
    size_t consumed = 0;    // bytes of input used (framing and data)
    std::string_view data;  // kData: body bytes, a view into the input
  };
  static constexpr size_t kMaxChunkLine = 4096;  // size line with extensions
  static constexpr size_t kMaxTrailer = size_t{16} * 1024;

  // Makes one step over `in` (the unconsumed input); call again with the rest.
  Step Next(std::string_view in);
  bool done() const { return state_ == State::kDone; }
  const std::string& error() const { return error_; }

 private:
  enum class State : uint8_t { kSize, kData, kDataEnd, kTrailer, kDone, kError };
  Step Fail(std::string reason);

  State state_ = State::kSize;
  uint64_t remaining_ = 0;
  size_t trailer_bytes_ = 0;
  std::string error_;
};

// Parses a decimal Content-Length-like number with no sign or space; false on
// anything else or overflow past 2^62.
bool ParseDecimal(std::string_view s, uint64_t* out);

}  // namespace coss::http
