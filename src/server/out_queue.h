// OutQueue: the bytes a connection still has to send, as a list of chunks.
// Small pieces are packed into owned text chunks; large values are referenced
// (shared with the RAM tier or the read that produced them), never copied.
// An optional external counter mirrors bytes() so a connection can bound the
// sum over all its queues. Single-threaded (owned by one worker).
#pragma once

#include <sys/uio.h>

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "server/ram_tier.h"

namespace coss::server {

class OutQueue {
 public:
  explicit OutQueue(size_t* counter = nullptr) : counter_(counter) {}
  OutQueue(OutQueue&& o) noexcept;
  OutQueue& operator=(OutQueue&&) = delete;
  ~OutQueue() { Clear(); }

  void Append(std::string_view s);
  void AppendValue(const Bytes& v);  // the value bytes (no \r\n)
  void MoveFrom(OutQueue& other);    // all of other's bytes, in order
  void Clear();

  size_t bytes() const { return bytes_; }
  bool empty() const { return bytes_ == 0; }
  // Fills up to `max` iovecs from the front; returns how many.
  int Gather(iovec* iov, int max) const;
  void Consume(size_t n);

 private:
  static constexpr size_t kPack = size_t{16} * 1024;  // pack text into chunks up to this size
  static constexpr size_t kRefMin = 2048;             // values at least this large are referenced
  struct Chunk {
    std::string text;
    Bytes ref;  // a value sent by reference (never empty), else text
    bool is_ref() const { return !ref.empty(); }
    const char* data() const { return is_ref() ? ref.data() : text.data(); }
    size_t size() const { return is_ref() ? ref.size() : text.size(); }
  };
  void Grow(size_t n) {
    bytes_ += n;
    if (counter_) *counter_ += n;
  }
  void Shrink(size_t n) {
    bytes_ -= n;
    if (counter_) *counter_ -= n;
  }

  std::vector<Chunk> chunks_;
  size_t head_ = 0;       // first unsent chunk
  size_t front_off_ = 0;  // bytes of chunks_[head_] already sent
  size_t bytes_ = 0;
  size_t* counter_;
};

}  // namespace coss::server
