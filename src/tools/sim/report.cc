#include "tools/sim/report.h"

#include <cmath>
#include <cstdlib>
#include <fstream>

#include "tools/sim/reref.h"
#include "tools/sim/spec.h"

namespace coss::sim {

const char kAccountingNote[] =
    "cache size = device bytes for engine policies (superblock, journal, stripe headers, 48 B "
    "record header + 8 B key + 32 B directory entry + alignment per object, unused stripe tails "
    "and the open stripe all inside it; 'fmt' = device bytes per object byte written); object "
    "bytes only for lru/fifo. write amp = device bytes written / object bytes the replay asked "
    "to store (every get-miss insert and set, stored or not); engine: stripe writes, with the "
    "journal's blocks apart ('jrnl', same denominator: their volume depends on group-commit "
    "batching, i.e. device sync latency and thread timing, not on the policy); for lru/fifo, "
    "bytes admitted.";

namespace {

std::string Csv(const std::string& s) {
  if (s.find_first_of(",\"") == std::string::npos) return s;
  std::string o = "\"";
  for (char c : s) o += (c == '"') ? std::string("\"\"") : std::string(1, c);
  return o + "\"";
}

std::string Json(const std::string& s) {
  std::string o = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') o += '\\';
    o += c;
  }
  return o + "\"";
}

}  // namespace

double DeltaVsLru(const RunResult& r, const std::vector<RunResult>& rs) {
  for (const auto& b : rs) {
    if (b.policy == "lru" && b.cache_bytes == r.cache_bytes && b.workload == r.workload)
      return b.miss_ratio() > 0 ? (r.miss_ratio() - b.miss_ratio()) / b.miss_ratio() : NAN;
  }
  return NAN;
}

void PrintTraceSummary(FILE* out, const Trace& t) {
  std::fprintf(out, "workload %s: %zu requests, %llu objects, footprint %s, max object %s\n",
               t.name.c_str(), t.requests.size(), (unsigned long long)t.objects,
               FormatBytes(t.footprint_bytes).c_str(), FormatBytes(t.max_size).c_str());
  std::fprintf(out, "  objects by requests:");
  for (int b = 0; b < kTraceRerefBuckets; b++) {
    if (t.requests_per_object[b] == 0) continue;
    const unsigned long long lo = 1ull << b;
    char label[48];
    if (b == 0) {
      std::snprintf(label, sizeof label, "1");
    } else if (b == kTraceRerefBuckets - 1) {
      std::snprintf(label, sizeof label, ">=%llu", lo);
    } else {
      std::snprintf(label, sizeof label, "%llu-%llu", lo, 2 * lo - 1);
    }
    std::fprintf(out, " %s:%.1f%%", label,
                 100.0 * t.requests_per_object[b] / std::max<uint64_t>(1, t.objects));
  }
  std::fprintf(out, "\n");
}

void PrintTable(FILE* out, const std::vector<RunResult>& rs) {
  std::fprintf(out, "%-12s %10s %6s %7s %8s %8s %8s %8s %6s %9s %6s %6s %7s\n", "policy", "cache",
               "%fp", "stripe", "miss", "bytemiss", "vs lru", "wr.amp", "jrnl", "reloc", "fmt",
               "never%", "sec");
  for (const auto& r : rs) {
    const double d = DeltaVsLru(r, rs);
    char dbuf[16] = "-";
    if (!std::isnan(d) && r.policy != "lru") std::snprintf(dbuf, sizeof dbuf, "%+.1f%%", 100 * d);
    char sbuf[16] = "-";
    if (r.stripe_size) std::snprintf(sbuf, sizeof sbuf, "%uK", r.stripe_size >> 10);
    char fbuf[16] = "-";
    if (r.format_overhead > 0) std::snprintf(fbuf, sizeof fbuf, "%.3f", r.format_overhead);
    uint64_t ev = 0;
    for (auto v : r.reref) ev += v;
    std::fprintf(out, "%-12s %10s %5.1f%% %7s %8.4f %8.4f %8s %8.3f %6.3f %9s %6s %5.1f%% %7.1f\n",
                 r.policy.c_str(), FormatBytes(r.cache_bytes).c_str(), 100 * r.cache_fraction, sbuf,
                 r.miss_ratio(), r.byte_miss_ratio(), dbuf, r.write_amp(), r.journal_amp(),
                 FormatBytes(r.relocated_bytes + r.reinserted_bytes).c_str(), fbuf,
                 ev ? 100.0 * r.reref[0] / ev : 0.0, r.seconds);
  }
  std::fprintf(
      out,
      "(vs lru: relative miss-ratio delta; reloc: bytes relocated or reinserted; never%%: evicted "
      "objects never read while cached)\n");
}

