// cossd: memcached-protocol server over the coss cyclic object store.
// Parses options, sets up logging and signals, runs Server until SIGTERM/SIGINT.
#include <malloc.h>
#include <signal.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <system_error>

#include "server/config.h"
#include "server/server.h"

namespace {

std::string Human(uint64_t b) {
  if (b % (1ull << 30) == 0) return std::to_string(b >> 30) + " GiB";
  if (b % (1ull << 20) == 0) return std::to_string(b >> 20) + " MiB";
  return std::to_string(b) + " bytes";
}

}  // namespace

int main(int argc, char** argv) {
  using namespace coss::server;
  // Large blocks (RAM-tier segments of large objects, value copies, HTTP body
  // chunks) come from and go back to mmap. Left to itself glibc raises this
  // threshold after the first such free and serves them from per-thread
  // arenas, which keep what was freed: blocks allocated on one thread and
  // freed on another then held memory twice over (measured: 790 MiB resident
  // with a 384 MiB RAM tier streaming 100 MiB objects; see OPERATIONS).
  // (An operator's MALLOC_MMAP_THRESHOLD_ wins.)
  if (std::getenv("MALLOC_MMAP_THRESHOLD_") == nullptr) mallopt(M_MMAP_THRESHOLD, 128 * 1024);
  ConfigResult cr = ParseConfig(argc, argv);
  if (cr.outcome == ConfigOutcome::kPrinted) {
    std::fputs(cr.text.c_str(), stdout);
    return 0;
  }
  if (cr.outcome == ConfigOutcome::kError) {
    std::fprintf(stderr, "cossd: %s\n", cr.text.c_str());
    return 2;
  }
  ServerConfig& cfg = cr.config;

  auto logger = spdlog::stderr_color_mt("cossd");
  spdlog::set_default_logger(logger);
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");
  spdlog::set_level(cfg.verbosity <= 0   ? spdlog::level::info
                    : cfg.verbosity == 1 ? spdlog::level::debug
                                         : spdlog::level::trace);

  // First line: where the data lives.
  std::string where;
  for (const auto& d : cfg.stores) {
    if (!where.empty()) where += ", ";
    std::error_code ec;
    const auto abs = std::filesystem::absolute(d.path, ec).lexically_normal();
    where += (ec ? d.path : abs.string()) + " (" + (d.size ? Human(d.size) : "existing size") + ")";
  }
  std::string created;
  if (cfg.default_store) {
    const auto dir = std::filesystem::path(kDefaultStorePath).parent_path();
    std::error_code ec;
    if (!std::filesystem::exists(dir, ec)) {
      if (!std::filesystem::create_directories(dir, ec)) {
        spdlog::error("cannot create the store folder {}: {}", dir.string(), ec.message());
        return 1;
      }
      created = "; created folder " + std::filesystem::absolute(dir).lexically_normal().string();
    }
  }
  spdlog::info("cossd {} starting; store: {}{}", "0.1.0", where, created);

  // Signals are taken synchronously by the main thread (sigtimedwait); every
  // thread started from here inherits the blocked mask.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  signal(SIGPIPE, SIG_IGN);

  Server server(cfg);
  std::string err;
  if (!server.Open(&err)) {
    spdlog::error("{}", err);
    return 1;
  }
  server.Run();
  return server.Shutdown();
}
