// Issue 6 policies: the policy spec, the Reinserter's write budget, ghost
// admission, and the engine's lazy reinsertion at stripe eviction — including
// race (c) for reinsertion: an overwrite or delete that lands while the
// evacuation read of its stripe is in flight always wins, also after a rebuild.
#include "engine/policy.h"

#include <gtest/gtest.h>

#include <future>

#include "engine/admission.h"
#include "engine/format.h"
#include "engine/reinsertion.h"
#include "support/engine_fixture.h"
#include "support/fault_device.h"

namespace coss::testing {
namespace {

TEST(PolicySpec, PartsAndErrors) {
  auto p = ParsePolicySpec("tail:25+reinsert:15+admit:duel:50");
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(p->relocation, "tail:25");
  EXPECT_TRUE(p->reinsertion.enabled);
  EXPECT_DOUBLE_EQ(p->reinsertion.budget, 0.15);
  EXPECT_FALSE(p->reinsertion.reset_hits);
  EXPECT_TRUE(p->admission.ghost);
  EXPECT_TRUE(p->admission.duel);
  EXPECT_EQ(p->admission.ghost_percent, 50u);
  auto q = ParsePolicySpec("reinsert:10:reset");
  ASSERT_TRUE(q.ok());
  EXPECT_EQ(q->relocation, "never");
  EXPECT_TRUE(q->reinsertion.reset_hits);
  EXPECT_FALSE(q->admission.ghost);
  for (const char* bad : {"", "tail:25+", "reinsert:0", "reinsert:x", "admit:ghost:0", "lru",
                          "never+always", "reinsert:5+reinsert:6", "admit:ghost+admit:duel"}) {
    EXPECT_FALSE(ParsePolicySpec(bad).ok()) << bad;
  }
}

// Whatever is offered, reinsertion never takes write amplification past the target.
TEST(Reinserter, BudgetBoundsWriteAmplification) {
  ReinsertionConfig c;
  c.enabled = true;
  c.budget = 0.15;
  const uint64_t ring = 64ull << 20;
  Reinserter r(c, ring);
  uint64_t offered = 0, written = 0, reinserted = 0;
  for (int step = 0; step < 100000; step++) {
    offered += 4096;
    written += 4096 + 96;  // the client's record, with its overhead
    r.Update(offered, written);
    for (int k = 0; k < 3; k++) {  // more candidates than the budget allows
      if (r.Offer(static_cast<uint8_t>(1 + k), 4200)) {
        written += 4200;
        reinserted += 4200;
      }
    }
    if (step % 16 == 0) r.EndOfStripe();
  }
  EXPECT_GT(reinserted, 0u);
  EXPECT_LE(double(written), 1.15 * double(offered) + double(ring) / 4 + 4200);
  EXPECT_GT(r.threshold(), 1) << "a scarce budget raises the threshold";
}

TEST(GhostAdmission, SecondMissIsAdmittedAndMemoryIsBounded) {
  AdmissionConfig c;
  c.ghost = true;
  GhostAdmission g(c, 1024 * 1000);  // ring of ~1000 objects of 1 KiB
  EXPECT_FALSE(g.Admit(0x1234'5678'9abc'def0ull, 1024));
  EXPECT_TRUE(g.Admit(0x1234'5678'9abc'def0ull, 1024));
  // Two generations of other keys later, the key is forgotten.
  for (uint64_t i = 1; i <= 5000; i++) g.Admit(i << 32, 1024);
  EXPECT_FALSE(g.Admit(0x1234'5678'9abc'def0ull, 1024));
  // Two Bloom generations of 1024 keys at 12 bits each (rounded up to 64-byte blocks).
  EXPECT_LE(g.MemoryBytes(), 2u * (1024 * 12 / 8 + 64));
  EXPECT_GT(g.MemoryBytes(), 0u);
}

TEST(GhostAdmission, NoFalseNegativesAndFewFalsePositives) {
  AdmissionConfig c;
  c.ghost = true;
  c.ghost_percent = 50;
  GhostAdmission g(c, uint64_t{1024} * 1'000'000);  // 1 M objects: 500 000 keys a generation
  auto hash = [](uint64_t i) {                      // SplitMix64: stand-in key hashes
    uint64_t z = (i + 1) * 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  };
  uint64_t first_admitted = 0;
  for (uint64_t i = 0; i < 300'000; i++) first_admitted += g.Admit(hash(i), 1024);
  uint64_t second_refused = 0;
  for (uint64_t i = 0; i < 300'000; i += 7) second_refused += !g.Admit(hash(i), 1024);
  uint64_t strangers_admitted = 0;
  for (uint64_t i = 0; i < 100'000; i++) strangers_admitted += g.Admit(hash(10'000'000 + i), 1024);
  EXPECT_EQ(second_refused, 0u) << "a remembered key was forgotten";
  // 12 bits a key in 512-bit blocks: about 0.6 % false positives when full, less before.
  EXPECT_LT(first_admitted, 300'000u / 100);
  EXPECT_LT(strangers_admitted, 100'000u / 100);
  EXPECT_GT(strangers_admitted + first_admitted, 0u) << "a Bloom filter this full has some";
  // One generation so far: 500 000 keys x 12 bits.
  EXPECT_LE(g.MemoryBytes(), 500'000u * 12 / 8 + 64);
}

TEST(GhostAdmission, DuelFollowsTheLeaderThatMissesLess) {
  AdmissionConfig c;
  c.ghost = true;
  c.duel = true;
  GhostAdmission g(c, 1 << 20);
  auto in_group = [](uint32_t group, uint64_t i) { return (i << 25) | (uint64_t{group} << 20); };
  EXPECT_FALSE(g.UseGhost(in_group(0, 1)));                 // leader: always admits
  EXPECT_TRUE(g.UseGhost(in_group(1, 1)));                  // leader: always the ghost
  for (int i = 0; i < 50; i++) g.UseGhost(in_group(0, i));  // the admit-all leader misses more
  EXPECT_TRUE(g.UseGhost(in_group(7, 1)));
  for (int i = 0; i < 200; i++) g.UseGhost(in_group(1, i));  // now the ghost leader does
  EXPECT_FALSE(g.UseGhost(in_group(7, 1)));
}

constexpr uint64_t kStripe = 64u << 10;
uint64_t StripeOff(uint32_t s) {
  return format::kSuperblockSize + format::JournalBytesFor(kStripe) + s * kStripe;
}

class PolicyEngineTest : public ::testing::TestWithParam<IoKind> {
 protected:
  EngineOptions Opts(const std::string& policy) {
    auto o = SmallStore(dir_, GetParam(), 1u << 20);
    o.relocation = policy;
    return o;
  }
  std::unique_ptr<Engine> Open(const std::string& policy) {
    return MustOpen(Opts(policy), [this](uint32_t, std::unique_ptr<Device> d) {
      auto f = std::make_unique<FaultDevice>(std::move(d));
      fd_ = f.get();
      return f;
    });
  }
  TempDir dir_;
  FaultDevice* fd_ = nullptr;
};

// Read objects survive laps of the ring without being read from the device
// again (reinserted at eviction); objects never read are evicted.
TEST_P(PolicyEngineTest, ReinsertionKeepsReadObjectsAcrossLaps) {
  auto e = Open("reinsert:100");
  const std::string hot(2000, 'h'), fill(3000, 'f');
  ASSERT_TRUE(PutStr(*e, "hot", hot).status.ok());
  ASSERT_TRUE(PutStr(*e, "cold", hot).status.ok());
  for (int i = 0; i < 1500; i++) {  // about four laps of the 1 MiB ring
    ASSERT_TRUE(PutStr(*e, "f" + std::to_string(i), fill).status.ok());
    if (i % 50 == 0) {
      auto g = e->GetSync("hot");
      ASSERT_TRUE(g.status.ok()) << "after " << i << " puts; reinsertions "
                                 << e->Stats().reinsertions << " evictions " << e->Stats().evictions
                                 << " device reads " << e->Stats().device_bytes_read;
      ASSERT_EQ(g.item.value, hot);
    }
  }
  const auto s = e->Stats();
  EXPECT_GT(s.reinsertions, 0u);
  EXPECT_GT(s.evictions, 500u);
  EXPECT_EQ(e->GetSync("cold").status.code(), Code::kNotFound);
  EXPECT_EQ(e->GetSync("hot").item.value, hot);
  EXPECT_EQ(s.checksum_failures, 0u);
  ASSERT_TRUE(e->Close().ok());
  e.reset();
  auto e2 = MustOpen(Opts("reinsert:100"));
  EXPECT_EQ(e2->GetSync("hot").item.value, hot) << "the reinserted copy survives a restart";
}

// Race (c) for reinsertion: the evacuation read of stripe 0 is held at the
// gate; `k` (in stripe 0, read once so it qualifies) is overwritten or deleted
// meanwhile. When the read completes, the stale copy must not be reinserted.
// `fills` (if given) receives the number of fill puts, `last` their last ticket.
void HoldEvacuationOfStripe0(Engine& e, FaultDevice& fd, int* fills = nullptr,
                             WriteTicket* last = nullptr) {
  ASSERT_TRUE(PutStr(e, "k", "old-value").status.ok());
  ASSERT_TRUE(e.Flush().ok());
  ASSERT_EQ(e.GetSync("k").item.value, "old-value");  // a hit: k qualifies for reinsertion
  fd.GateReads([](uint64_t off) { return off >= StripeOff(0) && off < StripeOff(1); });
  const std::string fill(3000, 'f');
  int i = 0;
  for (; i < 5000 && fd.held() == 0; i++) {
    auto r = PutStr(e, "f" + std::to_string(i), fill);
    ASSERT_TRUE(r.status.ok());
    if (last != nullptr) *last = r.ticket;
  }
  if (fills != nullptr) *fills = i;
  ASSERT_EQ(fd.held(), 1u) << "the head never came round to stripe 0";
}

TEST_P(PolicyEngineTest, ReinsertionLosesToConcurrentOverwrite) {
  auto e = Open("reinsert:100");
  HoldEvacuationOfStripe0(*e, *fd_);
  if (HasFatalFailure()) return;
  ASSERT_TRUE(PutStr(*e, "k", "new-value").status.ok());
  fd_->Release();
  EXPECT_EQ(e->GetSync("k").item.value, "new-value");
  ASSERT_TRUE(e->Close().ok());
  e.reset();
  auto e2 = MustOpen(Opts("reinsert:100"));
  EXPECT_EQ(e2->GetSync("k").item.value, "new-value");
}

TEST_P(PolicyEngineTest, ReinsertionLosesToConcurrentDelete) {
  auto e = Open("reinsert:100");
  HoldEvacuationOfStripe0(*e, *fd_);
  if (HasFatalFailure()) return;
  ASSERT_TRUE(e->Remove("k").ok());
  fd_->Release();
  EXPECT_EQ(e->GetSync("k").status.code(), Code::kNotFound);
  ASSERT_TRUE(e->Close().ok());
  e.reset();
  auto e2 = MustOpen(Opts("reinsert:100"));
  EXPECT_EQ(e2->GetSync("k").status.code(), Code::kNotFound);
}

// An evacuation read that completes while Close runs (after the open membuf is
// sealed and written, before the checkpoint) must not reinsert: that would open
// a run nobody writes, and the checkpoint would point `k` into it. The read of
// stripe 0 is held; once the journal is idle, the first Sync() is Close's own,
// and the hook releases the read there and waits for its completion to return.
TEST_P(PolicyEngineTest, EvacuationDuringCloseLosesNothing) {
  auto e = Open("reinsert:100");
  int fills = 0;
  WriteTicket last;
  HoldEvacuationOfStripe0(*e, *fd_, &fills, &last);
  if (HasFatalFailure()) return;
  // Once durable, the journal flusher calls no Sync() until Close.
  ASSERT_TRUE(WaitDurable(*e, last).ok());
  const uint64_t objects = e->Stats().objects;
  const uint64_t reinsertions = e->Stats().reinsertions;
  FaultDevice* fd = fd_;
  const uint64_t reads = fd->reads_done();
  bool hooked = false;
  fd->OnNextSync([fd, reads, &hooked] {
    hooked = true;
    fd->Release();
    fd->WaitReadsDone(reads + 1);  // FinishEvacuation has returned
  });
  ASSERT_TRUE(e->Close().ok());
  ASSERT_TRUE(hooked);
  EXPECT_EQ(e->Stats().reinsertions, reinsertions) << "reinserted while closing";
  e.reset();
  auto e2 = MustOpen(Opts("reinsert:100"));
  EXPECT_EQ(e2->GetSync("k").item.value, "old-value");
  EXPECT_EQ(e2->Stats().objects, objects);
  uint64_t found = e2->GetSync("k").status.ok() ? 1 : 0;
  for (int i = 0; i < fills; i++) found += e2->GetSync("f" + std::to_string(i)).status.ok();
  EXPECT_EQ(found, objects) << "every object held at Close is there after the restart";
  EXPECT_EQ(e2->Stats().checksum_failures, 0u);
}

// Once the ring is full, a put of a key seen for the first time is dropped
// (a miss later), the second is stored; overwrites are always stored.
TEST_P(PolicyEngineTest, GhostAdmissionDropsFirstTimersOnceTheRingIsFull) {
  auto e = Open("admit:ghost");
  const std::string v(3000, 'v');
  ASSERT_TRUE(PutStr(*e, "live", "1").status.ok());
  for (int i = 0; i < 400; i++) ASSERT_TRUE(PutStr(*e, "f" + std::to_string(i), v).status.ok());
  const uint64_t before = e->Stats().admission_rejected;
  ASSERT_TRUE(PutStr(*e, "first-timer", v).status.ok());
  EXPECT_EQ(e->Stats().admission_rejected, before + 1);
  EXPECT_EQ(e->GetSync("first-timer").status.code(), Code::kNotFound);
  ASSERT_TRUE(PutStr(*e, "first-timer", v).status.ok());
  EXPECT_EQ(e->GetSync("first-timer").item.value, v);
  // An overwrite of a live key is never dropped (it would expose the old value).
  ASSERT_TRUE(PutStr(*e, "f399", "new").status.ok());
  EXPECT_EQ(e->GetSync("f399").item.value, "new");
  EXPECT_EQ(e->Stats().admission_rejected, before + 1);
}

// A dropped put is a value stored and evicted at once: it is acknowledged only
// once no older copy can come back. Here the key's delete is still in the open
// membuf; acknowledging the dropped put before that tombstone is durable would
// let a power cut serve the value from before the delete (the crash-state
// explorer found it: tests/engine/crash_state_test.cc, chained mode).
TEST_P(PolicyEngineTest, DroppedPutWaitsForTheDeleteBeforeIt) {
  auto e = Open("admit:ghost");
  const std::string v(3000, 'v');
  const uint64_t before = e->Stats().admission_rejected;
  // Fill until the ring has wrapped; "k" is overwritten each time, so it stays live.
  for (int i = 0; e->Stats().admission_rejected == before; i++) {
    ASSERT_LT(i, 2000) << "the ring never wrapped";
    ASSERT_TRUE(PutStr(*e, "f" + std::to_string(i), v).status.ok());
    ASSERT_TRUE(PutStr(*e, "k", "old").status.ok());
  }
  ASSERT_EQ(e->GetSync("k").item.value, "old");
  WriteTicket del;
  ASSERT_TRUE(e->Remove("k", nullptr, &del).ok());
  ASSERT_NE(del.lsn, 0u);
  const uint64_t rejected = e->Stats().admission_rejected;
  const PutResult put = PutStr(*e, "k", "new");
  ASSERT_TRUE(put.status.ok());
  ASSERT_EQ(e->Stats().admission_rejected, rejected + 1) << "the put was not dropped";
  EXPECT_EQ(put.ticket.shard, del.shard);
  EXPECT_GE(put.ticket.lsn, del.lsn) << "acknowledged before the delete is durable";
}

INSTANTIATE_TEST_SUITE_P(Io, PolicyEngineTest, ::testing::Values(IoKind::kUring, IoKind::kThreads),
                         IoName);

}  // namespace
}  // namespace coss::testing
