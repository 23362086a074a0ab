// Ring order: which stripe runs found on a device are leftovers of an earlier
// lap whose overwrite never reached the disk.
//
// The write head opens runs in ring order with strictly increasing seqs, so on
// a device where every write landed, walking the positions from the oldest run
// (the one after the newest) back round to the newest, seqs rise. A power cut
// may lose a run's write while a later run's write lands (writes since the last
// fdatasync land in any order), and a crash may find a sealed run still waiting
// behind a pinned read while the next one was written: the position then holds
// the previous lap's content, with a seq lower than the runs before it in ring
// order. That content was reclaimed before the later writes were acknowledged;
// if rebuild applied it, a key overwritten or deleted since (in a stripe the
// head has since passed) would come back with its old value. Such runs are
// dropped. Runs after the newest one whose writes were lost are not detected,
// and need not be: their positions were the oldest in the ring, so nothing
// written later sits between them and the head.
#pragma once

#include <cstdint>
#include <vector>

namespace coss {

struct RingRun {
  uint64_t seq;
  // Empty markers hold nothing to revive, and fsck --repair gives the stripes
  // it empties a fresh seq: only runs that hold data are judged, and judge
  // each other.
  bool holds_data;
};

// runs: every run that won its position (newest per position), in ring
// position order. Returns, for each, true when it is an older lap's leftover:
// a data run whose seq is lower than that of a data run before it in ring
// order, counting from the one after the newest. Empty markers never are.
std::vector<bool> OlderLapLeftovers(const std::vector<RingRun>& runs);

}  // namespace coss
