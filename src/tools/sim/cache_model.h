// CacheModel: what the replay loop (runner.cc) drives — the real engine
// (engine_model.*) or a reference baseline (baselines.*).
//
// Contract: Get returns true on a hit and must not insert; Put stores (or
// replaces) the object, and may decline it (an admission policy, or an object
// larger than the cache); Remove deletes. `now` is the simulated time in
// seconds; objects whose TTL has passed are misses. Finish fills the
// model-specific fields of a RunResult once the replay is over.
#pragma once

#include <array>
#include <cstdint>
#include <string>

#include "coss/stats.h"
#include "tools/sim/request.h"

namespace coss::sim {

struct RunResult {
  std::string workload;
  std::string policy;
  uint64_t cache_bytes = 0;
  double cache_fraction = 0;  // cache_bytes / footprint
  uint32_t stripe_size = 0;   // engine models only
  uint64_t requests = 0;
  uint64_t gets = 0, misses = 0;
  uint64_t get_bytes = 0, miss_bytes = 0;
  uint64_t inserted_bytes = 0;  // object bytes clients asked to store (get-miss inserts + sets)
  uint64_t inserted_objects = 0;
  // Device-level (engine: stripe writes) or model-level (baselines: bytes of
  // objects admitted).
  uint64_t device_bytes_written = 0;
  // Engine: journal blocks written (crash durability of acknowledged writes;
  // reported apart: their volume depends on how many puts each group commit
  // batches, i.e. on device sync latency and thread timing, not on the policy).
  uint64_t journal_bytes_written = 0;
  uint64_t device_bytes_read = 0;
  uint64_t relocations = 0, relocated_bytes = 0;    // engine: rewrites of disk hits
  uint64_t reinsertions = 0, reinserted_bytes = 0;  // engine: rewrites at stripe eviction
  uint64_t admission_rejected = 0;                  // engine: puts dropped by admission
  uint64_t evictions = 0;
  uint64_t memory_hits = 0;  // engine: hits served from a membuf
  uint64_t refused = 0;      // puts the model did not store (too large, busy, admission)
  // Engine: device bytes per object byte it wrote (record headers, key,
  // directory entries, padding, stripe headers, unused stripe tails).
  double format_overhead = 0;
  std::array<uint64_t, kRerefBuckets> reref{};  // evicted objects by reads while cached
  double seconds = 0;                           // wall time of the replay

  double miss_ratio() const { return gets ? double(misses) / gets : 0; }
  double byte_miss_ratio() const { return get_bytes ? double(miss_bytes) / get_bytes : 0; }
  double write_amp() const {
    return inserted_bytes ? double(device_bytes_written) / inserted_bytes : 0;
  }
  double journal_amp() const {
    return inserted_bytes ? double(journal_bytes_written) / inserted_bytes : 0;
  }
};

class CacheModel {
 public:
  virtual ~CacheModel() = default;
  virtual bool Get(const Request& r, int64_t now) = 0;
  virtual void Put(const Request& r, int64_t now) = 0;
  virtual void Remove(const Request& r) = 0;
  virtual void Finish(RunResult* out) = 0;
};

}  // namespace coss::sim
