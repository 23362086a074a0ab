#include "tools/bench/trace.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <cstring>
#include <mutex>
#include <string_view>

namespace coss::tools::bench {

bool ParseTraceFormat(const std::string& s, const std::string& path, TraceFormat* out,
                      std::string* err) {
  if (s == "oracle" || s == "oracleGeneral") {
    *out = TraceFormat::kOracleGeneral;
  } else if (s == "twitter" || s == "csv") {
    *out = TraceFormat::kTwitterCsv;
  } else if (s == "auto") {
    *out = path.ends_with(".csv") ? TraceFormat::kTwitterCsv : TraceFormat::kOracleGeneral;
  } else {
    *err = "unknown trace format '" + s + "' (use oracleGeneral, twitter or auto)";
    return false;
  }
  return true;
}

namespace {

// A read-only mapping of a whole file.
class Mapping {
 public:
  bool Open(const std::string& path, std::string* err) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      *err = "cannot open trace " + path + ": " + std::strerror(errno);
      return false;
    }
    struct stat st {};
    if (fstat(fd, &st) != 0) {
      *err = "cannot stat trace " + path + ": " + std::strerror(errno);
      ::close(fd);
      return false;
    }
    size_ = static_cast<size_t>(st.st_size);
    if (size_ > 0) {
      void* p = mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd, 0);
      if (p == MAP_FAILED) {
        *err = "cannot map trace " + path + ": " + std::strerror(errno);
        ::close(fd);
        return false;
      }
      madvise(p, size_, MADV_SEQUENTIAL);
      data_ = static_cast<const char*>(p);
    }
    ::close(fd);
    return true;
  }
  ~Mapping() {
    if (data_ != nullptr) munmap(const_cast<char*>(data_), size_);
  }
  const char* data() const { return data_; }
  size_t size() const { return size_; }

 private:
  const char* data_ = nullptr;
  size_t size_ = 0;
};

class OracleGeneral : public TraceSource {
 public:
  static constexpr size_t kRecord = 24;
  explicit OracleGeneral(const TraceOptions& o) : o_(o) {}
  bool Init(std::string* err) {
    if (!map_.Open(o_.path, err)) return false;
    if (map_.size() % kRecord != 0) {
      *err = "trace " + o_.path + " is not oracleGeneral: its size (" +
             std::to_string(map_.size()) + " bytes) is not a multiple of 24";
      return false;
    }
    total_ = map_.size() / kRecord;
    if (total_ == 0) {
      *err = "trace " + o_.path + " is empty";
      return false;
    }
    return true;
  }
  bool Next(Rng&, Request* out) override {
    const uint64_t i = next_.fetch_add(1, std::memory_order_relaxed);
    if (i >= total_) return false;
    const char* r = map_.data() + i * kRecord;
    uint64_t id = 0;
    uint32_t size = 0;
    std::memcpy(&id, r + 4, 8);
    std::memcpy(&size, r + 12, 4);
    out->op = Op::kGet;
    out->key = KeyName(o_.prefix, id);
    out->value_size = o_.sizes_override ? SizeOfKey(*o_.sizes_override, id, o_.seed) : size;
    out->fill_on_miss = true;
    return true;
  }
  uint64_t Total() const override { return total_; }
  uint64_t Consumed() const override {
    return std::min(next_.load(std::memory_order_relaxed), total_);
  }
  uint64_t Skipped() const override { return 0; }

 private:
  TraceOptions o_;
  Mapping map_;
  uint64_t total_ = 0;
  std::atomic<uint64_t> next_{0};
};

class TwitterCsv : public TraceSource {
 public:
  explicit TwitterCsv(const TraceOptions& o) : o_(o) {}
  bool Init(std::string* err) {
    if (!map_.Open(o_.path, err)) return false;
    if (map_.size() == 0) {
      *err = "trace " + o_.path + " is empty";
      return false;
    }
    return true;
  }
  bool Next(Rng&, Request* out) override {
    std::lock_guard lock(mu_);
    while (pos_ < map_.size()) {
      const char* begin = map_.data() + pos_;
      const char* nl = static_cast<const char*>(std::memchr(begin, '\n', map_.size() - pos_));
      const size_t len = nl ? static_cast<size_t>(nl - begin) : map_.size() - pos_;
      pos_ += len + (nl ? 1 : 0);
      consumed_.store(pos_, std::memory_order_relaxed);
      std::string_view line(begin, len);
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      if (line.empty()) continue;
      if (Parse(line, out)) return true;
      skipped_.fetch_add(1, std::memory_order_relaxed);
    }
    return false;
  }
  uint64_t Total() const override { return map_.size(); }
  uint64_t Consumed() const override { return consumed_.load(std::memory_order_relaxed); }
  uint64_t Skipped() const override { return skipped_.load(std::memory_order_relaxed); }

 private:
  // timestamp,key,key_size,value_size,client_id,operation,ttl — the key may in
  // principle hold commas, so the last five fields are split from the right.
  bool Parse(std::string_view line, Request* out) {
    const size_t first = line.find(',');
    if (first == std::string_view::npos) return false;
    std::string_view f[5];
    std::string_view rest = line.substr(first + 1);
    for (int i = 4; i >= 0; i--) {
      const size_t c = rest.rfind(',');
      if (c == std::string_view::npos) return false;
      f[i] = rest.substr(c + 1);
      rest = rest.substr(0, c);
    }
    const std::string_view key = rest;
    const std::string_view op = f[3];
    uint64_t value_size = 0;
    const auto r = std::from_chars(f[1].data(), f[1].data() + f[1].size(), value_size);
    if (key.empty() || r.ec != std::errc()) return false;
    if (op == "get" || op == "gets") {
      out->op = Op::kGet;
      out->fill_on_miss = true;
    } else if (op == "set" || op == "add" || op == "replace" || op == "cas" || op == "append" ||
               op == "prepend") {
      out->op = Op::kSet;
      out->fill_on_miss = false;
    } else if (op == "delete") {
      out->op = Op::kDelete;
      out->fill_on_miss = false;
    } else {
      return false;
    }
    out->key.assign(o_.prefix);
    const size_t room = 250 - std::min<size_t>(250, o_.prefix.size());
    for (size_t i = 0; i < key.size() && i < room; i++) {
      const unsigned char c = static_cast<unsigned char>(key[i]);
      out->key.push_back(c <= ' ' || c == 0x7f ? '_' : static_cast<char>(c));
    }
    if (o_.sizes_override) {
      out->value_size = SizeOfKey(*o_.sizes_override, std::hash<std::string>{}(out->key), o_.seed);
    } else {
      out->value_size = static_cast<uint32_t>(std::min<uint64_t>(value_size, 1ull << 30));
    }
    return true;
  }

  TraceOptions o_;
  Mapping map_;
  std::mutex mu_;
  size_t pos_ = 0;
  std::atomic<uint64_t> consumed_{0};
  std::atomic<uint64_t> skipped_{0};
};

}  // namespace

std::unique_ptr<TraceSource> TraceSource::Open(const TraceOptions& o, std::string* err) {
  if (o.format == TraceFormat::kOracleGeneral) {
    auto t = std::make_unique<OracleGeneral>(o);
    if (!t->Init(err)) return nullptr;
    return t;
  }
  auto t = std::make_unique<TwitterCsv>(o);
  if (!t->Init(err)) return nullptr;
  return t;
}

}  // namespace coss::tools::bench
