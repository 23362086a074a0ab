// Connection: one client socket on one worker: reads, parses, executes in
// order, replies in order.
//
// Durability: with --write-ack written (the default) or durable a write's
// reply, and so every reply after it, is released only once the store's
// journal has it written (the worker writes it itself, Worker::OweJournal) or
// on stable storage (Engine::WhenPersisted); the write is visible to readers
// at once.
//
// Ordering (what makes pipelining safe): requests start in arrival order; a
// read-only request (get, gets, plain mg, me, ...) may run alongside earlier
// read-only ones, a request that changes data ("write": set, incr, delete,
// gat, ...) starts only when every earlier request is done, and nothing starts
// while an earlier write runs. Replies are queued strictly in request order,
// whatever order store reads complete in.
//
// Bounds (all from ServerConfig): the read buffer never exceeds the parser's
// BufferBound(); at most conn_pending requests wait, and the request bytes they
// keep (a request that outlives the read buffer owns a copy, value included)
// stop parsing once they reach BufferBound() (one largest request), so they
// stay below twice that; store reads in flight are at most conn_inflight; when
// queued reply bytes exceed conn_output_limit the connection stops issuing
// reads and stops reading the socket until the client drains its replies (TCP
// back-pressure).
//
// Threading: every method runs on the owning worker's thread. Store reads that
// complete elsewhere come back through Worker::DeliverRead -> OnRead.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "proto/parser.h"
#include "proto/reply.h"
#include "server/context.h"
#include "server/op.h"
#include "server/out_queue.h"

namespace coss::server {

class Worker;

std::string PadNumber(const std::string& num, size_t old_len);

class Connection {
 public:
  Connection(Worker* worker, ServerContext* ctx, WorkerMetrics* metrics, uint64_t id, int fd);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  uint64_t id() const { return id_; }
  int fd() const { return fd_; }

  void OnReadable();
  void OnWritable();
  void OnHangup();
  // A store read finished (on this worker's thread).
  void OnRead(uint64_t seq, uint32_t key_index, ReadResult r);
  // A write of request `seq` reached stable storage (on this worker's thread).
  // A durable write of op `seq` is on stable storage (ok), or cannot be made so:
  // its reply becomes a SERVER_ERROR (never STORED after an I/O error).
  void OnDurable(uint64_t seq, const Status& st);
  // Makes all possible progress, then writes what it can.
  void Pump();
  // Shutdown: finish the requests the client already sent (what the socket
  // holds now), answer them, then close.
  void BeginDrain();

  bool ShouldClose() const;
  // EPOLLIN / EPOLLOUT wanted now.
  uint32_t WantedEvents() const;
  // Brings this connection's share of the worker's back-pressure gauges
  // (paused or not and why, bytes held) up to date; counts a new pause. Called
  // by the worker after every Pump; the destructor takes the share back.
  void ReportGauges();
  // Takes this connection out of the gauges (as if it held nothing); done
  // before the connection is counted out of curr_connections, so a stats
  // reader that sees it gone sees nothing of it in the gauges either.
  void ClearGauges() { SetGauges(Pause::kNone, 0, 0); }
  bool has_inflight_reads() const { return inflight_ != 0; }
  // --idle-timeout: no byte read or written since `since`, and nothing the
  // connection waits for on the server's side (a store read or a journal
  // sync). Requests held only by the output budget wait for the client: a
  // client that stopped reading its replies counts as idle.
  bool IdleSince(std::chrono::steady_clock::time_point since) const;

 private:
  // --- I/O and parsing (connection.cc) ---
  void ReadSocket();
  size_t WriteSocket();  // bytes written
  bool ParseSome();      // true if any request was consumed
  bool ParseBlocked() const;
  void Dispatch(proto::Request& req, std::string_view raw);
  void Literal(std::string_view text);
  void Own(Op& op, std::string_view raw);  // copy request bytes into op.storage
  std::unique_ptr<Op> NewOp();
  void Recycle(std::unique_ptr<Op> op);
  bool MoveHeadOutput();  // true if a finished op left the queue
  // Reply bytes this connection holds: queued for the socket, in ops' replies,
  // and values read for ops but not yet emitted into a reply.
  size_t Buffered() const { return out_.bytes() + op_out_bytes_ + held_bytes_; }
  enum class Pause : uint8_t { kNone, kOutput, kInput };
  Pause PauseNow() const;
  void SetGauges(Pause p, int64_t out_bytes, int64_t in_bytes);

