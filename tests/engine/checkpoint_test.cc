// Warm restart from index checkpoints: a clean stop reloads without a metadata
// scan; a crash after a checkpoint replays only what came after it; a damaged or
// foreign checkpoint falls back to the full rebuild.
#include "engine/checkpoint.h"

#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>

#include "engine/format.h"
#include "engine/index.h"
#include "support/engine_fixture.h"

namespace coss::testing {
namespace {

class CheckpointTest : public ::testing::TestWithParam<IoKind> {
 protected:
  EngineOptions Opts(const std::string& file = "store0") {
    auto o = SmallStore(dir_, GetParam(), 8u << 20);  // 123 stripes of 64 KiB
    o.devices[0].path = dir_.file(file);
    return o;
  }
  static std::string Val(int i) {
    return std::string(200 + i % 700, static_cast<char>('a' + i % 26));
  }
  TempDir dir_;
};

TEST_P(CheckpointTest, CleanStopRestartsFromCheckpointWithoutScanning) {
  {
    auto e = MustOpen(Opts());
    for (int i = 0; i < 3000; i++) PutStr(*e, "k" + std::to_string(i), Val(i));
    ASSERT_TRUE(e->Remove("k5").ok());
    ASSERT_TRUE(e->Close().ok());
  }
  ASSERT_TRUE(std::filesystem::exists(dir_.file("store0.ckpt")));
  uint64_t full_scan_bytes;
  {
    // Reference: the same store rebuilt from stripe metadata.
    auto o = Opts();
    o.devices[0].checkpoint = "none";
    auto e = MustOpen(o);
    full_scan_bytes = e->Stats().recovery_bytes_read;
    ASSERT_TRUE(e->Close().ok());
  }
  auto e = MustOpen(Opts());
  const auto s = e->Stats();
  EXPECT_EQ(s.objects, s.objects_recovered);
  EXPECT_GT(s.objects, 1000u);
  // The journal and a handful of stripe headers past the head, not every stripe.
  const uint64_t journal = format::JournalBytesFor(64u << 10);
  EXPECT_LE(s.recovery_bytes_read, journal + 10 * format::kBlock)
      << "warm " << s.recovery_bytes_read << " vs full scan " << full_scan_bytes;
  EXPECT_GT(full_scan_bytes, journal + 120 * format::kBlock);
  EXPECT_FALSE(std::filesystem::exists(dir_.file("store0.ckpt")));  // consumed
  EXPECT_EQ(e->GetSync("k5").status.code(), Code::kNotFound);
  int found = 0;
  for (int i = 0; i < 3000; i++) {
    auto g = e->GetSync("k" + std::to_string(i));
    if (g.status.ok()) {
      EXPECT_EQ(g.item.value, Val(i)) << i;
      found++;
    }
  }
  EXPECT_EQ(static_cast<uint64_t>(found), s.objects);
}

TEST_P(CheckpointTest, CrashAfterCheckpointReplaysOnlyLaterRuns) {
  auto e = MustOpen(Opts("live"));
  for (int i = 0; i < 1000; i++) PutStr(*e, "k" + std::to_string(i), Val(i));
  ASSERT_TRUE(e->Checkpoint().ok());
  // After the checkpoint: overwrites, deletes, new keys, enough to seal stripes.
  for (int i = 0; i < 100; i++) PutStr(*e, "k" + std::to_string(i), "new" + std::to_string(i));
  for (int i = 100; i < 150; i++) ASSERT_TRUE(e->Remove("k" + std::to_string(i)).ok());
  for (int i = 0; i < 500; i++) PutStr(*e, "n" + std::to_string(i), Val(i));
  ASSERT_TRUE(e->Flush().ok());
  // Crash: copy the store and its checkpoint as they are on disk now.
  std::filesystem::copy_file(dir_.file("live"), dir_.file("image"));
  std::filesystem::copy_file(dir_.file("live.ckpt"), dir_.file("image.ckpt"));
  auto r = MustOpen(Opts("image"));
  for (int i = 0; i < 100; i++)
    EXPECT_EQ(r->GetSync("k" + std::to_string(i)).item.value, "new" + std::to_string(i));
  for (int i = 100; i < 150; i++)
    EXPECT_EQ(r->GetSync("k" + std::to_string(i)).status.code(), Code::kNotFound);
  for (int i = 150; i < 1000; i++) {
    auto g = r->GetSync("k" + std::to_string(i));
    if (g.status.ok()) {
      EXPECT_EQ(g.item.value, Val(i));
    }
  }
  for (int i = 0; i < 500; i++) EXPECT_EQ(r->GetSync("n" + std::to_string(i)).item.value, Val(i));
  EXPECT_EQ(r->Stats().objects, r->Stats().objects_recovered);
  (void)e->Close();
}

// A write lands in the open membuf after the dump copied its key's partition,
// and that membuf is written before the dump ends: the run must still be
// replayed at a warm start, or the dump's older entry comes back after a crash.
// (Found by ModelTest.SharedKeysFlushAllCrashesAndIoErrors, about once in 450
// runs; here the hook puts the write at that point every time.)
TEST_P(CheckpointTest, WriteIntoTheOpenMembufDuringTheDumpIsReplayed) {
  auto e = MustOpen(Opts("live"));
  PutStr(*e, "k", "old");
  PutStr(*e, "gone", "before");
  ASSERT_TRUE(e->Flush().ok());  // both on disk, in an earlier run
  PutStr(*e, "other", "x");      // a membuf is open when the dump starts
  bool done = false;
  SetCheckpointHookForTesting([&](uint32_t partition) {
    if (partition != Index::kPartitions - 1 || done) return;
    done = true;  // every partition is copied: the dump holds k -> "old"
    ASSERT_TRUE(PutStr(*e, "k", "new").status.ok());
    ASSERT_TRUE(e->Remove("gone").ok());
    ASSERT_TRUE(e->Flush().ok());  // the membuf holding both is written before the dump ends
  });
  const Status ck = e->Checkpoint();
  SetCheckpointHookForTesting(nullptr);
  ASSERT_TRUE(ck.ok()) << ck.ToString();
  ASSERT_TRUE(done);
  // Crash: the store and the checkpoint as they are on disk now.
  std::filesystem::copy_file(dir_.file("live"), dir_.file("image"));
  std::filesystem::copy_file(dir_.file("live.ckpt"), dir_.file("image.ckpt"));
  auto r = MustOpen(Opts("image"));
  EXPECT_EQ(r->GetSync("k").item.value, "new");
  EXPECT_EQ(r->GetSync("gone").status.code(), Code::kNotFound);
  EXPECT_EQ(r->GetSync("other").item.value, "x");
  (void)e->Close();
}

TEST_P(CheckpointTest, CrashAfterTheRingWrappedPastTheCheckpoint) {
  auto e = MustOpen(Opts("live"));
  for (int i = 0; i < 500; i++) PutStr(*e, "old" + std::to_string(i), Val(i));
  ASSERT_TRUE(e->Checkpoint().ok());
  // More than a full lap after the checkpoint: every stripe it knew is rewritten.
  for (int i = 0; i < 20000; i++) PutStr(*e, "k" + std::to_string(i), Val(i));
  ASSERT_TRUE(e->Flush().ok());
  ASSERT_GT(e->Stats().evictions, 500u);
  std::vector<bool> live_old(500);
  for (int i = 0; i < 500; i++) live_old[i] = e->GetSync("old" + std::to_string(i)).status.ok();
  std::filesystem::copy_file(dir_.file("live"), dir_.file("image"));
  std::filesystem::copy_file(dir_.file("live.ckpt"), dir_.file("image.ckpt"));
  auto r = MustOpen(Opts("image"));
  // Nothing the running store had evicted comes back from the stale checkpoint.
  for (int i = 0; i < 500; i++) {
    auto g = r->GetSync("old" + std::to_string(i));
    if (!live_old[i]) {
      EXPECT_EQ(g.status.code(), Code::kNotFound) << "old" << i << " resurrected";
    }
  }
  int found = 0;
  for (int i = 0; i < 20000; i++) {
    auto g = r->GetSync("k" + std::to_string(i));
    if (g.status.ok()) {
      EXPECT_EQ(g.item.value, Val(i));
      found++;
    }
  }
  EXPECT_GT(found, 3000);
  (void)e->Close();
}

TEST_P(CheckpointTest, DamagedOrForeignCheckpointFallsBackToFullRebuild) {
  {
    auto e = MustOpen(Opts());
    for (int i = 0; i < 800; i++) PutStr(*e, "k" + std::to_string(i), Val(i));
    ASSERT_TRUE(e->Close().ok());
  }
  {
    std::fstream f(dir_.file("store0.ckpt"), std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(200);
    f.put('\x7f');
  }
  {
    auto e = MustOpen(Opts());
    EXPECT_EQ(e->Stats().objects, 800u);  // rebuilt from stripes instead
    EXPECT_EQ(e->GetSync("k799").item.value, Val(799));
    ASSERT_TRUE(e->Close().ok());
  }
  // A checkpoint of another store under this store's name is ignored.
  {
    auto o = Opts("other");
    auto e = MustOpen(o);
    PutStr(*e, "alien", "x");
    ASSERT_TRUE(e->Close().ok());
  }
  std::filesystem::copy_file(dir_.file("other.ckpt"), dir_.file("store0.ckpt"),
                             std::filesystem::copy_options::overwrite_existing);
  auto e = MustOpen(Opts());
  EXPECT_EQ(e->GetSync("alien").status.code(), Code::kNotFound);
  EXPECT_EQ(e->Stats().objects, 800u);
}

// A checkpoint that cannot be written (its directory is gone: a real failure,
// no fault injection) is an error for the caller, not for the store: it keeps
// serving, nothing acknowledged depends on it, and the next start rebuilds.
TEST_P(CheckpointTest, FailedCheckpointWriteIsReportedAndTheStoreGoesOn) {
  auto o = Opts();
  std::filesystem::create_directory(dir_.file("ckdir"));
  o.devices[0].checkpoint = dir_.file("ckdir") + "/store0.ckpt";
  {
    auto e = MustOpen(o);
    for (int i = 0; i < 300; i++) PutStr(*e, "k" + std::to_string(i), Val(i));
    std::filesystem::remove_all(dir_.file("ckdir"));
    const Status s = e->Checkpoint();
    EXPECT_EQ(s.code(), Code::kIoError) << s.ToString();
    EXPECT_NE(s.message().find("ckdir"), std::string::npos) << s.message();
    auto p = PutStr(*e, "after", "still served");
    ASSERT_TRUE(p.status.ok());
    EXPECT_TRUE(WaitDurable(*e, p.ticket).ok()) << "a failed checkpoint is not a failed sync";
    EXPECT_EQ(e->GetSync("after").item.value, "still served");
    (void)e->Close();  // its clean checkpoint fails too (logged)
  }
  std::filesystem::create_directory(dir_.file("ckdir"));
  auto e = MustOpen(o);  // no checkpoint: a rebuild
  EXPECT_EQ(e->Stats().objects, 301u);
  EXPECT_EQ(e->GetSync("k299").item.value, Val(299));
}

// A checkpoint that meets a full device fails with the kernel's own ENOSPC
// (its temp file is a link to /dev/full, whose writes return ENOSPC), leaves the
// last good checkpoint as it was and no temp file behind, and the store goes
// on; after a crash the restart loads that older checkpoint and replays what
// came after it, the writes made after the failure included.
TEST_P(CheckpointTest, CheckpointOnAFullDeviceFailsAndKeepsTheLastGoodOne) {
  auto slurp = [](const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  };
  auto e = MustOpen(Opts("live"));
  for (int i = 0; i < 600; i++) PutStr(*e, "k" + std::to_string(i), Val(i));
  ASSERT_TRUE(e->Checkpoint().ok());
  const std::string good = slurp(dir_.file("live.ckpt"));
  ASSERT_FALSE(good.empty());
  for (int i = 0; i < 100; i++) PutStr(*e, "k" + std::to_string(i), "new" + std::to_string(i));
  std::filesystem::create_symlink("/dev/full", dir_.file("live.ckpt.tmp"));
  const Status s = e->Checkpoint();
  EXPECT_EQ(s.code(), Code::kIoError) << s.ToString();
  EXPECT_NE(s.message().find(std::strerror(ENOSPC)), std::string::npos) << s.message();
  EXPECT_FALSE(std::filesystem::exists(std::filesystem::symlink_status(dir_.file("live.ckpt.tmp"))))
      << "the failed temp file was left behind";
  EXPECT_EQ(slurp(dir_.file("live.ckpt")), good) << "the last good checkpoint was touched";
  auto p = PutStr(*e, "after", "still served");
  ASSERT_TRUE(p.status.ok());
  EXPECT_TRUE(WaitDurable(*e, p.ticket).ok()) << "a failed checkpoint is not a failed sync";
  ASSERT_TRUE(e->Flush().ok());
  // Crash: the store and the checkpoint as they are on disk now.
  std::filesystem::copy_file(dir_.file("live"), dir_.file("image"));
  std::filesystem::copy_file(dir_.file("live.ckpt"), dir_.file("image.ckpt"));
  std::filesystem::copy_file(dir_.file("live"), dir_.file("cold"));
  auto o = Opts("cold");
  o.devices[0].checkpoint = "none";
  auto cold = MustOpen(o);
  auto r = MustOpen(Opts("image"));
  EXPECT_LT(r->Stats().recovery_bytes_read, cold->Stats().recovery_bytes_read)
      << "the restart did not start from the old checkpoint";
  EXPECT_FALSE(std::filesystem::exists(dir_.file("image.ckpt")));  // loaded and consumed
  for (auto* eng : {r.get(), cold.get()}) {
    for (int i = 0; i < 100; i++)
      EXPECT_EQ(eng->GetSync("k" + std::to_string(i)).item.value, "new" + std::to_string(i));
    for (int i = 100; i < 600; i++)
      EXPECT_EQ(eng->GetSync("k" + std::to_string(i)).item.value, Val(i));
    EXPECT_EQ(eng->GetSync("after").item.value, "still served");
  }
  (void)e->Close();
}

INSTANTIATE_TEST_SUITE_P(Io, CheckpointTest, ::testing::Values(IoKind::kUring, IoKind::kThreads),
                         IoName);

}  // namespace
}  // namespace coss::testing
