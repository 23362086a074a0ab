// HttpProxy: cossd's HTTP/1.1 caching reverse proxy (--http-port), on the same
// store (engine + RAM tier) as the memcached port.
//
// Threads: --http-threads event loops (Loop, loop.h), each with its own epoll,
// client connections, origin connections and idle-origin pool; a shared
// listening socket (EPOLLEXCLUSIVE wakes one loop per connection). Nothing is
// shared between loops but the store (thread-safe) and the counters (atomic).
//
// Lifecycle: Open (resolve the origins, bind; errors as one line) -> Start ->
// [RequestDrain, until drained()] -> Stop (stop accepting, close every
// connection) -> Join. Stop comes before the
// engine closes: no store call is made after Join returns.
#pragma once

#include <sys/socket.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "http/freshness.h"
#include "httpd/http_metrics.h"
#include "server/config.h"
#include "server/store.h"

namespace coss::httpd {

class Loop;

// A resolved origin.
struct OriginAddr {
  std::string name;  // HOST:PORT, for logs
  sockaddr_storage addr{};
  socklen_t len = 0;
};

struct ProxyOptions {
  std::string listen = "127.0.0.1";
  uint16_t port = 0;
  std::string origin_host;  // the default origin
  uint16_t origin_port = 80;
  struct HostRoute {
    std::string host;  // a request authority (lower case), or its host part
    std::string origin_host;
    uint16_t origin_port = 80;
  };
  std::vector<HostRoute> host_routes;  // per-Host origins (--http-host-origin)
  uint32_t threads = 1;
  std::string purge = "loopback";  // loopback | any | none
  uint32_t origin_timeout_s = 30;
  uint64_t max_object = 1u << 20;  // largest body stored
  uint64_t max_item = 1u << 20;    // largest store value (entry head + body)
  uint64_t max_request_body = 1u << 20;
  uint32_t client_idle_s = 60;    // keep-alive connection with no request
  uint32_t head_timeout_s = 30;   // a request head must arrive within this
  uint32_t max_idle_origin = 64;  // idle origin connections kept per loop
  // --write-ack: hold answers until store changes reach ack_level.
  bool ack_wait = server::ServerConfig{}.ack_wait;
  Persistence ack_level = server::ServerConfig{}.ack_level;
  uint32_t max_clients = 1024;  // open client connections (over: 503 and close)
  http::HeuristicOptions heuristic;
  static ProxyOptions From(const server::ServerConfig& c);
};

class HttpProxy {
 public:
  HttpProxy(ProxyOptions opts, server::Store* store);
  ~HttpProxy();
  HttpProxy(const HttpProxy&) = delete;
  HttpProxy& operator=(const HttpProxy&) = delete;

  bool Open(std::string* err);
  void Start();
  // SIGTERM: stop accepting; idle connections close, busy ones finish their
  // exchange (then close) within `grace`; drained() once every loop is done.
  // Stop still cuts whatever is left; Join follows either.
  void RequestDrain(std::chrono::seconds grace);
  bool drained() const;
  void Stop();
  void Join();
  uint16_t port() const { return port_; }
  const HttpMetrics& metrics() const { return metrics_; }

 private:
  ProxyOptions opts_;
  server::Store* store_;
  HttpMetrics metrics_;
  std::atomic<uint32_t> clients_{0};
  std::vector<std::unique_ptr<Loop>> loops_;
  std::vector<OriginAddr> origins_;  // [0] the default, then one per host route
  int listen_fd_ = -1;
  uint16_t port_ = 0;
};

}  // namespace coss::httpd
