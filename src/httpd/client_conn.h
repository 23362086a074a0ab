// ClientConn: one client connection of the HTTP proxy and the exchange it is
// running (one request at a time; pipelined requests wait in the read buffer).
//
// An exchange: read and check the request head (and a body, buffered up to
// max_request_body) -> PURGE, pass-through (unsafe and other methods, then
// invalidation), or a store lookup (GET/HEAD; through the URL's Vary marker to
// the variant, when it has one) -> serve the entry (or a range of it),
// revalidate it with a conditional request, wait for another connection's
// fetch of the URL (collapsing, see Loop), or fetch from the origin -> stream
// the origin's response (or the client's range of it) to the client while
// keeping a copy to store when the rules allow. A connection without a client
// socket (StartRefresh) runs one background revalidation.
//
// Durability (--write-ack durable): what the store changes on the way (a
// purge, the invalidations after an unsafe request, a stored response and
// its Vary marker) is on stable storage before the client has the whole
// answer: a purge is answered 200 only then, and a response's last byte (the
// last chunk when re-chunked; the head's last byte when the body is empty) is
// held back until then. So a crash can only cost a client a truncated
// response, never bring back, after the client saw a newer one, a purged,
// invalidated or overwritten version. If the change cannot be made durable,
// the tail is never sent: the connection is closed.
//
// Bounds: the read buffer holds at most one head (Limits::max_head) and a body
// of max_request_body; reply bytes queued for the client stay under
// kOutputHigh plus one read from the origin (which is not read while they are
// above it), or, streaming a chunked entry, kStreamAhead plus one chunk (held
// by reference to the stored value); the copy kept for storing
// stays under one chunk plus one read (a larger body goes to the store in
// chunks as it arrives; past max_object the response is passed on and not
// stored).
//
// Every method runs on the owning loop's thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <vector>

#include "http/cache_control.h"
#include "http/chunk_ranges.h"
#include "http/message.h"
#include "http/parser.h"
#include "http/range.h"
#include "httpd/body_writer.h"
#include "httpd/cache_entry.h"
#include "httpd/loop.h"
#include "httpd/origin_exchange.h"
#include "server/store.h"

namespace coss::httpd {

class ClientConn final : private OriginExchange::Sink {
 public:
  using Clock = std::chrono::steady_clock;
  static constexpr size_t kOutputHigh = size_t{256} * 1024;
  // A streamed entry's next chunk is read while less than this is queued.
  static constexpr size_t kStreamAhead = size_t{1} << 20;

  ClientConn(Loop* loop, uint64_t id, int fd, bool loopback_peer);
  ~ClientConn();
  ClientConn(const ClientConn&) = delete;
  ClientConn& operator=(const ClientConn&) = delete;

  void OnClientEvent(uint32_t events);
  void OnOriginEvent(uint32_t events);
  void OnLookup(const server::ReadResult& r);
  // A store change of this exchange (a purge, an invalidation, a stored
  // response) is on stable storage, or cannot be made so.
  void OnDurable(const Status& st);
  void OnTick(Clock::time_point now);
  // The proxy drains: close now when idle between requests, else after the
  // exchange that runs.
  void StartDrain();
  // The fetch this connection waited for (of store key `key`) ended: read the
  // store again, or (pass: nothing was stored) fetch from the origin.
  void OnFillDone(const std::string& key, bool pass);
  // A connection with no client socket (fd -1): revalidates `entry` for `req`
  // in the background, stores what the origin answers, and closes.
  void StartRefresh(Loop::RefreshJob job);
  bool finished() const { return closed_; }

 private:
  enum class Phase : uint8_t {
    kHead,    // waiting for a request head
    kBody,    // reading a request body
    kLookup,  // store read in flight
    kSync,    // response complete but for its tail: waiting for store changes to be durable
    kWait,    // a miss waiting for another connection's fetch of the same key
    kStream,  // sending a chunked entry from the store, a chunk at a time
    kOrigin,  // exchange with the origin running
    kFlush,   // response complete in out_, being written
  };
  // --- client side ---
  void ReadClient();
  void WriteClient();
  void Advance();  // runs the exchange as far as it can go
  void StartRequest();
  void Route();
  void Purge();
  void Lookup();
  void ReadStore(const std::string& key);  // OnLookup gets the result
  // The store key for a response with these Vary values: its variant's key
  // under the URL's marker, writing a new marker first when there is none
  // with these names. False when the marker cannot be written.
  bool KeyVariant(const http::Fields& vary, std::string* key);
  void Fetch(bool conditional);
  // Before a fetch for the store: true when another connection of the loop
  // is fetching the key (this one then waits, phase kWait); else this one
  // leads (fill_key_) when it may fill the store for others.
  bool WaitOrLead();
  // The led fetch is over, or its outcome known: wakes the waiters (pass:
  // they fetch for themselves). No-op when not leading.
  void ReleaseFill(bool pass);
  void ServeEntry(bool stale);
  void Reply(int status, std::string_view reason, std::string_view body, bool close_after = false);
  void FinishExchange();
  // Waits for every ticket in tickets_, then sends tail_ (or closes on an
  // error); at once when there is nothing to wait for.
  void SyncThenRelease();
  void Track(const WriteTicket& t);
  void UpdateEvents();
  void Close();

