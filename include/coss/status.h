// Status and Result<T>: errors as values on every engine path.
//
// Contract: an OK Status carries no allocation; an error carries a code and a
// human-readable message. Functions on the I/O and engine paths return Status or
// Result<T>; they never throw. Exceptions are reserved for bad configuration at
// start-up in the tools.
#pragma once

#include <cassert>
#include <optional>
#include <string>
#include <utility>
#include <variant>

namespace coss {

enum class Code {
  kOk = 0,
  kNotFound,    // key absent, expired, or its record failed verification
  kExists,      // conditional put lost: the key changed since it was read
  kNotStored,   // add/replace precondition failed
  kTooLarge,    // value exceeds the configured maximum
  kBusy,        // back-pressure: every membuf is waiting for the disk
  kIoError,     // the device failed (EIO, short write, ENOSPC ...)
  kCorruption,  // checksum, magic or key mismatch in data read from disk
  kInvalidArgument,
  kShutdown,  // the engine is closing
};

const char* CodeName(Code c);

class Status {
 public:
  Status() = default;
  Status(Code c, std::string msg) : code_(c), msg_(std::move(msg)) {}
  static Status Ok() { return {}; }

  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  const std::string& message() const { return msg_; }
  std::string ToString() const;

 private:
  Code code_ = Code::kOk;
  std::string msg_;
};

inline Status Error(Code c, std::string msg) {
  return Status(c, std::move(msg));
}

// Result<T>: a value or an error Status.
template <typename T>
class Result {
 public:
  Result(T v) : v_(std::move(v)) {}  // NOLINT(google-explicit-constructor)
  Result(Status s) : v_(std::move(s)) { assert(!std::get<Status>(v_).ok()); }  // NOLINT

  bool ok() const { return std::holds_alternative<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T& value() & { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  const T& operator*() const& { return value(); }
  T& operator*() & { return value(); }
  const T* operator->() const { return &value(); }
  T* operator->() { return &value(); }
  Status status() const { return ok() ? Status::Ok() : std::get<Status>(v_); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace coss
