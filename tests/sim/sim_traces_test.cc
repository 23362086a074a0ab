// Trace readers and synthetic generators of `coss sim`.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>

#include "support/temp_dir.h"
#include "tools/sim/generators.h"
#include "tools/sim/report.h"
#include "tools/sim/spec.h"
#include "tools/sim/trace_readers.h"

namespace coss::sim {
namespace {

void WriteOracle(const std::string& path,
                 const std::vector<std::tuple<uint32_t, uint64_t, uint32_t>>& recs) {
  std::ofstream f(path, std::ios::binary);
  for (auto [t, id, size] : recs) {
    char b[24];
    const int64_t next = -1;
    std::memcpy(b, &t, 4);
    std::memcpy(b + 4, &id, 8);
    std::memcpy(b + 12, &size, 4);
    std::memcpy(b + 16, &next, 8);
    f.write(b, 24);
  }
}

TEST(SimTraces, OracleGeneralRecordsBecomeGetsWithRelativeTime) {
  coss::testing::TempDir dir;
  const std::string p = dir.file("t.bin");
  WriteOracle(p, {{100, 7, 4096}, {101, 8, 0}, {105, 7, 4096}});
  Trace t;
  ASSERT_EQ(ReadOracleGeneral(p, 0, &t), "");
  ASSERT_EQ(t.requests.size(), 3u);
  EXPECT_EQ(t.requests[0].id, 7u);
  EXPECT_EQ(t.requests[0].time, 0u);
  EXPECT_EQ(t.requests[2].time, 5u);
  EXPECT_EQ(t.requests[1].size, 1u) << "size 0 is stored as 1 byte";
  EXPECT_EQ(t.requests[2].op, Op::kGet);
  t.Summarize();
  EXPECT_EQ(t.objects, 2u);
  EXPECT_EQ(t.footprint_bytes, 4097u);
  EXPECT_EQ(t.requests_per_object[0], 1u);  // id 8: once
  EXPECT_EQ(t.requests_per_object[1], 1u);  // id 7: twice

  Trace lim;
  ASSERT_EQ(ReadOracleGeneral(p, 2, &lim), "");
  EXPECT_EQ(lim.requests.size(), 2u);
}

TEST(SimTraces, OracleGeneralRejectsTruncatedFile) {
  coss::testing::TempDir dir;
  const std::string p = dir.file("bad.bin");
  std::ofstream(p, std::ios::binary) << std::string(30, 'x');
  Trace t;
  EXPECT_NE(ReadOracleGeneral(p, 0, &t), "");
  EXPECT_NE(ReadOracleGeneral(dir.file("missing.bin"), 0, &t), "");
}

TEST(SimTraces, TwitterCsvOperationsSizesAndTtls) {
  coss::testing::TempDir dir;
  const std::string p = dir.file("t.csv");
  std::ofstream(p) << "10,user:1,6,100,1,set,3600\n"
                      "11,user:1,6,100,1,get,0\n"
                      "11,weird,key,with,comma,5,10,2,gets,0\r\n"
                      "12,user:2,6,0,1,get,0\n"
                      "13,user:1,6,0,1,delete,0\n"
                      "garbage line\n"
                      "14,user:3,6,10,1,frobnicate,0\n";
  Trace t;
  uint64_t skipped = 0;
  ASSERT_EQ(ReadTwitterCsv(p, 0, &t, &skipped), "");
  EXPECT_EQ(skipped, 2u);
  ASSERT_EQ(t.requests.size(), 5u);
  EXPECT_EQ(t.requests[0].op, Op::kSet);
  EXPECT_EQ(t.requests[0].size, 106u);
  EXPECT_EQ(t.requests[0].ttl, 3600u);
  EXPECT_EQ(t.requests[1].op, Op::kGet);
  EXPECT_EQ(t.requests[1].id, t.requests[0].id);
  EXPECT_EQ(t.requests[1].ttl, 3600u) << "a get inherits its key's last store TTL";
  EXPECT_EQ(t.requests[1].time, 1u);
  EXPECT_EQ(t.requests[2].size, 15u) << "a key with commas still parses";
  EXPECT_EQ(t.requests[3].size, 6u);
  EXPECT_EQ(t.requests[3].ttl, 0u);
  EXPECT_EQ(t.requests[4].op, Op::kDelete);
}

TEST(SimGenerators, DeterministicAndSized) {
  Trace a, b;
  const Spec s = ParseSpec("zipf:alpha=0.9,objects=1000,requests=5000,size=100-200,seed=3");
  ASSERT_EQ(Generate(s, 0, &a), "");
  ASSERT_EQ(Generate(s, 0, &b), "");
  ASSERT_EQ(a.requests.size(), 5000u);
  std::map<uint64_t, uint32_t> size_of;
  for (size_t i = 0; i < a.requests.size(); i++) {
    ASSERT_EQ(a.requests[i].id, b.requests[i].id);
    const auto& r = a.requests[i];
    EXPECT_GE(r.size, 100u);
    EXPECT_LE(r.size, 200u);
    EXPECT_GE(r.id, 1u);
    EXPECT_LE(r.id, 1000u);
    auto [it, fresh] = size_of.emplace(r.id, r.size);
    EXPECT_EQ(it->second, r.size) << "an object keeps its size";
    EXPECT_EQ(r.time, i / 1000);
  }
}

TEST(SimGenerators, ZipfIsSkewed) {
  ZipfSampler z(1000, 1.0);
  EXPECT_EQ(z.Sample(0.0), 0u);
  EXPECT_EQ(z.Sample(0.999999999), 999u);
  // Rank 0 of Zipf(1) over 1000 items carries 1/H(1000) ~ 13.4 % of the mass.
  EXPECT_EQ(z.Sample(0.13), 0u);
  EXPECT_EQ(z.Sample(0.14), 1u);
}

TEST(SimGenerators, ScanShareIsExactAndOneHitWondersAreUnique) {
  Trace t;
  ASSERT_EQ(Generate(ParseSpec("scan:objects=1000,requests=10000,scan=0.25,scan_len=50"), 0, &t),
            "");
  uint64_t scans = 0;
  for (const auto& r : t.requests) scans += r.id > 1000;
  EXPECT_EQ(scans, 2500u);

  Trace o;
  ASSERT_EQ(Generate(ParseSpec("onehit:objects=1000,requests=20000,onehit=0.5"), 0, &o), "");
  std::map<uint64_t, int> n;
  for (const auto& r : o.requests) n[r.id]++;
  uint64_t once = 0;
  for (const auto& [id, c] : n) once += id > 1000 && c == 1;
  EXPECT_NEAR(double(once) / 20000, 0.5, 0.02);
}

TEST(SimGenerators, TtlMixAndErrors) {
  Trace t;
  ASSERT_EQ(Generate(ParseSpec("ttl:objects=2000,requests=20000,ttl=60:1+0:1"), 0, &t), "");
  uint64_t with = 0;
  for (const auto& r : t.requests) {
    EXPECT_TRUE(r.ttl == 0 || r.ttl == 60);
    with += r.ttl == 60;
  }
  EXPECT_GT(with, 5000u);
  EXPECT_LT(with, 15000u);
  Trace e;
  EXPECT_NE(Generate(ParseSpec("zipf:alpha=x"), 0, &e), "");
  EXPECT_NE(Generate(ParseSpec("zipf:bogus=1"), 0, &e), "");
  EXPECT_NE(Generate(ParseSpec("zipf:size=9-3"), 0, &e), "");
  EXPECT_NE(Generate(ParseSpec("ttl:ttl=abc"), 0, &e), "");
}

TEST(SimSpec, BytesAndLists) {
  EXPECT_EQ(ParseBytes("64K").value(), 65536u);
  EXPECT_EQ(ParseBytes("1.5MiB").value(), 1572864u);
  EXPECT_EQ(ParseBytes("2G").value(), 2147483648u);
  EXPECT_FALSE(ParseBytes("12Q"));
  EXPECT_EQ(SplitList("a,,b,c").size(), 3u);
  const Spec s = ParseSpec("oracle:/x/y,z.bin");
  EXPECT_EQ(s.kind, "oracle");
  EXPECT_EQ(s.rest, "/x/y,z.bin");
  EXPECT_TRUE(s.args.empty());
}

}  // namespace
}  // namespace coss::sim

