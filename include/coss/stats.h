// StatsSnapshot: a consistent-enough copy of the engine counters (each counter
// is read atomically; the set is not a transaction).
#pragma once

#include <array>
#include <cstdint>

namespace coss {

// Re-reference histogram buckets of evicted objects: reads while cached
// 0, 1, 2-3, 4-7, 8-15, ..., 2^13-2^14-1, >= 2^14 (approximate above 1: log counter).
inline constexpr int kRerefBuckets = 16;

struct StatsSnapshot {
  uint64_t objects = 0;         // live index entries
  uint64_t bytes = 0;           // bytes of live records (approximate, by size class)
  uint64_t index_bytes = 0;     // RAM held by the index tables
  uint64_t policy_bytes = 0;    // RAM held by policies (admission's ghost of refused keys)
  uint64_t index_capacity = 0;  // index slots allocated
  uint64_t gets = 0;
  uint64_t hits_memory = 0;  // served from a membuf
  uint64_t hits_disk = 0;    // served by one device read
  uint64_t misses = 0;
  uint64_t puts = 0;
  uint64_t removes = 0;
  uint64_t busy = 0;   // puts refused or delayed by back-pressure
  uint64_t waits = 0;  // puts that waited for a membuf
  uint64_t stripes_written = 0;
  uint64_t device_bytes_written = 0;
  uint64_t client_bytes_written = 0;  // key+value bytes of accepted puts
  uint64_t device_bytes_read = 0;
  uint64_t relocations = 0;
  uint64_t relocated_bytes = 0;
  uint64_t evictions = 0;  // objects dropped because their stripe was reclaimed
  uint64_t expired = 0;    // gets that found an expired object
  uint64_t checksum_failures = 0;
  uint64_t io_errors = 0;
  uint64_t stripes_dropped_at_open = 0;  // stripes whose metadata failed verification
  uint64_t objects_recovered = 0;        // index entries rebuilt at open
  uint64_t reinsertions = 0;             // objects rewritten at stripe eviction (reinsert:B policy)
  uint64_t reinserted_bytes = 0;         // their record bytes
  uint64_t admission_rejected = 0;       // new-key puts dropped by admission (admit:ghost policy)
  uint64_t admission_rejected_bytes = 0;  // their key+value bytes
  uint64_t recovery_bytes_read = 0;       // metadata read at open (headers, directories, journal)
  uint64_t journal_tail_at_open = 0;      // journal entries past the durable watermark at open
  uint64_t journal_dropped = 0;           // keys dropped at open: their newest write was lost
  uint64_t journal_syncs = 0;             // group commits (journal block writes + fdatasync)
  uint64_t journal_errors = 0;            // failed journal writes and fdatasyncs (Journal::errors)
  uint64_t journal_failed = 0;            // devices whose journal failed (sticky until a restart)
  uint64_t aged_seals = 0;                // open stripe buffers written because of max_buffer_age_s
  uint64_t journal_bytes_written = 0;     // journal blocks (also counted in device_bytes_written)
  uint64_t membufs_in_flight = 0;
  std::array<uint64_t, kRerefBuckets> reref{};  // evicted objects by reads while cached
};

}  // namespace coss
