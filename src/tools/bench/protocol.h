// The slice of the memcached text protocol coss bench speaks: request encoding
// for get / set / delete and an incremental reply parser.
//
// ReplyParser::Parse consumes bytes of the reply to the oldest request in
// flight. It may consume a prefix and ask for more (a large value is skipped
// as it arrives, never buffered whole); it returns done = true with the reply
// once the whole reply (for a get: through "END\r\n") has been consumed.
// Anything that is not a valid reply to the expected command is kProtocol,
// after which the connection cannot be trusted.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "tools/bench/workload.h"

namespace coss::tools::bench {

// Appends the request's bytes to `out`; `filler` supplies value bytes (at
// least value_size of them).
void EncodeRequest(Op op, std::string_view key, uint32_t value_size, std::string_view filler,
                   std::string* out);

enum class ReplyKind : uint8_t {
  kHit,          // get: VALUE ... END
  kMiss,         // get: END
  kStored,       // set: STORED
  kNotStored,    // set: NOT_STORED / EXISTS / NOT_FOUND
  kDeleted,      // delete: DELETED
  kNotFound,     // delete: NOT_FOUND
  kError,        // ERROR
  kClientError,  // CLIENT_ERROR ...
  kServerError,  // SERVER_ERROR ...
  kProtocol,     // not a valid reply
};
const char* ReplyKindName(ReplyKind k);

struct ParseStep {
  size_t consumed = 0;
  bool done = false;
  ReplyKind kind = ReplyKind::kProtocol;
  uint64_t value_bytes = 0;     // kHit: length of the value
  std::string_view error_line;  // k*Error, kProtocol: the offending line (valid until more input)
};

class ReplyParser {
 public:
  static constexpr size_t kMaxLine = 4096;
  ParseStep Parse(Op op, std::string_view in);
  bool Idle() const { return stage_ == Stage::kLine; }

 private:
  enum class Stage { kLine, kData, kDataCrlf, kEnd };
  Stage stage_ = Stage::kLine;
  uint64_t value_bytes_ = 0;
  uint64_t remaining_ = 0;  // kData: value bytes still to skip
};

}  // namespace coss::tools::bench
