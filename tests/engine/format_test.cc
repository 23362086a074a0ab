// On-disk format: encode/decode round trips and rejection of damaged input.
#include "engine/format.h"

#include <gtest/gtest.h>

#include <vector>

#include "engine/location.h"

namespace coss::format {
namespace {

constexpr uint64_t kSeed = 0x1234567890abcdefull;

TEST(Format, RecordRoundTripAndEveryFlippedBitIsRejected) {
  const std::string key = "user:42", value = "hello, world";
  std::vector<char> buf(RecordLength(key.size(), value.size()));
  EncodeRecord(buf.data(), RecordType::kValue, key, value, 99, 7, 1234, 55, kSeed);
  auto r = DecodeRecord(buf.data(), buf.size(), kSeed, 55);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->key, key);
  EXPECT_EQ(r->value, value);
  EXPECT_EQ(r->header->flags, 99u);
  EXPECT_EQ(r->header->version, 7u);
  EXPECT_EQ(r->header->expiry, 1234);
  for (size_t byte = 0; byte < buf.size(); byte++) {
    for (int bit = 0; bit < 8; bit++) {
      buf[byte] ^= static_cast<char>(1 << bit);
      EXPECT_FALSE(DecodeRecord(buf.data(), buf.size(), kSeed, 55).ok()) << byte << ":" << bit;
      buf[byte] ^= static_cast<char>(1 << bit);
    }
  }
}

TEST(Format, RecordFromAnotherLapOrStoreOrTruncatedIsRejected) {
  std::vector<char> buf(RecordLength(3, 5));
  EncodeRecord(buf.data(), RecordType::kValue, "abc", "12345", 0, 1, 0, 10, kSeed);
  EXPECT_FALSE(DecodeRecord(buf.data(), buf.size(), kSeed, 11).ok());      // earlier lap
  EXPECT_FALSE(DecodeRecord(buf.data(), buf.size(), kSeed + 1, 10).ok());  // other store
  EXPECT_FALSE(DecodeRecord(buf.data(), buf.size() - 1, kSeed, 10).ok());  // truncated
  EXPECT_FALSE(DecodeRecord(buf.data(), 10, kSeed, 10).ok());
  RestampRecord(buf.data(), 11, kSeed);  // relocation re-stamps and re-seals
  EXPECT_TRUE(DecodeRecord(buf.data(), buf.size(), kSeed, 11).ok());
}

TEST(Format, StripeHeaderChecks) {
  StripeHeader h{};
  h.kind = StripeKind::kData;
  h.seq = 5;
  h.stripe_index = 3;
  h.span = 1;
  h.record_count = 2;
  h.data_end = 1000;
  SealStripeHeader(&h, kSeed);
  EXPECT_TRUE(CheckStripeHeader(h, kSeed, 3, 65536, 10).ok());
  EXPECT_FALSE(CheckStripeHeader(h, kSeed, 4, 65536, 10).ok());      // misplaced
  EXPECT_FALSE(CheckStripeHeader(h, kSeed ^ 1, 3, 65536, 10).ok());  // foreign store
  StripeHeader bad = h;
  bad.seq++;
  EXPECT_EQ(CheckStripeHeader(bad, kSeed, 3, 65536, 10).code(), Code::kCorruption);
  StripeHeader huge = h;
  huge.span = 8;  // would run past the end of the device
  SealStripeHeader(&huge, kSeed);
  EXPECT_FALSE(CheckStripeHeader(huge, kSeed, 3, 65536, 10).ok());
  StripeHeader inconsistent = h;
  inconsistent.data_end = 65536;  // no room left for the directory
  SealStripeHeader(&inconsistent, kSeed);
  EXPECT_FALSE(CheckStripeHeader(inconsistent, kSeed, 3, 65536, 10).ok());
  StripeHeader zero{};
  EXPECT_EQ(CheckStripeHeader(zero, kSeed, 3, 65536, 10).code(), Code::kNotFound);
}

TEST(Format, SuperblockChecks) {
  Superblock sb{};
  sb.magic = kSuperMagic;
  sb.format_version = kFormatVersion;
  sb.stripe_size = 1u << 20;
  SealSuperblock(&sb);
  EXPECT_TRUE(CheckSuperblock(sb).ok());
  sb.stripe_count = 3;
  EXPECT_FALSE(CheckSuperblock(sb).ok());
  SealSuperblock(&sb);
  sb.format_version = kFormatVersion + 1;
  SealSuperblock(&sb);
  EXPECT_NE(CheckSuperblock(sb).message().find("format version"), std::string::npos);
}

TEST(Location, PackUnpackAndSizeClassNeverUnderestimates) {
  Location l{.stripe = (1u << 24) - 1,
             .offset = (16u << 20) - 16,
             .size_class = 200,
             .gen = 255,
             .hits = 15};
  Location u = Location::Unpack(l.Pack());
  EXPECT_EQ(u.stripe, l.stripe);
  EXPECT_EQ(u.offset, l.offset);
  EXPECT_EQ(u.size_class, l.size_class);
  EXPECT_EQ(u.gen, l.gen);
  EXPECT_EQ(u.hits, l.hits);
  EXPECT_NE(l.Pack(), 0u);
  for (uint64_t n :
       {1ull, 63ull, 64ull, 65ull, 4096ull, 4097ull, 100000ull, 1ull << 20, (64ull << 20) + 300}) {
    const uint64_t d = SizeClass::Decode(SizeClass::Encode(n));
    EXPECT_GE(d, n);
    EXPECT_LE(d, n + n / 8 + 64) << n;  // at most 12.5 % (or one 64-byte unit) over
  }
}

TEST(Location, HitCounterIsLogarithmic) {
  uint8_t c = 0;
  uint32_t x = 1;
  for (int i = 0; i < 1000; i++) {
    x = x * 1664525u + 1013904223u;
    c = BumpHits(c, x >> 8);
  }
  EXPECT_GE(c, 8);  // ~log2(1000) + 1 = 11, give or take the coin flips
  EXPECT_LE(c, 13);
  EXPECT_EQ(BumpHits(0, 0), 1);
  EXPECT_EQ(BumpHits(15, 0), 15);
}

}  // namespace
}  // namespace coss::format

