// Range requests as pure functions: Range parsing and coalescing, If-Range,
// Content-Range values and multipart/byteranges bodies (RFC 9110 §14).
#include "http/range.h"

#include <gtest/gtest.h>

namespace coss::http {
namespace {

std::vector<ByteRange> Ranges(std::string_view v, uint64_t length) {
  std::vector<ByteRange> out;
  EXPECT_EQ(EvaluateRange(v, length, &out), RangeOutcome::kSatisfiable) << v;
  return out;
}

bool Same(const std::vector<ByteRange>& got, std::vector<std::pair<uint64_t, uint64_t>> want) {
  if (got.size() != want.size()) return false;
  for (size_t i = 0; i < got.size(); i++) {
    if (got[i].first != want[i].first || got[i].last != want[i].second) return false;
  }
  return true;
}

TEST(HttpRangeTest, TheThreeFormsOfARangeSpec) {
  EXPECT_TRUE(Same(Ranges("bytes=0-499", 10000), {{0, 499}}));
  EXPECT_TRUE(Same(Ranges("bytes=9500-", 10000), {{9500, 9999}}));
  EXPECT_TRUE(Same(Ranges("bytes=-500", 10000), {{9500, 9999}}));
  // Case-insensitive unit, whitespace around list elements.
  EXPECT_TRUE(Same(Ranges("Bytes= 0-0 , -1", 10000), {{0, 0}, {9999, 9999}}));
}

TEST(HttpRangeTest, ClipsToTheRepresentation) {
  EXPECT_TRUE(Same(Ranges("bytes=5-100", 10), {{5, 9}}));
  EXPECT_TRUE(Same(Ranges("bytes=-100", 10), {{0, 9}}));
  // Numbers past 64 bits saturate: a last-pos is clipped...
  EXPECT_TRUE(Same(Ranges("bytes=3-999999999999999999999999", 10), {{3, 9}}));
  // ...a first-pos is past the end.
  std::vector<ByteRange> out;
  EXPECT_EQ(EvaluateRange("bytes=999999999999999999999999-", 10, &out),
            RangeOutcome::kUnsatisfiable);
}

TEST(HttpRangeTest, UnsatisfiableOnlyWhenNoPartIs) {
  std::vector<ByteRange> out;
  EXPECT_EQ(EvaluateRange("bytes=10-20", 10, &out), RangeOutcome::kUnsatisfiable);
  EXPECT_EQ(EvaluateRange("bytes=-0", 10, &out), RangeOutcome::kUnsatisfiable);
  EXPECT_EQ(EvaluateRange("bytes=0-5", 0, &out), RangeOutcome::kUnsatisfiable);
  EXPECT_EQ(EvaluateRange("bytes=-5", 0, &out), RangeOutcome::kUnsatisfiable);
  EXPECT_TRUE(out.empty());
  // One satisfiable part is enough.
  EXPECT_TRUE(Same(Ranges("bytes=50-60, 2-3", 10), {{2, 3}}));
}

TEST(HttpRangeTest, InvalidRangesAreIgnored) {
  std::vector<ByteRange> out;
  for (std::string_view v :
       {"", "bytes", "bytes=", "bytes=,", "items=0-1", "bytes=1", "bytes=5-2", "bytes=a-3",
        "bytes=1-b", "bytes=--3", "bytes=-", "bytes=0-1;x", "bytes=+1-2", "bytes=0x1-2"}) {
    EXPECT_EQ(EvaluateRange(v, 100, &out), RangeOutcome::kIgnore) << v;
  }
}

TEST(HttpRangeTest, CoalescesOverlapsAndBoundsTheParts) {
  // Overlapping and adjacent parts merge, in ascending order: no byte twice.
  EXPECT_TRUE(Same(Ranges("bytes=50-60,0-10,5-20,21-30,-10", 100), {{0, 30}, {50, 60}, {90, 99}}));
  EXPECT_TRUE(Same(Ranges("bytes=0-,0-,0-", 100), {{0, 99}}));
  std::string many = "bytes=0-0";
  for (size_t i = 1; i < kMaxRanges; i++)
    many += "," + std::to_string(2 * i) + "-" + std::to_string(2 * i);
  EXPECT_EQ(Ranges(many, 1000).size(), kMaxRanges);
  std::vector<ByteRange> out;
  EXPECT_EQ(EvaluateRange(many + ",900-901", 1000, &out), RangeOutcome::kIgnore);
}

Fields Make(std::initializer_list<std::pair<std::string_view, std::string_view>> kv) {
  Fields f;
  for (const auto& [k, v] : kv) f.Add(k, v);
  return f;
}

TEST(HttpRangeTest, IfRangeNeedsAStrongMatch) {
  const Fields resp =
      Make({{"ETag", "\"v1\""}, {"Last-Modified", "Sun, 06 Nov 1994 08:49:37 GMT"}});
  EXPECT_TRUE(IfRangeHolds(Make({}), resp));
  EXPECT_TRUE(IfRangeHolds(Make({{"If-Range", "\"v1\""}}), resp));
  EXPECT_FALSE(IfRangeHolds(Make({{"If-Range", "\"v2\""}}), resp));
  EXPECT_FALSE(IfRangeHolds(Make({{"If-Range", "W/\"v1\""}}), resp));
  EXPECT_FALSE(IfRangeHolds(Make({{"If-Range", "\"v1\""}}), Make({{"ETag", "W/\"v1\""}})));
  EXPECT_TRUE(IfRangeHolds(Make({{"If-Range", "Sun, 06 Nov 1994 08:49:37 GMT"}}), resp));
  EXPECT_FALSE(IfRangeHolds(Make({{"If-Range", "Sun, 06 Nov 1994 08:49:38 GMT"}}), resp));
  EXPECT_FALSE(IfRangeHolds(Make({{"If-Range", "not a date"}}), resp));
  EXPECT_FALSE(IfRangeHolds(Make({{"If-Range", "\"v1\""}, {"If-Range", "\"v1\""}}), resp));
}

TEST(HttpRangeTest, MultipartBodyCarriesEachPart) {
  const std::string body = "0123456789abcdef";
  const std::string m = MultipartByteranges(body, {{0, 1}, {10, 15}}, "text/plain", "XYZ");
  EXPECT_EQ(m,
            "--XYZ\r\nContent-Type: text/plain\r\nContent-Range: bytes 0-1/16\r\n\r\n01"
            "\r\n--XYZ\r\nContent-Type: text/plain\r\nContent-Range: bytes 10-15/16\r\n\r\n"
            "abcdef\r\n--XYZ--\r\n");
  EXPECT_EQ(ContentRange({3, 7}, 16), "bytes 3-7/16");
  EXPECT_EQ(UnsatisfiedRange(16), "bytes */16");
}

}  // namespace
}  // namespace coss::http
