// Record verification for one run: every record its directory names is read
// and checked with format::DecodeRecord against the run's seq, then against
// its directory entry (type, length, version, expiry and, for a value, the
// hash of its key). Used by the scan (runs.h) and again by repair (repair.h),
// which clears exactly the records that fail when it runs.
//
// Memory: a one-stripe run is read once up to its data end (at most a
// stripe); a jumbo run one record at a time (at most the largest value).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/format.h"
#include "tools/fsck/headers.h"
#include "tools/fsck/store_file.h"

namespace coss::tools::fsck {

// Key of the record `fsck --repair` writes over a record that failed: a
// tombstone record, so it verifies but never matches a client's key and type.
// (A prefix of it when the failed record is shorter.)
inline constexpr std::string_view kClearedKey = "#fsck-cleared";

struct RecordOutcome {
  uint64_t verified = 0;
  uint64_t failures = 0;
  uint64_t cleared_by_fsck = 0;  // markers left by an earlier repair (not failures)
};

enum class Verdict { kFailed, kCleared };  // kCleared: a marker left by fsck --repair
// Called for each record that fails (with why) or is a cleared marker.
using RecordFailure =
    std::function<void(const format::DirEntry& e, Verdict v, const std::string& why)>;

// `entries`: the run's sane directory entries; `run_off`: device offset of the run;
// `seed`: the store's uuid seed (checksums); `key_seed`: its key hash seed.
RecordOutcome VerifyRunRecords(StoreFile& f, const Run& run, uint64_t run_off, uint64_t seed,
                               uint64_t key_seed, const std::vector<format::DirEntry>& entries,
                               const RecordFailure& on_fail);

}  // namespace coss::tools::fsck
