// Report: renders one coss bench run — settings, the measured phase's
// throughput, latency percentiles, client-side hit ratios and errors, and the
// server's own figures (CPU, RSS, bytes written, write amplification) — as a
// human-readable table or as one JSON object (schema "coss-bench/1"; absent
// server figures are null, printed "n/a" in the table).
#pragma once

#include <optional>
#include <string>

#include "tools/bench/driver.h"
#include "tools/bench/server_stats.h"

namespace coss::tools::bench {

struct RunSettings {
  std::string server;
  int connections = 0, threads = 0, depth = 0;
  double rate = 0;
  std::string arrival;
  double duration_s = 0, warmup_s = 0;
  uint64_t max_requests = 0;
  std::string source;  // "synthetic" | "trace"
  // synthetic
  uint64_t keys = 0;
  std::string key_dist, value_sizes;
  double set_ratio = 0;
  bool fill_on_miss = false;
  bool prefill = false;
  bool prefill_read = false;
  // trace
  std::string trace_path, trace_format;
  uint64_t trace_skipped = 0;
  std::string key_prefix;
  uint64_t seed = 0;
};

struct BenchReport {
  RunSettings settings;
  std::optional<PhaseResult> prefill;
  std::optional<PhaseResult> prefill_read;
  std::optional<PhaseResult> warmup;
  PhaseResult run;
  ServerDelta server;
};

std::string RenderHuman(const BenchReport& r);
std::string RenderJson(const BenchReport& r);

}  // namespace coss::tools::bench
