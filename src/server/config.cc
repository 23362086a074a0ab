// Command-line and TOML parsing for cossd. Every option is first collected as
// text (file, then command line on top), then converted and range-checked in one
// place, so both sources share the same messages.
#include "server/config.h"

#include <toml++/toml.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cctype>
#include <filesystem>
#include <map>
#include <sstream>
#include <thread>

#include "engine/policy.h"
#include "engine/relocation.h"
#include "proto/numbers.h"
#include "server/ram_tier.h"
#include "util/store_list.h"

namespace coss::server {

namespace {

struct OptionDef {
  std::string name;  // long name without dashes (also the TOML key)
  std::string flag;  // CLI11 name list, e.g. "-p,--port"
  std::string help;
  std::string meta = "N";  // value placeholder in --help
};

const std::vector<OptionDef>& Defs() {
  static const std::vector<OptionDef> defs = {
      {"port", "-p,--port", "TCP port to listen on (default 11211)", "PORT"},
      {"listen", "-l,--listen", "interface address to listen on (default 127.0.0.1)", "ADDR"},
      {"threads", "-t,--threads", "worker threads (default: number of cores)"},
      {"memory-limit", "-m,--memory-limit",
       "RAM tier size; a bare number is MiB like memcached, or 512k/64m/1g (default 64)",
       "MIB|SIZE"},
      {"conn-limit", "-c,--conn-limit", "maximum simultaneous connections (default 1024)"},
      {"max-item-size", "-I,--max-item-size",
       "largest value accepted: bytes or 512k/1m/... up to 1g (default 1m)", "SIZE"},
      {"store", "--store",
       "store files or devices: PATH:SIZE[,PATH:SIZE...], SIZE like 1g/512m "
       "(default ./coss-data/store.coss:1g)",
       "PATH:SIZE[,...]"},
      {"stripe-size", "--stripe-size", "stripe size, power of two 64k..16m (default 1m)", "SIZE"},
      {"membufs", "--membufs", "stripe buffers per store device, 1..1024 (default 4)"},
      {"io", "--io", "I/O backend: uring or threads (default uring)", "uring|threads"},
      {"relocation", "--relocation",
       "what the store writes again: never, always, tail:N (relocate hits in the oldest N % of "
       "the ring), reinsert:N[:reset], admit:ghost[:N], joined with + (default " +
           EngineOptions{}.relocation + ")",
       "POLICY"},
      {"on-full", "--on-full",
       "when every stripe buffer waits for the disk: wait (block the writer) or busy (reply "
       "SERVER_ERROR) (default wait)",
       "wait|busy"},
      {"write-ack", "--write-ack",
       "when a write is acknowledged: durable (once the store's journal has it on disk, synced: "
       "after any crash, power cuts included, a read finds the acknowledged value or a miss, "
       "never an older or deleted one), written (once its journal entry is written, before "
       "the sync: the same after a process crash such as kill -9; a start after an unclean "
       "stop across a reboot starts with an empty store rather than risk older values) or "
       "buffered (at once; a crash may bring older values back) (default written)",
       "durable|written|buffered"},
      {"checkpoint", "--checkpoint",
       "index checkpoints, which let a restart skip the store scan: next to each store file "
       "(PATH.ckpt, the default), in DIR (DIR/<store file name>.ckpt), or none",
       "DIR|none"},
      {"checkpoint-interval", "--checkpoint-interval",
       "seconds between index checkpoints (0: only at a clean stop) (default 300)", "SECONDS"},
      {"max-buffer-age", "--max-buffer-age",
       "write the open stripe buffer once its oldest object is this old, full or not: after a "
       "crash, objects acknowledged longer ago are on disk (0: only when full) (default 30)",
       "SECONDS"},
      {"metrics-port", "--metrics-port",
       "serve Prometheus metrics over HTTP on this port (default 0: off)", "PORT"},
      {"metrics-listen", "--metrics-listen", "address for the metrics endpoint (default: --listen)",
       "ADDR"},
      {"max-line", "--max-line", "longest command line in bytes (default 2048)", "SIZE"},
      {"max-get-line", "--max-get-line",
       "longest get/gets/gat/gats line (many keys) in bytes (default 64k)", "SIZE"},
      {"conn-output-limit", "--conn-output-limit",
       "reply bytes buffered per connection before it stops reading (default 4m)", "SIZE"},
      {"conn-inflight", "--conn-inflight", "store reads in flight per connection (default 64)"},
      {"conn-pending", "--conn-pending",
       "requests queued per connection before it stops reading (default 1024)"},
      {"shutdown-timeout", "--shutdown-timeout",
       "seconds to finish in-flight requests on SIGTERM/SIGINT (default 10)", "SECONDS"},
      {"idle-timeout", "--idle-timeout",
       "close a connection that sent and received nothing for this many seconds while no "
       "request of its own was running: silent clients and readers that stopped reading "
       "(default 0: never)",
       "SECONDS"},
      {"http-port", "--http-port",
       "serve an HTTP/1.1 caching reverse proxy on this port, in front of --http-origin "
       "(default 0: off)",
       "PORT"},
      {"http-origin", "--http-origin", "where the HTTP proxy sends misses: http://HOST[:PORT]",
       "URL"},
      {"http-host-origin", "--http-host-origin",
       "per-Host origins, comma-separated: requests whose Host is HOST go to that origin "
       "instead of --http-origin (at most 256)",
       "HOST=http://H[:PORT],..."},
      {"http-threads", "--http-threads", "event-loop threads of the HTTP proxy (default 1)"},
      {"http-purge", "--http-purge",
       "who may send PURGE: loopback (clients on 127.0.0.0/8 or ::1), any, or none "
       "(default loopback)",
       "loopback|any|none"},
      {"http-origin-timeout", "--http-origin-timeout",
       "seconds the HTTP proxy waits for the origin to connect, to start answering, and "
       "between two reads of a response (default 30)",
       "SECONDS"},
      {"http-heuristic-percent", "--http-heuristic-percent",
       "a response with Last-Modified but no explicit freshness stays fresh for this percent of "
       "the time since it was last modified (RFC 9111 4.2.2; default 10)",
       "PERCENT"},
      {"http-heuristic-max", "--http-heuristic-max",
       "upper bound of that heuristic lifetime in seconds; 0 turns heuristic freshness off "
       "(default 86400)",
       "SECONDS"},
      {"http-max-object", "--http-max-object",
       "largest HTTP response body the proxy stores (bodies over --max-item-size are stored "
       "in chunks), at most half the store; larger ones are passed through (default 1g, or "
       "an eighth of the store when smaller)",
       "SIZE"},
  };
  return defs;
}

std::string OneLine(std::string s) {
  std::replace(s.begin(), s.end(), '\n', ' ');
  while (!s.empty() && s.back() == ' ') s.pop_back();
  return s;
}

// Converts collected text values into a config. `src` names where a value came
// from ("--port" or "config key 'port'") for the error message.
class Builder {
 public:
  explicit Builder(ServerConfig* c) : c_(*c) {}

