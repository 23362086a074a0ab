// Index and CPU reference micro-benchmarks of engine_bench: index bytes per
// object and lookup cost at 10 M objects, the record checksum, a thread wake
// round trip. No store, no I/O.
#include "bench/engine/index_bench.h"

#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "bench/engine/bench_util.h"
#include "engine/index.h"
#include "util/hash.h"

namespace coss::engine_bench {

namespace {

constexpr uint64_t kMiB = 1ull << 20;
constexpr uint64_t kIndexObjects = 10'000'000;
std::function<void()> g_free_engine_stores;

const std::vector<uint64_t>& IndexHashes() {
  static const auto h = [] {
    std::vector<uint64_t> v(kIndexObjects);
    uint64_t s = 42;
    for (auto& x : v) x = SplitMix(s);
    return v;
  }();
  return h;
}

// A plausible packed location (never 0, top bit clear).
uint64_t PackedFor(uint64_t i) {
  return ((i & 0xFFFFF) << 24) | (i % 4096) | (uint64_t{1} << 44);
}

void BM_IndexInsert(benchmark::State& state, bool presize) {
  if (g_free_engine_stores) g_free_engine_stores();  // no engine store is needed from here on
  const auto& h = IndexHashes();
  double bpo = 0, size = 0, cap = 0, mem = 0, ns = 0;
  for (auto _ : state) {
    const auto t0 = std::chrono::steady_clock::now();
    coss::Index idx(presize ? kIndexObjects : 0);
    for (uint64_t i = 0; i < h.size(); i++) idx.Assign(h[i], PackedFor(i));
    benchmark::DoNotOptimize(idx.size());
    ns += std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - t0).count();
    size = static_cast<double>(idx.size());
    cap = static_cast<double>(idx.capacity());
    mem = static_cast<double>(idx.MemoryBytes());
    bpo = mem / size;
    state.PauseTiming();  // freeing the tables is not part of inserting
    { coss::Index gone(std::move(idx)); }
    state.ResumeTiming();
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * h.size()));
  state.counters["bytes_per_object"] = bpo;
  state.counters["objects"] = size;
  state.counters["load_factor"] = size / cap;
  state.counters["index_MiB"] = mem / kMiB;
  state.counters["ns_per_insert"] = ns / static_cast<double>(state.iterations() * h.size());
}

// Bytes per object as the index fills from 1 M to 10 M objects: the growth
// schedule (x1.25 per partition at load 0.85) makes it oscillate.
void BM_IndexSweep(benchmark::State& state) {
  const auto& h = IndexHashes();
  double lo = 1e9, hi = 0, at_hi = 0;
  for (auto _ : state) {
    coss::Index idx(0);
    for (uint64_t i = 0; i < h.size(); i++) {
      idx.Assign(h[i], PackedFor(i));
      if (i + 1 >= 1'000'000 && (i + 1) % 10'000 == 0) {
        const double bpo = static_cast<double>(idx.MemoryBytes()) / static_cast<double>(idx.size());
        lo = std::min(lo, bpo);
        if (bpo > hi) hi = bpo, at_hi = static_cast<double>(i + 1);
      }
    }
  }
  state.counters["bytes_per_object_min"] = lo;
  state.counters["bytes_per_object_max"] = hi;
  state.counters["objects_at_max"] = at_hi;
}

// Reference: the XXH3 checksum of one 4 KiB-value record (header+key+value),
// which every Get verifies, also on memory hits.
void BM_ChecksumRecord(benchmark::State& state) {
  const std::string rec(static_cast<size_t>(state.range(0)), 'c');
  for (auto _ : state) benchmark::DoNotOptimize(coss::Checksum(rec.data(), rec.size(), 7));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * rec.size()));
}

