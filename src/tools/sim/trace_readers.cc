#include "tools/sim/trace_readers.h"

#include <xxhash.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <memory>
#include <unordered_map>

namespace coss::sim {

namespace {

struct FileCloser {
  void operator()(FILE* f) const {
    if (f) std::fclose(f);
  }
};

uint32_t Clamp32(uint64_t v) {
  return static_cast<uint32_t>(std::min<uint64_t>(v, UINT32_MAX));
}

}  // namespace

std::string ReadOracleGeneral(const std::string& path, uint64_t limit, Trace* out) {
  std::unique_ptr<FILE, FileCloser> f(std::fopen(path.c_str(), "rb"));
  if (!f) return path + ": " + std::strerror(errno);
  constexpr size_t kRec = 24;
  std::vector<unsigned char> buf(kRec * 65536);
  bool first = true;
  uint32_t t0 = 0, last = 0;
  for (;;) {
    const size_t n = std::fread(buf.data(), 1, buf.size(), f.get());
    if (n % kRec != 0 && n < buf.size()) {
      return path + ": size is not a multiple of 24 bytes (not an oracleGeneral trace?)";
    }
    for (size_t off = 0; off + kRec <= n; off += kRec) {
      if (limit != 0 && out->requests.size() >= limit) return {};
      uint32_t t, size;
      uint64_t id;
      std::memcpy(&t, &buf[off], 4);
      std::memcpy(&id, &buf[off + 4], 8);
      std::memcpy(&size, &buf[off + 12], 4);
      if (first) {
        t0 = t;
        first = false;
      }
      // Keep time monotonic even if the trace is not.
      last = std::max(last, t >= t0 ? t - t0 : 0);
      out->requests.push_back(Request{id, std::max<uint32_t>(size, 1), 0, last, Op::kGet});
    }
    if (n < buf.size()) break;
  }
  if (out->requests.empty()) return path + ": no requests";
  return {};
}

std::string ReadTwitterCsv(const std::string& path, uint64_t limit, Trace* out, uint64_t* skipped) {
  std::ifstream in(path);
  if (!in) return path + ": " + std::strerror(errno);
  std::unordered_map<uint64_t, uint32_t> ttl_of;
  std::string line;
  bool first = true;
  uint64_t t0 = 0;
  uint32_t last = 0;
  *skipped = 0;
  std::string_view fields[7];
  while (std::getline(in, line)) {
    if (limit != 0 && out->requests.size() >= limit) break;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) continue;
    // time is the first column; the last five are fixed; the key is what is
    // left in between (so a key containing a comma still parses).
    std::string_view v(line);
    const size_t c0 = v.find(',');
    if (c0 == std::string_view::npos) {
      (*skipped)++;
      continue;
    }
    fields[0] = v.substr(0, c0);
    std::string_view mid = v.substr(c0 + 1);
    int back = 6;
    for (; back >= 2; back--) {
      const size_t c = mid.rfind(',');
      if (c == std::string_view::npos) break;
      fields[back] = mid.substr(c + 1);
      mid = mid.substr(0, c);
    }
    if (back != 1 || mid.empty()) {
      (*skipped)++;
      continue;
    }
    const std::string_view key = mid;
    auto num = [](std::string_view s, uint64_t* x) {
      if (s.empty()) return false;
      uint64_t r = 0;
      for (char c : s) {
        if (c < '0' || c > '9') return false;
        r = r * 10 + static_cast<uint64_t>(c - '0');
      }
      *x = r;
      return true;
    };
    uint64_t t, ks, vs, ttl;
    if (!num(fields[0], &t) || !num(fields[2], &ks) || !num(fields[3], &vs) ||
        !num(fields[6], &ttl)) {
      (*skipped)++;
      continue;
    }
    const std::string_view op = fields[5];
    Op kind;
    if (op == "get" || op == "gets") {
      kind = Op::kGet;
    } else if (op == "delete") {
      kind = Op::kDelete;
    } else if (op == "set" || op == "add" || op == "replace" || op == "cas" || op == "append" ||
               op == "prepend" || op == "incr" || op == "decr") {
      kind = Op::kSet;
    } else {
      (*skipped)++;
      continue;
    }
    if (first) {
      t0 = t;
      first = false;
    }
    last = std::max(last, Clamp32(t >= t0 ? t - t0 : 0));
    const uint64_t id = XXH3_64bits(key.data(), key.size());
    uint32_t r_ttl = 0;
    if (kind == Op::kSet) {
      r_ttl = Clamp32(ttl);
      ttl_of[id] = r_ttl;
    } else if (kind == Op::kGet) {
      auto it = ttl_of.find(id);
      if (it != ttl_of.end()) r_ttl = it->second;
    }
    out->requests.push_back(
        Request{id, std::max<uint32_t>(Clamp32(ks + vs), 1), r_ttl, last, kind});
  }
  if (out->requests.empty()) return path + ": no requests";
  return {};
}

}  // namespace coss::sim