  bool Apply(const std::string& name, const std::string& v, const std::string& src,
             std::string* err) {
    auto bad = [&](const std::string& want) {
      *err = src + ": " + want + ", got '" + v + "'";
      return false;
    };
    uint64_t n = 0;
    if (name == "port" || name == "metrics-port") {
      if (!proto::ParseDecimal(v, &n) || n > 65535) return bad("expected a port number 0..65535");
      (name == "port" ? c_.port : c_.metrics_port) = static_cast<uint16_t>(n);
    } else if (name == "listen" || name == "metrics-listen") {
      if (v.empty()) return bad("expected an address");
      (name == "listen" ? c_.listen : c_.metrics_listen) = v;
    } else if (name == "threads") {
      if (!proto::ParseDecimal(v, &n) || n < 1 || n > 256) return bad("expected 1..256 threads");
      c_.threads = static_cast<uint32_t>(n);
    } else if (name == "memory-limit") {
      if (proto::ParseDecimal(v, &n)) {
        if (n > (RamTier::kMaxCapacity >> 20)) return bad("expected a size up to 128 GiB");
        n <<= 20;  // memcached: -m is in megabytes
      } else if (!ParseByteSize(v, &n)) {
        return bad("expected MiB or a size like 64m/1g");
      } else if (n > RamTier::kMaxCapacity) {
        return bad("expected a size up to 128 GiB");
      }
      c_.ram_bytes = n;
    } else if (name == "conn-limit") {
      if (!proto::ParseDecimal(v, &n) || n < 1 || n > 1000000)
        return bad("expected 1..1000000 connections");
      c_.max_connections = static_cast<uint32_t>(n);
    } else if (name == "max-item-size") {
      if (!ParseByteSize(v, &n) || n < 1 || n > (1ull << 30)) return bad("expected a size 1..1g");
      c_.max_item_size = n;
    } else if (name == "store") {
      std::string e;
      std::vector<DeviceSpec> st;
      if (!ParseStoreList(v, &st, &e)) return bad(e);
      c_.stores = std::move(st);
    } else if (name == "stripe-size") {
      if (!ParseByteSize(v, &n) || n < (64u << 10) || n > (16u << 20) || (n & (n - 1)) != 0)
        return bad("expected a power of two from 64k to 16m");
      c_.stripe_size = static_cast<uint32_t>(n);
    } else if (name == "membufs") {
      if (!proto::ParseDecimal(v, &n) || n < 1 || n > 1024) return bad("expected 1..1024");
      c_.membufs = static_cast<uint32_t>(n);
    } else if (name == "io") {
      if (v == "uring") {
        c_.io = IoKind::kUring;
      } else if (v == "threads") {
        c_.io = IoKind::kThreads;
      } else {
        return bad("expected uring or threads");
      }
    } else if (name == "relocation") {
      auto spec = ParsePolicySpec(v);
      if (!spec.ok()) return bad(spec.status().message());
      auto reloc = MakeRelocationPolicy(spec->relocation);
      if (!reloc.ok()) return bad(reloc.status().message());
      c_.relocation = v;
    } else if (name == "write-ack") {
      if (v == "durable") {
        c_.ack_wait = true;
        c_.ack_level = Persistence::kSynced;
      } else if (v == "written") {
        c_.ack_wait = true;
        c_.ack_level = Persistence::kWritten;
      } else if (v == "buffered") {
        c_.ack_wait = false;
      } else {
        return bad("expected durable, written or buffered");
      }
    } else if (name == "checkpoint") {
      if (v.empty()) return bad("expected a path or none");
      c_.checkpoint = v;
    } else if (name == "checkpoint-interval") {
      if (!proto::ParseDecimal(v, &n) || n > 86400) return bad("expected 0..86400 seconds");
      c_.checkpoint_interval_s = static_cast<uint32_t>(n);
    } else if (name == "max-buffer-age") {
      if (!proto::ParseDecimal(v, &n) || n > 86400) return bad("expected 0..86400 seconds");
      c_.max_buffer_age_s = static_cast<uint32_t>(n);
    } else if (name == "on-full") {
      if (v == "wait") {
        c_.on_full = FullPolicy::kWait;
      } else if (v == "busy") {
        c_.on_full = FullPolicy::kBusy;
      } else {
        return bad("expected wait or busy");
      }
    } else if (name == "max-line") {
      if (!ParseByteSize(v, &n) || n < 512 || n > (1u << 20)) return bad("expected a size 512..1m");
      c_.max_line = n;
    } else if (name == "max-get-line") {
      if (!ParseByteSize(v, &n) || n < 512 || n > (16u << 20))
        return bad("expected a size 512..16m");
      c_.max_get_line = n;
    } else if (name == "conn-output-limit") {
      if (!ParseByteSize(v, &n) || n < 4096 || n > (1ull << 32))
        return bad("expected a size 4k..4g");
      c_.conn_output_limit = n;
    } else if (name == "conn-inflight") {
      if (!proto::ParseDecimal(v, &n) || n < 1 || n > 65536) return bad("expected 1..65536");
      c_.conn_inflight = static_cast<uint32_t>(n);
    } else if (name == "conn-pending") {
      if (!proto::ParseDecimal(v, &n) || n < 1 || n > 1000000) return bad("expected 1..1000000");
      c_.conn_pending = static_cast<uint32_t>(n);
    } else if (name == "shutdown-timeout") {
      if (!proto::ParseDecimal(v, &n) || n > 3600) return bad("expected 0..3600 seconds");
      c_.shutdown_timeout_s = static_cast<uint32_t>(n);
    } else if (name == "idle-timeout") {
      if (!proto::ParseDecimal(v, &n) || n > 30ull * 86400)
        return bad("expected 0..2592000 seconds");
      c_.idle_timeout_s = static_cast<uint32_t>(n);
    } else if (name == "http-port") {
      if (!proto::ParseDecimal(v, &n) || n > 65535) return bad("expected a port number 0..65535");
      c_.http_port = static_cast<uint16_t>(n);
    } else if (name == "http-origin") {
      std::string host;
      uint16_t port;
      if (!ParseOriginUrl(v, &host, &port)) return bad("expected http://HOST[:PORT]");
      c_.http_origin = v;
    } else if (name == "http-host-origin") {
      std::string e;
      if (!ParseHostOrigins(v, &c_.http_host_origins, &e)) return bad(e);
    } else if (name == "http-threads") {
      if (!proto::ParseDecimal(v, &n) || n < 1 || n > 256) return bad("expected 1..256 threads");
      c_.http_threads = static_cast<uint32_t>(n);
    } else if (name == "http-purge") {
      if (v != "loopback" && v != "any" && v != "none")
        return bad("expected loopback, any or none");
      c_.http_purge = v;
    } else if (name == "http-origin-timeout") {
      if (!proto::ParseDecimal(v, &n) || n < 1 || n > 3600) return bad("expected 1..3600 seconds");
      c_.http_origin_timeout_s = static_cast<uint32_t>(n);
    } else if (name == "http-heuristic-percent") {
      if (!proto::ParseDecimal(v, &n) || n > 100) return bad("expected 0..100");
      c_.http_heuristic_percent = static_cast<uint32_t>(n);
    } else if (name == "http-heuristic-max") {
      if (!proto::ParseDecimal(v, &n) || n > 31536000) return bad("expected 0..31536000 seconds");
      c_.http_heuristic_max_s = static_cast<uint32_t>(n);
    } else if (name == "http-max-object") {
      if (!ParseByteSize(v, &n) || n < 1 || n > (1ull << 40)) return bad("expected a size 1..1t");
      c_.http_max_object = n;
    } else if (name == "verbose") {
      if (!proto::ParseDecimal(v, &n) || n > 10) return bad("expected 0..10");
      c_.verbosity = static_cast<int>(n);
    } else {
      *err = src + ": unknown option";
      return false;
    }
    return true;
  }

