// ChunkRanges: which stored chunks a response needs, and what of each goes
// out, when byte ranges of a body kept in fixed-size chunks are streamed.
//
// Contract: the ranges are ascending, disjoint and within the body (as
// EvaluateRange returns them, or one range for the whole body). The chunks
// they cover are visited once each, in ascending order: next_chunk() names
// the one to read next, and Take() lists what of it goes out, in order:
// bytes of the chunk, and (for multipart/byteranges) the framing strings
// between ranges (MultipartFraming: before each range, and once at the end).
// Pure: no I/O, no allocation per chunk beyond the pieces' vector.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "http/range.h"

namespace coss::http {

class ChunkRanges {
 public:
  // A piece of the response: framing string `framing` (>= 0), or bytes
  // [off, off + len) of the chunk just taken.
  struct Piece {
    int framing = -1;
    uint64_t off = 0;
    uint64_t len = 0;
  };

  // framing: empty (one range, or the whole body), or ranges.size() + 1
  // strings. chunk_size > 0; every range within [0, body_length).
  ChunkRanges(std::vector<ByteRange> ranges, std::vector<std::string> framing, uint64_t chunk_size,
              uint64_t body_length);

  bool done() const { return range_ == ranges_.size(); }
  // The chunk to read next, and the size it must have. Only while !done().
  uint64_t next_chunk() const { return next_; }
  uint64_t next_chunk_size() const;
  // The pieces chunk next_chunk() contributes, appended to *out in order;
  // then moves on to the next chunk needed (or done()).
  void Take(std::vector<Piece>* out);
  const std::string& framing(int i) const { return framing_[static_cast<size_t>(i)]; }

 private:
  std::vector<ByteRange> ranges_;
  std::vector<std::string> framing_;
  uint64_t chunk_size_;
  uint64_t body_length_;
  size_t range_ = 0;   // the range the next chunk continues or starts
  uint64_t next_ = 0;  // the next chunk's index
};

}  // namespace coss::http
