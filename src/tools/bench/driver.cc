#include "tools/bench/driver.h"

#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "tools/bench/protocol.h"
#include "tools/bench/rng.h"

namespace coss::tools::bench {

void Counters::Add(const Counters& o) {
  requests += o.requests;
  ops += o.ops;
  gets += o.gets;
  hits += o.hits;
  misses += o.misses;
  bytes_wanted += o.bytes_wanted;
  bytes_hit += o.bytes_hit;
  sets += o.sets;
  stored += o.stored;
  not_stored += o.not_stored;
  bytes_stored += o.bytes_stored;
  deletes += o.deletes;
  deleted += o.deleted;
  not_found += o.not_found;
  fills += o.fills;
  unfillable += o.unfillable;
  err_error += o.err_error;
  err_client += o.err_client;
  err_server += o.err_server;
  err_protocol += o.err_protocol;
  wrong_size += o.wrong_size;
  timeouts += o.timeouts;
  lost += o.lost;
  conn_errors += o.conn_errors;
  tx_bytes += o.tx_bytes;
  rx_bytes += o.rx_bytes;
}

namespace {

uint64_t NowNs() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                   std::chrono::steady_clock::now().time_since_epoch())
                                   .count());
}

// Shared by the workers of one phase.
struct Control {
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> drawn{0};
  std::atomic<bool> exhausted{false};
  uint64_t start_ns = 0;
  uint64_t deadline_ns = 0;  // 0: none
  std::mutex err_mu;
  std::string first_error;
  void Error(const std::string& e) {
    std::lock_guard lock(err_mu);
    if (first_error.empty()) first_error = e;
  }
};

struct InFlight {
  Op op;
  bool fill_on_miss;
  bool is_fill;
  uint32_t size;  // set: value size; get: expected size (0 unknown)
  uint32_t key_len;
  uint64_t start_ns;
  std::string key;  // kept only for look-aside gets
};

struct Conn {
  int fd = -1;
  bool dead = false;
  bool dirty = false;
  bool in_ready = false;
  bool want_write = false;
  std::string out;
  size_t out_off = 0;
  std::vector<char> in;
  size_t in_off = 0, in_end = 0;
  std::deque<InFlight> q;
  ReplyParser parser;
};

class Worker {
 public:
  Worker(const DriverOptions& o, RequestSource& src, Control& ctl, int index, int conns)
      : o_(o), src_(src), ctl_(ctl), rng_(o.seed * 0x9e3779b97f4a7c15ull + index + 1) {
    conns_.resize(conns);
    if (o.rate > 0) {
      const int t = std::max(1, o.threads);
      interval_ns_ = 1e9 / (o.rate / t);
    }
  }
  ~Worker() {
    for (auto& c : conns_) {
      if (c.fd >= 0) ::close(c.fd);
    }
    if (ep_ >= 0) ::close(ep_);
  }

  bool Connect(std::string* err) {
    ep_ = epoll_create1(EPOLL_CLOEXEC);
    if (ep_ < 0) {
      *err = std::string("epoll_create1: ") + std::strerror(errno);
      return false;
    }
    for (auto& c : conns_) {
      c.fd = ConnectTcp(o_.server, o_.connect_timeout_ms, err);
      if (c.fd < 0) return false;
      int fl = fcntl(c.fd, F_GETFL);
      fcntl(c.fd, F_SETFL, fl | O_NONBLOCK);
      c.in.resize(256 << 10);
      epoll_event ev{};
      ev.events = EPOLLIN;
      ev.data.ptr = &c;
      if (epoll_ctl(ep_, EPOLL_CTL_ADD, c.fd, &ev) != 0) {
        *err = std::string("epoll_ctl: ") + std::strerror(errno);
        return false;
      }
      MakeReady(&c);
    }
    live_ = static_cast<int>(conns_.size());
    return true;
  }

