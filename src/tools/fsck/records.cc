#include "tools/fsck/records.h"

#include <algorithm>

#include "util/hash.h"

namespace coss::tools::fsck {

namespace {

// A record that verifies but is the marker `fsck --repair` leaves.
bool IsClearedMarker(const format::RecordView& v, const format::DirEntry& e, uint64_t key_seed) {
  return v.header->type == format::RecordType::kTombstone && !v.key.empty() &&
         kClearedKey.starts_with(v.key) &&
         (e.type != format::RecordType::kTombstone || KeyHash(v.key, key_seed) != e.key_hash);
}

// Why a verified record disagrees with its directory entry; empty if it agrees.
std::string Disagreement(const format::RecordView& v, const format::DirEntry& e,
                         uint64_t key_seed) {
  const format::RecordHeader& h = *v.header;
  if (h.type != e.type) return "record type differs from its directory entry";
  if (format::RecordLength(v.key.size(), v.value.size()) != e.length)
    return "record length differs from its directory entry";
  if (h.version != e.version) return "record version differs from its directory entry";
  const uint32_t exp =
      h.expiry <= 0 ? 0 : static_cast<uint32_t>(std::min<int64_t>(h.expiry, UINT32_MAX));
  if (exp != e.expiry) return "record expiry differs from its directory entry";
  if (h.type == format::RecordType::kValue && KeyHash(v.key, key_seed) != e.key_hash)
    return "record key does not match its directory hash";
  return {};
}

}  // namespace

RecordOutcome VerifyRunRecords(StoreFile& f, const Run& run, uint64_t run_off, uint64_t seed,
                               uint64_t key_seed, const std::vector<format::DirEntry>& entries,
                               const RecordFailure& on_fail) {
  RecordOutcome out;
  std::vector<char> buf;
  Status whole;
  if (run.h.span == 1 && !entries.empty()) {
    buf.resize(run.h.data_end);
    whole = ReadSync(f, run_off, buf.data(), buf.size());
  }
  for (const format::DirEntry& e : entries) {
    out.verified++;
    auto fail = [&](const std::string& why) {
      out.failures++;
      on_fail(e, Verdict::kFailed, why);
    };
    const char* p = nullptr;
    if (run.h.span == 1) {
      if (!whole.ok()) {
        fail("cannot read: " + whole.message());
        continue;
      }
      p = buf.data() + e.offset;  // DirEntrySane: offset + length <= data_end
    } else {
      buf.resize(e.length);
      if (Status s = ReadSync(f, run_off + e.offset, buf.data(), e.length); !s.ok()) {
        fail("cannot read: " + s.message());
        continue;
      }
      p = buf.data();
    }
    auto rec = format::DecodeRecord(p, e.length, seed, run.h.seq);
    if (!rec.ok()) {
      fail(rec.status().message());
    } else if (IsClearedMarker(*rec, e, key_seed)) {
      out.cleared_by_fsck++;
      on_fail(e, Verdict::kCleared, {});
    } else if (std::string why = Disagreement(*rec, e, key_seed); !why.empty()) {
      fail(why);
    }
  }
  return out;
}

}  // namespace coss::tools::fsck
