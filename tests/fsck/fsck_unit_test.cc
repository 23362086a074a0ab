// Unit tests of fsck's parts that need no store: the --store parser and the
// would-be index (against a std::unordered_map model, through growth and
// backward-shift deletion).
#include <gtest/gtest.h>

#include <random>
#include <unordered_map>

#include "tools/fsck/live_index.h"
#include "util/store_list.h"

namespace coss::tools::fsck {
namespace {

TEST(FsckStoreSpec, ParsesCossdSyntaxWithOptionalSizes) {
  std::vector<DeviceSpec> v;
  std::string err;
  ASSERT_TRUE(ParseStoreList("/a.coss:1g,/b:512m,/c,/d:64KiB", &v, &err)) << err;
  ASSERT_EQ(v.size(), 4u);
  EXPECT_EQ(v[0].path, "/a.coss");
  EXPECT_EQ(v[0].size, 1ull << 30);
  EXPECT_EQ(v[1].size, 512ull << 20);
  EXPECT_EQ(v[2].path, "/c");
  EXPECT_EQ(v[2].size, 0u);
  EXPECT_EQ(v[3].size, 64u << 10);
  EXPECT_FALSE(ParseStoreList("/a:0", &v, &err));
  EXPECT_FALSE(ParseStoreList("/a:1x", &v, &err));
  EXPECT_FALSE(ParseStoreList(":1g", &v, &err));
  EXPECT_FALSE(ParseStoreList("/a,", &v, &err));
  uint64_t n = 0;
  EXPECT_FALSE(ParseByteSize("99999999999999999999", &n));
  EXPECT_FALSE(ParseByteSize("20000000t", &n));
}

format::DirEntry Entry(uint64_t hash, format::RecordType t, uint32_t len, uint32_t expiry = 0) {
  format::DirEntry e{};
  e.key_hash = hash;
  e.type = t;
  e.length = len;
  e.expiry = expiry;
  return e;
}

TEST(FsckLiveIndex, MatchesAMapThroughGrowthAndDeletion) {
  LiveIndex idx;
  std::unordered_map<uint64_t, uint32_t> model;
  std::mt19937_64 rng(7);
  const uint32_t run = idx.AddRun(1);
  for (int i = 0; i < 200000; i++) {
    const uint64_t h = rng() % 5000 * 0x100000001ull;  // clustered homes
    if (rng() % 3 == 0) {
      idx.Apply(Entry(h, format::RecordType::kTombstone, 60), run, 100);
      model.erase(h);
    } else {
      const uint32_t len = 50 + static_cast<uint32_t>(rng() % 1000);
      idx.Apply(Entry(h, format::RecordType::kValue, len), run, 100);
      model[h] = len;
    }
    if (i % 10000 == 0) {
      ASSERT_EQ(idx.objects(), model.size()) << i;
    }
  }
  uint64_t bytes = 0;
  for (auto& [h, l] : model) bytes += l;
  EXPECT_EQ(idx.objects(), model.size());
  EXPECT_EQ(idx.bytes(), bytes);
  // Erasing every remaining key through the table empties it exactly.
  for (auto& [h, l] : model) idx.Apply(Entry(h, format::RecordType::kTombstone, 60), run, 100);
  EXPECT_EQ(idx.objects(), 0u);
  EXPECT_EQ(idx.bytes(), 0u);
}

TEST(FsckLiveIndex, ExpiryClearAndJournalRules) {
  LiveIndex idx;
  const uint32_t r5 = idx.AddRun(5), r9 = idx.AddRun(9);
  idx.Apply(Entry(1, format::RecordType::kValue, 100), r5, 1000);
  idx.Apply(Entry(2, format::RecordType::kValue, 100, 999), r5, 1000);  // expired
  idx.Apply(Entry(2, format::RecordType::kValue, 100, 2000), r5, 1000);
  idx.Apply(Entry(3, format::RecordType::kValue, 100), r9, 1000);
  EXPECT_EQ(idx.objects(), 3u);
  idx.Apply(Entry(4, format::RecordType::kValue, 100, 1000), r9, 1000);  // expiry == now
  EXPECT_EQ(idx.objects(), 3u);

  JournalScan scan;
  scan.tail = {{1, 7}, {3, 7}, {2, 9}};  // seq 7 lost: key 1 (in run 5) is dropped, 3 is newer
  JournalStats js;
  idx.ApplyJournal(scan, {5, 9}, &js);
  EXPECT_EQ(js.lost_writes, 2u);
  EXPECT_EQ(js.keys_dropped, 1u);
  EXPECT_EQ(idx.objects(), 2u);
  scan.tail = {{0, 11 | format::JournalEntry::kClear}};
  idx.ApplyJournal(scan, {5, 9}, &js);
  EXPECT_TRUE(js.lost_clear);
  EXPECT_EQ(idx.objects(), 0u);
  idx.Apply(Entry(8, format::RecordType::kValue, 10), r9, 1000);
  idx.Apply(Entry(0, format::RecordType::kClear, 49), r9, 1000);
  EXPECT_EQ(idx.objects(), 0u);
}

}  // namespace
}  // namespace coss::tools::fsck