  void Run() {
    const uint64_t drain_ns = static_cast<uint64_t>(o_.drain_timeout_s * 1e9);
    next_due_ = ctl_.start_ns;
    epoll_event evs[64];
    for (;;) {
      uint64_t now = NowNs();
      if (!stopping_ && (ctl_.stop.load(std::memory_order_relaxed) ||
                         (ctl_.deadline_ns && now >= ctl_.deadline_ns))) {
        stopping_ = true;
        drain_deadline_ = now + drain_ns;
      }
      if (!stopping_) Issue(now);
      FlushDirty();
      if (live_ == 0) break;
      if (stopping_) {
        if (inflight_ == 0) break;
        if (now >= drain_deadline_) {
          c_.timeouts += inflight_;
          ctl_.Error("no reply to " + std::to_string(inflight_) + " request(s) within " +
                     std::to_string(o_.drain_timeout_s) + " s after the end of the run");
          break;
        }
      }
      uint64_t wait = 100'000'000;  // re-check the stop flag at least every 100 ms
      if (stopping_) {
        wait = std::min(wait, drain_deadline_ - now);
      } else {
        if (ctl_.deadline_ns) wait = std::min(wait, ctl_.deadline_ns - now);
        if (interval_ns_ > 0 && !ready_.empty()) {
          const uint64_t due = static_cast<uint64_t>(next_due_);
          wait = std::min(wait, due > now ? due - now : 0);
        }
      }
      timespec ts{static_cast<time_t>(wait / 1'000'000'000),
                  static_cast<long>(wait % 1'000'000'000)};
      const int n = epoll_pwait2(ep_, evs, 64, &ts, nullptr);
      if (n < 0 && errno != EINTR) {
        ctl_.Error(std::string("epoll_pwait2: ") + std::strerror(errno));
        break;
      }
      for (int i = 0; i < n; i++) {
        Conn* c = static_cast<Conn*>(evs[i].data.ptr);
        if (c->dead) continue;
        if (evs[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP)) OnReadable(c);
        if (!c->dead && (evs[i].events & EPOLLOUT)) Flush(c);
      }
      PublishProgress();
    }
    PublishProgress();
  }

  const Counters& counters() const { return c_; }
  Histogram& all() { return all_; }
  Histogram& get() { return get_; }
  Histogram& set() { return set_; }
  uint64_t last_reply_ns() const { return last_reply_ns_; }

  // Progress, read by the main thread while the phase runs.
  std::atomic<uint64_t> p_ops{0}, p_gets{0}, p_hits{0}, p_errors{0};

 private:
  void PublishProgress() {
    p_ops.store(c_.ops, std::memory_order_relaxed);
    p_gets.store(c_.gets, std::memory_order_relaxed);
    p_hits.store(c_.hits, std::memory_order_relaxed);
    p_errors.store(c_.Errors(), std::memory_order_relaxed);
  }

  void MakeReady(Conn* c) {
    if (!c->in_ready && !c->dead && static_cast<int>(c->q.size()) < o_.depth) {
      c->in_ready = true;
      ready_.push_back(c);
    }
  }

  // Takes the next request from the source, within the request bound.
  bool Draw() {
    if (ctl_.exhausted.load(std::memory_order_relaxed)) return false;
    if (o_.max_requests > 0 &&
        ctl_.drawn.fetch_add(1, std::memory_order_relaxed) >= o_.max_requests) {
      ctl_.exhausted.store(true);
      return false;
    }
    if (!src_.Next(rng_, &req_)) {
      ctl_.exhausted.store(true);
      return false;
    }
    return true;
  }

  void Issue(uint64_t now) {
    if (interval_ns_ == 0) {
      while (!ready_.empty()) {
        Conn* c = ready_.front();
        ready_.pop_front();
        c->in_ready = false;
        if (c->dead) continue;
        while (static_cast<int>(c->q.size()) < o_.depth) {
          if (!Draw()) return StopAll();
          Enqueue(c, now, false);
        }
      }
      return;
    }
    while (static_cast<double>(now) >= next_due_ && !ready_.empty()) {
      Conn* c = ready_.front();
      if (c->dead || static_cast<int>(c->q.size()) >= o_.depth) {
        ready_.pop_front();
        c->in_ready = false;
        continue;
      }
      if (!Draw()) return StopAll();
      Enqueue(c, static_cast<uint64_t>(next_due_), false);
      next_due_ += NextInterval();
      if (static_cast<int>(c->q.size()) >= o_.depth) {
        ready_.pop_front();
        c->in_ready = false;
      } else {  // round robin over connections with room
        ready_.pop_front();
        ready_.push_back(c);
      }
    }
  }

  double NextInterval() {
    if (!o_.poisson) return interval_ns_;
    return -std::log1p(-rng_.NextDouble()) * interval_ns_;
  }

  void StopAll() {
    ctl_.stop.store(true);
    stopping_ = true;
    drain_deadline_ = NowNs() + static_cast<uint64_t>(o_.drain_timeout_s * 1e9);
  }

  // Queues req_ (or a fill) on c.
  void Enqueue(Conn* c, uint64_t start, bool is_fill) {
    Request& r = req_;
    if (r.op == Op::kSet && r.value_size > filler_.size()) GrowFiller(r.value_size);
    EncodeRequest(r.op, r.key, r.value_size, filler_, &c->out);
    InFlight f{
        r.op, r.fill_on_miss, is_fill, r.value_size, static_cast<uint32_t>(r.key.size()), start,
        {}};
    if (r.op == Op::kGet && r.fill_on_miss) f.key = std::move(r.key);
    c->q.push_back(std::move(f));
    inflight_++;
    if (!c->dirty) {
      c->dirty = true;
      dirty_.push_back(c);
    }
  }

  void GrowFiller(uint32_t need) {
    size_t n = std::max<size_t>(4096, filler_.size());
    while (n < need) n *= 2;
    filler_.resize(n);
    Rng r(12345);
    for (auto& ch : filler_) ch = static_cast<char>('a' + r.Below(26));
  }

  void FlushDirty() {
    for (Conn* c : dirty_) {
      c->dirty = false;
      if (!c->dead) Flush(c);
    }
    dirty_.clear();
  }

  void Flush(Conn* c) {
    while (c->out_off < c->out.size()) {
      const ssize_t n =
          send(c->fd, c->out.data() + c->out_off, c->out.size() - c->out_off, MSG_NOSIGNAL);
      if (n > 0) {
        c->out_off += static_cast<size_t>(n);
        c_.tx_bytes += static_cast<uint64_t>(n);
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        SetWantWrite(c, true);
        return;
      }
      return Dead(c, std::string("send: ") + std::strerror(errno));
    }
    c->out.clear();
    c->out_off = 0;
    if (c->out.capacity() > (8u << 20)) c->out.shrink_to_fit();
    SetWantWrite(c, false);
  }

  void SetWantWrite(Conn* c, bool on) {
    if (c->want_write == on) return;
    c->want_write = on;
    epoll_event ev{};
    ev.events = on ? (EPOLLIN | EPOLLOUT) : EPOLLIN;
    ev.data.ptr = c;
    epoll_ctl(ep_, EPOLL_CTL_MOD, c->fd, &ev);
  }

  void OnReadable(Conn* c) {
    for (;;) {
      if (c->in_off == c->in_end) c->in_off = c->in_end = 0;
      if (c->in.size() - c->in_end < 16384) {
        // Compact; the unparsed tail is at most a reply line.
        std::memmove(c->in.data(), c->in.data() + c->in_off, c->in_end - c->in_off);
        c->in_end -= c->in_off;
        c->in_off = 0;
        if (c->in.size() - c->in_end < 16384) c->in.resize(c->in.size() * 2);
      }
      const size_t room = c->in.size() - c->in_end;
      const ssize_t n = recv(c->fd, c->in.data() + c->in_end, room, 0);
      if (n > 0) {
        c->in_end += static_cast<size_t>(n);
        c_.rx_bytes += static_cast<uint64_t>(n);
        Parse(c, NowNs());
        if (c->dead || static_cast<size_t>(n) < room) return;
        continue;
      }
      if (n == 0) return Dead(c, "the server closed the connection");
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return;
      return Dead(c, std::string("recv: ") + std::strerror(errno));
    }
  }

  void Parse(Conn* c, uint64_t now) {
    while (c->in_off < c->in_end) {
      if (c->q.empty()) return Dead(c, "the server sent bytes nobody asked for");
      const std::string_view avail(c->in.data() + c->in_off, c->in_end - c->in_off);
      const ParseStep s = c->parser.Parse(c->q.front().op, avail);
      c->in_off += s.consumed;
      if (!s.done) return;
      Complete(c, s, now);
      if (c->dead) return;
    }
  }

  void Complete(Conn* c, const ParseStep& s, uint64_t now) {
    InFlight f = std::move(c->q.front());
    c->q.pop_front();
    inflight_--;
    last_reply_ns_ = now;
    const uint64_t lat = now > f.start_ns ? now - f.start_ns : 0;
    all_.Record(lat);
    c_.ops++;
    if (!f.is_fill) c_.requests++;
    bool fill = false;
    switch (f.op) {
      case Op::kGet:
        get_.Record(lat);
        c_.gets++;
        if (s.kind == ReplyKind::kHit) {
          c_.hits++;
          c_.bytes_hit += s.value_bytes;
          c_.bytes_wanted += f.size ? f.size : s.value_bytes;
          if (f.size && s.value_bytes != f.size) c_.wrong_size++;
        } else if (s.kind == ReplyKind::kMiss) {
          c_.misses++;
          c_.bytes_wanted += f.size;
          if (f.fill_on_miss) {
            if (f.size == 0) {
              c_.unfillable++;
            } else {
              fill = true;
            }
          }
        }
        break;
      case Op::kSet:
        set_.Record(lat);
        c_.sets++;
        if (f.is_fill) c_.fills++;
        if (s.kind == ReplyKind::kStored) {
          c_.stored++;
          c_.bytes_stored += f.size + f.key_len;
        } else if (s.kind == ReplyKind::kNotStored) {
          c_.not_stored++;
        }
        break;
      case Op::kDelete:
        c_.deletes++;
        if (s.kind == ReplyKind::kDeleted) c_.deleted++;
        if (s.kind == ReplyKind::kNotFound) c_.not_found++;
        break;
    }
    switch (s.kind) {
      case ReplyKind::kError:
        c_.err_error++;
        ctl_.Error("ERROR reply to a " + std::string(f.op == Op::kGet ? "get" : "set/delete"));
        break;
      case ReplyKind::kClientError:
        c_.err_client++;
        ctl_.Error(std::string(s.error_line));
        break;
      case ReplyKind::kServerError:
        c_.err_server++;
        ctl_.Error(std::string(s.error_line));
        break;
      case ReplyKind::kProtocol:
        c_.err_protocol++;
        Dead(c, "unexpected reply: '" + std::string(s.error_line.substr(0, 80)) + "'");
        return;
      default:
        break;
    }
    if (fill && !stopping_) {
      req_.op = Op::kSet;
      req_.key = std::move(f.key);
      req_.value_size = f.size;
      req_.fill_on_miss = false;
      Enqueue(c, now, true);
    }
    MakeReady(c);
  }

  void Dead(Conn* c, const std::string& why) {
    if (c->dead) return;
    c->dead = true;
    c_.conn_errors++;
    ctl_.Error(why);
    epoll_ctl(ep_, EPOLL_CTL_DEL, c->fd, nullptr);
    ::close(c->fd);
    c->fd = -1;
    c_.lost += c->q.size();
    inflight_ -= static_cast<int64_t>(c->q.size());
    c->q.clear();
    live_--;
  }

  const DriverOptions& o_;
  RequestSource& src_;
  Control& ctl_;
  Rng rng_;
  int ep_ = -1;
  std::vector<Conn> conns_;
  std::deque<Conn*> ready_;
  std::vector<Conn*> dirty_;
  int live_ = 0;
  int64_t inflight_ = 0;
  bool stopping_ = false;
  uint64_t drain_deadline_ = 0;
  double interval_ns_ = 0;
  double next_due_ = 0;
  uint64_t last_reply_ns_ = 0;
  Request req_;
  std::string filler_;
  Counters c_;
  Histogram all_, get_, set_;
};

void ProgressLoop(std::vector<std::unique_ptr<Worker>>& workers, const DriverOptions& o,
                  RequestSource& src, Control& ctl, std::atomic<bool>& done) {
  const bool tty = isatty(STDERR_FILENO);
  uint64_t last_ops = 0;
  uint64_t last_ns = ctl.start_ns;
  int ticks = 0;
  bool printed = false;
  while (!done.load()) {
    for (int i = 0; i < 10 && !done.load(); i++) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    if (done.load()) break;
    ticks++;
    uint64_t ops = 0, gets = 0, hits = 0, errors = 0;
    for (auto& w : workers) {
      ops += w->p_ops.load(std::memory_order_relaxed);
      gets += w->p_gets.load(std::memory_order_relaxed);
      hits += w->p_hits.load(std::memory_order_relaxed);
      errors += w->p_errors.load(std::memory_order_relaxed);
    }
    const uint64_t now = NowNs();
    const double el = (now - ctl.start_ns) / 1e9;
    const double rate = (ops - last_ops) / ((now - last_ns) / 1e9);
    last_ops = ops;
    last_ns = now;
    if (!tty && ticks % 10 != 0) continue;  // a line every 10 s into a log
    char where[64] = "";
    if (o.duration_s > 0) {
      std::snprintf(where, sizeof where, "%.0f/%.0f s", el, o.duration_s);
    } else {
      std::snprintf(where, sizeof where, "%.0f s", el);
    }
    char pct[32] = "";
    if (src.Total() > 0) {
      std::snprintf(pct, sizeof pct, " %5.1f %% of input,", 100.0 * src.Consumed() / src.Total());
    }
    std::fprintf(stderr, "%s%s [%s]%s %llu ops, %.0f ops/s, hit ratio %.3f, errors %llu%s",
                 tty ? "\r\033[K" : "", o.progress_label.c_str(), where, pct,
                 static_cast<unsigned long long>(ops), rate,
                 gets ? static_cast<double>(hits) / gets : 0.0,
                 static_cast<unsigned long long>(errors), tty ? "" : "\n");
    std::fflush(stderr);
    printed = true;
  }
  if (printed && tty) std::fprintf(stderr, "\r\033[K");
}

}  // namespace

bool RunPhase(const DriverOptions& o, RequestSource& source,
              const std::function<void()>& on_connected, PhaseResult* out, std::string* err) {
  const int threads = std::max(1, std::min(o.threads, o.connections));
  DriverOptions opt = o;
  opt.threads = threads;
  Control ctl;
  std::vector<std::unique_ptr<Worker>> workers;
  for (int t = 0; t < threads; t++) {
    const int n = o.connections / threads + (t < o.connections % threads ? 1 : 0);
    workers.push_back(std::make_unique<Worker>(opt, source, ctl, t, n));
    if (!workers.back()->Connect(err)) return false;
  }
  if (on_connected) on_connected();
  ctl.start_ns = NowNs();
  if (o.duration_s > 0) ctl.deadline_ns = ctl.start_ns + static_cast<uint64_t>(o.duration_s * 1e9);
  std::vector<std::thread> ts;
  for (auto& w : workers) ts.emplace_back([&w] { w->Run(); });
  std::atomic<bool> done{false};
  std::thread progress;
  if (!o.progress_label.empty()) {
    progress = std::thread([&] { ProgressLoop(workers, opt, source, ctl, done); });
  }
  for (auto& t : ts) t.join();
  done.store(true);
  if (progress.joinable()) progress.join();

  *out = PhaseResult{};
  out->target_rate = o.rate;
  uint64_t last = ctl.start_ns;
  for (auto& w : workers) {
    out->c.Add(w->counters());
    out->all.Merge(w->all());
    out->get.Merge(w->get());
    out->set.Merge(w->set());
    last = std::max(last, w->last_reply_ns());
  }
  out->seconds = (last - ctl.start_ns) / 1e9;
  out->source_exhausted = ctl.exhausted.load();
  out->first_error = ctl.first_error;
  return true;
}

}  // namespace coss::tools::bench
