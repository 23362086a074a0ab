// What one io_uring completion means for a positional transfer: shared by the
// device's own ring (uring_device.cc) and the workers' rings (thread_ring.cc).
#pragma once

#include <cerrno>
#include <cstring>
#include <optional>
#include <string>

#include "coss/status.h"

namespace coss {

// A transfer of `len` bytes of which `*done` had moved completed with `res`.
// nullopt: the rest must be submitted again (EAGAIN, EINTR, a short transfer;
// *done is advanced). Otherwise its final status: the kernel's error, a short
// transfer at end of file (kIoError, never success), or OK.
inline std::optional<Status> UringCompletion(int res, size_t len, size_t* done,
                                             const std::string& path, bool write) {
  if (res == -EAGAIN || res == -EINTR || (res > 0 && *done + static_cast<size_t>(res) < len)) {
    if (res > 0) *done += static_cast<size_t>(res);
    return std::nullopt;
  }
  if (res < 0) {
    return Error(Code::kIoError, path + (write ? ": write: " : ": read: ") + std::strerror(-res));
  }
  if (res == 0 && len > *done) {
    return Error(Code::kIoError,
                 path + ": short " + (write ? "write" : "read") + " at end of file");
  }
  return Status::Ok();
}

}  // namespace coss
