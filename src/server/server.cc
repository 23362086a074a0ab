#include "server/server.h"

#include <signal.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <chrono>
#include <cstring>

namespace coss::server {

namespace {
std::string Human(uint64_t b) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int u = 0;
  double v = static_cast<double>(b);
  while (v >= 1024 && u < 4) {
    v /= 1024;
    u++;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, v == static_cast<uint64_t>(v) ? "%.0f %s" : "%.1f %s", v,
                units[u]);
  return buf;
}
}  // namespace

Server::Server(ServerConfig cfg) : cfg_(std::move(cfg)) {}

Server::~Server() {
  workers_.clear();
  if (listen_fd_ >= 0) ::close(listen_fd_);
}

bool Server::Open(std::string* err) {
  const auto t0 = std::chrono::steady_clock::now();
  auto opened = Engine::Open(cfg_.ToEngineOptions());
  if (!opened.ok()) {
    *err = "cannot open the store: " + opened.status().message();
    return false;
  }
  engine_ = std::move(*opened);
  const StatsSnapshot st = engine_->Stats();
  const double ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  spdlog::info(
      "store open in {:.0f} ms: {} objects ({} recovered, {} stripes dropped, {} KiB of metadata "
      "read)",
      ms, st.objects, st.objects_recovered, st.stripes_dropped_at_open,
      st.recovery_bytes_read >> 10);

  // A delayed flush_all that an earlier run accepted (pending_flush.h).
  pending_flush_ = std::make_unique<PendingFlush>(PendingFlush::PathFor(cfg_));
  if (pending_flush_->Load() != 0) {
    Status s;
    if (!pending_flush_->RunIfDue(
            NowSeconds(), [this] { return engine_->Clear(); }, &s)) {
      spdlog::info("a delayed flush_all is pending: every object will be dropped in {} s",
                   pending_flush_->armed_at() - NowSeconds());
    } else if (pending_flush_->armed_at() != 0) {  // the store could not be cleared
      *err = "cannot apply the delayed flush_all saved in " + pending_flush_->path() + ": " +
             s.message();
      engine_->Close();
      return false;
    } else {
      if (!s.ok())  // cleared, but the file is still there
        spdlog::error("{} (every start will drop every object again until it is removed)",
                      s.ToString());
      spdlog::info("a delayed flush_all came due while the server was down: every object dropped");
    }
  }

  // A power cut may have undone writes acknowledged before a flush
  // (--write-ack written): then nothing older may be served (boot_guard.h).
  boot_guard_ = std::make_unique<BootGuard>(BootGuard::PathFor(cfg_));
  Result<std::string> why = boot_guard_->MustStartEmpty();
  if (!why.ok() || !why->empty()) {
    const std::string reason = why.ok() ? *why : why.status().message();
    if (Status s = engine_->Clear(); !s.ok()) {
      *err = reason + "; emptying the store failed: " + s.message();
      engine_->Close();
      return false;
    }
    spdlog::warn("{}: the store starts empty", reason);
  }
  if (Status s = boot_guard_->Arm(cfg_.ack_level, cfg_.ack_wait); !s.ok()) {
    *err = "cannot record the store's run file (boot_guard.h): " + s.message();
    engine_->Close();
    return false;
  }

  if (cfg_.ram_bytes > 0) ram_ = std::make_unique<RamTier>(cfg_.ram_bytes);
  store_ = std::make_unique<Store>(engine_.get(), ram_.get());
  ctx_.config = &cfg_;
  ctx_.engine = engine_.get();
  ctx_.ram = ram_.get();
  ctx_.store = store_.get();
  ctx_.meta = &meta_;
  ctx_.turns = &turns_;
  ctx_.pending_flush = pending_flush_.get();
  ctx_.started_at = NowSeconds();
  ctx_.verbosity.store(cfg_.verbosity);

  // The HTTP and metrics ports are bound before the memcached one: once a
  // client can connect to the latter (how scripts and tests see that cossd is
  // up), the others take connections too.
  if (cfg_.http_port != 0) {
    proxy_ = std::make_unique<httpd::HttpProxy>(httpd::ProxyOptions::From(cfg_), store_.get());
    if (!proxy_->Open(err)) {
      proxy_.reset();
      engine_->Close();
      return false;
    }
    ctx_.http = &proxy_->metrics();
  }
  for (uint32_t i = 0; i < cfg_.threads; i++) {
    auto w = std::make_unique<Worker>(static_cast<int>(i), &ctx_);
    if (!w->Init(err)) {
      engine_->Close();
      return false;
    }
    ctx_.worker_metrics.push_back(w->metrics());
    ctx_.workers.push_back(w.get());
    workers_.push_back(std::move(w));
  }
  if (cfg_.metrics_port != 0) {
    http_ = std::make_unique<MetricsHttp>(&ctx_);
    if (!http_->Start(cfg_.metrics_listen, cfg_.metrics_port, err)) {
      *err = "metrics endpoint: " + *err;
      engine_->Close();
      return false;
    }
  }
  listen_fd_ = ListenTcp(cfg_.listen, cfg_.port, &port_, err);
  if (listen_fd_ < 0) {
    http_.reset();
    proxy_.reset();
    engine_->Close();
    return false;
  }
  for (auto& w : workers_) w->Start(listen_fd_);
  if (proxy_) proxy_->Start();
  spdlog::info("listening on {}:{} ({} worker threads, RAM tier {}, max item {}, {} connections)",
               cfg_.listen, port_, cfg_.threads, Human(cfg_.ram_bytes), Human(cfg_.max_item_size),
               cfg_.max_connections);
  if (http_) {
    spdlog::info("metrics at http://{}:{}/metrics", cfg_.metrics_listen, http_->port());
  }
  return true;
}

