// Names of fsck's enums and the UUID text form, shared by both printers.
#include <cstdio>
#include <string>

#include "tools/fsck/report.h"

namespace coss::tools::fsck {

const char* StateName(StripeState s) {
  switch (s) {
    case StripeState::kValid:
      return "valid";
    case StripeState::kEmpty:
      return "empty";
    case StripeState::kContinuation:
      return "continuation";
    case StripeState::kStale:
      return "stale";
    case StripeState::kTorn:
      return "torn";
    case StripeState::kCorrupt:
      return "corrupt";
    case StripeState::kForeign:
      return "foreign";
    case StripeState::kUnreadable:
      return "unreadable";
  }
  return "?";
}

const char* FixName(Fix f) {
  switch (f) {
    case Fix::kEmptyRun:
      return "mark-empty";
    case Fix::kClearRecords:
      return "clear-records";
    case Fix::kNone:
      return "none";
  }
  return "?";
}

const char* RecordTypeName(format::RecordType t) {
  switch (t) {
    case format::RecordType::kValue:
      return "value";
    case format::RecordType::kTombstone:
      return "tombstone";
    case format::RecordType::kClear:
      return "clear";
  }
  return "?";
}

std::string UuidString(const format::Uuid& u) {
  std::string s;
  char buf[4];
  for (int i = 0; i < 16; i++) {
    if (i == 4 || i == 6 || i == 8 || i == 10) s += '-';
    std::snprintf(buf, sizeof buf, "%02x", u.b[i]);
    s += buf;
  }
  return s;
}

}  // namespace coss::tools::fsck
