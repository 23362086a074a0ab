#include "tools/sim/baselines.h"

#include <unordered_map>
#include <vector>

#include "tools/sim/reref.h"

namespace coss::sim {

namespace {

// Objects in a doubly linked list over a node vector (index links, free list),
// found through a hash map. Head = most recently inserted (or used, for LRU).
class ListCache : public CacheModel {
 public:
  ListCache(uint64_t capacity, bool promote_on_hit) : cap_(capacity), lru_(promote_on_hit) {}

  bool Get(const Request& r, int64_t now) override {
    auto it = map_.find(r.id);
    if (it == map_.end()) return false;
    Node& n = nodes_[it->second];
    if (n.expiry != 0 && n.expiry <= now) {
      Drop(it->second, /*evicted=*/false);
      map_.erase(it);
      return false;
    }
    n.reads++;
    if (lru_ && head_ != it->second) {
      Unlink(it->second);
      PushHead(it->second);
    }
    return true;
  }

  void Put(const Request& r, int64_t now) override {
    if (auto it = map_.find(r.id); it != map_.end()) {
      Drop(it->second, false);
      map_.erase(it);
    }
    if (r.size > cap_) {
      refused_++;
      return;
    }
    while (used_ + r.size > cap_) {
      const uint32_t victim = tail_;
      map_.erase(nodes_[victim].id);
      Drop(victim, /*evicted=*/true);
    }
    uint32_t i;
    if (!free_.empty()) {
      i = free_.back();
      free_.pop_back();
    } else {
      i = static_cast<uint32_t>(nodes_.size());
      nodes_.emplace_back();
    }
    nodes_[i] = Node{r.id, r.size, r.ttl ? now + r.ttl : 0, 0, kNil, kNil};
    PushHead(i);
    map_.emplace(r.id, i);
    used_ += r.size;
    admitted_ += r.size;
  }

  void Remove(const Request& r) override {
    if (auto it = map_.find(r.id); it != map_.end()) {
      Drop(it->second, false);
      map_.erase(it);
    }
  }

  void Finish(RunResult* out) override {
    out->device_bytes_written = admitted_;
    out->evictions = evictions_;
    out->reref = reref_;
    out->refused = refused_;
  }

 private:
  static constexpr uint32_t kNil = ~0u;
  struct Node {
    uint64_t id;
    uint32_t size;
    int64_t expiry;
    uint64_t reads;
    uint32_t prev, next;
  };

  void PushHead(uint32_t i) {
    nodes_[i].prev = kNil;
    nodes_[i].next = head_;
    if (head_ != kNil) nodes_[head_].prev = i;
    head_ = i;
    if (tail_ == kNil) tail_ = i;
  }
  void Unlink(uint32_t i) {
    Node& n = nodes_[i];
    (n.prev != kNil ? nodes_[n.prev].next : head_) = n.next;
    (n.next != kNil ? nodes_[n.next].prev : tail_) = n.prev;
  }
  // Unlinks and frees node i (the caller erases the map entry).
  void Drop(uint32_t i, bool evicted) {
    Unlink(i);
    used_ -= nodes_[i].size;
    if (evicted) {
      evictions_++;
      reref_[RerefBucket(nodes_[i].reads)]++;
    }
    free_.push_back(i);
  }

  const uint64_t cap_;
  const bool lru_;
  uint64_t used_ = 0, admitted_ = 0, evictions_ = 0, refused_ = 0;
  std::vector<Node> nodes_;
  std::vector<uint32_t> free_;
  std::unordered_map<uint64_t, uint32_t> map_;
  uint32_t head_ = kNil, tail_ = kNil;
  std::array<uint64_t, kRerefBuckets> reref_{};
};

}  // namespace

std::unique_ptr<CacheModel> MakeLru(uint64_t capacity) {
  return std::make_unique<ListCache>(capacity, true);
}
std::unique_ptr<CacheModel> MakeFifo(uint64_t capacity) {
  return std::make_unique<ListCache>(capacity, false);
}

}  // namespace coss::sim