void Server::Run() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGHUP);
  for (;;) {
    timespec ts{1, 0};
    const int sig = ::sigtimedwait(&set, nullptr, &ts);
    if (sig == SIGTERM || sig == SIGINT) {
      last_signal_ = sig;
      spdlog::info("{}: stopping (finishing in-flight requests, then flushing the store)",
                   sig == SIGTERM ? "SIGTERM" : "SIGINT");
      return;
    }
    if (sig == SIGHUP) spdlog::info("SIGHUP ignored (configuration is read at start only)");
    WatchForFailedFlush();
    Status s;
    if (pending_flush_->RunIfDue(
            NowSeconds(), [this] { return store_->Clear(); }, &s)) {
      if (s.ok()) {
        spdlog::info("delayed flush_all: every object dropped");
      } else {
        spdlog::error("delayed flush_all failed: {}", s.ToString());
      }
    }
  }
}

void Server::WatchForFailedFlush() {
  if (flush_failure_marked_ || !cfg_.ack_wait || cfg_.ack_level != Persistence::kWritten) return;
  if (engine_->Stats().journal_failed == 0) return;
  flush_failure_marked_ = true;
  if (Status s = boot_guard_->MarkFlushFailed(); !s.ok()) {
    spdlog::error(
        "a journal flush failed, and marking {} failed too ({}): writes acknowledged "
        "as written may be lost; delete the store before the next start",
        boot_guard_->path(), s.ToString());
    return;
  }
  spdlog::error(
      "a journal flush failed: writes acknowledged as written may be lost, so the next "
      "start empties the store ({})",
      boot_guard_->path());
}

int Server::Shutdown() {
  ctx_.accepting.store(false);
  // The HTTP proxy drains beside the workers: idle connections close, running
  // exchanges finish, within the same shutdown timeout.
  if (proxy_) proxy_->RequestDrain(std::chrono::seconds(cfg_.shutdown_timeout_s));
  for (auto& w : workers_) w->RequestDrain();
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  for (;;) {
    bool all = true;
    for (auto& w : workers_) all = all && w->finished();
    if (all && (!proxy_ || proxy_->drained())) break;
    timespec ts{0, 50 * 1000 * 1000};
    const int sig = ::sigtimedwait(&set, nullptr, &ts);
    if (sig == SIGTERM || sig == SIGINT) {
      spdlog::warn("second signal: closing connections without waiting");
      for (auto& w : workers_) w->RequestStop();
      if (proxy_) proxy_->Stop();
    }
  }
  // No store call of the proxy may come after the engine closes.
  if (proxy_) {
    proxy_->Stop();
    proxy_->Join();
  }
  for (auto& w : workers_) w->Join();
  if (listen_fd_ >= 0) {
    ::close(listen_fd_);
    listen_fd_ = -1;
  }
  if (http_) http_->Stop();
  const auto t0 = std::chrono::steady_clock::now();
  // Objects admission kept off the ring live only in the RAM tier: store them.
  Result<uint64_t> kept = store_->KeepRamOnlyCopies();
  if (!kept.ok()) {
    spdlog::error("storing the RAM tier's only copies failed: {}", kept.status().ToString());
  } else if (*kept > 0) {
    spdlog::info("stored {} objects that only the RAM tier held", *kept);
  }
  Status flushed = kept.ok() ? engine_->Flush() : kept.status();
  WatchForFailedFlush();
  if (Status closed = engine_->Close(); flushed.ok() && !closed.ok()) flushed = closed;
  const double ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  // The workers stay alive until here: late store callbacks may still post to them.
  workers_.clear();
  if (!flushed.ok()) {
    spdlog::error("store flush failed: {}", flushed.ToString());
    return 1;
  }
  // Everything acknowledged is on stable storage: no later start need fear a
  // power cut that came after this point.
  if (Status s = boot_guard_->Disarm(); !s.ok()) spdlog::error("{}", s.ToString());
  spdlog::info("store flushed and closed in {:.0f} ms; bye", ms);
  return 0;
}

}  // namespace coss::server
