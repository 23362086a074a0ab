// engine_bench's index and CPU reference micro-benchmarks (index_bench.cc).
#pragma once

#include <functional>

namespace coss::engine_bench {

// Registers them with Google Benchmark. free_engine_stores runs when the first
// index benchmark starts: the engine benchmarks' stores are not needed any more
// and the 10 M-object tables need the RAM.
void RegisterIndexBenchmarks(std::function<void()> free_engine_stores);
// Frees the index built for the lookup benchmarks (before the flush benchmarks
// and at exit).
void ReleaseIndexBenchmarks();

}  // namespace coss::engine_bench
