// MetricsHttp: a minimal HTTP/1.0 endpoint for Prometheus on --metrics-port.
// GET /metrics returns RenderPrometheus(); anything else is 404 (405 for other
// methods). One thread; each request is handled with 2 s socket timeouts and an
// 8 KiB request-head limit, then the connection is closed, so a slow or hostile
// scraper can delay the next scrape but never the cache.
#pragma once

#include <atomic>
#include <string>
#include <thread>

#include "server/context.h"

namespace coss::server {

class MetricsHttp {
 public:
  explicit MetricsHttp(ServerContext* ctx) : ctx_(ctx) {}
  ~MetricsHttp() { Stop(); }

  // Binds address:port; returns false with *err on failure. Port 0 picks one.
  bool Start(const std::string& address, uint16_t port, std::string* err);
  uint16_t port() const { return port_; }
  void Stop();

 private:
  void Run();
  void Serve(int fd);

  ServerContext* ctx_;
  int listen_fd_ = -1;
  int wake_fd_ = -1;
  uint16_t port_ = 0;
  std::thread thread_;
};

// Shared by the protocol listener and the metrics endpoint.
int ListenTcp(const std::string& address, uint16_t port, uint16_t* bound_port, std::string* err);

}  // namespace coss::server
