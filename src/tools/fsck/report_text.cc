// Human-readable fsck report: one block per device, then a one-line verdict.
#include <algorithm>
#include <cinttypes>
#include <ctime>
#include <string>

#include "tools/fsck/report.h"

namespace coss::tools::fsck {

namespace {

constexpr size_t kListLimit = 20;  // lines per list without --verbose

std::string Bytes(uint64_t b) {
  const char* unit[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(b);
  int u = 0;
  while (v >= 1024 && u < 4) v /= 1024, u++;
  char buf[48];
  if (u == 0) {
    std::snprintf(buf, sizeof buf, "%" PRIu64 " B", b);
  } else {
    std::snprintf(buf, sizeof buf, "%.1f %s", v, unit[u]);
  }
  return buf;
}

std::string Plural(uint64_t n, const char* one, const char* many) {
  return std::to_string(n) + " " + (n == 1 ? one : many);
}

std::string Date(uint64_t unix_s) {
  const time_t t = static_cast<time_t>(unix_s);
  struct tm tm {};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S UTC", &tm);
  return buf;
}

void PrintDevice(const DeviceReport& d, size_t index, size_t count, bool verbose, std::FILE* o) {
  std::fprintf(o, "%s (device %zu of %zu, %s)\n", d.path.c_str(), index + 1, count,
               Bytes(d.size).c_str());
  const format::Superblock& sb = d.super.sb;
  if (d.super.valid) {
    std::fprintf(o,
                 "  superblock  %s: format %u, stripe size %s, %" PRIu64
                 " stripes, journal %s, store %s, created %s, key hash %s\n",
                 d.super.problems.empty() ? "ok" : "PROBLEMS", sb.format_version,
                 Bytes(sb.stripe_size).c_str(), sb.stripe_count, Bytes(sb.journal_bytes).c_str(),
                 UuidString(sb.uuid).c_str(), Date(sb.created_unix).c_str(),
                 sb.key_seed != 0 ? "seeded" : "unseeded (made before seeding)");
  } else {
    std::fprintf(o, "  superblock  UNUSABLE\n");
  }
  for (const std::string& p : d.super.problems) std::fprintf(o, "    problem: %s\n", p.c_str());
  if (!d.scanned) {
    std::fprintf(o, "  stripes     not scanned (no usable superblock)\n");
    return;
  }

  std::string states;
  for (int s = 0; s < kStateCount; s++) {
    if (d.states[s] == 0) continue;
    states += (states.empty() ? "" : ", ") + std::to_string(d.states[s]) + " " +
              StateName(static_cast<StripeState>(s));
  }
  std::fprintf(o, "  stripes     %u: %s\n", d.stripes, states.c_str());
  for (size_t i = 0; i < d.damage.size() && (verbose || i < kListLimit); i++) {
    const StripeDamage& s = d.damage[i];
    std::string extra;
    if (s.seq != 0)
      extra = " (seq " + std::to_string(s.seq) + ", span " + std::to_string(s.span) + ")";
    std::fprintf(o, "    stripe %u: %s: %s%s\n", s.stripe, StateName(s.state), s.reason.c_str(),
                 extra.c_str());
  }
  if (!verbose && d.damage.size() > kListLimit)
    std::fprintf(o, "    ... %zu more damaged stripes (--verbose lists them)\n",
                 d.damage.size() - kListLimit);

  const RecordStats& r = d.records;
  std::fprintf(o, "  records     %s (%s), %s expired, %s, %s",
               Plural(r.values, "value", "values").c_str(), Bytes(r.value_bytes).c_str(),
               std::to_string(r.expired).c_str(),
               Plural(r.tombstones, "tombstone", "tombstones").c_str(),
               Plural(r.clears, "clear", "clears").c_str());
  if (r.insane != 0) std::fprintf(o, ", %" PRIu64 " insane directory entries", r.insane);
  std::fprintf(o, "\n");
  if (r.verified != 0 || r.failures != 0) {
    std::fprintf(o, "  verified    %" PRIu64 " records: %s", r.verified,
                 Plural(r.failures, "failure", "failures").c_str());
    if (r.cleared_by_fsck != 0)
      std::fprintf(o, ", %" PRIu64 " cleared by an earlier fsck --repair", r.cleared_by_fsck);
    std::fprintf(o, "\n");
  } else {
    std::fprintf(o, "  verified    no records read (--no-verify-records, or none)\n");
  }
  const size_t shown = verbose ? d.bad_records.size() : std::min(d.bad_records.size(), kListLimit);
  for (size_t i = 0; i < shown; i++) {
    const BadRecord& b = d.bad_records[i];
    std::fprintf(o, "    stripe %u offset %u: %s %s (version %" PRIu64 ", %u bytes)\n", b.stripe,
                 b.entry.offset, RecordTypeName(b.entry.type), b.reason.c_str(), b.entry.version,
                 b.entry.length);
  }
  if (r.failures > shown)
    std::fprintf(o, "    ... %" PRIu64 " more failing records%s\n", r.failures - shown,
                 verbose || d.bad_records.size() < r.failures ? "" : " (--verbose lists them)");

  const JournalStats& j = d.journal;
  if (j.scanned) {
    std::fprintf(o,
                 "  journal     %s, %" PRIu64 " blocks written, watermark seq %" PRIu64
                 "; tail %" PRIu64 " entries (%" PRIu64 " lost writes, %" PRIu64
                 " keys dropped%s); %s; versions reserved below %" PRIu64 "\n",
                 Bytes(j.bytes).c_str(), j.blocks, j.watermark, j.tail, j.lost_writes,
                 j.keys_dropped, j.lost_clear ? ", a lost flush_all empties the index" : "",
                 Plural(j.corrupt_blocks, "corrupt block", "corrupt blocks").c_str(),
                 j.version_limit);
  } else {
    std::fprintf(o, "  journal     UNREADABLE: %s\n", j.error.c_str());
  }
  const IndexStats& x = d.index;
  std::string misses;
  if (x.unreadable != 0)
    misses = " (" + std::to_string(x.unreadable) +
             " read as misses: their records fail or were cleared)";
  std::fprintf(
      o,
      "  rebuild     %" PRIu64 " live objects%s, %s, from %" PRIu64
      " runs; write head at stripe %u, next seq %" PRIu64 "%s\n",
      x.live_objects, misses.c_str(), Bytes(x.live_bytes).c_str(), x.runs_kept, x.head, x.next_seq,
      x.newest_seal_unix == 0 ? ""
                              : ("; newest stripe sealed " + Date(x.newest_seal_unix)).c_str());

  const CheckpointInfo& c = d.checkpoint;
  if (c.present && c.usable) {
    std::fprintf(o, "  checkpoint  %s: %" PRIu64 " entries, %s; %s\n", c.path.c_str(), c.entries,
                 Date(c.created_unix).c_str(), c.note.c_str());
  } else if (c.present) {
    std::fprintf(o, "  checkpoint  %s: %s\n", c.path.c_str(), c.note.c_str());
  } else if (c.path.empty()) {
    std::fprintf(o, "  checkpoint  off (--checkpoint none): a restart rebuilds as above\n");
  } else {
    std::fprintf(o, "  checkpoint  none at %s: a restart rebuilds as above\n", c.path.c_str());
  }

  if (verbose) {
    for (uint32_t i = 0; i < d.lines.size(); i++) {
      const StripeLine& l = d.lines[i];
      std::fprintf(o, "    %8u  %-12s", i, StateName(l.state));
      if (l.seq != 0)
        std::fprintf(o, " seq %" PRIu64 " span %u records %u", l.seq, l.span, l.records);
      std::fprintf(o, "\n");
    }
  }
  if (!d.repair_refused.empty())
    std::fprintf(o, "  repair      REFUSED: %s\n", d.repair_refused.c_str());
  for (const RepairAction& a : d.repairs) {
    const std::string where =
        a.stripe == RepairAction::kNoStripe ? "" : "stripe " + std::to_string(a.stripe) + ": ";
    std::fprintf(o, "  repaired    %s%s%s%s\n", where.c_str(), a.what.c_str(),
                 a.ok ? "" : " - FAILED: ", a.ok ? "" : a.error.c_str());
  }
}

}  // namespace

void PrintText(const FsckResult& res, bool verbose, std::FILE* o) {
  uint64_t damaged = 0, failures = 0, journal = 0, super = 0, live = 0, bytes = 0, repairs = 0;
  for (size_t i = 0; i < res.devices.size(); i++) {
    const DeviceReport& d = res.devices[i];
    PrintDevice(d, i, res.devices.size(), verbose, o);
    damaged += d.damage.size();
    failures += d.records.failures;
    journal += d.journal.corrupt_blocks + (d.journal.error.empty() ? 0 : 1);
    super += d.super.problems.size();
    live += d.index.live_objects;
    bytes += d.index.live_bytes;
    for (const RepairAction& a : d.repairs) repairs += a.ok ? 1 : 0;
  }
  if (res.devices.size() > 1)
    std::fprintf(o, "store: %" PRIu64 " live objects, %s\n", live, Bytes(bytes).c_str());
  if (res.exit_code == 0) {
    std::fprintf(o, "result: clean\n");
    return;
  }
  std::string what;
  auto add = [&](uint64_t n, const char* one, const char* many) {
    if (n != 0) what += (what.empty() ? "" : ", ") + Plural(n, one, many);
  };
  add(super, "superblock problem", "superblock problems");
  add(damaged, "damaged stripe", "damaged stripes");
  add(failures, "record failure", "record failures");
  add(journal, "journal problem", "journal problems");
  std::fprintf(o, "result: DAMAGE FOUND: %s\n", what.c_str());
  bool refused = false;
  for (const DeviceReport& d : res.devices) refused = refused || !d.repair_refused.empty();
  if (res.repair && refused) {
    std::fprintf(o, "repair: refused, nothing was written (see REFUSED above)\n");
  } else if (res.repair) {
    std::fprintf(
        o, "repair: %" PRIu64 " actions done; run coss fsck again to confirm the store is clean\n",
        repairs);
  } else if (damaged + failures + journal != 0) {
    std::fprintf(o,
                 "hint: with the server stopped, `coss fsck --repair` marks damaged stripes empty "
                 "and clears failing records so the store opens cleanly\n");
  }
}

}  // namespace coss::tools::fsck
