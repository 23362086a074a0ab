// ScanDevice: everything fsck reads on one device, in the engine's order —
// superblock (superblock.h), stripe headers and newest-wins (headers.h), the
// directories and records of the kept runs, oldest first (runs.h), then the
// journal (Journal::Scan) and its tail applied to the would-be index
// (live_index.h). Fills a DeviceReport; never writes.
#pragma once

#include <cstdint>

#include "tools/fsck/findings.h"
#include "tools/fsck/store_file.h"
#include "tools/fsck/superblock.h"

namespace coss::tools::fsck {

struct ScanOptions {
  bool verify_records = true;
  bool verbose = false;  // keep one StripeLine per stripe
  int64_t now = 0;       // unix seconds for expiry (the engine's NowSeconds())
};

// r->path, r->size and r->file_size must be set.
void ScanDevice(StoreFile& f, const DevicePlace& place, const ScanOptions& o, DeviceReport* r);

}  // namespace coss::tools::fsck
