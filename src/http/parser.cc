#include "http/parser.h"

#include <algorithm>
#include <cctype>

namespace coss::http {

namespace {

constexpr size_t kNpos = std::string_view::npos;

bool IsFieldValueChar(unsigned char c) {
  return c == '\t' || (c >= 0x20 && c != 0x7f);  // VCHAR, SP, obs-text
}

bool IsTargetChar(unsigned char c) {
  return c > 0x20 && c < 0x7f;
}

ParseStatus Fail(ParseError* err, int status, std::string reason) {
  err->status = status;
  err->reason = std::move(reason);
  return ParseStatus::kError;
}

// "HTTP/1.x" -> minor version; 505 for another well-formed version, 400 for
// anything else.
bool ParseVersion(std::string_view v, int* minor, ParseError* err) {
  if (v.size() != 8 || v.substr(0, 5) != "HTTP/" || v[6] != '.' || v[5] < '0' || v[5] > '9' ||
      v[7] < '0' || v[7] > '9') {
    Fail(err, 400, "malformed HTTP version");
    return false;
  }
  if (v[5] != '1') {
    Fail(err, 505, "HTTP version not supported");
    return false;
  }
  *minor = v[7] - '0';
  return true;
}

// Parses the field lines of a head: `lines` starts after the start line's CRLF
// and ends with the final empty line's CRLF.
bool ParseFields(std::string_view lines, const Limits& lim, Fields* out, ParseError* err) {
  size_t pos = 0;
  for (;;) {
    const size_t eol = lines.find("\r\n", pos);
    if (eol == kNpos) {  // FindEnd guarantees the final empty line
      Fail(err, 400, "truncated header section");
      return false;
    }
    if (eol == pos) return true;  // the empty line
    const std::string_view line = lines.substr(pos, eol - pos);
    pos = eol + 2;
    if (line[0] == ' ' || line[0] == '\t') {
      Fail(err, 400, "obsolete line folding");
      return false;
    }
    const size_t colon = line.find(':');
    if (colon == kNpos || colon == 0) {
      Fail(err, 400, "malformed header field");
      return false;
    }
    const std::string_view name = line.substr(0, colon);
    if (!IsToken(name)) {
      Fail(err, 400, "malformed header field name");  // whitespace before the colon too
      return false;
    }
    const std::string_view value = TrimOws(line.substr(colon + 1));
    for (unsigned char c : value) {
      if (!IsFieldValueChar(c)) {
        Fail(err, 400, "invalid character in header field value");
        return false;
      }
    }
    if (out->size() >= lim.max_fields) {
      Fail(err, 431, "too many header fields");
      return false;
    }
    out->Add(name, value);
  }
}

// Content-Length: one decimal number, or a list of the same number repeated
// (RFC 9110 §8.6 lets a recipient accept that).
bool ContentLength(const Fields& f, uint64_t* out, bool* present) {
  *present = false;
  bool ok = true;
  for (const Field& fl : f.all()) {
    if (!EqualsNoCase(fl.name, "Content-Length")) continue;
    bool any = false;
    ForEachListElement(fl.value, [&](std::string_view e) {
      uint64_t v;
      any = true;
      if (!ParseDecimal(e, &v) || (*present && v != *out)) {
        ok = false;
        return;
      }
      *out = v;
      *present = true;
    });
    if (!any) ok = false;  // an empty Content-Length
  }
  return ok;
}

}  // namespace

bool ParseDecimal(std::string_view s, uint64_t* out) {
  if (s.empty() || s.size() > 19) return false;
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  if (v > (uint64_t{1} << 62)) return false;
  *out = v;
  return true;
}

size_t HeadParser::FindEnd(std::string_view in, size_t skip, ParseError* err) {
  const size_t from = std::max(skip, scanned_ >= 3 ? scanned_ - 3 : 0);
  const size_t limit = std::min(in.size(), skip + lim_.max_head);
  const std::string_view window = in.substr(0, limit);
  const size_t end = window.find("\r\n\r\n", from);
  // A start line ending at once in an empty line has no fields: "...\r\n\r\n"
  // still matches above. A head must not use bare LF line ends: a "\n\n" or
  // "\n\r\n" where a CRLF CRLF is expected would be read differently elsewhere.
  if (end != kNpos) return end + 4;
  scanned_ = window.size();
  if (in.size() - skip >= lim_.max_head) {
    Fail(err, 431, "request header section too large");
    return kNpos;
  }
  return 0;
}

ParseStatus HeadParser::ParseRequest(std::string_view in, RequestHead* out, size_t* consumed,
                                     ParseError* err) {
  // Empty lines before a request line are ignored (RFC 9112 §2.2), within the
  // head's bound.
  size_t skip = 0;
  while (skip + 1 < in.size() && in[skip] == '\r' && in[skip + 1] == '\n' && skip < lim_.max_head) {
    skip += 2;
  }
  const size_t first_eol = in.find("\r\n", skip);
  // Without its CRLF yet, a line's last byte may be the CR: it is not part
  // of the line (or a line of exactly max_line would fail only when it
  // arrives in pieces).
  const size_t line_end =
      first_eol != kNpos ? first_eol : in.size() - (in.size() > skip && in.back() == '\r' ? 1 : 0);
  if (line_end - skip > lim_.max_line) {
    return Fail(err, 414, "request line too long");
  }
  const size_t end = FindEnd(in, skip, err);
  if (end == kNpos) return ParseStatus::kError;
  if (end == 0) return ParseStatus::kNeedMore;
  const std::string_view line = in.substr(skip, first_eol - skip);
  const size_t sp1 = line.find(' ');
  const size_t sp2 = sp1 == kNpos ? kNpos : line.find(' ', sp1 + 1);
  if (sp1 == kNpos || sp2 == kNpos || line.find(' ', sp2 + 1) != kNpos) {
    return Fail(err, 400, "malformed request line");
  }
  const std::string_view method = line.substr(0, sp1);
  const std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  if (!IsToken(method)) return Fail(err, 400, "malformed method");
  if (target.empty()) return Fail(err, 400, "empty request target");
  for (unsigned char c : target) {
    if (!IsTargetChar(c)) return Fail(err, 400, "invalid character in request target");
  }
  const bool origin_form = target[0] == '/';
  const bool absolute_form =
      target.size() > 7 && (EqualsNoCase(target.substr(0, 7), "http://") ||
                            (target.size() > 8 && EqualsNoCase(target.substr(0, 8), "https://")));
  const bool asterisk_form = target == "*" && method == "OPTIONS";
  const bool authority_form = method == "CONNECT" && !origin_form;
  if (!origin_form && !absolute_form && !asterisk_form && !authority_form) {
    return Fail(err, 400, "unsupported request target form");
  }
  RequestHead h;
  if (!ParseVersion(line.substr(sp2 + 1), &h.version_minor, err)) return ParseStatus::kError;
  if (!ParseFields(in.substr(first_eol + 2, end - first_eol - 2), lim_, &h.fields, err)) {
    return ParseStatus::kError;
  }
  const size_t hosts = h.fields.Count("Host");
  if (hosts > 1 || (hosts == 0 && h.version_minor >= 1)) {
    return Fail(err, 400, hosts ? "more than one Host header" : "missing Host header");
  }
  h.method.assign(method);
  h.target.assign(target);
  *out = std::move(h);
  *consumed = end;
  scanned_ = 0;
  return ParseStatus::kDone;
}

ParseStatus HeadParser::ParseResponse(std::string_view in, ResponseHead* out, size_t* consumed,
                                      ParseError* err) {
  const size_t end = FindEnd(in, 0, err);
  if (end == kNpos) return ParseStatus::kError;
  if (end == 0) return ParseStatus::kNeedMore;
  const size_t first_eol = in.find("\r\n");
  const std::string_view line = in.substr(0, first_eol);
  // "HTTP/1.1 200 OK"; an origin that omits the reason (and its space) is
  // tolerated.
  if (line.size() < 12 || line[8] != ' ' || (line.size() > 12 && line[12] != ' ')) {
    return Fail(err, 502, "malformed status line");
  }
  ResponseHead h;
  if (!ParseVersion(line.substr(0, 8), &h.version_minor, err)) {
    return Fail(err, 502, "origin's HTTP version not supported");
  }
  int status = 0;
  for (size_t i = 9; i < 12; i++) {
    if (line[i] < '0' || line[i] > '9') return Fail(err, 502, "malformed status code");
    status = status * 10 + (line[i] - '0');
  }
  if (status < 100 || status > 599) return Fail(err, 502, "status code out of range");
  const std::string_view reason = line.size() > 13 ? line.substr(13) : std::string_view();
  for (unsigned char c : reason) {
    if (!IsFieldValueChar(c)) return Fail(err, 502, "invalid character in reason phrase");
  }
  if (!ParseFields(in.substr(first_eol + 2, end - first_eol - 2), lim_, &h.fields, err)) {
    err->status = 502;
    return ParseStatus::kError;
  }
  h.status = status;
  h.reason.assign(reason);
  *out = std::move(h);
  *consumed = end;
  scanned_ = 0;
  return ParseStatus::kDone;
}

bool RequestFraming(const RequestHead& req, Framing* out, ParseError* err) {
  uint64_t len = 0;
  bool has_len = false;
  if (!ContentLength(req.fields, &len, &has_len)) {
    Fail(err, 400, "invalid Content-Length");
    return false;
  }
  if (req.fields.Has("Transfer-Encoding")) {
    if (has_len) {
      Fail(err, 400, "both Transfer-Encoding and Content-Length");
      return false;
    }
    if (req.version_minor == 0) {
      Fail(err, 400, "Transfer-Encoding in an HTTP/1.0 request");
      return false;
    }
    const auto te = req.fields.Combined("Transfer-Encoding");
    if (!EqualsNoCase(TrimOws(*te), "chunked")) {
      Fail(err, 501, "unsupported Transfer-Encoding");
      return false;
    }
    *out = Framing{BodyKind::kChunked, 0};
    return true;
  }
  *out = has_len && len > 0 ? Framing{BodyKind::kLength, len} : Framing{BodyKind::kNone, 0};
  return true;
}

bool ResponseFraming(const ResponseHead& resp, std::string_view method, Framing* out,
                     ParseError* err) {
  if (method == "HEAD" || (resp.status >= 100 && resp.status < 200) || resp.status == 204 ||
      resp.status == 304) {
    *out = Framing{BodyKind::kNone, 0};
    return true;
  }
  uint64_t len = 0;
  bool has_len = false;
  if (!ContentLength(resp.fields, &len, &has_len)) {
    Fail(err, 502, "origin sent an invalid Content-Length");
    return false;
  }
  if (resp.fields.Has("Transfer-Encoding")) {
    const auto te = resp.fields.Combined("Transfer-Encoding");
    if (has_len || resp.version_minor == 0 || !EqualsNoCase(TrimOws(*te), "chunked")) {
      Fail(err, 502, "origin's Transfer-Encoding cannot be framed safely");
      return false;
    }
    *out = Framing{BodyKind::kChunked, 0};
    return true;
  }
  *out = has_len ? Framing{len ? BodyKind::kLength : BodyKind::kNone, len}
                 : Framing{BodyKind::kUntilClose, 0};
  return true;
}

ChunkedDecoder::Step ChunkedDecoder::Fail(std::string reason) {
  state_ = State::kError;
  error_ = std::move(reason);
  Step s;
  s.kind = Step::kError;
  return s;
}

ChunkedDecoder::Step ChunkedDecoder::Next(std::string_view in) {
  Step s;
  size_t pos = 0;
  for (;;) {
    const std::string_view rest = in.substr(pos);
    switch (state_) {
      case State::kError:
        return Fail(error_);
      case State::kDone:
        s.kind = Step::kDone;
        s.consumed = pos;
        return s;
      case State::kSize: {
        const size_t eol = rest.substr(0, kMaxChunkLine).find("\r\n");
        if (eol == kNpos) {
          if (rest.size() >= kMaxChunkLine) return Fail("chunk size line too long");
          if (rest.find('\n') != kNpos) return Fail("bare LF in chunk size line");
          s.consumed = pos;
          return s;
        }
        const std::string_view line = rest.substr(0, eol);
        size_t digits = 0;
        uint64_t size = 0;
        while (digits < line.size() && std::isxdigit(static_cast<unsigned char>(line[digits]))) {
          const char c = line[digits];
          const uint64_t d = c <= '9' ? uint64_t(c - '0') : uint64_t((c | 0x20) - 'a' + 10);
          size = size * 16 + d;
          digits++;
        }
        if (digits == 0 || digits > 16) return Fail("malformed chunk size");
        std::string_view ext = TrimOws(line.substr(digits));
        if (!ext.empty() && ext[0] != ';') return Fail("malformed chunk extension");
        for (unsigned char c : ext) {
          if (!IsFieldValueChar(c)) return Fail("invalid character in chunk extension");
        }
        pos += eol + 2;
        if (size == 0) {
          state_ = State::kTrailer;
        } else {
          remaining_ = size;
          state_ = State::kData;
        }
        break;
      }
      case State::kData: {
        const size_t n = static_cast<size_t>(std::min<uint64_t>(remaining_, rest.size()));
        if (n == 0) {
          s.consumed = pos;
          return s;
        }
        remaining_ -= n;
        if (remaining_ == 0) state_ = State::kDataEnd;
        s.kind = Step::kData;
        s.data = rest.substr(0, n);
        s.consumed = pos + n;
        return s;
      }
      case State::kDataEnd:
        if (rest.size() < 2) {
          if (!rest.empty() && rest[0] != '\r') return Fail("chunk data not followed by CRLF");
          s.consumed = pos;
          return s;
        }
        if (rest[0] != '\r' || rest[1] != '\n') return Fail("chunk data not followed by CRLF");
        pos += 2;
        state_ = State::kSize;
        break;
      case State::kTrailer: {
        const size_t eol = rest.find("\r\n");
        if (eol == kNpos) {
          if (trailer_bytes_ + rest.size() > kMaxTrailer) return Fail("trailer section too large");
          if (rest.find('\n') != kNpos) return Fail("bare LF in trailer section");
          s.consumed = pos;
          return s;
        }
        trailer_bytes_ += eol + 2;
        if (trailer_bytes_ > kMaxTrailer) return Fail("trailer section too large");
        for (unsigned char c : rest.substr(0, eol)) {
          if (!IsFieldValueChar(c)) return Fail("invalid character in trailer section");
        }
        pos += eol + 2;
        if (eol == 0) state_ = State::kDone;
        break;
      }
    }
  }
}

}  // namespace coss::http
