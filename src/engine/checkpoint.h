// Checkpoint files: a dump of one device's index and stripe table, so a restart
// loads the index instead of rescanning the store.
//
// File (little-endian): [CheckpointHeader][stripe seqs: u64 x stripe_count]
//                       [entries: CheckpointEntry x entry_count][u64 body checksum]
// Written to PATH.tmp, fsync'ed, renamed over PATH, directory fsync'ed: a reader
// sees the old file or the new one, never a torn one.
//
// Meaning: every index entry live when the dump began or created during it is
// either in the dump or in a run with seq >= replay_from; restart loads the dump,
// then replays (newest-wins, from the stripe metadata) every run with
// seq >= replay_from, found by walking the ring forward from `head`.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "coss/status.h"

namespace coss {

struct CheckpointHeader {
  static constexpr uint64_t kMagic = 0x54504B4353534F43ull;  // "COSSCKPT"
  uint64_t magic;
  uint32_t format_version;
  uint32_t device_index;
  uint64_t uuid_seed;
  uint32_t stripe_size;
  uint32_t stripe_count;
  uint32_t head;         // write head when the dump began
  uint32_t clean;        // 1: written by a clean stop (nothing to replay)
  uint64_t replay_from;  // runs with seq >= this are replayed at load
  uint64_t next_seq;
  uint64_t max_version;
  uint64_t entry_count;
  uint64_t created_unix;
  uint64_t checksum;  // XXH3 of the header before this field
};
static_assert(sizeof(CheckpointHeader) == 88);

struct CheckpointEntry {
  uint64_t hash;    // partition and tag bits (Index::Visit)
  uint64_t packed;  // Location
};

struct Checkpoint {
  CheckpointHeader header{};
  std::vector<uint64_t> seqs;
  std::vector<CheckpointEntry> entries;
};

Status WriteCheckpointFile(const std::string& path, Checkpoint& ck);
// kNotFound: no file; kCorruption: damaged; kOk otherwise (caller checks identity).
Result<Checkpoint> ReadCheckpointFile(const std::string& path);

// Test hook: called by every checkpoint dump after each index partition it
// has copied (outside the shard's locks), with the partition's number; null
// to remove. Lets a test write while a dump is under way, at a known point.
void SetCheckpointHookForTesting(std::function<void(uint32_t partition)> hook);

}  // namespace coss
