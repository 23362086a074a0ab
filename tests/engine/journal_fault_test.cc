// The journal under I/O errors: a write is acknowledged as durable only when
// its journal block was written and an fdatasync after it succeeded. A failed
// block write is retried; a failed fdatasync is never trusted again (after one,
// the kernel may have dropped dirty pages that a later successful sync does not
// cover), so every durable acknowledgement fails from then until a restart.
// Faults come from FaultDevice (failed syncs and EIO on writes cannot be
// produced on demand by a real file); the I/O underneath is real.
#include <gtest/gtest.h>
#include <sys/resource.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <future>
#include <memory>
#include <thread>

#include "engine/format.h"
#include "engine/journal.h"
#include "support/engine_fixture.h"
#include "support/fault_device.h"

namespace coss::testing {
namespace {

class JournalFaultTest : public ::testing::TestWithParam<IoKind> {
 protected:
  EngineOptions Opts() {
    auto o = SmallStore(dir_, GetParam(), 2u << 20);
    o.devices[0].path = dir_.file("store");
    return o;
  }
  std::unique_ptr<Engine> Open() {
    return MustOpen(Opts(), [this](uint32_t, std::unique_ptr<Device> d) {
      auto f = std::make_unique<FaultDevice>(std::move(d));
      fd_ = f.get();
      return f;
    });
  }
  TempDir dir_;
  FaultDevice* fd_ = nullptr;
};

TEST_P(JournalFaultTest, FailedSyncIsNeverAcknowledgedAndStaysFailed) {
  auto e = Open();
  auto before = PutStr(*e, "before", "durable");
  ASSERT_TRUE(WaitDurable(*e, before.ticket).ok());
  ASSERT_EQ(e->Stats().journal_errors, 0u);

  fd_->fail_syncs = 1;
  auto p = PutStr(*e, "k", "v1");
  ASSERT_TRUE(p.status.ok());
  const Status d = WaitDurable(*e, p.ticket);
  EXPECT_EQ(d.code(), Code::kIoError) << d.ToString();
  EXPECT_GE(e->Stats().journal_errors, 1u);

  // The device syncs again, but what the failed sync lost is not known: sticky.
  ASSERT_EQ(fd_->fail_syncs.load(), 0);
  auto later = PutStr(*e, "k", "v2");
  EXPECT_EQ(WaitDurable(*e, later.ticket).code(), Code::kIoError);
  WriteTicket del;
  ASSERT_TRUE(e->Remove("before", nullptr, &del).ok());
  EXPECT_EQ(WaitDurable(*e, del).code(), Code::kIoError);
  EXPECT_EQ(e->Clear().code(), Code::kIoError) << "flush_all must not report success";
  // Reads go on.
  EXPECT_EQ(e->GetSync("k").status.code(), Code::kNotFound);  // cleared in memory
}

// Persistence::kWritten (cossd --write-ack written): reported once the journal
// block is written, without waiting for the flush; kSynced waits for it. A
// failed flush fails the kSynced waiters, not the kWritten ones already told
// (their promise holds: the entry is written), and every later waiter of
// either level (sticky).
TEST_P(JournalFaultTest, WrittenIsReportedBeforeTheFlushAndSyncedAfterIt) {
  auto e = Open();
  std::promise<void> go;
  std::shared_future<void> released = go.get_future().share();
  fd_->OnNextSync([released] { released.wait(); });  // the journal's next flush waits
  auto p = PutStr(*e, "k", "v1");
  ASSERT_TRUE(p.status.ok());
  std::promise<Status> written, synced;
  e->WhenPersisted(p.ticket, Persistence::kWritten,
                   [&written](const Status& s) { written.set_value(s); });
  e->WhenPersisted(p.ticket, Persistence::kSynced,
                   [&synced](const Status& s) { synced.set_value(s); });
  auto w = written.get_future();
  auto d = synced.get_future();
  ASSERT_EQ(w.wait_for(std::chrono::seconds(10)), std::future_status::ready)
      << "kWritten waited for the flush";
  EXPECT_TRUE(w.get().ok());
  EXPECT_EQ(d.wait_for(std::chrono::milliseconds(200)), std::future_status::timeout)
      << "kSynced reported before the flush";
  go.set_value();
  EXPECT_TRUE(d.get().ok());

  fd_->fail_syncs = 1;
  auto q = PutStr(*e, "k", "v2");
  EXPECT_TRUE(WaitPersisted(*e, q.ticket, Persistence::kWritten).ok());
  EXPECT_EQ(WaitDurable(*e, q.ticket).code(), Code::kIoError);
  auto later = PutStr(*e, "k", "v3");
  EXPECT_EQ(WaitPersisted(*e, later.ticket, Persistence::kWritten).code(), Code::kIoError)
      << "a failed journal is sticky";
}

// A batch only kWritten waiters wait for may have its sync deferred (by up to
// Journal::kSyncDelay): the sync must still come, with no later write or
// waiter to prompt it, and a failure of that sync is still the journal's.
TEST_P(JournalFaultTest, ADeferredSyncComesWithoutAWaiterAndItsFailureSticks) {
  auto e = Open();
  auto a = PutStr(*e, "a", "v");
  ASSERT_TRUE(WaitDurable(*e, a.ticket).ok());  // a sync just now: the next one may be deferred
  std::atomic<bool> synced{false};
  fd_->OnNextSync([&synced] { synced = true; });
  fd_->fail_syncs = 1;
  auto b = PutStr(*e, "b", "v");
  EXPECT_TRUE(WaitPersisted(*e, b.ticket, Persistence::kWritten).ok());
  for (int i = 0; i < 500 && !synced; i++)
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  EXPECT_TRUE(synced) << "the written batch was never synced";
  EXPECT_EQ(WaitDurable(*e, b.ticket).code(), Code::kIoError) << "its failed sync was forgotten";
}

// Engine::WriteJournalHere (cossd's workers, --write-ack written): the
// entries are written on the calling thread, a ticket covers every earlier
// write of its shard, and the sync still follows from the flusher.
TEST_P(JournalFaultTest, WriteHereWritesOnTheCallersThreadAndTheSyncFollows) {
  auto e = Open();
  auto a = PutStr(*e, "a", "1");
  auto b = PutStr(*e, "b", "2");
  ASSERT_TRUE(e->WriteJournalHere(b.ticket));
  for (const WriteTicket& t : {a.ticket, b.ticket}) {
    auto seen = std::make_shared<std::atomic<bool>>(false);
    e->WhenPersisted(t, Persistence::kWritten, [seen](const Status& s) { *seen = s.ok(); });
    EXPECT_TRUE(*seen) << "lsn " << t.lsn << " was not written when WriteJournalHere returned";
  }
  EXPECT_TRUE(WaitDurable(*e, b.ticket).ok());
}

// A write that fails in WriteJournalHere is tried once there and left to the
// flusher (which retries and owns the failure): the journal does not fail.
TEST_P(JournalFaultTest, WriteHereLeavesAFailedWriteToTheFlusher) {
  auto e = Open();
  auto warm = PutStr(*e, "warm", "v");
  ASSERT_TRUE(WaitDurable(*e, warm.ticket).ok());
  fd_->fail_writes_from = format::kSuperblockSize;
  fd_->fail_writes = 1;
  auto p = PutStr(*e, "k", "v");
  (void)e->WriteJournalHere(p.ticket);  // false if it met the fault, true if the flusher did
  EXPECT_TRUE(WaitDurable(*e, p.ticket).ok());
  EXPECT_EQ(fd_->fail_writes.load(), 0) << "the fault was not hit";
  EXPECT_GE(e->Stats().journal_errors, 1u);
  auto later = PutStr(*e, "k", "v2");
  EXPECT_TRUE(e->WriteJournalHere(later.ticket));
  EXPECT_TRUE(WaitDurable(*e, later.ticket).ok());
}

TEST_P(JournalFaultTest, WriteHereRefusesOnAFailedJournal) {
  auto e = Open();
  fd_->fail_syncs = 1;
  auto p = PutStr(*e, "k", "v");
  ASSERT_EQ(WaitDurable(*e, p.ticket).code(), Code::kIoError);
  auto q = PutStr(*e, "k", "v2");
  EXPECT_FALSE(e->WriteJournalHere(q.ticket));
  EXPECT_EQ(WaitPersisted(*e, q.ticket, Persistence::kWritten).code(), Code::kIoError);
}

// A failed journal has nothing left to sync: its flusher goes idle. (It once
// kept finding the deferred sync of the failed round due and woke at once,
// again and again, taking the shard's lock each time.)
TEST_P(JournalFaultTest, AFailedJournalLeavesItsFlusherIdle) {
  auto e = Open();
  auto a = PutStr(*e, "a", "v");
  ASSERT_TRUE(WaitDurable(*e, a.ticket).ok());
  fd_->fail_syncs = 1;
  auto b = PutStr(*e, "b", "v");
  EXPECT_TRUE(e->WriteJournalHere(b.ticket));  // written; its sync may be deferred, and fails
  ASSERT_EQ(WaitDurable(*e, b.ticket).code(), Code::kIoError);
  EXPECT_FALSE(e->WriteJournalHere(PutStr(*e, "c", "v").ticket)) << "a failed journal is sticky";
  auto cpu = [] {
    rusage u{};
    getrusage(RUSAGE_SELF, &u);
    return (u.ru_utime.tv_sec + u.ru_stime.tv_sec) * 1e3 +
           (u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e3;
  };
  const double before = cpu();
  std::this_thread::sleep_for(std::chrono::milliseconds(400));
  EXPECT_LT(cpu() - before, 100.0) << "ms of CPU while idle: the flusher spins";
}

TEST_P(JournalFaultTest, RestartAfterFailedSyncServesWhatWasAcknowledged) {
  {
    auto e = Open();
    auto a = PutStr(*e, "acked", "yes");
    ASSERT_TRUE(WaitDurable(*e, a.ticket).ok());
    fd_->fail_syncs = 1;
    auto b = PutStr(*e, "refused", "maybe");
    ASSERT_EQ(WaitDurable(*e, b.ticket).code(), Code::kIoError);
    (void)e->Close();  // the final journal block is not written either
  }
  auto e = MustOpen(Opts());
  EXPECT_EQ(e->GetSync("acked").item.value, "yes");
  const GetResult r = e->GetSync("refused");  // never acknowledged: either outcome
  EXPECT_TRUE(r.status.code() == Code::kNotFound || r.item.value == "maybe");
  auto c = PutStr(*e, "fresh", "ok");
  EXPECT_TRUE(WaitDurable(*e, c.ticket).ok()) << "a restart clears the failure";
  EXPECT_EQ(e->Stats().journal_errors, 0u);
}

// Linux reports a writeback error once per file: a failed sync anywhere (here
// Flush) may be the only one to see it, so it fails the journal too, and the
// clean stop then claims nothing (no clean checkpoint).
TEST_P(JournalFaultTest, FailedSyncElsewhereFailsTheJournalAndTheCleanStop) {
  auto e = Open();
  auto a = PutStr(*e, "a", "v");
  ASSERT_TRUE(WaitDurable(*e, a.ticket).ok());
  fd_->fail_syncs = 1;
  EXPECT_EQ(e->Flush().code(), Code::kIoError);
  auto b = PutStr(*e, "b", "v");
  EXPECT_EQ(WaitDurable(*e, b.ticket).code(), Code::kIoError);
  std::filesystem::remove(dir_.file("store.ckpt"));
  (void)e->Close();
  EXPECT_FALSE(std::filesystem::exists(dir_.file("store.ckpt")))
      << "a clean checkpoint after the journal failed";
}

TEST_P(JournalFaultTest, TransientBlockWriteFailureIsRetried) {
  auto e = Open();
  // Only the journal region is written between a small put and its sync (its
  // stripe stays in the open membuf).
  fd_->fail_writes_from = format::kSuperblockSize;
  fd_->fail_writes = 1;
  auto p = PutStr(*e, "k", "v");
  EXPECT_TRUE(WaitDurable(*e, p.ticket).ok());
  EXPECT_EQ(fd_->fail_writes.load(), 0) << "the fault was not hit";
  EXPECT_EQ(e->Stats().journal_errors, 1u);
  auto q = PutStr(*e, "k2", "v");
  EXPECT_TRUE(WaitDurable(*e, q.ticket).ok());
}

TEST_P(JournalFaultTest, PersistentBlockWriteFailureFailsTheWaiters) {
  auto e = Open();
  fd_->fail_writes_from = format::kSuperblockSize;
  fd_->fail_writes = Journal::kWriteAttempts;
  auto p = PutStr(*e, "k", "v");
  EXPECT_EQ(WaitDurable(*e, p.ticket).code(), Code::kIoError);
  EXPECT_EQ(e->Stats().journal_errors, static_cast<uint64_t>(Journal::kWriteAttempts));
  auto q = PutStr(*e, "k2", "v");
  EXPECT_EQ(WaitDurable(*e, q.ticket).code(), Code::kIoError);
}

// The fault matrix at open: a failed superblock write, a failed sync of the
// new store, a failed journal block (the version reservation) each make the
// open fail with the error, and a later open on a healthy device succeeds.
TEST_P(JournalFaultTest, FaultsAtOpenFailTheOpenAndLeaveAStoreThatOpensLater) {
  struct Fault {
    const char* what;
    int writes_from_journal;  // fail this many writes at/after the journal region (-1: any)
    int syncs;
  };
  for (const Fault f : {Fault{"superblock write", -1, 0}, Fault{"sync at format", 0, 1},
                        Fault{"journal block", Journal::kWriteAttempts, 0}}) {
    SCOPED_TRACE(f.what);
    std::filesystem::remove(dir_.file("store"));
    std::filesystem::remove(dir_.file("store.ckpt"));
    auto r = OpenEngineWrapped(Opts(), [&](uint32_t, std::unique_ptr<Device> d) {
      auto fd = std::make_unique<FaultDevice>(std::move(d));
      if (f.writes_from_journal < 0) {
        fd->fail_writes = 1;  // the first write of a new store is its superblock
      } else if (f.writes_from_journal > 0) {
        fd->fail_writes_from = format::kSuperblockSize;
        fd->fail_writes = f.writes_from_journal;
      }
      fd->fail_syncs = f.syncs;
      return fd;
    });
    ASSERT_FALSE(r.ok()) << "the open succeeded despite the fault";
    EXPECT_EQ(r.status().code(), Code::kIoError) << r.status().ToString();
    auto e = MustOpen(Opts());  // the device is healthy again
    auto p = PutStr(*e, "k", "v");
    EXPECT_TRUE(WaitDurable(*e, p.ticket).ok());
  }
}

INSTANTIATE_TEST_SUITE_P(Io, JournalFaultTest, ::testing::Values(IoKind::kUring, IoKind::kThreads),
                         IoName);

}  // namespace
}  // namespace coss::testing
