#include <unordered_map>

#include "tools/sim/request.h"
#include "tools/sim/reref.h"

namespace coss::sim {

void Trace::Summarize() {
  struct Seen {
    uint32_t size;
    uint32_t count;
  };
  std::unordered_map<uint64_t, Seen> seen;
  seen.reserve(requests.size() / 4 + 16);
  objects = 0;
  footprint_bytes = 0;
  max_size = 0;
  requests_per_object.fill(0);
  for (const Request& r : requests) {
    auto [it, fresh] = seen.try_emplace(r.id, Seen{r.size, 0});
    if (fresh) footprint_bytes += r.size;
    it->second.count++;
    if (r.size > max_size) max_size = r.size;
  }
  objects = seen.size();
  for (const auto& [id, s] : seen) {
    // A count of n >= 1 requests falls in bucket floor(log2 n): 1, 2-3, 4-7, ...
    const int b = RerefBucket(s.count) - 1;
    requests_per_object[b < kTraceRerefBuckets ? b : kTraceRerefBuckets - 1]++;
  }
}

}  // namespace coss::sim
