// ChunkRanges: the chunks a ranged response over a chunked body reads, and
// what of each goes out. Checked by rebuilding the response from the pieces
// and comparing it with the ranges cut from the whole body.
#include "http/chunk_ranges.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace coss::http {
namespace {

std::string Body(uint64_t n) {
  std::string b(n, '\0');
  for (uint64_t i = 0; i < n; i++) b[i] = static_cast<char>('a' + (i * 7 + i / 26) % 26);
  return b;
}

// Streams `ranges` of `body` in chunks of `chunk`; returns the response and
// the chunks read, in order.
std::string Stream(const std::string& body, uint64_t chunk, std::vector<ByteRange> ranges,
                   std::vector<std::string> framing, std::vector<uint64_t>* read) {
  ChunkRanges s(std::move(ranges), std::move(framing), chunk, body.size());
  std::string out;
  std::vector<ChunkRanges::Piece> pieces;
  for (int guard = 0; !s.done(); guard++) {
    EXPECT_LT(guard, 1000) << "no progress";
    if (guard >= 1000) break;
    const uint64_t c = s.next_chunk();
    read->push_back(c);
    const std::string data = body.substr(c * chunk, s.next_chunk_size());
    EXPECT_EQ(data.size(), s.next_chunk_size());
    pieces.clear();
    s.Take(&pieces);
    for (const auto& p : pieces) {
      if (p.framing >= 0) {
        out += s.framing(p.framing);
      } else {
        EXPECT_LE(p.off + p.len, data.size());
        out += data.substr(p.off, p.len);
      }
    }
  }
  return out;
}

TEST(ChunkRangesTest, TheWholeBodyReadsEveryChunkOnce) {
  const std::string body = Body(1000);
  std::vector<uint64_t> read;
  EXPECT_EQ(Stream(body, 300, {{0, 999}}, {}, &read), body);
  EXPECT_EQ(read, (std::vector<uint64_t>{0, 1, 2, 3}));  // the last chunk is 100 bytes
}

TEST(ChunkRangesTest, OneRangeReadsOnlyTheChunksItCovers) {
  const std::string body = Body(1000);
  std::vector<uint64_t> read;
  EXPECT_EQ(Stream(body, 100, {{250, 449}}, {}, &read), body.substr(250, 200));
  EXPECT_EQ(read, (std::vector<uint64_t>{2, 3, 4}));
  read.clear();
  EXPECT_EQ(Stream(body, 100, {{999, 999}}, {}, &read), body.substr(999, 1));
  EXPECT_EQ(read, (std::vector<uint64_t>{9}));
}

TEST(ChunkRangesTest, SeveralRangesInterleaveTheirFramingAndShareChunks) {
  const std::string body = Body(1000);
  // Two ranges in chunk 1, one across chunks 3-5, one in the last chunk; chunks 2, 6-8 unread.
  const std::vector<ByteRange> ranges = {{110, 119}, {150, 160}, {390, 510}, {950, 999}};
  const std::vector<std::string> framing = {"<0>", "<1>", "<2>", "<3>", "<end>"};
  std::string want;
  for (size_t i = 0; i < ranges.size(); i++)
    want += framing[i] + body.substr(ranges[i].first, ranges[i].size());
  want += framing.back();
  std::vector<uint64_t> read;
  EXPECT_EQ(Stream(body, 100, ranges, framing, &read), want);
  EXPECT_EQ(read, (std::vector<uint64_t>{1, 3, 4, 5, 9}));
}

TEST(ChunkRangesTest, RangesOnChunkBoundaries) {
  const std::string body = Body(400);
  const std::vector<ByteRange> ranges = {{0, 99}, {100, 100}, {299, 300}};
  const std::vector<std::string> framing = {"A", "B", "C", "Z"};
  std::vector<uint64_t> read;
  EXPECT_EQ(
      Stream(body, 100, ranges, framing, &read),
      "A" + body.substr(0, 100) + "B" + body.substr(100, 1) + "C" + body.substr(299, 2) + "Z");
  EXPECT_EQ(read, (std::vector<uint64_t>{0, 1, 2, 3}));
}

}  // namespace
}  // namespace coss::http
