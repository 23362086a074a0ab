#include "httpd/proxy.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <spdlog/spdlog.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "httpd/client_conn.h"
#include "httpd/loop.h"
#include "server/http_metrics.h"

namespace coss::httpd {

namespace {
constexpr uint64_t kListenerTag = 1;
constexpr uint64_t kWakeTag = 2;

bool IsLoopback(const sockaddr_storage& a) {
  if (a.ss_family == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(&a);
    return (ntohl(in->sin_addr.s_addr) >> 24) == 127;
  }
  if (a.ss_family == AF_INET6) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(&a);
    if (IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr)) return true;
    return IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr) && in6->sin6_addr.s6_addr[12] == 127;
  }
  return false;
}
}  // namespace

ProxyOptions ProxyOptions::From(const server::ServerConfig& c) {
  ProxyOptions o;
  o.listen = c.listen;
  o.port = c.http_port;
  server::ParseOriginUrl(c.http_origin, &o.origin_host, &o.origin_port);
  for (const auto& h : c.http_host_origins) {
    HostRoute r;
    r.host = h.host;
    server::ParseOriginUrl(h.origin, &r.origin_host, &r.origin_port);
    o.host_routes.push_back(std::move(r));
  }
  o.threads = c.http_threads;
  o.purge = c.http_purge;
  o.origin_timeout_s = c.http_origin_timeout_s;
  o.max_object = c.http_max_object;
  o.max_item = c.max_item_size;
  o.max_clients = c.max_connections;
  o.ack_wait = c.ack_wait;
  o.ack_level = c.ack_level;
  o.heuristic.fraction = c.http_heuristic_percent / 100.0;
  o.heuristic.max = c.http_heuristic_max_s;
  return o;
}

// ------------------------------------------------------------------- Loop

Loop::Loop(int index, const ProxyOptions* opts, server::Store* store, HttpMetrics* metrics,
           const std::vector<OriginAddr>* origins, std::atomic<uint32_t>* clients)
    : index_(index),
      opts_(opts),
      store_(store),
      metrics_(metrics),
      origins_(origins),
      clients_(clients) {
  idle_origins_.resize(origins->size());
}

Loop::~Loop() {
  conns_.clear();
  for (const std::vector<int>& pool : idle_origins_) {
    for (const int fd : pool) ::close(fd);
  }
  if (evfd_ >= 0) ::close(evfd_);
  if (epfd_ >= 0) ::close(epfd_);
}

bool Loop::Init(int listen_fd, std::string* err) {
  epfd_ = ::epoll_create1(EPOLL_CLOEXEC);
  evfd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (epfd_ < 0 || evfd_ < 0) {
    *err = std::string("http proxy: epoll/eventfd: ") + std::strerror(errno);
    return false;
  }
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = kWakeTag;
  ::epoll_ctl(epfd_, EPOLL_CTL_ADD, evfd_, &ev);
  listen_fd_ = listen_fd;
  ev.events = EPOLLIN | EPOLLEXCLUSIVE;
  ev.data.u64 = kListenerTag;
  if (::epoll_ctl(epfd_, EPOLL_CTL_ADD, listen_fd_, &ev) != 0) {
    *err = std::string("http proxy: epoll_ctl: ") + std::strerror(errno);
    return false;
  }
  return true;
}

void Loop::Start() {
  thread_ = std::thread([this] { Run(); });
}

void Loop::Stop() {
  stop_.store(true);
  const uint64_t one = 1;
  [[maybe_unused]] const ssize_t n = ::write(evfd_, &one, sizeof one);
}

void Loop::RequestDrain(Clock::time_point deadline) {
  drain_deadline_ = deadline;
  drain_requested_.store(true, std::memory_order_release);
  const uint64_t one = 1;
  [[maybe_unused]] const ssize_t n = ::write(evfd_, &one, sizeof one);
}

