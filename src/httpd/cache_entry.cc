#include "httpd/cache_entry.h"

#include <xxhash.h>

#include <atomic>
#include <cstring>
#include <random>

namespace coss::httpd {

namespace {

constexpr uint32_t kMagic = 0x31485343;         // "CSH1": inline body
constexpr uint32_t kChunkedMagic = 0x32485343;  // "CSH2": chunked body
constexpr uint32_t kVaryMagic = 0x31565343;     // "CSV1"

void PutU32(std::string* out, uint32_t v) {
  char b[4];
  std::memcpy(b, &v, 4);
  out->append(b, 4);
}

void PutI64(std::string* out, int64_t v) {
  char b[8];
  std::memcpy(b, &v, 8);
  out->append(b, 8);
}

void PutStr(std::string* out, std::string_view s) {
  PutU32(out, static_cast<uint32_t>(s.size()));
  out->append(s);
}

void PutFields(std::string* out, const http::Fields& f) {
  PutU32(out, static_cast<uint32_t>(f.size()));
  for (const http::Field& fl : f.all()) {
    PutStr(out, fl.name);
    PutStr(out, fl.value);
  }
}

class Reader {
 public:
  explicit Reader(std::string_view in) : in_(in) {}
  bool U32(uint32_t* v) { return Raw(v, 4); }
  bool I64(int64_t* v) { return Raw(v, 8); }
  bool End() const { return pos_ == in_.size(); }
  bool Str(std::string* s) {
    uint32_t n;
    if (!U32(&n) || n > in_.size() - pos_) return false;
    s->assign(in_.substr(pos_, n));
    pos_ += n;
    return true;
  }
  bool FieldList(http::Fields* f) {
    uint32_t n;
    if (!U32(&n) || n > 10000) return false;
    std::string name, value;
    for (uint32_t i = 0; i < n; i++) {
      if (!Str(&name) || !Str(&value) || !http::IsToken(name)) return false;
      f->Add(name, value);
    }
    return true;
  }
  std::string_view Rest() const { return in_.substr(pos_); }

 private:
  bool Raw(void* v, size_t n) {
    if (in_.size() - pos_ < n) return false;
    std::memcpy(v, in_.data() + pos_, n);
    pos_ += n;
    return true;
  }
  std::string_view in_;
  size_t pos_ = 0;
};

char LowerAscii(char c) {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c | 0x20) : c;
}

// Collapses runs of whitespace to one space and trims (RFC 9111 §4.1 lets a
// cache normalise values before comparing them).
std::string Normalise(std::string_view v) {
  std::string out;
  bool space = false;
  for (char c : http::TrimOws(v)) {
    if (c == ' ' || c == '\t') {
      space = true;
      continue;
    }
    if (space) out.push_back(' ');
    space = false;
    out.push_back(c);
  }
  return out;
}

}  // namespace

std::string CacheKeyOf(const http::RequestHead& req) {
  std::string_view target = req.target;
  std::string scheme = "http";
  std::string authority;
  if (target.empty() || target[0] != '/') {  // absolute-form
    const size_t sep = target.find("://");
    scheme.assign(target.substr(0, sep));
    target.remove_prefix(sep + 3);
    const size_t slash = target.find('/');
    authority.assign(target.substr(0, slash));
    target = slash == std::string_view::npos ? std::string_view("/") : target.substr(slash);
  } else if (const auto host = req.fields.Get("Host")) {
    authority.assign(*host);
  }
  std::string key;
  key.reserve(scheme.size() + 3 + authority.size() + target.size());
  for (char c : scheme) key.push_back(LowerAscii(c));
  key.append("://");
  for (char c : authority) key.push_back(LowerAscii(c));
  key.append(target);
  return key;
}

std::string StoreKeyOf(std::string_view cache_key) {
  const XXH128_hash_t h = XXH3_128bits(cache_key.data(), cache_key.size());
  char buf[34];
  std::snprintf(buf, sizeof buf, "H%016llx%016llx", static_cast<unsigned long long>(h.high64),
                static_cast<unsigned long long>(h.low64));
  return std::string(buf, 33);
}

std::string EncodeEntry(const CacheEntry& e) {
  std::string out;
  out.reserve(64 + e.url.size() + e.reason.size() + e.vary.WireSize() + e.response.WireSize() +
              e.body.size());
  PutU32(&out, e.chunked() ? kChunkedMagic : kMagic);
  PutStr(&out, e.url);
  PutI64(&out, e.times.request_time);
  PutI64(&out, e.times.response_time);
  PutU32(&out, static_cast<uint32_t>(e.status));
  PutStr(&out, e.reason);
  PutFields(&out, e.vary);
  PutFields(&out, e.response);
  if (e.chunked()) {
    PutI64(&out, static_cast<int64_t>(e.body_id));
    PutI64(&out, static_cast<int64_t>(e.body_length));
    PutU32(&out, e.chunk_size);
  } else {
    out.append(e.body);
  }
  return out;
}

