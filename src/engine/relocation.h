// RelocationPolicy: decides whether a record just read from disk is re-written
// at the head of the ring (COSS's way of keeping popular objects).
//
// Policies are pure functions of the context; the shard performs the move and
// guarantees its safety (see read_path.cc): a relocation is applied only if the
// index still points at the copy that was read, atomically with the append.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "coss/status.h"

namespace coss {

struct RelocationContext {
  double age;     // 0 = just written (head), 1 = next to be overwritten (tail)
  uint8_t hits;   // the entry's log hit counter, after this read
  uint32_t size;  // record bytes
};

class RelocationPolicy {
 public:
  virtual ~RelocationPolicy() = default;
  virtual bool ShouldRelocate(const RelocationContext& c) const = 0;
  virtual std::string Name() const = 0;
};

// "never", "always" (classic COSS), "tail:<P>" (only objects in the oldest P %
// of the ring, 1..100).
Result<std::unique_ptr<RelocationPolicy>> MakeRelocationPolicy(const std::string& spec);

}  // namespace coss
