// Command execution for the meta protocol (mg ms md ma me), with memcached
// 1.6's reply codes and flag echo rules. The stale/win marks (X, W, Z) are kept
// in MetaStates, tied to the object's version.
#include "proto/numbers.h"
#include "proto/reply.h"
#include "server/connection.h"

namespace coss::server {

namespace {
constexpr std::string_view kNonNumeric =
    "CLIENT_ERROR cannot increment or decrement non-numeric value\r\n";
// Return flags each command echoes.
constexpr std::string_view kMgFlags = "bcfhklOst";
constexpr std::string_view kMsFlags = "bckO";
constexpr std::string_view kMdFlags = "bkO";
constexpr std::string_view kMaFlags = "bctkO";
}  // namespace

void Connection::MetaReply(Op& op, std::string_view code, const proto::MetaItemInfo& info,
                           std::string_view allowed, bool suppress) {
  if (suppress) return;
  std::string line(code);
  proto::AppendMetaFlags(&line, op.req, info, allowed);
  line += "\r\n";
  op.out.Append(line);
}

void Connection::MetaSetPlain(Op& op) {
  const proto::Request& q = op.req;
  const int64_t now = NowSeconds();
  m_->Add(kCmdSet);
  PutRequest p;
  p.key = q.key();
  p.value = q.data;
  p.flags = q.meta.client_flags.value_or(0);
  p.expiry = q.meta.ttl ? proto::AbsoluteExpiry(*q.meta.ttl, now) : 0;
  const PutResult pr = ctx_->store->Write(p);
  if (!pr.status.ok()) {
    ServerError(op, pr.status);
  } else {
    m_->Add(kTotalItems);
    AwaitDurable(op, pr.ticket);
    proto::MetaItemInfo info;
    info.present = true;
    info.cas = pr.version;
    MetaReply(op, "HD", info, kMsFlags, q.meta.quiet);
  }
  Finish(op);
}

void Connection::ContinueMeta(Op& op, Slot& s) {
  if (!s.res.ok() && s.res.code != Code::kNotFound) {
    ServerError(op, Status(s.res.code, s.res.error));
    Finish(op);
    return;
  }
  switch (op.cmd) {
    case proto::Command::kMetaGet:
      return ContinueMetaGet(op, s);
    case proto::Command::kMetaSet:
      return ContinueMetaSet(op, s);
    case proto::Command::kMetaDelete:
      return ContinueMetaDelete(op, s);
    case proto::Command::kMetaArithmetic:
      return ContinueMetaArith(op, s);
    case proto::Command::kMetaDebug:
      return ContinueMetaDebug(op, s);
    default:
      Finish(op);
      return;
  }
}

void Connection::ContinueMetaGet(Op& op, Slot& s) {
  const proto::Request& q = op.req;
  const proto::MetaFlags& f = q.meta;
  ReadResult& r = s.res;
  const int64_t now = NowSeconds();
  const std::string_view key = q.key();
  if (s.attempts == 0) m_->Add(kCmdGet);
  bool won = false;
  MetaMark mark;
  if (!r.ok()) {
    if (!f.vivify) {
      m_->Add(kGetMisses);
      MetaReply(op, "EN", proto::MetaItemInfo{}, kMgFlags, f.quiet);
      Finish(op);
      return;
    }
    // Vivify: an empty placeholder; this client wins the right to recache.
    PutRequest p;
    p.key = key;
    p.value = {};
    p.expiry = proto::AbsoluteExpiry(*f.vivify, now);
    PutResult pr;
    if (!PutOrRetry(op, s, p, &pr)) return;
    r.code = Code::kOk;
    r.value = Bytes();
    r.flags = 0;
    r.expiry = p.expiry;
    r.version = pr.version;
    r.hit_before = false;
    r.last_access = 0;
    won = true;
    mark.win_taken = true;
    ctx_->meta->Set(key, r.version, mark);
    m_->Add(kGetMisses);
  } else {
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
    mark = ctx_->meta->Get(key, r.version);
    if (f.ttl) {  // touch
      PutRequest p;
      p.key = key;
      p.value = r.value.view();
      p.flags = r.flags;
      p.expiry = proto::AbsoluteExpiry(*f.ttl, now);
      p.keep_version = r.version;  // touch keeps the CAS value
      PutResult pr;
      if (!PutOrRetry(op, s, p, &pr)) return;
      m_->Add(kTouchHits);
      r.version = pr.version;
      r.expiry = p.expiry;
      if (mark.stale || mark.win_taken) ctx_->meta->Set(key, r.version, mark);
    }
    const int64_t ttl = proto::RemainingTtl(r.expiry, now);
    if (!mark.win_taken && (mark.stale || (f.recache && r.expiry != 0 && ttl < *f.recache))) {
      won = true;
      mark.win_taken = true;
      ctx_->meta->Set(key, r.version, mark);
    } else if (mark.win_taken) {
      // Z below
    }
  }
  proto::MetaItemInfo info;
  info.present = true;
  info.cas = r.version;
  info.flags = r.flags;
  info.ttl = proto::RemainingTtl(r.expiry, now);
  info.size = r.value.size();
  info.hit_before = r.hit_before;
  info.last_access = r.last_access != 0 ? now - r.last_access : 0;
  info.won = won;
  info.stale = mark.stale;
  info.win_taken = mark.win_taken && !won;
  if (f.ret_value) {
    std::string head = "VA ";
    proto::AppendU64(&head, r.value.size());
    proto::AppendMetaFlags(&head, q, info, kMgFlags);
    head += "\r\n";
    op.out.Append(head);
    op.out.AppendValue(r.value);
    op.out.Append("\r\n");
  } else {
    MetaReply(op, "HD", info, kMgFlags, false);
  }
  Finish(op);
}

void Connection::ContinueMetaSet(Op& op, Slot& s) {
  const proto::Request& q = op.req;
  const proto::MetaFlags& f = q.meta;
  ReadResult& r = s.res;
  const int64_t now = NowSeconds();
  const bool hit = r.ok();
  const char mode = f.mode == 0 ? 'S' : f.mode;
  if (s.attempts == 0) m_->Add(kCmdSet);
  proto::MetaItemInfo fail;
  fail.present = true;  // ms echoes c0 on failure
  bool mark_stale = false;
  if (f.compare_cas) {
    if (!hit) {
      m_->Add(kCasMisses);
      MetaReply(op, "NF", fail, kMsFlags, false);
      Finish(op);
      return;
    }
    if (r.version != *f.compare_cas) {
      if (f.invalidate && *f.compare_cas < r.version) {
        mark_stale = true;
      } else {
        m_->Add(kCasBadval);
        MetaReply(op, "EX", fail, kMsFlags, false);
        Finish(op);
        return;
      }
    }
  }
  if ((mode == 'E' && hit) || ((mode == 'R' || mode == 'A' || mode == 'P') && !hit)) {
    MetaReply(op, "NS", fail, kMsFlags, false);
    Finish(op);
    return;
  }
  PutRequest p;
  p.key = q.key();
  p.value = q.data;
  p.flags = f.client_flags.value_or(0);
  p.expiry = f.ttl ? proto::AbsoluteExpiry(*f.ttl, now) : 0;
  std::string joined;
  if (mode == 'A' || mode == 'P') {
    if (r.value.size() + q.data.size() > cfg_.max_item_size) {
      op.out.Append(proto::reply::kTooLarge);
      m_->Add(kStoreTooLarge);
      Finish(op);
      return;
    }
    joined =
        mode == 'A' ? r.value.str() + std::string(q.data) : std::string(q.data) + r.value.str();
    p.value = joined;
    p.flags = r.flags;
    p.expiry = r.expiry;
  }
  PutResult pr;
  if (!PutOrRetry(op, s, p, &pr)) return;
  m_->Add(kTotalItems);
  if (f.compare_cas) m_->Add(kCasHits);
  if (mark_stale) ctx_->meta->Set(q.key(), pr.version, MetaMark{true, false});
  proto::MetaItemInfo info;
  info.present = true;
  info.cas = pr.version;
  MetaReply(op, "HD", info, kMsFlags, f.quiet);
  Finish(op);
}

void Connection::ContinueMetaDelete(Op& op, Slot& s) {
  const proto::Request& q = op.req;
  const proto::MetaFlags& f = q.meta;
  ReadResult& r = s.res;
  const proto::MetaItemInfo none;
  if (!r.ok()) {
    bool deleted = false;
    if (Status st = RemoveAfterMiss(op, q.key(), &deleted); !st.ok()) {
      ServerError(op, st);
      Finish(op);
      return;
    }
    m_->Add(deleted ? kDeleteHits : kDeleteMisses);
    if (deleted) {
      MetaReply(op, "HD", none, kMdFlags, f.quiet);
    } else {
      MetaReply(op, "NF", none, kMdFlags, false);
    }
    Finish(op);
    return;
  }
  if (f.compare_cas && r.version != *f.compare_cas) {
    MetaReply(op, "EX", none, kMdFlags, false);
    Finish(op);
    return;
  }
  if (f.invalidate) {
    // Mark stale: same value under a new version (and TTL when T is given).
    PutRequest p;
    p.key = q.key();
    p.value = r.value.view();
    p.flags = r.flags;
    p.expiry = f.ttl ? proto::AbsoluteExpiry(*f.ttl, NowSeconds()) : r.expiry;
    PutResult pr;
    if (!PutOrRetry(op, s, p, &pr)) return;
    ctx_->meta->Set(q.key(), pr.version, MetaMark{true, false});
  } else {
    WriteTicket ticket;
    const Status st = ctx_->store->Remove(q.key(), &r.seen, &ticket);
    if (st.code() == Code::kExists) return Retry(op, s);
    if (st.ok() || st.code() == Code::kNotFound) AwaitDurable(op, ticket);
    if (st.code() == Code::kNotFound) {
      m_->Add(kDeleteMisses);
      MetaReply(op, "NF", none, kMdFlags, false);
      Finish(op);
      return;
    }
    if (!st.ok()) {
      op.out.Append("SERVER_ERROR " + st.ToString() + "\r\n");
      Finish(op);
      return;
    }
  }
  m_->Add(kDeleteHits);
  MetaReply(op, "HD", none, kMdFlags, f.quiet);
  Finish(op);
}

void Connection::ContinueMetaArith(Op& op, Slot& s) {
  const proto::Request& q = op.req;
  const proto::MetaFlags& f = q.meta;
  ReadResult& r = s.res;
  const int64_t now = NowSeconds();
  const bool incr = f.mode != 'D';
  const proto::MetaItemInfo none;
  uint64_t value = 0;
  PutRequest p;
  p.key = q.key();
  if (!r.ok()) {
    if (!f.vivify) {
      m_->Add(incr ? kIncrMisses : kDecrMisses);
      MetaReply(op, "NF", none, kMaFlags, false);
      Finish(op);
      return;
    }
    value = f.initial.value_or(0);
    p.flags = 0;
    p.expiry = proto::AbsoluteExpiry(*f.vivify, now);
  } else {
    if (f.compare_cas && r.version != *f.compare_cas) {
      MetaReply(op, "EX", none, kMaFlags, false);
      Finish(op);
      return;
    }
    if (!proto::ParseU64(r.value.view(), &value)) {
      m_->Add(kClientErrors);
      op.out.Append(kNonNumeric);
      Finish(op);
      return;
    }
    const uint64_t d = f.delta.value_or(1);
    value = incr ? value + d : (d > value ? 0 : value - d);
    p.flags = r.flags;
    p.expiry = f.ttl ? proto::AbsoluteExpiry(*f.ttl, now) : r.expiry;
  }
  const std::string num = std::to_string(value);
  const std::string stored = r.ok() ? PadNumber(num, r.value.size()) : num;
  p.value = stored;
  PutResult pr;
  if (!PutOrRetry(op, s, p, &pr)) return;
  m_->Add(incr ? kIncrHits : kDecrHits);
  proto::MetaItemInfo info;
  info.present = true;
  info.cas = pr.version;
  info.ttl = proto::RemainingTtl(p.expiry, now);
  if (!f.quiet) {
    if (f.ret_value) {
      std::string line = "VA ";
      proto::AppendU64(&line, num.size());
      proto::AppendMetaFlags(&line, q, info, kMaFlags);
      line += "\r\n";
      line += num;
      line += "\r\n";
      op.out.Append(line);
    } else {
      MetaReply(op, "HD", info, kMaFlags, false);
    }
  }
  Finish(op);
}

void Connection::ContinueMetaDebug(Op& op, Slot& s) {
  ReadResult& r = s.res;
  if (!r.ok()) {
    op.out.Append("EN\r\n");
    Finish(op);
    return;
  }
  const int64_t now = NowSeconds();
  std::string line = "ME ";
  line += op.req.key_raw;
  line += " exp=";
  proto::AppendI64(&line, proto::RemainingTtl(r.expiry, now));
  line += " la=";
  proto::AppendI64(&line, r.last_access != 0 ? now - r.last_access : 0);
  line += " cas=";
  proto::AppendU64(&line, r.version);
  line += r.hit_before ? " fetch=yes" : " fetch=no";
  line += " cls=1 size=";
  proto::AppendU64(&line, op.req.key().size() + r.value.size());
  line += "\r\n";
  op.out.Append(line);
  Finish(op);
}

}  // namespace coss::server
