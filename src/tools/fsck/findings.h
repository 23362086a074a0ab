// What `coss fsck` found on one store device: the model that scan.cc fills,
// repair.cc acts upon and report.cc prints. Plain data; no I/O here.
//
// Stripe states (one per stripe position, after the rebuild's newest-wins rule):
//   valid         the start of a run the rebuild keeps, whose metadata verifies
//   empty         no stripe header, or a header of kind "empty"
//   continuation  inside a jumbo run kept by the rebuild (not its first stripe)
//   stale         a verified header of an older run that a newer run overlaps
//                 (normal: the rebuild drops it)
//   torn          the header verifies but the directory does not, or records
//                 in the run fail verification (typical of a torn write)
//   corrupt       the header fails its checksum, or its fields are inconsistent
//   foreign       a well-formed header of another store, or one that names
//                 another stripe position (a misplaced write)
//   unreadable    the device returned an error
// torn, corrupt, foreign and unreadable are damage.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "engine/format.h"

namespace coss::tools::fsck {

enum class StripeState : uint8_t {
  kValid,
  kEmpty,
  kContinuation,
  kStale,
  kTorn,
  kCorrupt,
  kForeign,
  kUnreadable,
};
inline constexpr int kStateCount = 8;
const char* StateName(StripeState s);
inline bool IsDamage(StripeState s) {
  return s == StripeState::kTorn || s == StripeState::kCorrupt || s == StripeState::kForeign ||
         s == StripeState::kUnreadable;
}

// What --repair does about a damaged stripe.
enum class Fix : uint8_t {
  kEmptyRun,      // write an empty-kind header (fresh seq) on each of the `span` stripes
  kClearRecords,  // header and directory verify: overwrite each failing record (see repair.h)
  kNone,          // nothing safe to do (e.g. insane directory entries under a good checksum)
};

struct StripeDamage {
  uint32_t stripe = 0;
  StripeState state = StripeState::kCorrupt;
  std::string reason;
  uint64_t seq = 0;   // from a verified header; 0 when unknown
  uint32_t span = 1;  // stripes covered (kEmptyRun marks them all empty)
  Fix fix = Fix::kEmptyRun;
  format::StripeHeader header{};  // the run's verified header (when seq != 0)
};

// A record (in a run whose header and directory verify) that fails verification.
// Listed up to runs.h's kMaxListedRecords per device; all are counted.
struct BadRecord {
  uint32_t stripe = 0;  // first stripe of its run
  uint64_t run_seq = 0;
  format::DirEntry entry{};
  std::string reason;
};

struct SuperblockInfo {
  bool read_ok = false;
  bool valid = false;  // format::CheckSuperblock passed
  format::Superblock sb{};
  std::vector<std::string> problems;  // each makes cossd refuse the store or fsck distrust it
};

struct RecordStats {
  uint64_t values = 0;      // value entries in the directories of kept runs
  uint64_t tombstones = 0;  // tombstone entries
  uint64_t clears = 0;      // clear (flush_all) entries
  uint64_t expired = 0;     // value entries whose expiry has passed
  uint64_t value_bytes = 0;
  uint64_t insane = 0;           // directory entries the rebuild skips (bad bounds or type)
  uint64_t verified = 0;         // records read and checked (--verify-records)
  uint64_t failures = 0;         // records that fail: checksum, seq, or disagree with the directory
  uint64_t cleared_by_fsck = 0;  // records an earlier `fsck --repair` overwrote
};

struct JournalStats {
  bool scanned = false;
  std::string error;  // why it could not be scanned
  uint64_t offset = 0;
  uint64_t bytes = 0;
  uint64_t watermark = 0;  // durable seq: every stripe with seq <= this was synced
  uint64_t blocks = 0;     // highest block seq seen (blocks written over the store's life)
  uint32_t corrupt_blocks = 0;
  uint64_t tail = 0;           // entries above the watermark
  uint64_t lost_writes = 0;    // tail entries whose stripe did not survive
  uint64_t keys_dropped = 0;   // live keys the rebuild drops because their newest write was lost
  bool lost_clear = false;     // a flush_all whose stripe did not survive: the index starts empty
  uint64_t version_limit = 0;  // versions (CAS values) reserved below this (version_clock.h)
};

struct IndexStats {
  uint64_t runs_kept = 0;  // runs the rebuild keeps (any kind)
  uint64_t live_objects = 0;
  uint64_t live_bytes = 0;  // record bytes (header + key + value) of the live objects
  uint64_t unreadable = 0;  // live objects whose record fails or was cleared: reads miss
  uint32_t head = 0;        // stripe the write head resumes at
  uint64_t next_seq = 1;
  uint64_t newest_seal_unix = 0;  // newest run's seal time: the restart's clock floor (0: none)
};

// The device's index checkpoint (checkpoint_info.h).
struct CheckpointInfo {
  std::string path;
  bool present = false;
  bool usable = false;  // a restart would load it
  bool clean = false;   // written by a clean stop
  uint64_t entries = 0;
  uint64_t created_unix = 0;
  std::string note;
};

// One line per stripe for --verbose.
struct StripeLine {
  uint64_t seq = 0;
  uint32_t span = 0;
  uint32_t records = 0;
  StripeState state = StripeState::kEmpty;
};

struct RepairAction {
  static constexpr uint32_t kNoStripe = UINT32_MAX;  // an action on the device, not a stripe
  uint32_t stripe = kNoStripe;
  std::string what;
  bool ok = true;
  std::string error;
};

struct DeviceReport {
  std::string path;
  uint64_t file_size = 0;
  uint64_t size = 0;  // the size in use (given, or the file's)
  SuperblockInfo super;

  bool scanned = false;  // the stripes were scanned (the superblock was usable)
  uint32_t stripe_size = 0;
  uint64_t data_start = 0;  // device offset of stripe 0
  uint32_t stripes = 0;     // stripes scanned
  std::array<uint64_t, kStateCount> states{};
  std::vector<StripeDamage> damage;
  std::vector<BadRecord> bad_records;
  RecordStats records;
  JournalStats journal;
  IndexStats index;
  CheckpointInfo checkpoint;
  uint64_t max_seq = 0;           // highest seq named by any verified header or journal entry
  std::vector<StripeLine> lines;  // --verbose only
  std::vector<RepairAction> repairs;
  std::string repair_refused;  // why --repair did nothing on this device

  uint64_t count(StripeState s) const { return states[static_cast<int>(s)]; }
  // Damage: superblock problems, damaged stripes, failing records, corrupt
  // journal blocks, an unreadable journal.
  bool damaged() const {
    return !super.problems.empty() || !damage.empty() || records.failures != 0 ||
           records.insane != 0 || journal.corrupt_blocks != 0 || !journal.error.empty();
  }
};

}  // namespace coss::tools::fsck
