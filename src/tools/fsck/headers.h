// Pass 1 of a device scan: every stripe header, classified, then the rebuild's
// "newest run per position wins" rule (src/engine/recovery.cc steps 1-2).
//
// Contract: reads only the first 64 bytes of each stripe, one stripe at a time
// (memory: one byte per stripe plus one Run per verified header, as the engine).
// Verification is format::CheckStripeHeader's. A header that fails it is told
// apart as `foreign` when it is well formed for another store (it verifies
// under its own store seed) or names another stripe position, else `corrupt`.
// Positions claimed by a kept run are `valid`/`empty` (its first stripe, by
// kind) or `continuation`; a verified header whose run overlaps a newer run is
// `stale`, and so is a kept run out of ring order (engine/ring_order.h: an
// earlier lap's content whose overwrite was lost); other positions keep their own class. Unclaimed
// corrupt, foreign and unreadable stripes are added to r->damage. r->max_seq covers every verified
// header.
#pragma once

#include <cstdint>
#include <vector>

#include "engine/format.h"
#include "tools/fsck/findings.h"
#include "tools/fsck/store_file.h"

namespace coss::tools::fsck {

struct Run {
  uint32_t stripe;
  format::StripeHeader h;
  uint32_t span() const { return h.kind == format::StripeKind::kData ? h.span : 1; }
};

struct HeaderScan {
  std::vector<Run> kept;           // the runs the rebuild keeps, oldest first
  std::vector<StripeState> state;  // per stripe position
};

HeaderScan ScanHeaders(StoreFile& f, DeviceReport* r);

}  // namespace coss::tools::fsck
