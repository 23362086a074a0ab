// The simulated clock. The engine reads time through coss::NowSeconds(); the
// simulator installs (once, process-wide) a clock that returns a thread-local
// value, so that several replays can run on separate threads, each at its own
// simulated time. This works because an engine over MemDevices completes every
// operation inline on the calling thread.
#pragma once

#include <cstdint>

namespace coss::sim {

// Simulated seconds 0 map to this absolute time (any value far from 0 works).
inline constexpr int64_t kSimEpoch = 1'700'000'000;

// Installs the thread-local clock into the engine (idempotent).
void InstallSimClock();
// Sets this thread's simulated absolute time.
void SetSimNow(int64_t now);

}  // namespace coss::sim