  // --- origin side (OriginExchange::Sink) ---
  void OnOriginHead() override;
  void OnOriginBody(std::string_view data) override;
  void OnOriginDone() override { EndOriginResponse(true); }
  void OnOriginFailed(int status, std::string_view why) override;
  bool OriginWanted() const override { return !closed_ && phase_ == Phase::kOrigin; }
  bool OriginOutputFull() const override { return Pending() >= kOutputHigh; }
  // The response from the origin is complete, or (complete false) the rest
  // of its body is not wanted: the origin connection is then closed.
  void EndOriginResponse(bool complete);
  void Invalidate(std::string_view cache_key);

  void AppendHead(int status, std::string_view reason, const http::Fields& fields,
                  std::optional<uint64_t> length, bool chunked);
  bool ClientConditionalMatches(const CacheEntry& e) const;
  // The stored entry may stand in for an origin failure or 5xx (stale-if-error).
  bool StaleOnErrorAllowed() const;
  // The client's Range for a 200 response with these fields and this length
  // (kIgnore unless a GET with one Range field whose If-Range holds).
  http::RangeOutcome RangeRequested(const http::Fields& response, uint64_t length,
                                    std::vector<http::ByteRange>* out) const;
  void AppendUnsatisfiable(uint64_t length);  // a 416 head
  std::string Boundary();                     // a multipart/byteranges boundary
  int64_t Now() const;

  Loop* loop_;
  uint64_t id_;
  int fd_;
  bool loopback_;
  bool closed_ = false;
  bool peer_closed_ = false;
  bool close_after_ = false;  // close once the current response is written
  Phase phase_ = Phase::kHead;
  Clock::time_point last_io_;
  Clock::time_point head_started_{};

  std::string in_;  // unconsumed client bytes
  std::string out_;
  size_t out_off_ = 0;
  uint32_t watched_ = 0;

  http::HeadParser parser_;
  http::RequestHead req_;
  http::CacheControl req_cc_;
  std::string cache_key_;
  std::string store_key_;
  std::string req_body_;
  http::Framing req_framing_;
  http::ChunkedDecoder req_chunks_;
  bool head_only_ = false;

  std::optional<CacheEntry> entry_;   // the stored response, when there is one
  std::string entry_key_;             // the store key entry_ was read from (or is looked up at)
  std::optional<VaryMarker> marker_;  // the URL's Vary marker, when it has one
  std::string fill_key_;              // the key this exchange fetches for its waiters
  std::string wait_key_;              // the key whose fetch this exchange waits for
  bool waited_ = false;               // waited once already (never twice per exchange)
  Clock::time_point wait_started_{};
  bool revalidating_ = false;
  OriginExchange origin_;  // the exchange's request to the origin, when it has one
  // The response being streamed from the origin.
  bool chunk_out_ = false;  // re-chunked to the client
  bool replaces_ = false;   // a stored version of this URL goes if this one is not stored
  BodyWriter writer_;       // active while the response being streamed is to be stored
  // Serving a chunked entry: byte ranges of the body (the whole body, one
  // range, or several as multipart/byteranges with http::MultipartFraming
  // around them) are sent in order; stream_ says which chunk to read next and
  // what of it goes out. One chunk is read at a time, ahead of the socket by
  // up to kStreamAhead.
  void StartStream(std::vector<http::ByteRange> ranges, std::vector<std::string> framing);
  void ReadNextChunk();
  void OnChunk(const server::ReadResult& r);
  bool ChunksPresent(const CacheEntry& e);
  std::optional<http::ChunkRanges> stream_;
  bool chunk_reading_ = false;
  // Chunks queued for the client by reference (after out_), not copied.
  struct ChunkOut {
    Bytes value;
    size_t off;
    size_t len;
  };
  std::deque<ChunkOut> chunks_out_;  // at most kStreamAhead plus one chunk
  size_t chunks_out_bytes_ = 0;
  size_t Pending() const;  // reply bytes not yet sent: out_ and chunks_out_
  uint64_t body_off_ = 0;  // body bytes received from the origin so far
  bool windowed_ = false;  // only body bytes in [win_begin_, win_end_) go to the client
  uint64_t win_begin_ = 0;
  uint64_t win_end_ = 0;
  uint64_t boundaries_ = 0;
  int64_t request_time_ = 0;
  bool response_started_ = false;
  bool purging_ = false;
  std::string tail_;  // response bytes held back until tickets_ are durable
  std::vector<WriteTicket> tickets_;
  uint32_t syncs_pending_ = 0;
  Status sync_error_;
};

}  // namespace coss::httpd
