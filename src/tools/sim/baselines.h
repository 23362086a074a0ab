// Reference baselines of `coss sim`: plain data structures, no engine.
//
//  * exact LRU of `capacity` object bytes: a hit moves the object to the head;
//    inserting evicts from the tail until the object fits.
//  * FIFO of the same capacity: hits change nothing; eviction in insertion order.
//
// Capacity counts object bytes only (no per-object overhead): the baselines
// are the ideal against which the engine, which stores its headers, keys and
// directory inside the same device bytes, is measured. An object larger than
// the capacity is refused. Expired objects are misses and are dropped when met.
// device_bytes_written reports the object bytes admitted (write amp 1 or less).
#pragma once

#include <memory>

#include "tools/sim/cache_model.h"

namespace coss::sim {

std::unique_ptr<CacheModel> MakeLru(uint64_t capacity);
std::unique_ptr<CacheModel> MakeFifo(uint64_t capacity);

}  // namespace coss::sim
