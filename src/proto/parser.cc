// Parser framing: line splitting, line limits, swallowing, data blocks. The
// per-command grammar lives in text_commands.cc and meta_commands.cc.
#include "proto/parser.h"

#include <cstring>

namespace coss::proto {

namespace {

bool StartsWith(std::string_view s, std::string_view p) {
  return s.substr(0, p.size()) == p;
}

// memcached lets retrieval lines grow past the normal limit (large multigets).
bool IsRetrievalLine(std::string_view in) {
  size_t i = 0;
  while (i < in.size() && in[i] == ' ') i++;
  in.remove_prefix(i);
  return StartsWith(in, "get ") || StartsWith(in, "gets ") || StartsWith(in, "gat ") ||
         StartsWith(in, "gats ");
}

}  // namespace

const char* CommandName(Command c) {
  switch (c) {
    case Command::kGet:
      return "get";
    case Command::kGets:
      return "gets";
    case Command::kGat:
      return "gat";
    case Command::kGats:
      return "gats";
    case Command::kSet:
      return "set";
    case Command::kAdd:
      return "add";
    case Command::kReplace:
      return "replace";
    case Command::kAppend:
      return "append";
    case Command::kPrepend:
      return "prepend";
    case Command::kCas:
      return "cas";
    case Command::kDelete:
      return "delete";
    case Command::kIncr:
      return "incr";
    case Command::kDecr:
      return "decr";
    case Command::kTouch:
      return "touch";
    case Command::kFlushAll:
      return "flush_all";
    case Command::kStats:
      return "stats";
    case Command::kVersion:
      return "version";
    case Command::kVerbosity:
      return "verbosity";
    case Command::kQuit:
      return "quit";
    case Command::kMetaGet:
      return "mg";
    case Command::kMetaSet:
      return "ms";
    case Command::kMetaDelete:
      return "md";
    case Command::kMetaArithmetic:
      return "ma";
    case Command::kMetaNoop:
      return "mn";
    case Command::kMetaDebug:
      return "me";
  }
  return "?";
}

void Parser::Next(std::string_view in, Step* step) {
  step->kind = StepKind::kNeedMore;
  step->consumed = 0;
  step->need = 0;
  step->reply = {};
  if (swallow_ != 0) {
    const size_t n = swallow_ < in.size() ? static_cast<size_t>(swallow_) : in.size();
    swallow_ -= n;
    step->consumed = n;
    if (swallow_ != 0 || n == in.size()) return;
    in.remove_prefix(n);
  }
  const size_t base = step->consumed;
  const void* nl = std::memchr(in.data(), '\n', in.size());
  const size_t limit = IsRetrievalLine(in) ? lim_.max_get_line : lim_.max_line;
  if (nl == nullptr) {
    if (in.size() >= limit) {
      step->kind = StepKind::kClose;
      step->reply = reply::kLineTooLong;
      step->consumed = base + in.size();
    }
    return;
  }
  const size_t line_len = static_cast<size_t>(static_cast<const char*>(nl) - in.data()) + 1;
  if (line_len > limit) {
    step->kind = StepKind::kClose;
    step->reply = reply::kLineTooLong;
    step->consumed = base + line_len;
    return;
  }
  std::string_view line = in.substr(0, line_len - 1);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  ParseLine(line, line_len, in.substr(line_len), step);
  step->consumed += base;
  if (step->kind == StepKind::kNeedMore && step->need != 0) step->need += base;
}

void Parser::ParseLine(std::string_view line, size_t line_len, std::string_view rest, Step* step) {
  tok_.clear();
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && line[i] == ' ') i++;
    if (i == line.size()) break;
    size_t j = i;
    while (j < line.size() && line[j] != ' ') j++;
    tok_.push_back(line.substr(i, j - i));
    i = j;
  }
  Request& r = step->req;
  r.noreply = false;
  r.keys.clear();
  r.key_raw = {};
  r.key_decoded.clear();
  r.key_is_decoded = false;
  r.client_flags = 0;
  r.exptime = 0;
  r.cas_unique = 0;
  r.delta = 0;
  r.data = {};
  r.verbosity = 0;
  r.args.clear();
  r.meta = MetaFlags{};
  if (!tok_.empty() && tok_[0].size() == 2 && tok_[0][0] == 'm') {
    ParseMeta(line, line_len, rest, step);
  } else {
    ParseText(line, line_len, rest, step);
  }
}

void Parser::TakeData(int32_t vlen, size_t line_len, std::string_view rest, Step* step) {
  const size_t n = static_cast<size_t>(vlen);
  if (rest.size() < n + 2) {
    step->kind = StepKind::kNeedMore;
    step->consumed = 0;
    step->need = line_len + n + 2;
    return;
  }
  step->consumed = line_len + n + 2;
  if (rest[n] != '\r' || rest[n + 1] != '\n') {
    step->kind = StepKind::kReply;
    const bool quiet = IsMeta(step->req.cmd) ? false : step->req.noreply;
    step->reply = quiet ? std::string_view() : reply::kBadChunk;
    return;
  }
  step->kind = StepKind::kRequest;
  step->req.data = rest.substr(0, n);
}

void Parser::ErrorSwallow(std::string_view reply, int32_t vlen, size_t line_len, Step* step) {
  step->kind = StepKind::kReply;
  step->reply = reply;
  step->consumed = line_len;
  swallow_ = static_cast<uint64_t>(vlen) + 2;
}

}  // namespace coss::proto
