// PendingFlush: a delayed flush_all ("flush_all N") that a restart keeps.
//
// memcached forgets a delayed flush_all when it restarts, and so loses nothing
// it would have kept: its memory is empty. cossd's store survives a restart,
// so a forgotten flush would keep serving objects a client asked to drop. The
// flush time is therefore saved in a small file before the client gets "OK",
// and read back when the server opens its store: a time already past clears
// the store at once, a later one is armed again.
//
// Where: next to the first store's checkpoint (PATH.flush, or DIR/NAME.flush
// with --checkpoint DIR); with --checkpoint none nothing is saved and a
// restart forgets the flush, as memcached does.
//
// This object is the one owner of the pending time, in memory and on disk:
// Arm/Disarm and RunIfDue change both under one mutex, so a flush that runs
// while a client arms a new one can never delete the new one's file, nor
// leave a file behind for a flush that already ran; saves never overlap.
// Saving writes a temporary file, fsyncs it and renames it over the old one,
// so a crash leaves either the old time or the new one. Errors are returned
// as values, never thrown.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>

#include "coss/status.h"
#include "server/config.h"

namespace coss::server {

class PendingFlush {
 public:
  explicit PendingFlush(std::string path) : path_(std::move(path)) {}
  static std::string PathFor(const ServerConfig& cfg);

  // Reads and arms the time an earlier run saved (0: none; a damaged file is
  // logged and ignored). Call once, before anything else; then RunIfDue
  // applies it at once if it came due while the server was down.
  int64_t Load();
  // flush_all N: drop every object at unix time `at`; saved before returning.
  // The time is armed even when saving fails (the error says so).
  Status Arm(int64_t at);
  // Plain flush_all: any delayed one is void.
  Status Disarm();
  // When the armed time has come at `now`: runs clear() and, if it succeeds,
  // disarms. Returns false when nothing was due.
  bool RunIfDue(int64_t now, const std::function<Status()>& clear, Status* result);

  int64_t armed_at() const { return at_.load(); }  // 0: none
  const std::string& path() const { return path_; }

 private:
  Status Save(int64_t at) const;
  Status Remove() const;  // no file is not an error

  const std::string path_;  // "" = not kept
  std::mutex mu_;           // serializes every change of at_ and of the file
  std::atomic<int64_t> at_{0};
};

}  // namespace coss::server
