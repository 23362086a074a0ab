// Server: owns everything cossd runs: the engine, the RAM tier, the listening
// socket, the workers and the metrics endpoint, and runs the signal loop.
//
// Lifecycle: Open() (store, a delayed flush_all saved by an earlier run,
// socket, threads; any failure is returned as a one-line message and nothing
// keeps running) -> Run() (blocks until SIGTERM or SIGINT; applies delayed
// flush_all) -> Shutdown(): stop accepting, drain
// connections (shutdown_timeout_s; a second signal cuts it short), stop the
// metrics endpoint, Engine::Close() (flushes buffers, fsyncs), then returns
// the exit code (0 when the store closed cleanly).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "coss/engine.h"
#include "httpd/proxy.h"
#include "server/boot_guard.h"
#include "server/config.h"
#include "server/context.h"
#include "server/http_metrics.h"
#include "server/meta_state.h"
#include "server/pending_flush.h"
#include "server/ram_tier.h"
#include "server/store.h"
#include "server/worker.h"

namespace coss::server {

class Server {
 public:
  explicit Server(ServerConfig cfg);
  ~Server();

  // Signals must already be blocked in the calling thread (see main.cc).
  bool Open(std::string* err);
  void Run();
  int Shutdown();

  uint16_t port() const { return port_; }

 private:
  ServerConfig cfg_;
  std::unique_ptr<Engine> engine_;
  std::unique_ptr<RamTier> ram_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<PendingFlush> pending_flush_;
  std::unique_ptr<BootGuard> boot_guard_;
  // --write-ack written: once a journal flush has failed, the run file says
  // so (BootGuard::MarkFlushFailed). Checked every second and at the stop.
  void WatchForFailedFlush();
  bool flush_failure_marked_ = false;
  MetaStates meta_;
  KeyTurns turns_;
  ServerContext ctx_;
  std::vector<std::unique_ptr<Worker>> workers_;
  std::unique_ptr<MetricsHttp> http_;
  std::unique_ptr<httpd::HttpProxy> proxy_;  // --http-port
  int listen_fd_ = -1;
  uint16_t port_ = 0;
  int last_signal_ = 0;
};

}  // namespace coss::server
