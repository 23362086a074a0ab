// Server-side figures for coss bench: a snapshot of the server's `stats`
// (and, when the server runs on this machine, its /proc entry) taken before
// and after a phase, and what changed in between.
//
//  * From `stats` (any memcached-protocol server): pid, version, curr_items,
//    rusage_user/system; for cossd also coss_client_bytes_written and
//    coss_device_bytes_written; for memcached with extstore
//    extstore_bytes_written. Counters a server lacks are absent (n/a), never 0.
//  * From /proc/<pid> when the address is loopback and the pid exists: CPU
//    seconds (utime + stime from stat), resident memory (status VmRSS),
//    bytes the process caused to be read from / written to storage (io) and
//    context switches of all its threads (task/*/status; threads that exited
//    in between are not counted).
//    Otherwise CPU falls back to the rusage_* fields of `stats`.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "tools/stats/net.h"
#include "tools/stats/stats_client.h"

namespace coss::tools::bench {

struct ProcSample {
  std::string comm;  // process name, a check that the pid is the server
  double cpu_s = 0;
  uint64_t rss_bytes = 0;
  std::optional<uint64_t> write_bytes;  // /proc/<pid>/io (may be unreadable)
  std::optional<uint64_t> read_bytes;
  uint64_t context_switches = 0;  // voluntary + involuntary, summed over the threads
};
// Reads /proc/<pid>; false if it does not exist.
bool SampleProc(long pid, ProcSample* out);

struct ServerSample {
  bool ok = false;
  std::string error;
  StatList stats;
  long pid = 0;
  std::optional<ProcSample> proc;
};
ServerSample SampleServer(const Endpoint& ep, int timeout_ms);

// An integer stat, if present and numeric.
std::optional<uint64_t> StatU64(const StatList& s, const char* name);
std::optional<double> StatDouble(const StatList& s, const char* name);

struct ServerDelta {
  bool ok = false;
  std::string error;
  long pid = 0;
  std::string version;
  std::string comm;
  std::optional<double> cpu_s;                     // server CPU seconds during the phase
  std::string cpu_source;                          // "/proc/<pid>/stat" or "stats rusage"
  std::optional<uint64_t> rss_bytes;               // after
  std::optional<uint64_t> items;                   // curr_items after
  std::optional<uint64_t> client_bytes_written;    // coss_client_bytes_written (+ refused) delta
  std::optional<uint64_t> device_bytes_written;    // coss_device_bytes_written delta
  std::optional<double> write_amplification;       // device / client (cossd only)
  std::optional<uint64_t> device_bytes_read;       // coss_device_bytes_read delta
  std::optional<uint64_t> extstore_bytes_written;  // memcached extstore delta
  std::optional<uint64_t> extstore_bytes_read;     // memcached extstore delta
  std::optional<uint64_t> proc_write_bytes;        // /proc/<pid>/io write_bytes delta
  std::optional<uint64_t> proc_read_bytes;         // /proc/<pid>/io read_bytes delta
  std::optional<uint64_t> context_switches;        // /proc/<pid>/task/*/status delta
  // Every `stats` field: its value after the phase, and after - before for
  // the integer ones (counters; for gauges the change).
  StatList stats_after;
  std::vector<std::pair<std::string, int64_t>> stats_delta;
};
ServerDelta Diff(const ServerSample& before, const ServerSample& after);

}  // namespace coss::tools::bench
