#include "httpd/client_conn.h"

#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "http/date.h"
#include "http/freshness.h"
#include "http/range.h"
#include "httpd/loop.h"

namespace coss::httpd {

namespace {

constexpr std::string_view kVia = "1.1 coss";

bool IsHopByHop(std::string_view name) {
  for (std::string_view h : {"Connection", "Keep-Alive", "Proxy-Connection", "TE", "Trailer",
                             "Transfer-Encoding", "Upgrade"}) {
    if (http::EqualsNoCase(name, h)) return true;
  }
  return false;
}

// The fields to forward: without the hop-by-hop ones, those the Connection
// field names, and Content-Length (the sender of the next hop frames it).
http::Fields EndToEnd(const http::Fields& in) {
  std::vector<std::string> named;
  for (const http::Field& f : in.all()) {
    if (!http::EqualsNoCase(f.name, "Connection")) continue;
    http::ForEachListElement(f.value, [&](std::string_view e) { named.emplace_back(e); });
  }
  http::Fields out;
  for (const http::Field& f : in.all()) {
    if (IsHopByHop(f.name) || http::EqualsNoCase(f.name, "Content-Length")) continue;
    bool listed = false;
    for (const std::string& n : named) listed = listed || http::EqualsNoCase(f.name, n);
    if (!listed) out.Add(f.name, f.value);
  }
  return out;
}

void AddVia(http::Fields* f) {
  if (auto v = f->Combined("Via")) {
    f->Set("Via", *v + ", " + std::string(kVia));
  } else {
    f->Add("Via", kVia);
  }
}

bool Safe(std::string_view method) {
  return method == "GET" || method == "HEAD" || method == "OPTIONS" || method == "TRACE";
}

std::string_view StripWeak(std::string_view etag) {
  return etag.substr(0, 2) == "W/" ? etag.substr(2) : etag;
}

http::ResponseHead HeadOf(const CacheEntry& e) {
  http::ResponseHead h;
  h.status = e.status;
  h.reason = e.reason;
  h.fields = e.response;
  return h;
}

}  // namespace

ClientConn::ClientConn(Loop* loop, uint64_t id, int fd, bool loopback_peer)
    : loop_(loop),
      id_(id),
      fd_(fd),
      loopback_(loopback_peer),
      last_io_(Clock::now()),
      origin_(loop, id, this),
      writer_(&loop->store(), loop->opts().max_object, loop->opts().max_item,
              [this](const WriteTicket& t) { Track(t); }) {
  UpdateEvents();
}

ClientConn::~ClientConn() {
  ReleaseFill(false);
  origin_.Close();
  if (fd_ >= 0) {
    loop_->Unwatch(fd_);
    ::close(fd_);
  }
}

int64_t ClientConn::Now() const {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

void ClientConn::Close() {
  ReleaseFill(false);
  closed_ = true;
  origin_.Close();
}

// ---------------------------------------------------------------- client I/O

void ClientConn::OnClientEvent(uint32_t events) {
  if (closed_) return;
  if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) ReadClient();
  if (!closed_ && (events & EPOLLOUT)) WriteClient();
  if (!closed_) Advance();
  if (!closed_) UpdateEvents();
}

void ClientConn::ReadClient() {
  const size_t bound = parser_.limits().max_head +
                       (phase_ == Phase::kBody ? loop_->opts().max_request_body + 64 : 0);
  while (!peer_closed_ && in_.size() < bound) {
    char buf[Loop::kReadChunk];
    const ssize_t n = ::read(fd_, buf, std::min(sizeof buf, bound - in_.size()));
    if (n > 0) {
      in_.append(buf, static_cast<size_t>(n));
      last_io_ = Clock::now();
      continue;
    }
    if (n == 0) {
      peer_closed_ = true;
      break;
    }
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) Close();
    break;
  }
}

size_t ClientConn::Pending() const {
  return out_.size() - out_off_ + chunks_out_bytes_;
}

