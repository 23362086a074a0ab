// `coss stats`: connect to a memcached-protocol server (cossd or memcached),
// send `stats [ARGS]`, print the counters — aligned "name value" lines by
// default, one JSON object with --json (numbers as numbers, the rest as
// strings). Exit 0 on success, 1 if the server cannot be reached or answers
// with something else, 2 on a command-line error.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include "tools/stats/json.h"
#include "tools/stats/net.h"
#include "tools/stats/stats_client.h"

namespace coss::tools {

namespace {

// A JSON number as memcached prints them: -?(0|[1-9][0-9]*)(\.[0-9]+)?
bool IsJsonNumber(std::string_view v) {
  if (v.starts_with('-')) v.remove_prefix(1);
  const size_t dot = v.find('.');
  const std::string_view whole = v.substr(0, dot);
  auto digits = [](std::string_view d) {
    return !d.empty() && d.find_first_not_of("0123456789") == std::string_view::npos;
  };
  if (!digits(whole) || (whole.size() > 1 && whole[0] == '0')) return false;
  return dot == std::string_view::npos || digits(v.substr(dot + 1));
}

}  // namespace

int StatsMain(int argc, char** argv) {
  CLI::App app{"Print a memcached-protocol server's `stats` counters (cossd or memcached).",
               "coss stats"};
  std::string server = "127.0.0.1:11211";
  bool json = false;
  int timeout_ms = 5000;
  std::vector<std::string> args;
  app.add_option("-s,--server", server, "server address HOST:PORT")
      ->capture_default_str()
      ->type_name("HOST:PORT");
  app.add_flag("--json", json, "print one JSON object instead of aligned lines");
  app.add_option("--timeout-ms", timeout_ms, "connect and reply timeout in milliseconds")
      ->capture_default_str()
      ->check(CLI::Range(1, 3600 * 1000));
  app.add_option("args", args, "stats sub-command, e.g. settings, items, slabs, extstore");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;  // --help: 0; any command-line error: 2
  }
  Endpoint ep;
  std::string err;
  if (!ParseEndpoint(server, &ep, &err)) {
    std::fprintf(stderr, "coss stats: %s\n", err.c_str());
    return 2;
  }
  std::string joined;
  for (const auto& a : args) {
    if (!joined.empty()) joined += ' ';
    joined += a;
  }
  StatList stats;
  if (!FetchStats(ep, joined, timeout_ms, &stats, &err)) {
    std::fprintf(stderr, "coss stats: %s\n", err.c_str());
    return 1;
  }
  if (json) {
    Json j;
    j.BeginObject();
    for (const auto& [k, v] : stats) {
      j.Key(k);
      if (IsJsonNumber(v)) {
        j.Raw(v);  // as printed: integers stay exact
      } else {
        j.String(v);
      }
    }
    j.EndObject();
    std::printf("%s\n", j.str().c_str());
    return 0;
  }
  size_t width = 0;
  for (const auto& [k, v] : stats) width = std::max(width, k.size());
  for (const auto& [k, v] : stats) {
    std::printf("%-*s %s\n", static_cast<int>(width), k.c_str(), v.c_str());
  }
  return 0;
}

}  // namespace coss::tools
