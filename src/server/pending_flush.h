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
// Saving writes a temporary file, fsyncs it and renames it over the old one,
// so a crash leaves either the old time or the new one. Errors are logged
// and reported, never thrown; a flush that could not be saved still runs if
// the server stays up.
#pragma once

#include <cstdint>
#include <string>

#include "coss/status.h"
#include "server/config.h"

namespace coss::server {

class PendingFlush {
 public:
  explicit PendingFlush(std::string path) : path_(std::move(path)) {}
  static std::string PathFor(const ServerConfig& cfg);

  Status Save(int64_t at) const;  // unix seconds
  Status Remove() const;          // no file is not an error
  int64_t Load() const;           // 0: none (a damaged file is logged and ignored)
  const std::string& path() const { return path_; }

 private:
  std::string path_;  // "" = not kept
};

}  // namespace coss::server
