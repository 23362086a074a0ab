// Synthetic workload generators for `coss sim`. All are deterministic for a
// given spec (seed included), read-only requests (look-aside replay), and build
// the whole request vector up front.
//
// Kinds (every key optional; defaults in brackets):
//   zipf:    alpha [1.0], objects [1e6], requests [1e7]      Zipf(alpha) over `objects`
//   scan:    zipf over a hot set of `objects`, interleaved with sequential scans:
//            scan [0.3] fraction of requests, in bursts of scan_len [objects/10]
//            consecutive ids from a cold range of scan_objects [4 * objects] ids,
//            walked cyclically (an LRU-polluting pattern)
//   onehit:  zipf plus onehit [0.5] fraction of requests to ids never seen again
//   ttl:     zipf whose objects carry TTLs: ttl=SECONDS:WEIGHT+... [300:30+3600:30+0:40]
// Common keys: size = BYTES or MIN-MAX (uniform per object, fixed by its id)
//   [512-8192]; seed [1]; rate = requests per simulated second [1000]; every
//   kind also accepts ttl=... (ttl: is zipf with a default mix).
#pragma once

#include <string>

#include "tools/sim/request.h"
#include "tools/sim/spec.h"

namespace coss::sim {

// True when `kind` names a generator.
bool IsGenerator(const std::string& kind);

// Fills out->requests. Returns an error message, empty on success.
std::string Generate(const Spec& spec, uint64_t limit, Trace* out);

// Zipf(alpha) sampler over ranks 0..n-1 (rank 0 most popular), by inverse CDF.
class ZipfSampler {
 public:
  ZipfSampler(uint64_t n, double alpha);
  // u uniform in [0, 1).
  uint64_t Sample(double u) const;

 private:
  std::vector<double> cdf_;
};

}  // namespace coss::sim
