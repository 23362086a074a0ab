// ServerConfig: every cossd setting, from the command line (CLI11) and an
// optional TOML file (toml++). Command-line values override the file.
//
// Contract: ParseConfig either returns a fully validated config or an error
// message of one line that names the offending option (or file key) and the
// value; it never exits or prints. `--help` and `--version` are reported as
// ConfigOutcome::kPrinted with the text to print.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "coss/engine.h"
#include "coss/options.h"

namespace coss::server {

struct ServerConfig {
  std::string listen = "127.0.0.1";
  uint16_t port = 11211;
  uint32_t threads = 0;                 // 0 = number of cores
  uint64_t ram_bytes = 64ull << 20;     // -m: RAM tier
  uint32_t max_connections = 1024;      // -c
  uint64_t max_item_size = 1ull << 20;  // -I
  int verbosity = 0;                    // -v count
  std::vector<DeviceSpec> stores;       // --store
  bool default_store = false;           // no --store given: ./coss-data/store.coss
  uint32_t stripe_size = 1u << 20;
  uint32_t membufs = 4;
  IoKind io = IoKind::kUring;
  std::string relocation = EngineOptions{}.relocation;  // the engine's default policy
  FullPolicy on_full = FullPolicy::kWait;
  // --write-ack: what a write's acknowledgement waits for. durable: its
  // journal entry synced (survives a power cut); written: its journal entry
  // written, not yet flushed (survives kill -9; a start after an unclean stop
  // across a reboot empties the store, see boot_guard.h; the default);
  // buffered: nothing.
  Persistence ack_level = Persistence::kWritten;
  bool ack_wait = true;    // false: buffered
  std::string checkpoint;  // "" = next to each store; "none" = off; else a directory
  uint32_t checkpoint_interval_s = 300;
  uint32_t max_buffer_age_s = 30;
  uint16_t metrics_port = 0;                // 0 = no HTTP endpoint
  std::string metrics_listen;               // empty = same as listen
  uint64_t max_line = 2048;                 // command line limit
  uint64_t max_get_line = 64ull * 1024;     // get/gets/gat/gats line limit
  uint64_t conn_output_limit = 4ull << 20;  // buffered reply bytes before a connection pauses
  uint32_t conn_inflight = 64;              // store reads in flight per connection
  uint32_t conn_pending = 1024;             // parsed requests waiting per connection
  uint32_t shutdown_timeout_s = 10;         // drain time on SIGTERM before connections are cut
  uint32_t idle_timeout_s = 0;              // close connections idle this long (0: never)
  // HTTP caching proxy (src/httpd); off unless http_port is set.
  uint16_t http_port = 0;
  std::string http_origin;  // http://HOST[:PORT]: where misses go
  // Per-Host origins: requests for `host` (the request's authority, or its
  // host without the port) go to `origin` instead of http_origin.
  struct HostOrigin {
    std::string host;    // lower case
    std::string origin;  // http://HOST[:PORT]
  };
  std::vector<HostOrigin> http_host_origins;
  uint32_t http_threads = 1;              // event-loop threads of the proxy
  std::string http_purge = "loopback";    // who may PURGE: loopback, any or none
  uint32_t http_origin_timeout_s = 30;    // origin connect / first byte / idle
  uint64_t http_max_object = 0;           // largest body stored; 0: min(1 GiB, store / 8)
  uint32_t http_heuristic_percent = 10;   // heuristic lifetime: % of the time since Last-Modified
  uint32_t http_heuristic_max_s = 86400;  // ... at most this (0: no heuristic freshness)
  std::string config_file;

  EngineOptions ToEngineOptions() const;
};

enum class ConfigOutcome { kOk, kPrinted, kError };

struct ConfigResult {
  ConfigOutcome outcome = ConfigOutcome::kOk;
  ServerConfig config;
  std::string text;  // kPrinted: help/version text; kError: one-line message
};

ConfigResult ParseConfig(int argc, const char* const* argv);

// "http://HOST[:PORT]" (an optional trailing slash, no path; HOST a name or an
// IPv4 address) -> host and port (80 when absent).
bool ParseOriginUrl(std::string_view url, std::string* host, uint16_t* port);
// "HOST=http://H[:PORT],..." (--http-host-origin) -> entries, hosts lower-cased;
// false with *err on a malformed item, a repeated host or more than 256.
bool ParseHostOrigins(std::string_view list, std::vector<ServerConfig::HostOrigin>* out,
                      std::string* err);

// Sizes and --store lists: ParseByteSize and ParseStoreList (util/store_list.h).

inline constexpr const char* kDefaultStorePath = "./coss-data/store.coss";
inline constexpr uint64_t kDefaultStoreSize = 1ull << 30;

}  // namespace coss::server
