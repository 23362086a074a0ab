// Reopen (full metadata scan) and damage tests on real store files.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <map>
#include <set>

#include "engine/format.h"
#include "support/engine_fixture.h"
#include "support/fault_device.h"
#include "util/hash.h"

namespace coss::testing {
namespace {

constexpr uint32_t kStripe = 64u << 10;
const uint64_t kData = format::kSuperblockSize + format::JournalBytesFor(kStripe);  // stripe 0

class RecoveryTest : public ::testing::TestWithParam<IoKind> {
 protected:
  // These tests exercise the full rebuild from stripe metadata (no checkpoint).
  EngineOptions Opts() {
    auto o = SmallStore(dir_, GetParam(), 2u << 20);
    o.devices[0].checkpoint = "none";
    return o;
  }
  std::string Path() { return dir_.file("store0"); }
  static std::string Val(int i) {
    return std::string(700 + i % 300, static_cast<char>('a' + i % 26)) + std::to_string(i);
  }

  // Key hashes listed in stripe s's directory, read straight from the file.
  std::set<uint64_t> HashesInStripe(uint32_t s) {
    const int fd = ::open(Path().c_str(), O_RDONLY);
    std::string stripe(kStripe, '\0');
    EXPECT_EQ(::pread(fd, stripe.data(), kStripe, kData + uint64_t{s} * kStripe), kStripe);
    ::close(fd);
    format::StripeHeader h;
    std::memcpy(&h, stripe.data(), sizeof h);
    std::set<uint64_t> out;
    for (uint32_t i = 0; i < h.record_count; i++) {
      format::DirEntry e;
      std::memcpy(&e, stripe.data() + format::DirEntryOffset(kStripe, i), sizeof e);
      out.insert(e.key_hash);
    }
    return out;
  }
  // The store's key hash seed, from its superblock.
  uint64_t KeySeed() {
    format::Superblock sb{};
    const int fd = ::open(Path().c_str(), O_RDONLY);
    EXPECT_EQ(::pread(fd, &sb, sizeof sb, 0), static_cast<ssize_t>(sizeof sb));
    ::close(fd);
    return sb.key_seed;
  }
  void Poke(uint64_t off, char xor_mask) {
    const int fd = ::open(Path().c_str(), O_RDWR);
    char c;
    ASSERT_EQ(::pread(fd, &c, 1, static_cast<off_t>(off)), 1);
    c ^= xor_mask;
    ASSERT_EQ(::pwrite(fd, &c, 1, static_cast<off_t>(off)), 1);
    ::close(fd);
  }
  TempDir dir_;
};

TEST_P(RecoveryTest, CloseAndReopenServesEverything) {
  {
    auto e = MustOpen(Opts());
    for (int i = 0; i < 500; i++)
      ASSERT_TRUE(PutStr(*e, "k" + std::to_string(i), Val(i), i).status.ok());
    ASSERT_TRUE(e->Close().ok());
  }
  auto e = MustOpen(Opts());
  auto s = e->Stats();
  EXPECT_EQ(s.objects_recovered, 500u);
  EXPECT_EQ(s.objects, 500u);
  for (int i = 0; i < 500; i++) {
    auto g = e->GetSync("k" + std::to_string(i));
    ASSERT_TRUE(g.status.ok()) << i;
    EXPECT_EQ(g.item.value, Val(i));
    EXPECT_EQ(g.item.flags, static_cast<uint32_t>(i));
  }
  // New writes continue the ring after the rebuilt head and versions keep increasing.
  auto before = e->GetSync("k1").item.version;
  EXPECT_GT(PutStr(*e, "k1", "new").version, before);
}

TEST_P(RecoveryTest, TombstonesOverwritesAndClearSurviveReopen) {
  {
    auto e = MustOpen(Opts());
    PutStr(*e, "gone", "x");
    PutStr(*e, "changed", "v1");
    PutStr(*e, "pre-clear", "y");
    ASSERT_TRUE(e->Flush().ok());
    ASSERT_TRUE(e->Remove("gone").ok());
    PutStr(*e, "changed", "v2");
    ASSERT_TRUE(e->Close().ok());
  }
  {
    auto e = MustOpen(Opts());
    EXPECT_EQ(e->GetSync("gone").status.code(), Code::kNotFound);
    EXPECT_EQ(e->GetSync("changed").item.value, "v2");
    EXPECT_EQ(e->GetSync("pre-clear").item.value, "y");
    ASSERT_TRUE(e->Clear().ok());
    PutStr(*e, "post-clear", "z");
    ASSERT_TRUE(e->Close().ok());
  }
  auto e = MustOpen(Opts());
  EXPECT_EQ(e->GetSync("pre-clear").status.code(), Code::kNotFound);
  EXPECT_EQ(e->GetSync("changed").status.code(), Code::kNotFound);
  EXPECT_EQ(e->GetSync("post-clear").item.value, "z");
}

TEST_P(RecoveryTest, CorruptStripeIsDroppedAlone) {
  {
    auto e = MustOpen(Opts());
    for (int i = 0; i < 400; i++) PutStr(*e, "k" + std::to_string(i), Val(i));
    ASSERT_TRUE(e->Close().ok());
  }
  const auto victims = HashesInStripe(2);
  const uint64_t seed = KeySeed();
  ASSERT_NE(seed, 0u) << "a new store's key hash is seeded";
  ASSERT_GT(victims.size(), 10u);
  Poke(kData + 2 * kStripe + 20, 0x40);  // inside stripe 2's header
  auto e = MustOpen(Opts());
  EXPECT_EQ(e->Stats().stripes_dropped_at_open, 1u);
  int lost = 0;
  for (int i = 0; i < 400; i++) {
    const std::string k = "k" + std::to_string(i);
    auto g = e->GetSync(k);
    if (victims.count(KeyHash(k, seed))) {
      EXPECT_EQ(g.status.code(), Code::kNotFound) << k;
      lost++;
    } else {
      ASSERT_TRUE(g.status.ok()) << k;
      EXPECT_EQ(g.item.value, Val(i));
    }
  }
  EXPECT_EQ(lost, static_cast<int>(victims.size()));
}

// Key hashes are seeded per store (a denial of service by keys crafted to
// collide in the index needs the seed): two stores hash the same key apart, a
// store keeps its seed across restarts, and seed 0 (stores made before
// seeding) is the unseeded hash those stores were written with.
TEST_P(RecoveryTest, EachStoreHashesKeysWithItsOwnSeed) {
  uint64_t first;
  {
    auto e = MustOpen(Opts());
    PutStr(*e, "k", "v");
    ASSERT_TRUE(e->Close().ok());
    first = KeySeed();
  }
  ASSERT_NE(first, 0u);
  {
    auto e = MustOpen(Opts());
    EXPECT_EQ(e->GetSync("k").item.value, "v");
  }
  EXPECT_EQ(KeySeed(), first);
  TempDir other;
  auto o = SmallStore(other, GetParam(), 2u << 20);
  { auto e = MustOpen(o); }
  format::Superblock sb{};
  const int fd = ::open(o.devices[0].path.c_str(), O_RDONLY);
  ASSERT_EQ(::pread(fd, &sb, sizeof sb, 0), static_cast<ssize_t>(sizeof sb));
  ::close(fd);
  EXPECT_NE(sb.key_seed, first);
  EXPECT_NE(KeyHash("k", sb.key_seed), KeyHash("k", first));
  EXPECT_EQ(KeyHash("k", 0), XXH3_64bits("k", 1));
}

TEST_P(RecoveryTest, CorruptDirectoryDropsStripeAlone) {
  {
    auto e = MustOpen(Opts());
    for (int i = 0; i < 400; i++) PutStr(*e, "k" + std::to_string(i), Val(i));
    ASSERT_TRUE(e->Close().ok());
  }
  const auto victims = HashesInStripe(1);
  Poke(kData + 2 * kStripe - 40, 0x01);  // last directory entry of stripe 1
  auto e = MustOpen(Opts());
  EXPECT_EQ(e->Stats().stripes_dropped_at_open, 1u);
  EXPECT_EQ(e->Stats().objects, 400u - victims.size());
}

TEST_P(RecoveryTest, FlippedBitInRecordIsAMissNeverData) {
  {
    auto e = MustOpen(Opts());
    for (int i = 0; i < 50; i++) PutStr(*e, "k" + std::to_string(i), Val(i));
    ASSERT_TRUE(e->Close().ok());
  }
  // The first record of stripe 0 starts right after the stripe header: flip a value byte.
  Poke(kData + format::kStripeHeaderSize + sizeof(format::RecordHeader) + 10, 0x08);
  auto e = MustOpen(Opts());
  auto g = e->GetSync("k0");
  EXPECT_EQ(g.status.code(), Code::kNotFound);
  EXPECT_EQ(e->Stats().checksum_failures, 1u);
  for (int i = 1; i < 50; i++) EXPECT_EQ(e->GetSync("k" + std::to_string(i)).item.value, Val(i));
}

TEST_P(RecoveryTest, ReadErrorsAndBitFlipsFromTheDeviceAreMisses) {
  FaultDevice* fd = nullptr;
  auto e = MustOpen(Opts(), [&](uint32_t, std::unique_ptr<Device> d) {
    auto f = std::make_unique<FaultDevice>(std::move(d));
    fd = f.get();
    return f;
  });
  PutStr(*e, "a", Val(1));
  ASSERT_TRUE(e->Flush().ok());
  fd->fail_reads = 1;
  EXPECT_EQ(e->GetSync("a").status.code(), Code::kNotFound);
  EXPECT_EQ(e->Stats().io_errors, 1u);
  fd->flip_at = format::kStripeHeaderSize + 200;  // inside the record's value
  EXPECT_EQ(e->GetSync("a").status.code(), Code::kNotFound);
  EXPECT_EQ(e->Stats().checksum_failures, 1u);
  fd->flip_at = -1;
  EXPECT_EQ(e->GetSync("a").item.value, Val(1));
}

TEST_P(RecoveryTest, FailedStripeWriteDropsItsObjects) {
  FaultDevice* fd = nullptr;
  auto e = MustOpen(Opts(), [&](uint32_t, std::unique_ptr<Device> d) {
    auto f = std::make_unique<FaultDevice>(std::move(d));
    fd = f.get();
    return f;
  });
  fd->fail_writes_from = kData;  // a stripe write, not a journal block
  fd->fail_writes = 1;
  PutStr(*e, "lost", Val(3));
  (void)e->Flush();
  EXPECT_EQ(e->Stats().io_errors, 1u);
  EXPECT_EQ(e->GetSync("lost").status.code(), Code::kNotFound);
  PutStr(*e, "kept", Val(4));
  ASSERT_TRUE(e->Flush().ok());
  EXPECT_EQ(e->GetSync("kept").item.value, Val(4));
}

// A failed stripe write loses the deletes and flush_alls it held too: they are
// re-logged in a later run, or a rebuild would bring back what they removed.
TEST_P(RecoveryTest, FailedStripeWriteKeepsItsDeletesAndClears) {
  FaultDevice* fd = nullptr;
  auto open = [&] {
    return MustOpen(Opts(), [&](uint32_t, std::unique_ptr<Device> d) {
      auto f = std::make_unique<FaultDevice>(std::move(d));
      fd = f.get();
      return f;
    });
  };
  {
    auto e = open();
    PutStr(*e, "deleted", Val(1));
    PutStr(*e, "cleared", Val(2));
    ASSERT_TRUE(e->Flush().ok());
    fd->fail_writes_from = kData;
    fd->fail_writes = 1;
    ASSERT_TRUE(e->Remove("deleted").ok());
    (void)e->Flush();  // the run holding the tombstone fails
    EXPECT_EQ(e->Stats().io_errors, 1u);
    ASSERT_TRUE(e->Flush().ok());  // the re-logged tombstone
    ASSERT_TRUE(e->Close().ok());
  }
  {
    auto e = open();  // rebuild (no checkpoint)
    EXPECT_EQ(e->GetSync("deleted").status.code(), Code::kNotFound);
    EXPECT_EQ(e->GetSync("cleared").item.value, Val(2));
    fd->fail_writes_from = kData;
    fd->fail_writes = 1;
    ASSERT_TRUE(e->Clear().ok());  // durable in the journal; its run fails below
    (void)e->Flush();
    EXPECT_EQ(e->Stats().io_errors, 1u);
    ASSERT_TRUE(e->Flush().ok());
    ASSERT_TRUE(e->Close().ok());
  }
  auto e = MustOpen(Opts());
  EXPECT_EQ(e->GetSync("deleted").status.code(), Code::kNotFound);
  EXPECT_EQ(e->GetSync("cleared").status.code(), Code::kNotFound);
}

// Every block of a store file is reserved when it is opened (a sparse file
// would meet ENOSPC in the middle of a running store), also for a store made
// sparse by an older version.
TEST_P(RecoveryTest, StoreFileIsPreallocated) {
  auto allocated = [&] {
    struct stat st {};
    EXPECT_EQ(::stat(dir_.file("store0").c_str(), &st), 0);
    return static_cast<uint64_t>(st.st_blocks) * 512;
  };
  { auto e = MustOpen(Opts()); }
  EXPECT_GE(allocated(), 2u << 20);
  // Punch the data region out again, as a sparse store would be.
  {
    const int fd = ::open(dir_.file("store0").c_str(), O_RDWR);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(
        ::fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, kData, (2u << 20) - kData), 0);
    ::close(fd);
  }
  ASSERT_LT(allocated(), 2u << 20);
  auto e = MustOpen(Opts());
  EXPECT_GE(allocated(), 2u << 20);
}

TEST_P(RecoveryTest, RefusesMismatchedConfigurationAndForeignFiles) {
  { auto e = MustOpen(Opts()); }
  auto o = Opts();
  o.stripe_size = 128u << 10;
  auto r = Engine::Open(o);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("stripe size"), std::string::npos) << r.status().message();
  {
    auto e = MustOpen(Opts());
    auto second = Engine::Open(Opts());  // same store, still open
    ASSERT_FALSE(second.ok());
    EXPECT_NE(second.status().message().find("in use"), std::string::npos)
        << second.status().message();
  }
  const std::string foreign = dir_.file("foreign");
  {
    const int fd = ::open(foreign.c_str(), O_CREAT | O_WRONLY, 0644);
    ASSERT_EQ(::write(fd, "hello world", 11), 11);
    ::close(fd);
  }
  auto f = Opts();
  f.devices[0].path = foreign;
  auto r2 = Engine::Open(f);
  ASSERT_FALSE(r2.ok());
  EXPECT_NE(r2.status().message().find("not a coss store"), std::string::npos);
}

INSTANTIATE_TEST_SUITE_P(Io, RecoveryTest, ::testing::Values(IoKind::kUring, IoKind::kThreads),
                         IoName);

}  // namespace
}  // namespace coss::testing
