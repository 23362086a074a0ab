// Deterministic tests for the three races that hurt COSS (see shard.h):
//  (a) a read never sees a slot that is not yet filled ("NULL data");
//  (b) a stripe is never overwritten while a read from it is in flight;
//  (c) a relocation racing with an overwrite or delete never brings back the old value.
// A FaultDevice holds chosen reads or writes at a gate, so each race happens
// in exactly the order the test wants, every run.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <future>
#include <thread>
#include <vector>

#include "engine/format.h"
#include "support/engine_fixture.h"
#include "support/fault_device.h"

namespace coss::testing {
namespace {

constexpr uint64_t kStripe = 64u << 10;
uint64_t StripeOff(uint32_t s) {
  return format::kSuperblockSize + format::JournalBytesFor(kStripe) + s * kStripe;
}

class RaceTest : public ::testing::TestWithParam<IoKind> {
 protected:
  std::unique_ptr<Engine> Open(const std::string& relocation, FullPolicy full = FullPolicy::kWait) {
    auto o = SmallStore(dir_, GetParam(), 1u << 20);  // 15 stripes
    o.relocation = relocation;
    o.on_full = full;
    return MustOpen(o, [this](uint32_t, std::unique_ptr<Device> d) {
      auto f = std::make_unique<FaultDevice>(std::move(d));
      fd_ = f.get();
      return f;
    });
  }
  std::future<GetResult> AsyncGet(Engine& e, const std::string& k) {
    auto p = std::make_shared<std::promise<GetResult>>();
    auto f = p->get_future();
    e.Get(k, [p](GetResult r) { p->set_value(std::move(r)); });
    return f;
  }
  void WaitHeld(size_t n) {
    while (fd_->held() < n) std::this_thread::yield();
  }
  TempDir dir_;
  FaultDevice* fd_ = nullptr;
};

// (a) Records of a sealed membuf whose device write has not completed are served
// from memory: reading the device there would return a slot never filled.
TEST_P(RaceTest, UnwrittenStripeIsServedFromMemoryNeverFromDisk) {
  auto e = Open("never");
  fd_->GateWrites(true);
  const std::string v(3000, 'a');
  for (int i = 0; i < 40; i++) ASSERT_TRUE(PutStr(*e, "k" + std::to_string(i), v).status.ok());
  ASSERT_GE(fd_->held_writes(), 1u);  // stripe 0 is sealed, its write is held
  for (int i = 0; i < 40; i++) {
    auto g = e->GetSync("k" + std::to_string(i));
    ASSERT_TRUE(g.status.ok());
    EXPECT_EQ(g.tier, Tier::kMemory);
    EXPECT_EQ(g.item.value, v);
  }
  EXPECT_EQ(e->Stats().device_bytes_read, 0u);
  fd_->GateWrites(false);
}

// (a) A relocated object is published only with its bytes in place: a reader
// that arrives right after the relocation gets the full value from memory.
TEST_P(RaceTest, RelocatedObjectIsCompleteWhenPublished) {
  auto e = Open("always");
  std::string v(5000, 'r');
  v[4999] = 'Z';
  PutStr(*e, "hot", v);
  ASSERT_TRUE(e->Flush().ok());
  fd_->GateReads([](uint64_t) { return true; });
  auto first = AsyncGet(*e, "hot");
  auto second = AsyncGet(*e, "hot");
  WaitHeld(2);
  fd_->Release();
  EXPECT_EQ(first.get().item.value, v);
  EXPECT_EQ(second.get().item.value, v);
  EXPECT_EQ(e->Stats().relocations,
            1u);  // the second read saw the moved entry and did not move it again
  auto third = e->GetSync("hot");
  EXPECT_EQ(third.tier, Tier::kMemory);
  EXPECT_EQ(third.item.value, v);
}

// (b) The head wraps onto a stripe while a read of it is held: the stripe's new
// content is not written until the read finishes, and the read returns intact data.
TEST_P(RaceTest, StripeIsNotOverwrittenUnderPendingRead) {
  auto e = Open("never", FullPolicy::kBusy);
  const std::string victim(2000, 'v');
  PutStr(*e, "victim", victim);
  ASSERT_TRUE(e->Flush().ok());  // victim is on disk in stripe 0
  fd_->GateReads([](uint64_t off) { return off >= StripeOff(0) && off < StripeOff(1); });
  const size_t writes_before = fd_->writes().size();
  auto pending = AsyncGet(*e, "victim");
  WaitHeld(1);
  // Write until the ring has wrapped onto stripe 0 and back-pressure stops us for
  // good (a transient "busy" only means the device has not caught up yet).
  const std::string filler(4000, 'f');
  int i = 0;
  for (int busy_rounds = 0; busy_rounds < 300;) {
    if (PutStr(*e, "f" + std::to_string(i), filler).status.ok()) {
      i++;
      busy_rounds = 0;
    } else {
      busy_rounds++;
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  }
  EXPECT_GT(i, 14 * 15);  // more than a lap: stripe 0 was reclaimed for new data
  auto w = fd_->writes();
  for (size_t j = writes_before; j < w.size(); j++)
    EXPECT_NE(w[j], StripeOff(0)) << "stripe 0 overwritten under a read";
  fd_->Release();
  auto r = pending.get();
  ASSERT_TRUE(r.status.ok());
  EXPECT_EQ(r.item.value, victim);
  EXPECT_EQ(e->Stats().checksum_failures, 0u);
  ASSERT_TRUE(e->Flush().ok());
  bool wrote0 = false;
  w = fd_->writes();
  for (size_t j = writes_before; j < w.size(); j++) wrote0 = wrote0 || w[j] == StripeOff(0);
  EXPECT_TRUE(wrote0);  // after the read, the held write went out
  EXPECT_EQ(e->GetSync("victim").status.code(), Code::kNotFound);  // evicted by the wrap
}

// The read path takes no ring mutex (shard.h): Gets on several threads run
// while a writer wraps the ring many times over, so membufs are sealed, written
// and recycled under readers, stripes are reclaimed under pinned reads, and hit
// counters change under lookups. Every hit must be a value written for that key
// (each value names its key and version), never older than one the same reader
// saw before. Under ThreadSanitizer this also checks the locking itself.
TEST_P(RaceTest, GetsRunConcurrentlyWithARingThatWraps) {
  auto e = Open("always");    // relocation on every disk hit: the read completion's locked path
  constexpr int kKeys = 600;  // 900 KB of live values: more than the ring holds
  std::vector<std::atomic<int>> latest(kKeys);
  auto value = [](int k, int v) {
    std::string s = "k" + std::to_string(k) + ":v" + std::to_string(v) + ":";
    s.resize(1500, 'x');
    return s;
  };
  for (int k = 0; k < kKeys; k++)
    ASSERT_TRUE(PutStr(*e, "k" + std::to_string(k), value(k, 0)).status.ok());
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> hits{0}, bad{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 3; t++) {
    readers.emplace_back([&, t] {
      std::vector<int> seen(kKeys, -1);
      uint32_t x = 12345u + static_cast<uint32_t>(t);
      while (!stop.load()) {
        x = x * 1664525u + 1013904223u;
        const int k = static_cast<int>(x >> 8) % kKeys;
        auto r = e->GetSync("k" + std::to_string(k));
        if (!r.status.ok()) continue;  // a miss (evicted) is allowed
        hits++;
        const std::string want = "k" + std::to_string(k) + ":v";
        int v = -1;
        const std::string got = r.item.value.str();
        if (got.size() != 1500 || got.compare(0, want.size(), want) != 0 ||
            std::sscanf(got.c_str() + want.size(), "%d", &v) != 1 || r.item.value != value(k, v) ||
            v < seen[k] || v > latest[k].load() + 1) {
          bad++;
          continue;
        }
        seen[k] = v;
      }
    });
  }
  // About ten laps of the 15-stripe ring.
  for (int i = 1; i <= 6000; i++) {
    const int k = i % kKeys;
    const int v = i / kKeys + 1;
    latest[k].store(v - 1);  // a reader may see v once the put has begun
    ASSERT_TRUE(PutStr(*e, "k" + std::to_string(k), value(k, v)).status.ok());
    latest[k].store(v);
  }
  stop = true;
  for (auto& t : readers) t.join();
  EXPECT_EQ(bad.load(), 0u);
  EXPECT_GT(hits.load(), 0u);
  EXPECT_GT(e->Stats().evictions, 0u);  // the ring did wrap under the readers
  EXPECT_EQ(e->Stats().checksum_failures, 0u);
}

// (c) An overwrite lands while a relocating read is in flight: the relocation is
// dropped, the new value stays, also after a rebuild.
TEST_P(RaceTest, RelocationLosesToConcurrentOverwrite) {
  auto e = Open("always");
  PutStr(*e, "k", "old-value");
  ASSERT_TRUE(e->Flush().ok());
  fd_->GateReads([](uint64_t) { return true; });
  auto pending = AsyncGet(*e, "k");
  WaitHeld(1);
  ASSERT_TRUE(PutStr(*e, "k", "new-value").status.ok());
  fd_->Release();
  EXPECT_EQ(pending.get().item.value, "old-value");  // it began before the overwrite
  EXPECT_EQ(e->Stats().relocations, 0u);
  EXPECT_EQ(e->GetSync("k").item.value, "new-value");
  ASSERT_TRUE(e->Close().ok());
  e.reset();
  auto o = SmallStore(dir_, GetParam(), 1u << 20);
  auto e2 = MustOpen(o);
  EXPECT_EQ(e2->GetSync("k").item.value, "new-value");
}

// (c) A delete lands while a relocating read is in flight: the key stays deleted,
// also after a rebuild.
TEST_P(RaceTest, RelocationLosesToConcurrentDelete) {
  auto e = Open("always");
  PutStr(*e, "k", "doomed");
  ASSERT_TRUE(e->Flush().ok());
  fd_->GateReads([](uint64_t) { return true; });
  auto pending = AsyncGet(*e, "k");
  WaitHeld(1);
  ASSERT_TRUE(e->Remove("k").ok());
  fd_->Release();
  pending.get();
  EXPECT_EQ(e->Stats().relocations, 0u);
  EXPECT_EQ(e->GetSync("k").status.code(), Code::kNotFound);
  ASSERT_TRUE(e->Close().ok());
  e.reset();
  auto e2 = MustOpen(SmallStore(dir_, GetParam(), 1u << 20));
  EXPECT_EQ(e2->GetSync("k").status.code(), Code::kNotFound);
}

// (c) After a relocation the old copy stays on disk; a later overwrite must win at rebuild.
TEST_P(RaceTest, RelocatedCopyDoesNotShadowLaterOverwriteAtRebuild) {
  auto e = Open("always");
  PutStr(*e, "k", "v1");
  ASSERT_TRUE(e->Flush().ok());
  ASSERT_EQ(e->GetSync("k").item.value, "v1");  // disk hit: relocated to the head
  ASSERT_EQ(e->Stats().relocations, 1u);
  PutStr(*e, "k", "v2");
  ASSERT_TRUE(e->Close().ok());
  e.reset();
  auto e2 = MustOpen(SmallStore(dir_, GetParam(), 1u << 20));
  EXPECT_EQ(e2->GetSync("k").item.value, "v2");
}

INSTANTIATE_TEST_SUITE_P(Io, RaceTest, ::testing::Values(IoKind::kUring, IoKind::kThreads), IoName);

}  // namespace
}  // namespace coss::testing
