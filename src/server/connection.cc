// Connection I/O: socket reads into a bounded buffer, parsing, queueing ops in
// order, moving finished replies to the socket queue, socket writes.
// Command semantics live in commands.cc and meta_exec.cc.
#include "server/connection.h"

#include <poll.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "server/worker.h"

namespace coss::server {

namespace {
constexpr size_t kInitialBuffer = size_t{16} * 1024;
constexpr size_t kShrinkAbove = size_t{64} * 1024;

proto::ParserLimits LimitsFrom(const ServerConfig& c) {
  proto::ParserLimits l;
  l.max_line = c.max_line;
  l.max_get_line = c.max_get_line;
  l.max_value = c.max_item_size;
  return l;
}

void Rebase(std::string_view& v, const char* base, size_t len, const char* nbase) {
  if (v.data() >= base && v.data() + v.size() <= base + len && v.data() != nullptr) {
    v = std::string_view(nbase + (v.data() - base), v.size());
  }
}
}  // namespace

Connection::Connection(Worker* worker, ServerContext* ctx, WorkerMetrics* metrics, uint64_t id,
                       int fd)
    : worker_(worker),
      ctx_(ctx),
      m_(metrics),
      cfg_(*ctx->config),
      id_(id),
      fd_(fd),
      rbuf_(new char[kInitialBuffer]),
      rcap_(kInitialBuffer),
      parser_(LimitsFrom(*ctx->config)) {}

Connection::~Connection() {
  SetGauges(Pause::kNone, 0, 0);
  ops_.clear();
  if (fd_ >= 0) ::close(fd_);
}

void Connection::OnReadable() {
  ReadSocket();
  Pump();
}

void Connection::OnWritable() {
  Pump();
}

void Connection::OnHangup() {
  ReadSocket();  // collects the error or the EOF
  Pump();
}

void Connection::BeginDrain() {
  draining_ = true;
}

void Connection::ReadSocket() {
  if (peer_closed_ || broken_ || close_after_flush_) return;
  const size_t bound = parser_.limits().BufferBound();
  if (rbeg_ == rend_) {
    rbeg_ = rend_ = 0;
    if (rcap_ > kShrinkAbove) {
      rbuf_.reset(new char[kInitialBuffer]);
      rcap_ = kInitialBuffer;
    }
  }
  if (rend_ == rcap_ && rbeg_ > 0) {
    std::memmove(rbuf_.get(), rbuf_.get() + rbeg_, rend_ - rbeg_);
    rend_ -= rbeg_;
    rbeg_ = 0;
  }
  if (rend_ == rcap_) {
    if (rcap_ >= bound) return;  // full: the parser is blocked (pipeline limits), wait
    const size_t ncap = std::min(bound, rcap_ * 2);
    std::unique_ptr<char[]> n(new char[ncap]);
    std::memcpy(n.get(), rbuf_.get() + rbeg_, rend_ - rbeg_);
    rend_ -= rbeg_;
    rbeg_ = 0;
    rbuf_ = std::move(n);
    rcap_ = ncap;
  }
  for (;;) {
    const ssize_t n = ::read(fd_, rbuf_.get() + rend_, rcap_ - rend_);
    if (n > 0) {
      rend_ += static_cast<size_t>(n);
      m_->Add(kBytesRead, static_cast<uint64_t>(n));
      read_idle_ = false;
      last_io_ = std::chrono::steady_clock::now();
      return;
    }
    if (n == 0) {
      peer_closed_ = true;
      return;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      read_idle_ = true;
    } else {
      broken_ = true;
    }
    return;
  }
}

size_t Connection::WriteSocket() {
  size_t total = 0;
  while (!out_.empty() && !broken_) {
    iovec iov[64];
    const int cnt = out_.Gather(iov, 64);
    const ssize_t n = ::writev(fd_, iov, cnt);
    if (n > 0) {
      out_.Consume(static_cast<size_t>(n));
      m_->Add(kBytesWritten, static_cast<uint64_t>(n));
      total += static_cast<size_t>(n);
      last_io_ = std::chrono::steady_clock::now();
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
    broken_ = true;  // EPIPE, ECONNRESET ...
    out_.Clear();
  }
  return total;
}

Connection::Pause Connection::PauseNow() const {
  if (peer_closed_ || broken_ || close_after_flush_ || stop_parsing_) return Pause::kNone;
  if (Buffered() >= cfg_.conn_output_limit) return Pause::kOutput;
  if (ops_.size() >= cfg_.conn_pending || owned_bytes_ >= parser_.limits().BufferBound()) {
    return Pause::kInput;
  }
  return Pause::kNone;
}

void Connection::SetGauges(Pause p, int64_t out_bytes, int64_t in_bytes) {
  if (p != reported_pause_) {
    if (reported_pause_ == Pause::kOutput) m_->Move(kConnsOutputPaused, -1);
    if (reported_pause_ == Pause::kInput) m_->Move(kConnsInputPaused, -1);
    if (p == Pause::kOutput) {
      m_->Move(kConnsOutputPaused, 1);
      m_->Add(kOutputPauses);
    }
    if (p == Pause::kInput) {
      m_->Move(kConnsInputPaused, 1);
      m_->Add(kInputPauses);
    }
    reported_pause_ = p;
  }
  m_->Move(kOutputBytes, out_bytes - reported_out_);
  m_->Move(kInputBytes, in_bytes - reported_in_);
  reported_out_ = out_bytes;
  reported_in_ = in_bytes;
}

void Connection::ReportGauges() {
  SetGauges(PauseNow(), static_cast<int64_t>(Buffered()),
            static_cast<int64_t>(rcap_ + owned_bytes_));
}

bool Connection::ParseBlocked() const {
  return broken_ || close_after_flush_ || stop_parsing_ || ops_.size() >= cfg_.conn_pending ||
         owned_bytes_ >= parser_.limits().BufferBound() || Buffered() >= cfg_.conn_output_limit;
}

bool Connection::ParseSome() {
  bool any = false;
  while (!ParseBlocked() && rbeg_ < rend_) {
    const std::string_view in(rbuf_.get() + rbeg_, rend_ - rbeg_);
    parser_.Next(in, &step_);
    const std::string_view raw = in.substr(0, step_.consumed);
    switch (step_.kind) {
      case proto::StepKind::kNeedMore:
        break;
      case proto::StepKind::kRequest:
        Dispatch(step_.req, raw);
        break;
      case proto::StepKind::kReply:
        if (!step_.reply.empty()) {
          m_->Add(step_.reply.rfind("SERVER_ERROR", 0) == 0 ? kServerErrors : kClientErrors);
          if (step_.reply == proto::reply::kTooLarge) m_->Add(kStoreTooLarge);
        }
        Literal(step_.reply);
        break;
      case proto::StepKind::kClose:
        m_->Add(kLinesTooLong);
        Literal(step_.reply);
        close_after_flush_ = true;
        break;
    }
    rbeg_ += step_.consumed;
    any = any || step_.consumed > 0;
    if (step_.kind == proto::StepKind::kNeedMore) {
      if (step_.consumed != 0) continue;
      // Make room for a whole data block when it is known to be coming.
      if (step_.need > rcap_ - rbeg_ && step_.need <= parser_.limits().BufferBound()) {
        if (step_.need <= rcap_) {
          std::memmove(rbuf_.get(), rbuf_.get() + rbeg_, rend_ - rbeg_);
        } else {
          std::unique_ptr<char[]> n(new char[step_.need]);
          std::memcpy(n.get(), rbuf_.get() + rbeg_, rend_ - rbeg_);
          rbuf_ = std::move(n);
          rcap_ = step_.need;
        }
        rend_ -= rbeg_;
        rbeg_ = 0;
      }
      break;
    }
  }
  if (rbeg_ == rend_) rbeg_ = rend_ = 0;
  if (close_after_flush_) rbeg_ = rend_ = 0;  // the rest of the input is ignored
  return any;
}

std::unique_ptr<Op> Connection::NewOp() {
  std::unique_ptr<Op> op;
  if (spare_.empty()) {
    op = std::make_unique<Op>(&op_out_bytes_);
  } else {
    op = std::move(spare_.back());
    spare_.pop_back();
  }
  op->Reset(next_seq_++);
  return op;
}

void Connection::Recycle(std::unique_ptr<Op> op) {
  if (spare_.size() < 16 && op->storage.capacity() <= 4096) {
    op->out.Clear();
    op->slots.clear();
    spare_.push_back(std::move(op));
  }
}

void Connection::Literal(std::string_view text) {
  if (ops_.empty()) {
    out_.Append(text);
    return;
  }
  std::unique_ptr<Op> op = NewOp();
  op->state = Op::State::kDone;
  op->literal = true;
  op->out.Append(text);
  ops_.push_back(std::move(op));
}

void Connection::Dispatch(proto::Request& req, std::string_view raw) {
  std::unique_ptr<Op> op = NewOp();
  op->cmd = req.cmd;
  op->write = IsWrite(req);
  op->start = std::chrono::steady_clock::now();
  std::swap(op->req, req);  // the parser gets back buffers with capacity
  m_->CountCommand(op->cmd);
  if (op->cmd == proto::Command::kQuit) stop_parsing_ = true;
  ops_.push_back(std::move(op));
  Op& o = *ops_.back();
  if (started_ == ops_.size() - 1 && Eligible(o)) {
    started_++;
    Start(o);
  }
  // Anything still running or queued outlives the read buffer.
  if (o.state != Op::State::kDone) Own(o, raw);
  MoveHeadOutput();
}

void Connection::Own(Op& op, std::string_view raw) {
  op.storage.assign(raw.data(), raw.size());
  owned_bytes_ += raw.size();
  const char* b = raw.data();
  const char* nb = op.storage.data();
  proto::Request& r = op.req;
  for (auto& k : r.keys) Rebase(k, b, raw.size(), nb);
  for (auto& a : r.args) Rebase(a, b, raw.size(), nb);
  Rebase(r.key_raw, b, raw.size(), nb);
  Rebase(r.data, b, raw.size(), nb);
  Rebase(r.meta.opaque, b, raw.size(), nb);
}

bool Connection::MoveHeadOutput() {
  bool popped = false;
  while (!ops_.empty()) {
    Op& front = *ops_.front();
    if (front.durable_pending > 0) return popped;  // not acknowledged before it is durable
    if (front.durable_failed) {  // never STORED after an I/O error: one SERVER_ERROR instead
      if (front.state != Op::State::kDone) return popped;
      front.out.Clear();
      m_->Add(kServerErrors);
      ReplyServerError(front, "write not durable: " + front.durable_error);
      front.durable_failed = false;
    }
    out_.MoveFrom(front.out);
    if (front.state != Op::State::kDone) return popped;
    if (front.close_after) close_after_flush_ = true;
    if (!front.literal) {
      const auto us = std::chrono::duration_cast<std::chrono::microseconds>(
                          std::chrono::steady_clock::now() - front.start)
                          .count();
      m_->Latency(front.cmd, static_cast<uint64_t>(us));
    }
    owned_bytes_ -= front.storage.size();
    Recycle(std::move(ops_.front()));
    ops_.pop_front();
    if (started_ > 0) started_--;
    popped = true;
  }
  return popped;
}

void Connection::OnRead(uint64_t seq, uint32_t key_index, ReadResult r) {
  if (ops_.empty() || seq < ops_.front()->seq) return;
  const uint64_t idx = seq - ops_.front()->seq;
  if (idx >= ops_.size()) return;
  Op& op = *ops_[idx];
  Slot* slot = nullptr;
  if (proto::IsRetrieval(op.cmd)) {
    if (!op.slots.empty() && key_index >= op.slots.front().key_index) {
      const size_t i = key_index - op.slots.front().key_index;
      if (i < op.slots.size()) slot = &op.slots[i];
    }
  } else if (!op.slots.empty()) {
    slot = &op.slots.front();
  }
  if (slot == nullptr || !slot->in_flight) return;
  slot->in_flight = false;
  slot->ready = true;
  slot->held = HeldBytes(&held_bytes_, r.ok() ? r.value.size() : 0);
  slot->res = std::move(r);
  inflight_--;
  inflight_bytes_ -= slot->expect;
  slot->expect = 0;
}

bool Connection::IdleSince(std::chrono::steady_clock::time_point since) const {
  if (last_io_ >= since || inflight_ != 0) return false;
  if (std::any_of(ops_.begin(), ops_.end(),
                  [](const std::unique_ptr<Op>& op) { return op->durable_pending > 0; })) {
    return false;
  }
  // last_io_ is when this worker last moved bytes, not when the client did: a
  // busy or stalled worker may not have read what the client sent, or written
  // into room the client made. Bytes waiting, or room for our pending output,
  // mean the client is not idle (an EOF shows as readable too: handled next).
  pollfd p{fd_, static_cast<int16_t>(POLLIN | (out_.empty() ? 0 : POLLOUT)), 0};
  return ::poll(&p, 1, 0) == 0;
}

void Connection::OnDurable(uint64_t seq, const Status& st) {
  if (ops_.empty() || seq < ops_.front()->seq) return;
  const uint64_t idx = seq - ops_.front()->seq;
  if (idx >= ops_.size()) return;
  Op& op = *ops_[idx];
  if (op.durable_pending > 0) op.durable_pending--;
  if (!st.ok() && !op.durable_failed) {
    // The command may still be appending its reply (the notice can come inline,
    // from AwaitDurable): MoveHeadOutput replaces the whole reply once it is done.
    op.durable_failed = true;
    op.durable_error = st.message();
    m_->Add(kDurabilityErrors);
  }
}

void Connection::Pump() {
  constexpr int kMaxRounds = 100000;
  for (int rounds = 0; rounds < kMaxRounds; rounds++) {
    bool progress = false;
    for (size_t i = 0; i < started_ && i < ops_.size(); i++) {
      if (ops_[i]->state == Op::State::kRunning) progress = Advance(*ops_[i]) || progress;
    }
    while (started_ < ops_.size()) {
      Op& o = *ops_[started_];
      if (o.state == Op::State::kQueued) {
        if (!Eligible(o)) break;
        started_++;
        Start(o);
      } else {
        started_++;
      }
      progress = true;
    }
    progress = MoveHeadOutput() || progress;
    if (!ParseBlocked() && rbeg_ < rend_) progress = ParseSome() || progress;
    if (progress) continue;
    // Draining and idle: look once more for requests the client already sent.
    if (draining_ && ops_.empty() && !read_idle_ && !peer_closed_ && !broken_) {
      const size_t before = rend_;
      ReadSocket();
      if (rend_ != before) continue;
    }
    // Sending replies frees output budget: the ops and input it held back may
    // proceed now.
    if (WriteSocket() > 0 && (!ops_.empty() || rbeg_ < rend_)) continue;
    // The write sent nothing (the socket is full: WantedEvents asks for
    // EPOLLOUT, and OnWritable pumps again), or nothing is left to do. No write
    // may follow without another round: if the client read in between, it can
    // send everything queued, and the input held back by the output budget
    // then waits in rbuf_ for an event that never comes (no EPOLLOUT with
    // nothing queued, no EPOLLIN once the socket has been read to the end).
    return;
  }
  // Still making progress after kMaxRounds: let the other connections run, and
  // come back before the worker waits for events (none may come for this one).
  worker_->Repump(id_);
}

bool Connection::ShouldClose() const {
  if (broken_) return true;
  if (close_after_flush_) return out_.empty() && ops_.empty();
  if (peer_closed_) return ops_.empty() && out_.empty();
  // Draining: the requests already sent (read until the socket had no more)
  // are finished and answered first.
  if (draining_) return ops_.empty() && out_.empty() && read_idle_;
  return false;
}

uint32_t Connection::WantedEvents() const {
  uint32_t ev = 0;
  const bool room = (rend_ - rbeg_) < parser_.limits().BufferBound();
  if (!peer_closed_ && !broken_ && !close_after_flush_ && !ParseBlocked() && room) {
    ev |= EPOLLIN;
  }
  if (!out_.empty()) ev |= EPOLLOUT;
  return ev;
}

}  // namespace coss::server
