// `coss fsck` on damaged stores: each kind of damage is found and named by its
// stripe (exit 1), and `--repair` leaves a store that the engine opens without
// dropping anything and that fsck then finds clean — without bringing back a
// deleted or older value.
#include <algorithm>
#include <filesystem>

#include "fsck_fixture.h"

namespace coss::testing {
namespace {

class FsckDamageTest : public FsckTest {
 protected:
  void SetUp() override {
    MakeStore(300);
    data_ = DataStripes();
    ASSERT_GE(data_.size(), 4u);
    victim_ = data_[1];
  }
  std::string Args(const std::string& extra = "") const {
    return extra + (extra.empty() ? "" : " ") + "--store " + Path();
  }
  std::vector<std::string> KeysIn(uint32_t stripe) const {
    std::vector<std::string> out;
    for (int i = 0; i < 300; i++) {
      const std::string k = "k" + std::to_string(i);
      if (Find(k).stripe == stripe) out.push_back(k);
    }
    return out;
  }
  // Repairs, checks that fsck is then clean and that the engine opens cleanly
  // and agrees with fsck's count. Returns fsck's live object count.
  uint64_t RepairAndConfirm() {
    FsckRun rep = Fsck(Args("--repair"));
    EXPECT_EQ(rep.rc, 1) << rep.out << rep.err;  // damage was found (and repaired)
    EXPECT_NE(rep.out.find("repaired"), std::string::npos) << rep.out;
    FsckRun after = Fsck(Args("--json"));
    EXPECT_EQ(after.rc, 0) << after.out;
    const uint64_t live = PyU(after.out, "d['totals']['live_objects']");
    auto e = MustOpen(Opts());
    EXPECT_EQ(e->Stats().stripes_dropped_at_open, 0u);
    EXPECT_EQ(e->Stats().objects, live);
    return live;
  }
  std::vector<uint32_t> data_;
  uint32_t victim_ = 0;
};

TEST_F(FsckDamageTest, CorruptHeaderIsNamedAndRepairedByMarkingItEmpty) {
  const std::vector<std::string> lost = KeysIn(victim_);
  ASSERT_FALSE(lost.empty());
  Flip(StripeOff(victim_) + offsetof(format::StripeHeader, seq));
  FsckRun r = Fsck(Args());
  EXPECT_EQ(r.rc, 1);
  EXPECT_NE(r.out.find("stripe " + std::to_string(victim_) + ": corrupt"), std::string::npos)
      << r.out;
  FsckRun js = Fsck(Args("--json"));
  EXPECT_EQ(PyU(js.out, "d['devices'][0]['damaged_stripes'][0]['stripe']"), victim_);
  EXPECT_EQ(Py(js.out, "d['devices'][0]['damaged_stripes'][0]['state']"), "corrupt");
  EXPECT_EQ(PyU(js.out, "len(d['devices'][0]['damaged_stripes'])"), 1u);
  EXPECT_EQ(Rebuilt(Opts())->Stats().stripes_dropped_at_open, 1u);  // the engine agrees

  ASSERT_TRUE(std::filesystem::exists(Path() + ".ckpt"));  // from the engine's clean stop
  EXPECT_EQ(RepairAndConfirm(), 300u - lost.size());
  // The checkpoint predated the repair: it was set aside so the restart rebuilt.
  EXPECT_TRUE(std::filesystem::exists(Path() + ".ckpt.pre-fsck"));
  const format::StripeHeader h = Header(victim_);
  EXPECT_EQ(h.kind, format::StripeKind::kEmpty);
  EXPECT_GT(h.seq, Header(data_.back()).seq);  // wins its position
  auto e = MustOpen(Opts());
  for (int i = 0; i < 300; i++) {
    const std::string k = "k" + std::to_string(i);
    const bool was_lost = std::find(lost.begin(), lost.end(), k) != lost.end();
    EXPECT_EQ(e->GetSync(k).status.ok(), !was_lost) << k;
  }
  // The empty marker's fresh seq does not move the write head: new runs go
  // after the newest data run, not over the data after the repaired stripe,
  // and a later rebuild keeps every run (none judged out of ring order).
  for (int i = 0; i < 40; i++) ASSERT_TRUE(PutStr(*e, "n" + std::to_string(i), Val(i)).status.ok());
  ASSERT_TRUE(e->Close().ok());
  e.reset();
  std::filesystem::remove(Path() + ".ckpt");
  auto re = MustOpen(Opts());
  EXPECT_EQ(re->Stats().stripes_dropped_at_open, 0u);
  for (int i = 0; i < 300; i++) {
    const std::string k = "k" + std::to_string(i);
    const bool was_lost = std::find(lost.begin(), lost.end(), k) != lost.end();
    EXPECT_EQ(re->GetSync(k).status.ok(), !was_lost) << k << " after new writes";
  }
  for (int i = 0; i < 40; i++) EXPECT_TRUE(re->GetSync("n" + std::to_string(i)).status.ok());
}

TEST_F(FsckDamageTest, CorruptDirectoryIsTornAndRepaired) {
  Flip(StripeOff(victim_) + kStripe - 20);  // inside directory entry 0
  FsckRun r = Fsck(Args());
  EXPECT_EQ(r.rc, 1);
  EXPECT_NE(r.out.find("stripe " + std::to_string(victim_) + ": torn: directory checksum"),
            std::string::npos)
      << r.out;
  const uint64_t before = PyU(Fsck(Args("--json")).out, "d['totals']['live_objects']");
  // The engine, on a copy: it ignores the torn run and, so that no later
  // recovery judges differently, zeroes its header before serving.
  std::filesystem::copy_file(Path(), Path("copy"));
  EXPECT_EQ(before, Rebuilt(Opts("copy"))->Stats().objects);
  FsckRun copy = Fsck("--store " + Path("copy"));
  EXPECT_EQ(copy.rc, 0) << copy.out;
  EXPECT_EQ(RepairAndConfirm(), before);  // the rebuild ignored that stripe already
}

TEST_F(FsckDamageTest, FlippedRecordByteFailsVerificationAndIsClearedNotEmptied) {
  // "victim" is written early, then overwritten; the newest copy gets damaged.
  {
    auto e = MustOpen(Opts());
    ASSERT_TRUE(PutStr(*e, "victim", "old-value").status.ok());
    for (int i = 0; i < 200; i++) PutStr(*e, "f" + std::to_string(i), Val(i));
    ASSERT_TRUE(PutStr(*e, "victim", "new-value").status.ok());
    ASSERT_TRUE(PutStr(*e, "neighbour", "same-stripe").status.ok());
    ASSERT_TRUE(e->Close().ok());
  }
  const RecordAt v = Find("victim");
  ASSERT_EQ(Find("neighbour").stripe, v.stripe);
  Flip(StripeOff(v.stripe) + v.e.offset + v.e.length - 1);  // last byte of the value

  FsckRun r = Fsck(Args());
  EXPECT_EQ(r.rc, 1);
  EXPECT_NE(r.out.find("stripe " + std::to_string(v.stripe) + " offset " +
                       std::to_string(v.e.offset) + ": value record checksum mismatch"),
            std::string::npos)
      << r.out;
  FsckRun js = Fsck(Args("--json"));
  EXPECT_EQ(PyU(js.out, "d['devices'][0]['records']['failures']"), 1u);
  EXPECT_EQ(PyU(js.out, "d['devices'][0]['bad_records'][0]['offset']"), v.e.offset);
  EXPECT_EQ(Py(js.out, "d['devices'][0]['damaged_stripes'][0]['fix']"), "clear-records");
  EXPECT_EQ(PyU(js.out, "d['devices'][0]['index']['unreadable']"), 1u);  // "victim" misses
  EXPECT_EQ(Fsck(Args("--no-verify-records")).rc, 0);                    // only the records show it

  const uint64_t live = RepairAndConfirm();
  const std::string after = Fsck(Args("--json")).out;
  EXPECT_EQ(PyU(after, "d['devices'][0]['records']['cleared_by_fsck']"), 1u);
  EXPECT_EQ(PyU(after, "d['devices'][0]['index']['unreadable']"), 1u);
  auto e = MustOpen(Opts());
  EXPECT_EQ(e->Stats().objects, live);
  auto g = e->GetSync("victim");
  EXPECT_EQ(g.status.code(), Code::kNotFound) << "served " << g.item.value;  // never "old-value"
  EXPECT_EQ(e->GetSync("neighbour").item.value, "same-stripe");              // the stripe was kept
}

TEST_F(FsckDamageTest, TornStripeWriteIsFoundAndRepaired) {
  // A power cut during the last stripe write: only its first 8 KiB reached the
  // disk; the rest of the stripe still holds what was there before (zeros).
  const uint32_t last = data_.back();
  const std::string zeros(kStripe - 8192, '\0');
  Pwrite("store0", StripeOff(last) + 8192, zeros.data(), zeros.size());
  FsckRun r = Fsck(Args());
  EXPECT_EQ(r.rc, 1) << r.out;
  EXPECT_NE(r.out.find("stripe " + std::to_string(last) + ": torn: directory checksum mismatch"),
            std::string::npos)
      << r.out;
  RepairAndConfirm();
}

TEST_F(FsckDamageTest, ForeignAndMisplacedHeadersAreForeign) {
  // Another store's header at the same position, and this store's own header
  // copied to another position.
  {
    auto e = MustOpen(Opts("other"));
    for (int i = 0; i < 300; i++) PutStr(*e, "o" + std::to_string(i), Val(i));
    ASSERT_TRUE(e->Close().ok());
  }
  const uint32_t foreign = data_[2];
  format::StripeHeader h = Header(foreign, "other");
  ASSERT_EQ(h.magic, format::kStripeMagic);
  Pwrite("store0", StripeOff(foreign), &h, sizeof h);
  const uint32_t spare = static_cast<uint32_t>(Super().stripe_count) - 1;
  ASSERT_NE(Header(spare).magic, format::kStripeMagic);
  h = Header(data_[0]);
  Pwrite("store0", StripeOff(spare), &h, sizeof h);

  FsckRun r = Fsck(Args());
  EXPECT_EQ(r.rc, 1);
  EXPECT_NE(r.out.find("stripe " + std::to_string(foreign) +
                       ": foreign: a stripe header of another store"),
            std::string::npos)
      << r.out;
  EXPECT_NE(
      r.out.find("stripe " + std::to_string(spare) + ": foreign: a header written for stripe " +
                 std::to_string(data_[0]) + " (misplaced write)"),
      std::string::npos)
      << r.out;
  RepairAndConfirm();
}

TEST_F(FsckDamageTest, CorruptJournalBlockIsDamageAndIsZeroedByRepair) {
  Flip(format::kSuperblockSize + 8);  // the first journal block's block_seq
  FsckRun js = Fsck(Args("--json"));
  EXPECT_EQ(js.rc, 1) << js.out;
  EXPECT_EQ(PyU(js.out, "d['devices'][0]['journal']['corrupt_blocks']"), 1u);
  RepairAndConfirm();
}

TEST_F(FsckDamageTest, SuperblockProblemsAreDamageAndBlockRepair) {
  Flip(StripeOff(victim_) + 8);
  FsckRun size = Fsck("--store " + Path() + ":8m");
  EXPECT_EQ(size.rc, 1);
  EXPECT_NE(size.out.find("formatted for 4194304 bytes"), std::string::npos) << size.out;
  FsckRun stripe = Fsck("--stripe-size 128k --store " + Path());
  EXPECT_EQ(stripe.rc, 1);
  EXPECT_NE(stripe.out.find("stripe size 65536 but --stripe-size is 131072"), std::string::npos)
      << stripe.out;
  const std::string before = FileBytes();
  FsckRun rep = Fsck("--repair --stripe-size 128k --store " + Path());
  EXPECT_EQ(rep.rc, 1);
  EXPECT_NE(rep.out.find("REFUSED"), std::string::npos) << rep.out;
  EXPECT_EQ(FileBytes(), before) << "a refused repair wrote to the store";

  Flip(0);  // superblock magic
  FsckRun bad = Fsck(Args());
  EXPECT_EQ(bad.rc, 1);
  EXPECT_NE(bad.out.find("not a coss store"), std::string::npos) << bad.out;
}

}  // namespace
}  // namespace coss::testing
