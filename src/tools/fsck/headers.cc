#include "tools/fsck/headers.h"

#include <algorithm>
#include <string>
#include <unordered_map>

#include "engine/ring_order.h"

namespace coss::tools::fsck {

namespace {

// Why a header that failed CheckStripeHeader failed: foreign or corrupt.
StripeState ClassifyBad(const format::StripeHeader& h, uint64_t seed, uint32_t stripe,
                        uint32_t stripe_size, std::string* reason) {
  const uint64_t any = UINT64_MAX;  // stripe count: positions are judged below
  if (h.uuid_seed != seed) {
    if (format::CheckStripeHeader(h, h.uuid_seed, h.stripe_index, format::kMaxStripe, any).ok()) {
      *reason = "a stripe header of another store";
      return StripeState::kForeign;
    }
    *reason = "header checksum mismatch";
    return StripeState::kCorrupt;
  }
  if (h.stripe_index != stripe &&
      format::CheckStripeHeader(h, seed, h.stripe_index, stripe_size, any).ok()) {
    *reason =
        "a header written for stripe " + std::to_string(h.stripe_index) + " (misplaced write)";
    return StripeState::kForeign;
  }
  const Status c = format::CheckStripeHeader(h, seed, stripe, stripe_size, any);
  *reason = c.ok() ? "run extends past the end of the device" : c.message();
  return StripeState::kCorrupt;
}

}  // namespace

HeaderScan ScanHeaders(StoreFile& f, DeviceReport* r) {
  const format::Superblock& sb = r->super.sb;
  const uint64_t seed = sb.uuid.Seed();
  HeaderScan out;
  out.state.assign(r->stripes, StripeState::kEmpty);
  std::vector<Run> runs;
  std::unordered_map<uint32_t, StripeDamage> bad;  // position -> its damage if unclaimed
  for (uint32_t i = 0; i < r->stripes; i++) {
    format::StripeHeader h;
    const uint64_t off = r->data_start + uint64_t{i} * r->stripe_size;
    if (Status s = ReadSync(f, off, &h, sizeof h); !s.ok()) {
      out.state[i] = StripeState::kUnreadable;
      bad[i] = StripeDamage{i, StripeState::kUnreadable, "cannot read header: " + s.message()};
      continue;
    }
    const Status c = format::CheckStripeHeader(h, seed, i, r->stripe_size, sb.stripe_count);
    if (c.ok()) {
      runs.push_back({i, h});
      r->max_seq = std::max(r->max_seq, h.seq);
    } else if (c.code() != Code::kNotFound) {
      std::string reason;
      out.state[i] = ClassifyBad(h, seed, i, r->stripe_size, &reason);
      bad[i] = StripeDamage{i, out.state[i], reason};
    }
  }

  // Newest run per position wins; an older run that overlaps a newer one is dropped.
  std::sort(runs.begin(), runs.end(), [](const Run& a, const Run& b) { return a.h.seq > b.h.seq; });
  std::vector<bool> claimed(sb.stripe_count, false);
  for (const Run& run : runs) {
    bool overlap = false;
    for (uint32_t j = run.stripe; j < run.stripe + run.span(); j++) overlap = overlap || claimed[j];
    if (overlap) {
      if (!claimed[run.stripe]) out.state[run.stripe] = StripeState::kStale;
      continue;
    }
    for (uint32_t j = run.stripe; j < run.stripe + run.span(); j++) {
      claimed[j] = true;
      if (j < r->stripes) out.state[j] = StripeState::kContinuation;
    }
    out.state[run.stripe] =
        run.h.kind == format::StripeKind::kData ? StripeState::kValid : StripeState::kEmpty;
    out.kept.push_back(run);
  }
  // Leftovers of an earlier lap, out of ring order, are dropped (engine/ring_order.h).
  std::sort(out.kept.begin(), out.kept.end(),
            [](const Run& a, const Run& b) { return a.stripe < b.stripe; });
  std::vector<RingRun> ring;
  for (const Run& run : out.kept)
    ring.push_back({run.h.seq, run.h.kind == format::StripeKind::kData});
  const std::vector<bool> leftover = OlderLapLeftovers(ring);
  std::vector<Run> in_order;
  for (size_t i = 0; i < out.kept.size(); i++) {
    if (!leftover[i]) {
      in_order.push_back(out.kept[i]);
      continue;
    }
    const Run& run = out.kept[i];
    for (uint32_t j = run.stripe; j < run.stripe + run.span() && j < r->stripes; j++)
      out.state[j] = StripeState::kStale;
  }
  out.kept.swap(in_order);
  std::sort(out.kept.begin(), out.kept.end(),
            [](const Run& a, const Run& b) { return a.h.seq < b.h.seq; });  // oldest first

  std::vector<uint32_t> damaged;
  for (const auto& [i, d] : bad)
    if (!claimed[i]) damaged.push_back(i);
  std::sort(damaged.begin(), damaged.end());
  for (uint32_t i : damaged) r->damage.push_back(bad[i]);
  return out;
}

}  // namespace coss::tools::fsck
