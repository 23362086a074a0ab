#include "tools/bench/protocol.h"

#include <algorithm>
#include <charconv>

namespace coss::tools::bench {

void EncodeRequest(Op op, std::string_view key, uint32_t value_size, std::string_view filler,
                   std::string* out) {
  switch (op) {
    case Op::kGet:
      out->append("get ");
      out->append(key);
      out->append("\r\n");
      return;
    case Op::kDelete:
      out->append("delete ");
      out->append(key);
      out->append("\r\n");
      return;
    case Op::kSet: {
      char num[16];
      const auto r = std::to_chars(num, num + sizeof num, value_size);
      out->append("set ");
      out->append(key);
      out->append(" 0 0 ");
      out->append(num, r.ptr);
      out->append("\r\n");
      out->append(filler.substr(0, value_size));
      out->append("\r\n");
      return;
    }
  }
}

const char* ReplyKindName(ReplyKind k) {
  switch (k) {
    case ReplyKind::kHit:
      return "hit";
    case ReplyKind::kMiss:
      return "miss";
    case ReplyKind::kStored:
      return "stored";
    case ReplyKind::kNotStored:
      return "not_stored";
    case ReplyKind::kDeleted:
      return "deleted";
    case ReplyKind::kNotFound:
      return "not_found";
    case ReplyKind::kError:
      return "error";
    case ReplyKind::kClientError:
      return "client_error";
    case ReplyKind::kServerError:
      return "server_error";
    case ReplyKind::kProtocol:
      return "protocol";
  }
  return "?";
}

namespace {

// Error replies are valid for every command.
bool ErrorLine(std::string_view line, ParseStep* s) {
  if (line == "ERROR" || line.starts_with("ERROR ")) {
    s->kind = ReplyKind::kError;
  } else if (line.starts_with("CLIENT_ERROR")) {
    s->kind = ReplyKind::kClientError;
  } else if (line.starts_with("SERVER_ERROR")) {
    s->kind = ReplyKind::kServerError;
  } else {
    return false;
  }
  s->error_line = line;
  return true;
}

// "VALUE <key> <flags> <bytes>[ <cas>]": the byte count.
bool ValueBytes(std::string_view line, uint64_t* bytes) {
  // Fields after "VALUE ": key, flags, bytes, optional cas.
  std::string_view rest = line.substr(6);
  std::string_view f[4];
  int n = 0;
  while (!rest.empty() && n < 4) {
    const size_t sp = rest.find(' ');
    f[n++] = rest.substr(0, sp);
    if (sp == std::string_view::npos) break;
    rest = rest.substr(sp + 1);
  }
  if (n < 3) return false;
  const auto r = std::from_chars(f[2].data(), f[2].data() + f[2].size(), *bytes);
  return r.ec == std::errc() && r.ptr == f[2].data() + f[2].size();
}

}  // namespace

ParseStep ReplyParser::Parse(Op op, std::string_view in) {
  ParseStep s;
  for (;;) {
    if (stage_ == Stage::kData) {
      const uint64_t take = std::min<uint64_t>(remaining_, in.size() - s.consumed);
      s.consumed += take;
      remaining_ -= take;
      if (remaining_ > 0) return s;
      stage_ = Stage::kDataCrlf;  // the value is followed by CRLF: an empty line
      continue;
    }
    const std::string_view avail = in.substr(s.consumed);
    const size_t eol = avail.find("\r\n");
    if (eol == std::string_view::npos) {
      if (avail.size() > kMaxLine) {
        stage_ = Stage::kLine;
        s.done = true;
        s.kind = ReplyKind::kProtocol;
        s.error_line = avail.substr(0, 80);
      }
      return s;
    }
    const std::string_view line = avail.substr(0, eol);
    s.consumed += eol + 2;
    if (stage_ == Stage::kDataCrlf) {
      if (line.empty()) {
        stage_ = Stage::kEnd;
        continue;
      }
      stage_ = Stage::kLine;
      s.done = true;
      s.kind = ReplyKind::kProtocol;
      s.error_line = line.substr(0, 80);
      return s;
    }
    if (stage_ == Stage::kEnd) {
      stage_ = Stage::kLine;
      s.done = true;
      if (line == "END") {
        s.kind = ReplyKind::kHit;
        s.value_bytes = value_bytes_;
      } else {
        s.kind = ReplyKind::kProtocol;
        s.error_line = line;
      }
      return s;
    }
    // Stage::kLine
    if (ErrorLine(line, &s)) {
      s.done = true;
      return s;
    }
    s.done = true;
    switch (op) {
      case Op::kGet:
        if (line == "END") {
          s.kind = ReplyKind::kMiss;
          return s;
        }
        if (line.starts_with("VALUE ") && ValueBytes(line, &value_bytes_)) {
          s.done = false;
          stage_ = Stage::kData;
          remaining_ = value_bytes_;
          continue;
        }
        break;
      case Op::kSet:
        if (line == "STORED") {
          s.kind = ReplyKind::kStored;
          return s;
        }
        if (line == "NOT_STORED" || line == "EXISTS" || line == "NOT_FOUND") {
          s.kind = ReplyKind::kNotStored;
          return s;
        }
        break;
      case Op::kDelete:
        if (line == "DELETED") {
          s.kind = ReplyKind::kDeleted;
          return s;
        }
        if (line == "NOT_FOUND") {
          s.kind = ReplyKind::kNotFound;
          return s;
        }
        break;
    }
    s.kind = ReplyKind::kProtocol;
    s.error_line = line;
    return s;
  }
}

}  // namespace coss::tools::bench
