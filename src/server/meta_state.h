// MetaStates: the per-object meta-protocol marks the store has no field for:
// "stale" (md I, ms I) and "a recache win was handed out" (mg N/R). Each mark
// belongs to one version of one key: any later write gives the object a new
// version, which silently retires the mark. Bounded: the oldest marks are
// forgotten first (a forgotten mark means a client may win twice, never that a
// value is wrong). Thread-safe.
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace coss::server {

struct MetaMark {
  bool stale = false;
  bool win_taken = false;
};

class MetaStates {
 public:
  explicit MetaStates(size_t max_entries = 65536) : max_(max_entries) {}

  MetaMark Get(std::string_view key, uint64_t version);
  void Set(std::string_view key, uint64_t version, MetaMark mark);

 private:
  struct Entry {
    uint64_t version;
    MetaMark mark;
  };
  std::mutex mu_;
  std::unordered_map<std::string, Entry> map_;
  std::deque<std::string> order_;
  std::atomic<size_t> size_{0};
  size_t max_;
};

}  // namespace coss::server
