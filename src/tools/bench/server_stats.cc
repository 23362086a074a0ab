#include "tools/bench/server_stats.h"

#include <unistd.h>

#include <charconv>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

namespace coss::tools::bench {

namespace {

bool ReadFile(const std::string& path, std::string* out) {
  std::ifstream f(path);
  if (!f) return false;
  std::stringstream ss;
  ss << f.rdbuf();
  *out = ss.str();
  return !f.bad();
}

template <typename T>
std::optional<T> Delta(std::optional<T> a, std::optional<T> b) {
  if (!a || !b || *b < *a) return std::nullopt;
  return *b - *a;
}

}  // namespace

bool SampleProc(long pid, ProcSample* out) {
  const std::string base = "/proc/" + std::to_string(pid);
  std::string stat;
  if (pid <= 0 || !ReadFile(base + "/stat", &stat)) return false;
  const size_t open = stat.find('(');
  const size_t close = stat.rfind(')');
  if (open == std::string::npos || close == std::string::npos || close < open) return false;
  out->comm = stat.substr(open + 1, close - open - 1);
  // Fields after ")": state is field 3, utime 14, stime 15.
  std::istringstream rest(stat.substr(close + 1));
  std::vector<std::string> f;
  std::string tok;
  while (rest >> tok && f.size() < 13) f.push_back(tok);
  if (f.size() < 13) return false;
  const double tick = static_cast<double>(sysconf(_SC_CLK_TCK));
  out->cpu_s = (std::stod(f[11]) + std::stod(f[12])) / tick;
  std::string status;
  if (ReadFile(base + "/status", &status)) {
    const size_t p = status.find("VmRSS:");
    if (p != std::string::npos) {
      out->rss_bytes = std::stoull(status.substr(p + 6)) * 1024;  // "VmRSS:   1234 kB"
    }
  }
  std::error_code ec;
  for (const auto& t : std::filesystem::directory_iterator(base + "/task", ec)) {
    std::string ts;
    if (!ReadFile(t.path().string() + "/status", &ts)) continue;
    for (const char* field : {"\nvoluntary_ctxt_switches:", "\nnonvoluntary_ctxt_switches:"}) {
      const size_t p = ts.find(field);
      if (p != std::string::npos) {
        out->context_switches += std::stoull(ts.substr(p + std::strlen(field)));
      }
    }
  }
  std::string io;
  if (ReadFile(base + "/io", &io)) {
    const size_t p = io.find("\nwrite_bytes:");
    if (p != std::string::npos) out->write_bytes = std::stoull(io.substr(p + 13));
    const size_t q = io.find("\nread_bytes:");
    if (q != std::string::npos) out->read_bytes = std::stoull(io.substr(q + 12));
  }
  return true;
}

std::optional<uint64_t> StatU64(const StatList& s, const char* name) {
  const std::string* v = FindStat(s, name);
  if (v == nullptr) return std::nullopt;
  uint64_t x = 0;
  const auto r = std::from_chars(v->data(), v->data() + v->size(), x);
  if (r.ec != std::errc() || r.ptr != v->data() + v->size()) return std::nullopt;
  return x;
}

std::optional<double> StatDouble(const StatList& s, const char* name) {
  const std::string* v = FindStat(s, name);
  if (v == nullptr || v->empty()) return std::nullopt;
  char* end = nullptr;
  const double d = std::strtod(v->c_str(), &end);
  if (end != v->c_str() + v->size()) return std::nullopt;
  return d;
}

ServerSample SampleServer(const Endpoint& ep, int timeout_ms) {
  ServerSample s;
  if (!FetchStats(ep, "", timeout_ms, &s.stats, &s.error)) return s;
  s.ok = true;
  s.pid = static_cast<long>(StatU64(s.stats, "pid").value_or(0));
  if (ep.IsLoopback()) {
    ProcSample p;
    if (SampleProc(s.pid, &p)) s.proc = p;
  }
  return s;
}

ServerDelta Diff(const ServerSample& a, const ServerSample& b) {
  ServerDelta d;
  if (!a.ok || !b.ok) {
    d.error = !a.ok ? a.error : b.error;
    return d;
  }
  d.ok = true;
  d.pid = b.pid;
  if (const std::string* v = FindStat(b.stats, "version")) d.version = *v;
  d.items = StatU64(b.stats, "curr_items");
  if (a.proc && b.proc && a.pid == b.pid) {
    d.comm = b.proc->comm;
    d.cpu_s = b.proc->cpu_s - a.proc->cpu_s;
    d.cpu_source = "/proc/" + std::to_string(b.pid) + "/stat";
    d.rss_bytes = b.proc->rss_bytes;
    d.proc_write_bytes = Delta(a.proc->write_bytes, b.proc->write_bytes);
    d.proc_read_bytes = Delta(a.proc->read_bytes, b.proc->read_bytes);
    d.context_switches = Delta(std::optional<uint64_t>(a.proc->context_switches),
                               std::optional<uint64_t>(b.proc->context_switches));
  } else {
    auto cpu = [](const StatList& s) -> std::optional<double> {
      const auto u = StatDouble(s, "rusage_user");
      const auto y = StatDouble(s, "rusage_system");
      if (!u || !y) return std::nullopt;
      return *u + *y;
    };
    const auto ca = cpu(a.stats), cb = cpu(b.stats);
    if (ca && cb) {
      d.cpu_s = *cb - *ca;
      d.cpu_source = "stats rusage_user + rusage_system";
    }
  }
  d.client_bytes_written = Delta(StatU64(a.stats, "coss_client_bytes_written"),
                                 StatU64(b.stats, "coss_client_bytes_written"));
  d.device_bytes_written = Delta(StatU64(a.stats, "coss_device_bytes_written"),
                                 StatU64(b.stats, "coss_device_bytes_written"));
  // Bytes refused by admission count as asked-to-store (stats_report.cc).
  const auto refused = Delta(StatU64(a.stats, "coss_admission_rejected_bytes"),
                             StatU64(b.stats, "coss_admission_rejected_bytes"));
  if (d.client_bytes_written && refused) *d.client_bytes_written += *refused;
  if (d.client_bytes_written && d.device_bytes_written && *d.client_bytes_written > 0) {
    d.write_amplification =
        static_cast<double>(*d.device_bytes_written) / static_cast<double>(*d.client_bytes_written);
  }
  auto delta = [&](const char* name) {
    return Delta(StatU64(a.stats, name), StatU64(b.stats, name));
  };
  d.device_bytes_read = delta("coss_device_bytes_read");
  d.stats_after = b.stats;
  for (const auto& [name, value] : b.stats) {
    const auto x = StatU64(b.stats, name.c_str());
    const auto y = StatU64(a.stats, name.c_str());
    if (x && y) d.stats_delta.emplace_back(name, static_cast<int64_t>(*x - *y));
  }
  d.extstore_bytes_written = delta("extstore_bytes_written");
  d.extstore_bytes_read = delta("extstore_bytes_read");
  return d;
}

}  // namespace coss::tools::bench
