// Grammar of the classic text commands (get ... verbosity), with memcached
// 1.6's token counts, "noreply" rules and error strings. A text command whose
// last token is "noreply" suppresses its reply, error replies included, once the
// token count matched the command (as memcached does).
#include <string_view>
#include <vector>

#include "proto/numbers.h"
#include "proto/parser.h"

namespace coss::proto {

namespace {

struct TextCommand {
  std::string_view name;
  Command cmd;
};

constexpr TextCommand kTextCommands[] = {
    {"get", Command::kGet},
    {"gets", Command::kGets},
    {"gat", Command::kGat},
    {"gats", Command::kGats},
    {"set", Command::kSet},
    {"add", Command::kAdd},
    {"replace", Command::kReplace},
    {"append", Command::kAppend},
    {"prepend", Command::kPrepend},
    {"cas", Command::kCas},
    {"delete", Command::kDelete},
    {"incr", Command::kIncr},
    {"decr", Command::kDecr},
    {"touch", Command::kTouch},
    {"flush_all", Command::kFlushAll},
    {"stats", Command::kStats},
    {"version", Command::kVersion},
    {"verbosity", Command::kVerbosity},
    {"quit", Command::kQuit},
};

void Reply(Step* step, std::string_view text, size_t line_len, bool quiet = false) {
  step->kind = StepKind::kReply;
  step->reply = quiet ? std::string_view() : text;
  step->consumed = line_len;
}

void Done(Step* step, size_t line_len) {
  step->kind = StepKind::kRequest;
  step->consumed = line_len;
}

// An HTTP request line ("GET / HTTP/1.1") on the memcached port: a browser
// tricked into talking to it (cross-protocol requests). memcached closes at
// once without a reply, so that nothing it says can be read as HTTP.
bool IsHttpRequestLine(const std::vector<std::string_view>& t) {
  if (t.size() < 2 || !t.back().starts_with("HTTP/")) return false;
  for (const char c : t[0])
    if (c < 'A' || c > 'Z') return false;
  return true;
}

}  // namespace

void Parser::ParseText(std::string_view line, size_t line_len, std::string_view rest, Step* step) {
  const auto& t = tok_;
  const size_t n = t.size();
  Request& r = step->req;
  // A blank line: ERROR, as memcached 1.6.18 (Debian's) says. Newer memcached
  // says CLIENT_ERROR bad command line format; kept as 1.6.18 because a blank
  // line is what follows every bad data chunk, so the change would show in
  // every such reply sequence (the differential test's peer is 1.6.18).
  if (n == 0) return Reply(step, reply::kError, line_len);
  if (IsHttpRequestLine(t)) {
    step->kind = StepKind::kClose;
    step->reply = {};
    step->consumed = line_len;
    return;
  }
  // cossd has no slabs: automove is accepted (and changes nothing) as
  // memcached accepts it; anything else under it is a bad command line.
  if (t[0] == "slabs" && n >= 2 && t[1] == "automove") {
    const bool ok = n == 3 && (t[2] == "0" || t[2] == "1" || t[2] == "2");
    return Reply(step, ok ? reply::kOk : reply::kBadFormat, line_len);
  }
  const TextCommand* tc = nullptr;
  for (const auto& c : kTextCommands) {
    if (c.name == t[0]) {
      tc = &c;
      break;
    }
  }
  if (tc == nullptr) return Reply(step, reply::kError, line_len);
  r.cmd = tc->cmd;
  const bool last_noreply = t.back() == "noreply";

  switch (tc->cmd) {
    case Command::kGet:
    case Command::kGets: {
      if (n < 2) return Reply(step, reply::kError, line_len);
      for (size_t i = 1; i < n; i++) {
        if (t[i].size() > lim_.max_key) return Reply(step, reply::kBadFormat, line_len);
        r.keys.push_back(t[i]);
      }
      return Done(step, line_len);
    }
    case Command::kGat:
    case Command::kGats: {
      if (n < 2) return Reply(step, reply::kError, line_len);
      if (!ParseI32(t[1], &r.exptime)) return Reply(step, reply::kBadExptime, line_len);
      for (size_t i = 2; i < n; i++) {
        if (t[i].size() > lim_.max_key) return Reply(step, reply::kBadFormat, line_len);
        r.keys.push_back(t[i]);
      }
      return Done(step, line_len);
    }
    case Command::kSet:
    case Command::kAdd:
    case Command::kReplace:
    case Command::kAppend:
    case Command::kPrepend:
    case Command::kCas: {
      const size_t base = tc->cmd == Command::kCas ? 6 : 5;
      // "cas k 0 0 6 ": the CAS field is there but empty (newer memcached).
      if (tc->cmd == Command::kCas && n == base - 1 && line.ends_with(' '))
        return Reply(step, reply::kBadFormat, line_len);
      if (n != base && n != base + 1) return Reply(step, reply::kError, line_len);
      r.noreply = n == base + 1 && last_noreply;
      int32_t vlen = 0;
      if (t[1].size() > lim_.max_key || !ParseFlags(t[2], &r.client_flags) ||
          !ParseI32(t[3], &r.exptime) || !ParseI32(t[4], &vlen) ||
          (tc->cmd == Command::kCas && !ParseU64(t[5], &r.cas_unique))) {
        return Reply(step, reply::kBadFormat, line_len, r.noreply);
      }
      if (vlen < 0 || vlen > INT32_MAX - 2)
        return Reply(step, reply::kBadFormat, line_len, r.noreply);
      r.key_raw = t[1];
      if (static_cast<size_t>(vlen) > lim_.max_value) {
        return ErrorSwallow(r.noreply ? std::string_view() : reply::kTooLarge, vlen, line_len,
                            step);
      }
      return TakeData(vlen, line_len, rest, step);
    }
    case Command::kIncr:
    case Command::kDecr: {
      if (n != 3 && n != 4) return Reply(step, reply::kError, line_len);
      r.noreply = n == 4 && last_noreply;
      if (t[1].size() > lim_.max_key) return Reply(step, reply::kBadFormat, line_len, r.noreply);
      if (!ParseU64(t[2], &r.delta)) return Reply(step, reply::kBadDelta, line_len, r.noreply);
      r.key_raw = t[1];
      return Done(step, line_len);
    }
    case Command::kDelete: {
      if (n < 2 || n > 4) return Reply(step, reply::kError, line_len);
      r.noreply = n > 2 && last_noreply;
      if (n > 2) {
        const bool hold_is_zero = t[2] == "0";
        const bool ok =
            (n == 3 && (hold_is_zero || r.noreply)) || (n == 4 && hold_is_zero && r.noreply);
        if (!ok) return Reply(step, reply::kDeleteUsage, line_len, r.noreply);
      }
      if (t[1].size() > lim_.max_key) return Reply(step, reply::kBadFormat, line_len, r.noreply);
      r.key_raw = t[1];
      return Done(step, line_len);
    }
    case Command::kTouch: {
      if (n != 3 && n != 4) return Reply(step, reply::kError, line_len);
      r.noreply = n == 4 && last_noreply;
      if (t[1].size() > lim_.max_key) return Reply(step, reply::kBadFormat, line_len, r.noreply);
      if (!ParseI32(t[2], &r.exptime)) return Reply(step, reply::kBadExptime, line_len, r.noreply);
      r.key_raw = t[1];
      return Done(step, line_len);
    }
    case Command::kFlushAll: {
      if (n > 3) return Reply(step, reply::kError, line_len);
      r.noreply = n > 1 && last_noreply;
      if (n == (r.noreply ? 2u : 1u)) {
        r.exptime = 0;
      } else if (!ParseI32(t[1], &r.exptime)) {
        return Reply(step, reply::kBadExptime, line_len, r.noreply);
      }
      return Done(step, line_len);
    }
    case Command::kVerbosity: {
      if (n != 2 && n != 3) return Reply(step, reply::kError, line_len);
      r.noreply = last_noreply;
      uint64_t level = 0;
      if (!ParseU64(t[1], &level)) return Reply(step, reply::kBadFormat, line_len, r.noreply);
      r.verbosity = level > 10 ? 10 : static_cast<int32_t>(level);
      return Done(step, line_len);
    }
    case Command::kStats: {
      for (size_t i = 1; i < n; i++) r.args.push_back(t[i]);
      return Done(step, line_len);
    }
    case Command::kVersion:
    case Command::kQuit:
      return Done(step, line_len);
    default:
      return Reply(step, reply::kError, line_len);
  }
}

}  // namespace coss::proto
