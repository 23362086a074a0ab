// RamIndex: key hash -> where one RAM-tier shard keeps the object, in 8 bytes
// per object plus bucket slack (about 9-10 bytes per object in all).
//
// A slot is one uint64_t (0 = empty):
//   bits  0-16  offset in the segment (segments are at most 128 KiB)
//   bits 17-30  segment id (up to 16384 per shard)
//   bits 31-38  tag: 8 bits of the key hash (never 0), so that most slots
//               that are not the key are ruled out without touching its bytes
//   bits 39-40  frequency (S3-FIFO: reads since it entered its queue, max 3)
//   bit  41     read at least once (meta "h")
//   bit  42     only copy (the store kept it off its ring)
//   bits 43-63  last access, unix seconds modulo 2^21 (24 days)
//
// Buckets of 8 slots (one cache line); each hash has two buckets and goes to
// the emptier one, with one cuckoo step when both are full, so tables fill to
// well over 90 % before a bucket overflows into a chained overflow bucket. Nothing here knows keys:
// callers confirm a tag match against the object's bytes, and give the key hash of a slot when the
// table is resized. Not thread-safe: the owning shard's mutex guards it.
// Insert may move another slot (its cuckoo step); Resize and Reset move all:
// a slot pointer is good only until the next of these.
#pragma once

#include <cstdint>
#include <deque>
#include <vector>

namespace coss::server {

struct RamSlot {
  static constexpr uint64_t kMaxOffset = (uint64_t{1} << 17) - 1;
  static constexpr uint64_t kMaxSegments = uint64_t{1} << 14;
  static constexpr uint64_t kAccessMask = (uint64_t{1} << 21) - 1;

  static uint64_t Tag(uint64_t hash) {
    const uint64_t t = (hash >> 56) & 0xff;
    return t == 0 ? 1 : t;
  }
  static uint64_t Make(uint64_t hash, uint32_t seg, uint32_t off) {
    return uint64_t{off} | (uint64_t{seg} << 17) | (Tag(hash) << 31);
  }
  static uint32_t Offset(uint64_t s) { return static_cast<uint32_t>(s & kMaxOffset); }
  static uint32_t Segment(uint64_t s) { return static_cast<uint32_t>((s >> 17) & 0x3fff); }
  static uint64_t TagOf(uint64_t s) { return (s >> 31) & 0xff; }
  static uint64_t Move(uint64_t s, uint32_t seg, uint32_t off) {
    return (s & ~((uint64_t{1} << 31) - 1)) | off | (uint64_t{seg} << 17);
  }
  static uint32_t Freq(uint64_t s) { return static_cast<uint32_t>((s >> 39) & 3); }
  static uint64_t WithFreq(uint64_t s, uint32_t f) {
    return (s & ~(uint64_t{3} << 39)) | (uint64_t{f & 3} << 39);
  }
  static bool HitBefore(uint64_t s) { return (s >> 41) & 1; }
  static uint64_t WithHit(uint64_t s) { return s | (uint64_t{1} << 41); }
  static bool OnlyCopy(uint64_t s) { return (s >> 42) & 1; }
  static uint64_t WithOnlyCopy(uint64_t s, bool on) {
    return on ? s | (uint64_t{1} << 42) : s & ~(uint64_t{1} << 42);
  }
  static uint64_t WithAccess(uint64_t s, int64_t now) {
    uint64_t t = static_cast<uint64_t>(now) & kAccessMask;
    if (t == 0) t = 1;  // 0 means "never"
    return (s & ((uint64_t{1} << 43) - 1)) | (t << 43);
  }
  // Unix seconds of the last access, given the current time; 0 when never
  // recorded. Exact for accesses within the last 24 days.
  static int64_t Access(uint64_t s, int64_t now) {
    const uint64_t t = s >> 43;
    if (t == 0) return 0;
    const uint64_t ago = ((static_cast<uint64_t>(now) & kAccessMask) - t) & kAccessMask;
    return now - static_cast<int64_t>(ago);
  }
};

class RamIndex {
 public:
  static constexpr int kWays = 8;

  explicit RamIndex(uint64_t home_buckets = 64) { Reset(home_buckets); }

  // The first slot with hash's tag for which match(slot) is true, or nullptr.
  template <class F>
  uint64_t* Find(uint64_t hash, F&& match) {
    const uint64_t tag = RamSlot::Tag(hash);
    for (uint64_t b : {HomeA(hash), HomeB(hash)}) {
      for (;;) {
        for (uint64_t& s : At(b).s) {
          if (s != 0 && RamSlot::TagOf(s) == tag && match(s)) return &s;
        }
        if (NextOf(b) == 0) break;
        b = NextOf(b) - 1;
      }
    }
    return nullptr;
  }

