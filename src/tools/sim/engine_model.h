// EngineModel: the real coss engine (index, stripe ring, relocation and
// admission policies) on one in-RAM device (MakeMemDevice) of exactly
// `cache_bytes` bytes, as a CacheModel for `coss sim`.
//
// What is stored: key = the object id's 8 bytes, value = `size` bytes taken
// from one shared zero buffer (no per-request allocation). The engine's own
// overhead — 4 KiB superblock, 64 B per stripe header, 48 B record header,
// 8 B key, 32 B directory entry and up to 15 B alignment per record, unused
// stripe tails, and the open stripe (reclaimed when it is opened, filled in
// RAM) — all lives inside cache_bytes, while the baselines count object bytes
// only. The index (RAM) is not counted, as the baselines' maps are not.
//
// Requires the MemDevice's inline completion: Get's callback runs before Get
// returns (checked; a violation aborts the replay with a message).
#pragma once

#include <memory>
#include <string>

#include "tools/sim/cache_model.h"

namespace coss::sim {

struct EngineModelConfig {
  std::string policy;  // EngineOptions::relocation spec ("always", "tail:25", ...)
  uint64_t cache_bytes = 0;
  uint32_t stripe_size = 1u << 20;
  uint32_t max_object = 1u << 20;  // largest value the replay will store
  uint64_t expected_objects = 0;   // index pre-size hint
};

// Returns nullptr and sets *err when the engine refuses the configuration
// (e.g. a device too small for the stripe size).
std::unique_ptr<CacheModel> MakeEngineModel(const EngineModelConfig& cfg, std::string* err);

// Device bytes of a record holding an object of `size` bytes (as stored by the
// model, with its 8-byte key), directory entry and padding included.
uint64_t EngineRecordFootprint(uint32_t size);

}  // namespace coss::sim
