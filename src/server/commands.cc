// Command execution for the classic text protocol, and the machinery shared
// with meta commands: start/advance/finish, store reads, compare-and-swap
// retries, multi-key gets.
//
// Read-modify-write commands (add, replace, append, prepend, cas, incr, decr,
// touch, gat, delete) read the object from the store (Store::ReadForUpdate:
// the engine, whose read carries the index slot it saw, or a copy only the RAM
// tier holds), compute, and store with a compare-and-swap on what they read
// (Store::Update); losing the race re-reads and recomputes, up to kMaxAttempts
// times. Such commands on one key take turns (key_turns.h), so the race is
// lost only to a plain set or delete, which does not retry.
#include <spdlog/spdlog.h>

#include "proto/numbers.h"
#include "proto/reply.h"
#include "server/connection.h"
#include "server/stats_report.h"
#include "server/worker.h"

namespace coss::server {

namespace {
constexpr uint16_t kMaxAttempts = 64;
constexpr std::string_view kStored = "STORED\r\n";
constexpr std::string_view kNotStored = "NOT_STORED\r\n";
constexpr std::string_view kExists = "EXISTS\r\n";
constexpr std::string_view kNotFound = "NOT_FOUND\r\n";
constexpr std::string_view kDeleted = "DELETED\r\n";
constexpr std::string_view kTouched = "TOUCHED\r\n";
constexpr std::string_view kNonNumeric =
    "CLIENT_ERROR cannot increment or decrement non-numeric value\r\n";

}  // namespace

// memcached rewrites a counter in place when the result is not longer, padding
// with spaces (protocol.txt allows it); doing the same keeps get-after-decr
// byte-identical.
std::string PadNumber(const std::string& num, size_t old_len) {
  if (num.size() >= old_len) return num;
  return num + std::string(old_len - num.size(), ' ');
}

namespace {
void SetLogLevel(int v) {
  spdlog::set_level(v <= 0   ? spdlog::level::info
                    : v == 1 ? spdlog::level::debug
                             : spdlog::level::trace);
}
}  // namespace

bool Connection::IsWrite(const proto::Request& r) {
  using proto::Command;
  switch (r.cmd) {
    case Command::kGet:
    case Command::kGets:
    case Command::kMetaDebug:
    case Command::kMetaNoop:
    case Command::kStats:
    case Command::kVersion:
    case Command::kVerbosity:
    case Command::kQuit:
      return false;
    case Command::kMetaGet:
      return r.meta.ttl || r.meta.vivify || r.meta.recache || r.meta.new_cas;
    default:
      return true;
  }
}

// True when Start issues a store read at once (single-key commands that look
// at the stored object); multi-key gets pace their own reads
// (AdvanceRetrieval), the others do not read.
bool Connection::ReadsAtStart(const Op& op) {
  using proto::Command;
  const proto::Request& r = op.req;
  if (proto::IsMeta(op.cmd) && r.meta.new_cas) return false;
  switch (op.cmd) {
    case Command::kGet:
    case Command::kGets:
    case Command::kGat:
    case Command::kGats:
    case Command::kSet:
    case Command::kFlushAll:
    case Command::kStats:
    case Command::kVersion:
    case Command::kVerbosity:
    case Command::kQuit:
    case Command::kMetaNoop:
      return false;
    case Command::kMetaSet:
      return !((r.meta.mode == 0 || r.meta.mode == 'S') && !r.meta.compare_cas);
    default:
      return true;
  }
}

// Ordering first (see connection.h). Then the output budget: an op that reads
// at start waits until the read fits (ReadBudget) and the replies held are
// under the limit; otherwise a pipeline of single-key reads (mg) would put all
// of them in flight at once, whatever their size. The head op only waits for
// the socket queue (nothing else can be held before it), as multi-key gets do.
bool Connection::Eligible(const Op& op) const {
  if (!(op.write ? running_ == 0 : running_writes_ == 0)) return false;
  if (!ReadsAtStart(op)) return true;
  if (ops_.front().get() == &op) return out_.bytes() < cfg_.conn_output_limit;
  uint64_t pace;
  return ReadBudget(op.req.key(), &pace) && Buffered() < cfg_.conn_output_limit;
}

// Reads in flight are bounded in number (conn_inflight) and in bytes: the
// bytes held plus what the reads in flight will bring back plus this read stay
// under conn_output_limit. What a read will bring back is the store's size
// hint for its key (Engine::SizeHint: from the index, exact to 12.5 %), so a
// client that switches from small values to large ones cannot get
// conn_inflight large reads going at once. One read is always allowed when
// none is in flight, so progress never stops; it is not looked up (a RAM-tier
// hit does not pay for the index lookup), so the held bytes can pass the limit
// by at most one value.
uint64_t Connection::PaceBytes(std::string_view key) const {
  return inflight_ == 0 ? 0 : ctx_->store->SizeHint(key);
}

bool Connection::ReadBudget(std::string_view key, uint64_t* pace) const {
  *pace = 0;
  if (inflight_ == 0) return true;
  if (inflight_ >= cfg_.conn_inflight) return false;
  *pace = PaceBytes(key);
  return Buffered() + inflight_bytes_ + *pace < cfg_.conn_output_limit;
}

void Connection::Finish(Op& op) {
  // What it emitted is in op.out now (shared or copied); a value read but not
  // sent back (touch, mg without v, md I, append, cas ...) is dropped here, or it
  // would stay in memory, uncounted, until the op leaves the queue (behind a
  // durable write, that can be many ops of up to -I bytes each).
  for (Slot& s : op.slots) {
    s.held.Release();
    s.res.value = Bytes();
    s.turn.Release();  // its store is done: the next command on the key may read
  }
  op.state = Op::State::kDone;
  running_--;
  if (op.write) running_writes_--;
}

void Connection::AwaitDurable(Op& op, const WriteTicket& t) {
  if (!cfg_.ack_wait || t.lsn == 0) return;
  op.durable_pending++;
  if (cfg_.ack_level == Persistence::kWritten) {
    worker_->OweJournal(id_, op.seq, t);  // settled before the loop's replies go out
    return;
  }
  Worker* w = worker_;
  const uint64_t id = id_;
  const uint64_t seq = op.seq;
  ctx_->store->WhenPersisted(t, cfg_.ack_level,
                             [w, id, seq](const Status& st) { w->DeliverDurable(id, seq, st); });
}

Status Connection::RemoveAfterMiss(Op& op, std::string_view key, bool* deleted) {
  WriteTicket ticket;
  const Status st = ctx_->store->Remove(key, nullptr, &ticket);
  if (!st.ok() && st.code() != Code::kNotFound) return st;
  AwaitDurable(op, ticket);
  *deleted = st.ok();
  return Status::Ok();
}

void Connection::Reply(Op& op, std::string_view text) {
  if (!op.req.noreply) op.out.Append(text);
}

void Connection::ReplyServerError(Op& op, std::string_view message) {
  std::string line = "SERVER_ERROR ";
  line += message;
  for (char& c : line) {
    if (c == '\r' || c == '\n') c = ' ';  // one line, whatever the message holds
  }
  line += "\r\n";
  Reply(op, line);
}

void Connection::ServerError(Op& op, const Status& s) {
  m_->Add(kServerErrors);
  switch (s.code()) {
    case Code::kTooLarge:
      m_->Add(kStoreTooLarge);
      return Reply(op, proto::reply::kTooLarge);
    case Code::kBusy:
      m_->Add(kStoreNoMemory);
      return Reply(op, "SERVER_ERROR out of memory storing object\r\n");
    case Code::kShutdown:
      return Reply(op, "SERVER_ERROR server is shutting down\r\n");
    default:
      return ReplyServerError(op, s.ToString());
  }
}

void Connection::IssueRead(Op& op, Slot& slot, bool for_update, std::optional<uint64_t> pace) {
  const uint32_t ki = slot.key_index;
  const std::string_view key = proto::IsRetrieval(op.cmd) ? op.req.keys[ki] : op.req.key();
  slot.in_flight = true;
  slot.ready = false;
  slot.expect = pace ? *pace : PaceBytes(key);
  inflight_bytes_ += slot.expect;
  inflight_++;
  Worker* w = worker_;
  const uint64_t id = id_;
  const uint64_t seq = op.seq;
  auto cb = [w, id, seq, ki](ReadResult r) { w->DeliverRead(id, seq, ki, std::move(r)); };
  // A single-key read-modify-write reads and stores in its key's turn; a
  // retry keeps the turn it has. (gat's keys do not wait: a contended touch
  // ends as a miss, and waiting for several turns at once could deadlock.)
  if (for_update && !slot.turn && !proto::IsRetrieval(op.cmd) && ctx_->turns != nullptr) {
    bool now = false;
    Store* store = ctx_->store;
    slot.turn = ctx_->turns->Take(
        RamKeyHash(key), w,
        [&] {
          return [store, k = std::string(key), cb]() mutable {
            store->ReadForUpdate(k, std::move(cb));
          };
        },
        &now);
    if (!now) return;  // started when the turn comes (KeyTurns::Take)
  }
  if (for_update) {
    ctx_->store->ReadForUpdate(key, std::move(cb));
  } else {
    ctx_->store->Read(key, std::move(cb));
  }
}

void Connection::Retry(Op& op, Slot& slot) {
  if (++slot.attempts >= kMaxAttempts) {
    m_->Add(kServerErrors);
    if (proto::IsMeta(op.cmd)) {
      op.out.Append("SERVER_ERROR too many concurrent changes to this key\r\n");
    } else {
      Reply(op, "SERVER_ERROR too many concurrent changes to this key\r\n");
    }
    Finish(op);
    return;
  }
  m_->Add(kCasRetries);
  IssueRead(op, slot, /*for_update=*/true);
}

bool Connection::PutOrRetry(Op& op, Slot& slot, const PutRequest& req, PutResult* out) {
  *out = ctx_->store->Update(slot.res, req);
  if (out->status.ok()) {
    AwaitDurable(op, out->ticket);
    return true;
  }
  if (out->status.code() == Code::kExists) {
    Retry(op, slot);
    return false;
  }
  if (proto::IsMeta(op.cmd)) {
    const bool saved = op.req.noreply;
    op.req.noreply = false;  // meta: errors are always returned
    ServerError(op, out->status);
    op.req.noreply = saved;
  } else {
    ServerError(op, out->status);
  }
  Finish(op);
  return false;
}

void Connection::Start(Op& op) {
  using proto::Command;
  op.state = Op::State::kRunning;
  running_++;
  if (op.write) running_writes_++;
  const proto::Request& r = op.req;
  if (proto::IsMeta(op.cmd)) m_->Add(kCmdMeta);
  if (proto::IsMeta(op.cmd) && r.meta.new_cas) {
    // Needs an engine that accepts a caller-chosen version (see OPERATIONS.md).
    m_->Add(kClientErrors);
    op.out.Append("CLIENT_ERROR E flag (explicit CAS value) is not supported by this server\r\n");
    Finish(op);
    return;
  }
  if (ReadsAtStart(op)) {
    op.slots.emplace_back();
    IssueRead(op, op.slots.back(), op.write);
    Advance(op);
    return;
  }
  switch (op.cmd) {
    case Command::kGet:
    case Command::kGets:
    case Command::kGat:
    case Command::kGats:
      AdvanceRetrieval(op);
      return;
    case Command::kMetaSet:  // mode set, no compare: no read (ReadsAtStart)
      MetaSetPlain(op);
      return;
    default:
      StartSync(op);
      return;
  }
}

bool Connection::Advance(Op& op) {
  if (op.state != Op::State::kRunning) return false;
  if (proto::IsRetrieval(op.cmd)) return AdvanceRetrieval(op);
  if (op.slots.empty()) return false;
  Slot& s = op.slots.front();
  if (!s.ready) return false;
  s.ready = false;
  if (proto::IsMeta(op.cmd)) {
    ContinueMeta(op, s);
  } else {
    ContinueText(op, s);
  }
  return true;
}

void Connection::StartSync(Op& op) {
  using proto::Command;
  const proto::Request& r = op.req;
  const int64_t now = NowSeconds();
  switch (op.cmd) {
    case Command::kSet: {
      m_->Add(kCmdSet);
      PutRequest p;
      p.key = r.key();
      p.value = r.data;
      p.flags = r.client_flags;
      p.expiry = proto::AbsoluteExpiry(r.exptime, now);
      const PutResult pr = ctx_->store->Write(p);
      if (pr.status.ok()) {
        m_->Add(kTotalItems);
        AwaitDurable(op, pr.ticket);
        Reply(op, kStored);
      } else {
        ServerError(op, pr.status);
      }
      break;
    }
    case Command::kFlushAll: {
      m_->Add(kCmdFlush);
      if (r.exptime <= 0) {
        if (ctx_->pending_flush != nullptr) {  // a delayed one is void now
          if (Status rm = ctx_->pending_flush->Disarm(); !rm.ok())
            spdlog::warn("flush_all: {}", rm.ToString());
        }
        const Status s = ctx_->store->Clear();
        if (!s.ok()) {
          ServerError(op, s);
          break;
        }
        spdlog::info("flush_all: every object dropped");
      } else {
        const int64_t at = proto::AbsoluteExpiry(r.exptime, now);
        // Kept across a restart (pending_flush.h); blocks this worker for one fsync.
        if (ctx_->pending_flush != nullptr) {
          if (Status sv = ctx_->pending_flush->Arm(at); !sv.ok())
            spdlog::warn("delayed flush_all not saved, a restart would forget it: {}",
                         sv.ToString());
        }
        spdlog::info("flush_all: every object will be dropped in {} s", at - now);
      }
      Reply(op, "OK\r\n");
      break;
    }
    case Command::kStats:
      op.out.Append(RenderStats(*ctx_, r.args));
      break;
    case Command::kVersion:
      op.out.Append(std::string("VERSION ") + kVersionString + "\r\n");
      break;
    case Command::kVerbosity:
      ctx_->verbosity.store(r.verbosity);
      SetLogLevel(std::max(ctx_->config->verbosity, r.verbosity));
      Reply(op, "OK\r\n");
      break;
    case Command::kQuit:
      op.close_after = true;
      break;
    case Command::kMetaNoop:
      op.out.Append("MN\r\n");
      break;
    default:
      break;
  }
  Finish(op);
}

bool Connection::AdvanceRetrieval(Op& op) {
  bool progress = false;
  const bool touch = op.cmd == proto::Command::kGat || op.cmd == proto::Command::kGats;
  // Finish the keys whose reads came back.
  for (Slot& s : op.slots) {
    if (!s.ready) continue;
    s.ready = false;
    progress = true;
    RetrievalKeyDone(op, s);
  }
  // Emit finished keys in order.
  const bool with_cas = op.cmd == proto::Command::kGets || op.cmd == proto::Command::kGats;
  while (!op.slots.empty() && op.slots.front().done) {
    Slot& s = op.slots.front();
    EmitValue(op, op.req.keys[s.key_index], s.res, with_cas);
    op.slots.erase(op.slots.begin());
    progress = true;
  }
  // Issue more keys. The head request only waits for the socket; later ones
  // also for the replies queued behind the head.
  // Values read but not emitted yet count too: reads that complete inline (RAM
  // tier, stripe buffers) would otherwise all land before any is emitted.
  const bool head = ops_.front().get() == &op;
  uint64_t pace = 0;
  while (op.next_key < op.req.keys.size() && ReadBudget(op.req.keys[op.next_key], &pace) &&
         (head ? out_.bytes() + held_bytes_ : Buffered()) < cfg_.conn_output_limit) {
    op.slots.emplace_back();
    Slot& s = op.slots.back();
    s.key_index = op.next_key++;
    m_->Add(kCmdGet);
    if (touch) m_->Add(kCmdTouch);
    IssueRead(op, s, touch, pace);  // the size ReadBudget looked up, not a second lookup
    progress = true;
  }
  if (op.next_key == op.req.keys.size() && op.slots.empty()) {
    op.out.Append("END\r\n");
    Finish(op);
    return true;
  }
  return progress;
}

void Connection::RetrievalKeyDone(Op& op, Slot& s) {
  const bool touch = op.cmd == proto::Command::kGat || op.cmd == proto::Command::kGats;
  ReadResult& r = s.res;
  if (!r.ok()) {
    m_->Add(kGetMisses);
    if (touch) m_->Add(kTouchMisses);
    s.done = true;
    return;
  }
  if (touch) {
    PutRequest p;
    p.key = op.req.keys[s.key_index];
    p.value = r.value.view();
    p.flags = r.flags;
    p.expiry = proto::AbsoluteExpiry(op.req.exptime, NowSeconds());
    p.keep_version = r.version;  // touch keeps the CAS value, as memcached does
    const PutResult pr = ctx_->store->Update(r, p);
    if (pr.status.code() == Code::kExists) {
      if (++s.attempts < kMaxAttempts) {
        m_->Add(kCasRetries);
        IssueRead(op, s, true);
        return;
      }
      r.code = Code::kNotFound;  // contended to the end: reported as a miss
      m_->Add(kGetMisses);
      m_->Add(kTouchMisses);
      s.done = true;
      return;
    }
    if (pr.status.ok()) {
      r.version = pr.version;
      r.expiry = p.expiry;
      AwaitDurable(op, pr.ticket);
    }
    m_->Add(kTouchHits);
  }
  m_->Add(kGetHits);
  switch (r.source) {
    case Source::kRam:
      m_->Add(kHitsRam);
      break;
    case Source::kStoreMemory:
      m_->Add(kHitsStoreMemory);
      break;
    case Source::kStoreDisk:
      m_->Add(kHitsStoreDisk);
      break;
    default:
      break;
  }
  s.done = true;
}

void Connection::EmitValue(Op& op, std::string_view key, const ReadResult& r, bool with_cas) {
  if (!r.ok()) return;
  std::string head;
  head.reserve(key.size() + 48);
  proto::AppendValueHeader(&head, key, r.flags, r.value.size(), with_cas, r.version);
  op.out.Append(head);
  op.out.AppendValue(r.value);
  op.out.Append("\r\n");
}

void Connection::ContinueText(Op& op, Slot& s) {
  using proto::Command;
  const proto::Request& q = op.req;
  ReadResult& r = s.res;
  const int64_t now = NowSeconds();
  if (!r.ok() && r.code != Code::kNotFound) {
    ServerError(op, Status(r.code, r.error));
    Finish(op);
    return;
  }
  const bool hit = r.ok();
  PutRequest p;
  p.key = q.key();
  PutResult pr;
  switch (op.cmd) {
    case Command::kAdd:
    case Command::kReplace:
    case Command::kAppend:
    case Command::kPrepend:
    case Command::kCas: {
      if (s.attempts == 0) m_->Add(kCmdSet);
      if (op.cmd == Command::kCas && !hit) {
        m_->Add(kCasMisses);
        Reply(op, kNotFound);
        break;
      }
      if (op.cmd == Command::kCas && r.version != q.cas_unique) {
        m_->Add(kCasBadval);
        Reply(op, kExists);
        break;
      }
      if (op.cmd == Command::kAdd ? hit : !hit) {
        Reply(op, kNotStored);
        break;
      }
      std::string joined;
      p.value = q.data;
      p.flags = q.client_flags;
      p.expiry = proto::AbsoluteExpiry(q.exptime, now);
      if (op.cmd == Command::kAppend || op.cmd == Command::kPrepend) {
        if (r.value.size() + q.data.size() > cfg_.max_item_size) {
          ServerError(op, Status(Code::kTooLarge, "too large"));
          break;
        }
        joined = op.cmd == Command::kAppend ? r.value.str() + std::string(q.data)
                                            : std::string(q.data) + r.value.str();
        p.value = joined;
        p.flags = r.flags;
        p.expiry = r.expiry;
      }
      if (!PutOrRetry(op, s, p, &pr)) return;
      m_->Add(kTotalItems);
      if (op.cmd == Command::kCas) m_->Add(kCasHits);
      Reply(op, kStored);
      break;
    }
    case Command::kDelete: {
      if (!hit) {
        bool deleted = false;
        if (Status st = RemoveAfterMiss(op, q.key(), &deleted); !st.ok()) {
          ServerError(op, st);
          break;
        }
        m_->Add(deleted ? kDeleteHits : kDeleteMisses);
        Reply(op, deleted ? kDeleted : kNotFound);
        break;
      }
      WriteTicket ticket;
      const Status st = ctx_->store->Remove(q.key(), &r.seen, &ticket);
      if (st.code() == Code::kExists) return Retry(op, s);
      if (st.ok() || st.code() == Code::kNotFound) AwaitDurable(op, ticket);
      if (st.code() == Code::kNotFound) {
        m_->Add(kDeleteMisses);
        Reply(op, kNotFound);
      } else if (!st.ok()) {
        ServerError(op, st);
      } else {
        m_->Add(kDeleteHits);
        Reply(op, kDeleted);
      }
      break;
    }
    case Command::kIncr:
    case Command::kDecr: {
      const bool incr = op.cmd == Command::kIncr;
      if (!hit) {
        m_->Add(incr ? kIncrMisses : kDecrMisses);
        Reply(op, kNotFound);
        break;
      }
      uint64_t v = 0;
      if (!proto::ParseU64(r.value.view(), &v)) {
        m_->Add(kClientErrors);
        Reply(op, kNonNumeric);
        break;
      }
      v = incr ? v + q.delta : (q.delta > v ? 0 : v - q.delta);
      const std::string num = std::to_string(v);
      const std::string stored = PadNumber(num, r.value.size());
      p.value = stored;
      p.flags = r.flags;
      p.expiry = r.expiry;
      if (!PutOrRetry(op, s, p, &pr)) return;
      m_->Add(incr ? kIncrHits : kDecrHits);
      Reply(op, num + "\r\n");
      break;
    }
    case Command::kTouch: {
      if (s.attempts == 0) m_->Add(kCmdTouch);
      if (!hit) {
        m_->Add(kTouchMisses);
        Reply(op, kNotFound);
        break;
      }
      p.value = r.value.view();
      p.flags = r.flags;
      p.expiry = proto::AbsoluteExpiry(q.exptime, now);
      p.keep_version = r.version;  // touch keeps the CAS value
      if (!PutOrRetry(op, s, p, &pr)) return;
      m_->Add(kTouchHits);
      Reply(op, kTouched);
      break;
    }
    default:
      break;
  }
  Finish(op);
}

}  // namespace coss::server
