// `coss bench`: load generator and trace replayer for any memcached-protocol
// server (cossd, memcached, a proxy in front of either). Parses the command
// line, runs prefill / warm-up / measured phases (driver.h), reads the
// server's stats around the measured phase (server_stats.h) and prints the
// report (report.h). Exit status: 0 the run completed (errors, if any, are in
// the report), 1 it could not run (no connection, nothing answered), 2 bad
// command line (bad option or value, unreadable trace).
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <memory>
#include <string>

#include "tools/bench/driver.h"
#include "tools/bench/report.h"
#include "tools/bench/server_stats.h"
#include "tools/bench/trace.h"
#include "tools/bench/workload.h"

namespace coss::tools {

namespace {

int Fail(const std::string& msg, int code) {
  std::fprintf(stderr, "coss bench: %s\n", msg.c_str());
  return code;
}

}  // namespace

int BenchMain(int argc, char** argv) {
  using namespace bench;
  CLI::App app{
      "Load generator and trace replayer for memcached-protocol servers (cossd, memcached, ...).\n"
      "Synthetic keys (uniform or Zipf) or a trace (oracleGeneral .bin, Twitter .csv; look-aside:\n"
      "get, and on a miss set). Reports ops/s, latency percentiles, hit ratios and the server's\n"
      "CPU, bytes written and write amplification (from `stats` before and after).",
      "coss bench"};
  app.get_formatter()->column_width(34);
  std::string server = "127.0.0.1:11211";
  int connections = 16, threads = 2, depth = 1, prefill_depth = 16;
  double rate = 0, duration = 10, warmup = 0, set_ratio = 0.1, drain = 10;
  uint64_t requests = 0, keys = 100000, seed = 1;
  std::string arrival = "poisson", key_dist_s = "uniform", sizes_s, trace_path,
              trace_format_s = "auto", key_prefix, progress = "auto";
  bool prefill = false, prefill_read = false, fill = false, json = false;

  app.add_option("-s,--server", server, "server address")
      ->capture_default_str()
      ->type_name("HOST:PORT");
  app.add_option("-c,--connections", connections, "TCP connections")
      ->capture_default_str()
      ->check(CLI::Range(1, 65536));
  app.add_option("-T,--threads", threads, "client threads, each with its own epoll")
      ->capture_default_str()
      ->check(CLI::Range(1, 256));
  app.add_option("-d,--depth", depth, "requests in flight per connection (pipelining)")
      ->capture_default_str()
      ->check(CLI::Range(1, 4096));
  app.add_option("-r,--rate", rate,
                 "open loop: total requests/s (0: closed loop, as fast as "
                 "the server answers)")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 1e9));
  app.add_option("--arrival", arrival, "open-loop spacing of requests")
      ->capture_default_str()
      ->check(CLI::IsMember({"poisson", "fixed"}));
  app.add_option("-t,--duration", duration,
                 "seconds to measure (0: until --requests or the "
                 "trace ends)")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 1e7));
  app.add_option("-n,--requests", requests, "stop after this many requests (0: no limit)")
      ->capture_default_str();
  app.add_option("--warmup", warmup, "seconds of the same load before measuring (not counted)")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 1e6));
  app.add_option("--keys", keys, "key space size (synthetic workloads)")
      ->capture_default_str()
      ->check(CLI::Range(uint64_t{1}, uint64_t{1} << 53));
  app.add_option("--key-dist", key_dist_s, "key popularity: uniform or zipf:ALPHA (any ALPHA >= 0)")
      ->capture_default_str();
  app.add_option("--value-size", sizes_s,
                 "N | fixed:N | uniform:A-B | loguniform:A-B | trace (k/m suffixes); default 100, "
                 "or the trace's sizes");
  app.add_option("--set-ratio", set_ratio, "share of requests that are sets (synthetic)")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 1.0));
  app.add_flag("--miss-fill", fill, "look-aside: a get that misses is followed by a set");
  app.add_flag("--prefill", prefill, "set every key once before the run");
  app.add_flag("--prefill-read", prefill_read,
               "then get every key once (warms read caches; its hit ratio shows how many "
               "prefilled objects the server kept)");
  app.add_option("--prefill-depth", prefill_depth, "pipelining depth of the prefill passes")
      ->capture_default_str()
      ->check(CLI::Range(1, 4096));
  app.add_option("--trace", trace_path, "replay this trace instead of synthetic keys")
      ->type_name("FILE");
  app.add_option("--trace-format", trace_format_s, "oracleGeneral, twitter or auto (.csv: twitter)")
      ->capture_default_str();
  app.add_option("--key-prefix", key_prefix, "prefix of every key (default k: or t: for traces)");
  app.add_option("--seed", seed, "random seed")->capture_default_str();
  app.add_option("--drain-timeout", drain, "seconds to wait for replies after the end")
      ->capture_default_str()
      ->check(CLI::Range(0.1, 3600.0));
  app.add_flag("--json", json, "print one JSON object instead of the table");
  app.add_option("--progress", progress,
                 "progress line on stderr: auto (if a terminal), "
                 "always or never")
      ->capture_default_str()
      ->check(CLI::IsMember({"auto", "always", "never"}));
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;  // --help: 0; any command-line error: 2
  }

  // --- validate and build the workload
  std::string err;
  DriverOptions d;
  if (!ParseEndpoint(server, &d.server, &err)) return Fail(err, 2);
  if (connections < threads) threads = connections;
  const bool trace = !trace_path.empty();
  if (key_prefix.empty()) key_prefix = trace ? "t:" : "k:";
  if (!ValidKeyPrefix(key_prefix, &err)) return Fail(err, 2);
  const auto dist = ParseKeyDist(key_dist_s, &err);
  if (!dist) return Fail(err, 2);
  std::optional<ValueSizes> sizes;
  if (!sizes_s.empty()) {
    sizes = ParseValueSizes(sizes_s, &err);
    if (!sizes) return Fail(err, 2);
    if (sizes->kind == ValueSizes::Kind::kTrace && !trace) {
      return Fail("--value-size trace needs --trace", 2);
    }
    if (sizes->kind == ValueSizes::Kind::kTrace) sizes.reset();
  }
  if (trace && (prefill || prefill_read))
    return Fail("--prefill is for synthetic keys, not with --trace", 2);
  if (trace && warmup > 0) return Fail("--warmup is for synthetic keys, not with --trace", 2);
  if (!trace && duration == 0 && requests == 0) {
    return Fail("a synthetic run needs a bound: --duration or --requests", 2);
  }

  RunSettings rs;
  rs.server = d.server.ToString();
  rs.connections = connections;
  rs.threads = threads;
  rs.depth = depth;
  rs.rate = rate;
  rs.arrival = rate > 0 ? arrival : "";
  rs.duration_s = duration;
  rs.warmup_s = warmup;
  rs.max_requests = requests;
  rs.key_prefix = key_prefix;
  rs.seed = seed;

  SyntheticSpec spec;
  std::unique_ptr<RequestSource> source;
  std::unique_ptr<TraceSource> trace_source;
  if (trace) {
    TraceOptions to;
    to.path = trace_path;
    if (!ParseTraceFormat(trace_format_s, trace_path, &to.format, &err)) return Fail(err, 2);
    to.prefix = key_prefix;
    to.sizes_override = sizes;
    to.seed = seed;
    trace_source = TraceSource::Open(to, &err);
    if (!trace_source) return Fail(err, 2);
    rs.source = "trace";
    rs.trace_path = trace_path;
    rs.trace_format = to.format == TraceFormat::kOracleGeneral ? "oracleGeneral" : "twitter";
    rs.value_sizes = sizes ? Describe(*sizes) : "trace";
    rs.fill_on_miss = true;
  } else {
    spec.keys = keys;
    spec.dist = *dist;
    spec.sizes = sizes.value_or(ValueSizes{});
    spec.set_ratio = set_ratio;
    spec.fill_on_miss = fill;
    spec.prefix = key_prefix;
    spec.seed = seed;
    source = MakeSynthetic(spec);
    rs.source = "synthetic";
    rs.keys = keys;
    rs.key_dist = Describe(*dist);
    rs.value_sizes = Describe(spec.sizes);
    rs.set_ratio = set_ratio;
    rs.fill_on_miss = fill;
    rs.prefill = prefill;
    rs.prefill_read = prefill_read;
  }

  d.connections = connections;
  d.threads = threads;
  d.depth = depth;
  d.drain_timeout_s = drain;
  d.seed = seed;
  const bool show = progress == "always" || (progress == "auto" && isatty(STDERR_FILENO));

  BenchReport report;
  for (const Op op : {Op::kSet, Op::kGet}) {
    if (!(op == Op::kSet ? prefill : prefill_read)) continue;
    const char* name = op == Op::kSet ? "prefill" : "prefill read";
    DriverOptions p = d;
    p.depth = prefill_depth;
    p.rate = 0;
    p.duration_s = 0;
    p.max_requests = 0;
    p.progress_label = show ? name : "";
    auto src = MakePrefill(spec, op);
    PhaseResult r;
    if (!RunPhase(p, *src, nullptr, &r, &err)) return Fail(err, 1);
    if (r.c.ops == 0) {
      return Fail(std::string(name) + ": no reply from the server (" + r.first_error + ")", 1);
    }
    (op == Op::kSet ? report.prefill : report.prefill_read) = r;
  }
  d.rate = rate;
  d.poisson = arrival == "poisson";
  if (warmup > 0) {
    DriverOptions w = d;
    w.duration_s = warmup;
    w.max_requests = 0;
    w.progress_label = show ? "warm-up" : "";
    PhaseResult r;
    if (!RunPhase(w, *source, nullptr, &r, &err)) return Fail(err, 1);
    report.warmup = r;
  }
  d.duration_s = duration;
  d.max_requests = requests;
  d.progress_label = show ? "run" : "";
  ServerSample before, after;
  RequestSource& src = trace ? static_cast<RequestSource&>(*trace_source) : *source;
  if (!RunPhase(
          d, src, [&] { before = SampleServer(d.server, 5000); }, &report.run, &err)) {
    return Fail(err, 1);
  }
  after = SampleServer(d.server, 5000);
  report.server = Diff(before, after);
  if (trace) rs.trace_skipped = trace_source->Skipped();
  report.settings = rs;

  const std::string text = json ? RenderJson(report) : RenderHuman(report);
  std::fwrite(text.data(), 1, text.size(), stdout);
  if (report.run.c.ops == 0) {
    std::fprintf(stderr, "coss bench: no request was answered (%s)\n",
                 report.run.first_error.empty() ? "no error seen" : report.run.first_error.c_str());
    return 1;
  }
  return 0;
}

}  // namespace coss::tools
