#include "bench/recovery/index_load.h"

#include <cinttypes>
#include <cstdio>
#include <utility>
#include <vector>

#include "bench/recovery/common.h"
#include "engine/index.h"

namespace coss::recovery_bench {

namespace {

uint64_t SplitMix(uint64_t* x) {
  uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

struct IndexRun {
  std::string name;
  double insert_s = 0;
  double absent_ns = 0;
  double present_ns = 0;
  uint64_t size = 0, capacity = 0;
};

}  // namespace

void IndexLoadTest(uint64_t n, const std::string& json) {
  std::vector<uint64_t> hashes(n);
  uint64_t x = 12345;
  for (auto& h : hashes) h = SplitMix(&x);
  std::vector<uint64_t> absent(1'000'000);
  for (auto& h : absent) h = SplitMix(&x);
  std::vector<uint64_t> present(1'000'000);
  uint64_t y = 777;
  for (auto& h : present) h = hashes[SplitMix(&y) % n];

  // The order a checkpoint stores them in: Index::Visit, partition by partition.
  std::vector<std::pair<uint64_t, uint64_t>> ck;
  {
    coss::Index ref(0);
    for (uint64_t i = 0; i < n; i++) ref.Assign(hashes[i], i + 1);
    ck.reserve(ref.size());
    for (uint32_t p = 0; p < coss::Index::kPartitions; p++)
      ref.Visit(p, [&](uint64_t h, uint64_t packed) { ck.emplace_back(h, packed); });
  }
  std::vector<IndexRun> out;
  auto measure = [&](const std::string& name, uint64_t presize, bool ck_order) {
    IndexRun r;
    r.name = name;
    coss::Index idx(presize);
    const auto t0 = Clock::now();
    if (ck_order) {
      for (const auto& [h, packed] : ck) idx.Assign(h, packed);
    } else {
      for (uint64_t i = 0; i < n; i++) idx.Assign(hashes[i], i + 1);
    }
    r.insert_s = Since(t0);
    uint64_t sink = 0;
    auto t1 = Clock::now();
    for (uint64_t h : absent) sink += idx.Find(h);
    r.absent_ns = Since(t1) * 1e9 / static_cast<double>(absent.size());
    t1 = Clock::now();
    for (uint64_t h : present) sink += idx.Find(h);
    r.present_ns = Since(t1) * 1e9 / static_cast<double>(present.size());
    if (sink == 42) std::printf(" ");
    r.size = idx.size();
    r.capacity = idx.capacity();
    std::printf("index %" PRIu64
                ": %-34s insert %.3f s (%.0f ns each), Find absent %.0f ns, "
                "present %.0f ns, load %.3f\n",
                n, name.c_str(), r.insert_s, r.insert_s * 1e9 / static_cast<double>(n), r.absent_ns,
                r.present_ns, static_cast<double>(r.size) / static_cast<double>(r.capacity));
    std::fflush(stdout);
    out.push_back(r);
  };
  measure("random order, grown on demand", 0, false);
  measure("checkpoint order, grown on demand", 0, true);
  measure("checkpoint order, presized", n, true);
  measure("random order, presized", n, false);
  if (json.empty()) return;
  FILE* f = std::fopen(json.c_str(), "w");
  if (f == nullptr) Die("cannot write " + json);
  std::fprintf(f, "{\"n\": %" PRIu64 ", \"runs\": [\n", n);
  for (size_t i = 0; i < out.size(); i++) {
    const IndexRun& r = out[i];
    std::fprintf(
        f,
        "  {\"name\": \"%s\", \"insert_s\": %.6f, \"insert_ns\": %.1f, \"find_absent_ns\": "
        "%.1f, \"find_present_ns\": %.1f, \"size\": %" PRIu64 ", \"capacity\": %" PRIu64 "}%s\n",
        r.name.c_str(), r.insert_s, r.insert_s * 1e9 / static_cast<double>(n), r.absent_ns,
        r.present_ns, r.size, r.capacity, i + 1 < out.size() ? "," : "");
  }
  std::fprintf(f, "]}\n");
  std::fclose(f);
}

}  // namespace coss::recovery_bench