 private:
  ServerConfig& c_;
};

// Reads a TOML file into name -> text. Arrays (store) are joined with ','.
bool LoadToml(const std::string& path, std::map<std::string, std::string>* out, std::string* err) {
  toml::table tbl;
  try {
    tbl = toml::parse_file(path);
  } catch (const toml::parse_error& e) {
    std::ostringstream os;
    os << "--config " << path << ": " << e.description() << " at line " << e.source().begin.line;
    *err = os.str();
    return false;
  }
  for (auto&& [k, node] : tbl) {
    const std::string key(k.str());
    const std::string src = "config " + path + " key '" + key + "'";
    bool known = key == "verbose";
    for (const auto& d : Defs()) known = known || d.name == key;
    if (!known) {
      *err = src + ": unknown option";
      return false;
    }
    std::string text;
    auto scalar = [&](const toml::node& n, std::string* s) {
      if (auto v = n.value<std::string>()) {
        *s = *v;
      } else if (auto i = n.value<int64_t>()) {
        if (*i < 0) return false;
        *s = std::to_string(*i);
      } else if (auto b = n.value<bool>()) {
        *s = *b ? "1" : "0";
      } else {
        return false;
      }
      return true;
    };
    if (const toml::array* arr = node.as_array()) {
      for (auto&& el : *arr) {
        std::string s;
        if (!scalar(el, &s)) {
          *err = src + ": expected strings in the array";
          return false;
        }
        if (!text.empty()) text += ",";
        text += s;
      }
    } else if (!scalar(node, &text)) {
      *err = src + ": expected a string or a non-negative integer";
      return false;
    }
    (*out)[key] = text;
  }
  return true;
}

}  // namespace

bool ParseHostOrigins(std::string_view list, std::vector<ServerConfig::HostOrigin>* out,
                      std::string* err) {
  out->clear();
  size_t start = 0;
  while (start <= list.size()) {
    size_t comma = list.find(',', start);
    if (comma == std::string_view::npos) comma = list.size();
    const std::string_view item = list.substr(start, comma - start);
    start = comma + 1;
    if (item.empty()) continue;
    const size_t eq = item.find('=');
    if (eq == std::string_view::npos || eq == 0) {
      *err = "expected HOST=http://HOST[:PORT], got '" + std::string(item) + "'";
      return false;
    }
    ServerConfig::HostOrigin h;
    for (const char c : item.substr(0, eq)) {
      const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      c == '.' || c == '-' || c == ':' || c == '[' || c == ']';
      if (!ok) {
        *err = "'" + std::string(item.substr(0, eq)) + "' is not a host name";
        return false;
      }
      h.host.push_back(c >= 'A' && c <= 'Z' ? static_cast<char>(c | 0x20) : c);
    }
    h.origin.assign(item.substr(eq + 1));
    std::string host;
    uint16_t port = 0;
    if (!ParseOriginUrl(h.origin, &host, &port)) {
      *err = "'" + h.origin + "': expected http://HOST[:PORT]";
      return false;
    }
    for (const auto& o : *out) {
      if (o.host == h.host) {
        *err = "host '" + h.host + "' is given twice";
        return false;
      }
    }
    if (out->size() >= 256) {
      *err = "at most 256 host origins";
      return false;
    }
    out->push_back(std::move(h));
  }
  return true;
}

bool ParseOriginUrl(std::string_view url, std::string* host, uint16_t* port) {
  constexpr std::string_view kScheme = "http://";
  if (url.substr(0, kScheme.size()) != kScheme) return false;
  std::string_view rest = url.substr(kScheme.size());
  if (!rest.empty() && rest.back() == '/') rest.remove_suffix(1);
  if (rest.empty() || rest.find('/') != std::string_view::npos) return false;
  *port = 80;
  const size_t colon = rest.rfind(':');
  if (colon != std::string_view::npos && rest.find(']') == std::string_view::npos) {
    uint64_t n = 0;
    if (!proto::ParseDecimal(rest.substr(colon + 1), &n) || n < 1 || n > 65535) return false;
    *port = static_cast<uint16_t>(n);
    rest = rest.substr(0, colon);
  }
  if (rest.empty()) return false;
  for (char ch : rest) {
    if (!std::isalnum(static_cast<unsigned char>(ch)) && ch != '.' && ch != '-') return false;
  }
  host->assign(rest);
  return true;
}

EngineOptions ServerConfig::ToEngineOptions() const {
  EngineOptions o;
  o.devices = stores;
  o.stripe_size = stripe_size;
  o.max_value_size = max_item_size;
  o.membufs = membufs;
  o.io = io;
  o.relocation = relocation;
  o.on_full = on_full;
  for (auto& d : o.devices) {
    if (checkpoint == "none") {
      d.checkpoint = "none";
    } else if (!checkpoint.empty()) {
      d.checkpoint = checkpoint + "/" + std::filesystem::path(d.path).filename().string() + ".ckpt";
    }
  }
  o.checkpoint_interval_s = checkpoint_interval_s;
  o.max_buffer_age_s = max_buffer_age_s;
  return o;
}

ConfigResult ParseConfig(int argc, const char* const* argv) {
  ConfigResult res;
  CLI::App app{"cossd: a memcached-protocol cache server over a cyclic object store (coss)",
               "cossd"};
  app.set_help_flag("-h,--help", "print this help and exit");
  app.footer(
      "Values on the command line override the config file. Sizes accept k, m, g, t suffixes.\n"
      "Signals: SIGTERM/SIGINT stop accepting, finish in-flight requests, flush and fsync the\n"
      "store, and exit 0; a restart finds every object stored before the signal.\n"
      "Config file: TOML with the long option names as keys, e.g.\n"
      "  port = 11211\n  memory-limit = \"256m\"\n  store = [\"/data/a.coss:100g\", "
      "\"/data/b.coss:100g\"]");
  std::map<std::string, std::string> cli;
  std::map<std::string, CLI::Option*> opts;
  for (const auto& d : Defs()) {
    opts[d.name] = app.add_option(d.flag, cli[d.name], d.help)
                       ->type_name(d.meta)
                       ->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);  // last one wins
  }
  std::string config_file;
  app.add_option("--config", config_file, "read options from this TOML file")->type_name("FILE");
  int vcount = 0;
  auto* verbose =
      app.add_flag("-v,--verbose", vcount, "more logging: -v debug, -vv trace (repeatable)");
  bool show_version = false;
  app.add_flag("-V,--version", show_version, "print the version and exit");
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp&) {
    res.outcome = ConfigOutcome::kPrinted;
    res.text = app.help();
    return res;
  } catch (const CLI::ParseError& e) {
    res.outcome = ConfigOutcome::kError;
    res.text = OneLine(e.what());
    return res;
  }
  if (show_version) {
    res.outcome = ConfigOutcome::kPrinted;
    res.text = "cossd 0.1.0 (memcached protocol 1.6)\n";
    return res;
  }

  ServerConfig& c = res.config;
  Builder b(&c);
  std::string err;
  if (!config_file.empty()) {
    std::map<std::string, std::string> file;
    if (!LoadToml(config_file, &file, &err)) {
      res.outcome = ConfigOutcome::kError;
      res.text = err;
      return res;
    }
    for (const auto& [k, v] : file) {
      if (!b.Apply(k, v, "config " + config_file + " key '" + k + "'", &err)) {
        res.outcome = ConfigOutcome::kError;
        res.text = err;
        return res;
      }
    }
    c.config_file = config_file;
  }
  for (const auto& d : Defs()) {
    if (opts[d.name]->count() == 0) continue;
    const std::string longname = "--" + d.name;
    if (!b.Apply(d.name, cli[d.name], longname, &err)) {
      res.outcome = ConfigOutcome::kError;
      res.text = err;
      return res;
    }
  }
  if (verbose->count() > 0) c.verbosity = vcount;
  if (c.threads == 0) c.threads = std::max(1u, std::thread::hardware_concurrency());
  if (c.stores.empty()) {
    c.stores.push_back({kDefaultStorePath, kDefaultStoreSize});
    c.default_store = true;
  }
  if (c.metrics_listen.empty()) c.metrics_listen = c.listen;
  if (c.max_get_line < c.max_line) c.max_get_line = c.max_line;
  if (!c.http_host_origins.empty() && c.http_origin.empty()) {
    res.outcome = ConfigOutcome::kError;
    res.text = "--http-host-origin: needs --http-origin (for the other hosts)";
    return res;
  }
  if (c.http_port != 0 && c.http_origin.empty()) {
    res.outcome = ConfigOutcome::kError;
    res.text = "--http-port: needs --http-origin (where misses are fetched)";
    return res;
  }
  uint64_t store_bytes = 0;
  bool sized = true;  // a store of size 0 takes its device's size, known only at open
  for (const auto& s : c.stores) {
    store_bytes += s.size;
    sized = sized && s.size != 0;
  }
  if (c.http_max_object == 0) {
    c.http_max_object = sized ? std::min<uint64_t>(1ull << 30, store_bytes / 8) : 1ull << 30;
  }
  if (sized && c.http_max_object > store_bytes / 2) {
    res.outcome = ConfigOutcome::kError;
    res.text = "--http-max-object: must be at most half the store (" +
               std::to_string(store_bytes / 2) + " bytes)";
    return res;
  }
  return res;
}

}  // namespace coss::server