  // --- execution (commands.cc, meta_commands.cc) ---
  static bool IsWrite(const proto::Request& req);
  static bool ReadsAtStart(const Op& op);
  bool Eligible(const Op& op) const;
  void Start(Op& op);
  bool Advance(Op& op);  // true on progress
  void Finish(Op& op);
  // pace: the bytes to reserve for it (see ReadBudget); looked up when not given.
  void IssueRead(Op& op, Slot& slot, bool for_update, std::optional<uint64_t> pace = {});
  void Retry(Op& op, Slot& slot);
  // --write-ack durable: hold op's reply (and every later one) until the
  // write identified by `t` is on stable storage.
  void AwaitDurable(Op& op, const WriteTicket& t);
  // A delete whose read missed. The miss is not an answer yet: the index may
  // still hold the key (an expired value, or one whose read failed with EIO,
  // which the engine reports as a miss), and the delete or flush_all that
  // removed it may not be durable yet. Removing it anyway makes NOT_FOUND final
  // (and, with --write-ack durable, waits until it is durable). *deleted: the
  // key existed after all, in the RAM tier alone (admission kept it off the
  // ring): the answer is DELETED.
  Status RemoveAfterMiss(Op& op, std::string_view key, bool* deleted);
  // *pace: the size it looked up for key (0 when it did not need to).
  bool ReadBudget(std::string_view key, uint64_t* pace) const;
  uint64_t PaceBytes(std::string_view key) const;

  bool AdvanceRetrieval(Op& op);
  void RetrievalKeyDone(Op& op, Slot& slot);  // gat: touch step; emits VALUE
  void EmitValue(Op& op, std::string_view key, const ReadResult& r, bool with_cas);
  void StartSync(Op& op);
  void ContinueText(Op& op, Slot& slot);
  void ContinueMeta(Op& op, Slot& slot);
  void ContinueMetaGet(Op& op, Slot& slot);
  void ContinueMetaSet(Op& op, Slot& slot);
  void ContinueMetaDelete(Op& op, Slot& slot);
  void ContinueMetaArith(Op& op, Slot& slot);
  void ContinueMetaDebug(Op& op, Slot& slot);
  void MetaSetPlain(Op& op);
  void Reply(Op& op, std::string_view text);  // honours noreply
  void ServerError(Op& op, const Status& s);
  // "SERVER_ERROR <message>\r\n", the message kept on one line (not counted).
  void ReplyServerError(Op& op, std::string_view message);
  // Stores a read-modify-write step's result over slot.res (Store::Update).
  // Returns true when stored; otherwise it has already either re-issued the
  // read (lost a compare-and-swap race) or replied with the error and
  // finished the op.
  bool PutOrRetry(Op& op, Slot& slot, const PutRequest& req, PutResult* out);
  // "<code><flags>\r\n" unless `suppress`; `allowed` lists the return flags
  // this command echoes.
  void MetaReply(Op& op, std::string_view code, const proto::MetaItemInfo& info,
                 std::string_view allowed, bool suppress);

  Worker* worker_;
  ServerContext* ctx_;
  WorkerMetrics* m_;
  const ServerConfig& cfg_;
  uint64_t id_;
  int fd_;

  // read buffer: bytes [rbeg_, rend_) of rbuf_ are unconsumed input
  std::unique_ptr<char[]> rbuf_;
  size_t rcap_ = 0, rbeg_ = 0, rend_ = 0;
  proto::Parser parser_;
  proto::Step step_;

  size_t op_out_bytes_ = 0;  // bytes in ops' queues (declared before ops_)
  size_t owned_bytes_ = 0;   // request bytes copied into ops_ (Own)
  size_t held_bytes_ = 0;    // read values held in ops' slots (Slot::held)
  std::deque<std::unique_ptr<Op>> ops_;
  std::vector<std::unique_ptr<Op>> spare_;  // finished ops kept for reuse
  uint64_t next_seq_ = 1;
  size_t started_ = 0;    // ops_[0, started_) have started
  uint32_t running_ = 0;  // started, not done
  uint32_t running_writes_ = 0;
  uint32_t inflight_ = 0;        // store reads in flight
  uint64_t inflight_bytes_ = 0;  // sum of Slot::expect over the reads in flight
  OutQueue out_;

  bool peer_closed_ = false;        // EOF from the client
  bool broken_ = false;             // socket error: close now
  bool close_after_flush_ = false;  // quit or fatal protocol error
  bool stop_parsing_ = false;       // a quit was parsed: ignore what follows
  bool draining_ = false;
  bool read_idle_ = false;  // the last socket read found no data
  std::chrono::steady_clock::time_point last_io_ = std::chrono::steady_clock::now();

  // What ReportGauges last added to the worker's gauges.
  Pause reported_pause_ = Pause::kNone;
  int64_t reported_out_ = 0, reported_in_ = 0;
};

}  // namespace coss::server