std::string WriteCsv(const std::string& path, const std::vector<RunResult>& rs) {
  std::ofstream f(path);
  if (!f) return path + ": cannot write";
  f << "workload,policy,cache_bytes,cache_fraction,stripe_size,requests,gets,misses,miss_ratio,"
       "get_bytes,miss_bytes,byte_miss_ratio,inserted_objects,inserted_bytes,"
       "device_bytes_written,write_amp,journal_bytes_written,journal_amp,device_bytes_read,"
       "relocations,relocated_bytes,reinsertions,"
       "reinserted_bytes,admission_rejected,evictions,"
       "memory_hits,refused,format_overhead,delta_vs_lru,seconds";
  for (int b = 0; b < kRerefBuckets; b++) f << ",reref_" << RerefBucketLow(b);
  f << "\n";
  for (const auto& r : rs) {
    const double d = DeltaVsLru(r, rs);
    f << Csv(r.workload) << ',' << Csv(r.policy) << ',' << r.cache_bytes << ',' << r.cache_fraction
      << ',' << r.stripe_size << ',' << r.requests << ',' << r.gets << ',' << r.misses << ','
      << r.miss_ratio() << ',' << r.get_bytes << ',' << r.miss_bytes << ',' << r.byte_miss_ratio()
      << ',' << r.inserted_objects << ',' << r.inserted_bytes << ',' << r.device_bytes_written
      << ',' << r.write_amp() << ',' << r.journal_bytes_written << ',' << r.journal_amp() << ','
      << r.device_bytes_read << ',' << r.relocations << ',' << r.relocated_bytes << ','
      << r.reinsertions << ',' << r.reinserted_bytes << ',' << r.admission_rejected << ','
      << r.evictions << ',' << r.memory_hits << ',' << r.refused << ',' << r.format_overhead << ',';
    if (!std::isnan(d)) f << d;
    f << ',' << r.seconds;
    for (auto v : r.reref) f << ',' << v;
    f << "\n";
  }
  return f ? std::string() : path + ": write failed";
}