void ClientConn::WriteClient() {
  if (fd_ < 0) {  // a background exchange: nobody to send to
    out_off_ = out_.size();
    chunks_out_.clear();
    chunks_out_bytes_ = 0;
  }
  while (Pending() > 0) {
    // out_ first, then the stored chunks by reference: no copy of them here.
    constexpr int kMaxIov = 16;
    iovec iov[kMaxIov];
    int cnt = 0;
    if (out_off_ < out_.size()) {
      iov[cnt++] = {out_.data() + out_off_, out_.size() - out_off_};
    }
    for (const ChunkOut& c : chunks_out_) {
      if (cnt == kMaxIov) break;
      iov[cnt++] = {const_cast<char*>(c.value.data() + c.off), c.len};
    }
    msghdr msg{};
    msg.msg_iov = iov;
    msg.msg_iovlen = static_cast<size_t>(cnt);
    const ssize_t n = ::sendmsg(fd_, &msg, MSG_NOSIGNAL);
    if (n > 0) {
      auto left = static_cast<size_t>(n);
      const size_t head = std::min(left, out_.size() - out_off_);
      out_off_ += head;
      left -= head;
      while (left > 0) {
        ChunkOut& c = chunks_out_.front();
        const size_t take = std::min(left, c.len);
        c.off += take;
        c.len -= take;
        chunks_out_bytes_ -= take;
        left -= take;
        if (c.len == 0) chunks_out_.pop_front();
      }
      loop_->metrics().Add(kHttpBytesOut, static_cast<uint64_t>(n));
      last_io_ = Clock::now();
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
    Close();
    return;
  }
  if (out_off_ == out_.size()) {
    out_.clear();
    out_off_ = 0;
  } else if (out_off_ > kOutputHigh) {
    out_.erase(0, out_off_);
    out_off_ = 0;
  }
  if (phase_ == Phase::kStream && Pending() < kStreamAhead) ReadNextChunk();
  // Room again: the origin may be read again.
  if (origin_.paused() && Pending() < kOutputHigh) origin_.Resume();
}

void ClientConn::UpdateEvents() {
  if (closed_) return;
  uint32_t want = EPOLLRDHUP;
  if (!peer_closed_) want |= EPOLLIN;
  if (Pending() > 0) want |= EPOLLOUT;
  if (fd_ >= 0 && want != watched_) {
    loop_->Watch(fd_, id_, 0, want);
    watched_ = want;
  }
  origin_.UpdateEvents();
}

// ------------------------------------------------------------ the exchange

void ClientConn::Advance() {
  for (int guard = 0; guard < 1000 && !closed_; guard++) {
    switch (phase_) {
      case Phase::kHead: {
        if (in_.empty()) {
          if (peer_closed_) Close();
          return;
        }
        size_t used = 0;
        http::ParseError err;
        const http::ParseStatus st = parser_.ParseRequest(in_, &req_, &used, &err);
        if (st == http::ParseStatus::kNeedMore) {
          if (head_started_ == Clock::time_point{}) head_started_ = Clock::now();
          if (peer_closed_) Close();  // a partial head and no more to come
          return;
        }
        parser_.Reset();
        if (st == http::ParseStatus::kError) {
          loop_->metrics().Add(kHttpBadRequests);
          in_.clear();
          Reply(err.status, err.reason, err.reason + "\n", /*close_after=*/true);
          break;
        }
        in_.erase(0, used);
        head_started_ = {};
        StartRequest();
        break;
      }
      case Phase::kBody: {
        if (req_framing_.kind == http::BodyKind::kLength) {
          const size_t n = std::min<uint64_t>(req_framing_.length - req_body_.size(), in_.size());
          req_body_.append(in_, 0, n);
          in_.erase(0, n);
          if (req_body_.size() < req_framing_.length) {
            if (peer_closed_) Close();
            return;
          }
        } else {
          bool done = false;
          for (;;) {
            const auto s = req_chunks_.Next(in_);
            if (s.kind == http::ChunkedDecoder::Step::kData) req_body_.append(s.data);
            in_.erase(0, s.consumed);
            if (s.kind == http::ChunkedDecoder::Step::kError) {
              loop_->metrics().Add(kHttpBadRequests);
              Reply(400, "Bad Request", "malformed chunked body\n", true);
              return;
            }
            if (s.kind == http::ChunkedDecoder::Step::kDone) {
              done = true;
              break;
            }
            if (req_body_.size() > loop_->opts().max_request_body) {
              loop_->metrics().Add(kHttpBadRequests);
              Reply(413, "Content Too Large", "request body too large\n", true);
              return;
            }
            if (s.kind == http::ChunkedDecoder::Step::kNeedMore && s.consumed == 0) break;
          }
          if (!done) {
            if (peer_closed_) Close();
            return;
          }
        }
        Route();
        break;
      }
      case Phase::kLookup:
      case Phase::kOrigin:
      case Phase::kSync:
      case Phase::kWait:
        return;
      case Phase::kStream:
        if (Pending() > 0) WriteClient();
        return;
      case Phase::kFlush:
        if (Pending() > 0) WriteClient();
        if (closed_ || Pending() > 0) return;
        FinishExchange();
        break;
    }
  }
}

void ClientConn::StartRequest() {
  loop_->metrics().Add(kHttpRequests);
  req_cc_ = http::ParseCacheControl(req_.fields);
  // HTTP/1.0's Pragma: no-cache, when there is no Cache-Control (RFC 9111 §5.4).
  if (!req_.fields.Has("Cache-Control") && req_.fields.HasToken("Pragma", "no-cache")) {
    req_cc_.no_cache = true;
  }
  close_after_ = req_.version_minor == 0 || req_.fields.HasToken("Connection", "close");
  head_only_ = req_.method == "HEAD";
  req_body_.clear();
  req_chunks_ = http::ChunkedDecoder();
  http::ParseError err;
  if (!http::RequestFraming(req_, &req_framing_, &err)) {
    loop_->metrics().Add(kHttpBadRequests);
    in_.clear();
    Reply(err.status, err.reason, err.reason + "\n", true);
    return;
  }
  if (req_framing_.kind == http::BodyKind::kLength &&
      req_framing_.length > loop_->opts().max_request_body) {
    loop_->metrics().Add(kHttpBadRequests);
    in_.clear();
    Reply(413, "Content Too Large", "request body too large\n", true);
    return;
  }
  if (req_framing_.kind == http::BodyKind::kNone) {
    Route();
    return;
  }
  phase_ = Phase::kBody;
  // The body is read before anything goes to the origin: a client that waits
  // for permission to send it gets it here.
  if (req_.version_minor >= 1 && req_.fields.HasToken("Expect", "100-continue")) {
    out_.append("HTTP/1.1 100 Continue\r\n\r\n");
  }
}

void ClientConn::Route() {
  if (req_.method == "CONNECT") {
    loop_->metrics().Add(kHttpBadRequests);
    Reply(501, "Not Implemented", "CONNECT is not supported\n");
    return;
  }
  cache_key_ = CacheKeyOf(req_);
  store_key_ = StoreKeyOf(cache_key_);
  entry_.reset();
  if (req_.method == "PURGE") {
    Purge();
  } else if (req_.method == "GET" || req_.method == "HEAD") {
    Lookup();
  } else {
    loop_->metrics().Add(kHttpPassed);
    Fetch(false);
  }
}

void ClientConn::Purge() {
  const std::string& who = loop_->opts().purge;
  if (who == "none" || (who == "loopback" && !loopback_)) {
    loop_->metrics().Add(kHttpBadRequests);
    Reply(403, "Forbidden", "PURGE is not allowed from this address\n");
    return;
  }
  WriteTicket ticket;
  const Status s = loop_->store().Remove(store_key_, nullptr, &ticket);
  if (s.ok()) {
    loop_->metrics().Add(kHttpPurges);
    purging_ = true;
    Track(ticket);
    SyncThenRelease();
  } else if (s.code() == Code::kNotFound) {
    Reply(404, "Not Found", "not in the cache\n");
  } else {
    Reply(500, "Internal Server Error", "purge failed: " + s.message() + "\n");
  }
}

void ClientConn::Track(const WriteTicket& t) {
  if (!loop_->opts().ack_wait || t.lsn == 0) return;
  // A shard's journal is made durable in order: its latest ticket covers the
  // earlier ones (a chunked body writes many), so one per shard is kept.
  for (WriteTicket& have : tickets_) {
    if (have.shard == t.shard) {
      have.lsn = std::max(have.lsn, t.lsn);
      return;
    }
  }
  tickets_.push_back(t);
}

void ClientConn::SyncThenRelease() {
  phase_ = Phase::kSync;
  std::vector<WriteTicket> tickets;
  for (const WriteTicket& t : tickets_) {
    // --write-ack written: the journal entries are written on this thread
    // when that needs no waiting (no hand-off to the journal's and back).
    if (loop_->opts().ack_level == Persistence::kWritten && loop_->store().WriteJournalHere(t))
      continue;
    tickets.push_back(t);
  }
  tickets_.clear();
  if (tickets.empty()) {
    OnDurable(Status::Ok());
    return;
  }
  Loop* loop = loop_;
  const uint64_t id = id_;
  syncs_pending_ = static_cast<uint32_t>(tickets.size());
  for (const WriteTicket& t : tickets) {
    loop_->store().WhenPersisted(t, loop_->opts().ack_level,
                                 [loop, id](const Status& st) { loop->PostDurable(id, st); });
  }
}

void ClientConn::OnDurable(const Status& st) {
  if (closed_ || phase_ != Phase::kSync) return;
  if (!st.ok() && sync_error_.ok()) sync_error_ = st;
  if (syncs_pending_ > 0 && --syncs_pending_ > 0) return;
  if (purging_) {
    purging_ = false;
    if (sync_error_.ok()) {
      Reply(200, "OK", "purged\n");
    } else {
      Reply(500, "Internal Server Error", "purge not durable: " + sync_error_.message() + "\n");
    }
  } else if (sync_error_.ok()) {
    out_.append(tail_);
    phase_ = Phase::kFlush;
    ReleaseFill(false);  // the stored copy (if any) is durable: waiters may read it
  } else {
    // Never the whole answer after an I/O error: the client sees it cut short.
    loop_->metrics().Add(kHttpOriginErrors);
    Close();
    return;
  }
  tail_.clear();
  sync_error_ = Status::Ok();
  Advance();
  UpdateEvents();
}

void ClientConn::Lookup() {
  marker_.reset();
  ReadStore(store_key_);
}

bool ClientConn::KeyVariant(const http::Fields& vary, std::string* key) {
  if (!marker_ || !SameVaryNames(*marker_, vary)) {
    // A new marker, with a new generation: the variants of any older one are
    // unreachable from now on.
    VaryMarker m;
    m.url = cache_key_;
    m.generation = NewUniqueId();
    for (const http::Field& f : vary.all()) m.names.push_back(f.name);
    const std::string value = EncodeVaryMarker(m);
    PutRequest p;
    p.key = store_key_;
    p.value = value;
    p.skip_admission = true;  // without it, every variant is unreachable
    const PutResult put = loop_->store().Write(p);
    if (!put.status.ok()) return false;
    Track(put.ticket);
    marker_ = std::move(m);
  }
  *key = VariantKeyOf(*marker_, req_);
  return true;
}

void ClientConn::ReadStore(const std::string& key) {
  phase_ = Phase::kLookup;
  entry_key_ = key;
  Loop* loop = loop_;
  const uint64_t id = id_;
  loop_->store().Read(key, [loop, id](server::ReadResult r) { loop->Post(id, std::move(r)); });
}

bool ClientConn::WaitOrLead() {
  // Only a GET's response can fill the store for the others.
  if (req_.method != "GET" || req_cc_.no_store) return false;
  if (!waited_ && loop_->JoinFill(store_key_, id_)) {
    waited_ = true;
    wait_key_ = store_key_;
    wait_started_ = Clock::now();
    phase_ = Phase::kWait;
    loop_->metrics().Add(kHttpCollapsed);
    return true;
  }
  if (fill_key_.empty() && loop_->LeadFill(store_key_, id_)) fill_key_ = store_key_;
  return false;
}

void ClientConn::ReleaseFill(bool pass) {
  if (fill_key_.empty()) return;
  loop_->EndFill(fill_key_, id_, pass);
  fill_key_.clear();
}

void ClientConn::OnFillDone(const std::string& key, bool pass) {
  if (closed_ || phase_ != Phase::kWait || key != wait_key_) return;
  wait_key_.clear();
  entry_.reset();
  if (pass) {
    loop_->metrics().Add(kHttpMisses);
    Fetch(false);
  } else {
    Lookup();
  }
  Advance();
  UpdateEvents();
}

void ClientConn::StartRefresh(Loop::RefreshJob job) {
  req_ = std::move(job.req);
  req_.method = "GET";  // a HEAD served stale refreshes the stored GET response
  req_cc_ = {};         // the client's directives were for its own answer
  req_framing_ = {};
  close_after_ = true;
  peer_closed_ = true;
  cache_key_ = CacheKeyOf(req_);
  store_key_ = StoreKeyOf(cache_key_);
  if (!loop_->LeadFill(store_key_, id_)) {
    Close();
    return;
  }
  fill_key_ = store_key_;
  loop_->metrics().Add(kHttpRefreshes);
  entry_key_ = std::move(job.entry_key);
  marker_ = std::move(job.marker);
  const bool validator = job.entry.response.Has("ETag") || job.entry.response.Has("Last-Modified");
  entry_ = std::move(job.entry);
  Fetch(validator);
  Advance();
  UpdateEvents();
}

void ClientConn::OnLookup(const server::ReadResult& r) {
  if (!closed_ && phase_ == Phase::kStream && chunk_reading_) {
    OnChunk(r);
    return;
  }
  if (closed_ || phase_ != Phase::kLookup) return;
  if (r.ok()) {
    if (!marker_) {
      // The URL's responses vary: read the variant this request selects.
      if (std::optional<VaryMarker> m = DecodeVaryMarker(r.value); m && m->url == cache_key_) {
        marker_ = std::move(m);
        ReadStore(VariantKeyOf(*marker_, req_));
        return;
      }
    }
    std::optional<CacheEntry> e = DecodeEntry(r.value);
    if (e && e->url == cache_key_ && VaryMatches(*e, req_)) entry_ = std::move(e);
    if (entry_ && entry_->chunked() && !ChunksPresent(*entry_)) {
      // Some chunk was evicted: the entry is no use any more.
      loop_->metrics().Add(kHttpChunksMissing);
      (void)loop_->store().Remove(entry_key_, nullptr);
      entry_.reset();
    }
  }
  if (!entry_) {
    if (req_cc_.only_if_cached) {
      Reply(504, "Gateway Timeout", "not in the cache (only-if-cached)\n");
    } else if (!WaitOrLead()) {
      loop_->metrics().Add(kHttpMisses);
      Fetch(false);
    }
    Advance();
    UpdateEvents();
    return;
  }
  const http::ResponseHead head = HeadOf(*entry_);
  const http::CacheControl cc = http::ParseCacheControl(head.fields);
  bool heuristic;
  const int64_t lifetime =
      http::FreshnessLifetime(head, cc, entry_->times, loop_->opts().heuristic, &heuristic);
  const int64_t age = http::CurrentAge(head, entry_->times, Now());
  switch (http::Evaluate(req_cc_, cc, lifetime, age)) {
    case http::Reuse::kFresh:
      loop_->metrics().Add(kHttpHits);
      ServeEntry(false);
      break;
    case http::Reuse::kStaleAllowed:
      loop_->metrics().Add(kHttpStaleServed);
      ServeEntry(true);
      break;
    case http::Reuse::kStaleWhileRevalidate:
      loop_->metrics().Add(kHttpStaleServed);
      ServeEntry(true);
      if (req_.method == "GET" || req_.method == "HEAD") {
        loop_->Refresh(Loop::RefreshJob{req_, *entry_, store_key_, entry_key_, marker_});
      }
      break;
    case http::Reuse::kRevalidate:
      if (req_cc_.only_if_cached) {
        Reply(504, "Gateway Timeout", "only a stale response is cached (only-if-cached)\n");
      } else if (!WaitOrLead()) {
        const bool validator =
            entry_->response.Has("ETag") || entry_->response.Has("Last-Modified");
        if (!validator) loop_->metrics().Add(kHttpMisses);
        Fetch(validator);
      }
      break;
  }
  Advance();
  UpdateEvents();
}

bool ClientConn::ClientConditionalMatches(const CacheEntry& e) const {
  if (e.status != 200) return false;
  if (const auto inm = req_.fields.Combined("If-None-Match")) {
    const auto etag = e.response.Get("ETag");
    bool match = false;
    http::ForEachListElement(*inm, [&](std::string_view tag) {
      match = match || tag == "*" || (etag && StripWeak(tag) == StripWeak(*etag));
    });
    return match;
  }
  const auto ims = req_.fields.Get("If-Modified-Since");
  const auto lm = e.response.Get("Last-Modified");
  if (!ims || !lm) return false;
  const auto ims_t = http::ParseHttpDate(*ims);
  const auto lm_t = http::ParseHttpDate(*lm);
  return ims_t && lm_t && *lm_t <= *ims_t;
}

void ClientConn::ServeEntry(bool stale) {
  (void)stale;
  const CacheEntry& e = *entry_;
  http::Fields f;
  for (const http::Field& fl : e.response.all()) {
    if (!http::EqualsNoCase(fl.name, "Age")) f.Add(fl.name, fl.value);
  }
  f.Add("Age", std::to_string(http::CurrentAge(HeadOf(e), e.times, Now())));
  AddVia(&f);
  if (ClientConditionalMatches(e)) {
    AppendHead(304, "Not Modified", f, std::nullopt, false);
    phase_ = Phase::kFlush;
    return;
  }
  if (e.status == 200 && !f.Has("Accept-Ranges")) f.Add("Accept-Ranges", "bytes");
  const uint64_t length = e.length();
  std::vector<http::ByteRange> ranges;
  http::RangeOutcome range =
      e.status == 200 ? RangeRequested(e.response, length, &ranges) : http::RangeOutcome::kIgnore;
  // What a chunked body streams from the store (a background revalidation has
  // nobody to send it to).
  std::vector<http::ByteRange> stream;
  std::vector<std::string> framing;
  switch (range) {
    case http::RangeOutcome::kIgnore:
      AppendHead(e.status, e.reason, f, length, false);
      if (!head_only_) out_.append(e.body);
      if (length > 0) stream.push_back({0, length - 1});
      break;
    case http::RangeOutcome::kUnsatisfiable:
      AppendUnsatisfiable(length);
      break;
    case http::RangeOutcome::kSatisfiable:
      if (ranges.size() == 1) {
        f.Add("Content-Range", http::ContentRange(ranges[0], length));
        AppendHead(206, "Partial Content", f, ranges[0].size(), false);
        if (!e.chunked()) out_.append(e.body, ranges[0].first, ranges[0].size());
      } else {
        const std::string type(f.Get("Content-Type").value_or(""));
        const std::string boundary = Boundary();
        f.Remove("Content-Type");
        f.Add("Content-Type", "multipart/byteranges; boundary=" + boundary);
        if (e.chunked()) {
          framing = http::MultipartFraming(ranges, length, type, boundary);
          uint64_t size = 0;
          for (const std::string& part : framing) size += part.size();
          for (const http::ByteRange& r : ranges) size += r.size();
          AppendHead(206, "Partial Content", f, size, false);
        } else {
          const std::string body = http::MultipartByteranges(e.body, ranges, type, boundary);
          AppendHead(206, "Partial Content", f, body.size(), false);
          out_.append(body);
        }
      }
      stream = std::move(ranges);
      break;
  }
  if (e.chunked() && !head_only_ && !stream.empty() && fd_ >= 0) {
    StartStream(std::move(stream), std::move(framing));
    return;
  }
  phase_ = Phase::kFlush;
}

void ClientConn::StartStream(std::vector<http::ByteRange> ranges,
                             std::vector<std::string> framing) {
  stream_.emplace(std::move(ranges), std::move(framing), entry_->chunk_size, entry_->body_length);
  phase_ = Phase::kStream;
  ReadNextChunk();
}

bool ClientConn::ChunksPresent(const CacheEntry& e) {
  for (uint64_t i = 0; i < e.chunks(); i++) {
    if (loop_->store().SizeHint(ChunkKeyOf(cache_key_, e.body_id, i)) == 0) return false;
  }
  return true;
}

void ClientConn::ReadNextChunk() {
  if (chunk_reading_ || phase_ != Phase::kStream || closed_) return;
  chunk_reading_ = true;
  Loop* loop = loop_;
  const uint64_t id = id_;
  loop_->store().Read(ChunkKeyOf(cache_key_, entry_->body_id, stream_->next_chunk()),
                      [loop, id](server::ReadResult r) { loop->Post(id, std::move(r)); });
}

void ClientConn::OnChunk(const server::ReadResult& r) {
  chunk_reading_ = false;
  if (!r.ok() || r.value.size() != stream_->next_chunk_size()) {
    // A chunk went missing (evicted) or could not be read. The head is out:
    // only a cut can tell the client. The entry goes; the next request
    // fetches it again.
    loop_->metrics().Add(kHttpChunksMissing);
    (void)loop_->store().Remove(entry_key_, nullptr);
    Close();
    return;
  }
  // What of this chunk goes out (by reference), with the part headers of a
  // multipart/byteranges answer between.
  std::vector<http::ChunkRanges::Piece> pieces;
  stream_->Take(&pieces);
  for (const http::ChunkRanges::Piece& p : pieces) {
    ChunkOut out = p.framing >= 0
                       ? ChunkOut{Bytes::Copy(stream_->framing(p.framing)), 0,
                                  stream_->framing(p.framing).size()}
                       : ChunkOut{r.value, static_cast<size_t>(p.off), static_cast<size_t>(p.len)};
    chunks_out_bytes_ += out.len;
    chunks_out_.push_back(std::move(out));
  }
  if (stream_->done()) {
    phase_ = Phase::kFlush;
  } else if (Pending() < kStreamAhead) {
    ReadNextChunk();  // read ahead: the next chunk is read while this one is sent
  }
  Advance();
  UpdateEvents();
}

http::RangeOutcome ClientConn::RangeRequested(const http::Fields& response, uint64_t length,
                                              std::vector<http::ByteRange>* out) const {
  // Range is a GET's only; several Range fields are not a valid request: the
  // whole representation is sent, as for any Range the proxy ignores.
  if (req_.method != "GET" || req_.fields.Count("Range") != 1 ||
      !http::IfRangeHolds(req_.fields, response)) {
    return http::RangeOutcome::kIgnore;
  }
  return http::EvaluateRange(*req_.fields.Get("Range"), length, out);
}

void ClientConn::AppendUnsatisfiable(uint64_t length) {
  http::Fields f;
  f.Add("Content-Range", http::UnsatisfiedRange(length));
  AddVia(&f);
  AppendHead(416, "Range Not Satisfiable", f, 0, false);
}

std::string ClientConn::Boundary() {
  // Unpredictable enough that no body plausibly contains it (splitmix64 of
  // the connection, the time and a per-connection counter).
  uint64_t x = id_ * 0x9E3779B97F4A7C15ull ^
               static_cast<uint64_t>(Clock::now().time_since_epoch().count()) ^ ++boundaries_;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  x ^= x >> 31;
  char b[32];
  std::snprintf(b, sizeof b, "coss-%016llx", static_cast<unsigned long long>(x));
  return b;
}

void ClientConn::Reply(int status, std::string_view reason, std::string_view body,
                       bool close_after) {
  if (close_after) close_after_ = true;
  http::Fields f;
  f.Add("Content-Type", "text/plain");
  f.Add("Cache-Control", "no-store");
  AppendHead(status, reason, f, body.size(), false);
  if (!head_only_) out_.append(body);
  phase_ = Phase::kFlush;
}

void ClientConn::AppendHead(int status, std::string_view reason, const http::Fields& fields,
                            std::optional<uint64_t> length, bool chunked) {
  char line[64];
  std::snprintf(line, sizeof line, "HTTP/1.1 %d ", status);
  out_.append(line);
  out_.append(reason.empty() ? std::string_view("-") : reason);
  out_.append("\r\n");
  fields.AppendTo(&out_);
  if (length) {
    out_.append("Content-Length: " + std::to_string(*length) + "\r\n");
  } else if (chunked) {
    out_.append("Transfer-Encoding: chunked\r\n");
  } else if (status != 304 && status != 204 && !head_only_) {
    close_after_ = true;  // delimited by closing the connection
  }
  if (close_after_) out_.append("Connection: close\r\n");
  out_.append("\r\n");
}

void ClientConn::FinishExchange() {
  ReleaseFill(false);
  marker_.reset();
  wait_key_.clear();
  waited_ = false;
  entry_.reset();
  writer_.Abandon();
  chunks_out_.clear();
  chunks_out_bytes_ = 0;
  stream_.reset();
  chunk_out_ = false;
  windowed_ = false;
  revalidating_ = false;
  replaces_ = false;
  response_started_ = false;
  req_body_.clear();
  tail_.clear();
  tickets_.clear();
  head_only_ = false;
  if (close_after_ || (peer_closed_ && in_.empty())) {
    if (fd_ >= 0) ::shutdown(fd_, SHUT_WR);
    Close();
    return;
  }
  phase_ = Phase::kHead;
}

void ClientConn::StartDrain() {
  if (closed_) return;
  close_after_ = true;
  if (phase_ == Phase::kHead && in_.empty()) {
    if (fd_ >= 0) ::shutdown(fd_, SHUT_WR);
    Close();
  }
}

void ClientConn::OnTick(Clock::time_point now) {
  if (closed_) return;
  const auto& o = loop_->opts();
  switch (phase_) {
    case Phase::kHead:
      if (head_started_ != Clock::time_point{} &&
          now - head_started_ > std::chrono::seconds(o.head_timeout_s)) {
        loop_->metrics().Add(kHttpBadRequests);
        in_.clear();
        Reply(408, "Request Timeout", "request head not received in time\n", true);
      } else if (in_.empty() && now - last_io_ > std::chrono::seconds(o.client_idle_s)) {
        Close();
        return;
      }
      break;
    case Phase::kBody:
      if (now - last_io_ > std::chrono::seconds(o.head_timeout_s)) {
        loop_->metrics().Add(kHttpBadRequests);
        in_.clear();
        Reply(408, "Request Timeout", "request body not received in time\n", true);
      }
      break;
    case Phase::kOrigin:
      if (origin_.TimedOut(now)) OnOriginFailed(504, "origin timed out");
      break;
    case Phase::kFlush:
    case Phase::kStream:
      if (now - last_io_ > std::chrono::seconds(o.client_idle_s)) {
        Close();  // the client stopped reading
        return;
      }
      break;
    case Phase::kWait:
      if (now - wait_started_ > std::chrono::seconds(o.origin_timeout_s)) {
        // The fetch waited for is slow (a large body, a slow origin): fetch too.
        wait_key_.clear();
        loop_->metrics().Add(kHttpMisses);
        entry_.reset();
        Fetch(false);
      }
      break;
    case Phase::kLookup:
    case Phase::kSync:
      break;
  }
  Advance();
  UpdateEvents();
}

// ------------------------------------------------------------ origin side

void ClientConn::Fetch(bool conditional) {
  revalidating_ = conditional;
  phase_ = Phase::kOrigin;
  request_time_ = Now();
  response_started_ = false;
  const size_t at = cache_key_.find("://") + 3;
  const size_t origin =
      loop_->OriginFor(std::string_view(cache_key_).substr(at, cache_key_.find('/', at) - at));
  // Origin-form target.
  std::string_view target = req_.target;
  std::string authority;
  if (!target.empty() && target[0] != '/' && target != "*") {
    target.remove_prefix(target.find("://") + 3);
    const size_t slash = target.find('/');
    authority.assign(target.substr(0, slash));
    target = slash == std::string_view::npos ? std::string_view("/") : target.substr(slash);
  }
  http::Fields f = EndToEnd(req_.fields);
  f.Remove("Expect");  // the body follows the head at once
  if (!authority.empty()) f.Set("Host", authority);
  const bool cacheable_get = req_.method == "GET" || req_.method == "HEAD";
  if (cacheable_get) {
    // The proxy asks for a complete response it can store; the client's own
    // conditionals are answered from it afterwards.
    f.Remove("If-None-Match");
    f.Remove("If-Modified-Since");
    f.Remove("If-Match");
    f.Remove("If-Unmodified-Since");
    f.Remove("If-Range");
    // The whole representation, to store; the client's range is cut from it.
    f.Remove("Range");
  }
  if (conditional && entry_) {
    if (const auto etag = entry_->response.Get("ETag")) f.Add("If-None-Match", *etag);
    if (const auto lm = entry_->response.Get("Last-Modified")) f.Add("If-Modified-Since", *lm);
  }
  AddVia(&f);
  // A HEAD miss is fetched as HEAD (nothing to store); a GET as GET.
  std::string out;
  out.append(req_.method).append(" ").append(target).append(" HTTP/1.1\r\n");
  f.AppendTo(&out);
  if (!req_body_.empty() || req_framing_.kind != http::BodyKind::kNone) {
    out.append("Content-Length: " + std::to_string(req_body_.size()) + "\r\n");
  }
  out.append("\r\n");
  out.append(req_body_);
  origin_.Start(origin, req_.method, std::move(out));
}

void ClientConn::OnOriginEvent(uint32_t events) {
  if (closed_ || !origin_.open()) return;
  origin_.OnEvent(events);
  if (!closed_) Advance();
  if (!closed_) UpdateEvents();
}

void ClientConn::OnOriginHead() {
  const http::ResponseHead& h = origin_.head();
  const http::CacheControl resp_cc = http::ParseCacheControl(h.fields);
  if (revalidating_ && entry_ && h.status == 304) {
    // Freshen the stored entry with the 304's fields (RFC 9111 §4.3.4).
    http::Fields fresh = EndToEnd(h.fields);
    for (const http::Field& f : fresh.all()) entry_->response.Remove(f.name);
    for (const http::Field& f : fresh.all()) entry_->response.Add(f.name, f.value);
    entry_->times = http::ExchangeTimes{request_time_, Now()};
    loop_->metrics().Add(kHttpRevalidated);
    return;  // no body; EndOriginResponse serves the entry
  }
  if (h.status >= 500 && StaleOnErrorAllowed()) {
    loop_->metrics().Add(kHttpStaleServed);
    origin_.Close();
    ServeEntry(true);
    return;
  }
  const bool get = req_.method == "GET";
  if (get) {
    const bool storable = http::NotStorable(req_, req_cc_, h, resp_cc).empty() &&
                          (origin_.framing().kind != http::BodyKind::kLength ||
                           origin_.framing().length <= loop_->opts().max_object);
    if (storable) {
      writer_.Begin(cache_key_);
    } else {
      writer_.Abandon();
    }
    // A response that would replace a stored one (or one read for this
    // request) removes it when it is not stored itself.
    replaces_ = storable || entry_.has_value();
    if (!storable) {
      loop_->metrics().Add(kHttpNotStored);
      ReleaseFill(true);  // nothing to wait for: the waiters fetch for themselves
    }
  }
  if (!Safe(req_.method) && h.status >= 200 && h.status < 400) {
    Invalidate(cache_key_);
    for (std::string_view name : {"Location", "Content-Location"}) {
      const auto v = h.fields.Get(name);
      if (!v || v->empty()) continue;
      // Same origin only: a relative reference, or an absolute one naming
      // the request's own authority.
      std::string key;
      if ((*v)[0] == '/') {
        key = cache_key_.substr(0, cache_key_.find('/', cache_key_.find("://") + 3)) +
              std::string(*v);
      } else {
        http::RequestHead r;
        r.target = std::string(*v);
        if (r.target.find("://") == std::string::npos) continue;
        key = CacheKeyOf(r);
        const auto authority = [](std::string_view k) {
          return k.substr(0, k.find('/', k.find("://") + 3));
        };
        if (authority(key) != authority(cache_key_)) continue;
      }
      Invalidate(key);
    }
  }
  http::Fields f = EndToEnd(h.fields);
  AddVia(&f);
  std::optional<uint64_t> length;
  if (head_only_) {
    if (const auto cl = h.fields.Get("Content-Length")) f.Add("Content-Length", *cl);
  } else if (origin_.framing().kind == http::BodyKind::kLength) {
    length = origin_.framing().length;
  } else if (origin_.framing().kind == http::BodyKind::kNone) {
    if (h.status != 304 && h.status != 204) length = 0;
  } else if (req_.version_minor >= 1) {
    chunk_out_ = true;
  }
  body_off_ = 0;
  windowed_ = false;
  std::vector<http::ByteRange> ranges;
  const http::RangeOutcome range =
      h.status == 200 && origin_.framing().kind == http::BodyKind::kLength
          ? RangeRequested(h.fields, origin_.framing().length, &ranges)
          : http::RangeOutcome::kIgnore;
  if (range == http::RangeOutcome::kUnsatisfiable) {
    windowed_ = true;
    win_begin_ = win_end_ = 0;
    AppendUnsatisfiable(origin_.framing().length);
  } else if (range == http::RangeOutcome::kSatisfiable && ranges.size() == 1) {
    // One range of a streamed response: only its bytes go to the client.
    // (Several ranges of a miss get the whole representation, which the RFC
    // allows; from the store they are served as multipart/byteranges.)
    windowed_ = true;
    win_begin_ = ranges[0].first;
    win_end_ = ranges[0].last + 1;
    f.Add("Content-Range", http::ContentRange(ranges[0], origin_.framing().length));
    AppendHead(206, "Partial Content", f, ranges[0].size(), false);
  } else {
    AppendHead(h.status, h.reason, f, length, chunk_out_);
  }
  if (!chunk_out_) {
    // Until a body byte takes its place, the head's last byte is the tail
    // held back: an empty body or a HEAD answer is then held too.
    tail_.assign(1, out_.back());
    out_.pop_back();
  }
  response_started_ = true;
  // Nothing of the body goes to the client, and nothing is kept: done.
  if (windowed_ && win_end_ == 0 && !writer_.active() && origin_.framing().length > 0) {
    EndOriginResponse(false);
  }
}

void ClientConn::OnOriginBody(std::string_view data) {
  if (!response_started_ || data.empty()) return;
  const uint64_t off = body_off_;  // where data starts in the body
  body_off_ += data.size();
  if (writer_.active() && !writer_.Append(data)) {
    // Past --http-max-object, or a chunk could not be written.
    loop_->metrics().Add(kHttpNotStored);
    ReleaseFill(true);
  }
  if (head_only_) return;
  if (windowed_) {
    const uint64_t lo = std::max(off, win_begin_);
    const uint64_t hi = std::min(body_off_, win_end_);
    data = lo < hi ? data.substr(lo - off, hi - lo) : std::string_view();
  }
  if (chunk_out_ && !data.empty()) {
    char size[32];
    std::snprintf(size, sizeof size, "%zx\r\n", data.size());
    out_.append(size);
    out_.append(data);
    out_.append("\r\n");
  } else if (!data.empty()) {
    // The body's last byte so far waits in tail_: the last one of all goes
    // out only once the store changes of this exchange are durable.
    out_.append(tail_);
    out_.append(data.substr(0, data.size() - 1));
    tail_.assign(data.substr(data.size() - 1));
  }
  if (windowed_ && !writer_.active() && body_off_ >= win_end_ &&
      body_off_ < origin_.framing().length) {
    // Past the client's range, and nothing to keep: the rest is not read.
    EndOriginResponse(false);
    return;
  }
  WriteClient();
}

void ClientConn::EndOriginResponse(bool complete) {
  origin_.Finish(complete);
  if (!response_started_) {
    if (revalidating_ && entry_ && origin_.head().status == 304) {
      const std::string value = EncodeEntry(*entry_);
      if (value.size() <= loop_->opts().max_item) {
        PutRequest p;
        p.key = entry_key_;
        p.value = value;
        if (loop_->store().Write(p).status.ok()) loop_->metrics().Add(kHttpStored);
      }
      ReleaseFill(false);
      ServeEntry(false);
    }
    return;  // served otherwise (stale on error)
  }
  if (chunk_out_) tail_ = "0\r\n\r\n";
  bool stored = false;
  if (writer_.active()) {
    CacheEntry e;
    e.url = cache_key_;
    e.times = http::ExchangeTimes{request_time_, Now()};
    e.status = origin_.head().status;
    e.reason = origin_.head().reason;
    e.vary = VaryValues(origin_.head(), req_);
    e.response = EndToEnd(origin_.head().fields);
    // The body (its last chunk) first, then the entry naming it.
    const std::string value = writer_.Finish(&e) ? EncodeEntry(e) : std::string();
    std::string key = store_key_;
    const bool keyed = e.vary.size() == 0 || KeyVariant(e.vary, &key);
    PutRequest p;
    p.key = key;
    p.value = value;
    p.skip_admission = e.chunked();  // its chunks are on the ring already
    PutResult put;
    const bool fits = !value.empty() && value.size() <= loop_->opts().max_item;
    if (keyed && fits) put = loop_->store().Write(p);
    if (keyed && fits && put.status.ok()) {
      loop_->metrics().Add(kHttpStored);
      Track(put.ticket);
      stored = true;
    } else {
      loop_->metrics().Add(kHttpNotStored);
    }
  }
  // Not stored: an older version must not outlive the one just served.
  if (replaces_ && !stored) Invalidate(cache_key_);
  writer_.Abandon();
  SyncThenRelease();
  WriteClient();
}

void ClientConn::OnOriginFailed(int status, std::string_view why) {
  loop_->metrics().Add(kHttpOriginErrors);
  ReleaseFill(true);
  origin_.Close();
  if (response_started_) {
    // Part of the response is out: only closing can tell the client.
    close_after_ = true;
    tail_.clear();
    writer_.Abandon();
    phase_ = Phase::kFlush;
    return;
  }
  if (StaleOnErrorAllowed()) {
    loop_->metrics().Add(kHttpStaleServed);
    ServeEntry(true);
    return;
  }
  Reply(status, status == 504 ? "Gateway Timeout" : "Bad Gateway", std::string(why) + "\n");
}

bool ClientConn::StaleOnErrorAllowed() const {
  if (!entry_) return false;
  const http::ResponseHead stored = HeadOf(*entry_);
  const http::CacheControl scc = http::ParseCacheControl(stored.fields);
  bool heuristic;
  const int64_t life =
      http::FreshnessLifetime(stored, scc, entry_->times, loop_->opts().heuristic, &heuristic);
  return http::MayServeStaleOnError(req_cc_, scc, life,
                                    http::CurrentAge(stored, entry_->times, Now()));
}

void ClientConn::Invalidate(std::string_view cache_key) {
  WriteTicket t;
  if (loop_->store().Remove(StoreKeyOf(cache_key), nullptr, &t).ok()) {
    loop_->metrics().Add(kHttpInvalidations);
    Track(t);
  }
}

}  // namespace coss::httpd
