// FetchStats: one `stats [ARGS]` round trip to a memcached-protocol server,
// returning the STAT name/value pairs in the server's order. Works against
// cossd (general stats plus coss_* counters) and memcached alike.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tools/stats/net.h"

namespace coss::tools {

using StatList = std::vector<std::pair<std::string, std::string>>;

bool FetchStats(const Endpoint& ep, std::string_view args, int timeout_ms, StatList* out,
                std::string* err);

// The value of `name`, or nullptr.
const std::string* FindStat(const StatList& s, std::string_view name);

}  // namespace coss::tools