std::optional<CacheEntry> DecodeEntry(std::string_view value) {
  Reader r(value);
  uint32_t magic = 0, status = 0;
  CacheEntry e;
  if (!r.U32(&magic) || (magic != kMagic && magic != kChunkedMagic) || !r.Str(&e.url) ||
      !r.I64(&e.times.request_time) || !r.I64(&e.times.response_time) || !r.U32(&status) ||
      status < 100 || status > 599 || !r.Str(&e.reason) || !r.FieldList(&e.vary) ||
      !r.FieldList(&e.response)) {
    return std::nullopt;
  }
  e.status = static_cast<int>(status);
  if (magic == kChunkedMagic) {
    int64_t id = 0, length = 0;
    uint32_t chunk = 0;
    if (!r.I64(&id) || !r.I64(&length) || !r.U32(&chunk) || length <= 0 || chunk == 0 || !r.End()) {
      return std::nullopt;
    }
    e.body_id = static_cast<uint64_t>(id);
    e.body_length = static_cast<uint64_t>(length);
    e.chunk_size = chunk;
    return e;
  }
  e.body.assign(r.Rest());
  return e;
}

http::Fields VaryValues(const http::ResponseHead& resp, const http::RequestHead& req) {
  http::Fields out;
  for (const http::Field& f : resp.fields.all()) {
    if (!http::EqualsNoCase(f.name, "Vary")) continue;
    http::ForEachListElement(f.value, [&](std::string_view name) {
      if (!http::IsToken(name) || out.Has(name)) return;
      out.Add(name, Normalise(req.fields.Combined(name).value_or("")));
    });
  }
  return out;
}

bool VaryMatches(const CacheEntry& e, const http::RequestHead& req) {
  for (const http::Field& f : e.vary.all()) {
    const auto v = req.fields.Combined(f.name);
    if (Normalise(v.value_or("")) != f.value) return false;
  }
  return true;
}

std::string EncodeVaryMarker(const VaryMarker& m) {
  std::string out;
  PutU32(&out, kVaryMagic);
  PutStr(&out, m.url);
  PutI64(&out, static_cast<int64_t>(m.generation));
  PutU32(&out, static_cast<uint32_t>(m.names.size()));
  for (const std::string& n : m.names) PutStr(&out, n);
  return out;
}

std::optional<VaryMarker> DecodeVaryMarker(std::string_view value) {
  Reader r(value);
  uint32_t magic = 0, count = 0;
  int64_t generation = 0;
  VaryMarker m;
  if (!r.U32(&magic) || magic != kVaryMagic || !r.Str(&m.url) || !r.I64(&generation) ||
      !r.U32(&count) || count == 0 || count > 64) {
    return std::nullopt;
  }
  m.generation = static_cast<uint64_t>(generation);
  m.names.resize(count);
  for (std::string& n : m.names) {
    if (!r.Str(&n) || !http::IsToken(n)) return std::nullopt;
  }
  if (!r.End()) return std::nullopt;
  return m;
}

uint64_t NewUniqueId() {
  static const uint64_t base = [] {
    std::random_device rd;
    return (static_cast<uint64_t>(rd()) << 32) ^ rd();
  }();
  static std::atomic<uint64_t> next{0};
  return base + next.fetch_add(1, std::memory_order_relaxed);
}

std::string ChunkKeyOf(std::string_view cache_key, uint64_t body_id, uint64_t index) {
  std::string k(cache_key);
  k.append("\0body\0", 6);
  k.append(std::to_string(body_id));
  k.push_back('\0');
  k.append(std::to_string(index));
  return StoreKeyOf(k);
}

std::string VariantKeyOf(const VaryMarker& m, const http::RequestHead& req) {
  std::string k = m.url;
  k.push_back('\0');
  k.append(std::to_string(m.generation));
  for (const std::string& n : m.names) {
    k.push_back('\0');
    k.append(Normalise(req.fields.Combined(n).value_or("")));
  }
  return StoreKeyOf(k);
}

bool SameVaryNames(const VaryMarker& m, const http::Fields& vary) {
  if (m.names.size() != vary.size()) return false;
  for (size_t i = 0; i < m.names.size(); i++) {
    if (!http::EqualsNoCase(m.names[i], vary.all()[i].name)) return false;
  }
  return true;
}

}  // namespace coss::httpd
