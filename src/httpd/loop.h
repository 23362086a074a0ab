// Loop: one event-loop thread of the HTTP proxy: epoll over its client
// sockets, their origin sockets and the shared listener; store reads that
// complete on engine threads, and durability notices of the store changes an
// exchange waits for, come back through an eventfd inbox (bounded: per client
// connection, one read, or at most four notices: a stored response and the
// three invalidations of an unsafe request).
//
// Request collapsing: at most one origin fetch per store key runs on a loop
// (its leader); other misses of the key wait for it (at most kMaxWaiters) and
// are woken when it ends, to read the stored response or, when none was
// stored, to fetch for themselves. Collapsing is per loop: with several
// --http-threads, each loop may fetch a key once.
//
// Contract: every ClientConn is created, run and destroyed on its loop's
// thread; only Post, PostDurable and Stop are called from other threads.
#pragma once

#include <sys/socket.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

#include "http/message.h"
#include "httpd/cache_entry.h"
#include "httpd/http_metrics.h"
#include "httpd/proxy.h"
#include "server/store.h"

namespace coss::httpd {

class ClientConn;

class Loop {
 public:
  using Clock = std::chrono::steady_clock;
  Loop(int index, const ProxyOptions* opts, server::Store* store, HttpMetrics* metrics,
       const std::vector<OriginAddr>* origins, std::atomic<uint32_t>* clients);
  ~Loop();

  bool Init(int listen_fd, std::string* err);
  void Start();
  void Stop();  // thread-safe
  // Thread-safe: stop accepting, close idle connections, and let the others
  // finish the exchange they run (then close) until `deadline`; the thread
  // then ends (done()).
  void RequestDrain(Clock::time_point deadline);
  bool done() const { return done_.load(); }
  void Join();

  // Thread-safe: a store read of connection `conn` finished.
  void Post(uint64_t conn, server::ReadResult r);
  // Thread-safe: a store change of connection `conn` is durable (or cannot be).
  void PostDurable(uint64_t conn, const Status& st);

  // For ClientConn, on this loop's thread.
  const ProxyOptions& opts() const { return *opts_; }
  server::Store& store() { return *store_; }
  HttpMetrics& metrics() { return *metrics_; }
  // Registers / updates / removes a socket of connection `id` (role 0: the
  // client's, 1: its origin's) with the events wanted.
  void Watch(int fd, uint64_t id, int role, uint32_t events);
  void Unwatch(int fd);
  // A connected (or connecting) non-blocking socket to the origin: an idle
  // pooled one when there is one (*reused = true), else a new one; -1 on error.
  // Which origin serves a request for `authority` (lower case): the host
  // route naming it, or its host without the port; else 0, the default.
  size_t OriginFor(std::string_view authority) const;
  int OriginSocket(size_t origin, bool* reused);
  // Returns a socket whose last exchange ended cleanly to the idle pool
  // (closed when the pool is full).
  void ReleaseOrigin(size_t origin, int fd);
  // Collapsing. LeadFill: connection `id` fetches `key` (false when another
  // connection already does). JoinFill: `id` waits for the fetch of `key`
  // (false when there is none, `id` leads it, or too many wait). EndFill: the
  // leader is done; its waiters are woken before the next wait for events,
  // told whether to fetch for themselves (`pass`: nothing was stored).
  static constexpr size_t kMaxWaiters = 4096;
  // Bytes one read takes from a client's or an origin's socket.
  static constexpr size_t kReadChunk = size_t{64} * 1024;
  // Background revalidation (stale-while-revalidate): after this event, a
  // connection with no client socket revalidates the entry for the request —
  // unless a fetch of the URL runs already, or kMaxRefreshes are queued, or
  // the connection limit is reached.
  static constexpr size_t kMaxRefreshes = 64;
  struct RefreshJob {
    http::RequestHead req;
    CacheEntry entry;
    std::string store_key;  // the URL's
    std::string entry_key;  // the entry's (a variant's, under a Vary marker)
    std::optional<VaryMarker> marker;
  };
  void Refresh(RefreshJob job);
  bool LeadFill(const std::string& key, uint64_t id);
  bool JoinFill(const std::string& key, uint64_t id);
  void EndFill(const std::string& key, uint64_t id, bool pass);

 private:
  void Run();
  void AcceptAll();
  void Drain();              // the inbox
  void Settle(uint64_t id);  // close the connection if it is finished
  void Tick();
  void WakeWaiters();
  void BeginDrain();
  void StartRefreshes();

  int index_;
  const ProxyOptions* opts_;
  server::Store* store_;
  HttpMetrics* metrics_;
  const std::vector<OriginAddr>* origins_;  // the proxy's, immutable while loops run
  std::atomic<uint32_t>* clients_;          // open client connections over all loops
  int epfd_ = -1;
  int evfd_ = -1;
  int listen_fd_ = -1;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> drain_requested_{false};
  std::atomic<bool> done_{false};
  Clock::time_point drain_deadline_{};  // written before drain_requested_ (release)
  bool draining_ = false;
  std::unordered_map<uint64_t, std::unique_ptr<ClientConn>> conns_;
  struct Fill {
    uint64_t leader;
    std::vector<uint64_t> waiters;
  };
  std::unordered_map<std::string, Fill> fills_;  // store key -> the fetch running
  struct Wake {
    uint64_t conn;
    std::string key;
    bool pass;
  };
  std::vector<Wake> wakes_;                     // waiters to wake before the next epoll_wait
  std::vector<RefreshJob> refreshes_;           // at most kMaxRefreshes
  std::vector<std::vector<int>> idle_origins_;  // per origin, at most max_idle_origin each
  uint64_t next_id_ = 16;
  Clock::time_point next_tick_{};

  std::mutex mu_;
  struct Completion {
    uint64_t conn;
    bool durable;  // a durability notice, not a read
    server::ReadResult read;
    Status status;
  };
  std::vector<Completion> inbox_;  // GUARDED_BY(mu_)
};

}  // namespace coss::httpd
