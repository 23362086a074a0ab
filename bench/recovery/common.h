// recovery_bench's small shared helpers: wall-clock timing and fatal errors.
#pragma once

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace coss::recovery_bench {

using Clock = std::chrono::steady_clock;

inline double Since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

[[noreturn]] inline void Die(const std::string& what) {
  std::fprintf(stderr, "recovery_bench: %s\n", what.c_str());
  std::exit(1);
}

}  // namespace coss::recovery_bench
