// Reply parser (src/tools/bench/protocol.h): every reply kind, replies split
// at every byte boundary, large values skipped as they arrive, bad replies.
#include "tools/bench/protocol.h"

#include <gtest/gtest.h>

#include <string>

namespace coss::tools::bench {
namespace {

// Feeds `wire` in pieces of `chunk` bytes; returns the completed reply.
ParseStep Feed(Op op, const std::string& wire, size_t chunk, size_t* consumed_total) {
  ReplyParser p;
  std::string buf;
  size_t fed = 0;
  *consumed_total = 0;
  for (;;) {
    const size_t n = std::min(chunk, wire.size() - fed);
    buf.append(wire, fed, n);
    fed += n;
    ParseStep s = p.Parse(op, buf);
    buf.erase(0, s.consumed);
    *consumed_total += s.consumed;
    if (s.done) return s;
    if (fed == wire.size()) return s;
  }
}

TEST(Protocol, Encode) {
  std::string out;
  EncodeRequest(Op::kGet, "k:1", 0, "", &out);
  EncodeRequest(Op::kSet, "k:2", 3, "abcdef", &out);
  EncodeRequest(Op::kDelete, "k:3", 0, "", &out);
  EXPECT_EQ(out, "get k:1\r\nset k:2 0 0 3\r\nabc\r\ndelete k:3\r\n");
}

TEST(Protocol, EveryKindAtEverySplit) {
  const std::string value(3000, 'v');
  struct Case {
    Op op;
    std::string wire;
    ReplyKind kind;
    uint64_t bytes;
  } cases[] = {
      {Op::kGet, "VALUE k:1 0 3000\r\n" + value + "\r\nEND\r\n", ReplyKind::kHit, 3000},
      {Op::kGet, "VALUE k:1 0 5 77\r\nab\r\nc\r\nEND\r\n", ReplyKind::kHit, 5},  // CRLF inside
      {Op::kGet, "END\r\n", ReplyKind::kMiss, 0},
      {Op::kSet, "STORED\r\n", ReplyKind::kStored, 0},
      {Op::kSet, "NOT_STORED\r\n", ReplyKind::kNotStored, 0},
      {Op::kDelete, "DELETED\r\n", ReplyKind::kDeleted, 0},
      {Op::kDelete, "NOT_FOUND\r\n", ReplyKind::kNotFound, 0},
      {Op::kGet, "SERVER_ERROR out of memory\r\n", ReplyKind::kServerError, 0},
      {Op::kSet, "CLIENT_ERROR bad data chunk\r\n", ReplyKind::kClientError, 0},
      {Op::kSet, "ERROR\r\n", ReplyKind::kError, 0},
  };
  for (const auto& c : cases) {
    for (size_t chunk : {size_t{1}, size_t{2}, size_t{7}, size_t{1000}, c.wire.size()}) {
      size_t used = 0;
      const ParseStep s = Feed(c.op, c.wire, chunk, &used);
      ASSERT_TRUE(s.done) << c.wire.substr(0, 20) << " chunk " << chunk;
      EXPECT_EQ(s.kind, c.kind) << c.wire.substr(0, 20) << " chunk " << chunk;
      EXPECT_EQ(s.value_bytes, c.bytes);
      EXPECT_EQ(used, c.wire.size());
    }
  }
}

TEST(Protocol, PipelinedRepliesParseOneAtATime) {
  ReplyParser p;
  const std::string wire = "END\r\nSTORED\r\nVALUE a 0 1\r\nx\r\nEND\r\n";
  std::string_view in = wire;
  ParseStep s = p.Parse(Op::kGet, in);
  EXPECT_EQ(s.kind, ReplyKind::kMiss);
  in.remove_prefix(s.consumed);
  s = p.Parse(Op::kSet, in);
  EXPECT_EQ(s.kind, ReplyKind::kStored);
  in.remove_prefix(s.consumed);
  s = p.Parse(Op::kGet, in);
  EXPECT_EQ(s.kind, ReplyKind::kHit);
  in.remove_prefix(s.consumed);
  EXPECT_TRUE(in.empty());
  EXPECT_TRUE(p.Idle());
}

TEST(Protocol, BadReplies) {
  size_t used = 0;
  EXPECT_EQ(Feed(Op::kGet, "STORED\r\n", 100, &used).kind, ReplyKind::kProtocol);
  EXPECT_EQ(Feed(Op::kSet, "END\r\n", 100, &used).kind, ReplyKind::kProtocol);
  EXPECT_EQ(Feed(Op::kGet, "VALUE k 0 x\r\n", 100, &used).kind, ReplyKind::kProtocol);
  // Value longer than announced: the bytes after it are not CRLF.
  EXPECT_EQ(Feed(Op::kGet, "VALUE k 0 2\r\nabc\r\nEND\r\n", 100, &used).kind, ReplyKind::kProtocol);
  // A line that never ends.
  const ParseStep s = Feed(Op::kGet, std::string(ReplyParser::kMaxLine + 10, 'x'), 100000, &used);
  EXPECT_TRUE(s.done);
  EXPECT_EQ(s.kind, ReplyKind::kProtocol);
}

}  // namespace
}  // namespace coss::tools::bench
