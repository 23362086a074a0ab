// RAM tier tests (the store facade over it: store_test.cc). The race tests
// provoke, deterministically, the order "a read of the old value is in
// flight; a write or delete lands; the read then tries to fill the RAM tier"
// and check that no later read is served the old value.
#include "server/ram_tier.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <utility>
#include <vector>


namespace coss::server {
namespace {

Bytes V(std::string s) {
  return Bytes::Adopt(std::move(s));
}

TEST(RamTierTest, FillThenHit) {
  RamTier t(8 << 20);
  const uint64_t h = RamKeyHash("k");
  const uint64_t ticket = t.BeginFill(h);
  ASSERT_TRUE(t.Fill("k", h, ticket, V("v1"), 7, 0, 1, 100));
  RamHit hit;
  ASSERT_TRUE(t.Lookup("k", h, 100, &hit));
  EXPECT_EQ(hit.value.view(), "v1");
  EXPECT_EQ(hit.flags, 7u);
  EXPECT_EQ(hit.version, 1u);
  EXPECT_FALSE(hit.hit_before);
  ASSERT_TRUE(t.Lookup("k", h, 101, &hit));
  EXPECT_TRUE(hit.hit_before);
  EXPECT_EQ(hit.last_access, 100);
  EXPECT_EQ(t.Stats().hits, 2u);
}

TEST(RamTierTest, WriteDuringReadRefusesTheFill) {
  RamTier t(8 << 20);
  const uint64_t h = RamKeyHash("k");
  const uint64_t ticket = t.BeginFill(h);  // reader starts reading v1 from the store
  t.OnWrite("k", h, t.BeginWrite(h), 2, "v2", 0, 0, false, 100);  // a writer stores v2 meanwhile
  EXPECT_FALSE(t.Fill("k", h, ticket, V("v1"), 0, 0, 1, 100));    // the stale fill
  RamHit hit;
  ASSERT_TRUE(t.Lookup("k", h, 100, &hit));
  EXPECT_EQ(hit.value.view(), "v2");
  EXPECT_EQ(t.Stats().fills_stale, 1u);
}

// Read-your-writes: a written value is in the tier at once; one the store kept
// off its ring is marked as the only copy until a stored write replaces it.
TEST(RamTierTest, WrittenValueIsReadableAndItsOnlyCopyIsKnown) {
  RamTier t(8 << 20);
  const uint64_t h = RamKeyHash("k");
  t.OnWrite("k", h, t.BeginWrite(h), 3, "v3", 9, 0, /*only_copy=*/true, 100);
  RamHit hit;
  ASSERT_TRUE(t.Lookup("k", h, 100, &hit));
  EXPECT_EQ(hit.value.view(), "v3");
  EXPECT_EQ(hit.flags, 9u);
  EXPECT_EQ(hit.version, 3u);
  std::vector<std::string> only;
  t.ForEachOnlyCopy(100, [&](const RamTier::OnlyCopy& c) {
    only.push_back(std::string(c.key) + "=" + std::string(c.value) + "@" +
                   std::to_string(c.version));
  });
  EXPECT_EQ(only, std::vector<std::string>{"k=v3@3"});
  t.OnWrite("k", h, t.BeginWrite(h), 4, "v4", 0, 0, /*only_copy=*/false, 100);
  only.clear();
  t.ForEachOnlyCopy(100, [&](const RamTier::OnlyCopy& c) { only.emplace_back(c.key); });
  EXPECT_TRUE(only.empty());
  EXPECT_EQ(t.Stats().writes_in, 1u);
}

// A delete, a flush_all or an eviction between a write's store put and its
// insert: the key may have held a newer value since, so the write stays out.
TEST(RamTierTest, DepartureBetweenAWriteAndItsInsertKeepsItOut) {
  RamTier t(8 << 20);
  const uint64_t h = RamKeyHash("k");
  RamHit hit;
  uint64_t ticket = t.BeginWrite(h);
  t.Invalidate("k", h);  // a delete of the key (absent from the tier) overtook the insert
  t.OnWrite("k", h, ticket, 1, "v1", 0, 0, false, 100);
  EXPECT_FALSE(t.Lookup("k", h, 100, &hit));
  ticket = t.BeginWrite(h);
  t.Clear();
  t.OnWrite("k", h, ticket, 2, "v2", 0, 0, false, 100);
  EXPECT_FALSE(t.Lookup("k", h, 100, &hit));
  // Two writers: v2 took its ticket first, then something left the stripe, then
  // v1's writer took its ticket (its store put came earlier, its insert later).
  const uint64_t t2 = t.BeginWrite(h);
  t.OnWrite("k", h, t.BeginWrite(h), 3, "v3", 0, 0, false, 100);
  t.Invalidate("k", h);
  const uint64_t t1 = t.BeginWrite(h);
  t.OnWrite("k", h, t2, 5, "v5", 0, 0, false, 100);  // refused: a departure since t2
  t.OnWrite("k", h, t1, 4, "v4", 0, 0, false, 100);  // must not insert the older v4
  EXPECT_FALSE(t.Lookup("k", h, 100, &hit)) << "served " << hit.value.view();
}

TEST(RamTierTest, DeleteDuringReadRefusesTheFill) {
  RamTier t(8 << 20);
  const uint64_t h = RamKeyHash("k");
  const uint64_t ticket = t.BeginFill(h);
  t.Invalidate("k", h);
  EXPECT_FALSE(t.Fill("k", h, ticket, V("v1"), 0, 0, 1, 100));
  RamHit hit;
  EXPECT_FALSE(t.Lookup("k", h, 100, &hit));
}

TEST(RamTierTest, ClearDuringReadRefusesTheFill) {
  RamTier t(8 << 20);
  const uint64_t h = RamKeyHash("k");
  const uint64_t ticket = t.BeginFill(h);
  t.Clear();
  EXPECT_FALSE(t.Fill("k", h, ticket, V("v1"), 0, 0, 1, 100));
  RamHit hit;
  EXPECT_FALSE(t.Lookup("k", h, 100, &hit));
}

TEST(RamTierTest, WriteAfterFillUpdatesOnlyWithNewerVersion) {
  RamTier t(8 << 20);
  const uint64_t h = RamKeyHash("k");
  ASSERT_TRUE(t.Fill("k", h, t.BeginFill(h), V("v5"), 0, 0, 5, 100));
  t.OnWrite("k", h, t.BeginWrite(h), 7, "v7", 0, 0, false, 100);
  t.OnWrite("k", h, t.BeginWrite(h), 6, "v6", 0, 0, false, 100);  // a slower, earlier writer
  RamHit hit;
  ASSERT_TRUE(t.Lookup("k", h, 100, &hit));
  EXPECT_EQ(hit.value.view(), "v7");
  EXPECT_EQ(hit.version, 7u);
}

TEST(RamTierTest, ExpiredEntriesAreNotServed) {
  RamTier t(8 << 20);
  const uint64_t h = RamKeyHash("k");
  ASSERT_TRUE(t.Fill("k", h, t.BeginFill(h), V("v"), 0, 150, 1, 100));
  RamHit hit;
  EXPECT_TRUE(t.Lookup("k", h, 149, &hit));
  EXPECT_FALSE(t.Lookup("k", h, 150, &hit));
  EXPECT_EQ(t.Stats().items, 0u);
}

TEST(RamTierTest, StaysWithinItsByteBudget) {
  const uint64_t cap = 1 << 20;
  RamTier t(cap);
  for (int i = 0; i < 5000; i++) {
    const std::string k = "key" + std::to_string(i);
    const uint64_t h = RamKeyHash(k);
    t.Fill(k, h, t.BeginFill(h), V(std::string(1000, 'x')), 0, 0, i + 1, 100);
    ASSERT_LE(t.Stats().bytes, cap);
  }
  EXPECT_GT(t.Stats().evictions, 0u);
  EXPECT_GT(t.Stats().items, 100u);
}

TEST(RamTierTest, RejectsObjectsLargerThanTheAdmissionLimit) {
  RamTier t(1 << 20);
  const uint64_t h = RamKeyHash("big");
  EXPECT_FALSE(t.Fill("big", h, t.BeginFill(h), V(std::string(t.max_object(), 'x')), 0, 0, 1, 1));
  EXPECT_EQ(t.Stats().fills_too_large, 1u);
}

// S3-FIFO: an object read again while in the small queue survives a scan of
// one-hit wonders; the wonders do not.
TEST(RamTierTest, ScanResistance) {
  RamTier t(1 << 20);  // one shard
  auto fill = [&](const std::string& k) {
    const uint64_t h = RamKeyHash(k);
    t.Fill(k, h, t.BeginFill(h), V(std::string(800, 'x')), 0, 0, 1, 1);
  };
  RamHit hit;
  for (int i = 0; i < 50; i++) {
    fill("hot" + std::to_string(i));
    t.Lookup("hot" + std::to_string(i), RamKeyHash("hot" + std::to_string(i)), 1, &hit);
  }
  for (int i = 0; i < 20000; i++) fill("scan" + std::to_string(i));
  int hot_left = 0;
  for (int i = 0; i < 50; i++) {
    const std::string k = "hot" + std::to_string(i);
    hot_left += t.Lookup(k, RamKeyHash(k), 1, &hit) ? 1 : 0;
  }
  EXPECT_EQ(hot_left, 50);
}

}  // namespace
}  // namespace coss::server