  // Places slot (built by RamSlot::Make for hash) in the emptier of hash's two
  // buckets. When both are full, one of their slots moves to its own other
  // bucket if that has room (one cuckoo step; hash_of(slot) gives a slot's key
  // hash); failing that, the slot goes to an overflow bucket chained to the
  // first.
  template <class H>
  void Insert(uint64_t hash, uint64_t slot, H&& hash_of) {
    const uint64_t a = HomeA(hash), b = HomeB(hash);
    uint64_t* dst = Empty(At(Free(At(a)) >= Free(At(b)) ? a : b));
    for (uint64_t x : {a, b}) {
      for (int i = 0; dst == nullptr && i < kWays; i++) {
        uint64_t& s = At(x).s[i];
        const uint64_t h = hash_of(s);
        const uint64_t alt = HomeA(h) == x ? HomeB(h) : HomeA(h);
        if (uint64_t* room = alt == x ? nullptr : Empty(At(alt)); room != nullptr) {
          *room = s;
          dst = &s;
        }
      }
    }
    for (uint64_t c = a; dst == nullptr;) {
      if (NextOf(c) == 0) {
        over_.emplace_back();
        over_next_.push_back(0);
        NextOf(c) = static_cast<uint32_t>(home_ + over_.size());
      }
      c = NextOf(c) - 1;
      dst = Empty(At(c));
    }
    *dst = slot;
    size_++;
  }

  void Erase(uint64_t* slot) {
    *slot = 0;
    size_--;
  }

  template <class F>
  void ForEach(F&& f) {
    auto visit = [&](Bucket& b) {
      for (uint64_t& s : b.s) {
        if (s != 0) f(s);
      }
    };
    for (auto& b : home_b_) visit(b);
    for (auto& b : over_) visit(b);
  }

  // Re-places every slot over `home_buckets` buckets; hash_of(slot) returns
  // the key hash of the object a slot points to.
  template <class H>
  void Resize(uint64_t home_buckets, H&& hash_of) {
    std::vector<uint64_t> all;
    all.reserve(size_);
    ForEach([&](uint64_t& s) { all.push_back(s); });
    Reset(home_buckets);
    for (uint64_t s : all) Insert(hash_of(s), s, hash_of);
  }

  void Reset(uint64_t home_buckets) {
    home_ = home_buckets < 1 ? 1 : home_buckets;
    home_b_ = std::vector<Bucket>(home_);
    home_next_ = std::vector<uint32_t>(home_, 0);
    over_.clear();
    over_.shrink_to_fit();
    over_next_.clear();
    over_next_.shrink_to_fit();
    size_ = 0;
  }

  uint64_t size() const { return size_; }
  uint64_t home_buckets() const { return home_; }
  // Items per home slot (above 1 once chains carry the rest).
  double load() const { return static_cast<double>(size_) / static_cast<double>(home_ * kWays); }
  uint64_t bytes() const { return (home_ + over_.size()) * (sizeof(Bucket) + sizeof(uint32_t)); }

 private:
  struct alignas(64) Bucket {
    uint64_t s[kWays] = {};
  };
  // Two independent buckets per hash ("power of two choices": loads near 90 %
  // with almost no overflow).
  uint64_t HomeA(uint64_t hash) const {
    return (uint64_t{static_cast<uint32_t>(hash)} * home_) >> 32;
  }
  uint64_t HomeB(uint64_t hash) const {
    return (((hash * 0x9E3779B97F4A7C15ull) >> 32) * home_) >> 32;
  }
  static int Free(Bucket& b) {
    int n = 0;
    for (uint64_t s : b.s) n += s == 0 ? 1 : 0;
    return n;
  }
  static uint64_t* Empty(Bucket& b) {
    for (uint64_t& s : b.s) {
      if (s == 0) return &s;
    }
    return nullptr;
  }

  // Bucket ids: [0, home_) home buckets, then overflow buckets (a deque: slots
  // do not move when one is added). Per bucket: 1 + the id of the next bucket
  // of its chain, 0 = end.
  Bucket& At(uint64_t id) { return id < home_ ? home_b_[id] : over_[id - home_]; }
  uint32_t& NextOf(uint64_t id) { return id < home_ ? home_next_[id] : over_next_[id - home_]; }

  std::vector<Bucket> home_b_;
  std::vector<uint32_t> home_next_;
  std::deque<Bucket> over_;
  std::deque<uint32_t> over_next_;
  uint64_t home_ = 1;
  uint64_t size_ = 0;
};

}  // namespace coss::server
