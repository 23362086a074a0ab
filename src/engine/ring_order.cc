#include "engine/ring_order.h"

#include <cstddef>

namespace coss {

std::vector<bool> OlderLapLeftovers(const std::vector<RingRun>& runs) {
  const size_t n = runs.size();
  std::vector<bool> stale(n, false);
  size_t newest = n;
  for (size_t i = 0; i < n; i++) {
    if (runs[i].holds_data && (newest == n || runs[i].seq > runs[newest].seq)) newest = i;
  }
  if (newest == n) return stale;
  uint64_t highest = 0;
  for (size_t k = 1; k <= n; k++) {
    const size_t i = (newest + k) % n;  // from the oldest position round to the newest
    if (!runs[i].holds_data) continue;
    if (runs[i].seq < highest) {
      stale[i] = true;
    } else {
      highest = runs[i].seq;
    }
  }
  return stale;
}

}  // namespace coss
