// `coss sim`: replays a trace or a synthetic workload through the real engine
// (several policies and cache sizes in one run) and the LRU/FIFO baselines, and
// reports miss ratio, byte miss ratio, write amplification, relocated bytes and
// the re-reference histogram as a table, CSV, JSON and a PNG.
#include <spdlog/spdlog.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "tools/sim/generators.h"
#include "tools/sim/report.h"
#include "tools/sim/runner.h"
#include "tools/sim/spec.h"
#include "tools/sim/trace_readers.h"

namespace coss::tools {

namespace {

const char kUsage[] =
    "usage: coss sim --workload SPEC [options]\n"
    "\n"
    "Replays a workload look-aside (get; on a miss, put) through the real coss engine on\n"
    "in-memory devices with a simulated clock, and through exact LRU and FIFO baselines.\n"
    "\n"
    "workloads:\n"
    "  oracle:PATH       libCacheSim oracleGeneral binary trace\n"
    "  twitter:PATH      Twitter cache-trace CSV (get/gets read, set/... store, delete)\n"
    "  zipf:alpha=1.0,objects=1000000,requests=10000000\n"
    "  scan:alpha=1.0,objects=N,scan=0.3,scan_len=N/10,scan_objects=4N   hot set + scans\n"
    "  onehit:alpha=1.0,objects=N,onehit=0.5          one-hit-wonder fraction of requests\n"
    "  ttl:ttl=300:30+3600:30+0:40                    TTL seconds:weight mix (any kind takes "
    "ttl=)\n"
    "  generator keys common to all: size=512-8192 (or one size), seed=1, rate=1000 req/s\n"
    "\n"
    "options:\n"
    "  --policies LIST   comma list of lru, fifo and engine relocation specs (always = classic\n"
    "                    COSS, never, tail:P, ...) [lru,fifo,always,never,tail:25]\n"
    "  --sizes LIST      cache sizes: P% of the footprint or bytes (64M, 2G) [1%,10%,30%]\n"
    "  --stripe SIZE     engine stripe size, or auto (largest of 64K..1M giving >= 32 stripes)\n"
    "  --limit N         replay only the first N requests\n"
    "  --threads N       jobs replayed in parallel [hardware threads]\n"
    "  --out PREFIX      write PREFIX.csv, PREFIX.json and PREFIX.png\n"
    "  --no-png          skip the PNG\n"
    "  --quiet           no per-job progress on stderr\n";

int Fail(const std::string& msg) {
  std::fprintf(stderr, "coss sim: %s\n", msg.c_str());
  return 2;
}

}  // namespace

int SimMain(int argc, char** argv) {
  std::string workload, out;
  std::string policies = "lru,fifo,always,never,tail:25";
  std::string sizes = "1%,10%,30%";
  uint32_t stripe = 0;
  uint64_t limit = 0;
  unsigned threads = std::max(1u, std::thread::hardware_concurrency());
  bool png = true, quiet = false;
  for (int i = 1; i < argc; i++) {
    const std::string a = argv[i];
    auto value = [&](std::string* dst) {
      if (i + 1 >= argc) return false;
      *dst = argv[++i];
      return true;
    };
    std::string v;
    if (a == "-h" || a == "--help") {
      std::fputs(kUsage, stdout);
      return 0;
    } else if (a == "--workload" || a == "--trace") {
      if (!value(&workload)) return Fail(a + " needs a value");
    } else if (a == "--policies") {
      if (!value(&policies)) return Fail(a + " needs a value");
    } else if (a == "--sizes") {
      if (!value(&sizes)) return Fail(a + " needs a value");
    } else if (a == "--out") {
      if (!value(&out)) return Fail(a + " needs a value");
    } else if (a == "--stripe") {
      if (!value(&v)) return Fail(a + " needs a value");
      if (v != "auto") {
        auto b = sim::ParseBytes(v);
        if (!b || *b == 0 || *b > (16u << 20)) return Fail("bad --stripe '" + v + "'");
        stripe = static_cast<uint32_t>(*b);
      }
    } else if (a == "--limit") {
      if (!value(&v) || !sim::ParseUint(v)) return Fail("--limit needs a number");
      limit = *sim::ParseUint(v);
    } else if (a == "--threads") {
      if (!value(&v) || !sim::ParseUint(v) || *sim::ParseUint(v) == 0)
        return Fail("--threads needs a positive number");
      threads = static_cast<unsigned>(*sim::ParseUint(v));
    } else if (a == "--no-png") {
      png = false;
    } else if (a == "--quiet") {
      quiet = true;
    } else {
      std::fputs(kUsage, stderr);
      return Fail("unknown option '" + a + "'");
    }
  }
  if (workload.empty()) {
    std::fputs(kUsage, stderr);
    return Fail("--workload is required");
  }

  spdlog::set_level(spdlog::level::warn);  // one "formatted a new store" per job is noise
  sim::Trace trace;
  trace.name = workload;
  const sim::Spec spec = sim::ParseSpec(workload);
  std::string err;
  if (spec.kind == "oracle") {
    err = sim::ReadOracleGeneral(spec.rest, limit, &trace);
  } else if (spec.kind == "twitter") {
    uint64_t skipped = 0;
    err = sim::ReadTwitterCsv(spec.rest, limit, &trace, &skipped);
    if (skipped)
      std::fprintf(stderr, "coss sim: skipped %llu malformed lines\n", (unsigned long long)skipped);
  } else if (sim::IsGenerator(spec.kind)) {
    err = sim::Generate(spec, limit, &trace);
  } else {
    err = "unknown workload kind '" + spec.kind + "' (oracle, twitter, zipf, scan, onehit, ttl)";
  }
  if (!err.empty()) return Fail(err);
  trace.Summarize();

  std::vector<sim::Job> jobs;
  const auto size_list = sim::SplitList(sizes);
  const auto policy_list = sim::SplitList(policies);
  if (size_list.empty() || policy_list.empty()) return Fail("no sizes or no policies");
  for (const std::string& s : size_list) {
    uint64_t bytes;
    if (!s.empty() && s.back() == '%') {
      auto p = sim::ParseDouble(s.substr(0, s.size() - 1));
      if (!p || *p <= 0) return Fail("bad cache size '" + s + "'");
      bytes = static_cast<uint64_t>(*p / 100 * static_cast<double>(trace.footprint_bytes));
    } else {
      auto b = sim::ParseBytes(s);
      if (!b || *b == 0) return Fail("bad cache size '" + s + "'");
      bytes = *b;
    }
    for (const std::string& p : policy_list) {
      jobs.push_back(
          {p, bytes, double(bytes) / double(std::max<uint64_t>(1, trace.footprint_bytes))});
    }
  }

  sim::PrintTraceSummary(stdout, trace);
  std::fflush(stdout);
  sim::RunnerOptions ro;
  ro.stripe_size = stripe;
  ro.threads = threads;
  ro.progress = !quiet;
  std::vector<sim::RunResult> results;
  err = sim::RunJobs(trace, jobs, ro, &results);
  if (!err.empty()) return Fail(err);
  sim::PrintTable(stdout, results);
  std::printf("%s\n", sim::kAccountingNote);
  if (!out.empty()) {
    for (const auto& e :
         {sim::WriteCsv(out + ".csv", results), sim::WriteJson(out + ".json", trace, results)}) {
      if (!e.empty()) return Fail(e);
    }
    if (png) {
      if (auto e = sim::WritePng(out + ".png", out + ".csv", workload); !e.empty()) return Fail(e);
    }
    std::printf("wrote %s.csv %s.json%s\n", out.c_str(), out.c_str(),
                png ? (" " + out + ".png").c_str() : "");
  }
  return 0;
}

}  // namespace coss::tools
