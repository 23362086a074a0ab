#include "server/out_queue.h"

namespace coss::server {

OutQueue::OutQueue(OutQueue&& o) noexcept
    : chunks_(std::move(o.chunks_)),
      front_off_(o.front_off_),
      bytes_(o.bytes_),
      counter_(o.counter_) {
  o.chunks_.clear();
  o.front_off_ = 0;
  o.bytes_ = 0;
}

void OutQueue::Append(std::string_view s) {
  if (s.empty()) return;
  if (chunks_.size() == head_ || chunks_.back().is_ref() ||
      chunks_.back().text.size() + s.size() > kPack) {
    chunks_.emplace_back();
    chunks_.back().text.reserve(s.size() < 256 ? 256 : s.size());
  }
  chunks_.back().text.append(s);
  Grow(s.size());
}

void OutQueue::AppendValue(const Bytes& v) {
  if (v.empty()) return;
  if (v.size() < kRefMin) {
    Append(v);
    return;
  }
  chunks_.emplace_back();
  chunks_.back().ref = v;
  Grow(v.size());
}

void OutQueue::MoveFrom(OutQueue& other) {
  if (other.bytes_ == 0) return;
  const size_t n = other.bytes_;
  // `other` is never partially consumed (only a socket queue is), so whole
  // chunks move; the first one may be packed into our last text chunk.
  for (size_t i = other.head_; i < other.chunks_.size(); i++) {
    Chunk& c = other.chunks_[i];
    if (!c.is_ref() && chunks_.size() > head_ && !chunks_.back().is_ref() &&
        chunks_.back().text.size() + c.text.size() <= kPack) {
      chunks_.back().text.append(c.text);
    } else {
      chunks_.push_back(std::move(c));
    }
  }
  other.chunks_.clear();
  other.head_ = 0;
  other.Shrink(n);
  Grow(n);
}

void OutQueue::Clear() {
  chunks_.clear();
  Shrink(bytes_);
  head_ = 0;
  front_off_ = 0;
}

int OutQueue::Gather(iovec* iov, int max) const {
  int n = 0;
  size_t off = front_off_;
  for (size_t i = head_; i < chunks_.size(); i++) {
    const Chunk& c = chunks_[i];
    if (n == max) break;
    iov[n].iov_base = const_cast<char*>(c.data() + off);
    iov[n].iov_len = c.size() - off;
    off = 0;
    n++;
  }
  return n;
}

void OutQueue::Consume(size_t n) {
  Shrink(n);
  while (n > 0) {
    Chunk& c = chunks_[head_];
    const size_t left = c.size() - front_off_;
    if (n < left) {
      front_off_ += n;
      return;
    }
    n -= left;
    front_off_ = 0;
    c = Chunk();  // release the bytes now
    head_++;
  }
  if (head_ == chunks_.size()) {
    chunks_.clear();  // keeps the capacity
    head_ = 0;
  } else if (head_ > 64 && head_ * 2 > chunks_.size()) {
    chunks_.erase(chunks_.begin(), chunks_.begin() + static_cast<std::ptrdiff_t>(head_));
    head_ = 0;
  }
}

}  // namespace coss::server
