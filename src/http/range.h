// Range requests (RFC 9110 §14): which bytes of a complete representation a
// `Range: bytes=...` request asks for, whether `If-Range` lets it, and the
// multipart/byteranges body that carries several ranges.
//
// Choices where the RFC leaves them to the server (§14.2):
//  * a Range that does not parse, names another unit, or has more than
//    kMaxRanges parts is ignored: the whole representation is sent (200);
//  * overlapping or adjacent ranges are coalesced and sent in ascending
//    order, so no request can make the proxy send a byte twice;
//  * numbers too large for 64 bits saturate (a first-pos past the end is then
//    unsatisfiable, a last-pos past the end is clipped).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "http/message.h"

namespace coss::http {

constexpr size_t kMaxRanges = 16;

struct ByteRange {
  uint64_t first = 0;
  uint64_t last = 0;  // inclusive; first <= last < representation length
  uint64_t size() const { return last - first + 1; }
};

enum class RangeOutcome : uint8_t {
  kIgnore,         // serve the whole representation (200)
  kSatisfiable,    // 206 with the ranges
  kUnsatisfiable,  // 416 with `Content-Range: bytes */length`
};

// Evaluates a Range field value against a representation of `length` bytes.
// On kSatisfiable, `out` holds the coalesced ranges, ascending.
RangeOutcome EvaluateRange(std::string_view value, uint64_t length, std::vector<ByteRange>* out);

// Whether an If-Range condition holds for the stored response fields (§13.1.5):
// an entity tag must match the ETag strongly (a weak tag never does); a date
// must equal Last-Modified. True when the request has no If-Range.
bool IfRangeHolds(const Fields& request, const Fields& response);

// "bytes FIRST-LAST/LENGTH" and "bytes */LENGTH".
std::string ContentRange(const ByteRange& r, uint64_t length);
std::string UnsatisfiedRange(uint64_t length);

// The multipart/byteranges body for `ranges` of `body` (§14.6), each part
// with `content_type` (none when empty) and its Content-Range.
std::string MultipartByteranges(std::string_view body, const std::vector<ByteRange>& ranges,
                                std::string_view content_type, std::string_view boundary);

// The same body's framing, for a body streamed rather than held: element i
// goes before range i's bytes (its part header), the last one after the last
// range (the closing boundary); ranges.size() + 1 strings. The body is the
// framing and the ranges' bytes interleaved, in that order.
std::vector<std::string> MultipartFraming(const std::vector<ByteRange>& ranges, uint64_t length,
                                          std::string_view content_type, std::string_view boundary);

}  // namespace coss::http
