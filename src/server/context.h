// ServerContext: what every worker shares: configuration, the store, the RAM
// tier, meta marks, metrics and process-wide state. Owned by Server; outlives
// the workers.
#pragma once

#include <atomic>
#include <cstdint>
#include <vector>

#include "coss/engine.h"
#include "httpd/http_metrics.h"
#include "server/config.h"
#include "server/key_turns.h"
#include "server/meta_state.h"
#include "server/metrics.h"
#include "server/pending_flush.h"
#include "server/ram_tier.h"
#include "server/store.h"

namespace coss::server {

class Worker;

inline constexpr const char* kCossVersion = "0.1.0";
// What "version" and "stats" report: the memcached protocol level we follow,
// then our own version (clients parse the leading numbers).
inline constexpr const char* kVersionString = "1.6.18-coss-0.1.0";

struct ServerContext {
  const ServerConfig* config = nullptr;
  Engine* engine = nullptr;
  RamTier* ram = nullptr;  // null when -m 0
  Store* store = nullptr;
  MetaStates* meta = nullptr;
  KeyTurns* turns = nullptr;  // read-modify-write commands' turns per key (null: they race)
  ConnectionGauges conns;
  std::vector<WorkerMetrics*> worker_metrics;
  // Every worker, in index order: accepted connections are dealt round-robin
  // over them (Worker::AcceptAll). Set before the workers start.
  std::vector<Worker*> workers;
  std::atomic<uint64_t> next_worker{0};
  int64_t started_at = 0;  // unix seconds
  std::atomic<int> verbosity{0};
  PendingFlush* pending_flush = nullptr;  // a delayed flush_all, kept across restarts
  std::atomic<bool> accepting{true};
  const httpd::HttpMetrics* http = nullptr;  // the HTTP proxy's counters (null: no proxy)
};

}  // namespace coss::server
