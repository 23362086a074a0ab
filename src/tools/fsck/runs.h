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
//  * with verify, the records are checked (records.h). Failures are counted,
//    the first kMaxListedRecords of a device listed in r->bad_records, and the
//    run is `torn` (Fix::kClearRecords);
//  * insane directory entries (skipped by the rebuild) make the run `corrupt`
//    (Fix::kNone unless records fail too).
// Returns the state of the run's first stripe.
#pragma once

#include <cstdint>
#include <vector>

#include "tools/fsck/findings.h"
#include "tools/fsck/headers.h"
#include "tools/fsck/live_index.h"
#include "tools/fsck/store_file.h"

namespace coss::tools::fsck {

inline constexpr size_t kMaxListedRecords = 10000;

// Reads and decodes a data run's directory: the sane entries in write order.
// Returns the number of insane entries, kCorruption or an I/O error.
Result<uint32_t> ReadRunDirectory(StoreFile& f, const Run& run, const DeviceReport& r,
                                  std::vector<format::DirEntry>* entries);

StripeState CheckRun(StoreFile& f, const Run& run, uint32_t run_id, bool verify, int64_t now,
                     LiveIndex* index, DeviceReport* r);

}  // namespace coss::tools::fsck
