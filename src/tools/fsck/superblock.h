// Superblock checks for one device of a store, with the same rules (and much
// the same words) as the engine's Shard::Open, so fsck finds what would make
// cossd refuse the store.
//
// Contract: fills r->super and, when the superblock is usable, r->stripe_size,
// r->data_start and r->stripes (the stripes that exist in the file, at most the
// formatted count). Returns true when the stripes can be scanned. Problems
// (blank or foreign file, bad checksum, stripe size / size / journal / device
// order / store identity mismatch, truncated file) go to r->super.problems.
// Without a SIZE, a file larger than the formatted store is not a problem (a
// block device may hold a smaller store); with one, it must give the same
// stripe count as the superblock (cossd's rule).
#pragma once

#include <cstdint>

#include "engine/format.h"
#include "tools/fsck/findings.h"
#include "tools/fsck/store_file.h"

namespace coss::tools::fsck {

struct DevicePlace {
  uint32_t index = 0;                   // position in the --store list
  uint32_t count = 1;                   // devices listed
  const format::Uuid* first = nullptr;  // store UUID of device 0 (null for device 0)
  uint32_t stripe_size_flag = 0;        // --stripe-size, 0 = not given
  bool size_given = false;              // PATH:SIZE (else a larger file is fine)
};

bool CheckDeviceSuperblock(StoreFile& f, const DevicePlace& place, DeviceReport* r);

}  // namespace coss::tools::fsck
