// Runner: replays one Trace through a set of (policy, cache size) jobs, each
// on its own fresh cache model, spread over worker threads.
//
// Policies: "lru" and "fifo" are the baselines (baselines.h); any other name is
// an engine relocation spec ("always" = classic COSS, "never", "tail:P", ...)
// replayed through the real engine (engine_model.h).
//
// Replay (look-aside): get -> hit, or miss followed by a put of the object;
// set -> put; delete -> remove. inserted_bytes counts the object bytes of every
// put the replay issues (get-miss inserts and sets), whether or not the model
// stores them — the denominator of write amplification.
#pragma once

#include <string>
#include <vector>

#include "tools/sim/cache_model.h"
#include "tools/sim/request.h"

namespace coss::sim {

struct Job {
  std::string policy;
  uint64_t cache_bytes;
  double cache_fraction;  // of the trace footprint (for reports)
};

struct RunnerOptions {
  uint32_t stripe_size = 0;  // 0 = auto (see ChooseStripeSize)
  unsigned threads = 1;
  bool progress = false;  // one line per finished job on stderr
};

// Largest power-of-two stripe in [64 KiB, 1 MiB] that gives the cache at least
// 32 stripes (64 KiB for caches too small for that).
uint32_t ChooseStripeSize(uint64_t cache_bytes);

bool IsBaseline(const std::string& policy);

// Replays `trace` for every job. Returns an error message (empty on success);
// on success *out holds one RunResult per job, in job order.
std::string RunJobs(const Trace& trace, const std::vector<Job>& jobs, const RunnerOptions& opt,
                    std::vector<RunResult>* out);

// One job on the calling thread (tests use it directly).
std::string RunOne(const Trace& trace, const Job& job, uint32_t stripe_size, RunResult* out);

}  // namespace coss::sim
