#include "tools/sim/sim_clock.h"

#include <mutex>

#include "coss/engine.h"

namespace coss::sim {

namespace {
thread_local int64_t t_now = kSimEpoch;
}

void InstallSimClock() {
  static std::once_flag once;
  std::call_once(once, [] { SetClockForTesting([] { return t_now; }); });
}

void SetSimNow(int64_t now) {
  t_now = now;
}

}  // namespace coss::sim
