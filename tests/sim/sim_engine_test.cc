// The engine model and the runner of `coss sim`: the real engine on a
// MemDevice, driven look-aside with a simulated clock.
#include <gtest/gtest.h>

#include "tools/sim/engine_model.h"
#include "tools/sim/generators.h"
#include "tools/sim/report.h"
#include "tools/sim/runner.h"
#include "tools/sim/sim_clock.h"

namespace coss::sim {
namespace {

Trace Zipf(const std::string& args) {
  Trace t;
  t.name = "zipf:" + args;
  EXPECT_EQ(Generate(ParseSpec(t.name), 0, &t), "");
  t.Summarize();
  return t;
}

TEST(SimEngine, StoresServesAndExpires) {
  InstallSimClock();
  EngineModelConfig c;
  c.policy = "never";
  c.cache_bytes = 4u << 20;
  c.stripe_size = 64u << 10;
  c.max_object = 8192;
  std::string err;
  auto m = MakeEngineModel(c, &err);
  ASSERT_TRUE(m) << err;
  const int64_t now = kSimEpoch;
  SetSimNow(now);
  Request a{1, 5000, 0, 0, Op::kGet}, b{2, 100, 10, 0, Op::kGet};
  EXPECT_FALSE(m->Get(a, now));
  m->Put(a, now);
  m->Put(b, now);
  EXPECT_TRUE(m->Get(a, now));
  EXPECT_TRUE(m->Get(b, now));
  SetSimNow(now + 10);
  EXPECT_FALSE(m->Get(b, now + 10)) << "TTL 10 s has passed on the simulated clock";
  m->Remove(a);
  EXPECT_FALSE(m->Get(a, now + 10));
  SetSimNow(kSimEpoch);
}

TEST(SimEngine, TooSmallCacheIsAClearError) {
  EngineModelConfig c;
  c.policy = "never";
  c.cache_bytes = 100u << 10;
  c.stripe_size = 64u << 10;
  std::string err;
  EXPECT_FALSE(MakeEngineModel(c, &err));
  EXPECT_NE(err.find("too small"), std::string::npos) << err;
  c.cache_bytes = 4u << 20;
  c.policy = "sometimes";
  EXPECT_FALSE(MakeEngineModel(c, &err));
  EXPECT_NE(err.find("sometimes"), std::string::npos) << err;
}

TEST(SimEngine, StripeSizeChoice) {
  EXPECT_EQ(ChooseStripeSize(1ull << 30), 1u << 20);
  EXPECT_EQ(ChooseStripeSize(20u << 20), 512u << 10);
  EXPECT_EQ(ChooseStripeSize(1u << 20), 64u << 10);
}

TEST(SimRunner, ClassicCossRelocatesAndNeverDoesNot) {
  const Trace t = Zipf("alpha=1.0,objects=20000,requests=200000,size=500-3000");
  std::vector<Job> jobs;
  const uint64_t bytes = t.footprint_bytes / 10;
  for (const char* p : {"lru", "fifo", "never", "always", "tail:25"})
    jobs.push_back({p, bytes, 0.1});
  RunnerOptions o;
  o.threads = 2;
  std::vector<RunResult> rs;
  ASSERT_EQ(RunJobs(t, jobs, o, &rs), "");
  ASSERT_EQ(rs.size(), 5u);
  const RunResult &lru = rs[0], &fifo = rs[1], &never = rs[2], &always = rs[3], &tail = rs[4];
  for (const auto& r : rs) {
    EXPECT_EQ(r.gets, 200000u);
    EXPECT_GT(r.misses, 0u);
    EXPECT_LT(r.misses, r.gets);
    EXPECT_EQ(r.inserted_objects, r.misses) << r.policy;
  }
  EXPECT_LT(lru.miss_ratio(), fifo.miss_ratio());
  EXPECT_EQ(never.relocations, 0u);
  EXPECT_GT(always.relocations, tail.relocations);
  EXPECT_GT(tail.relocations, 0u);
  // Without relocation every device byte is a client insert plus the format's
  // overhead; relocation adds to it.
  EXPECT_NEAR(never.write_amp(), never.format_overhead, 0.05);
  EXPECT_GT(never.format_overhead, 1.0);
  EXPECT_LT(never.format_overhead, 1.2);
  EXPECT_GT(always.write_amp(), never.write_amp());
  // "never" is a FIFO at stripe granularity that keeps its headers in the
  // same bytes: a little worse than the exact FIFO, not far.
  EXPECT_GT(never.miss_ratio(), fifo.miss_ratio());
  EXPECT_LT((never.miss_ratio() - fifo.miss_ratio()) / fifo.miss_ratio(), 0.15);
  // Classic COSS rewrites every disk hit: the write spiral.
  EXPECT_GT(always.write_amp(), 1.5);
  uint64_t evicted = 0;
  for (auto v : never.reref) evicted += v;
  EXPECT_GT(evicted, 0u) << "the re-reference histogram is filled";
  EXPECT_LT(DeltaVsLru(lru, rs), 1e-12);
}

TEST(SimRunner, ParallelRunsMatchSerialRuns) {
  const Trace t = Zipf("alpha=0.8,objects=5000,requests=50000,size=1000-2000,ttl=30:1+0:1");
  std::vector<Job> jobs;
  for (const char* p : {"always", "tail:25", "always", "tail:25"})
    jobs.push_back({p, t.footprint_bytes / 5, 0.2});
  RunnerOptions serial, parallel;
  serial.threads = 1;
  parallel.threads = 2;
  std::vector<RunResult> a, b;
  ASSERT_EQ(RunJobs(t, jobs, serial, &a), "");
  ASSERT_EQ(RunJobs(t, jobs, parallel, &b), "");
  for (size_t i = 0; i < jobs.size(); i++) {
    EXPECT_EQ(a[i].misses, b[i].misses) << jobs[i].policy;
    EXPECT_EQ(a[i].device_bytes_written, b[i].device_bytes_written) << jobs[i].policy;
    EXPECT_EQ(a[i].relocations, b[i].relocations) << jobs[i].policy;
  }
  EXPECT_EQ(a[0].misses, a[2].misses) << "the replay is deterministic";
}

}  // namespace
}  // namespace coss::sim
