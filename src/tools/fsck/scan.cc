#include "tools/fsck/scan.h"

#include <algorithm>
#include <set>

#include "engine/journal.h"
#include "tools/fsck/checkpoint_info.h"
#include "tools/fsck/headers.h"
#include "tools/fsck/live_index.h"
#include "tools/fsck/runs.h"

namespace coss::tools::fsck {

namespace {

void ScanJournal(StoreFile& f, const std::set<uint64_t>& recovered, LiveIndex* index,
                 DeviceReport* r) {
  JournalStats& j = r->journal;
  j.offset = format::kSuperblockSize;
  j.bytes = r->super.sb.journal_bytes;
  auto scan = Journal::Scan(f, j.offset, j.bytes, r->super.sb.uuid.Seed());
  if (!scan.ok()) {
    j.error = scan.status().message();
    return;
  }
  j.scanned = true;
  j.watermark = scan->durable_seq;
  j.version_limit = scan->version_limit;
  j.blocks = scan->next_block_seq - 1;
  j.corrupt_blocks = scan->corrupt_blocks;
  j.tail = scan->tail.size();
  r->max_seq = std::max(r->max_seq, j.watermark);
  for (const format::JournalEntry& e : scan->tail) {
    const uint64_t seq = e.seq & ~format::JournalEntry::kClear;
    r->max_seq = std::max(r->max_seq, seq);
    r->index.next_seq = std::max(r->index.next_seq, seq + 1);  // the engine never reuses it
  }
  index->ApplyJournal(*scan, recovered, &j);
}

}  // namespace

void ScanDevice(StoreFile& f, const DevicePlace& place, const ScanOptions& o, DeviceReport* r) {
  if (!CheckDeviceSuperblock(f, place, r)) return;
  r->scanned = true;

  HeaderScan hs = ScanHeaders(f, r);
  LiveIndex index;
  std::set<uint64_t> recovered;
  for (const Run& run : hs.kept) {
    recovered.insert(run.h.seq);
    r->index.next_seq = std::max(r->index.next_seq, run.h.seq + 1);
    r->index.newest_seal_unix = std::max(r->index.newest_seal_unix, run.h.sealed_unix);
    if (run.h.kind == format::StripeKind::kData)  // as the engine: empty markers do not move it
      r->index.head = static_cast<uint32_t>((run.stripe + run.span()) % r->super.sb.stripe_count);
    const uint32_t id = index.AddRun(run.h.seq);
    const StripeState st = CheckRun(f, run, id, o.verify_records, o.now, &index, r);
    if (run.stripe < r->stripes) hs.state[run.stripe] = st;
  }
  r->index.runs_kept = hs.kept.size();
  ScanJournal(f, recovered, &index, r);
  r->index.live_objects = index.objects();
  r->index.live_bytes = index.bytes();
  r->index.unreadable = index.unreadable();
  InspectCheckpoint(r);

  std::sort(r->damage.begin(), r->damage.end(),
            [](const StripeDamage& a, const StripeDamage& b) { return a.stripe < b.stripe; });
  for (StripeState s : hs.state) r->states[static_cast<int>(s)]++;
  if (o.verbose) {
    r->lines.resize(r->stripes);
    for (uint32_t i = 0; i < r->stripes; i++) r->lines[i].state = hs.state[i];
    for (const Run& run : hs.kept) {
      for (uint32_t j = run.stripe; j < std::min(run.stripe + run.span(), r->stripes); j++) {
        r->lines[j].seq = run.h.seq;
        r->lines[j].span = run.span();
        r->lines[j].records = run.h.record_count;
      }
    }
  }
}

}  // namespace coss::tools::fsck
