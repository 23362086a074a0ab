#include "engine/ring_order.h"

#include <algorithm>

namespace coss {

std::vector<bool> OlderLapLeftovers(const std::vector<uint64_t>& seqs) {
  const size_t n = seqs.size();
  std::vector<bool> stale(n, false);
  if (n == 0) return stale;
  const size_t newest =
      static_cast<size_t>(std::max_element(seqs.begin(), seqs.end()) - seqs.begin());
  uint64_t highest = 0;
  for (size_t k = 1; k <= n; k++) {
    const size_t i = (newest + k) % n;  // from the oldest position round to the newest
    if (seqs[i] < highest) {
      stale[i] = true;
    } else {
      highest = seqs[i];
    }
  }
  return stale;
}

}  // namespace coss
