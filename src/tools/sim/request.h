// Request and Trace: the in-memory form of a workload that `coss sim` replays.
//
// A trace is materialised once (readers and generators fill a Trace) and then
// replayed, read-only, by every (policy, cache size) job, possibly on several
// threads at once. Object identity is a 64-bit id; the simulated key is its
// 8 little-endian bytes.
//
// Invariants: size >= 1 for every request; `time` never decreases along the
// trace; `footprint_bytes` is the sum over distinct ids of the size of each
// id's first request (later requests may resize an object; the first wins).
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace coss::sim {

enum class Op : uint8_t {
  kGet,     // look-aside read: on a miss, the object is inserted
  kSet,     // the client stores the object (Twitter set/add/replace/cas/...)
  kDelete,  // the client deletes the object
};

struct Request {
  uint64_t id;
  uint32_t size;  // object bytes (value; the 8-byte key is engine overhead)
  uint32_t ttl;   // seconds from insertion, 0 = none
  uint32_t time;  // simulated seconds since the trace start
  Op op;
};

// Popularity summary of a trace: distinct objects by the number of requests
// they received, in power-of-two buckets 1, 2-3, 4-7, ..., >= 2^15.
inline constexpr int kTraceRerefBuckets = 16;

struct Trace {
  std::string name;  // workload spec, as given on the command line
  std::vector<Request> requests;
  uint64_t objects = 0;          // distinct ids
  uint64_t footprint_bytes = 0;  // see the invariants above
  uint32_t max_size = 0;
  std::array<uint64_t, kTraceRerefBuckets> requests_per_object{};

  // Fills objects, footprint_bytes, max_size and requests_per_object.
  void Summarize();
};

}  // namespace coss::sim
