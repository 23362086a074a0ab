// Pass 2 of a device scan: the directory (and optionally the records) of one
// data run the rebuild keeps, in rebuild order (src/engine/recovery.cc step 3).
//
// Contract:
//  * reads the run's directory — the last record_count * 32 bytes of the run —
//    and decodes it with format::DecodeDirectory. If that fails (checksum) the
//    run is `torn` and contributes nothing, as in the engine; if the read fails
//    it is `unreadable`. Either way r->damage gets the run (Fix::kEmptyRun).
//  * otherwise every sane entry is counted (values, tombstones, clears,
//    expired) and applied to `index` in write order;
//  * with verify, every entry's record is read and checked with
//    format::DecodeRecord against the run's seq, then against its directory
//    entry (type, length, version, expiry, and for values the key's hash).
//    Failures go to r->bad_records; the run is `torn` (Fix::kClearRecords).
//    Memory: one stripe, or one record of a jumbo run.
//  * insane directory entries (skipped by the rebuild) make the run `corrupt`
//    with Fix::kNone.
// Returns the state of the run's first stripe.
#pragma once

#include <cstdint>

#include "tools/fsck/findings.h"
#include "tools/fsck/headers.h"
#include "tools/fsck/live_index.h"
#include "tools/fsck/store_file.h"

namespace coss::tools::fsck {

// Key of the record `fsck --repair` writes over a record that failed: a
// tombstone record, so it verifies but never matches a client's key and type.
inline constexpr std::string_view kClearedKey = "#fsck-cleared";

StripeState CheckRun(StoreFile& f, const Run& run, uint32_t run_id, bool verify, int64_t now,
                     LiveIndex* index, DeviceReport* r);

}  // namespace coss::tools::fsck
