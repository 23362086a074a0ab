// KeyTurns (src/server/key_turns.h): one read-modify-write per key at a time,
// in order of arrival, with a bounded preference for the releasing worker.
#include "server/key_turns.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

namespace coss::server {
namespace {

const int kWorkerA = 0;
const int kWorkerB = 1;
const void* const kA = &kWorkerA;
const void* const kB = &kWorkerB;

// Takes a turn that records when it starts (now or later).
struct Taker {
  KeyTurns::Claim claim;
  bool now = false;
  bool started_later = false;
};

void Take(KeyTurns& t, uint64_t hash, const void* owner, Taker* out) {
  out->claim = t.Take(
      hash, owner, [out] { return [out] { out->started_later = true; }; }, &out->now);
}

TEST(KeyTurnsTest, OneHolderPerKeyAndTheLinePassesInOrder) {
  KeyTurns t;
  Taker a, b, c, other;
  Take(t, 7, kA, &a);
  Take(t, 7, kB, &b);
  Take(t, 7, kB, &c);
  Take(t, 8, kB, &other);  // another key: its own turn
  EXPECT_TRUE(a.now);
  EXPECT_FALSE(b.now);
  EXPECT_FALSE(c.now);
  EXPECT_TRUE(other.now);
  EXPECT_EQ(t.Keys(), 2u);

  a.claim.Release();
  EXPECT_TRUE(b.started_later);
  EXPECT_FALSE(c.started_later);
  a.claim.Release();  // idempotent: does not pass b's turn on
  EXPECT_FALSE(c.started_later);
  b.claim.Release();
  EXPECT_TRUE(c.started_later);
  c.claim.Release();
  other.claim.Release();
  EXPECT_EQ(t.Keys(), 0u);
}

TEST(KeyTurnsTest, ADestroyedClaimLeavesTheLineOrPassesItsTurn) {
  KeyTurns t;
  Taker a, c;
  Take(t, 1, kA, &a);
  {
    Taker b;
    Take(t, 1, kA, &b);
    EXPECT_FALSE(b.now);
  }  // b's owner is gone while it waited: b leaves the line
  Take(t, 1, kA, &c);
  a.claim = KeyTurns::Claim();  // a's owner is gone while it held the turn
  EXPECT_TRUE(c.started_later);
  c.claim.Release();
  EXPECT_EQ(t.Keys(), 0u);
}

TEST(KeyTurnsTest, TheReleasingWorkerKeepsTheTurnForABoundedStreak) {
  KeyTurns t;
  // A holds; B waits first, then a line of A's. A's claims go first, kStreak
  // of them, then B's turn comes although more of A's wait.
  Taker first;
  Take(t, 5, kA, &first);
  Taker b;
  Take(t, 5, kB, &b);
  std::vector<Taker> as(KeyTurns::kStreak + 4);
  for (Taker& x : as) Take(t, 5, kA, &x);
  first.claim.Release();
  for (uint32_t i = 0; i < KeyTurns::kStreak; i++) {
    ASSERT_TRUE(as[i].started_later) << i;
    EXPECT_FALSE(b.started_later) << i;
    as[i].claim.Release();
  }
  EXPECT_TRUE(b.started_later);
  EXPECT_FALSE(as[KeyTurns::kStreak].started_later);
  b.claim.Release();
  EXPECT_TRUE(as[KeyTurns::kStreak].started_later);
  for (Taker& x : as) x.claim.Release();
  EXPECT_EQ(t.Keys(), 0u);
}

// Threads add to one plain counter, each addition in the key's turn (the
// holder's thread or, for a waiter, the releasing thread runs it). Under
// ThreadSanitizer any two additions not ordered by the turns are a race; in any
// build a lost addition shows in the total.
TEST(KeyTurnsTest, TurnsExcludeEachOtherAcrossThreads) {
  KeyTurns t;
  uint64_t counter = 0;  // guarded by the turn of key 42
  constexpr int kThreads = 4;
  constexpr int kRounds = 2000;
  static const char owners[kThreads] = {};  // one address per thread (its "worker")
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; i++) {
    threads.emplace_back([&t, &counter, i] {
      const void* owner = &owners[i];
      for (int r = 0; r < kRounds; r++) {
        std::atomic<bool> done{false};
        bool now = false;
        KeyTurns::Claim c = t.Take(
            42, owner,
            [&] {
              return [&] {
                counter++;
                done.store(true, std::memory_order_release);
              };
            },
            &now);
        if (now) {
          counter++;
          done.store(true);
        }
        // The turn's addition has run once done; a waiter's runs on the
        // releasing thread (the claim stays alive until then).
        while (!done.load(std::memory_order_acquire)) std::this_thread::yield();
        c.Release();
      }
    });
  }
  for (std::thread& th : threads) th.join();
  EXPECT_EQ(counter, uint64_t{kThreads} * kRounds);
  EXPECT_EQ(t.Keys(), 0u);
}

}  // namespace
}  // namespace coss::server