void Loop::BeginDrain() {
  draining_ = true;
  refreshes_.clear();
  ::epoll_ctl(epfd_, EPOLL_CTL_DEL, listen_fd_, nullptr);
  std::vector<uint64_t> ids;
  ids.reserve(conns_.size());
  for (auto& [id, c] : conns_) ids.push_back(id);
  for (const uint64_t id : ids) {
    auto it = conns_.find(id);
    if (it == conns_.end()) continue;
    it->second->StartDrain();
    Settle(id);
  }
}

void Loop::Join() {
  if (thread_.joinable()) thread_.join();
}

void Loop::Post(uint64_t conn, server::ReadResult r) {
  {
    std::lock_guard lk(mu_);
    inbox_.push_back(Completion{conn, false, std::move(r), Status::Ok()});
  }
  const uint64_t one = 1;
  [[maybe_unused]] const ssize_t n = ::write(evfd_, &one, sizeof one);
}

void Loop::PostDurable(uint64_t conn, const Status& st) {
  {
    std::lock_guard lk(mu_);
    inbox_.push_back(Completion{conn, true, {}, st});
  }
  const uint64_t one = 1;
  [[maybe_unused]] const ssize_t n = ::write(evfd_, &one, sizeof one);
}

void Loop::Watch(int fd, uint64_t id, int role, uint32_t events) {
  epoll_event ev{};
  ev.events = events;
  ev.data.u64 = (id << 1) | static_cast<uint64_t>(role);
  if (::epoll_ctl(epfd_, EPOLL_CTL_MOD, fd, &ev) != 0 && errno == ENOENT) {
    ::epoll_ctl(epfd_, EPOLL_CTL_ADD, fd, &ev);
  }
}

void Loop::Unwatch(int fd) {
  ::epoll_ctl(epfd_, EPOLL_CTL_DEL, fd, nullptr);
}

size_t Loop::OriginFor(std::string_view authority) const {
  const auto& routes = opts_->host_routes;
  if (routes.empty()) return 0;
  // The authority as sent, then its host without the port.
  std::string_view host = authority;
  if (const size_t colon = host.rfind(':');
      colon != std::string_view::npos && host.find(']', colon) == std::string_view::npos) {
    host = host.substr(0, colon);
  }
  for (size_t i = 0; i < routes.size(); i++) {
    if (routes[i].host == authority) return i + 1;
  }
  for (size_t i = 0; i < routes.size(); i++) {
    if (routes[i].host == host) return i + 1;
  }
  return 0;
}

int Loop::OriginSocket(size_t origin, bool* reused) {
  std::vector<int>& idle = idle_origins_[origin];
  while (!idle.empty()) {
    const int fd = idle.back();
    idle.pop_back();
    // Still open? An idle connection the origin closed reads as EOF.
    char c;
    const ssize_t n = ::recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      *reused = true;
      return fd;
    }
    ::close(fd);
  }
  *reused = false;
  const OriginAddr& o = (*origins_)[origin];
  const int fd = ::socket(o.addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  const int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&o.addr), o.len) != 0 &&
      errno != EINPROGRESS) {
    ::close(fd);
    return -1;
  }
  return fd;
}

void Loop::ReleaseOrigin(size_t origin, int fd) {
  std::vector<int>& idle = idle_origins_[origin];
  if (idle.size() >= opts_->max_idle_origin) {
    ::close(fd);
    return;
  }
  idle.push_back(fd);
}

void Loop::AcceptAll() {
  for (;;) {
    sockaddr_storage peer{};
    socklen_t len = sizeof peer;
    const int fd = ::accept4(listen_fd_, reinterpret_cast<sockaddr*>(&peer), &len,
                             SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      return;  // EAGAIN, or out of descriptors: try again on the next event
    }
    if (clients_->fetch_add(1) >= opts_->max_clients) {
      clients_->fetch_sub(1);
      static constexpr std::string_view kBusy =
          "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
      [[maybe_unused]] const ssize_t n = ::send(fd, kBusy.data(), kBusy.size(), MSG_NOSIGNAL);
      ::close(fd);
      metrics_->Add(kHttpBadRequests);
      continue;
    }
    const int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    const uint64_t id = next_id_++;
    conns_[id] = std::make_unique<ClientConn>(this, id, fd, IsLoopback(peer));
  }
}