// The CSV's header and rows must line up: every row has one field per column,
// and named columns hold the matching RunResult fields.
TEST(SimReport, CsvRowsMatchTheHeader) {
  coss::testing::TempDir dir;
  coss::sim::RunResult r;
  r.workload = "w";
  r.policy = "reinsert:15";
  r.relocated_bytes = 11;
  r.reinsertions = 22;
  r.reinserted_bytes = 33;
  r.admission_rejected = 44;
  r.evictions = 55;
  r.seconds = 1.5;
  r.reref[0] = 66;
  r.reref[coss::kRerefBuckets - 1] = 77;
  const std::string path = dir.file("r.csv");
  ASSERT_EQ(coss::sim::WriteCsv(path, {r}), "");
  std::ifstream f(path);
  std::string header, row;
  ASSERT_TRUE(std::getline(f, header));
  ASSERT_TRUE(std::getline(f, row));
  auto split = [](const std::string& s) {
    std::vector<std::string> out(1);
    for (char c : s) {
      if (c == ',') {
        out.emplace_back();
      } else {
        out.back().push_back(c);
      }
    }
    return out;
  };
  const auto h = split(header), v = split(row);
  ASSERT_EQ(h.size(), v.size());
  auto col = [&](const std::string& name) {
    for (size_t i = 0; i < h.size(); i++)
      if (h[i] == name) return v[i];
    return std::string("<no column " + name + ">");
  };
  EXPECT_EQ(col("relocated_bytes"), "11");
  EXPECT_EQ(col("reinsertions"), "22");
  EXPECT_EQ(col("reinserted_bytes"), "33");
  EXPECT_EQ(col("admission_rejected"), "44");
  EXPECT_EQ(col("evictions"), "55");
  EXPECT_EQ(col("seconds"), "1.5");
  EXPECT_EQ(col("reref_0"), "66");
  EXPECT_EQ(col("reref_16384"), "77");
}
