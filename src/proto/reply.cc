#include "proto/reply.h"

#include <charconv>

namespace coss::proto {

void AppendU64(std::string* out, uint64_t v) {
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  out->append(buf, r.ptr);
}

void AppendI64(std::string* out, int64_t v) {
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  out->append(buf, r.ptr);
}

void AppendValueHeader(std::string* out, std::string_view key, uint32_t flags, size_t bytes,
                       bool with_cas, uint64_t cas) {
  out->append("VALUE ");
  out->append(key);
  out->push_back(' ');
  AppendU64(out, flags);
  out->push_back(' ');
  AppendU64(out, bytes);
  if (with_cas) {
    out->push_back(' ');
    AppendU64(out, cas);
  }
  out->append("\r\n");
}

void AppendMetaFlags(std::string* out, const Request& req, const MetaItemInfo& item,
                     std::string_view allowed) {
  const MetaFlags& m = req.meta;
  for (char f : m.order) {
    if (allowed.find(f) == std::string_view::npos) continue;
    switch (f) {
      case 'k':
        out->append(" k");
        out->append(req.key_raw);  // as sent: base64 when 'b' was given
        if (m.base64) out->append(" b");
        break;
      case 'O':
        out->append(" O");
        out->append(m.opaque);
        break;
      case 'c':
        if (!item.present) break;
        out->append(" c");
        AppendU64(out, item.cas);
        break;
      case 'f':
        if (!item.present) break;
        out->append(" f");
        AppendU64(out, item.flags);
        break;
      case 'h':
        if (!item.present) break;
        out->append(item.hit_before ? " h1" : " h0");
        break;
      case 'l':
        if (!item.present) break;
        out->append(" l");
        AppendI64(out, item.last_access);
        break;
      case 's':
        if (!item.present) break;
        out->append(" s");
        AppendU64(out, item.size);
        break;
      case 't':
        if (!item.present) break;
        out->append(" t");
        AppendI64(out, item.ttl);
        break;
      default:
        break;
    }
  }
  if (item.win_taken) out->append(" Z");
  if (item.stale) out->append(" X");
  if (item.won) out->append(" W");
}

int64_t AbsoluteExpiry(int32_t exptime, int64_t now) {
  if (exptime == 0) return 0;
  if (exptime < 0) return kExpiredLongAgo;
  if (exptime > kMaxRelativeExptime) return exptime <= now ? kExpiredLongAgo : exptime;
  return now + exptime;
}

int64_t RemainingTtl(int64_t expiry, int64_t now) {
  if (expiry == 0) return -1;
  return expiry > now ? expiry - now : 0;
}

}  // namespace coss::proto