void Loop::Settle(uint64_t id) {
  auto it = conns_.find(id);
  if (it == conns_.end() || !it->second->finished()) return;
  conns_.erase(it);
  clients_->fetch_sub(1);
}

void Loop::Drain() {
  uint64_t v;
  while (::read(evfd_, &v, sizeof v) > 0) {
  }
  std::vector<Completion> items;
  {
    std::lock_guard lk(mu_);
    items.swap(inbox_);
  }
  for (Completion& c : items) {
    auto it = conns_.find(c.conn);
    if (it == conns_.end()) continue;
    if (c.durable) {
      it->second->OnDurable(c.status);
    } else {
      it->second->OnLookup(c.read);
    }
    Settle(c.conn);
  }
}

bool Loop::LeadFill(const std::string& key, uint64_t id) {
  return fills_.try_emplace(key, Fill{id, {}}).second;
}

bool Loop::JoinFill(const std::string& key, uint64_t id) {
  auto it = fills_.find(key);
  if (it == fills_.end() || it->second.leader == id || it->second.waiters.size() >= kMaxWaiters) {
    return false;
  }
  it->second.waiters.push_back(id);
  return true;
}

void Loop::EndFill(const std::string& key, uint64_t id, bool pass) {
  auto it = fills_.find(key);
  if (it == fills_.end() || it->second.leader != id) return;
  for (const uint64_t w : it->second.waiters) wakes_.push_back(Wake{w, key, pass});
  fills_.erase(it);
}

void Loop::WakeWaiters() {
  while (!wakes_.empty()) {
    std::vector<Wake> wakes;
    wakes.swap(wakes_);
    for (const Wake& w : wakes) {
      auto it = conns_.find(w.conn);
      if (it == conns_.end()) continue;
      it->second->OnFillDone(w.key, w.pass);
      Settle(w.conn);
    }
  }
}

void Loop::Refresh(RefreshJob job) {
  if (draining_ || fills_.count(job.store_key) != 0 || refreshes_.size() >= kMaxRefreshes) return;
  for (const RefreshJob& r : refreshes_) {
    if (r.store_key == job.store_key) return;
  }
  refreshes_.push_back(std::move(job));
}

void Loop::StartRefreshes() {
  std::vector<RefreshJob> todo;
  todo.swap(refreshes_);
  for (RefreshJob& r : todo) {
    if (fills_.count(r.store_key) != 0) continue;  // fetched meanwhile
    if (clients_->fetch_add(1) >= opts_->max_clients) {
      clients_->fetch_sub(1);
      continue;
    }
    const uint64_t id = next_id_++;
    ClientConn* c = (conns_[id] = std::make_unique<ClientConn>(this, id, -1, true)).get();
    c->StartRefresh(std::move(r));
    Settle(id);
  }
}

void Loop::Tick() {
  const auto now = Clock::now();
  if (now < next_tick_) return;
  next_tick_ = now + std::chrono::seconds(1);
  std::vector<uint64_t> ids;
  ids.reserve(conns_.size());
  for (auto& [id, c] : conns_) ids.push_back(id);
  for (uint64_t id : ids) {
    auto it = conns_.find(id);
    if (it == conns_.end()) continue;
    it->second->OnTick(now);
    Settle(id);
  }
}

