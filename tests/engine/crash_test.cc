// Crash safety: what a restart serves after the process died with writes in
// memory. A crash image is a copy of the store file taken while the engine runs
// with its stripe writes held at a gate (journal writes pass), i.e. exactly what
// the disk holds if the process is killed at that moment.
#include <gtest/gtest.h>

#include <filesystem>
#include <future>
#include <thread>

#include "engine/format.h"
#include "support/engine_fixture.h"
#include "support/fault_device.h"

namespace coss::testing {
namespace {

constexpr uint32_t kStripe = 64u << 10;
const uint64_t kData = format::kSuperblockSize + format::JournalBytesFor(kStripe);

class CrashTest : public ::testing::TestWithParam<IoKind> {
 protected:
  EngineOptions Opts(const std::string& file) {
    auto o = SmallStore(dir_, GetParam(), 2u << 20);
    o.devices[0].path = dir_.file(file);
    return o;
  }
  std::unique_ptr<Engine> OpenGated() {
    return MustOpen(Opts("live"), [this](uint32_t, std::unique_ptr<Device> d) {
      auto f = std::make_unique<FaultDevice>(std::move(d));
      fd_ = f.get();
      return f;
    });
  }
  // Copies the live store as the disk holds it now, and opens the copy.
  std::unique_ptr<Engine> CrashAndRestart() {
    std::filesystem::copy_file(dir_.file("live"), dir_.file("image"),
                               std::filesystem::copy_options::overwrite_existing);
    return MustOpen(Opts("image"));
  }
  void HoldStripeWrites() {
    fd_->GateWrites(true, [](uint64_t off) { return off >= kData; });
  }
  TempDir dir_;
  FaultDevice* fd_ = nullptr;
};

// An acknowledged value does not stay in memory only for longer than
// max_buffer_age_s: the open stripe buffer is then written, full or not, and a
// crash (here: a copy of the file as the disk holds it) keeps the value.
TEST_P(CrashTest, AnOldBufferIsWrittenBeforeItIsFull) {
  auto o = Opts("live");
  o.max_buffer_age_s = 1;
  o.devices[0].checkpoint = "none";
  auto e = MustOpen(o);
  auto p = PutStr(*e, "k", "kept");
  ASSERT_TRUE(WaitDurable(*e, p.ticket).ok());
  EXPECT_EQ(e->Stats().aged_seals, 0u);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (e->Stats().aged_seals == 0 || e->Stats().stripes_written == 0) {
    ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "the buffer was never written";
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  std::filesystem::copy_file(dir_.file("live"), dir_.file("image"));
  auto img = Opts("image");
  img.devices[0].checkpoint = "none";
  auto r = MustOpen(img);
  EXPECT_EQ(r->GetSync("k").item.value, "kept");
}

// A version (CAS value) a client saw must never be given to another value
// after a crash, even when the value it was read from never reached the disk:
// the recovered clock starts above the journal's durable reservation.
TEST_P(CrashTest, VersionsNeverRepeatAfterACrash) {
  auto e = OpenGated();
  PutStr(*e, "durable", "on disk");
  ASSERT_TRUE(e->Flush().ok());
  HoldStripeWrites();
  uint64_t seen = 0;
  for (int i = 0; i < 50; i++) {
    auto p = PutStr(*e, "lost" + std::to_string(i), "never on disk");
    ASSERT_TRUE(p.status.ok());
    seen = std::max(seen, p.version);
    // What a client's gets would show, before anything about it is durable.
    EXPECT_EQ(e->GetSync("lost" + std::to_string(i)).item.version, p.version);
  }
  auto r = CrashAndRestart();
  auto p = PutStr(*r, "after", "crash");
  ASSERT_TRUE(p.status.ok());
  EXPECT_GT(p.version, seen) << "a version handed out before the crash was issued again";
  // And across a second restart of the restarted store (its reservation is durable too).
  auto q = PutStr(*r, "after2", "crash");
  r.reset();
  auto r2 = MustOpen(Opts("image"));
  EXPECT_GT(PutStr(*r2, "third", "x").version, q.version);
  fd_->GateWrites(false);
}

TEST_P(CrashTest, AcknowledgedOverwriteAndDeleteAreNeverUndoneByACrash) {
  auto e = OpenGated();
  PutStr(*e, "over", "old-value");
  PutStr(*e, "gone", "doomed");
  PutStr(*e, "kept", "steady");
  ASSERT_TRUE(e->Flush().ok());  // all three durable
  HoldStripeWrites();
  auto p = PutStr(*e, "over", "new-value");
  ASSERT_TRUE(p.status.ok());
  ASSERT_TRUE(WaitDurable(*e, p.ticket).ok());  // acknowledged
  WriteTicket t;
  ASSERT_TRUE(e->Remove("gone", nullptr, &t).ok());
  ASSERT_TRUE(WaitDurable(*e, t).ok());
  auto fresh = PutStr(*e, "fresh", "unwritten");
  ASSERT_TRUE(WaitDurable(*e, fresh.ticket).ok());
  // Fill a few membufs so sealed stripes sit in the gate as well.
  for (int i = 0; i < 30; i++) PutStr(*e, "fill" + std::to_string(i), std::string(3000, 'f'));

  auto r = CrashAndRestart();
  EXPECT_NE(r->GetSync("over").item.value, "old-value") << "stale value after crash";
  EXPECT_EQ(r->GetSync("over").status.code(), Code::kNotFound);
  EXPECT_EQ(r->GetSync("gone").status.code(), Code::kNotFound) << "deleted value came back";
  EXPECT_EQ(r->GetSync("kept").item.value, "steady");
  EXPECT_EQ(r->GetSync("fresh").status.code(), Code::kNotFound);
  EXPECT_GE(r->Stats().journal_dropped, 2u);
  r.reset();
  // The drops are themselves durable: a second crash right after restart keeps them.
  auto again = MustOpen(Opts("image"));
  EXPECT_EQ(again->GetSync("over").status.code(), Code::kNotFound);
  EXPECT_EQ(again->GetSync("gone").status.code(), Code::kNotFound);
  fd_->GateWrites(false);
}

TEST_P(CrashTest, AcknowledgedFlushAllIsNeverUndoneByACrash) {
  auto e = OpenGated();
  for (int i = 0; i < 20; i++) PutStr(*e, "k" + std::to_string(i), "v");
  ASSERT_TRUE(e->Flush().ok());
  HoldStripeWrites();
  ASSERT_TRUE(e->Clear().ok());  // returns once durable
  auto r = CrashAndRestart();
  for (int i = 0; i < 20; i++)
    EXPECT_EQ(r->GetSync("k" + std::to_string(i)).status.code(), Code::kNotFound);
  fd_->GateWrites(false);
}

TEST_P(CrashTest, CrashWithEverythingWrittenKeepsEverything) {
  auto e = OpenGated();
  for (int i = 0; i < 300; i++) PutStr(*e, "k" + std::to_string(i), std::string(500, 'a' + i % 26));
  ASSERT_TRUE(e->Flush().ok());
  auto p = PutStr(*e, "last", "x");
  ASSERT_TRUE(WaitDurable(*e, p.ticket).ok());
  ASSERT_TRUE(e->Flush().ok());
  auto r = CrashAndRestart();  // no Close: a crash, but nothing was in memory
  for (int i = 0; i < 300; i++)
    EXPECT_EQ(r->GetSync("k" + std::to_string(i)).item.value, std::string(500, 'a' + i % 26));
  EXPECT_EQ(r->GetSync("last").item.value, "x");
  EXPECT_EQ(r->Stats().journal_dropped, 0u);
}

TEST_P(CrashTest, CleanCloseDropsNothing) {
  {
    auto e = MustOpen(Opts("live"));
    for (int i = 0; i < 300; i++) PutStr(*e, "k" + std::to_string(i), "v");
    ASSERT_TRUE(e->Remove("k7").ok());
    ASSERT_TRUE(e->Close().ok());
  }
  auto e = MustOpen(Opts("live"));
  EXPECT_EQ(e->Stats().journal_tail_at_open, 0u) << "a clean stop leaves no journal tail";
  EXPECT_EQ(e->Stats().journal_dropped, 0u);
  EXPECT_EQ(e->Stats().objects, 299u);
  EXPECT_EQ(e->GetSync("k7").status.code(), Code::kNotFound);
}

TEST_P(CrashTest, TornStripeWriteYieldsMissesNotCorruptData) {
  auto e = OpenGated();
  for (int i = 0; i < 10; i++) PutStr(*e, "old" + std::to_string(i), "o");
  ASSERT_TRUE(e->Flush().ok());
  fd_->tear_writes_at = 8192;  // the next stripe write persists its first 8 KiB only
  for (int i = 0; i < 40; i++) PutStr(*e, "t" + std::to_string(i), std::string(1500, 'T'));
  ASSERT_TRUE(e->Flush().ok());
  auto r = CrashAndRestart();
  int hits = 0;
  for (int i = 0; i < 40; i++) {
    auto g = r->GetSync("t" + std::to_string(i));
    if (g.status.ok()) {
      EXPECT_EQ(g.item.value, std::string(1500, 'T'));
      hits++;
    }
  }
  EXPECT_LT(hits, 40);  // the torn tail is gone ...
  for (int i = 0; i < 10; i++)
    EXPECT_EQ(r->GetSync("old" + std::to_string(i)).item.value, "o");  // ... nothing else
}

// A stripe write torn after its header: the header verifies, the directory does
// not. The run's writes are lost, so the journal must drop the keys they wrote;
// counting the run as recovered would serve the older copy instead.
TEST_P(CrashTest, TornDirectoryLosesTheRunsWritesNotTheirOlderCopies) {
  auto e = OpenGated();
  ASSERT_TRUE(PutStr(*e, "k", "old-value").status.ok());
  ASSERT_TRUE(e->Flush().ok());
  fd_->tear_writes_at = 8192;  // the next stripe write keeps its first 8 KiB only
  auto p = PutStr(*e, "k", "new-value");
  ASSERT_TRUE(p.status.ok());
  ASSERT_TRUE(WaitDurable(*e, p.ticket).ok());  // acknowledged
  ASSERT_TRUE(e->Flush().ok());
  auto r = CrashAndRestart();
  const auto g = r->GetSync("k");
  EXPECT_NE(g.item.value, "old-value") << "an acknowledged overwrite was undone";
  EXPECT_EQ(g.status.code(), Code::kNotFound);
  EXPECT_GE(r->Stats().stripes_dropped_at_open, 1u);
}

// A failed stripe write while the journal's ring is full, its oldest slot
// naming the failed run: the flusher waits in the ring for stripe writes,
// taking fresh durable candidates. Until the tombstones re-logged for the
// run's keys are safe, only the journal entries naming the run keep a crash
// from serving those keys' older copies. The tombstones' own entries were
// appended after the flusher took its batch (unwritten) and their run is held
// at the gate, so the candidate must stay below the failed run: the slot is
// not reused, and a crash now drops the key instead of serving its old value.
// kTombstonesFailToo: the run holding the tombstones fails as well and the
// duty passes to its own re-logging. kShadowed: k was written again (into the
// open run, its entry unwritten) before its run failed, as was every other
// record of that run; the newer records, not tombstones, stand in for the
// lost ones until they are safe.
enum class Twist { kNone, kTombstonesFailToo, kShadowed };
void FailedRunInAFullJournalRing(const TempDir& dir, IoKind io, Twist twist) {
  auto o = SmallStore(dir, io, 8u << 20);
  o.devices[0].path = dir.file("live");
  o.membufs = 48;  // every run of the fill below is held at the gate at once
  // No aged seals: the wait in the full ring must seal the open run itself
  // (it holds the tombstones the failed run waits for), or the end hangs.
  o.max_buffer_age_s = 0;
  FaultDevice* fd = nullptr;
  auto e = MustOpen(o, [&fd](uint32_t, std::unique_ptr<Device> d) {
    auto f = std::make_unique<FaultDevice>(std::move(d));
    fd = f.get();
    return f;
  });
  ASSERT_TRUE(PutStr(*e, "k", "old-value").status.ok());
  ASSERT_TRUE(e->Flush().ok());
  fd->GateWrites(true, [](uint64_t off) { return off >= kData; });
  auto p = PutStr(*e, "k", "new-value");
  ASSERT_TRUE(p.status.ok());
  ASSERT_TRUE(WaitPersisted(*e, p.ticket, Persistence::kWritten).ok());  // acknowledged
  // Enough entries to wrap the journal's ring onto the slots naming k's run.
  const uint64_t slots = format::JournalBytesFor(kStripe) / format::kBlock;
  const uint64_t fill = slots * format::kJournalEntriesPerBlock + 2000;
  for (uint64_t i = 0; i < fill; i++) {
    ASSERT_TRUE(PutStr(*e, "f" + std::to_string(i), "v").status.ok());
  }
  // The flusher is stuck in the full ring once its writes stop.
  auto journal_bytes = [&] { return e->Stats().journal_bytes_written; };
  auto settle = [&] {
    for (uint64_t last = ~uint64_t{0}; last != journal_bytes();) {
      last = journal_bytes();
      std::this_thread::sleep_for(std::chrono::milliseconds(300));
    }
  };
  settle();
  const uint64_t stuck_at = journal_bytes();
  if (twist == Twist::kShadowed) {
    // Every record of k's run is written again (k and the fill's first keys),
    // so its failure re-logs no tombstone at all.
    ASSERT_TRUE(PutStr(*e, "k", "newer-value").status.ok());
    for (uint64_t i = 0; i < 1000; i++) {
      ASSERT_TRUE(PutStr(*e, "f" + std::to_string(i), "w").status.ok());
    }
  }
  ASSERT_TRUE(fd->FailHeldWrite());  // k's run: its write fails (EIO)
  if (twist == Twist::kTombstonesFailToo) {
    settle();  // the wait seals the run with the tombstones (newest held write)
    ASSERT_TRUE(fd->FailHeldWrite(/*newest=*/true));
    EXPECT_EQ(e->Stats().io_errors, 2u);
  } else {
    EXPECT_EQ(e->Stats().io_errors, 1u);
  }
  // Give a wrong candidate time to reuse the slot (the ring-full wait looks every ms).
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(1);
  while (journal_bytes() == stuck_at && std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(journal_bytes(), stuck_at) << "a journal slot naming the failed run was reused";

  std::filesystem::copy_file(dir.file("live"), dir.file("image"),
                             std::filesystem::copy_options::overwrite_existing);
  auto img = o;
  img.devices[0].path = dir.file("image");
  auto r = MustOpen(img);
  const auto g = r->GetSync("k");
  EXPECT_NE(g.item.value, "old-value") << "an acknowledged overwrite was undone";
  EXPECT_EQ(g.status.code(), Code::kNotFound);
  r.reset();
  fd->GateWrites(false);  // the tombstones' run is written: the ring moves on
  auto q = PutStr(*e, "after", "x");
  ASSERT_TRUE(q.status.ok());
  EXPECT_TRUE(WaitDurable(*e, q.ticket).ok());
}

TEST_P(CrashTest, AFailedRunIsNotForgottenWhileTheJournalRingIsFull) {
  FailedRunInAFullJournalRing(dir_, GetParam(), Twist::kNone);
}

TEST_P(CrashTest, AFailedRunWhoseTombstonesFailTooIsNotForgotten) {
  FailedRunInAFullJournalRing(dir_, GetParam(), Twist::kTombstonesFailToo);
}

TEST_P(CrashTest, AFailedRunWhoseKeyWasWrittenAgainIsNotForgotten) {
  FailedRunInAFullJournalRing(dir_, GetParam(), Twist::kShadowed);
}

INSTANTIATE_TEST_SUITE_P(Io, CrashTest, ::testing::Values(IoKind::kUring, IoKind::kThreads),
                         IoName);

}  // namespace
}  // namespace coss::testing

namespace coss::testing {
namespace {

TEST(JournalAccounting, JournalBytesCountAsDeviceBytes) {
  TempDir dir;
  auto e = MustOpen(SmallStore(dir, IoKind::kUring));
  auto p = PutStr(*e, "k", "v");
  ASSERT_TRUE(WaitDurable(*e, p.ticket).ok());
  const auto s = e->Stats();
  EXPECT_GE(s.journal_bytes_written, format::kBlock);
  EXPECT_EQ(s.stripes_written, 0u);  // nothing but the journal has been written
  EXPECT_EQ(s.device_bytes_written, s.journal_bytes_written);
}

}  // namespace
}  // namespace coss::testing
