// OriginExchange: one request sent to an origin server and its response read
// back, over a non-blocking connection from the loop's pool, for a ClientConn.
//
// It owns the origin side's I/O and framing: taking a pooled (or new)
// connection, writing the request, parsing the response head (interim 1xx
// responses skipped), finding the body's framing, decoding it (length,
// chunked, until close), and at the end either returning the connection to the
// pool or closing it. What the response means for the cache (store it, serve
// it, freshen an entry) is the Sink's business.
//
// Contract:
//  * Start sends a request; the Sink hears OnOriginHead once (head() and
//    framing() are then set), OnOriginBody for each piece of the body, and
//    OnOriginDone once the body is complete; or OnOriginFailed(status, why)
//    instead at any point (a 502 to answer, or a truncated response).
//  * The Sink may end the exchange from any of its calls (Close, or Finish
//    from OnOriginDone); the exchange then stops reading at once.
//  * A pooled connection the origin closed before answering is replaced by a
//    new one, once, when the request's method is idempotent (it may be sent
//    twice).
//  * Flow control: reading pauses while the Sink's output is full
//    (OriginOutputFull) and goes on at Resume.
//  * Bounds: the request is held until written; the input buffer holds at
//    most one read (Loop::kReadChunk) beyond what the decoder has not consumed: a
//    head (the parser bounds it) or a chunk-size line.
//
// Every method runs on the owning loop's thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "http/message.h"
#include "http/parser.h"

namespace coss::httpd {

class Loop;

class OriginExchange {
 public:
  using Clock = std::chrono::steady_clock;

  class Sink {
   public:
    virtual void OnOriginHead() = 0;
    virtual void OnOriginBody(std::string_view data) = 0;
    // The response is complete (the connection is still held: Finish(true)).
    virtual void OnOriginDone() = 0;
    virtual void OnOriginFailed(int status, std::string_view why) = 0;
    // False once the Sink no longer reads this response (it answered the
    // client otherwise, or closed): reading stops.
    virtual bool OriginWanted() const = 0;
    virtual bool OriginOutputFull() const = 0;

   protected:
    ~Sink() = default;
  };

  OriginExchange(Loop* loop, uint64_t conn_id, Sink* sink)
      : loop_(loop), id_(conn_id), sink_(sink) {}
  ~OriginExchange() { Close(); }
  OriginExchange(const OriginExchange&) = delete;
  OriginExchange& operator=(const OriginExchange&) = delete;

  // Sends `request` (head and body, ready to write; its method is `method`)
  // to origin `origin` (Loop::OriginFor). Fails through the Sink when no
  // connection can be had.
  void Start(size_t origin, std::string_view method, std::string request);
  // Events of the origin socket (the loop's role 1).
  void OnEvent(uint32_t events);
  // The Sink's output has room again: reading goes on.
  void Resume();
  // The exchange is over: the connection goes back to the pool when the
  // response was complete (complete) and it may carry another request, else
  // it is closed. head() and framing() stay readable.
  void Finish(bool complete);
  void Close();  // Finish(false)
  // Registers the socket's events with the loop as its state needs.
  void UpdateEvents();

  bool open() const { return a_.fd >= 0; }
  bool paused() const { return a_.paused; }
  bool TimedOut(Clock::time_point now) const { return a_.fd >= 0 && now > deadline_; }
  const http::ResponseHead& head() const { return a_.head; }
  const http::Framing& framing() const { return a_.framing; }

 private:
  // Takes a connection and starts writing the request on it.
  void Open();
  void Write();
  void Read();
  // A pooled connection that failed before any response byte: true when a
  // new one was taken instead (idempotent requests, once).
  bool RetryOnFreshConnection();
  // Decodes buffered body bytes; false once the exchange ended (done or failed).
  bool DecodeBody();
  void Drop(bool reuse);
  void ExtendDeadline();

  Loop* loop_;
  uint64_t id_;
  Sink* sink_;
  size_t origin_ = 0;
  std::string method_;  // the request's (framing, retries)
  bool retried_ = false;

  // One connection tried for the request (a retry starts a new one): the
  // socket and what was read from it. head and framing stay readable after
  // the socket is gone.
  struct Attempt {
    int fd = -1;
    bool reused = false;
    bool connected = false;
    bool head_done = false;
    bool paused = false;
    bool got_bytes = false;
    uint32_t watched = 0;  // events registered with the loop
    size_t out_off = 0;    // request bytes written
    std::string in;
    http::HeadParser parser;
    http::ResponseHead head;
    http::Framing framing;
    http::ChunkedDecoder chunks;
    uint64_t body_left = 0;
  };
  std::string out_;  // the request (kept whole for a retry)
  Attempt a_;
  Clock::time_point deadline_;
};

}  // namespace coss::httpd
