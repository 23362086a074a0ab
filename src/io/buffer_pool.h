// BufferPool: recycles the large, 4 KiB-aligned buffers that device reads land
// in.
//
// A read of a large record hands its buffer to the caller as the value (see
// coss::Bytes): the buffer then lives in a reply or in the server's RAM tier
// for a while, and is freed when its last reference goes. A fresh buffer of
// hundreds of KiB is a fresh mapping from the kernel, faulted and zeroed page
// by page during the read; with the pool, a buffer whose last reference goes
// is kept for the next read of that size instead.
//
// Contract: Get(n) returns a buffer of at least n bytes (capacity rounded up to
// kGranule for pooled sizes), 4 KiB-aligned, owned by the returned shared_ptr;
// its deleter gives it back to the pool (or frees it). Buffers under kMinPooled
// are plain allocations (the allocator serves those from its heap). The pool
// keeps at most max_retained bytes of idle buffers, the most recently returned
// first; it may be destroyed before its buffers (they are then freed).
//
// Thread-safety: Get and the deleters may run on any thread (one mutex).
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>

namespace coss {

struct PooledBuffer {
  std::shared_ptr<char> data;
  size_t capacity = 0;  // bytes usable at data
};

class BufferPool {
 public:
  static constexpr size_t kMinPooled = size_t{64} << 10;
  static constexpr size_t kGranule = size_t{16} << 10;

  static std::shared_ptr<BufferPool> Create(size_t max_retained);
  ~BufferPool();
  BufferPool(const BufferPool&) = delete;
  BufferPool& operator=(const BufferPool&) = delete;

  PooledBuffer Get(size_t n);

  size_t retained_bytes() const;
  uint64_t reused() const;  // Gets served from an idle buffer

 private:
  explicit BufferPool(size_t max_retained) : max_retained_(max_retained) {}
  void Return(char* p, size_t capacity);

  struct Idle {
    char* p;
    size_t capacity;
  };
  mutable std::mutex mu_;
  std::deque<Idle> idle_;  // oldest first; GUARDED_BY(mu_)
  size_t retained_ = 0;    // GUARDED_BY(mu_)
  uint64_t reused_ = 0;    // GUARDED_BY(mu_)
  const size_t max_retained_;
  std::weak_ptr<BufferPool> self_;
};

}  // namespace coss
