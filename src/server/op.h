// Op: one client request on its way through a connection, from parse to reply.
//
// A connection keeps its Ops in request order and sends their replies in that
// order. An Op owns a copy of its request bytes once it outlives the read
// buffer (storage, with the Request's views pointing into it), its reply bytes
// (out), and its store reads (slots): one slot for a single-key command, a
// sliding window of slots for a multi-key get.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "proto/request.h"
#include "server/key_turns.h"
#include "server/out_queue.h"
#include "server/store.h"

namespace coss::server {

// Bytes of a delivered store read that a slot still holds, charged to the
// connection's output budget (Connection::Buffered) until the slot lets go of
// them: the value was emitted into a reply, the op finished, or the slot died.
class HeldBytes {
 public:
  HeldBytes() = default;
  HeldBytes(size_t* counter, size_t n) : counter_(counter), n_(n) { *counter_ += n_; }
  HeldBytes(HeldBytes&& o) noexcept : counter_(o.counter_), n_(o.n_) { o.n_ = 0; }
  HeldBytes& operator=(HeldBytes&& o) noexcept {
    if (this != &o) {
      Release();
      counter_ = o.counter_;
      n_ = o.n_;
      o.n_ = 0;
    }
    return *this;
  }
  HeldBytes(const HeldBytes&) = delete;
  HeldBytes& operator=(const HeldBytes&) = delete;
  ~HeldBytes() { Release(); }
  void Release() {
    if (n_ != 0) *counter_ -= n_;
    n_ = 0;
  }

 private:
  size_t* counter_ = nullptr;
  size_t n_ = 0;
};

struct Slot {
  uint32_t key_index = 0;  // which key of the request (0 for single-key commands)
  bool in_flight = false;  // a store read was issued and has not been delivered
  bool ready = false;      // `res` holds a delivered read
  bool done = false;       // multi-key: this key's outcome is final
  uint16_t attempts = 0;   // compare-and-swap retries so far
  uint64_t expect = 0;     // in flight: the bytes it was paced for (Connection::ReadBudget)
  ReadResult res;
  HeldBytes held;        // res.value's bytes while they count against the output budget
  KeyTurns::Claim turn;  // read-modify-write: its key's turn until the store (key_turns.h)
};

struct Op {
  enum class State : uint8_t { kQueued, kRunning, kDone };

  explicit Op(size_t* out_counter) : out(out_counter) {}

  // Back to a blank op, keeping allocated capacity (ops are pooled per
  // connection). `req` is refilled by swapping with the parser's request.
  void Reset(uint64_t s) {
    seq = s;
    cmd = proto::Command::kGet;
    write = false;
    close_after = false;
    state = State::kQueued;
    literal = false;
    durable_pending = 0;
    durable_failed = false;
    durable_error.clear();
    storage.clear();
    out.Clear();
    slots.clear();
    next_key = 0;
  }

  uint64_t seq = 0;
  proto::Command cmd = proto::Command::kGet;
  bool write = false;        // runs alone: after every earlier op is done
  bool close_after = false;  // quit: close once this reply (and all before) is sent
  State state = State::kQueued;
  bool literal = false;          // a parser reply, not a request
  uint32_t durable_pending = 0;  // writes whose journal sync is awaited before replying
  bool durable_failed = false;   // one failed: the reply is a SERVER_ERROR
  std::string durable_error;     // ... with this message
  std::chrono::steady_clock::time_point start;
  std::string storage;  // owned request bytes (see Connection::Own)
  proto::Request req;
  OutQueue out;
  std::vector<Slot> slots;  // in key order; finished multi-key slots leave from the front
  uint32_t next_key = 0;    // multi-key: next key to read
};

}  // namespace coss::server
