// AlignedBuffer: an owned, 4 KiB-aligned byte buffer for direct I/O.
#pragma once

#include <cstdlib>
#include <cstring>
#include <memory>

namespace coss {

class AlignedBuffer {
 public:
  AlignedBuffer() = default;
  explicit AlignedBuffer(size_t n, size_t align = 4096) : size_(n) {
    const size_t rounded = (n + align - 1) / align * align;
    data_.reset(static_cast<char*>(std::aligned_alloc(align, rounded == 0 ? align : rounded)));
    if (!data_) throw std::bad_alloc();
  }
  char* data() { return data_.get(); }
  const char* data() const { return data_.get(); }
  size_t size() const { return size_; }
  void zero() { std::memset(data_.get(), 0, size_); }

 private:
  struct Free {
    void operator()(char* p) const { std::free(p); }
  };
  std::unique_ptr<char, Free> data_;
  size_t size_ = 0;
};

}  // namespace coss
