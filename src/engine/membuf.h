// Membuf: the in-memory image of one stripe run while it is being filled and
// until the device has it.
//
// Lifecycle: kOpen (records are appended under the shard mutex) -> kSealed
// (header and directory final; waiting for reads pinned on the target stripes
// to finish) -> kWriting (one device write of the whole run) -> back to the
// pool (or freed, for jumbo runs and empty markers).
//
// Invariant: while a stripe's StripeState::membuf points here, every read of
// that stripe is served from this buffer, never from the device, so a reader
// can never observe a slot that is not yet on disk (the diary's "NULL data").
#pragma once

#include <chrono>
#include <cstdint>

#include "engine/format.h"
#include "util/aligned_buffer.h"

namespace coss {

struct Membuf {
  enum class State { kFree, kOpen, kSealed, kWriting };
  enum class Kind { kData, kEmptyMarker };

  AlignedBuffer buf;  // span * stripe_size bytes (4 KiB for an empty marker)
  Kind kind = Kind::kData;
  State state = State::kFree;
  bool pooled = false;  // from the shard's fixed pool (else freed after the write)
  uint32_t stripe = 0;  // first stripe of the run
  uint32_t span = 1;
  uint64_t seq = 0;
  uint32_t data_end = format::kStripeHeaderSize;
  uint32_t count = 0;                                  // records (= directory entries)
  std::chrono::steady_clock::time_point first_record;  // when count became 1 (buffer age)

  uint64_t run_bytes() const { return buf.size(); }
  uint64_t Free() const {
    return run_bytes() - data_end - uint64_t{count} * sizeof(format::DirEntry);
  }
  bool Fits(uint64_t footprint) const { return footprint <= Free(); }
  char* at(uint32_t off) { return buf.data() + off; }
  format::DirEntry* dir(uint32_t i) {
    return reinterpret_cast<format::DirEntry*>(buf.data() + format::DirEntryOffset(run_bytes(), i));
  }
};

}  // namespace coss
