#include "tools/fsck/runs.h"

#include <algorithm>
#include <string>
#include <vector>

#include "util/hash.h"

namespace coss::tools::fsck {

namespace {

// A record that verifies but is the marker `fsck --repair` leaves.
bool IsClearedMarker(const format::RecordView& v, const format::DirEntry& e) {
  return v.header->type == format::RecordType::kTombstone && v.key == kClearedKey &&
         (e.type != format::RecordType::kTombstone || KeyHash(v.key) != e.key_hash);
}

// Why a verified record disagrees with its directory entry; empty if it agrees.
std::string Disagreement(const format::RecordView& v, const format::DirEntry& e) {
  const format::RecordHeader& h = *v.header;
  if (h.type != e.type) return "record type differs from its directory entry";
  if (format::RecordLength(v.key.size(), v.value.size()) != e.length)
    return "record length differs from its directory entry";
  if (h.version != e.version) return "record version differs from its directory entry";
  const uint32_t exp =
      h.expiry <= 0 ? 0 : static_cast<uint32_t>(std::min<int64_t>(h.expiry, UINT32_MAX));
  if (exp != e.expiry) return "record expiry differs from its directory entry";
  if (h.type == format::RecordType::kValue && KeyHash(v.key) != e.key_hash)
    return "record key does not match its directory hash";
  return {};
}

class RecordChecker {
 public:
  RecordChecker(StoreFile& f, const Run& run, uint64_t run_off, DeviceReport* r)
      : f_(f), run_(run), run_off_(run_off), r_(r) {
    // A one-stripe run is read once, up to its data end; a jumbo run per record.
    if (run.h.span == 1) {
      buf_.resize(run.h.data_end);
      whole_ = ReadSync(f, run_off, buf_.data(), buf_.size());
    }
  }

  void Check(const format::DirEntry& e) {
    r_->records.verified++;
    const char* p = nullptr;
    if (run_.h.span == 1) {
      if (!whole_.ok()) return Fail(e, "cannot read: " + whole_.message());
      p = buf_.data() + e.offset;
    } else {
      buf_.resize(e.length);
      if (Status s = ReadSync(f_, run_off_ + e.offset, buf_.data(), e.length); !s.ok())
        return Fail(e, "cannot read: " + s.message());
      p = buf_.data();
    }
    auto rec = format::DecodeRecord(p, e.length, r_->super.sb.uuid.Seed(), run_.h.seq);
    if (!rec.ok()) return Fail(e, rec.status().message());
    if (IsClearedMarker(*rec, e)) {
      r_->records.cleared_by_fsck++;
      return;
    }
    if (std::string why = Disagreement(*rec, e); !why.empty()) return Fail(e, why);
  }

  uint32_t failures() const { return failures_; }

 private:
  void Fail(const format::DirEntry& e, std::string why) {
    failures_++;
    r_->records.failures++;
    r_->bad_records.push_back(BadRecord{run_.stripe, run_.h.seq, e, std::move(why)});
  }

  StoreFile& f_;
  const Run& run_;
  const uint64_t run_off_;
  DeviceReport* r_;
  std::vector<char> buf_;
  Status whole_;
  uint32_t failures_ = 0;
};

}  // namespace

StripeState CheckRun(StoreFile& f, const Run& run, uint32_t run_id, bool verify, int64_t now,
                     LiveIndex* index, DeviceReport* r) {
  const format::StripeHeader& h = run.h;
  if (h.kind != format::StripeKind::kData) return StripeState::kEmpty;
  const uint64_t run_off = r->data_start + uint64_t{run.stripe} * r->stripe_size;
  const uint64_t run_bytes = uint64_t{h.span} * r->stripe_size;
  const uint64_t dir_bytes = uint64_t{h.record_count} * sizeof(format::DirEntry);
  auto damage = [&](StripeState st, std::string why, Fix fix) {
    StripeDamage d{run.stripe, st, std::move(why), h.seq, h.span, fix};
    r->damage.push_back(std::move(d));
    return st;
  };

  std::vector<char> dir(dir_bytes);
  if (Status s = ReadSync(f, run_off + run_bytes - dir_bytes, dir.data(), dir.size()); !s.ok())
    return damage(StripeState::kUnreadable, "cannot read directory: " + s.message(),
                  Fix::kEmptyRun);
  std::vector<format::DirEntry> entries;
  auto dec = format::DecodeDirectory(h, dir.data(), dir.size(), r->super.sb.uuid.Seed(), &entries);
  if (!dec.ok()) return damage(StripeState::kTorn, dec.status().message(), Fix::kEmptyRun);
  dir = {};
  r->records.insane += *dec;

  for (const format::DirEntry& e : entries) {
    switch (e.type) {
      case format::RecordType::kValue:
        r->records.values++;
        r->records.value_bytes += e.length;
        if (e.expiry != 0 && e.expiry <= now) r->records.expired++;
        break;
      case format::RecordType::kTombstone:
        r->records.tombstones++;
        break;
      case format::RecordType::kClear:
        r->records.clears++;
        break;
    }
    index->Apply(e, run_id, now);
  }

  uint32_t failed = 0;
  if (verify && !entries.empty()) {
    RecordChecker checker(f, run, run_off, r);
    for (const format::DirEntry& e : entries) checker.Check(e);
    failed = checker.failures();
  }
  if (*dec != 0) {
    std::string why = std::to_string(*dec) + " directory entries out of bounds or of unknown type";
    if (failed != 0) why += "; " + std::to_string(failed) + " records fail verification";
    return damage(StripeState::kCorrupt, why, failed != 0 ? Fix::kClearRecords : Fix::kNone);
  }
  if (failed != 0)
    return damage(StripeState::kTorn,
                  std::to_string(failed) + " of " + std::to_string(entries.size()) +
                      " records fail verification",
                  Fix::kClearRecords);
  return StripeState::kValid;
}

}  // namespace coss::tools::fsck
