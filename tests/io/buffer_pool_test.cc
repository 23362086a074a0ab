// BufferPool: large read buffers are recycled, the idle ones stay within their
// bound, and buffers may outlive the pool.
#include "io/buffer_pool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <cstring>
#include <thread>
#include <vector>

namespace coss {
namespace {

bool Aligned(const char* p) {
  return reinterpret_cast<uintptr_t>(p) % 4096 == 0;
}

TEST(BufferPoolTest, ALargeBufferIsReusedOnceItsLastReferenceGoes) {
  auto pool = BufferPool::Create(8u << 20);
  PooledBuffer a = pool->Get(530'000);
  ASSERT_TRUE(Aligned(a.data.get()));
  EXPECT_GE(a.capacity, 530'000u);
  EXPECT_EQ(a.capacity % BufferPool::kGranule, 0u);
  std::memset(a.data.get(), 1, a.capacity);  // all of it is usable
  char* first = a.data.get();
  std::shared_ptr<char> held = a.data;  // a second reference (a value in a reply)
  a.data.reset();
  EXPECT_EQ(pool->retained_bytes(), 0u) << "recycled while still referenced";
  PooledBuffer b = pool->Get(530'000);
  EXPECT_NE(b.data.get(), first);
  held.reset();
  EXPECT_EQ(pool->retained_bytes(), a.capacity);
  PooledBuffer c = pool->Get(529'000);  // same granule: same buffer
  EXPECT_EQ(c.data.get(), first);
  EXPECT_EQ(pool->reused(), 1u);
  EXPECT_EQ(pool->retained_bytes(), 0u);
}

TEST(BufferPoolTest, SmallBuffersAreNotKept) {
  auto pool = BufferPool::Create(8u << 20);
  PooledBuffer a = pool->Get(5000);
  ASSERT_TRUE(Aligned(a.data.get()));
  EXPECT_EQ(a.capacity, 8192u);
  a.data.reset();
  EXPECT_EQ(pool->retained_bytes(), 0u);
}

TEST(BufferPoolTest, IdleBuffersStayWithinTheBoundOldestGoFirst) {
  auto pool = BufferPool::Create(1u << 20);  // room for three of 320 KiB
  std::vector<PooledBuffer> bufs;
  for (int i = 0; i < 10; i++) bufs.push_back(pool->Get(320u << 10));
  char* newest = bufs.back().data.get();
  bufs.clear();  // returned oldest first
  EXPECT_LE(pool->retained_bytes(), 1u << 20);
  EXPECT_EQ(pool->retained_bytes(), 3 * (320u << 10));
  EXPECT_EQ(pool->Get(320u << 10).data.get(), newest) << "the most recent idle buffer first";
  PooledBuffer huge = pool->Get(2u << 20);  // larger than the bound: never kept
  huge.data.reset();
  EXPECT_LE(pool->retained_bytes(), 1u << 20);
}

TEST(BufferPoolTest, BuffersMayOutliveThePool) {
  auto pool = BufferPool::Create(8u << 20);
  PooledBuffer a = pool->Get(1u << 20);
  pool.reset();
  std::memset(a.data.get(), 2, a.capacity);
  a.data.reset();  // freed, not returned (ASan would see a use after free)
}

TEST(BufferPoolTest, ConcurrentGetsAndReturnsNeverShareABuffer) {
  auto pool = BufferPool::Create(4u << 20);
  std::vector<std::thread> ts;
  std::atomic<int> bad{0};
  for (int t = 0; t < 4; t++) {
    ts.emplace_back([&, t] {
      for (int i = 0; i < 2000; i++) {
        PooledBuffer b = pool->Get((64u << 10) + (i % 3) * (16u << 10));
        const char mark = static_cast<char>(t * 50 + i % 50);
        std::memset(b.data.get(), mark, b.capacity);
        for (size_t j = 0; j < b.capacity; j += 4096)
          if (b.data.get()[j] != mark) bad++;
      }
    });
  }
  for (auto& t : ts) t.join();
  EXPECT_EQ(bad.load(), 0);
  EXPECT_GT(pool->reused(), 0u);
  EXPECT_LE(pool->retained_bytes(), 4u << 20);
}

}  // namespace
}  // namespace coss
