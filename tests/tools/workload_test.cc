// Workload generators (src/tools/bench/zipf.h, workload.h, trace.h): the Zipf
// sampler matches the exact distribution for several exponents, spec strings
// parse (and fail) as documented, value sizes are deterministic and in range,
// prefill visits every key once, and both trace formats replay as specified.
#include "tools/bench/workload.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "tools/bench/trace.h"
#include "tools/bench/zipf.h"

namespace coss::tools::bench {
namespace {

// Chi-square goodness of fit of Zipf(n, alpha) samples against the exact pmf.
void CheckZipf(uint64_t n, double alpha) {
  ZipfSampler z(n, alpha);
  Rng rng(42);
  const int draws = 400000;
  std::vector<uint64_t> count(n + 1, 0);
  for (int i = 0; i < draws; i++) {
    const uint64_t k = z.Sample(rng);
    ASSERT_GE(k, 1u);
    ASSERT_LE(k, n);
    count[k]++;
  }
  double norm = 0;
  for (uint64_t k = 1; k <= n; k++) norm += std::pow(static_cast<double>(k), -alpha);
  double chi2 = 0;
  for (uint64_t k = 1; k <= n; k++) {
    const double expect = draws * std::pow(static_cast<double>(k), -alpha) / norm;
    chi2 += (count[k] - expect) * (count[k] - expect) / expect;
  }
  // n - 1 degrees of freedom; mean n - 1, sd sqrt(2(n - 1)): allow 5 sd.
  const double df = static_cast<double>(n - 1);
  EXPECT_LT(chi2, df + 5 * std::sqrt(2 * df)) << "alpha " << alpha;
  // The head, directly: P(1) within 2 %.
  const double p1 = 1.0 / norm;
  EXPECT_NEAR(count[1] / static_cast<double>(draws), p1, 0.02 * p1 + 0.002) << "alpha " << alpha;
}

TEST(Zipf, MatchesExactDistribution) {
  for (double a : {0.5, 0.9, 0.99, 1.0, 1.2, 2.0}) CheckZipf(200, a);
}

TEST(Zipf, AlphaZeroIsUniform) {
  CheckZipf(100, 0.0);
}

TEST(Zipf, HugeKeySpaceStaysInRange) {
  ZipfSampler z(1ull << 40, 0.9);
  Rng rng(1);
  uint64_t ones = 0;
  for (int i = 0; i < 100000; i++) {
    const uint64_t k = z.Sample(rng);
    ASSERT_GE(k, 1u);
    ASSERT_LE(k, 1ull << 40);
    ones += k == 1;
  }
  EXPECT_GT(ones, 0u);
}

TEST(Zipf, SingleKey) {
  ZipfSampler z(1, 1.5);
  Rng rng(9);
  for (int i = 0; i < 1000; i++) EXPECT_EQ(z.Sample(rng), 1u);
}

TEST(Spec, KeyDist) {
  std::string err;
  EXPECT_EQ(ParseKeyDist("uniform", &err)->alpha, 0.0);
  EXPECT_EQ(ParseKeyDist("zipf", &err)->alpha, 1.0);
  EXPECT_DOUBLE_EQ(ParseKeyDist("zipf:0.9", &err)->alpha, 0.9);
  EXPECT_DOUBLE_EQ(ParseKeyDist("zipf(1.25)", &err)->alpha, 1.25);
  EXPECT_EQ(Describe(*ParseKeyDist("zipf:0.9", &err)), "zipf:0.9");
  EXPECT_FALSE(ParseKeyDist("zipf:-1", &err));
  EXPECT_NE(err.find("Zipf exponent"), std::string::npos);
  EXPECT_FALSE(ParseKeyDist("zipf:abc", &err));
  EXPECT_FALSE(ParseKeyDist("pareto", &err));
  EXPECT_NE(err.find("unknown key distribution"), std::string::npos);
}

TEST(Spec, ValueSizes) {
  std::string err;
  auto v = ParseValueSizes("4k", &err);
  ASSERT_TRUE(v);
  EXPECT_EQ(v->kind, ValueSizes::Kind::kFixed);
  EXPECT_EQ(v->lo, 4096u);
  v = ParseValueSizes("uniform:64-512", &err);
  ASSERT_TRUE(v);
  EXPECT_EQ(v->kind, ValueSizes::Kind::kUniform);
  EXPECT_EQ(Describe(*v), "uniform:64-512");
  v = ParseValueSizes("loguniform:100-512k", &err);
  ASSERT_TRUE(v);
  EXPECT_EQ(v->hi, 512u * 1024);
  EXPECT_TRUE(ParseValueSizes("trace", &err));
  EXPECT_FALSE(ParseValueSizes("uniform:512-64", &err));
  EXPECT_FALSE(ParseValueSizes("uniform:64", &err));
  EXPECT_FALSE(ParseValueSizes("loguniform:0-10", &err));
  EXPECT_FALSE(ParseValueSizes("2g", &err));
  EXPECT_FALSE(ParseValueSizes("12x", &err));
  EXPECT_NE(err.find("bad value size"), std::string::npos);
}

TEST(Spec, SizesAreDeterministicAndInRange) {
  std::string err;
  for (const char* s : {"uniform:64-512", "loguniform:100-524288"}) {
    const auto v = *ParseValueSizes(s, &err);
    uint64_t below_mid = 0;
    const double mid =
        v.kind == ValueSizes::Kind::kUniform ? (v.lo + v.hi) / 2.0 : std::sqrt(1.0 * v.lo * v.hi);
    for (uint64_t id = 0; id < 20000; id++) {
      const uint32_t a = SizeOfKey(v, id, 1);
      ASSERT_EQ(a, SizeOfKey(v, id, 1));
      ASSERT_GE(a, v.lo);
      ASSERT_LE(a, v.hi);
      below_mid += a < mid;
    }
    // Half below the (arithmetic or geometric) midpoint, within 3 %.
    EXPECT_NEAR(below_mid / 20000.0, 0.5, 0.03) << s;
  }
  EXPECT_EQ(SizeOfKey(*ParseValueSizes("100", &err), 5, 1), 100u);
}

TEST(Spec, KeyPrefix) {
  std::string err;
  EXPECT_TRUE(ValidKeyPrefix("k:", &err));
  EXPECT_FALSE(ValidKeyPrefix("a b", &err));
  EXPECT_FALSE(ValidKeyPrefix(std::string(201, 'x'), &err));
  EXPECT_EQ(KeyName("k:", 1234), "k:1234");
}

TEST(Sources, SyntheticMixAndKeys) {
  SyntheticSpec s;
  s.keys = 1000;
  s.set_ratio = 0.25;
  s.dist.alpha = 0.9;
  auto src = MakeSynthetic(s);
  Rng rng(5);
  Request r;
  int sets = 0;
  std::set<std::string> seen;
  for (int i = 0; i < 40000; i++) {
    ASSERT_TRUE(src->Next(rng, &r));
    sets += r.op == Op::kSet;
    ASSERT_TRUE(r.key.starts_with("k:"));
    const uint64_t id = std::stoull(r.key.substr(2));
    ASSERT_LT(id, 1000u);
    seen.insert(r.key);
    EXPECT_EQ(r.value_size, 100u);
  }
  EXPECT_NEAR(sets / 40000.0, 0.25, 0.01);
  EXPECT_GT(seen.size(), 500u);
}

TEST(Sources, PrefillVisitsEveryKeyOnceAcrossThreads) {
  SyntheticSpec s;
  s.keys = 50000;
  auto src = MakePrefill(s);
  std::vector<std::vector<std::string>> got(4);
  std::vector<std::thread> ts;
  for (int t = 0; t < 4; t++) {
    ts.emplace_back([&, t] {
      Rng rng(t);
      Request r;
      while (src->Next(rng, &r)) {
        EXPECT_EQ(r.op, Op::kSet);
        got[t].push_back(r.key);
      }
    });
  }
  for (auto& t : ts) t.join();
  std::set<std::string> all;
  size_t total = 0;
  for (auto& g : got) {
    total += g.size();
    all.insert(g.begin(), g.end());
  }
  EXPECT_EQ(total, 50000u);
  EXPECT_EQ(all.size(), 50000u);
  EXPECT_EQ(src->Consumed(), src->Total());
}

std::string TempPath(const char* name) {
  return std::string(::testing::TempDir()) + "/" + std::to_string(getpid()) + "." + name;
}

TEST(Trace, OracleGeneral) {
  const std::string path = TempPath("trace.bin");
  {
    std::ofstream f(path, std::ios::binary);
    for (uint64_t i = 0; i < 3; i++) {
      char rec[24] = {};
      const uint32_t ts = 10;
      const uint64_t id = 1000 + i;
      const uint32_t size = 512 * (i + 1);
      const int64_t next = -1;
      std::memcpy(rec, &ts, 4);
      std::memcpy(rec + 4, &id, 8);
      std::memcpy(rec + 12, &size, 4);
      std::memcpy(rec + 16, &next, 8);
      f.write(rec, 24);
    }
  }
  std::string err;
  TraceOptions o;
  o.path = path;
  ASSERT_TRUE(ParseTraceFormat("auto", path, &o.format, &err));
  EXPECT_EQ(o.format, TraceFormat::kOracleGeneral);
  auto t = TraceSource::Open(o, &err);
  ASSERT_TRUE(t) << err;
  EXPECT_EQ(t->Total(), 3u);
  Rng rng(1);
  Request r;
  for (uint64_t i = 0; i < 3; i++) {
    ASSERT_TRUE(t->Next(rng, &r));
    EXPECT_EQ(r.op, Op::kGet);
    EXPECT_TRUE(r.fill_on_miss);
    EXPECT_EQ(r.key, "t:" + std::to_string(1000 + i));
    EXPECT_EQ(r.value_size, 512 * (i + 1));
  }
  EXPECT_FALSE(t->Next(rng, &r));
  // A file whose size is not a multiple of 24 is refused with a reason.
  {
    std::ofstream f(path, std::ios::binary | std::ios::app);
    f.write("x", 1);
  }
  EXPECT_FALSE(TraceSource::Open(o, &err));
  EXPECT_NE(err.find("multiple of 24"), std::string::npos);
  std::remove(path.c_str());
  o.path = path + ".missing";
  EXPECT_FALSE(TraceSource::Open(o, &err));
  EXPECT_NE(err.find("cannot open"), std::string::npos);
}

TEST(Trace, TwitterCsv) {
  const std::string path = TempPath("trace.csv");
  {
    std::ofstream f(path);
    f << "0,key_a,5,100,1,get,0\n"
         "1,key b,5,200,1,set,3600\r\n"
         "2,key,c,7,0,2,gets,0\n"  // a comma in the key
         "3,key_d,5,0,1,incr,0\n"  // skipped
         "\n"
         "4,key_a,5,0,1,delete,0\n"
         "garbage\n";
  }
  std::string err;
  TraceOptions o;
  o.path = path;
  ASSERT_TRUE(ParseTraceFormat("auto", path, &o.format, &err));
  EXPECT_EQ(o.format, TraceFormat::kTwitterCsv);
  auto t = TraceSource::Open(o, &err);
  ASSERT_TRUE(t) << err;
  Rng rng(1);
  Request r;
  ASSERT_TRUE(t->Next(rng, &r));
  EXPECT_EQ(r.op, Op::kGet);
  EXPECT_EQ(r.key, "t:key_a");
  EXPECT_EQ(r.value_size, 100u);
  EXPECT_TRUE(r.fill_on_miss);
  ASSERT_TRUE(t->Next(rng, &r));
  EXPECT_EQ(r.op, Op::kSet);
  EXPECT_EQ(r.key, "t:key_b");  // the space became '_'
  EXPECT_EQ(r.value_size, 200u);
  ASSERT_TRUE(t->Next(rng, &r));
  EXPECT_EQ(r.op, Op::kGet);
  EXPECT_EQ(r.key, "t:key,c");
  EXPECT_EQ(r.value_size, 0u);
  ASSERT_TRUE(t->Next(rng, &r));
  EXPECT_EQ(r.op, Op::kDelete);
  EXPECT_FALSE(t->Next(rng, &r));
  EXPECT_EQ(t->Skipped(), 2u);  // incr and the garbage line
  std::remove(path.c_str());
}

}  // namespace
}  // namespace coss::tools::bench