#include "engine/ring_order.h"

namespace coss {
namespace {

// Data runs with these seqs, in position order.
std::vector<bool> OlderLapLeftovers(const std::vector<uint64_t>& seqs) {
  std::vector<RingRun> runs;
  for (uint64_t s : seqs) runs.push_back({s, true});
  return coss::OlderLapLeftovers(runs);
}

TEST(RingOrder, RunsInRingOrderAreKept) {
  // Lap 2 has reached position 2; positions 3.. still hold lap 1.
  EXPECT_EQ(OlderLapLeftovers({11, 12, 13, 4, 5, 6, 7, 8, 9, 10}), std::vector<bool>(10, false));
  EXPECT_EQ(OlderLapLeftovers(std::vector<uint64_t>{}), std::vector<bool>{});
  EXPECT_EQ(OlderLapLeftovers({7}), std::vector<bool>{false});
}

TEST(RingOrder, ALostOverwriteBeforeALandedOneIsALeftover) {
  // Lap 2 wrote positions 0 and 2; the write of position 1 was lost.
  EXPECT_EQ(
      OlderLapLeftovers({11, 2, 13, 4, 5, 6, 7, 8, 9, 10}),
      (std::vector<bool>{false, true, false, false, false, false, false, false, false, false}));
  // Lost writes after the newest landed one are the oldest content: kept.
  EXPECT_EQ(OlderLapLeftovers({11, 12, 3, 4, 5, 6, 7, 8, 9, 10}), std::vector<bool>(10, false));
  // Several leftovers, one across the end of the ring.
  EXPECT_EQ(
      OlderLapLeftovers({21, 12, 23, 24, 15, 16, 17, 8, 19, 20}),
      (std::vector<bool>{false, true, false, false, false, false, false, true, false, false}));
}

TEST(RingOrder, EmptyMarkersAreNeitherJudgedNorJudges) {
  // Position 1 was emptied by fsck --repair with a fresh top seq; it must not
  // make the data runs after it look older, nor be dropped itself.
  const std::vector<RingRun> runs = {{11, true}, {30, false}, {13, true}, {4, true}, {5, true}};
  EXPECT_EQ(coss::OlderLapLeftovers(runs), std::vector<bool>(5, false));
  // Judged as data, the same seq would drop positions 3, 4 and 0.
  EXPECT_EQ(OlderLapLeftovers({11, 30, 13, 4, 5}),
            (std::vector<bool>{true, false, false, true, true}));
}

}  // namespace
}  // namespace coss
