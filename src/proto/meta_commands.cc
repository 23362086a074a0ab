// Grammar of the meta commands (mg ms md ma mn me): key, optional base64 key
// decoding, the per-command flag sets and their tokens, with memcached 1.6's
// error strings. Errors after an ms data length was read swallow the data.
#include <bitset>
#include <string_view>

#include "proto/base64.h"
#include "proto/numbers.h"
#include "proto/parser.h"

namespace coss::proto {

namespace {

enum class ErrStyle { kGetSet, kDeleteArith };

struct MetaSpec {
  std::string_view allowed;
  ErrStyle style;
};

// P and L are accepted by every command and ignored (proxy hints).
constexpr MetaSpec kMg{"bcfhklOqstuvCENRTPL", ErrStyle::kGetSet};  // C: accepted, unused
constexpr MetaSpec kMs{"bcCEFIkOqsTMNPL", ErrStyle::kGetSet};
constexpr MetaSpec kMd{"bCEIkOqTPL", ErrStyle::kDeleteArith};
constexpr MetaSpec kMa{"bCENJDTMOqtcvkPL", ErrStyle::kDeleteArith};

constexpr size_t kMaxOpaque = 32;

// Parses flag tokens into *m. Returns the error reply, or empty on success.
std::string_view ParseFlagTokens(const std::vector<std::string_view>& t, size_t first,
                                 const MetaSpec& spec, Command cmd, MetaFlags* m) {
  const bool ga = spec.style == ErrStyle::kGetSet;
  const std::string_view invalid = ga ? reply::kInvalidFlag : reply::kInvalidOrDuplicateFlag;
  const std::string_view dup = ga ? reply::kDuplicateFlag : reply::kInvalidOrDuplicateFlag;
  const std::string_view bad_token = ga ? reply::kBadToken : reply::kInvalidOrDuplicateFlag;
  std::bitset<128> seen;
  for (size_t i = first; i < t.size(); i++) {
    const char f = t[i][0];
    const std::string_view tok = t[i].substr(1);
    const auto uf = static_cast<unsigned char>(f);
    if (uf >= 128 || spec.allowed.find(f) == std::string_view::npos) return invalid;
    if (seen.test(uf)) return dup;
    seen.set(uf);
    m->order.push_back(f);
    switch (f) {
      case 'b':
        m->base64 = true;
        break;
      case 'c':
        m->ret_cas = true;
        break;
      case 'f':
        m->ret_flags = true;
        break;
      case 'h':
        m->ret_hit = true;
        break;
      case 'k':
        m->ret_key = true;
        break;
      case 'l':
        m->ret_access = true;
        break;
      case 'q':
        m->quiet = true;
        break;
      case 's':
        m->ret_size = true;
        break;
      case 't':
        m->ret_ttl = true;
        break;
      case 'u':
        m->no_bump = true;
        break;
      case 'v':
        m->ret_value = true;
        break;
      case 'I':
        m->invalidate = true;
        break;
      case 'P':
      case 'L':
        break;
      case 'O':
        if (tok.size() > kMaxOpaque) return reply::kOpaqueTooLong;
        m->opaque = tok;
        m->has_opaque = true;
        break;
      case 'T':
      case 'N':
      case 'R': {
        int32_t v = 0;
        if (!ParseI32(tok, &v)) return bad_token;
        (f == 'T' ? m->ttl : f == 'N' ? m->vivify : m->recache) = v;
        break;
      }
      case 'C':
      case 'E':
      case 'D':
      case 'J': {
        uint64_t v = 0;
        if (!ParseU64(tok, &v)) return bad_token;
        (f == 'C' ? m->compare_cas : f == 'E' ? m->new_cas : f == 'D' ? m->delta : m->initial) = v;
        break;
      }
      case 'F': {
        uint32_t v = 0;
        if (!ParseFlags(tok, &v)) return ga ? reply::kBadFormat : reply::kInvalidOrDuplicateFlag;
        m->client_flags = v;
        break;
      }
      case 'M': {
        const char c = tok.empty() ? '\0' : tok[0];
        if (cmd == Command::kMetaSet) {
          switch (c) {
            case 'S':
            case 's':
              m->mode = 'S';
              break;
            case 'E':
            case 'e':
              m->mode = 'E';
              break;
            case 'A':
            case 'a':
              m->mode = 'A';
              break;
            case 'P':
            case 'p':
              m->mode = 'P';
              break;
            case 'R':
            case 'r':
              m->mode = 'R';
              break;
            default:
              return reply::kBadMsMode;
          }
        } else {
          switch (c) {
            case 'I':
            case 'i':
            case '+':
              m->mode = 'I';
              break;
            case 'D':
            case 'd':
            case '-':
              m->mode = 'D';
              break;
            default:
              return reply::kBadMaMode;
          }
        }
        break;
      }
      default:
        return invalid;
    }
  }
  return {};
}

}  // namespace

void Parser::ParseMeta(std::string_view line, size_t line_len, std::string_view rest, Step* step) {
  (void)line;
  const auto& t = tok_;
  Request& r = step->req;
  step->consumed = line_len;
  step->kind = StepKind::kReply;
  const std::string_view c = t[0];
  const MetaSpec* spec = nullptr;
  if (c == "mn") {
    r.cmd = Command::kMetaNoop;
    step->kind = StepKind::kRequest;
    return;
  }
  if (c == "me") {
    r.cmd = Command::kMetaDebug;
    if (t.size() < 2 || t[1].size() > lim_.max_key) {
      step->reply = reply::kBadFormat;
      return;
    }
    r.key_raw = t[1];
    for (size_t i = 2; i < t.size(); i++) {
      if (t[i][0] == 'b') r.meta.base64 = true;
    }
    if (r.meta.base64) {
      if (!Base64Decode(r.key_raw, &r.key_decoded)) {
        step->reply = reply::kBadFormat;
        return;
      }
      r.key_is_decoded = true;
    }
    step->kind = StepKind::kRequest;
    return;
  }
  if (c == "mg") {
    r.cmd = Command::kMetaGet;
    spec = &kMg;
  } else if (c == "ms") {
    r.cmd = Command::kMetaSet;
    spec = &kMs;
  } else if (c == "md") {
    r.cmd = Command::kMetaDelete;
    spec = &kMd;
  } else if (c == "ma") {
    r.cmd = Command::kMetaArithmetic;
    spec = &kMa;
  } else {
    step->reply = reply::kError;
    return;
  }
  if (t.size() < 2) {
    step->reply = reply::kError;
    return;
  }
  if (t[1].size() > lim_.max_key) {
    step->reply = reply::kBadFormat;
    return;
  }
  r.key_raw = t[1];
  size_t first_flag = 2;
  int32_t vlen = 0;
  if (r.cmd == Command::kMetaSet) {
    if (t.size() < 3 || !ParseI32(t[2], &vlen) || vlen < 0 || vlen > INT32_MAX - 2) {
      step->reply = reply::kBadFormat;
      return;
    }
    first_flag = 3;
  }
  std::string_view err = ParseFlagTokens(t, first_flag, *spec, r.cmd, &r.meta);
  if (err.empty() && r.meta.base64) {
    if (Base64Decode(r.key_raw, &r.key_decoded)) {
      r.key_is_decoded = true;
    } else {
      err = spec->style == ErrStyle::kGetSet ? reply::kBadKeyEncoding
                                             : reply::kInvalidOrDuplicateFlag;
    }
  }
  if (r.cmd == Command::kMetaSet) {
    if (!err.empty()) return ErrorSwallow(err, vlen, line_len, step);
    if (static_cast<size_t>(vlen) > lim_.max_value) {
      return ErrorSwallow(reply::kTooLarge, vlen, line_len, step);
    }
    return TakeData(vlen, line_len, rest, step);
  }
  if (!err.empty()) {
    step->reply = err;
    return;
  }
  step->kind = StepKind::kRequest;
}

}  // namespace coss::proto
