// BootGuard: `--write-ack written` is safe against a process crash, not
// against a power cut; a start after the one must not serve what the other
// may have left.
//
// With `written`, a write is acknowledged once its journal entry is written
// to the device, before the device is told to flush (fdatasync). kill -9
// cannot undo that; a power cut can (the device may lose what it had not
// flushed), and recovery could then serve a value older than one a client was
// told was stored. So while a store is open the guard keeps a small file
// beside it (PathFor) naming the machine's boot (the kernel's boot id) and the
// acknowledgement mode; a clean stop removes it. A start that finds the file,
// written in `written` mode during another boot, knows the machine went down
// while such writes may not have been flushed: the store must start empty (the
// server clears it before serving). A file from the same boot means a process
// crash, which the journal covers; a file that cannot be read counts as
// another boot (the safe side). A failed flush in `written` mode marks the
// file (MarkFlushFailed): the kernel may have dropped the journal blocks it
// could not write, so the next start empties the store in any boot.
//
// Test hook: COSS_BOOT_ID_FILE names the file the boot id is read from
// (default /proc/sys/kernel/random/boot_id), since no test can reboot the
// machine. Not thread-safe: used by the server's start and stop only.
#pragma once

#include <string>

#include "coss/engine.h"
#include "coss/status.h"

namespace coss::server {

struct ServerConfig;

class BootGuard {
 public:
  // Beside the first store (or in the checkpoint folder, as its other files).
  static std::string PathFor(const ServerConfig& cfg);
  explicit BootGuard(std::string path) : path_(std::move(path)) {}

  // Why the store must start empty ("" = it need not): the previous run
  // acknowledged writes at kWritten and did not stop cleanly during another boot.
  Result<std::string> MustStartEmpty() const;
  // The store is in use from now on, acknowledging at `level` (wait false:
  // buffered). Durable before it returns.
  Status Arm(Persistence level, bool wait) const;
  // A flush failed while writes were acknowledged at kWritten: the kernel may
  // have dropped what it could not write, so even a start in the same boot
  // must start empty. Durable before it returns (if the file system allows).
  Status MarkFlushFailed() const;
  // A clean stop: every acknowledged write is on stable storage.
  Status Disarm() const;

  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// The kernel's boot id (or COSS_BOOT_ID_FILE's contents), trimmed.
Result<std::string> CurrentBootId();

}  // namespace coss::server