// Reference: one round trip between two threads that sleep on a condition
// variable (two wake-ups). A synchronous Get that goes to the device crosses
// threads twice too (caller -> I/O backend -> caller's callback).
void BM_WakeRoundTrip(benchmark::State& state) {
  std::mutex mu;
  std::condition_variable cv;
  uint64_t ping = 0, pong = 0;
  bool stop = false;
  std::thread partner([&] {
    std::unique_lock lk(mu);
    for (;;) {
      cv.wait(lk, [&] { return stop || ping != pong; });
      if (stop) return;
      pong = ping;
      cv.notify_all();
    }
  });
  for (auto _ : state) {
    std::unique_lock lk(mu);
    ping++;
    cv.notify_all();
    cv.wait(lk, [&] { return pong == ping; });
  }
  {
    std::lock_guard lk(mu);
    stop = true;
  }
  cv.notify_all();
  partner.join();
}

std::unique_ptr<coss::Index> g_index;

const coss::Index& BuiltIndex() {
  if (!g_index) {
    const auto& h = IndexHashes();
    g_index = std::make_unique<coss::Index>(0);
    for (uint64_t i = 0; i < h.size(); i++) g_index->Assign(h[i], PackedFor(i));
  }
  return *g_index;
}

enum class LookupKind { kHit, kHitDependent, kMiss };

void BM_IndexLookup(benchmark::State& state, LookupKind kind) {
  const coss::Index& idx = BuiltIndex();
  const auto& h = IndexHashes();
  const uint64_t n = h.size();
  uint64_t j = 0, found = 0, miss_seed = 777;
  for (auto _ : state) {
    uint64_t v;
    switch (kind) {
      case LookupKind::kHit:  // independent lookups: throughput (misses overlap)
        v = idx.Find(h[j]);
        j = j + 1 == n ? 0 : j + 1;
        break;
      case LookupKind::kHitDependent:  // next key depends on this result: latency
        v = idx.Find(h[j]);
        j += 1 + (v >> 63);  // v >> 63 is 0, but the CPU cannot know before Find returns
        if (j >= n) j -= n;
        break;
      case LookupKind::kMiss:
      default:
        v = idx.Find(SplitMix(miss_seed));
        break;
    }
    found += v != 0;
    benchmark::DoNotOptimize(v);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
  state.counters["found_ratio"] =
      static_cast<double>(found) / static_cast<double>(state.iterations());
  state.counters["bytes_per_object"] =
      static_cast<double>(idx.MemoryBytes()) / static_cast<double>(idx.size());
}

}  // namespace

void RegisterIndexBenchmarks(std::function<void()> free_engine_stores) {
  g_free_engine_stores = std::move(free_engine_stores);
  benchmark::RegisterBenchmark("index/Insert10M/grow", BM_IndexInsert, false)
      ->Iterations(1)
      ->UseRealTime()
      ->Unit(benchmark::kMillisecond);
  benchmark::RegisterBenchmark("index/Insert10M/presized", BM_IndexInsert, true)
      ->Iterations(1)
      ->UseRealTime()
      ->Unit(benchmark::kMillisecond);
  benchmark::RegisterBenchmark("index/BytesPerObject1Mto10M", BM_IndexSweep)
      ->Iterations(1)
      ->UseRealTime()
      ->Unit(benchmark::kMillisecond);
  benchmark::RegisterBenchmark("ref/XXH3Checksum", BM_ChecksumRecord)->Arg(156)->Arg(4152);
  benchmark::RegisterBenchmark("ref/WakeRoundTrip", BM_WakeRoundTrip)->UseRealTime();
  benchmark::RegisterBenchmark("index/Lookup10M/hit", BM_IndexLookup, LookupKind::kHit)
      ->UseRealTime();
  benchmark::RegisterBenchmark("index/Lookup10M/hit_dependent", BM_IndexLookup,
                               LookupKind::kHitDependent)
      ->UseRealTime();
  benchmark::RegisterBenchmark("index/Lookup10M/miss", BM_IndexLookup, LookupKind::kMiss)
      ->UseRealTime();
}

void ReleaseIndexBenchmarks() {
  g_index.reset();
}

}  // namespace coss::engine_bench
