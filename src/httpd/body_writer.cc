#include "httpd/body_writer.h"

#include <algorithm>
#include <utility>

namespace coss::httpd {

BodyWriter::BodyWriter(server::Store* store, uint64_t max_object, uint64_t max_item, Track track)
    : store_(store),
      max_object_(max_object),
      chunk_size_(ChunkSizeFor(max_item)),
      track_(std::move(track)) {}

uint32_t BodyWriter::ChunkSizeFor(uint64_t max_item) {
  constexpr uint64_t kFraming = 4096;
  // A chunk's record (key, header, value) stays within the engine's 512 KiB
  // size class: the index records a size class, and a device read fetches all
  // of it, so a 512 KiB value (in the 576 KiB class) would read, and keep in
  // the RAM tier, 12.5 % more than it carries.
  constexpr uint64_t kMaxChunk = uint64_t{512} * 1024 - kFraming;
  const uint64_t room = max_item > 2 * kFraming ? max_item - kFraming : 0;
  return static_cast<uint32_t>(std::max(kFraming, std::min(kMaxChunk, room)));
}

void BodyWriter::Begin(std::string cache_key) {
  Abandon();
  cache_key_ = std::move(cache_key);
  active_ = true;
}

void BodyWriter::Abandon() {
  active_ = false;
  held_.clear();
  held_.shrink_to_fit();
  total_ = 0;
  body_id_ = 0;
  chunks_ = 0;
}

bool BodyWriter::Append(std::string_view data) {
  if (!active_) return false;
  if (total_ + data.size() > max_object_) {
    Abandon();
    return false;
  }
  held_.append(data);
  total_ += data.size();
  // Past what one value holds: the body goes to the store in chunks.
  if (held_.size() > chunk_size_ && !WriteChunks(false)) {
    Abandon();
    return false;
  }
  return true;
}

bool BodyWriter::Finish(CacheEntry* e) {
  if (!active_) return false;
  if (body_id_ == 0) {
    e->body = std::move(held_);
    held_.clear();
    active_ = false;
    return true;
  }
  if (!WriteChunks(true)) {
    Abandon();
    return false;
  }
  e->body.clear();
  e->body_id = body_id_;
  e->body_length = total_;
  e->chunk_size = chunk_size_;
  active_ = false;
  return true;
}

bool BodyWriter::WriteChunks(bool last) {
  if (body_id_ == 0) body_id_ = NewUniqueId();
  size_t off = 0;
  while (held_.size() - off >= chunk_size_ || (last && off < held_.size())) {
    const size_t n = std::min<size_t>(chunk_size_, held_.size() - off);
    const std::string key = ChunkKeyOf(cache_key_, body_id_, chunks_);
    PutRequest p;
    p.key = key;
    p.value = std::string_view(held_).substr(off, n);
    // A body is admitted whole or not at all: a chunk the admission policy
    // kept off the ring would make the entry useless (see ChunksPresent).
    p.skip_admission = true;
    const PutResult put = store_->Write(p);
    if (!put.status.ok()) return false;
    track_(put.ticket);
    chunks_++;
    off += n;
  }
  held_.erase(0, off);
  return true;
}

}  // namespace coss::httpd
