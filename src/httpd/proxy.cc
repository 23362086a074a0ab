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
  o.threads = c.http_threads;
  o.purge = c.http_purge;
  o.origin_timeout_s = c.http_origin_timeout_s;
  o.max_object = c.http_max_object;
  o.max_item = c.max_item_size;
  o.max_clients = c.max_connections;
  o.ack_durable = c.ack_durable;
  return o;
}

// ------------------------------------------------------------------- Loop

Loop::Loop(int index, const ProxyOptions* opts, server::Store* store, HttpMetrics* metrics,
           const sockaddr_storage& origin, socklen_t origin_len, std::atomic<uint32_t>* clients)
    : index_(index),
      opts_(opts),
      store_(store),
      metrics_(metrics),
      origin_(origin),
      origin_len_(origin_len),
      clients_(clients) {}

Loop::~Loop() {
  conns_.clear();
  for (int fd : idle_origins_) ::close(fd);
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

int Loop::OriginSocket(bool* reused) {
  while (!idle_origins_.empty()) {
    const int fd = idle_origins_.back();
    idle_origins_.pop_back();
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
  const int fd = ::socket(origin_.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  const int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&origin_), origin_len_) != 0 &&
      errno != EINPROGRESS) {
    ::close(fd);
    return -1;
  }
  return fd;
}

void Loop::ReleaseOrigin(int fd) {
  if (idle_origins_.size() >= opts_->max_idle_origin) {
    ::close(fd);
    return;
  }
  idle_origins_.push_back(fd);
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
  if (fills_.count(job.store_key) != 0 || refreshes_.size() >= kMaxRefreshes) return;
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
    const bool pending = !wakes_.empty() || !refreshes_.empty();
    const int n = ::epoll_wait(epfd_, events, kMaxEvents, pending ? 0 : 1000);
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
  clients_->fetch_sub(static_cast<uint32_t>(conns_.size()));
  conns_.clear();
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
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  const std::string port = std::to_string(opts_.origin_port);
  const int rc = ::getaddrinfo(opts_.origin_host.c_str(), port.c_str(), &hints, &res);
  if (rc != 0 || res == nullptr) {
    *err = "--http-origin: cannot resolve '" + opts_.origin_host + "': " + ::gai_strerror(rc);
    return false;
  }
  sockaddr_storage origin{};
  std::memcpy(&origin, res->ai_addr, res->ai_addrlen);
  const auto origin_len = static_cast<socklen_t>(res->ai_addrlen);
  ::freeaddrinfo(res);

  listen_fd_ = server::ListenTcp(opts_.listen, opts_.port, &port_, err);
  if (listen_fd_ < 0) {
    *err = "--http-port: " + *err;
    return false;
  }
  for (uint32_t i = 0; i < opts_.threads; i++) {
    loops_.push_back(std::make_unique<Loop>(static_cast<int>(i), &opts_, store_, &metrics_, origin,
                                            origin_len, &clients_));
    if (!loops_.back()->Init(listen_fd_, err)) return false;
  }
  return true;
}

void HttpProxy::Start() {
  for (auto& l : loops_) l->Start();
  spdlog::info("http proxy on {}:{} ({} thread(s)), origin {}:{}", opts_.listen, port_,
               opts_.threads, opts_.origin_host, opts_.origin_port);
}

void HttpProxy::Stop() {
  for (auto& l : loops_) l->Stop();
}

void HttpProxy::Join() {
  for (auto& l : loops_) l->Join();
}

}  // namespace coss::httpd
