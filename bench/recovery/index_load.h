// recovery_bench --index-test N: coss::Index alone. N random hashes inserted in
// random order and in the order a checkpoint lists them (Index::Visit,
// partition by partition), grown on demand and presized; then lookups of
// absent and present hashes. Prints one line per run; writes JSON if asked.
#pragma once

#include <cstdint>
#include <string>

namespace coss::recovery_bench {

void IndexLoadTest(uint64_t n, const std::string& json);

}  // namespace coss::recovery_bench
