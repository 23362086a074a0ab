// Parser tests: every case is fed whole and cut into fragments of 1, 2, 5, 10
// and 100 bytes; each fragmentation must produce exactly the expected events.
#include "proto/parser.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "proto/base64.h"
#include "proto/numbers.h"

namespace coss::proto {
namespace {

std::string Describe(const Request& r) {
  std::string s = CommandName(r.cmd);
  for (auto k : r.keys) s += " k=" + std::string(k);
  if (!r.key_raw.empty()) s += " key=" + std::string(r.key());
  if (IsStorage(r.cmd) || r.cmd == Command::kMetaSet) s += " data=" + std::string(r.data);
  if (IsStorage(r.cmd))
    s += " f=" + std::to_string(r.client_flags) + " e=" + std::to_string(r.exptime);
  if (r.cmd == Command::kCas) s += " cas=" + std::to_string(r.cas_unique);
  if (r.cmd == Command::kIncr || r.cmd == Command::kDecr) s += " d=" + std::to_string(r.delta);
  if (r.cmd == Command::kTouch || r.cmd == Command::kGat || r.cmd == Command::kGats ||
      r.cmd == Command::kFlushAll)
    s += " e=" + std::to_string(r.exptime);
  if (r.cmd == Command::kVerbosity) s += " v=" + std::to_string(r.verbosity);
  for (auto a : r.args) s += " a=" + std::string(a);
  if (r.noreply) s += " noreply";
  if (IsMeta(r.cmd) && !r.meta.order.empty()) s += " flags=" + r.meta.order;
  if (r.meta.has_opaque) s += " O=" + std::string(r.meta.opaque);
  if (r.meta.ttl) s += " T=" + std::to_string(*r.meta.ttl);
  if (r.meta.vivify) s += " N=" + std::to_string(*r.meta.vivify);
  if (r.meta.compare_cas) s += " C=" + std::to_string(*r.meta.compare_cas);
  if (r.meta.new_cas) s += " E=" + std::to_string(*r.meta.new_cas);
  if (r.meta.client_flags) s += " F=" + std::to_string(*r.meta.client_flags);
  if (r.meta.delta) s += " D=" + std::to_string(*r.meta.delta);
  if (r.meta.initial) s += " J=" + std::to_string(*r.meta.initial);
  if (r.meta.mode) s += std::string(" M=") + r.meta.mode;
  return s;
}

// Feeds `input` in chunks of `chunk` bytes (0 = whole) and records the events.
std::vector<std::string> Run(const std::string& input, size_t chunk, ParserLimits lim = {}) {
  Parser p(lim);
  Step step;
  std::string buf;
  std::vector<std::string> ev;
  size_t pos = 0;
  bool closed = false;
  while (pos < input.size() && !closed) {
    const size_t n = chunk == 0 ? input.size() : std::min(chunk, input.size() - pos);
    buf.append(input, pos, n);
    pos += n;
    for (;;) {
      p.Next(buf, &step);
      EXPECT_LE(step.consumed, buf.size());
      EXPECT_LE(buf.size(), lim.BufferBound() + (chunk == 0 ? input.size() : chunk));
      std::string e;
      if (step.kind == StepKind::kRequest) e = "REQ " + Describe(step.req);
      if (step.kind == StepKind::kReply) e = "REPLY " + std::string(step.reply);
      if (step.kind == StepKind::kClose) e = "CLOSE " + std::string(step.reply);
      buf.erase(0, step.consumed);
      if (!e.empty()) {
        while (!e.empty() && (e.back() == '\n' || e.back() == '\r')) e.pop_back();
        ev.push_back(e);
      }
      if (step.kind == StepKind::kClose) {
        closed = true;
        break;
      }
      if (step.kind == StepKind::kNeedMore && (step.consumed == 0 || buf.empty())) break;
    }
  }
  if (!closed && !buf.empty()) ev.push_back("PENDING " + std::to_string(buf.size()));
  return ev;
}

struct Case {
  std::string input;
  std::vector<std::string> expect;
};

void Check(const std::vector<Case>& cases, ParserLimits lim = {}) {
  for (const auto& c : cases) {
    for (size_t chunk : {0, 1, 2, 5, 10, 100}) {
      EXPECT_EQ(Run(c.input, chunk, lim), c.expect)
          << "input=" << testing::PrintToString(c.input) << " chunk=" << chunk;
    }
  }
}

const std::string kLongKey(251, 'k');
const std::string kMaxKey(250, 'k');

TEST(ParserTest, RetrievalCommands) {
  Check({
      {"get a\r\n", {"REQ get k=a"}},
      {"get a b  c\r\n", {"REQ get k=a k=b k=c"}},
      {"gets a\n", {"REQ gets k=a"}},
      {" get a \r\n", {"REQ get k=a"}},
      {"get\r\n", {"REPLY ERROR"}},
      {"get " + kMaxKey + "\r\n", {"REQ get k=" + kMaxKey}},
      {"get a " + kLongKey + "\r\n", {"REPLY CLIENT_ERROR bad command line format"}},
      {"gat 10 a b\r\n", {"REQ gat k=a k=b e=10"}},
      {"gats 0 a\r\n", {"REQ gats k=a e=0"}},
      {"gat 10\r\n", {"REQ gat e=10"}},
      {"gat\r\n", {"REPLY ERROR"}},
      {"gat a b\r\n", {"REPLY CLIENT_ERROR invalid exptime argument"}},
      {"GET a\r\n", {"REPLY ERROR"}},
      {"\r\n", {"REPLY ERROR"}},
      {"get a", {"PENDING 5"}},
  });
}

TEST(ParserTest, StorageCommands) {
  Check({
      {"set a 0 0 1\r\nx\r\n", {"REQ set key=a data=x f=0 e=0"}},
      {"set a 5 100 3 noreply\r\nabc\r\n", {"REQ set key=a data=abc f=5 e=100 noreply"}},
      {"set a 0 0 1 foo\r\nx\r\n", {"REQ set key=a data=x f=0 e=0"}},
      {"add a 1 -1 0\r\n\r\n", {"REQ add key=a data= f=1 e=-1"}},
      {"replace a 0 0 2\r\n\r\n\r\n", {"REQ replace key=a data=\r\n f=0 e=0"}},
      {"append a 0 0 1\r\nx\r\n", {"REQ append key=a data=x f=0 e=0"}},
      {"prepend a 0 0 1\r\nx\r\n", {"REQ prepend key=a data=x f=0 e=0"}},
      {"cas a 0 0 1 99\r\nx\r\n", {"REQ cas key=a data=x f=0 e=0 cas=99"}},
      {"cas a 0 0 1\r\nx\r\n", {"REPLY ERROR", "REPLY ERROR"}},
      {"cas a 0 0 1 abc\r\nx\r\n", {"REPLY CLIENT_ERROR bad command line format", "REPLY ERROR"}},
      {"cas a 0 0 1 abc noreply\r\nx\r\n", {"REPLY ", "REPLY ERROR"}},
      {"set a 4294967296 0 1\r\nx\r\n", {"REQ set key=a data=x f=0 e=0"}},
      {"set a +5 0 01\r\nx\r\n", {"REQ set key=a data=x f=5 e=0"}},
      {"set a -1 0 1\r\nx\r\n", {"REPLY CLIENT_ERROR bad command line format", "REPLY ERROR"}},
      {"set a 0x5 0 1\r\nx\r\n", {"REPLY CLIENT_ERROR bad command line format", "REPLY ERROR"}},
      {"set a 0 0 -1\r\n", {"REPLY CLIENT_ERROR bad command line format"}},
      {"set a 0 0 abc\r\nab\r\n", {"REPLY CLIENT_ERROR bad command line format", "REPLY ERROR"}},
      {"set a 0 0 4294967295\r\nx\r\n",
       {"REPLY CLIENT_ERROR bad command line format", "REPLY ERROR"}},
      {"set a 0 9999999999999 1\r\nx\r\n", {"REQ set key=a data=x f=0 e=1316134911"}},
      {"set a 0\r\n", {"REPLY ERROR"}},
      {"set a 0 0 1 noreply extra\r\nx\r\n", {"REPLY ERROR", "REPLY ERROR"}},
      {"set " + kLongKey + " 0 0 5\r\nget a\r\n",
       {"REPLY CLIENT_ERROR bad command line format", "REQ get k=a"}},
      {"set " + kLongKey + " 0 0 2 noreply\r\nxy\r\n", {"REPLY ", "REPLY ERROR"}},
      // bad data chunk: exactly vlen + 2 bytes are consumed
      {"set a 0 0 2\r\nxyzwget a\r\n", {"REPLY CLIENT_ERROR bad data chunk", "REQ get k=a"}},
      {"set a 0 0 2\r\nxyzw\r\nget a\r\n",
       {"REPLY CLIENT_ERROR bad data chunk", "REPLY ERROR", "REQ get k=a"}},
      {"set a 0 0 2 noreply\r\nxyzw\r\n", {"REPLY ", "REPLY ERROR"}},
      {"set a 0 0 2\r\nxy\n\r\n", {"REPLY CLIENT_ERROR bad data chunk", "REPLY ERROR"}},
      // binary-safe values
      {std::string("set b 0 0 5\r\n\0\r\n\n\r\r\n", 20),
       {"REQ set key=b data=" + std::string("\0\r\n\n\r", 5) + " f=0 e=0"}},
      {"set a 0 0 3\r\nab", {"PENDING 15"}},
  });
}

TEST(ParserTest, TooLargeValueIsSwallowed) {
  ParserLimits lim;
  lim.max_value = 10;
  Check(
      {
          {"set a 0 0 11\r\n01234567890\r\nget a\r\n",
           {"REPLY SERVER_ERROR object too large for cache", "REQ get k=a"}},
          {"set a 0 0 11 noreply\r\n01234567890\r\nget a\r\n", {"REPLY ", "REQ get k=a"}},
          {"set a 0 0 10\r\n0123456789\r\n", {"REQ set key=a data=0123456789 f=0 e=0"}},
          {"ms a 11 T5\r\n01234567890\r\nmn\r\n",
           {"REPLY SERVER_ERROR object too large for cache", "REQ mn"}},
          {"set a 0 0 100\r\n0123", {"REPLY SERVER_ERROR object too large for cache"}},
      },
      lim);
}

TEST(ParserTest, LineLimits) {
  ParserLimits lim;
  lim.max_line = 64;
  lim.max_get_line = 200;
  lim.max_value = 100;
  Check(
      {
          {std::string(100, 'x'), {"CLOSE CLIENT_ERROR line too long"}},
          {std::string(70, 'x') + "\r\nget a\r\n", {"CLOSE CLIENT_ERROR line too long"}},
          {"get " + std::string(100, 'a') + "\r\n", {"REQ get k=" + std::string(100, 'a')}},
          {"get " + std::string(300, 'a'), {"CLOSE CLIENT_ERROR line too long"}},
          {"set a 0 0 100\r\n" + std::string(100, 'v') + "\r\n",
           {"REQ set key=a data=" + std::string(100, 'v') + " f=0 e=0"}},
      },
      lim);
}

TEST(ParserTest, OtherTextCommands) {
  Check({
      {"delete a\r\n", {"REQ delete key=a"}},
      {"delete a 0\r\n", {"REQ delete key=a"}},
      {"delete a noreply\r\n", {"REQ delete key=a noreply"}},
      {"delete a 0 noreply\r\n", {"REQ delete key=a noreply"}},
      {"delete a 5\r\n",
       {"REPLY CLIENT_ERROR bad command line format.  Usage: delete <key> [noreply]"}},
      {"delete a noreply 0\r\n",
       {"REPLY CLIENT_ERROR bad command line format.  Usage: delete <key> [noreply]"}},
      {"delete\r\n", {"REPLY ERROR"}},
      {"delete " + kLongKey + "\r\n", {"REPLY CLIENT_ERROR bad command line format"}},
      {"incr a 5\r\n", {"REQ incr key=a d=5"}},
      {"decr a 18446744073709551615 noreply\r\n",
       {"REQ decr key=a d=18446744073709551615 noreply"}},
      {"incr a 18446744073709551616\r\n", {"REPLY CLIENT_ERROR invalid numeric delta argument"}},
      {"incr a -1\r\n", {"REPLY CLIENT_ERROR invalid numeric delta argument"}},
      {"incr a 1x\r\n", {"REPLY CLIENT_ERROR invalid numeric delta argument"}},
      {"incr a abc noreply\r\n", {"REPLY "}},
      {"incr a\r\n", {"REPLY ERROR"}},
      {"incr a 1 noreply extra\r\n", {"REPLY ERROR"}},
      {"touch a 10\r\n", {"REQ touch key=a e=10"}},
      {"touch a abc\r\n", {"REPLY CLIENT_ERROR invalid exptime argument"}},
      {"touch a\r\n", {"REPLY ERROR"}},
      {"flush_all\r\n", {"REQ flush_all e=0"}},
      {"flush_all 10\r\n", {"REQ flush_all e=10"}},
      {"flush_all noreply\r\n", {"REQ flush_all e=0 noreply"}},
      {"flush_all 0 0\r\n", {"REQ flush_all e=0"}},
      {"flush_all abc\r\n", {"REPLY CLIENT_ERROR invalid exptime argument"}},
      {"version\r\n", {"REQ version"}},
      {"verbosity 1\r\n", {"REQ verbosity v=1"}},
      {"verbosity\r\n", {"REPLY ERROR"}},
      {"verbosity abc\r\n", {"REPLY CLIENT_ERROR bad command line format"}},
      {"verbosity 1 2 3\r\n", {"REPLY ERROR"}},
      {"stats\r\n", {"REQ stats"}},
      {"stats settings\r\n", {"REQ stats a=settings"}},
      {"quit\r\n", {"REQ quit"}},
      {"set\ta 0 0 1\r\nx\r\n", {"REPLY ERROR", "REPLY ERROR"}},
  });
}

TEST(ParserTest, MetaCommands) {
  const std::string b64 = "YWJj";  // "abc"
  Check({
      {"mn\r\n", {"REQ mn"}},
      {"mn foo\r\n", {"REQ mn"}},
      {"mg a v f t c s k h l Oabc q\r\n", {"REQ mg key=a flags=vftcskhlOq O=abc"}},
      {"mg a\r\n", {"REQ mg key=a"}},
      {"mg\r\n", {"REPLY ERROR"}},
      {"mx a\r\n", {"REPLY ERROR"}},
      {"mg a Z\r\n", {"REPLY CLIENT_ERROR invalid flag"}},
      {"mg a v v\r\n", {"REPLY CLIENT_ERROR duplicate flag"}},
      {"mg a vv\r\n", {"REQ mg key=a flags=v"}},
      {"mg a Tabc\r\n", {"REPLY CLIENT_ERROR bad token in command line format"}},
      {"mg a T30 N10 E7\r\n", {"REQ mg key=a flags=TNE T=30 N=10 E=7"}},
      {"mg a O" + std::string(33, 'o') + "\r\n", {"REPLY CLIENT_ERROR opaque token too long"}},
      {"mg " + kLongKey + " v\r\n", {"REPLY CLIENT_ERROR bad command line format"}},
      {"mg " + b64 + " b v k\r\n", {"REQ mg key=abc flags=bvk"}},
      {"mg !!! b v\r\n", {"REPLY CLIENT_ERROR error decoding key"}},
      {"ms a 2\r\nhi\r\n", {"REQ ms key=a data=hi"}},
      {"ms a 2 T0 F5 c k Oq MA\r\nhi\r\n", {"REQ ms key=a data=hi flags=TFckOM O=q T=0 F=5 M=A"}},
      {"ms a\r\nhi\r\n", {"REPLY CLIENT_ERROR bad command line format", "REPLY ERROR"}},
      {"ms a abc\r\nhi\r\n", {"REPLY CLIENT_ERROR bad command line format", "REPLY ERROR"}},
      {"ms a 2 MX\r\nhi\r\nmn\r\n", {"REPLY CLIENT_ERROR invalid mode for ms M token", "REQ mn"}},
      {"ms a 2 Fabc\r\nhi\r\nmn\r\n", {"REPLY CLIENT_ERROR bad command line format", "REQ mn"}},
      {"ms a 2 Z\r\nhi\r\nmn\r\n", {"REPLY CLIENT_ERROR invalid flag", "REQ mn"}},
      {"ms !! 1 b\r\nx\r\nmn\r\n", {"REPLY CLIENT_ERROR error decoding key", "REQ mn"}},
      {"ms a 1 q\r\nxyz\r\nmn\r\n", {"REPLY CLIENT_ERROR bad data chunk", "REPLY ERROR", "REQ mn"}},
      {"ms " + kLongKey + " 1\r\nx\r\n",
       {"REPLY CLIENT_ERROR bad command line format", "REPLY ERROR"}},
      {"md a q k Oz C5 I T30\r\n", {"REQ md key=a flags=qkOCIT O=z T=30 C=5"}},
      {"md a Z\r\n", {"REPLY CLIENT_ERROR invalid or duplicate flag"}},
      {"md a Tabc\r\n", {"REPLY CLIENT_ERROR invalid or duplicate flag"}},
      {"md !! b\r\n", {"REPLY CLIENT_ERROR invalid or duplicate flag"}},
      {"md\r\n", {"REPLY ERROR"}},
      {"ma a N0 J10 D5 MD v t c k\r\n", {"REQ ma key=a flags=NJDMvtck N=0 D=5 J=10 M=D"}},
      {"ma a M-\r\n", {"REQ ma key=a flags=M M=D"}},
      {"ma a MX\r\n", {"REPLY CLIENT_ERROR invalid mode for ma M token"}},
      {"ma a Dabc\r\n", {"REPLY CLIENT_ERROR invalid or duplicate flag"}},
      {"me a\r\n", {"REQ me key=a"}},
      {"me a Z q\r\n", {"REQ me key=a"}},
      {"me\r\n", {"REPLY CLIENT_ERROR bad command line format"}},
      {"me !! b\r\n", {"REPLY CLIENT_ERROR bad command line format"}},
      {"me " + b64 + " b\r\n", {"REQ me key=abc"}},
  });
}

TEST(ParserTest, PipelineOfMixedCommands) {
  std::string in;
  std::vector<std::string> expect;
  for (int i = 0; i < 20; i++) {
    in += "set k" + std::to_string(i) + " 0 0 3\r\nv" + std::to_string(i % 10) + "x\r\n";
    expect.push_back("REQ set key=k" + std::to_string(i) + " data=v" + std::to_string(i % 10) +
                     "x f=0 e=0");
    in += "get k" + std::to_string(i) + "\r\nbogus\r\n";
    expect.push_back("REQ get k=k" + std::to_string(i));
    expect.push_back("REPLY ERROR");
  }
  Check({{in, expect}});
}

TEST(NumbersTest, MemcachedConversions) {
  uint64_t u = 0;
  EXPECT_TRUE(ParseU64("18446744073709551615", &u));
  EXPECT_EQ(u, UINT64_MAX);
  EXPECT_FALSE(ParseU64("18446744073709551616", &u));
  EXPECT_FALSE(ParseU64("-1", &u));
  EXPECT_TRUE(ParseU64("-0", &u));
  EXPECT_TRUE(ParseU64(" 12", &u));
  EXPECT_EQ(u, 12u);
  EXPECT_TRUE(ParseU64("12 ", &u));
  EXPECT_FALSE(ParseU64("1ab", &u));
  EXPECT_FALSE(ParseU64("", &u));
  int32_t i = 0;
  EXPECT_TRUE(ParseI32("-5", &i));
  EXPECT_EQ(i, -5);
  EXPECT_TRUE(ParseI32("2147483648", &i));
  EXPECT_EQ(i, INT32_MIN);
  EXPECT_FALSE(ParseI32("99999999999999999999", &i));
  EXPECT_FALSE(ParseI32("x", &i));
  uint32_t f = 0;
  EXPECT_TRUE(ParseFlags("4294967297", &f));
  EXPECT_EQ(f, 1u);
}

TEST(Base64Test, RoundTrip) {
  for (std::string s :
       {std::string("a"), std::string("ab"), std::string("abc"), std::string("\0\xff\x10 x", 5)}) {
    std::string enc, dec;
    Base64Encode(s, &enc);
    ASSERT_TRUE(Base64Decode(enc, &dec)) << enc;
    EXPECT_EQ(dec, s);
  }
  std::string out;
  EXPECT_FALSE(Base64Decode("YWJ", &out));
  EXPECT_FALSE(Base64Decode("Y=Jj", &out));
  EXPECT_FALSE(Base64Decode("!!!!", &out));
}

}  // namespace
}  // namespace coss::proto