void Loop::Run() {
  constexpr int kMaxEvents = 128;
  epoll_event events[kMaxEvents];
  while (!stop_.load()) {
    if (!draining_ && drain_requested_.load(std::memory_order_acquire)) BeginDrain();
    if (draining_ && (conns_.empty() || Clock::now() >= drain_deadline_)) break;
    const bool pending = !wakes_.empty() || !refreshes_.empty();
    const int n = ::epoll_wait(epfd_, events, kMaxEvents, pending ? 0 : draining_ ? 100 : 1000);
    if (n < 0 && errno != EINTR) {
      spdlog::error("http loop {}: epoll_wait: {}", index_, std::strerror(errno));
      break;
    }
    for (int i = 0; i < n; i++) {
      const uint64_t tag = events[i].data.u64;
      if (tag == kListenerTag) {
        AcceptAll();
        continue;
      }
      if (tag == kWakeTag) {
        Drain();
        continue;
      }
      const uint64_t id = tag >> 1;
      auto it = conns_.find(id);
      if (it == conns_.end()) continue;
      if (tag & 1) {
        it->second->OnOriginEvent(events[i].events);
      } else {
        it->second->OnClientEvent(events[i].events);
      }
      Settle(id);
    }
    Tick();
    WakeWaiters();
    StartRefreshes();
  }
  if (!conns_.empty() && draining_) {
    spdlog::warn("http loop {}: {} connection(s) still busy at the end of the drain: cut", index_,
                 conns_.size());
  }
  clients_->fetch_sub(static_cast<uint32_t>(conns_.size()));
  conns_.clear();
  done_.store(true);
}

// -------------------------------------------------------------- HttpProxy

HttpProxy::HttpProxy(ProxyOptions opts, server::Store* store)
    : opts_(std::move(opts)), store_(store) {}

HttpProxy::~HttpProxy() {
  Stop();
  Join();
  loops_.clear();
  if (listen_fd_ >= 0) ::close(listen_fd_);
}

bool HttpProxy::Open(std::string* err) {
  const auto resolve = [&](const std::string& host, uint16_t port, const std::string& option) {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* res = nullptr;
    const int rc = ::getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &res);
    if (rc != 0 || res == nullptr) {
      *err = option + ": cannot resolve '" + host + "': " + ::gai_strerror(rc);
      return false;
    }
    OriginAddr o;
    o.name = host + ":" + std::to_string(port);
    std::memcpy(&o.addr, res->ai_addr, res->ai_addrlen);
    o.len = static_cast<socklen_t>(res->ai_addrlen);
    ::freeaddrinfo(res);
    origins_.push_back(std::move(o));
    return true;
  };
  if (!resolve(opts_.origin_host, opts_.origin_port, "--http-origin")) return false;
  for (const ProxyOptions::HostRoute& r : opts_.host_routes) {
    if (!resolve(r.origin_host, r.origin_port, "--http-host-origin " + r.host)) return false;
  }

  listen_fd_ = server::ListenTcp(opts_.listen, opts_.port, &port_, err);
  if (listen_fd_ < 0) {
    *err = "--http-port: " + *err;
    return false;
  }
  for (uint32_t i = 0; i < opts_.threads; i++) {
    loops_.push_back(std::make_unique<Loop>(static_cast<int>(i), &opts_, store_, &metrics_,
                                            &origins_, &clients_));
    if (!loops_.back()->Init(listen_fd_, err)) return false;
  }
  return true;
}

void HttpProxy::Start() {
  for (auto& l : loops_) l->Start();
  spdlog::info("http proxy on {}:{} ({} thread(s)), origin {}, {} per-host origin(s)", opts_.listen,
               port_, opts_.threads, origins_[0].name, opts_.host_routes.size());
}

void HttpProxy::RequestDrain(std::chrono::seconds grace) {
  const auto deadline = Loop::Clock::now() + grace;
  for (auto& l : loops_) l->RequestDrain(deadline);
}

bool HttpProxy::drained() const {
  for (const auto& l : loops_) {
    if (!l->done()) return false;
  }
  return true;
}

void HttpProxy::Stop() {
  for (auto& l : loops_) l->Stop();
}

void HttpProxy::Join() {
  for (auto& l : loops_) l->Join();
}

}  // namespace coss::httpd
