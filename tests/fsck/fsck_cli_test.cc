// `coss fsck` command line: usage errors and a locked store exit 2; several
// devices are checked as one store (order and identity).
#include "fsck_fixture.h"

namespace coss::testing {
namespace {

TEST_F(FsckTest, UsageAndOpenErrorsExit2) {
  MakeStore(10);
  EXPECT_EQ(Fsck("").rc, 2);
  EXPECT_EQ(Fsck("--store " + Path() + ":12q").rc, 2);
  EXPECT_EQ(Fsck("--stripe-size 1000 --store " + Path()).rc, 2);
  EXPECT_EQ(Fsck("--bogus --store " + Path()).rc, 2);
  FsckRun missing = Fsck("--store " + Path("nope"));
  EXPECT_EQ(missing.rc, 2);
  EXPECT_NE(missing.err.find("cannot open"), std::string::npos) << missing.err;
  EXPECT_EQ(Fsck("--help").rc, 0);
  EXPECT_EQ(Fsck("--store " + Path()).rc, 0);  // the same store, asked properly
}

TEST_F(FsckTest, StoreLockedByARunningEngineIsRefused) {
  MakeStore(10);
  {
    auto e = MustOpen(Opts());  // holds the store's flock, as cossd does
    ASSERT_NE(e, nullptr);
    for (const char* mode : {"", "--repair "}) {
      FsckRun r = Fsck(std::string(mode) + "--store " + Path());
      EXPECT_EQ(r.rc, 2) << mode;
      EXPECT_NE(r.err.find("locked by another process"), std::string::npos) << r.err;
      EXPECT_TRUE(r.out.empty()) << r.out;
    }
  }
  EXPECT_EQ(Fsck("--store " + Path()).rc, 0);
}

TEST_F(FsckTest, SeveralDevicesAreOneStoreInTheirOrder) {
  EngineOptions o = Opts();
  o.devices.push_back({Path("store1"), 4u << 20});
  {
    auto e = MustOpen(o);
    for (int i = 0; i < 400; i++) PutStr(*e, "k" + std::to_string(i), Val(i));
    ASSERT_TRUE(e->Close().ok());
  }
  const std::string both = Path() + "," + Path("store1");
  FsckRun js = Fsck("--json --store " + both);
  ASSERT_EQ(js.rc, 0) << js.out;
  EXPECT_EQ(PyU(js.out, "len(d['devices'])"), 2u);
  EXPECT_EQ(PyU(js.out, "d['totals']['live_objects']"), 400u);
  EXPECT_GT(PyU(js.out, "d['devices'][1]['index']['live_objects']"), 0u);
  EXPECT_EQ(Rebuilt(o)->Stats().objects, 400u);

  FsckRun swapped = Fsck("--store " + Path("store1") + "," + Path());
  EXPECT_EQ(swapped.rc, 1);
  EXPECT_NE(swapped.out.find("list the store's files in their original order"), std::string::npos)
      << swapped.out;
  FsckRun one = Fsck("--store " + Path());
  EXPECT_EQ(one.rc, 1);  // device 1 of 2 listed alone
  EXPECT_NE(one.out.find("is device 1 of 2"), std::string::npos) << one.out;

  MakeStore(10, "alien");  // a one-device store: wrong count and another UUID
  FsckRun mixed = Fsck("--store " + Path() + "," + Path("alien"));
  EXPECT_EQ(mixed.rc, 1);
  EXPECT_NE(mixed.out.find("different store than the first device"), std::string::npos)
      << mixed.out;
}

}  // namespace
}  // namespace coss::testing
