// KeyTurns: read-modify-write commands on one key take turns, first come first
// served, across every worker.
//
// A read-modify-write command (incr, append, cas, delete, ma, ms with a mode
// ...) reads the object and stores its result with a compare-and-swap on what
// it read. Left to race, two workers running such commands on one hot key fall
// into step: each reads, one stores, the other's swap fails and it reads again,
// just after the winner's next read. A command could lose every attempt while
// its neighbour wins (memcached never fails an incr; it holds the item's lock).
// With a turn per key only one such command reads and stores at a time, so the
// swap fails only against a plain set or delete, which never retries.
//
// Contract:
//  * Take(hash, ...) claims the key's turn. If no claim holds it, the caller
//    holds it now (*now = true) and starts its read itself; otherwise the claim
//    waits in line and `start` runs once every earlier claim is released, on the
//    thread that released the last one (it must route its own completion).
//  * The holder keeps the turn across its retries and releases it once its
//    store is done (or it gave up); destroying a Claim releases it, or leaves the
//    line if it was still waiting. A claim whose owner is gone therefore never
//    blocks the key.
//  * Turns pass in order of arrival, except that a released turn goes to the
//    first waiter of the releasing claim's owner (its worker) up to kStreak
//    times in a row: a turn handed to another worker costs a wake-up, one
//    handed within the worker costs nothing. A waiter therefore waits for at
//    most kStreak turns beyond those ahead of it.
//  * Keys are told apart by their 64-bit hash: two keys with one hash share a
//    line (only slower, never wrong).
//  * Bounded: one entry per live claim, and claims live in requests in flight,
//    which the connection limits bound.
//
// Locking: 64 stripes, each a mutex over its map; `start` is called with no
// lock held. Thread-safe.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <unordered_map>
#include <utility>

namespace coss::server {

class KeyTurns {
 public:
  using Start = std::function<void()>;

  class Claim {
   public:
    Claim() = default;
    Claim(Claim&& o) noexcept { *this = std::move(o); }
    Claim& operator=(Claim&& o) noexcept {
      if (this != &o) {
        Release();
        turns_ = std::exchange(o.turns_, nullptr);
        hash_ = o.hash_;
        id_ = o.id_;
      }
      return *this;
    }
    Claim(const Claim&) = delete;
    Claim& operator=(const Claim&) = delete;
    ~Claim() { Release(); }

    // Gives the turn to the next in line (or leaves the line). Idempotent.
    void Release() {
      if (turns_ != nullptr) std::exchange(turns_, nullptr)->Release(hash_, id_);
    }
    explicit operator bool() const { return turns_ != nullptr; }

   private:
    friend class KeyTurns;
    Claim(KeyTurns* t, uint64_t hash, uint64_t id) : turns_(t), hash_(hash), id_(id) {}
    KeyTurns* turns_ = nullptr;
    uint64_t hash_ = 0;
    uint64_t id_ = 0;
  };

  // `make_start()` builds the Start (called only when the claim must wait, under
  // the stripe's lock: keep it to building a closure).
  // `owner`: who runs the claim's command (its worker), for the streak rule.
  template <class MakeStart>
  Claim Take(uint64_t hash, const void* owner, MakeStart&& make_start, bool* now) {
    Stripe& s = StripeOf(hash);
    const uint64_t id = next_id_.fetch_add(1, std::memory_order_relaxed);
    std::lock_guard lk(s.mu);
    auto [it, fresh] = s.turns.try_emplace(hash);
    if (fresh) {
      it->second.holder = id;
      it->second.holder_owner = owner;
      *now = true;
    } else {
      it->second.waiting.push_back(Waiter{id, owner, make_start()});
      *now = false;
    }
    return Claim(this, hash, id);
  }

  // Keys with a claim (held or waiting): for tests and stats.
  size_t Keys();

 private:
  struct Waiter {
    uint64_t id;
    const void* owner;
    Start start;
  };
  struct Turn {
    uint64_t holder = 0;
    const void* holder_owner = nullptr;
    uint32_t streak = 0;  // turns passed within holder_owner in a row
    std::deque<Waiter> waiting;
  };
  struct Stripe {
    std::mutex mu;
    std::unordered_map<uint64_t, Turn> turns;  // GUARDED_BY(mu)
  };
  static constexpr size_t kStripes = 64;

 public:
  static constexpr uint32_t kStreak = 32;

 private:
  Stripe& StripeOf(uint64_t hash) { return stripes_[(hash >> 58) % kStripes]; }
  void Release(uint64_t hash, uint64_t id);

  std::array<Stripe, kStripes> stripes_;
  std::atomic<uint64_t> next_id_{1};
};

}  // namespace coss::server
