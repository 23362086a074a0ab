#include "server/worker.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <spdlog/spdlog.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>

namespace coss::server {

namespace {
constexpr uint64_t kListenerId = 1;
constexpr uint64_t kWakeId = 2;
constexpr uint64_t kRingId = 3;
// Reads one worker's ring holds at once before it submits early; more stay
// queued in the kernel's overflow list, never lost (thread_ring.h).
constexpr uint32_t kRingEntries = 256;
thread_local Worker* t_worker = nullptr;
}  // namespace

Worker::Worker(int index, ServerContext* ctx) : index_(index), ctx_(ctx) {}

Worker::~Worker() {
  Join();
  conns_.clear();
  if (epfd_ >= 0) ::close(epfd_);
  if (evfd_ >= 0) ::close(evfd_);
}

bool Worker::Init(std::string* err) {
  epfd_ = ::epoll_create1(EPOLL_CLOEXEC);
  evfd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (epfd_ < 0 || evfd_ < 0) {
    *err = std::string("epoll/eventfd: ") + std::strerror(errno);
    return false;
  }
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = kWakeId;
  if (::epoll_ctl(epfd_, EPOLL_CTL_ADD, evfd_, &ev) != 0) {
    *err = std::string("epoll_ctl: ") + std::strerror(errno);
    return false;
  }
  if (auto r = ThreadRing::Make(kRingEntries); r.ok()) {
    ev.data.u64 = kRingId;
    if (::epoll_ctl(epfd_, EPOLL_CTL_ADD, (*r)->fd(), &ev) == 0) ring_ = std::move(*r);
  } else {
    // Device reads then complete on the device's own threads and come back
    // through the queue: slower, same results.
    spdlog::debug("worker {}: no io_uring of its own ({})", index_, r.status().ToString());
  }
  return true;
}

void Worker::Start(int listen_fd) {
  listen_fd_ = listen_fd;
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLEXCLUSIVE;
  ev.data.u64 = kListenerId;
  ::epoll_ctl(epfd_, EPOLL_CTL_ADD, listen_fd_, &ev);
  thread_ = std::thread([this] { Run(); });
}

void Worker::Wake() {
  const uint64_t one = 1;
  (void)!::write(evfd_, &one, sizeof one);
}

void Worker::RequestDrain() {
  drain_requested_.store(true);
  Wake();
}

void Worker::RequestStop() {
  stop_requested_.store(true);
  Wake();
}

void Worker::Join() {
  if (thread_.joinable()) thread_.join();
}

void Worker::DeliverRead(uint64_t conn, uint64_t seq, uint32_t key_index, ReadResult r) {
  if (t_worker == this) {  // completed on this worker's thread (inline)
    auto it = conns_.find(conn);
    if (it != conns_.end()) {
      it->second.conn->OnRead(seq, key_index, std::move(r));
      if (conn != current_) touched_.push_back(conn);  // not the one being run: pump it next
    }
    return;
  }
  Post(Completion{conn, seq, key_index, false, std::move(r)});
}

void Worker::DeliverDurable(uint64_t conn, uint64_t seq, const Status& st) {
  if (t_worker == this) {  // already durable: inline, on this worker's thread
    auto it = conns_.find(conn);
    if (it != conns_.end()) {
      it->second.conn->OnDurable(seq, st);
      if (conn != current_) touched_.push_back(conn);
    }
    return;
  }
  ReadResult outcome;  // a durability notice carries its Status here
  outcome.code = st.code();
  outcome.error = st.message();
  Post(Completion{conn, seq, 0, true, std::move(outcome)});
}

void Worker::SettleOwedJournal() {
  if (owed_.empty()) return;
  std::vector<Owed> owed;
  owed.swap(owed_);
  // The newest ticket of each shard: one write covers the shard's older ones.
  std::vector<std::pair<WriteTicket, bool>> newest;  // (ticket, written here)
  for (const Owed& o : owed) {
    auto it = std::find_if(newest.begin(), newest.end(),
                           [&](const auto& n) { return n.first.shard == o.ticket.shard; });
    if (it == newest.end()) {
      newest.push_back({o.ticket, false});
    } else {
      it->first.lsn = std::max(it->first.lsn, o.ticket.lsn);
    }
  }
  for (auto& [t, written] : newest) written = ctx_->store->WriteJournalHere(t);
  for (const Owed& o : owed) {
    const bool written = std::find_if(newest.begin(), newest.end(), [&](const auto& n) {
                           return n.first.shard == o.ticket.shard;
                         })->second;
    if (written) {
      DeliverDurable(o.conn, o.seq, Status::Ok());  // inline: this is the worker's thread
      continue;
    }
    ctx_->store->WhenPersisted(
        o.ticket, Persistence::kWritten,
        [this, conn = o.conn, seq = o.seq](const Status& st) { DeliverDurable(conn, seq, st); });
  }
}

void Worker::Post(Completion c) {
  bool was_empty;
  {
    std::lock_guard lk(mu_);
    was_empty = InboxEmptyLocked();
    queue_.push_back(std::move(c));
  }
  if (was_empty) Wake();  // else a wakeup is already pending for the inbox
}

// Takes a slot under the -c limit, or refuses. A compare-and-swap, so the count
// never goes past the limit, not even for a moment: with several workers
// accepting at once, a check followed by an increment would let each pass the
// limit together, and an increment taken back on refusal would show 33 open
// under -c 32 to a `stats` read in between.
bool Worker::TakeConnectionSlot() {
  auto& curr = ctx_->conns.curr;
  const uint64_t limit = ctx_->config->max_connections;
  auto n = curr.load();
  do {
    if (n >= limit) return false;
  } while (!curr.compare_exchange_weak(n, n + 1));
  return true;
}

void Worker::Adopt(int fd) {
  bool was_empty;
  {
    std::lock_guard lk(mu_);
    if (exited_) {  // this worker's loop has ended: nobody would take it
      RefuseAdopted(fd);
      return;
    }
    was_empty = InboxEmptyLocked();
    adopted_.push_back(fd);
  }
  if (was_empty) Wake();
}

// A socket that holds a connection slot but will not be served (the server is
// stopping): closed, its slot given back.
void Worker::RefuseAdopted(int fd) {
  ::close(fd);
  ctx_->conns.curr.fetch_sub(1);
}

void Worker::Open(int fd) {
  if (draining_) {
    RefuseAdopted(fd);
    return;
  }
  const int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  const uint64_t id = next_id_++;
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLRDHUP;
  ev.data.u64 = id;
  if (::epoll_ctl(epfd_, EPOLL_CTL_ADD, fd, &ev) != 0) {
    RefuseAdopted(fd);
    return;
  }
  Entry e;
  e.conn = std::make_unique<Connection>(this, ctx_, &metrics_, id, fd);
  e.events = EPOLLIN;
  conns_.emplace(id, std::move(e));
  metrics_.Move(kConnections, 1);
  ctx_->conns.total.fetch_add(1);
  spdlog::trace("worker {}: connection {} opened", index_, id);
}

void Worker::AcceptAll() {
  for (;;) {
    const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      if (errno == EMFILE || errno == ENFILE) {
        static std::atomic<int64_t> last{0};
        const int64_t now = NowSeconds();
        if (last.exchange(now) != now) spdlog::warn("accept: {}", std::strerror(errno));
      }
      return;
    }
    if (!TakeConnectionSlot()) {
      static constexpr char kMsg[] = "ERROR Too many open connections\r\n";
      (void)!::send(fd, kMsg, sizeof kMsg - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
      ::close(fd);
      ctx_->conns.rejected.fetch_add(1);
      continue;
    }
    const auto& all = ctx_->workers;
    Worker* to = all.empty() ? this : all[ctx_->next_worker.fetch_add(1) % all.size()];
    if (to == this) {
      Open(fd);
    } else {
      to->Adopt(fd);
    }
  }
}

void Worker::Close(uint64_t id) {
  auto it = conns_.find(id);
  if (it == conns_.end()) return;
  ::epoll_ctl(epfd_, EPOLL_CTL_DEL, it->second.conn->fd(), nullptr);
  // Counted out before the socket closes: a client that sees the close and
  // asks for stats finds the connection gone, and nothing of it in the gauges
  // (they go first: a reader that sees curr_connections drop sees them clear).
  it->second.conn->ClearGauges();
  metrics_.Move(kConnections, -1);
  ctx_->conns.curr.fetch_sub(1);
  conns_.erase(it);
  spdlog::trace("worker {}: connection {} closed", index_, id);
}

void Worker::Update(uint64_t id) {
  auto it = conns_.find(id);
  if (it == conns_.end()) return;
  Connection& c = *it->second.conn;
  if (c.ShouldClose()) {
    Close(id);
    return;
  }
  c.ReportGauges();
  const uint32_t want = c.WantedEvents();
  if (want != it->second.events) {
    epoll_event ev{};
    ev.events = want | EPOLLRDHUP;
    ev.data.u64 = id;
    ::epoll_ctl(epfd_, EPOLL_CTL_MOD, c.fd(), &ev);
    it->second.events = want;
  }
}

void Worker::StartDrain() {
  draining_ = true;
  if (listen_fd_ >= 0) ::epoll_ctl(epfd_, EPOLL_CTL_DEL, listen_fd_, nullptr);
  std::vector<uint64_t> ids;
  for (auto& [id, e] : conns_) ids.push_back(id);
  for (uint64_t id : ids) {
    Connection& c = *conns_[id].conn;
    c.BeginDrain();
    c.OnReadable();
    Update(id);
  }
}

void Worker::HandleWake() {
  uint64_t v;
  while (::read(evfd_, &v, sizeof v) > 0) {
  }
  std::vector<Completion> batch;
  std::vector<int> adopted;
  {
    std::lock_guard lk(mu_);
    batch.swap(queue_);
    adopted.swap(adopted_);
  }
  for (int fd : adopted) Open(fd);
  for (auto& c : batch) {
    auto it = conns_.find(c.conn);
    if (it == conns_.end()) continue;  // the client went away meanwhile
    if (c.durable) {
      it->second.conn->OnDurable(c.seq, c.result.code == Code::kOk
                                            ? Status::Ok()
                                            : Error(c.result.code, std::move(c.result.error)));
    } else {
      it->second.conn->OnRead(c.seq, c.key_index, std::move(c.result));
    }
    touched_.push_back(c.conn);
  }
  if (drain_requested_.load() && !draining_) StartDrain();
}

// --idle-timeout: at most once a second, closes the connections that moved no
// byte for `timeout` seconds while none of their requests ran (memcached's
// idle_timeout, which also catches readers that stopped reading replies).
void Worker::CloseIdle(uint32_t timeout) {
  const auto now = std::chrono::steady_clock::now();
  if (now < next_idle_sweep_) return;
  next_idle_sweep_ = now + std::chrono::seconds(1);
  const auto since = now - std::chrono::seconds(timeout);
  std::vector<uint64_t> idle;
  for (auto& [id, e] : conns_) {
    if (e.conn->IdleSince(since)) idle.push_back(id);
  }
  for (uint64_t id : idle) {
    spdlog::debug("worker {}: connection {} idle for {} s; closing it", index_, id, timeout);
    Close(id);
    ctx_->conns.idle_kicks.fetch_add(1);
  }
}

void Worker::Run() {
  constexpr int kPumpRounds = 16;
  t_worker = this;
  if (ring_) ring_->Install();
  const uint32_t idle_timeout = ctx_->config->idle_timeout_s;
  constexpr int kMaxEvents = 256;
  epoll_event events[kMaxEvents];
  std::chrono::steady_clock::time_point deadline{};
  bool deadline_set = false;
  for (;;) {
    // Connections touched from inside another's processing are pumped at once.
    const int timeout = !touched_.empty() ? 0 : draining_ ? 100 : idle_timeout ? 1000 : -1;
    if (ring_) ring_->Submit();  // the reads this turn started: one syscall
    const int n = ::epoll_wait(epfd_, events, kMaxEvents, timeout);
    if (n < 0 && errno != EINTR) {
      spdlog::error("worker {}: epoll_wait: {}", index_, std::strerror(errno));
      break;
    }
    for (int i = 0; i < n; i++) {
      const uint64_t id = events[i].data.u64;
      if (id == kListenerId) {
        if (!draining_) AcceptAll();
        continue;
      }
      if (id == kWakeId) {
        HandleWake();
        continue;
      }
      if (id == kRingId) {
        ring_->Reap();  // completions deliver inline (DeliverRead on this thread)
        continue;
      }
      auto it = conns_.find(id);
      if (it == conns_.end()) continue;
      Connection& c = *it->second.conn;
      const uint32_t ev = events[i].events;
      current_ = id;
      if (ev & (EPOLLERR | EPOLLHUP)) {
        c.OnHangup();
      } else {
        if (ev & (EPOLLIN | EPOLLRDHUP)) c.OnReadable();
        if (ev & EPOLLOUT) c.OnWritable();
      }
      current_ = 0;
      touched_.push_back(id);
    }
    // The writes this turn ran are written before their replies go out.
    SettleOwedJournal();
    // A pump can hand work to another connection of this worker (a read
    // completed inline, a key's turn passed on: key_turns.h); it is pumped in
    // the same turn, a few rounds at most, before the worker looks for events.
    std::vector<uint64_t> ids;
    for (int round = 0; round < kPumpRounds && !touched_.empty(); round++) {
      ids.clear();
      ids.swap(touched_);
      for (uint64_t id : ids) {
        auto it = conns_.find(id);
        if (it == conns_.end()) continue;
        current_ = id;
        it->second.conn->Pump();
        current_ = 0;
        Update(id);
      }
    }
    SettleOwedJournal();  // writes the pumps ran: their replies go out next turn, without a wait
    // (Not after a full batch of events: connections whose events are still
    // queued in the kernel would look idle.)
    if (idle_timeout && !draining_ && n < kMaxEvents) CloseIdle(idle_timeout);
    if (stop_requested_.load()) break;
    if (draining_) {
      if (!deadline_set) {
        deadline = std::chrono::steady_clock::now() +
                   std::chrono::seconds(ctx_->config->shutdown_timeout_s);
        deadline_set = true;
      }
      if (conns_.empty()) break;
      if (std::chrono::steady_clock::now() >= deadline) {
        spdlog::warn("worker {}: {} connection(s) still busy after {} s; closing them", index_,
                     conns_.size(), ctx_->config->shutdown_timeout_s);
        break;
      }
    }
  }
  std::vector<uint64_t> ids;
  for (auto& [id, e] : conns_) ids.push_back(id);
  for (uint64_t id : ids) Close(id);
  // Reads still in flight hold stripe pins the engine waits for: finish them
  // (their connections are gone; DeliverRead drops the results).
  if (ring_) ring_->Uninstall();
  {
    std::lock_guard lk(mu_);
    exited_ = true;
    for (int fd : adopted_) RefuseAdopted(fd);
    adopted_.clear();
  }
  finished_.store(true);
  t_worker = nullptr;
}

}  // namespace coss::server
