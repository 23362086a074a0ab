// Statistics rendering: memcached's "stats" replies (general, settings, and the
// few sub-commands clients probe) and the Prometheus text exposition format.
// Read-only over ServerContext; safe from any thread.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "server/context.h"

namespace coss::server {

// Full reply for "stats [args]" (ends with END\r\n, or is an error line).
std::string RenderStats(ServerContext& ctx, const std::vector<std::string_view>& args);

// Prometheus text format, version 0.0.4.
std::string RenderPrometheus(const ServerContext& ctx);

// Resets the per-worker counters (memcached "stats reset").
void ResetStats(ServerContext& ctx);

}  // namespace coss::server
