#include "coss/status.h"

namespace coss {

const char* CodeName(Code c) {
  switch (c) {
    case Code::kOk:
      return "ok";
    case Code::kNotFound:
      return "not found";
    case Code::kExists:
      return "exists";
    case Code::kNotStored:
      return "not stored";
    case Code::kTooLarge:
      return "too large";
    case Code::kBusy:
      return "busy";
    case Code::kIoError:
      return "I/O error";
    case Code::kCorruption:
      return "corruption";
    case Code::kInvalidArgument:
      return "invalid argument";
    case Code::kShutdown:
      return "shutting down";
  }
  return "unknown";
}

std::string Status::ToString() const {
  if (ok()) return "ok";
  return std::string(CodeName(code_)) + ": " + msg_;
}

}  // namespace coss
