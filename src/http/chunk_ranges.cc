#include "http/chunk_ranges.h"

#include <algorithm>

namespace coss::http {

ChunkRanges::ChunkRanges(std::vector<ByteRange> ranges, std::vector<std::string> framing,
                         uint64_t chunk_size, uint64_t body_length)
    : ranges_(std::move(ranges)),
      framing_(std::move(framing)),
      chunk_size_(chunk_size),
      body_length_(body_length) {
  if (!ranges_.empty()) next_ = ranges_.front().first / chunk_size_;
}

uint64_t ChunkRanges::next_chunk_size() const {
  const uint64_t start = next_ * chunk_size_;
  return start >= body_length_ ? 0 : std::min(chunk_size_, body_length_ - start);
}

void ChunkRanges::Take(std::vector<Piece>* out) {
  const bool multipart = !framing_.empty();
  const uint64_t start = next_ * chunk_size_;
  const uint64_t end = start + next_chunk_size();
  while (range_ < ranges_.size()) {
    const ByteRange& br = ranges_[range_];
    if (br.first >= end) break;  // starts in a later chunk
    const uint64_t lo = std::max(start, br.first);
    const uint64_t hi = std::min(end, br.last + 1);
    if (multipart && lo == br.first) out->push_back({static_cast<int>(range_), 0, 0});
    out->push_back({-1, lo - start, hi - lo});
    if (hi != br.last + 1) break;  // continues in the next chunk
    range_++;
  }
  if (done()) {
    if (multipart) out->push_back({static_cast<int>(framing_.size() - 1), 0, 0});
    return;
  }
  // This range's next chunk, or the one the next range starts in.
  next_ = std::max(next_ + 1, ranges_[range_].first / chunk_size_);
}

}  // namespace coss::http
