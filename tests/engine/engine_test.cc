// Engine behaviour on real files through both I/O backends.
#include <gtest/gtest.h>

#include <atomic>
#include <fstream>
#include <thread>

#include "engine/format.h"
#include "support/engine_fixture.h"
#include "support/fault_device.h"
#include "util/hash.h"

namespace coss::testing {
namespace {

class EngineTest : public ::testing::TestWithParam<IoKind> {
 protected:
  TempDir dir_;
};

TEST_P(EngineTest, PutGetOverwriteRemove) {
  auto e = MustOpen(SmallStore(dir_, GetParam()));
  ASSERT_TRUE(e);
  EXPECT_EQ(e->GetSync("a").status.code(), Code::kNotFound);
  auto p1 = PutStr(*e, "a", "one", 7);
  ASSERT_TRUE(p1.status.ok());
  auto g = e->GetSync("a");
  ASSERT_TRUE(g.status.ok());
  EXPECT_EQ(g.item.value, "one");
  EXPECT_EQ(g.item.flags, 7u);
  EXPECT_EQ(g.item.version, p1.version);
  auto p2 = PutStr(*e, "a", "two");
  EXPECT_GT(p2.version, p1.version);
  EXPECT_EQ(e->GetSync("a").item.value, "two");
  EXPECT_TRUE(e->Remove("a").ok());
  EXPECT_EQ(e->GetSync("a").status.code(), Code::kNotFound);
  EXPECT_EQ(e->Remove("a").code(), Code::kNotFound);
  EXPECT_EQ(e->Stats().objects, 0u);
}

TEST_P(EngineTest, SizeHintBoundsWhatAGetReturns) {
  auto e = MustOpen(SmallStore(dir_, GetParam()));
  ASSERT_TRUE(e);
  EXPECT_EQ(e->SizeHint("none"), 0u);
  EXPECT_EQ(e->SizeHint(""), 0u);
  for (size_t n : {size_t{0}, size_t{1}, size_t{100}, size_t{4000}, size_t{16000}}) {
    const std::string key = "k" + std::to_string(n);
    ASSERT_TRUE(PutStr(*e, key, std::string(n, 'v')).status.ok());
    const uint64_t hint = e->SizeHint(key);
    EXPECT_GE(hint, n + key.size()) << n;                      // never below the value
    EXPECT_LE(hint, (n + key.size() + 64) * 9 / 8 + 64) << n;  // size class: < 12.5 % over
  }
  ASSERT_TRUE(e->Flush().ok());  // the same from the disk's index entries
  EXPECT_GE(e->SizeHint("k16000"), 16000u);
  ASSERT_TRUE(PutStr(*e, "k16000", "small").status.ok());
  EXPECT_LT(e->SizeHint("k16000"), 200u);  // follows overwrites
  ASSERT_TRUE(e->Remove("k16000").ok());
  EXPECT_EQ(e->SizeHint("k16000"), 0u);  // and deletes
}

TEST_P(EngineTest, ServesFromDiskAfterFlush) {
  auto e = MustOpen(SmallStore(dir_, GetParam()));
  for (int i = 0; i < 100; i++) PutStr(*e, "k" + std::to_string(i), std::string(500, 'a' + i % 26));
  ASSERT_TRUE(e->Flush().ok());
  for (int i = 0; i < 100; i++) {
    auto g = e->GetSync("k" + std::to_string(i));
    ASSERT_TRUE(g.status.ok()) << i;
    EXPECT_EQ(g.item.value, std::string(500, 'a' + i % 26));
  }
  auto s = e->Stats();
  EXPECT_GE(s.hits_disk, 1u);
  EXPECT_GE(s.stripes_written, 1u);
}

// A large value read from the device is handed out as a view of the read
// buffer (no copy); a small one is copied out, so that it does not keep a
// whole read buffer alive (held() is what a cache keeping it would charge).
TEST_P(EngineTest, LargeDiskValuesAreViewsOfTheirReadBuffer) {
  auto e = MustOpen(SmallStore(dir_, GetParam()));
  const std::string big(12'000, 'b');  // max_value_size is 16 KiB here
  ASSERT_TRUE(PutStr(*e, "big", big).status.ok());
  PutStr(*e, "small", std::string(100, 's'));
  ASSERT_TRUE(e->Flush().ok());
  auto g = e->GetSync("big");
  ASSERT_TRUE(g.status.ok());
  ASSERT_EQ(g.tier, Tier::kDisk);
  EXPECT_EQ(g.item.value, big);
  EXPECT_EQ(g.item.value.held() % 4096, 0u) << "not the direct-I/O buffer";
  EXPECT_GE(g.item.value.held(), big.size());
  auto s = e->GetSync("small");
  ASSERT_TRUE(s.status.ok());
  ASSERT_EQ(s.tier, Tier::kDisk);
  EXPECT_EQ(s.item.value, std::string(100, 's'));
  EXPECT_LT(s.item.value.held(), 4096u) << "a small value keeps its whole read buffer";
}

TEST_P(EngineTest, RingWrapsAndEvictsOldest) {
  auto o = SmallStore(dir_, GetParam(), 1u << 20);  // 15 stripes of 64 KiB
  auto e = MustOpen(o);
  const std::string v(1000, 'x');
  for (int i = 0; i < 5000; i++) ASSERT_TRUE(PutStr(*e, "k" + std::to_string(i), v).status.ok());
  // The sweeper keeps an evicted entry until its stripe's new content is
  // synced (the journal may defer a sync by kSyncDelay, longer than the loop
  // above takes): Flush syncs, and the next lap sweeps what it evicted.
  ASSERT_TRUE(e->Flush().ok());
  for (int i = 5000; i < 6100; i++) ASSERT_TRUE(PutStr(*e, "k" + std::to_string(i), v).status.ok());
  ASSERT_TRUE(e->Flush().ok());
  EXPECT_EQ(e->GetSync("k0").status.code(), Code::kNotFound);  // long overwritten
  auto g = e->GetSync("k6099");
  ASSERT_TRUE(g.status.ok());
  EXPECT_EQ(g.item.value, v);
  auto s = e->Stats();
  EXPECT_GT(s.evictions, 4000u);
  EXPECT_LT(s.objects, 1000u);
  EXPECT_EQ(s.objects + s.evictions, 6100u);
  uint64_t hist = 0;
  for (auto c : s.reref) hist += c;
  EXPECT_GT(hist, 0u);  // the sweeper has classified evicted entries
}

TEST_P(EngineTest, ExpiryIsHonoured) {
  int64_t now = 1'000'000;
  SetClockForTesting([&] { return now; });
  auto e = MustOpen(SmallStore(dir_, GetParam()));
  PutStr(*e, "soon", "v", 0, now + 10);
  PutStr(*e, "never", "v", 0, 0);
  PutStr(*e, "past", "v", 0, now - 1);
  EXPECT_TRUE(e->GetSync("soon").status.ok());
  EXPECT_EQ(e->GetSync("past").status.code(), Code::kNotFound);
  now += 10;
  EXPECT_EQ(e->GetSync("soon").status.code(), Code::kNotFound);
  EXPECT_TRUE(e->GetSync("never").status.ok());
  EXPECT_GE(e->Stats().expired, 2u);
  SetClockForTesting(nullptr);
}

// A clock stepped back while the store is down does not revive what had expired:
// the restart's clock is at least the time the newest stripe was sealed.
TEST_P(EngineTest, ExpiredStaysExpiredWhenTheClockIsSteppedBack) {
  const int64_t wall = NowSeconds();
  int64_t now = wall + 3600;  // the clock the store ran with; the system clock is an hour behind
  SetClockForTesting([&] { return now; });
  {
    auto e = MustOpen(SmallStore(dir_, GetParam()));
    PutStr(*e, "expired", "v", 0, now + 10);
    PutStr(*e, "live", "v", 0, now + 7200);
    now += 60;
    EXPECT_EQ(e->GetSync("expired").status.code(), Code::kNotFound);
    PutStr(*e, "later", "v");
    ASSERT_TRUE(e->Close().ok());  // stripes sealed at wall + 3660
  }
  SetClockForTesting(nullptr);             // the real clock: an hour earlier
  for (const char* ckpt : {"none", ""}) {  // rebuilt from stripes, and warm start
    auto o = SmallStore(dir_, GetParam());
    o.devices[0].checkpoint = ckpt;
    auto e = MustOpen(o);
    EXPECT_GE(NowSeconds(), wall + 3660) << ckpt;
    EXPECT_EQ(e->GetSync("expired").status.code(), Code::kNotFound) << ckpt;
    EXPECT_TRUE(e->GetSync("live").status.ok()) << ckpt;
    EXPECT_TRUE(e->Close().ok());
    SetClockForTesting(nullptr);  // back to the plain system clock for the next open
  }
}

TEST_P(EngineTest, ConditionalPutIsCompareAndSwap) {
  auto e = MustOpen(SmallStore(dir_, GetParam()));
  auto g = e->GetSync("c");
  ASSERT_TRUE(g.seen.absent());
  PutRequest add{.key = "c", .value = "1", .conditional = true, .expect = g.seen};
  ASSERT_TRUE(e->Put(add).status.ok());
  EXPECT_EQ(e->Put(add).status.code(), Code::kExists);  // no longer absent
  auto g2 = e->GetSync("c");
  PutRequest cas{.key = "c", .value = "2", .conditional = true, .expect = g2.seen};
  PutStr(*e, "c", "interloper");
  EXPECT_EQ(e->Put(cas).status.code(), Code::kExists);
  EXPECT_EQ(e->GetSync("c").item.value, "interloper");
  cas.expect = e->GetSync("c").seen;
  EXPECT_TRUE(e->Put(cas).status.ok());
  EXPECT_EQ(e->GetSync("c").item.value, "2");
}

// A re-put with keep_version (touch) keeps the version (CAS), also across a
// restart; a plain put after it gets a new, larger one.
TEST_P(EngineTest, KeepVersionKeepsTheCasValue) {
  auto o = SmallStore(dir_, GetParam());
  uint64_t v1 = 0;
  {
    auto e = MustOpen(o);
    v1 = PutStr(*e, "t", "value").version;
    auto g = e->GetSync("t");
    ASSERT_EQ(g.item.version, v1);
    PutRequest touch{.key = "t",
                     .value = g.item.value,
                     .expiry = NowSeconds() + 1000,
                     .conditional = true,
                     .expect = g.seen,
                     .keep_version = v1};
    const PutResult r = e->Put(touch);
    ASSERT_TRUE(r.status.ok());
    EXPECT_EQ(r.version, v1);
    auto g2 = e->GetSync("t");
    EXPECT_EQ(g2.item.version, v1);
    EXPECT_EQ(g2.item.expiry, touch.expiry);
    ASSERT_TRUE(e->Close().ok());
  }
  auto e = MustOpen(o);
  EXPECT_EQ(e->GetSync("t").item.version, v1);
  EXPECT_GT(PutStr(*e, "t", "new").version, v1);
}

TEST_P(EngineTest, RejectsBadKeysAndTooLargeValues) {
  auto e = MustOpen(SmallStore(dir_, GetParam()));
  EXPECT_EQ(PutStr(*e, "", "v").status.code(), Code::kInvalidArgument);
  EXPECT_EQ(PutStr(*e, std::string(251, 'k'), "v").status.code(), Code::kInvalidArgument);
  EXPECT_TRUE(PutStr(*e, std::string(250, 'k'), "v").status.ok());
  EXPECT_EQ(PutStr(*e, "big", std::string((16u << 10) + 1, 'v')).status.code(), Code::kTooLarge);
}

TEST_P(EngineTest, DefaultLimitStoresOneMebibyteValue) {
  EngineOptions o;
  o.devices.push_back({dir_.file("big"), 64u << 20});
  o.io = GetParam();
  auto e = MustOpen(o);  // defaults: 1 MiB stripes, 1 MiB values
  std::string v(1u << 20, 'z');
  v[12345] = 'q';
  const std::string key(250, 'K');
  ASSERT_TRUE(PutStr(*e, key, v).status.ok());
  PutStr(*e, "small", "s");
  EXPECT_EQ(e->GetSync(key).item.value, v);
  ASSERT_TRUE(e->Flush().ok());
  EXPECT_EQ(e->GetSync(key).item.value, v);
  EXPECT_EQ(e->GetSync("small").item.value, "s");
}

TEST_P(EngineTest, LargeConfiguredLimitSpansStripes) {
  EngineOptions o;
  o.devices.push_back({dir_.file("big"), 200u << 20});
  o.io = GetParam();
  o.max_value_size = 64u << 20;
  o.membufs = 2;
  o.relocation = "tail:25";  // no admission policy: every put below must be stored
  auto e = MustOpen(o);
  std::string v(64u << 20, 'a');
  for (size_t i = 0; i < v.size(); i += 4099) v[i] = static_cast<char>(i);
  ASSERT_TRUE(PutStr(*e, "huge", v).status.ok());
  // Fill until the ring wraps, so the next jumbo run has to skip the ring's end.
  std::string mid(3u << 20, 'm');
  for (int i = 0; i < 60; i++) ASSERT_TRUE(PutStr(*e, "m" + std::to_string(i), mid).status.ok());
  ASSERT_TRUE(PutStr(*e, "huge2", v).status.ok());
  ASSERT_TRUE(e->Flush().ok());
  auto g = e->GetSync("huge2");
  ASSERT_TRUE(g.status.ok());
  EXPECT_EQ(g.item.value, v);
  EXPECT_EQ(e->GetSync("m59").item.value, mid);
}

TEST_P(EngineTest, SeveralDevicesSpreadKeys) {
  auto o = SmallStore(dir_, GetParam());
  o.devices.push_back({dir_.file("store1"), 4u << 20});
  o.devices.push_back({dir_.file("store2"), 4u << 20});
  {
    auto e = MustOpen(o);
    for (int i = 0; i < 600; i++) PutStr(*e, "k" + std::to_string(i), "v" + std::to_string(i));
    ASSERT_TRUE(e->Close().ok());
  }
  auto e = MustOpen(o);
  for (int i = 0; i < 600; i++)
    EXPECT_EQ(e->GetSync("k" + std::to_string(i)).item.value, "v" + std::to_string(i));
  // every device got a share of the keys: each file holds a written stripe
  for (int d = 0; d < 3; d++) {
    std::ifstream f(dir_.file("store" + std::to_string(d)), std::ios::binary);
    f.seekg(4096 + format::JournalBytesFor(64u << 10));
    uint32_t magic = 0;
    f.read(reinterpret_cast<char*>(&magic), 4);
    EXPECT_EQ(magic, 0x52545343u) << "device " << d;
  }
}

TEST_P(EngineTest, BackPressureBusyThenRecovers) {
  auto o = SmallStore(dir_, GetParam());
  o.on_full = FullPolicy::kBusy;
  o.membufs = 2;
  FaultDevice* fd = nullptr;
  auto e = MustOpen(o, [&](uint32_t, std::unique_ptr<Device> d) {
    auto f = std::make_unique<FaultDevice>(std::move(d));
    fd = f.get();
    return f;
  });
  fd->GateWrites(true);  // the disk "stalls": no stripe write completes
  const std::string v(4000, 'b');
  int stored = 0;
  Code last = Code::kOk;
  for (int i = 0; i < 100 && last == Code::kOk; i++) {
    last = PutStr(*e, "k" + std::to_string(i), v).status.code();
    if (last == Code::kOk) stored++;
  }
  EXPECT_EQ(last, Code::kBusy);
  EXPECT_LE(stored, 2 * 16);  // at most two membufs of 64 KiB were filled
  EXPECT_EQ(e->Stats().membufs_in_flight, 2u);
  EXPECT_GE(e->Stats().busy, 1u);
  // Everything accepted is still readable while the writes are held.
  for (int i = 0; i < stored; i++) EXPECT_EQ(e->GetSync("k" + std::to_string(i)).item.value, v);
  fd->GateWrites(false);
  ASSERT_TRUE(e->Flush().ok());  // the held writes complete; membufs come back
  EXPECT_EQ(e->Stats().membufs_in_flight, 0u);
  EXPECT_TRUE(PutStr(*e, "after", v).status.ok());
  for (int i = 0; i < stored; i++) EXPECT_EQ(e->GetSync("k" + std::to_string(i)).item.value, v);
}

TEST_P(EngineTest, BackPressureWaitModeBlocksUntilWritten) {
  auto o = SmallStore(dir_, GetParam());
  o.membufs = 2;
  FaultDevice* fd = nullptr;
  auto e = MustOpen(o, [&](uint32_t, std::unique_ptr<Device> d) {
    auto f = std::make_unique<FaultDevice>(std::move(d));
    fd = f.get();
    return f;
  });
  fd->GateWrites(true);
  const std::string v(4000, 'w');
  std::atomic<int> done{0};
  std::thread writer([&] {
    for (int i = 0; i < 60; i++) {
      EXPECT_TRUE(PutStr(*e, "k" + std::to_string(i), v).status.ok());
      done++;
    }
  });
  while (fd->held_writes() == 0) std::this_thread::yield();
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_LT(done.load(), 60);  // the writer is waiting for a membuf
  EXPECT_GE(e->Stats().waits, 1u);
  fd->GateWrites(false);
  writer.join();
  EXPECT_EQ(done.load(), 60);
  EXPECT_EQ(e->GetSync("k59").item.value, v);
}

INSTANTIATE_TEST_SUITE_P(Io, EngineTest, ::testing::Values(IoKind::kUring, IoKind::kThreads),
                         IoName);

}  // namespace
}  // namespace coss::testing

namespace coss::testing {
namespace {

// The engine over in-memory devices (used by `coss sim`): same behaviour, inline I/O.
TEST(MemEngine, RingWrapsRelocatesAndRebuildsInMemory) {
  EngineOptions o;
  o.devices.push_back({"mem0", 2u << 20});
  o.stripe_size = 64u << 10;
  o.max_value_size = 16u << 10;
  o.relocation = "always";
  std::vector<std::unique_ptr<Device>> devs;
  devs.push_back(MakeMemDevice("mem0", 2u << 20));
  auto e = OpenEngineOnDevices(o, std::move(devs));
  ASSERT_TRUE(e.ok()) << e.status().ToString();
  const std::string v(3000, 'm');
  for (int i = 0; i < 2000; i++) ASSERT_TRUE(PutStr(**e, "k" + std::to_string(i), v).status.ok());
  ASSERT_TRUE((*e)->Flush().ok());
  auto g = (*e)->GetSync("k1990");
  ASSERT_TRUE(g.status.ok());
  EXPECT_EQ(g.tier, Tier::kDisk);
  EXPECT_EQ(g.item.value, v);
  EXPECT_EQ((*e)->Stats().relocations, 1u);
  EXPECT_EQ((*e)->GetSync("k0").status.code(), Code::kNotFound);
  EXPECT_GT((*e)->Stats().evictions, 1000u);
}

}  // namespace
}  // namespace coss::testing
