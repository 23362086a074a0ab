// coss::Bytes: an immutable byte string shared by reference.
//
// A value read from the store travels from the device buffer (or a RAM-tier
// segment) to the socket without being copied: a Bytes is a view of bytes plus
// a reference to whatever owns them (a std::string, a direct-I/O buffer, a
// RAM-tier jumbo segment). Copies of a Bytes share the owner; the bytes stay
// valid, and unchanged, while any copy lives.
//
// held() is the memory the owner keeps alive for this view (a direct-I/O
// buffer may be larger than the value it carries): what a cache that keeps the
// Bytes charges against its budget.
//
// Thread-safety: a Bytes may be copied and read from any thread (the owner is
// reference counted atomically; the bytes never change).
#pragma once

#include <cstddef>
#include <memory>
#include <ostream>
#include <string>
#include <string_view>
#include <utility>

namespace coss {

class Bytes {
 public:
  Bytes() = default;
  // Shares `owner`, which must keep `view` valid and unchanged for its lifetime.
  Bytes(std::shared_ptr<const void> owner, std::string_view view, size_t held)
      : owner_(std::move(owner)), view_(view), held_(held) {}

  static Bytes Copy(std::string_view s) { return Adopt(std::string(s)); }
  static Bytes Adopt(std::string&& s) {
    auto owner = std::make_shared<const std::string>(std::move(s));
    const std::string_view v(*owner);
    const size_t held = owner->capacity();
    return Bytes(std::move(owner), v, held);
  }

  std::string_view view() const { return view_; }
  operator std::string_view() const { return view_; }  // reads like a string
  const char* data() const { return view_.data(); }
  size_t size() const { return view_.size(); }
  bool empty() const { return view_.empty(); }
  size_t held() const { return held_; }
  std::string str() const { return std::string(view_); }

  friend bool operator==(const Bytes& a, std::string_view b) { return a.view_ == b; }
  friend std::ostream& operator<<(std::ostream& os, const Bytes& b) { return os << b.view_; }

 private:
  std::shared_ptr<const void> owner_;
  std::string_view view_;
  size_t held_ = 0;
};

}  // namespace coss
