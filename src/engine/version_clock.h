// VersionClock: the engine-wide source of record versions (memcached's CAS
// values), which must never repeat across a crash.
//
// Problem it solves: a client may hold a version from a read of a value that a
// crash then lost. Were the clock to restart at "highest version found on
// disk + 1", a later write could be given that same version, and the client's
// `cas` would succeed against a value it never saw.
//
// Contract: versions are handed out from a *reservation* made durable ahead of
// use. Every journal block records limit() (journal.h), so after a crash the
// recovered clock starts at or above every version that may have been issued.
// A reservation is kChunk versions; once less than half of it is left, Next()
// asks (request callback) for a journal block that records the next one. Next()
// never blocks: only after the journal has failed (nothing is acknowledged as
// durable then) can versions pass the durable limit.
//
// Thread safety: all members are atomics; Next() is wait-free.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>

namespace coss {

class VersionClock {
 public:
  static constexpr uint64_t kChunk = uint64_t{1} << 32;

  // The next version to hand out (tests and checkpoints).
  uint64_t Peek() const { return next_.load(std::memory_order_relaxed); }

  uint64_t Next() {
    const uint64_t v = next_.fetch_add(1, std::memory_order_relaxed);
    if (v + kChunk / 2 >= limit_.load(std::memory_order_relaxed)) Extend(v);
    return v;
  }

  // Recovery: every version below `v` may have been issued before the crash.
  void AtLeast(uint64_t v) {
    uint64_t cur = next_.load(std::memory_order_relaxed);
    while (cur < v && !next_.compare_exchange_weak(cur, v, std::memory_order_relaxed)) {
    }
  }

  // The reservation journal blocks record: versions below it may be issued.
  uint64_t limit() const { return limit_.load(std::memory_order_relaxed); }

  // Reserves the first chunk above what recovery found; the caller makes it
  // durable (a journal block) before serving.
  void Reserve() { Extend(Peek()); }

  // Called when a journal block that records `limit` (0: none) must be
  // written; set once, before use.
  void SetRequest(std::function<void()> request) { request_ = std::move(request); }

 private:
  void Extend(uint64_t v) {
    const uint64_t want = v + kChunk;
    uint64_t cur = limit_.load(std::memory_order_relaxed);
    while (cur + kChunk / 2 <= want) {
      if (limit_.compare_exchange_weak(cur, want, std::memory_order_relaxed)) {
        if (request_) request_();
        return;
      }
    }
  }

  std::atomic<uint64_t> next_{1};
  std::atomic<uint64_t> limit_{0};
  std::function<void()> request_;
};

}  // namespace coss
