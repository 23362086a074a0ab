// Helpers shared by the engine tests: small stores with tiny stripes so the
// ring wraps quickly, parameterised over both I/O backends.
#pragma once

#include <gtest/gtest.h>

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

}  // namespace coss::testing
