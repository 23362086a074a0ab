#include "tools/bench/report.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "tools/stats/json.h"

namespace coss::tools::bench {

namespace {

std::string Fmt(const char* f, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}

// 1234567 -> "1,234,567"
std::string Group(uint64_t v) {
  const std::string digits = std::to_string(v);
  std::string s;
  for (size_t i = 0; i < digits.size(); i++) {
    if (i > 0 && (digits.size() - i) % 3 == 0) s += ',';
    s += digits[i];
  }
  return s;
}

std::string Ns(uint64_t ns) {
  if (ns < 1000) return std::to_string(ns) + " ns";
  if (ns < 1000000) return Fmt("%.1f us", ns / 1e3);
  if (ns < 1000000000) return Fmt("%.2f ms", ns / 1e6);
  return Fmt("%.2f s", ns / 1e9);
}

std::string Bytes(uint64_t b) {
  if (b < 10000) return std::to_string(b) + " B";
  if (b < 10000000) return Fmt("%.1f kB", b / 1e3);
  if (b < 10000000000ull) return Fmt("%.1f MB", b / 1e6);
  return Fmt("%.2f GB", b / 1e9);
}

double Ratio(uint64_t a, uint64_t b) {
  return b ? static_cast<double>(a) / b : NAN;
}

std::string OptBytes(const std::optional<uint64_t>& v) {
  return v ? Bytes(*v) : "n/a";
}

void LatencyRow(std::string* out, const char* name, const Histogram& h, double seconds) {
  char buf[256];
  if (h.Count() == 0) {
    std::snprintf(buf, sizeof buf, "  %-4s %12s %10s\n", name, "0", "-");
  } else {
    std::snprintf(buf, sizeof buf, "  %-4s %12s %10s %10s %10s %10s %10s %10s\n", name,
                  Group(h.Count()).c_str(), Group(std::llround(h.Count() / seconds)).c_str(),
                  Ns(h.Percentile(0.5)).c_str(), Ns(h.Percentile(0.9)).c_str(),
                  Ns(h.Percentile(0.99)).c_str(), Ns(h.Percentile(0.999)).c_str(),
                  Ns(h.Max()).c_str());
  }
  *out += buf;
}

void JsonLatency(Json& j, const Histogram& h) {
  j.BeginObject();
  j.Key("count").Uint(h.Count());
  j.Key("min").Double(h.Min() / 1e3);
  j.Key("mean").Double(h.Mean() / 1e3);
  j.Key("p50").Double(h.Percentile(0.5) / 1e3);
  j.Key("p90").Double(h.Percentile(0.9) / 1e3);
  j.Key("p99").Double(h.Percentile(0.99) / 1e3);
  j.Key("p999").Double(h.Percentile(0.999) / 1e3);
  j.Key("max").Double(h.Max() / 1e3);
  j.EndObject();
}

template <typename T>
void OptU(Json& j, const char* k, const std::optional<T>& v) {
  j.Key(k);
  if (v) {
    j.Uint(*v);
  } else {
    j.Null();
  }
}

void OptD(Json& j, const char* k, const std::optional<double>& v) {
  j.Key(k);
  if (v) {
    j.Double(*v);
  } else {
    j.Null();
  }
}

void JsonPhaseBrief(Json& j, const PhaseResult& p) {
  j.BeginObject();
  j.Key("seconds").Double(p.seconds);
  j.Key("ops").Uint(p.c.ops);
  j.Key("ops_per_s").Double(p.seconds > 0 ? p.c.ops / p.seconds : 0);
  j.Key("stored").Uint(p.c.stored);
  j.Key("gets").Uint(p.c.gets);
  j.Key("hits").Uint(p.c.hits);
  j.Key("hit_ratio").Double(Ratio(p.c.hits, p.c.gets));
  j.Key("errors").Uint(p.c.Errors() + p.c.not_stored);
  j.Key("first_error").String(p.first_error);
  j.EndObject();
}

}  // namespace

std::string RenderHuman(const BenchReport& r) {
  const RunSettings& s = r.settings;
  const PhaseResult& p = r.run;
  const Counters& c = p.c;
  std::string o;
  char buf[512];
  const std::string mode =
      s.rate > 0 ? "open loop at " + Group(std::llround(s.rate)) + " req/s (" + s.arrival + ")"
                 : "closed loop";
  std::snprintf(buf, sizeof buf, "coss bench -> %s: %d connections on %d threads, depth %d, %s\n",
                s.server.c_str(), s.connections, s.threads, s.depth, mode.c_str());
  o += buf;
  if (s.source == "trace") {
    std::snprintf(buf, sizeof buf, "workload: trace %s (%s), look-aside, values %s\n",
                  s.trace_path.c_str(), s.trace_format.c_str(), s.value_sizes.c_str());
  } else {
    std::snprintf(buf, sizeof buf, "workload: %s keys %s, values %s, sets %.1f %%%s%s\n",
                  Group(s.keys).c_str(), s.key_dist.c_str(), s.value_sizes.c_str(),
                  100 * s.set_ratio, s.fill_on_miss ? ", set on miss" : "",
                  s.prefill ? (s.prefill_read ? ", prefilled and read once" : ", prefilled")
                            : (s.prefill_read ? ", read once first" : ""));
  }
  o += buf;
  if (r.prefill) {
    const auto& f = *r.prefill;
    std::snprintf(buf, sizeof buf, "prefill: %s sets in %.2f s (%s/s), %s errors\n",
                  Group(f.c.ops).c_str(), f.seconds,
                  Group(std::llround(f.seconds > 0 ? f.c.ops / f.seconds : 0)).c_str(),
                  Group(f.c.Errors() + f.c.not_stored).c_str());
    o += buf;
  }
  if (r.prefill_read) {
    const auto& f = *r.prefill_read;
    std::snprintf(buf, sizeof buf, "prefill read: %s gets in %.1f s, hit ratio %.4f, %s errors\n",
                  Group(f.c.gets).c_str(), f.seconds, Ratio(f.c.hits, f.c.gets),
                  Group(f.c.Errors()).c_str());
    o += buf;
  }
  if (r.warmup) {
    std::snprintf(buf, sizeof buf, "warm-up: %s ops in %.1f s (not counted)\n",
                  Group(r.warmup->c.ops).c_str(), r.warmup->seconds);
    o += buf;
  }
  std::snprintf(buf, sizeof buf, "measured: %.2f s%s\n\n", p.seconds,
                p.source_exhausted ? " (input exhausted)" : "");
  o += buf;
  std::snprintf(buf, sizeof buf, "  %-4s %12s %10s %10s %10s %10s %10s %10s\n", "op", "count",
                "per s", "p50", "p90", "p99", "p99.9", "max");
  o += buf;
  const double sec = p.seconds > 0 ? p.seconds : 1;
  LatencyRow(&o, "all", p.all, sec);
  LatencyRow(&o, "get", p.get, sec);
  LatencyRow(&o, "set", p.set, sec);
  o += "\n";
  std::snprintf(buf, sizeof buf,
                "hit ratio %.4f (%s hits / %s gets), byte hit ratio %.4f; %s sets stored "
                "(%s), %s fills after a miss\n",
                Ratio(c.hits, c.gets), Group(c.hits).c_str(), Group(c.gets).c_str(),
                Ratio(c.bytes_hit, c.bytes_wanted), Group(c.stored).c_str(),
                Bytes(c.bytes_stored).c_str(), Group(c.fills).c_str());
  o += buf;
  std::snprintf(buf, sizeof buf,
                "errors: %s (ERROR %s, CLIENT_ERROR %s, SERVER_ERROR %s, bad reply %s, timeouts "
                "%s, lost %s, connections %s); not stored %s; wrong length %s\n",
                Group(c.Errors()).c_str(), Group(c.err_error).c_str(), Group(c.err_client).c_str(),
                Group(c.err_server).c_str(), Group(c.err_protocol).c_str(),
                Group(c.timeouts).c_str(), Group(c.lost).c_str(), Group(c.conn_errors).c_str(),
                Group(c.not_stored).c_str(), Group(c.wrong_size).c_str());
  o += buf;
  if (!p.first_error.empty()) o += "first error: " + p.first_error + "\n";
  if (s.trace_skipped)
    o += "trace records skipped (unsupported op): " + Group(s.trace_skipped) + "\n";
  const ServerDelta& d = r.server;
  if (!d.ok) {
    o += "server: stats unavailable (" + d.error + ")\n";
    return o;
  }
  std::snprintf(buf, sizeof buf, "\nserver: pid %ld%s%s, version %s, %s items\n", d.pid,
                d.comm.empty() ? "" : " ", d.comm.c_str(), d.version.c_str(),
                d.items ? Group(*d.items).c_str() : "n/a");
  o += buf;
  if (d.cpu_s) {
    std::snprintf(buf, sizeof buf, "  CPU %.2f s (%.2f cores; from %s), RSS %s\n", *d.cpu_s,
                  *d.cpu_s / sec, d.cpu_source.c_str(), OptBytes(d.rss_bytes).c_str());
  } else {
    std::snprintf(buf, sizeof buf, "  CPU n/a, RSS %s\n", OptBytes(d.rss_bytes).c_str());
  }
  o += buf;
  std::snprintf(buf, sizeof buf,
                "  client bytes stored %s, device bytes written %s, write amplification %s\n",
                OptBytes(d.client_bytes_written).c_str(), OptBytes(d.device_bytes_written).c_str(),
                d.write_amplification ? Fmt("%.3f", *d.write_amplification).c_str() : "n/a");
  o += buf;
  if (d.context_switches) {
    o += "  context switches " + Group(*d.context_switches) + " (" +
         Fmt("%.2f", static_cast<double>(*d.context_switches) / std::max<uint64_t>(1, c.ops)) +
         " per op)\n";
  }
  if (d.device_bytes_read) {
    o += "  device bytes read " + Bytes(*d.device_bytes_read) + "\n";
  }
  if (d.extstore_bytes_written || d.extstore_bytes_read) {
    o += "  extstore bytes written " + OptBytes(d.extstore_bytes_written) + ", read " +
         OptBytes(d.extstore_bytes_read) + "\n";
  }
  if (d.proc_write_bytes || d.proc_read_bytes) {
    o += "  process storage I/O (/proc/" + std::to_string(d.pid) + "/io): written " +
         OptBytes(d.proc_write_bytes) + ", read " + OptBytes(d.proc_read_bytes) + "\n";
  }
  return o;
}

std::string RenderJson(const BenchReport& r) {
  const RunSettings& s = r.settings;
  const PhaseResult& p = r.run;
  const Counters& c = p.c;
  Json j;
  j.BeginObject();
  j.Key("schema").String("coss-bench/1");
  j.Key("settings").BeginObject();
  j.Key("server").String(s.server);
  j.Key("connections").Int(s.connections);
  j.Key("threads").Int(s.threads);
  j.Key("depth").Int(s.depth);
  j.Key("rate").Double(s.rate);
  j.Key("mode").String(s.rate > 0 ? "open" : "closed");
  j.Key("arrival").String(s.arrival);
  j.Key("duration_s").Double(s.duration_s);
  j.Key("warmup_s").Double(s.warmup_s);
  j.Key("max_requests").Uint(s.max_requests);
  j.Key("source").String(s.source);
  j.Key("keys").Uint(s.keys);
  j.Key("key_dist").String(s.key_dist);
  j.Key("value_sizes").String(s.value_sizes);
  j.Key("set_ratio").Double(s.set_ratio);
  j.Key("fill_on_miss").Bool(s.fill_on_miss);
  j.Key("prefill").Bool(s.prefill);
  j.Key("prefill_read").Bool(s.prefill_read);
  j.Key("trace").String(s.trace_path);
  j.Key("trace_format").String(s.trace_format);
  j.Key("trace_skipped").Uint(s.trace_skipped);
  j.Key("key_prefix").String(s.key_prefix);
  j.Key("seed").Uint(s.seed);
  j.EndObject();
  j.Key("prefill");
  if (r.prefill) {
    JsonPhaseBrief(j, *r.prefill);
  } else {
    j.Null();
  }
  j.Key("prefill_read");
  if (r.prefill_read) {
    JsonPhaseBrief(j, *r.prefill_read);
  } else {
    j.Null();
  }
  j.Key("warmup");
  if (r.warmup) {
    JsonPhaseBrief(j, *r.warmup);
  } else {
    j.Null();
  }
  j.Key("result").BeginObject();
  j.Key("seconds").Double(p.seconds);
  j.Key("source_exhausted").Bool(p.source_exhausted);
  j.Key("ops").Uint(c.ops);
  j.Key("ops_per_s").Double(p.seconds > 0 ? c.ops / p.seconds : 0);
  j.Key("requests").Uint(c.requests);
  j.Key("requests_per_s").Double(p.seconds > 0 ? c.requests / p.seconds : 0);
  j.Key("gets").Uint(c.gets);
  j.Key("hits").Uint(c.hits);
  j.Key("misses").Uint(c.misses);
  j.Key("hit_ratio").Double(Ratio(c.hits, c.gets));
  j.Key("bytes_wanted").Uint(c.bytes_wanted);
  j.Key("bytes_hit").Uint(c.bytes_hit);
  j.Key("byte_hit_ratio").Double(Ratio(c.bytes_hit, c.bytes_wanted));
  j.Key("sets").Uint(c.sets);
  j.Key("stored").Uint(c.stored);
  j.Key("not_stored").Uint(c.not_stored);
  j.Key("bytes_stored").Uint(c.bytes_stored);
  j.Key("fills").Uint(c.fills);
  j.Key("unfillable").Uint(c.unfillable);
  j.Key("deletes").Uint(c.deletes);
  j.Key("tx_bytes").Uint(c.tx_bytes);
  j.Key("rx_bytes").Uint(c.rx_bytes);
  j.Key("errors").BeginObject();
  j.Key("total").Uint(c.Errors());
  j.Key("error").Uint(c.err_error);
  j.Key("client_error").Uint(c.err_client);
  j.Key("server_error").Uint(c.err_server);
  j.Key("bad_reply").Uint(c.err_protocol);
  j.Key("timeouts").Uint(c.timeouts);
  j.Key("lost").Uint(c.lost);
  j.Key("connections").Uint(c.conn_errors);
  j.Key("wrong_length").Uint(c.wrong_size);
  j.EndObject();
  j.Key("first_error").String(p.first_error);
  j.Key("latency_us").BeginObject();
  j.Key("all");
  JsonLatency(j, p.all);
  j.Key("get");
  JsonLatency(j, p.get);
  j.Key("set");
  JsonLatency(j, p.set);
  j.EndObject();
  // The latency CDF of all operations: [quantile, microseconds] at
  // q = 1 - 10^(-k/8), k = 0..40 (up to 99.999 %), then the maximum.
  j.Key("cdf_us").BeginArray();
  for (int k = 0; k <= 40; k++) {
    const double q = 1 - std::pow(10.0, -k / 8.0);
    j.BeginArray().Double(q).Double(p.all.Percentile(q) / 1e3).EndArray();
  }
  j.BeginArray().Double(1.0).Double(p.all.Max() / 1e3).EndArray();
  j.EndArray();
  j.EndObject();
  const ServerDelta& d = r.server;
  j.Key("server").BeginObject();
  j.Key("ok").Bool(d.ok);
  j.Key("error").String(d.error);
  j.Key("pid").Int(d.pid);
  j.Key("version").String(d.version);
  j.Key("comm").String(d.comm);
  OptD(j, "cpu_seconds", d.cpu_s);
  j.Key("cpu_source").String(d.cpu_source);
  OptD(j, "cpu_cores",
       d.cpu_s && p.seconds > 0 ? std::optional<double>(*d.cpu_s / p.seconds) : std::nullopt);
  OptU(j, "rss_bytes", d.rss_bytes);
  OptU(j, "items", d.items);
  OptU(j, "client_bytes_written", d.client_bytes_written);
  OptU(j, "device_bytes_written", d.device_bytes_written);
  OptD(j, "write_amplification", d.write_amplification);
  OptU(j, "device_bytes_read", d.device_bytes_read);
  OptU(j, "extstore_bytes_written", d.extstore_bytes_written);
  OptU(j, "extstore_bytes_read", d.extstore_bytes_read);
  OptU(j, "proc_write_bytes", d.proc_write_bytes);
  OptU(j, "proc_read_bytes", d.proc_read_bytes);
  OptU(j, "context_switches", d.context_switches);
  j.Key("stats_delta").BeginObject();
  for (const auto& [k, v] : d.stats_delta) j.Key(k).Int(v);
  j.EndObject();
  j.Key("stats_after").BeginObject();
  for (const auto& [k, v] : d.stats_after) j.Key(k).String(v);
  j.EndObject();
  j.EndObject();
  j.EndObject();
  return j.str() + "\n";
}

}  // namespace coss::tools::bench
