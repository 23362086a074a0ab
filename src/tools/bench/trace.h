// Trace replay sources for coss bench.
//
//  * oracleGeneral (libCacheSim): packed little-endian 24-byte records
//    {uint32 time, uint64 object id, uint32 size, int64 next access}; every
//    record is a read. Key = prefix + decimal object id.
//  * Twitter cache-trace CSV (twitter/cache-trace): one request per line,
//    "timestamp,key,key size,value size,client id,operation,TTL". get/gets are
//    reads; set/add/replace/cas/append/prepend are sets of `value size` bytes;
//    delete is a delete; other operations (incr, decr, ...) are skipped and
//    counted. Bytes a memcached key cannot hold (space, control) become '_',
//    keys are cut to 250 bytes.
//
// Replay is look-aside: a read that misses is followed by a set of the object
// with its size from the trace (a read with size 0 — unknown — is not filled).
// The file is mapped read-only; records are handed out in file order to
// whichever thread asks next (thread-safe), so with several connections the
// server sees the trace order up to the requests in flight.
#pragma once

#include <memory>
#include <string>

#include "tools/bench/workload.h"

namespace coss::tools::bench {

enum class TraceFormat { kOracleGeneral, kTwitterCsv };

// "oracle"/"oracleGeneral" or "twitter"/"csv"; "auto" guesses from the name
// (.csv → Twitter, otherwise oracleGeneral).
bool ParseTraceFormat(const std::string& s, const std::string& path, TraceFormat* out,
                      std::string* err);

struct TraceOptions {
  std::string path;
  TraceFormat format = TraceFormat::kOracleGeneral;
  std::string prefix = "t:";
  // 0: sizes from the trace; otherwise every object gets this size spec
  // (a pure function of the object id / key hash).
  std::optional<ValueSizes> sizes_override;
  uint64_t seed = 1;
};

class TraceSource : public RequestSource {
 public:
  // Opens and maps the file; nullptr and *err on failure.
  static std::unique_ptr<TraceSource> Open(const TraceOptions& o, std::string* err);
  virtual uint64_t Skipped() const = 0;  // records not replayed (unsupported ops)
};

}  // namespace coss::tools::bench
