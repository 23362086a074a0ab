// LiveIndex: the index a rebuild would produce, reduced to what fsck reports
// (live object count and record bytes). Mirrors src/engine/recovery.cc:
//  * runs are applied oldest first, their directory entries in write order;
//  * a value assigns its key (the last write wins), a tombstone erases it, a
//    clear record empties the index, a value whose expiry has passed erases it;
//  * then the journal tail (Shard::ApplyJournal): an entry whose stripe did not
//    survive names a write that was lost — a lost flush_all empties the index,
//    a key whose surviving copy is older than the lost write is dropped.
// Keys are the 64-bit key hashes of the directory (the engine's index keeps 42
// of those bits, so it may merge one pair of keys in a few million: a miss).
//
// Memory: 16 bytes per slot, load <= 0.75 (about 21-43 bytes per live key).
#pragma once

#include <cstdint>
#include <set>
#include <vector>

#include "engine/format.h"
#include "engine/journal.h"
#include "tools/fsck/findings.h"

namespace coss::tools::fsck {

class LiveIndex {
 public:
  LiveIndex();

  // Registers a kept run; entries of it are applied with the returned id.
  uint32_t AddRun(uint64_t seq);
  void Apply(const format::DirEntry& e, uint32_t run, int64_t now);
  // `recovered`: seqs of every run the rebuild keeps. Fills the journal's
  // lost_writes, keys_dropped and lost_clear.
  void ApplyJournal(const JournalScan& scan, const std::set<uint64_t>& recovered,
                    JournalStats* out);

  // Marks the live entry of `hash` unreadable if it is the copy in `run`
  // (its record failed verification or was cleared by fsck: a read misses).
  void MarkUnreadable(uint64_t hash, uint32_t run);

  uint64_t objects() const { return count_; }
  uint64_t bytes() const { return bytes_; }
  uint64_t unreadable() const;  // live entries marked unreadable

 private:
  static constexpr uint32_t kFree = UINT32_MAX;
  struct Slot {
    uint64_t hash;
    uint32_t run;     // kFree: empty slot
    uint32_t length;  // top bit: unreadable
  };
  static constexpr uint32_t kUnreadable = 1u << 31;
  size_t Home(uint64_t hash) const;
  Slot* Find(uint64_t hash);
  void Assign(uint64_t hash, uint32_t run, uint32_t length);
  void Erase(uint64_t hash);
  void Clear();
  void Grow();

  std::vector<Slot> slots_;
  std::vector<uint64_t> run_seqs_;
  uint64_t count_ = 0;
  uint64_t bytes_ = 0;
};

}  // namespace coss::tools::fsck
