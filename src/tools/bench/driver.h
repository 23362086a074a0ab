// Driver: runs one load phase against one memcached-protocol server.
//
// `threads` threads each own an epoll set and connections/threads TCP
// connections. Each connection keeps up to `depth` requests in flight
// (pipelining; depth 1 is request-reply).
//  * Closed loop (rate 0): a connection sends its next request as soon as it
//    has room — as fast as the server answers.
//  * Open loop (rate > 0): requests are due at fixed or Poisson-spaced times
//    (rate/threads per thread) whatever the server does; a request that finds
//    no connection with room waits, and its latency is measured from the time
//    it was due, not the time it was sent (no coordinated omission).
// A phase ends when the duration has passed, `max_requests` requests were
// drawn, or the source is exhausted; requests in flight are then drained (up
// to drain_timeout_s; the rest are counted as timeouts). A look-aside get that
// misses is followed, on the same connection, by a set of the same key (a
// fill); fills count as operations but not as requests.
//
// Latencies are from the request's start (closed loop: when it is queued for
// sending; open loop: when it was due) to the end of its reply, recorded per
// thread in Histograms and merged at the end. Thread-safe counters feed the
// progress line while the phase runs.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>

#include "tools/bench/histogram.h"
#include "tools/bench/workload.h"
#include "tools/stats/net.h"

namespace coss::tools::bench {

struct DriverOptions {
  Endpoint server;
  int connections = 16;
  int threads = 2;
  int depth = 1;
  double rate = 0;  // total requests/s; 0 = closed loop
  bool poisson = true;
  double duration_s = 10;     // 0 = no time bound
  uint64_t max_requests = 0;  // 0 = no count bound
  double drain_timeout_s = 10;
  int connect_timeout_ms = 5000;
  uint64_t seed = 1;
  // Progress line on stderr every second ("" = none).
  std::string progress_label;
};

struct Counters {
  uint64_t requests = 0;  // drawn from the source and answered
  uint64_t ops = 0;       // replies received (requests + fills)
  uint64_t gets = 0, hits = 0, misses = 0;
  uint64_t bytes_wanted = 0;  // sum over gets of the object's size (as the workload knows it)
  uint64_t bytes_hit = 0;     // sum over hits of the value length received
  uint64_t sets = 0, stored = 0, not_stored = 0;
  uint64_t bytes_stored = 0;  // key + value bytes of sets answered STORED
  uint64_t deletes = 0, deleted = 0, not_found = 0;
  uint64_t fills = 0;       // look-aside sets after a miss
  uint64_t unfillable = 0;  // misses whose size is unknown (trace size 0)
  uint64_t err_error = 0, err_client = 0, err_server = 0, err_protocol = 0;
  uint64_t wrong_size = 0;  // hits whose length differs from the expected size
  uint64_t timeouts = 0;    // unanswered at the end of the drain
  uint64_t lost = 0;        // in flight on a connection that failed
  uint64_t conn_errors = 0;
  uint64_t tx_bytes = 0, rx_bytes = 0;
  void Add(const Counters& o);
  uint64_t Errors() const {
    return err_error + err_client + err_server + err_protocol + timeouts + lost + conn_errors;
  }
};

struct PhaseResult {
  double seconds = 0;  // first request to last reply
  double target_rate = 0;
  Counters c;
  Histogram all, get, set;
  bool source_exhausted = false;
  std::string first_error;  // first error reply or connection failure, verbatim
};

// Connects every connection, calls `on_connected` (e.g. to read the server's
// stats just before the load starts), runs the phase, returns its result.
// False with *err if a connection cannot be made (nothing is run then).
bool RunPhase(const DriverOptions& o, RequestSource& source,
              const std::function<void()>& on_connected, PhaseResult* out, std::string* err);

}  // namespace coss::tools::bench
