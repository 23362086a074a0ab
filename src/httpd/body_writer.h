// BodyWriter: keeps the body of an origin response that is being stored, and
// writes it to the store — whole, inside the entry, when it fits in one value;
// otherwise in chunks (ChunkKeyOf) written as the body arrives, so that no
// more than one chunk plus one read of it is ever held in memory.
//
// Contract: Begin, then Append for each piece of the body, then Finish, which
// fills the entry's body fields (the inline body, or body_id / body_length /
// chunk_size once every chunk is written); the caller writes the entry after
// that, so an entry never names a chunk that was not written first. Past
// max_object, or after a failed chunk write, the writer stops (active() false)
// and frees what it held; the chunks already written are unreachable (no
// entry names their body id) and age out of the ring.
//
// Chunks skip the store's admission policy (a body is kept whole or not at
// all). Every write's ticket goes to `track`, for the exchange to wait on.
// Single-threaded: the owning loop's.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "httpd/cache_entry.h"
#include "server/store.h"

namespace coss::httpd {

class BodyWriter {
 public:
  using Track = std::function<void(const WriteTicket&)>;

  BodyWriter(server::Store* store, uint64_t max_object, uint64_t max_item, Track track);

  // The chunk size for an engine item limit: at most 508 KiB (a record within
  // the engine's 512 KiB size class), and 4 KiB below the limit (room for the
  // value's own framing), at least 4 KiB.
  static uint32_t ChunkSizeFor(uint64_t max_item);

  void Begin(std::string cache_key);
  // Drops the body (not to be stored after all).
  void Abandon();
  // False when the body can no longer be stored (past max_object, or a chunk
  // write failed): the writer is then inactive.
  bool Append(std::string_view data);
  // Writes the last chunk when chunked and sets e's body fields; false (and
  // inactive) when a write fails.
  bool Finish(CacheEntry* e);

  bool active() const { return active_; }

 private:
  bool WriteChunks(bool last);

  server::Store* store_;
  uint64_t max_object_;
  uint32_t chunk_size_;
  Track track_;
  bool active_ = false;
  std::string cache_key_;
  std::string held_;      // body bytes not yet written (the inline body, or a chunk's start)
  uint64_t total_ = 0;    // body bytes appended
  uint64_t body_id_ = 0;  // != 0 once chunks are being written
  uint64_t chunks_ = 0;   // chunks written
};

}  // namespace coss::httpd
