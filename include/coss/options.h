// EngineOptions: everything that shapes a store. Validated by Engine::Open,
// which returns kInvalidArgument with a message naming the bad field.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace coss {

struct DeviceSpec {
  std::string path;   // regular file (created if missing) or block device
  uint64_t size = 0;  // bytes; 0 = use the existing file/device size
  // Index checkpoint file for warm restarts; "" = path + ".ckpt"; "none" = off.
  std::string checkpoint;
};

enum class IoKind { kUring, kThreads };
enum class FullPolicy { kWait, kBusy };  // what put does when every membuf is in flight

struct EngineOptions {
  std::vector<DeviceSpec> devices;
  uint32_t stripe_size = 1u << 20;     // power of two, 64 KiB .. 16 MiB
  uint64_t max_value_size = 1u << 20;  // largest value accepted (1 MiB like memcached -I 1m)
  uint32_t membufs = 4;                // membufs per device: 1 open + up to N-1 being written
  IoKind io = IoKind::kUring;
  bool direct_io = true;     // O_DIRECT where the filesystem allows it
  uint32_t io_threads = 16;  // thread-pool backend: workers (= reads in flight) per device
  uint32_t io_depth = 64;    // io_uring queue depth per device
  FullPolicy on_full = FullPolicy::kWait;
  // Policies joined by '+' (src/engine/policy.h): relocation never | always | tail:<P>,
  // reinsert:<budget %>[:reset] (lazy reinsertion at eviction), admit:ghost|duel[:<%>].
  // Default measured in docs/ARCHITECTURE.md "Policies: measured" (issue 6).
  std::string relocation = "reinsert:15+admit:ghost:50";
  uint64_t expected_objects = 0;         // index pre-size hint (0 = grow on demand)
  bool create = true;                    // format devices that carry no store
  uint32_t checkpoint_interval_s = 300;  // periodic index checkpoints (0: only at a clean stop)
  // The open stripe buffer is sealed and written once its oldest record is this
  // old (0: only when full). Bounds how long an acknowledged value exists only
  // in memory (a crash turns it into a miss); costs a partly filled stripe.
  uint32_t max_buffer_age_s = 30;
};

}  // namespace coss
