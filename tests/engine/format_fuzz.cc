// libFuzzer target for the on-disk decoders: superblock, stripe header, record
// directory and record. Arbitrary bytes must never crash a decoder, and
// anything a decoder accepts must be internally consistent (a record that
// decodes has a checksum that verifies and a key/value inside the input).
#include <cstdint>
#include <cstring>
#include <vector>

#include "engine/format.h"
#include "util/hash.h"

using namespace coss::format;

namespace {
constexpr uint64_t kSeed = 0xC055C055C055C055ull;
constexpr uint32_t kStripe = 64u << 10;

void Check(bool cond) {
  if (!cond) __builtin_trap();
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const char* p = reinterpret_cast<const char*>(data);
  if (size >= sizeof(Superblock)) {
    Superblock sb;
    std::memcpy(&sb, p, sizeof sb);
    (void)CheckSuperblock(sb);
  }
  if (size >= sizeof(StripeHeader)) {
    StripeHeader h;
    std::memcpy(&h, p, sizeof h);
    // Fuzzed bytes rarely carry a valid checksum: also try the header re-sealed,
    // so the structural checks and the directory decoder are reached.
    for (int sealed = 0; sealed < 2; sealed++) {
      if (sealed) SealStripeHeader(&h, kSeed);
      if (!CheckStripeHeader(h, kSeed, h.stripe_index, kStripe, 1u << 20).ok()) continue;
      if (h.kind != StripeKind::kData) continue;
      const size_t rest = size - sizeof h;
      const uint64_t dir_bytes = uint64_t{h.record_count} * sizeof(DirEntry);
      if (dir_bytes > rest) continue;
      std::vector<DirEntry> out;
      const char* dir = p + sizeof h + (rest - dir_bytes);
      if (sealed)
        h.dir_checksum = DirChecksum(reinterpret_cast<const DirEntry*>(dir), h.record_count, kSeed);
      auto r = DecodeDirectory(h, dir, dir_bytes, kSeed, &out);
      if (r.ok()) {
        Check(out.size() + *r == h.record_count);
        for (const DirEntry& e : out) Check(e.offset + uint64_t{e.length} <= h.data_end);
      }
    }
  }
  auto rec = DecodeRecord(p, size, kSeed, size);
  if (!rec.ok() && size >= sizeof(RecordHeader)) {
    // Re-seal with the fuzzed contents to reach the accept path too.
    RecordHeader h;
    std::memcpy(&h, p, sizeof h);
    const uint64_t len = uint64_t{sizeof h} + h.key_len + h.value_len;
    if (len <= size) {
      std::vector<char> copy(p, p + size);
      RestampRecord(copy.data(), h.stripe_seq, kSeed);
      auto again = DecodeRecord(copy.data(), copy.size(), kSeed, h.stripe_seq);
      if (again.ok()) {
        Check(again->key.data() >= copy.data() &&
              again->value.data() + again->value.size() <= copy.data() + copy.size());
        Check(again->header->checksum == coss::Checksum(copy.data() + 8, len - 8, kSeed));
      }
    }
  }
  return 0;
}