std::string WriteJson(const std::string& path, const Trace& t, const std::vector<RunResult>& rs) {
  std::ofstream f(path);
  if (!f) return path + ": cannot write";
  f << "{\n  \"workload\": " << Json(t.name) << ",\n  \"requests\": " << t.requests.size()
    << ",\n  \"objects\": " << t.objects << ",\n  \"footprint_bytes\": " << t.footprint_bytes
    << ",\n  \"max_object_bytes\": " << t.max_size << ",\n  \"objects_by_requests\": [";
  for (int b = 0; b < kTraceRerefBuckets; b++) f << (b ? ", " : "") << t.requests_per_object[b];
  f << "],\n  \"accounting\": " << Json(kAccountingNote) << ",\n  \"runs\": [\n";
  for (size_t i = 0; i < rs.size(); i++) {
    const auto& r = rs[i];
    const double d = DeltaVsLru(r, rs);
    f << "    {\"policy\": " << Json(r.policy) << ", \"cache_bytes\": " << r.cache_bytes
      << ", \"cache_fraction\": " << r.cache_fraction << ", \"stripe_size\": " << r.stripe_size
      << ", \"gets\": " << r.gets << ", \"misses\": " << r.misses
      << ", \"miss_ratio\": " << r.miss_ratio() << ", \"byte_miss_ratio\": " << r.byte_miss_ratio()
      << ", \"inserted_bytes\": " << r.inserted_bytes
      << ", \"device_bytes_written\": " << r.device_bytes_written
      << ", \"write_amp\": " << r.write_amp()
      << ", \"journal_bytes_written\": " << r.journal_bytes_written
      << ", \"journal_amp\": " << r.journal_amp()
      << ", \"device_bytes_read\": " << r.device_bytes_read
      << ", \"relocations\": " << r.relocations << ", \"relocated_bytes\": " << r.relocated_bytes
      << ", \"reinsertions\": " << r.reinsertions
      << ", \"reinserted_bytes\": " << r.reinserted_bytes
      << ", \"admission_rejected\": " << r.admission_rejected << ", \"evictions\": " << r.evictions
      << ", \"memory_hits\": " << r.memory_hits << ", \"refused\": " << r.refused
      << ", \"format_overhead\": " << r.format_overhead << ", \"delta_vs_lru\": ";
    if (std::isnan(d)) {
      f << "null";
    } else {
      f << d;
    }
    f << ", \"seconds\": " << r.seconds << ", \"reref\": [";
    for (int b = 0; b < kRerefBuckets; b++) f << (b ? ", " : "") << r.reref[b];
    f << "]}" << (i + 1 < rs.size() ? "," : "") << "\n";
  }
  f << "  ]\n}\n";
  return f ? std::string() : path + ": write failed";
}

namespace {
const char kPlotScript[] =
    R"PY(# Written by `coss sim`: plots miss ratio and write amplification against
# cache size from the CSV it wrote. usage: python3 THIS.py RESULTS.csv OUT.png TITLE
import csv, sys
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt

rows = list(csv.DictReader(open(sys.argv[1])))
series = {}
for r in rows:
    series.setdefault(r["policy"], []).append(
        (float(r["cache_fraction"]) * 100, float(r["miss_ratio"]), float(r["write_amp"])))
fig, (a, b) = plt.subplots(1, 2, figsize=(11, 4.2))
for name, pts in series.items():
    pts.sort()
    x = [p[0] for p in pts]
    style = "--" if name in ("lru", "fifo") else "-"
    a.plot(x, [p[1] for p in pts], style, marker="o", label=name)
    if name not in ("lru", "fifo"):
        b.plot(x, [p[2] for p in pts], style, marker="o", label=name)
for ax, t in ((a, "miss ratio"), (b, "write amplification (device / stored bytes)")):
    ax.set_xscale("log")
    ax.set_xlabel("cache size, % of footprint")
    ax.set_title(t)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
b.axhline(1.2, color="grey", lw=0.8, ls=":")
fig.suptitle(sys.argv[3], fontsize=10)
fig.tight_layout()
fig.savefig(sys.argv[2], dpi=110)
)PY";

std::string ShellQuote(const std::string& s) {
  std::string o = "'";
  for (char c : s) o += (c == '\'') ? std::string("'\\''") : std::string(1, c);
  return o + "'";
}
}  // namespace

std::string WritePng(const std::string& png, const std::string& csv, const std::string& title) {
  const std::string py = png + ".py";
  {
    std::ofstream f(py);
    if (!f) return py + ": cannot write";
    f << kPlotScript;
  }
  const std::string cmd = "/usr/bin/python3 " + ShellQuote(py) + " " + ShellQuote(csv) + " " +
                          ShellQuote(png) + " " + ShellQuote(title) + " 2>&1";
  const int rc = std::system(cmd.c_str());
  if (rc != 0) {
    return "plotting failed (" + cmd +
           "); install matplotlib (apt-get install python3-matplotlib) or use --no-png";
  }
  return {};
}

}  // namespace coss::sim
