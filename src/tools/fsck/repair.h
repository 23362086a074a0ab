// RepairDevice: what `coss fsck --repair` does to one scanned device so that
// the store opens cleanly. It never writes to a stripe that is not damaged and
// never makes the rebuild serve anything older than it would have served.
//
//  * Fix::kEmptyRun (header corrupt/foreign/unreadable, directory torn): on
//    each stripe of the damaged run, a 4 KiB block whose header is an
//    empty-kind stripe header (format::SealStripeHeader) with a fresh seq above
//    every seq in use (r->max_seq: headers and journal), so newest-wins gives
//    it the position and no older run can reach into it. The rebuild already
//    ignored what these stripes held. Side effect: the engine resumes its write
//    head after the newest of them.
//  * Fix::kClearRecords (header and directory verify, some records fail): each
//    failing record is overwritten in place by a tombstone record keyed
//    kClearedKey (runs.h), stamped with the run's seq and the entry's version.
//    It verifies, a read of it is a miss (wrong key and type: what the failing
//    record gave), and the directory is untouched, so the rebuild is unchanged:
//    the run's other values and tombstones stay in force and no older copy of
//    the key comes back. A crash mid-write leaves a record that fails: a miss.
//    (Emptying the stripe instead would drop its tombstones and newest values
//    and could revive older copies: deleted or stale data.)
//  * Fix::kNone: nothing (reported).
//  * corrupt journal blocks are zeroed (the engine ignores them already).
//  * the device's index checkpoint (r->checkpoint.path) no longer matches
//    the stripes: it is renamed to <it>.pre-fsck, so the next start
//    rebuilds from the metadata fsck checked.
// Then fdatasync. Each action is appended to r->repairs.
#pragma once

#include "tools/fsck/findings.h"
#include "tools/fsck/store_file.h"

namespace coss::tools::fsck {

void RepairDevice(StoreFile& f, DeviceReport* r);

}  // namespace coss::tools::fsck
