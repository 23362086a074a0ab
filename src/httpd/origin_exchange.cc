#include "httpd/origin_exchange.h"

#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "httpd/loop.h"

namespace coss::httpd {

namespace {
// Methods whose request may be sent twice (RFC 9110 §9.2.2).
bool Idempotent(std::string_view method) {
  return method == "GET" || method == "HEAD" || method == "OPTIONS" || method == "PUT" ||
         method == "DELETE" || method == "TRACE";
}
}  // namespace

void OriginExchange::Start(size_t origin, std::string_view method, std::string request) {
  origin_ = origin;
  method_.assign(method);
  retried_ = false;
  out_ = std::move(request);
  Open();
}

void OriginExchange::Open() {
  bool reused = false;
  const int fd = loop_->OriginSocket(origin_, &reused);
  if (fd < 0) {
    sink_->OnOriginFailed(502, "cannot connect to the origin");
    return;
  }
  a_ = Attempt();
  a_.fd = fd;
  a_.reused = reused;
  a_.connected = reused;
  ExtendDeadline();
  UpdateEvents();
  if (reused) Write();
}

void OriginExchange::ExtendDeadline() {
  deadline_ = Clock::now() + std::chrono::seconds(loop_->opts().origin_timeout_s);
}

bool OriginExchange::RetryOnFreshConnection() {
  if (!a_.reused || a_.got_bytes || retried_ || !Idempotent(method_)) return false;
  retried_ = true;
  Drop(false);
  Open();
  return true;
}

void OriginExchange::OnEvent(uint32_t events) {
  if (a_.fd < 0) return;
  if (!a_.connected) {
    int err = 0;
    socklen_t len = sizeof err;
    ::getsockopt(a_.fd, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0 || (events & (EPOLLERR | EPOLLHUP))) {
      sink_->OnOriginFailed(502,
                            std::string("cannot connect to the origin: ") + std::strerror(err));
      return;
    }
    if (!(events & EPOLLOUT)) return;
    a_.connected = true;
  }
  if (events & EPOLLOUT) Write();
  if (a_.fd >= 0 && (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))) Read();
}

void OriginExchange::Write() {
  while (a_.fd >= 0 && a_.out_off < out_.size()) {
    const ssize_t n =
        ::send(a_.fd, out_.data() + a_.out_off, out_.size() - a_.out_off, MSG_NOSIGNAL);
    if (n > 0) {
      a_.out_off += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
    // A pooled connection the origin closed meanwhile: one retry on a new one.
    if (RetryOnFreshConnection()) return;
    sink_->OnOriginFailed(502, "origin connection failed while sending the request");
    return;
  }
}

void OriginExchange::Resume() {
  if (!a_.paused) return;
  a_.paused = false;
  Read();
}

void OriginExchange::Read() {
  while (a_.fd >= 0 && !a_.paused && sink_->OriginWanted()) {
    char buf[Loop::kReadChunk];
    const ssize_t n = ::read(a_.fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
    if (n <= 0) {
      if (RetryOnFreshConnection()) return;
      if (a_.head_done && a_.framing.kind == http::BodyKind::kUntilClose && n == 0) {
        sink_->OnOriginDone();
      } else {
        sink_->OnOriginFailed(
            502, a_.head_done ? "origin response truncated" : "origin closed the connection");
      }
      return;
    }
    a_.got_bytes = true;
    ExtendDeadline();
    a_.in.append(buf, static_cast<size_t>(n));
    if (!a_.head_done) {
      for (;;) {
        size_t used = 0;
        http::ParseError err;
        const auto st = a_.parser.ParseResponse(a_.in, &a_.head, &used, &err);
        if (st == http::ParseStatus::kNeedMore) break;
        if (st == http::ParseStatus::kError) {
          sink_->OnOriginFailed(502, "bad response from the origin: " + err.reason);
          return;
        }
        a_.parser.Reset();
        a_.in.erase(0, used);
        if (a_.head.status >= 100 && a_.head.status < 200) continue;  // interim
        if (!http::ResponseFraming(a_.head, method_, &a_.framing, &err)) {
          sink_->OnOriginFailed(502, "bad response from the origin: " + err.reason);
          return;
        }
        a_.head_done = true;
        a_.body_left = a_.framing.length;
        sink_->OnOriginHead();
        break;
      }
      if (!a_.head_done || a_.fd < 0 || !sink_->OriginWanted()) continue;
    }
    if (!DecodeBody()) return;
    if (sink_->OriginOutputFull()) a_.paused = true;
  }
}

bool OriginExchange::DecodeBody() {
  switch (a_.framing.kind) {
    case http::BodyKind::kNone:
      sink_->OnOriginDone();
      return false;
    case http::BodyKind::kLength: {
      const size_t take = std::min<uint64_t>(a_.body_left, a_.in.size());
      if (take > 0) sink_->OnOriginBody(std::string_view(a_.in).substr(0, take));
      a_.body_left -= take;
      a_.in.erase(0, take);
      if (a_.fd < 0) return false;  // the Sink ended the exchange
      if (a_.body_left == 0) {
        sink_->OnOriginDone();
        return false;
      }
      return true;
    }
    case http::BodyKind::kChunked:
      for (;;) {
        const auto s = a_.chunks.Next(a_.in);
        if (s.kind == http::ChunkedDecoder::Step::kData) sink_->OnOriginBody(s.data);
        a_.in.erase(0, s.consumed);
        if (a_.fd < 0) return false;
        if (s.kind == http::ChunkedDecoder::Step::kError) {
          sink_->OnOriginFailed(502, "bad chunked body from the origin");
          return false;
        }
        if (s.kind == http::ChunkedDecoder::Step::kDone) {
          sink_->OnOriginDone();
          return false;
        }
        if (s.kind == http::ChunkedDecoder::Step::kNeedMore) return true;
      }
    case http::BodyKind::kUntilClose:
      sink_->OnOriginBody(a_.in);
      a_.in.clear();
      return a_.fd >= 0;
  }
  return false;
}

void OriginExchange::Finish(bool complete) {
  const bool reuse =
      complete && a_.framing.kind != http::BodyKind::kUntilClose && a_.head.version_minor >= 1 &&
      !a_.head.fields.HasToken("Connection", "close") && a_.in.empty() && a_.out_off == out_.size();
  Drop(reuse);
}

void OriginExchange::Close() {
  Drop(false);
}

void OriginExchange::Drop(bool reuse) {
  if (a_.fd < 0) return;
  loop_->Unwatch(a_.fd);
  if (reuse) {
    loop_->ReleaseOrigin(origin_, a_.fd);
  } else {
    ::close(a_.fd);
  }
  a_.fd = -1;
  a_.paused = false;
  a_.watched = 0;
}

void OriginExchange::UpdateEvents() {
  if (a_.fd < 0) return;
  uint32_t want = EPOLLRDHUP;
  if (!a_.connected || a_.out_off < out_.size()) want |= EPOLLOUT;
  if (a_.connected && !a_.paused) want |= EPOLLIN;
  if (want != a_.watched) {
    loop_->Watch(a_.fd, id_, 1, want);
    a_.watched = want;
  }
}

}  // namespace coss::httpd
