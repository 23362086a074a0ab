// `coss fsck` on undamaged stores: counts, the rebuilt index (checked against
// what the engine itself rebuilds), jumbo runs, stale runs, the journal tail of
// a crash image, and the JSON form.
#include <chrono>
#include <filesystem>
#include <future>

#include "fsck_fixture.h"
#include "support/fault_device.h"

namespace coss::testing {
namespace {

int64_t RealNow() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

TEST_F(FsckTest, CleanStoreCountsObjectsTombstonesAndExpired) {
  // Written "a day ago": the e* keys expired an hour later, i.e. before fsck runs.
  const int64_t then = RealNow() - 86400;
  SetClockForTesting([then] { return then; });
  {
    auto e = MustOpen(Opts());
    for (int i = 0; i < 200; i++)
      ASSERT_TRUE(PutStr(*e, "k" + std::to_string(i), Val(i)).status.ok());
    for (int i = 0; i < 30; i++)
      ASSERT_TRUE(PutStr(*e, "k" + std::to_string(i), "new").status.ok());
    for (int i = 100; i < 140; i++) ASSERT_TRUE(e->Remove("k" + std::to_string(i)).ok());
    for (int i = 0; i < 10; i++)
      ASSERT_TRUE(PutStr(*e, "e" + std::to_string(i), "x", 0, then + 3600).status.ok());
    ASSERT_TRUE(e->Close().ok());
  }
  SetClockForTesting(nullptr);

  FsckRun text = Fsck("--store " + Path());
  EXPECT_EQ(text.rc, 0) << text.out << text.err;
  EXPECT_NE(text.out.find("result: clean"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("160 live objects"), std::string::npos) << text.out;

  FsckRun js = Fsck("--json --store " + Path());
  ASSERT_EQ(js.rc, 0) << js.err;
  const std::string dev = "d['devices'][0]";
  EXPECT_EQ(PyU(js.out, dev + "['records']['values']"), 240u);
  EXPECT_EQ(PyU(js.out, dev + "['records']['tombstones']"), 40u);
  EXPECT_EQ(PyU(js.out, dev + "['records']['clears']"), 0u);
  EXPECT_EQ(PyU(js.out, dev + "['records']['expired']"), 10u);
  EXPECT_EQ(PyU(js.out, dev + "['records']['verified']"), 280u);
  EXPECT_EQ(PyU(js.out, dev + "['records']['failures']"), 0u);
  EXPECT_EQ(PyU(js.out, dev + "['index']['live_objects']"), 160u);
  EXPECT_EQ(PyU(js.out, dev + "['journal']['tail']"), 0u);
  EXPECT_EQ(Py(js.out, "d['clean']"), "True");

  // The engine rebuilds the same index.
  auto e = Rebuilt(Opts());
  EXPECT_EQ(e->Stats().objects, 160u);
  EXPECT_EQ(e->Stats().stripes_dropped_at_open, 0u);
  EXPECT_EQ(e->GetSync("k5").item.value, "new");
  EXPECT_EQ(e->GetSync("k120").status.code(), Code::kNotFound);
}

TEST_F(FsckTest, ClearRecordEmptiesTheRebuiltIndex) {
  {
    auto e = MustOpen(Opts());
    for (int i = 0; i < 50; i++) PutStr(*e, "old" + std::to_string(i), Val(i));
    ASSERT_TRUE(e->Clear().ok());
    for (int i = 0; i < 20; i++) PutStr(*e, "new" + std::to_string(i), Val(i));
    ASSERT_TRUE(e->Close().ok());
  }
  FsckRun js = Fsck("--json --store " + Path());
  ASSERT_EQ(js.rc, 0) << js.out << js.err;
  EXPECT_EQ(PyU(js.out, "d['devices'][0]['records']['clears']"), 1u);
  EXPECT_EQ(PyU(js.out, "d['devices'][0]['records']['values']"), 70u);
  EXPECT_EQ(PyU(js.out, "d['totals']['live_objects']"), 20u);
  EXPECT_EQ(Rebuilt(Opts())->Stats().objects, 20u);
}

TEST_F(FsckTest, JsonIsConsistentAndVerboseListsEveryStripe) {
  MakeStore(300);
  FsckRun js = Fsck("--json --verbose --store " + Path());
  ASSERT_EQ(js.rc, 0) << js.err;
  const std::string dev = "d['devices'][0]";
  const uint64_t total = PyU(js.out, dev + "['stripes']['total']");
  EXPECT_EQ(total, Super().stripe_count);
  EXPECT_EQ(PyU(js.out, "sum(v for k, v in " + dev + "['stripes'].items() if k != 'total')"),
            total);
  EXPECT_EQ(PyU(js.out, "len(" + dev + "['stripe_list'])"), total);
  EXPECT_EQ(PyU(js.out, dev + "['stripes']['valid']"), DataStripes().size());
  EXPECT_EQ(PyU(js.out, dev + "['superblock']['stripe_size']"), kStripe);
  EXPECT_EQ(Py(js.out, dev + "['superblock']['key_hash_seeded']"), "True");
  EXPECT_EQ(PyU(js.out, "d['exit_code']"), 0u);
  // The clean stop left an index checkpoint that a restart would load.
  EXPECT_EQ(Py(js.out, dev + "['checkpoint']['usable'] and " + dev + "['checkpoint']['clean']"),
            "True");
  EXPECT_EQ(PyU(js.out, dev + "['checkpoint']['entries']"), 300u);
  // cossd's --checkpoint none|DIR is understood the same way.
  const std::string off = Fsck("--json --checkpoint none --store " + Path()).out;
  EXPECT_EQ(Py(off, "(" + dev + "['checkpoint']['present'], " + dev + "['checkpoint']['path'])"),
            "(False, '')");
  const std::string elsewhere =
      Fsck("--json --checkpoint " + dir_.path() + " --store " + Path()).out;
  EXPECT_EQ(Py(elsewhere, dev + "['checkpoint']['path']"), dir_.path() + "/store0.ckpt");
  EXPECT_EQ(Py(elsewhere, dev + "['checkpoint']['usable']"), "True");
  EXPECT_EQ(Py(js.out, dev + "['stripe_list'][" + std::to_string(DataStripes()[0]) + "]['state']"),
            "valid");

  FsckRun text = Fsck("--verbose --store " + Path() + ":4m --stripe-size 64k");
  EXPECT_EQ(text.rc, 0) << text.out;
  EXPECT_NE(text.out.find("superblock  ok"), std::string::npos) << text.out;
}

TEST_F(FsckTest, JumboRunsHaveContinuationStripes) {
  EngineOptions o = Opts();
  o.max_value_size = 300u << 10;
  {
    auto e = MustOpen(o);
    for (int i = 0; i < 6; i++)
      ASSERT_TRUE(PutStr(*e, "big" + std::to_string(i), std::string(150000 + i, 'B')).status.ok());
    for (int i = 0; i < 100; i++) PutStr(*e, "k" + std::to_string(i), Val(i));
    ASSERT_TRUE(e->Close().ok());
  }
  FsckRun js = Fsck("--json --store " + Path());
  ASSERT_EQ(js.rc, 0) << js.out << js.err;
  const std::string dev = "d['devices'][0]";
  EXPECT_GE(PyU(js.out, dev + "['stripes']['continuation']"), 12u);  // 6 runs of >= 3 stripes
  EXPECT_EQ(PyU(js.out, dev + "['index']['live_objects']"), 106u);
  EXPECT_EQ(Rebuilt(o)->Stats().objects, 106u);

  // A flipped byte deep in a jumbo value fails that record, named by its run.
  const RecordAt big = Find("big3");
  ASSERT_GT(big.e.length, 3 * kStripe / 2);
  Flip(StripeOff(big.stripe) + big.e.offset + kStripe + 100);
  FsckRun bad = Fsck("--json --store " + Path());
  EXPECT_EQ(bad.rc, 1);
  EXPECT_EQ(PyU(bad.out, dev + "['records']['failures']"), 1u);
  EXPECT_EQ(PyU(bad.out, dev + "['bad_records'][0]['stripe']"), big.stripe);
}

TEST_F(FsckTest, StaleRunIsReportedButIsNotDamage) {
  MakeStore(300);
  const std::vector<uint32_t> data = DataStripes();
  ASSERT_GE(data.size(), 3u);
  const uint32_t s = data[1];
  ASSERT_EQ(data[0] + 1, s);
  format::StripeHeader older = Header(s - 1), newer = Header(s);
  ASSERT_LT(older.seq, newer.seq);
  // Make the older run claim two stripes: it now overlaps the newer run at s,
  // so the rebuild must drop it (as if s had been overwritten after it).
  older.span = 2;
  format::SealStripeHeader(&older, Super().uuid.Seed());
  Pwrite("store0", StripeOff(s - 1), &older, sizeof older);

  FsckRun js = Fsck("--json --store " + Path());
  EXPECT_EQ(js.rc, 0) << js.out;
  EXPECT_EQ(PyU(js.out, "d['devices'][0]['stripes']['stale']"), 1u);
  auto e = Rebuilt(Opts());
  EXPECT_EQ(e->Stats().stripes_dropped_at_open, 0u);
  EXPECT_EQ(PyU(js.out, "d['devices'][0]['index']['live_objects']"), e->Stats().objects);
  EXPECT_LT(e->Stats().objects, 300u);  // the stale run's objects are gone
}

TEST_F(FsckTest, CrashImageJournalTailMatchesTheEngine) {
  FaultDevice* fd = nullptr;
  auto e = MustOpen(Opts("live"), [&fd](uint32_t, std::unique_ptr<Device> d) {
    auto f = std::make_unique<FaultDevice>(std::move(d));
    fd = f.get();
    return f;
  });
  ASSERT_NE(e, nullptr);
  for (int i = 0; i < 100; i++) PutStr(*e, "k" + std::to_string(i), Val(i));
  ASSERT_TRUE(e->Flush().ok());
  fd->GateWrites(true, [](uint64_t off) { return off >= kData; });  // stripes stay in memory
  auto p = PutStr(*e, "k1", "overwritten");
  ASSERT_TRUE(WaitDurable(*e, p.ticket).ok());
  WriteTicket t;
  ASSERT_TRUE(e->Remove("k2", nullptr, &t).ok());
  ASSERT_TRUE(WaitDurable(*e, t).ok());
  std::filesystem::copy_file(Path("live"), Path("image"));
  std::filesystem::copy_file(Path("image"), Path("image2"));

  FsckRun js = Fsck("--json --store " + Path("image"));
  EXPECT_EQ(js.rc, 0) << js.out << js.err;  // a journal tail is not damage
  const std::string j = "d['devices'][0]['journal']";
  EXPECT_GE(PyU(js.out, j + "['tail']"), 2u);
  EXPECT_GE(PyU(js.out, j + "['lost_writes']"), 2u);
  EXPECT_EQ(PyU(js.out, j + "['keys_dropped']"), 2u);  // k1 and k2: their old copies are on disk
  // The journal's version reservation covers every version handed out (CAS values
  // never repeat after a crash), and the stripes carry their seal time.
  EXPECT_GT(PyU(js.out, j + "['version_limit']"), p.version);
  EXPECT_GT(PyU(js.out, "d['devices'][0]['index']['newest_seal_unix']"), 0u);
  const uint64_t live = PyU(js.out, "d['devices'][0]['index']['live_objects']");
  EXPECT_EQ(live, 98u);

  auto r = Rebuilt(Opts("image2"));
  EXPECT_EQ(r->Stats().objects, live);
  EXPECT_EQ(r->GetSync("k1").status.code(), Code::kNotFound);
  fd->GateWrites(false);
}

}  // namespace
}  // namespace coss::testing
