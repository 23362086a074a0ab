// Exact LRU and FIFO baselines of `coss sim`, checked on hand-computed sequences.
#include <gtest/gtest.h>

#include "tools/sim/baselines.h"

namespace coss::sim {
namespace {

Request R(uint64_t id, uint32_t size = 10, uint32_t ttl = 0) {
  return Request{id, size, ttl, 0, Op::kGet};
}

// Look-aside: get, insert on a miss. Returns the hit/miss string ("h"/"m").
std::string Replay(CacheModel& c, const std::vector<uint64_t>& ids) {
  std::string out;
  for (uint64_t id : ids) {
    const bool hit = c.Get(R(id), 0);
    if (!hit) c.Put(R(id), 0);
    out += hit ? 'h' : 'm';
  }
  return out;
}

TEST(SimBaselines, LruPromotesOnHitFifoDoesNot) {
  // Capacity 3 objects of 10 bytes. Sequence 1 2 3 1 4 1 2:
  // LRU: m m m h m(evicts 2) h m(2 was evicted)
  // FIFO: m m m h m(evicts 1) m(1 evicted; evicts 2) m(2 evicted)
  auto lru = MakeLru(30);
  auto fifo = MakeFifo(30);
  EXPECT_EQ(Replay(*lru, {1, 2, 3, 1, 4, 1, 2}), "mmmhmhm");
  EXPECT_EQ(Replay(*fifo, {1, 2, 3, 1, 4, 1, 2}), "mmmhmmm");
}

TEST(SimBaselines, ByteCapacityAndOversizedObjects) {
  auto lru = MakeLru(100);
  lru->Put(R(1, 60), 0);
  lru->Put(R(2, 50), 0);  // 110 > 100: evicts 1
  EXPECT_FALSE(lru->Get(R(1), 0));
  EXPECT_TRUE(lru->Get(R(2), 0));
  lru->Put(R(3, 101), 0);  // larger than the cache: refused, nothing evicted
  EXPECT_FALSE(lru->Get(R(3), 0));
  EXPECT_TRUE(lru->Get(R(2), 0));
  RunResult r;
  lru->Finish(&r);
  EXPECT_EQ(r.refused, 1u);
  EXPECT_EQ(r.evictions, 1u);
  EXPECT_EQ(r.reref[0], 1u) << "object 1 was evicted never read";
  EXPECT_EQ(r.device_bytes_written, 110u);
}

TEST(SimBaselines, TtlExpiresAndRerefHistogram) {
  auto fifo = MakeFifo(20);
  fifo->Put(R(1, 10, 5), 100);  // expires at 105
  EXPECT_TRUE(fifo->Get(R(1), 104));
  EXPECT_FALSE(fifo->Get(R(1), 105));
  fifo->Put(R(2), 0);
  for (int i = 0; i < 5; i++) EXPECT_TRUE(fifo->Get(R(2), 0));
  fifo->Put(R(3), 0);
  fifo->Put(R(4), 0);  // evicts 2 (read 5 times: bucket 4-7)
  RunResult r;
  fifo->Finish(&r);
  EXPECT_EQ(r.evictions, 1u);
  EXPECT_EQ(r.reref[3], 1u);
}

TEST(SimBaselines, PutReplacesAndRemoveDeletes) {
  auto lru = MakeLru(30);
  lru->Put(R(1, 10), 0);
  lru->Put(R(1, 20), 0);  // replaces: 20 bytes used, not 30
  lru->Put(R(2, 10), 0);
  EXPECT_TRUE(lru->Get(R(1), 0));
  EXPECT_TRUE(lru->Get(R(2), 0));
  lru->Remove(R(1));
  EXPECT_FALSE(lru->Get(R(1), 0));
}

}  // namespace
}  // namespace coss::sim
