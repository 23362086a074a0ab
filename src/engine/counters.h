// Counters: the engine's live statistics (relaxed atomics, shared by shards).
// The ones every get adds to are striped (StripedCounter): threads on
// different cores add to different cache lines, so gets on several cores do
// not all write one shared line (the others are written at most once per put
// or per stripe, and stay plain atomics).
#pragma once

#include <atomic>
#include <cstdint>

#include "coss/stats.h"

namespace coss {

// A counter each thread adds to in its own cell (one of kCells, each on its
// own cache line, chosen once per thread); Load sums the cells.
class StripedCounter {
 public:
  static constexpr unsigned kCells = 16;
  void Add(uint64_t n) { cells_[Cell()].v.fetch_add(n, std::memory_order_relaxed); }
  uint64_t Load() const {
    uint64_t sum = 0;
    for (const auto& c : cells_) sum += c.v.load(std::memory_order_relaxed);
    return sum;
  }

 private:
  struct alignas(64) CellT {
    std::atomic<uint64_t> v{0};
  };
  static unsigned Cell() {
    static std::atomic<unsigned> next{0};
    thread_local const unsigned cell = next.fetch_add(1, std::memory_order_relaxed) % kCells;
    return cell;
  }
  CellT cells_[kCells];
};

struct Counters {
  using C = std::atomic<uint64_t>;
  StripedCounter gets, hits_memory, hits_disk, misses;
  C puts{0}, removes{0}, busy{0}, waits{0};
  C stripes_written{0}, device_bytes_written{0}, client_bytes_written{0}, device_bytes_read{0};
  C relocations{0}, relocated_bytes{0}, evictions{0}, expired{0}, checksum_failures{0};
  C io_errors{0}, stripes_dropped_at_open{0}, objects_recovered{0}, journal_dropped{0};
  C recovery_bytes_read{0}, journal_tail_at_open{0};
  C reinsertions{0}, reinserted_bytes{0}, admission_rejected{0}, admission_rejected_bytes{0};
  C aged_seals{0};  // open membufs sealed by max_buffer_age_s, not because they were full
  C reref[kRerefBuckets]{};

  static void Add(C& c, uint64_t n = 1) { c.fetch_add(n, std::memory_order_relaxed); }
  static void Add(StripedCounter& c, uint64_t n = 1) { c.Add(n); }

  // Bucket of an evicted entry by its log hit counter (see BumpHits).
  void CountEvicted(uint8_t hits) { Add(reref[hits < kRerefBuckets ? hits : kRerefBuckets - 1]); }

  void CopyTo(StatsSnapshot* s) const {
    auto r = [](const C& c) { return c.load(std::memory_order_relaxed); };
    s->gets = gets.Load();
    s->hits_memory = hits_memory.Load();
    s->hits_disk = hits_disk.Load();
    s->misses = misses.Load();
    s->puts = r(puts);
    s->removes = r(removes);
    s->busy = r(busy);
    s->waits = r(waits);
    s->stripes_written = r(stripes_written);
    s->device_bytes_written = r(device_bytes_written);
    s->client_bytes_written = r(client_bytes_written);
    s->device_bytes_read = r(device_bytes_read);
    s->relocations = r(relocations);
    s->relocated_bytes = r(relocated_bytes);
    s->evictions = r(evictions);
    s->expired = r(expired);
    s->checksum_failures = r(checksum_failures);
    s->io_errors = r(io_errors);
    s->stripes_dropped_at_open = r(stripes_dropped_at_open);
    s->objects_recovered = r(objects_recovered);
    s->reinsertions = r(reinsertions);
    s->reinserted_bytes = r(reinserted_bytes);
    s->admission_rejected = r(admission_rejected);
    s->admission_rejected_bytes = r(admission_rejected_bytes);
    s->journal_dropped = r(journal_dropped);
    s->recovery_bytes_read = r(recovery_bytes_read);
    s->journal_tail_at_open = r(journal_tail_at_open);
    s->aged_seals = r(aged_seals);
    for (int i = 0; i < kRerefBuckets; i++) s->reref[i] = r(reref[i]);
  }
};

}  // namespace coss
