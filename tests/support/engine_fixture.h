// Helpers shared by the engine tests: small stores with tiny stripes so the
// ring wraps quickly, parameterised over both I/O backends.
#pragma once

#include <gtest/gtest.h>

#include <cctype>
#include <cstdlib>
#include <future>
#include <string>

#include "coss/engine.h"
#include "engine/engine_internal.h"
#include "support/temp_dir.h"

namespace coss::testing {

inline EngineOptions SmallStore(const TempDir& dir, IoKind io, uint64_t bytes = 4u << 20,
                                uint32_t stripe = 64u << 10) {
  EngineOptions o;
  o.devices.push_back({dir.file("store0"), bytes});
  o.stripe_size = stripe;
  o.max_value_size = 16u << 10;
  o.membufs = 3;
  o.io = io;
  o.relocation = "never";
  return o;
}

// A count from the environment (test sizes), or dflt.
inline uint64_t CountFromEnv(const char* name, uint64_t dflt) {
  const char* s = std::getenv(name);
  return s ? std::strtoull(s, nullptr, 10) : dflt;
}

// "uring_reinsert_15_admit_ghost_50": a test name for a backend and a policy spec.
inline std::string IoPolicyName(IoKind io, const std::string& policy) {
  std::string r = policy;
  for (auto& c : r) c = std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
  return std::string(io == IoKind::kUring ? "uring_" : "threads_") + r;
}

inline std::string IoName(const ::testing::TestParamInfo<IoKind>& i) {
  return i.param == IoKind::kUring ? "uring" : "threads";
}

inline std::unique_ptr<Engine> MustOpen(const EngineOptions& o, DeviceWrapper wrap = nullptr) {
  auto e = OpenEngineWrapped(o, std::move(wrap));
  EXPECT_TRUE(e.ok()) << e.status().ToString();
  return e.ok() ? std::move(*e) : nullptr;
}

inline PutResult PutStr(Engine& e, std::string_view k, std::string_view v, uint32_t flags = 0,
                        int64_t expiry = 0) {
  PutRequest r;
  r.key = k;
  r.value = v;
  r.flags = flags;
  r.expiry = expiry;
  return e.Put(r);
}

// Waits for Engine::WhenPersisted at `level` and returns its outcome.
inline Status WaitPersisted(Engine& e, WriteTicket t, Persistence level) {
  std::promise<Status> p;
  e.WhenPersisted(t, level, [&p](const Status& s) { p.set_value(s); });
  return p.get_future().get();
}
inline Status WaitDurable(Engine& e, WriteTicket t) {
  return WaitPersisted(e, t, Persistence::kSynced);
}

}  // namespace coss::testing
