// Metrics: the server's counters and latency histograms.
//
// Each worker owns one WorkerMetrics and is its only writer (relaxed atomic
// adds, no contention); readers (stats command, HTTP endpoint) sum all workers.
// Latency is measured from the moment a request is parsed to the moment its
// reply is complete (queued for the socket), in power-of-two microsecond
// buckets.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <vector>

#include "proto/request.h"

namespace coss::server {

// Counters with memcached's stats names (see stats_report.cc for the order).
enum Counter : int {
  kCmdGet,
  kCmdSet,
  kCmdFlush,
  kCmdTouch,
  kCmdMeta,
  kGetHits,
  kGetMisses,
  kGetExpired,
  kGetFlushed,
  kDeleteMisses,
  kDeleteHits,
  kIncrMisses,
  kIncrHits,
  kDecrMisses,
  kDecrHits,
  kCasMisses,
  kCasHits,
  kCasBadval,
  kTouchHits,
  kTouchMisses,
  kStoreTooLarge,
  kStoreNoMemory,
  kTotalItems,
  kBytesRead,
  kBytesWritten,
  kHitsRam,
  kHitsStoreMemory,
  kHitsStoreDisk,     // reads served, by tier
  kCasRetries,        // compare-and-swap puts retried after a concurrent change
  kClientErrors,      // CLIENT_ERROR / ERROR replies
  kServerErrors,      // SERVER_ERROR replies
  kLinesTooLong,      // connections closed for an over-long line
  kOutputPauses,      // a connection stopped reading: its unsent replies reached conn_output_limit
  kInputPauses,       // ... its queued requests reached conn_pending or their byte bound
  kDurabilityErrors,  // write replies turned into SERVER_ERROR: the journal could not sync them
  kCounterCount
};

// Gauges (current values; a connection adds and removes its own share, see
// Connection::ReportGauges).
enum Gauge : int {
  kConnsOutputPaused,  // connections not reading because of conn_output_limit
  kConnsInputPaused,   // connections not reading because of their queued requests
  kOutputBytes,        // reply bytes held for clients
  kInputBytes,         // read buffers plus request bytes queued in ops
  kConnections,        // open client connections this worker serves
  kGaugeCount
};

// Latency classes.
enum LatClass : int {
  kLatGet,
  kLatSet,
  kLatDelete,
  kLatArith,
  kLatTouch,
  kLatMeta,
  kLatOther,
  kLatClassCount
};
inline constexpr int kLatBuckets = 24;  // <=1us, <=2us, ... <=2^22us (~4 s), +Inf

struct WorkerMetrics {
  std::array<std::atomic<uint64_t>, kCounterCount> c{};
  std::array<std::atomic<uint64_t>, 32> ops_by_cmd{};  // indexed by proto::Command
  std::array<std::array<std::atomic<uint64_t>, kLatBuckets + 1>, kLatClassCount> lat{};
  std::array<std::atomic<uint64_t>, kLatClassCount> lat_sum_us{};
  std::array<std::atomic<int64_t>, kGaugeCount> g{};

  void Add(Counter k, uint64_t n = 1) { c[k].fetch_add(n, std::memory_order_relaxed); }
  void Move(Gauge k, int64_t delta) {
    if (delta != 0) g[k].fetch_add(delta, std::memory_order_relaxed);
  }
  void CountCommand(proto::Command cmd) {
    ops_by_cmd[static_cast<int>(cmd)].fetch_add(1, std::memory_order_relaxed);
  }
  void Latency(proto::Command cmd, uint64_t micros);
};

LatClass LatClassOf(proto::Command cmd);
const char* LatClassName(int c);

// Sum over workers, plus process-wide connection gauges.
struct MetricsTotals {
  std::array<uint64_t, kCounterCount> c{};
  std::array<uint64_t, 32> ops_by_cmd{};
  std::array<std::array<uint64_t, kLatBuckets + 1>, kLatClassCount> lat{};
  std::array<uint64_t, kLatClassCount> lat_sum_us{};
  std::array<int64_t, kGaugeCount> g{};
};

struct ConnectionGauges {
  std::atomic<uint64_t> curr{0}, total{0}, rejected{0};
  std::atomic<uint64_t> idle_kicks{0};  // closed by --idle-timeout
};

MetricsTotals SumMetrics(const std::vector<WorkerMetrics*>& workers);

}  // namespace coss::server