namespace coss::server {
namespace {
// Memory accounting at the density the issue measures: 100-byte values with
// 11-byte keys, written until the tier has long been full. Everything the tier
// keeps is charged within -m, and an object costs its key and value plus at
// most 17 bytes (header, index, ghost, segment slack; about 16 measured).
TEST(RamTierTest, SmallObjectsCostTheirBytesPlusLittle) {
  const uint64_t cap = 64ull << 20;
  RamTier t(cap);
  const std::string value(100, 'v');
  char key[32];
  for (uint64_t i = 0; i < 1'000'000; i++) {
    std::snprintf(key, sizeof key, "key:%07llu", static_cast<unsigned long long>(i));
    const uint64_t h = RamKeyHash(key);
    t.OnWrite(key, h, t.BeginWrite(h), i + 1, value, 0, 0, false, 1000);
  }
  const RamTierStats st = t.Stats();
  std::printf("items %llu bytes %llu per object %.1f (key+value 111)\n",
              (unsigned long long)st.items, (unsigned long long)st.bytes,
              static_cast<double>(cap) / static_cast<double>(st.items));
  EXPECT_LE(st.bytes, cap);
  EXPECT_GE(st.items * (111 + 17), cap) << "more than 17 bytes per object beyond key and value";
  // The newest objects are all there.
  RamHit hit;
  for (uint64_t i = 999'000; i < 1'000'000; i++) {
    std::snprintf(key, sizeof key, "key:%07llu", static_cast<unsigned long long>(i));
    ASSERT_TRUE(t.Lookup(key, RamKeyHash(key), 1000, &hit)) << key;
    ASSERT_EQ(hit.value.view(), value);
    ASSERT_EQ(hit.version, i + 1);
  }
}
}  // namespace
}  // namespace coss::server

