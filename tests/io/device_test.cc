// Both I/O backends on a real file: many operations in flight at once, data
// integrity, and errors reported as values.
#include "io/device.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <future>
#include <thread>

#include "io/thread_ring.h"
#include "support/temp_dir.h"
#include "util/aligned_buffer.h"

namespace coss::testing {
namespace {

class DeviceTest : public ::testing::TestWithParam<IoKind> {
 protected:
  std::unique_ptr<Device> Open(uint64_t size) {
    EngineOptions o;
    o.io = GetParam();
    auto d = OpenDevice({dir_.file("dev"), size}, o);
    EXPECT_TRUE(d.ok()) << d.status().ToString();
    return std::move(*d);
  }
  TempDir dir_;
};

TEST_P(DeviceTest, ManyConcurrentWritesThenReadsRoundTrip) {
  auto d = Open(8u << 20);
  EXPECT_TRUE(d->direct());  // /var/tmp is a disk file system: O_DIRECT must be in use
  constexpr int kOps = 256;
  std::vector<AlignedBuffer> bufs;
  for (int i = 0; i < kOps; i++) {
    bufs.emplace_back(4096);
    std::memset(bufs.back().data(), i, 4096);
  }
  std::atomic<int> done{0}, failed{0};
  std::atomic<int> max_inflight{0}, inflight{0};
  for (int i = 0; i < kOps; i++) {
    inflight++;
    max_inflight = std::max(max_inflight.load(), inflight.load());
    d->Write(uint64_t(i) * 4096, bufs[i].data(), 4096, [&](Status s) {
      inflight--;
      failed += !s.ok();
      done++;
    });
  }
  while (done.load() < kOps) std::this_thread::yield();
  EXPECT_EQ(failed.load(), 0);
  EXPECT_GT(max_inflight.load(), 1);  // submissions did not wait for each other
  ASSERT_TRUE(d->Sync().ok());
  std::vector<AlignedBuffer> rb;
  for (int i = 0; i < kOps; i++) rb.emplace_back(4096);
  done = 0;
  for (int i = 0; i < kOps; i++) {
    d->Read(uint64_t(i) * 4096, rb[i].data(), 4096, [&](Status s) {
      failed += !s.ok();
      done++;
    });
  }
  while (done.load() < kOps) std::this_thread::yield();
  EXPECT_EQ(failed.load(), 0);
  for (int i = 0; i < kOps; i++)
    EXPECT_EQ(static_cast<unsigned char>(rb[i].data()[4095]), i % 256) << i;
}

TEST_P(DeviceTest, ReadPastEndIsAnErrorNotShortSuccess) {
  auto d = Open(1u << 20);
  AlignedBuffer b(8192);
  Status s = ReadSync(*d, (1u << 20) - 4096, b.data(), 8192);
  EXPECT_EQ(s.code(), Code::kIoError);
}

TEST_P(DeviceTest, SecondOpenOfTheSameFileIsRefused) {
  auto d = Open(1u << 20);
  EngineOptions o;
  o.io = GetParam();
  auto second = OpenDevice({dir_.file("dev"), 1u << 20}, o);
  ASSERT_FALSE(second.ok());
  EXPECT_NE(second.status().message().find("in use"), std::string::npos);
}

// A thread with its own ring (a server worker): the io_uring backend's reads
// started on it complete on it, and only when it reaps; the thread-pool
// backend ignores the ring. Written data comes back intact either way, an
// error stays an error, and Shutdown counts the ring's reads as in flight.
TEST_P(DeviceTest, ReadsOnAThreadRingCompleteOnThatThreadWhenItReaps) {
  auto d = Open(4u << 20);
  constexpr int kOps = 300;  // more than the ring's 64 entries: it submits early
  std::vector<AlignedBuffer> bufs;
  for (int i = 0; i < kOps; i++) {
    bufs.emplace_back(4096);
    std::memset(bufs.back().data(), i % 251, 4096);
    ASSERT_TRUE(WriteSync(*d, uint64_t(i) * 4096, bufs.back().data(), 4096).ok());
    std::memset(bufs.back().data(), 0xEE, 4096);
  }
  auto ring = ThreadRing::Make(64);
  ASSERT_TRUE(ring.ok()) << ring.status().ToString();
  (*ring)->Install();
  ASSERT_EQ(ThreadRing::Current(), ring->get());
  const auto me = std::this_thread::get_id();
  std::atomic<int> done{0}, failed{0}, elsewhere{0};
  for (int i = 0; i < kOps; i++) {
    d->Read(uint64_t(i) * 4096, bufs[i].data(), 4096, [&](Status s) {
      failed += !s.ok();
      elsewhere += std::this_thread::get_id() != me;
      done++;
    });
  }
  AlignedBuffer past(8192);
  Status past_end;
  std::atomic<bool> past_done{false};
  d->Read((4u << 20) - 4096, past.data(), 8192, [&](Status s) {
    past_end = std::move(s);
    past_done = true;
  });
  if (GetParam() == IoKind::kUring) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    EXPECT_EQ(done.load(), 0);  // nothing runs behind the owner's back
    EXPECT_EQ((*ring)->inflight(), uint64_t{kOps} + 1);
  }
  (*ring)->Drain();
  // (the pool's threads, for kThreads)
  while (done.load() < kOps || !past_done.load()) std::this_thread::yield();
  EXPECT_EQ(failed.load(), 0);
  EXPECT_EQ(past_end.code(), Code::kIoError) << past_end.ToString();
  if (GetParam() == IoKind::kUring) {
    EXPECT_EQ(elsewhere.load(), 0);
  }
  for (int i = 0; i < kOps; i++) {
    EXPECT_EQ(static_cast<unsigned char>(bufs[i].data()[0]), i % 251) << i;
    EXPECT_EQ(static_cast<unsigned char>(bufs[i].data()[4095]), i % 251) << i;
  }
  (*ring)->Uninstall();
  EXPECT_EQ(ThreadRing::Current(), nullptr);
  d->Shutdown();  // nothing left in flight: returns
}

INSTANTIATE_TEST_SUITE_P(Io, DeviceTest, ::testing::Values(IoKind::kUring, IoKind::kThreads),
                         [](const auto& i) {
                           return i.param == IoKind::kUring ? "uring" : "threads";
                         });

}  // namespace
}  // namespace coss::testing
