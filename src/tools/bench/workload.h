// Workload: what coss bench asks for — key popularity, value sizes, the
// get/set mix — and the request sources the driver pulls from.
//
// Contract:
//  * Spec strings are parsed here with clear errors (ParseKeyDist,
//    ParseValueSizes); Describe() gives them back in a canonical form.
//  * A key's value size is a pure function of (key id, spec, seed): every
//    thread, every run and the prefill agree on it, so a hit can be checked
//    against the expected length.
//  * Request sources are thread-safe: the driver's threads call Next()
//    concurrently, each with its own Rng. Next() returns false when the source
//    is exhausted (prefill done, trace consumed); synthetic sources never end.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "tools/bench/rng.h"
#include "tools/bench/zipf.h"

namespace coss::tools::bench {

enum class Op : uint8_t { kGet, kSet, kDelete };

struct KeyDist {
  double alpha = 0;  // 0: uniform; > 0: Zipf(alpha)
};
// "uniform" | "zipf" (alpha 1) | "zipf:ALPHA" | "zipf(ALPHA)"
std::optional<KeyDist> ParseKeyDist(std::string_view s, std::string* err);
std::string Describe(const KeyDist& d);

struct ValueSizes {
  enum class Kind { kFixed, kUniform, kLogUniform, kTrace };
  Kind kind = Kind::kFixed;
  uint32_t lo = 100;
  uint32_t hi = 100;
};
// "N" | "fixed:N" | "uniform:A-B" | "loguniform:A-B" | "trace"; sizes accept
// k/m suffixes (KiB, MiB), e.g. "uniform:64-512", "loguniform:100-512k".
std::optional<ValueSizes> ParseValueSizes(std::string_view s, std::string* err);
std::string Describe(const ValueSizes& v);
// The value size of key `id` (kTrace: `lo`).
uint32_t SizeOfKey(const ValueSizes& v, uint64_t id, uint64_t seed);

// Keys are `prefix + decimal id`. A prefix must be printable, without spaces.
bool ValidKeyPrefix(std::string_view prefix, std::string* err);
std::string KeyName(std::string_view prefix, uint64_t id);

struct Request {
  Op op = Op::kGet;
  std::string key;
  uint32_t value_size = 0;    // set: bytes to store; get: expected size (0 = unknown)
  bool fill_on_miss = false;  // look-aside: a get miss is followed by a set
};

class RequestSource {
 public:
  virtual ~RequestSource() = default;
  virtual bool Next(Rng& rng, Request* out) = 0;
  // For the progress line: how far an exhaustible source is (0 when endless).
  virtual uint64_t Total() const { return 0; }
  virtual uint64_t Consumed() const { return 0; }
};

struct SyntheticSpec {
  uint64_t keys = 100000;
  KeyDist dist;
  ValueSizes sizes;
  double set_ratio = 0.1;  // share of requests that are sets; the rest are gets
  bool fill_on_miss = false;
  std::string prefix = "k:";
  uint64_t seed = 1;
};

// Endless random requests following the spec.
std::unique_ptr<RequestSource> MakeSynthetic(const SyntheticSpec& spec);
// Visits every key 0 .. keys-1 exactly once, in order, with `op` (kSet: store
// it; kGet: read it, e.g. to warm a read cache or count what was kept), then ends.
std::unique_ptr<RequestSource> MakePrefill(const SyntheticSpec& spec, Op op = Op::kSet);

}  // namespace coss::tools::bench