namespace coss::server {
namespace {

// The index on its own: chains, the cuckoo step and resizing keep every slot
// findable; erased slots are gone. A table of one bucket forces overflow.
TEST(RamIndexTest, EverySlotStaysFindableThroughOverflowAndResize) {
  for (uint64_t home : {1, 7, 64}) {
    RamIndex idx(home);
    std::vector<uint64_t> hashes;
    std::mt19937_64 rng(home);
    auto slot_of = [&](size_t i) {
      return RamSlot::Make(hashes[i], static_cast<uint32_t>(i % 16000), static_cast<uint32_t>(i));
    };
    auto hash_of = [&](uint64_t slot) { return hashes[RamSlot::Offset(slot)]; };
    for (size_t i = 0; i < 3000; i++) {
      hashes.push_back(rng());
      idx.Insert(hashes[i], slot_of(i), hash_of);
    }
    auto find = [&](size_t i) {
      return idx.Find(hashes[i], [&](uint64_t v) { return v == slot_of(i); });
    };
    for (size_t i = 0; i < 3000; i++) ASSERT_NE(find(i), nullptr) << home << " " << i;
    for (size_t i = 0; i < 3000; i += 2) idx.Erase(find(i));
    EXPECT_EQ(idx.size(), 1500u);
    idx.Resize(200, hash_of);
    for (size_t i = 0; i < 3000; i++) EXPECT_EQ(find(i) != nullptr, i % 2 == 1) << home << " " << i;
    EXPECT_EQ(idx.size(), 1500u);
  }
}

// A model of the tier under churn: random writes (many sizes), deletes,
// lookups and fills on a 1 MiB tier that evicts all the time. A lookup hits
// only the latest value written for the key, with its version and flags.
TEST(RamTierTest, LookupsAlwaysSeeTheLatestWriteUnderEviction) {
  RamTier t(1 << 20);
  std::mt19937_64 rng(42);
  struct Ref {
    uint64_t version;
    std::string value;
    uint32_t flags;
  };
  std::map<std::string, Ref> ref;
  uint64_t version = 0, hits = 0;
  for (int i = 0; i < 200'000; i++) {
    const std::string k = "k" + std::to_string(rng() % 3000);
    const uint64_t h = RamKeyHash(k);
    const int op = static_cast<int>(rng() % 10);
    if (op < 4) {
      const std::string v(rng() % 8 == 0 ? rng() % 20000 : rng() % 300,
                          static_cast<char>('a' + i % 26));
      const auto flags = static_cast<uint32_t>(rng() % 3 == 0 ? rng() : 0);
      t.OnWrite(k, h, t.BeginWrite(h), ++version, v, flags, 0, false, 1000);
      ref[k] = {version, v, flags};
    } else if (op < 5) {
      t.Invalidate(k, h);
      ref.erase(k);
    } else if (op < 6) {
      auto it = ref.find(k);
      if (it != ref.end()) {  // a store read completing: the latest value
        t.Fill(k, h, t.BeginFill(h), V(it->second.value), it->second.flags, 0, it->second.version,
               1000);
      }
    } else {
      RamHit hit;
      if (t.Lookup(k, h, 1000, &hit)) {
        auto it = ref.find(k);
        ASSERT_NE(it, ref.end()) << k << " deleted but served";
        ASSERT_EQ(hit.version, it->second.version) << k;
        ASSERT_EQ(hit.value.view(), it->second.value) << k;
        ASSERT_EQ(hit.flags, it->second.flags) << k;
        hits++;
      }
    }
    ASSERT_LE(t.Stats().bytes, t.capacity());
  }
  EXPECT_GT(hits, 10'000u);
  EXPECT_GT(t.Stats().evictions, 1000u);
}

}  // namespace
}  // namespace coss::server

namespace coss::server {
namespace {

// Objects larger than a segment get a segment of their own, sized for them:
// they enter, are served, move to main whole when read, and a churn of them
// (mixed with small objects) stays within -m.
TEST(RamTierTest, LargeObjectsGetSegmentsOfTheirOwn) {
  RamTier t(16 << 20);  // one shard of 16 MiB, 64 KiB segments, objects up to 2 MiB
  ASSERT_LT(t.segment_bytes(), 300'000u);
  ASSERT_GE(t.max_object(), 1'000'000u);
  std::mt19937_64 rng(5);
  RamHit hit;
  const std::string hot(700'000, 'h');
  const uint64_t hh = RamKeyHash("hot");
  t.OnWrite("hot", hh, t.BeginWrite(hh), 1, hot, 0, 0, false, 100);
  for (uint64_t i = 0; i < 400; i++) {
    const std::string k = "big" + std::to_string(i);
    const std::string v(100'000 + rng() % 900'000, static_cast<char>('a' + i % 26));
    const uint64_t h = RamKeyHash(k);
    t.OnWrite(k, h, t.BeginWrite(h), i + 2, v, 0, 0, false, 100);
    for (int j = 0; j < 20; j++) {  // small objects between them
      const std::string sk = "small" + std::to_string(i * 20 + j);
      const uint64_t sh = RamKeyHash(sk);
      t.OnWrite(sk, sh, t.BeginWrite(sh), 1, std::string(200, 's'), 0, 0, false, 100);
    }
    ASSERT_TRUE(t.Lookup(k, h, 100, &hit)) << "a large object just written";
    ASSERT_EQ(hit.value.view(), v);
    ASSERT_TRUE(t.Lookup("hot", hh, 100, &hit)) << "the read-again large object was evicted";
    ASSERT_EQ(hit.value.view(), hot);
    ASSERT_LE(t.Stats().bytes, t.capacity());
  }
  EXPECT_GT(t.Stats().evictions, 300u);
  EXPECT_GT(t.Stats().copied_forward, 0u);
}

// A large value is neither copied in nor out: a fill keeps the buffer it was
// read into, and every hit hands out that same buffer. What the buffer's owner
// holds (more than the value) is what the tier charges.
TEST(RamTierTest, LargeValuesAreKeptAndServedByReference) {
  RamTier t(16 << 20);
  ASSERT_LT(t.segment_bytes(), 300'000u);
  auto buf = std::make_shared<std::string>(600'000, 'x');
  std::fill(buf->begin() + 4096, buf->begin() + 4096 + 500'000, 'v');
  const Bytes value(buf, std::string_view(*buf).substr(4096, 500'000), buf->size());
  const uint64_t h = RamKeyHash("chunk");
  ASSERT_TRUE(t.Fill("chunk", h, t.BeginFill(h), value, 3, 0, 9, 100));
  const uint64_t charged = t.Stats().bytes;
  EXPECT_GE(charged, 600'000u) << "the owner's whole buffer is charged, not only the value";
  RamHit a, b;
  ASSERT_TRUE(t.Lookup("chunk", h, 100, &a));
  ASSERT_TRUE(t.Lookup("chunk", h, 100, &b));
  EXPECT_EQ(a.value.data(), buf->data() + 4096) << "a hit copied the value";
  EXPECT_EQ(b.value.data(), a.value.data());
  EXPECT_EQ(a.value.view(), std::string(500'000, 'v'));
  EXPECT_EQ(a.flags, 3u);
  EXPECT_EQ(a.version, 9u);
  // Once evicted (a write replaces it), the tier lets go; a reader's reference
  // still holds the bytes, unchanged.
  t.Invalidate("chunk", h);
  EXPECT_FALSE(t.Lookup("chunk", h, 100, &b));
  buf.reset();
  EXPECT_EQ(a.value.view(), std::string(500'000, 'v'));
  // A written large value is copied once (the writer's buffer is not the tier's).
  std::string w(400'000, 'w');
  const uint64_t wh = RamKeyHash("written");
  t.OnWrite("written", wh, t.BeginWrite(wh), 10, w, 0, 0, false, 100);
  ASSERT_TRUE(t.Lookup("written", wh, 100, &b));
  EXPECT_NE(b.value.data(), w.data());
  w.assign(w.size(), 'z');
  EXPECT_EQ(b.value.view(), std::string(400'000, 'w'));
}

}  // namespace
}  // namespace coss::server
