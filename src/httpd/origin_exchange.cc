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
  fd_ = fd;
  reused_ = reused;
  connected_ = reused;
  head_done_ = false;
  paused_ = false;
  got_bytes_ = false;
  watched_ = 0;
  out_off_ = 0;
  in_.clear();
  parser_ = http::HeadParser();
  head_ = http::ResponseHead();
  framing_ = http::Framing();
  chunks_ = http::ChunkedDecoder();
  body_left_ = 0;
  ExtendDeadline();
  UpdateEvents();
  if (reused) Write();
}

void OriginExchange::ExtendDeadline() {
  deadline_ = Clock::now() + std::chrono::seconds(loop_->opts().origin_timeout_s);
}

bool OriginExchange::RetryOnFreshConnection() {
  if (!reused_ || got_bytes_ || retried_ || !Idempotent(method_)) return false;
  retried_ = true;
  Drop(false);
  Open();
  return true;
}

void OriginExchange::OnEvent(uint32_t events) {
  if (fd_ < 0) return;
  if (!connected_) {
    int err = 0;
    socklen_t len = sizeof err;
    ::getsockopt(fd_, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0 || (events & (EPOLLERR | EPOLLHUP))) {
      sink_->OnOriginFailed(502,
                            std::string("cannot connect to the origin: ") + std::strerror(err));
      return;
    }
    if (!(events & EPOLLOUT)) return;
    connected_ = true;
  }
  if (events & EPOLLOUT) Write();
  if (fd_ >= 0 && (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))) Read();
}

void OriginExchange::Write() {
  while (fd_ >= 0 && out_off_ < out_.size()) {
    const ssize_t n = ::send(fd_, out_.data() + out_off_, out_.size() - out_off_, MSG_NOSIGNAL);
    if (n > 0) {
      out_off_ += static_cast<size_t>(n);
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
  if (!paused_) return;
  paused_ = false;
  Read();
}

void OriginExchange::Read() {
  while (fd_ >= 0 && !paused_ && sink_->OriginWanted()) {
    char buf[kReadChunk];
    const ssize_t n = ::read(fd_, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
    if (n <= 0) {
      if (RetryOnFreshConnection()) return;
      if (head_done_ && framing_.kind == http::BodyKind::kUntilClose && n == 0) {
        sink_->OnOriginDone();
      } else {
        sink_->OnOriginFailed(
            502, head_done_ ? "origin response truncated" : "origin closed the connection");
      }
      return;
    }
    got_bytes_ = true;
    ExtendDeadline();
    in_.append(buf, static_cast<size_t>(n));
    if (!head_done_) {
      for (;;) {
        size_t used = 0;
        http::ParseError err;
        const auto st = parser_.ParseResponse(in_, &head_, &used, &err);
        if (st == http::ParseStatus::kNeedMore) break;
        if (st == http::ParseStatus::kError) {
          sink_->OnOriginFailed(502, "bad response from the origin: " + err.reason);
          return;
        }
        parser_.Reset();
        in_.erase(0, used);
        if (head_.status >= 100 && head_.status < 200) continue;  // interim
        if (!http::ResponseFraming(head_, method_, &framing_, &err)) {
          sink_->OnOriginFailed(502, "bad response from the origin: " + err.reason);
          return;
        }
        head_done_ = true;
        body_left_ = framing_.length;
        sink_->OnOriginHead();
        break;
      }
      if (!head_done_ || fd_ < 0 || !sink_->OriginWanted()) continue;
    }
    if (!DecodeBody()) return;
    if (sink_->OriginOutputFull()) paused_ = true;
  }
}

bool OriginExchange::DecodeBody() {
  switch (framing_.kind) {
    case http::BodyKind::kNone:
      sink_->OnOriginDone();
      return false;
    case http::BodyKind::kLength: {
      const size_t take = std::min<uint64_t>(body_left_, in_.size());
      if (take > 0) sink_->OnOriginBody(std::string_view(in_).substr(0, take));
      body_left_ -= take;
      in_.erase(0, take);
      if (fd_ < 0) return false;  // the Sink ended the exchange
      if (body_left_ == 0) {
        sink_->OnOriginDone();
        return false;
      }
      return true;
    }
    case http::BodyKind::kChunked:
      for (;;) {
        const auto s = chunks_.Next(in_);
        if (s.kind == http::ChunkedDecoder::Step::kData) sink_->OnOriginBody(s.data);
        in_.erase(0, s.consumed);
        if (fd_ < 0) return false;
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
      sink_->OnOriginBody(in_);
      in_.clear();
      return fd_ >= 0;
  }
  return false;
}

void OriginExchange::Finish(bool complete) {
  const bool reuse = complete && framing_.kind != http::BodyKind::kUntilClose &&
                     head_.version_minor >= 1 && !head_.fields.HasToken("Connection", "close") &&
                     in_.empty() && out_off_ == out_.size();
  Drop(reuse);
}

void OriginExchange::Close() {
  Drop(false);
}

void OriginExchange::Drop(bool reuse) {
  if (fd_ < 0) return;
  loop_->Unwatch(fd_);
  if (reuse) {
    loop_->ReleaseOrigin(origin_, fd_);
  } else {
    ::close(fd_);
  }
  fd_ = -1;
  paused_ = false;
  watched_ = 0;
}

void OriginExchange::UpdateEvents() {
  if (fd_ < 0) return;
  uint32_t want = EPOLLRDHUP;
  if (!connected_ || out_off_ < out_.size()) want |= EPOLLOUT;
  if (connected_ && !paused_) want |= EPOLLIN;
  if (want != watched_) {
    loop_->Watch(fd_, id_, 1, want);
    watched_ = want;
  }
}

}  // namespace coss::httpd
