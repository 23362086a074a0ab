#include "tools/fsck/runs.h"

#include <string>

#include "tools/fsck/records.h"

namespace coss::tools::fsck {

Result<uint32_t> ReadRunDirectory(StoreFile& f, const Run& run, const DeviceReport& r,
                                  std::vector<format::DirEntry>* entries) {
  const uint64_t run_off = r.data_start + uint64_t{run.stripe} * r.stripe_size;
  const uint64_t run_bytes = uint64_t{run.h.span} * r.stripe_size;
  const uint64_t dir_bytes = uint64_t{run.h.record_count} * sizeof(format::DirEntry);
  std::vector<char> dir(dir_bytes);
  if (Status s = ReadSync(f, run_off + run_bytes - dir_bytes, dir.data(), dir.size()); !s.ok())
    return Error(s.code(), "cannot read directory: " + s.message());
  return format::DecodeDirectory(run.h, dir.data(), dir.size(), r.super.sb.uuid.Seed(), entries);
}

StripeState CheckRun(StoreFile& f, const Run& run, uint32_t run_id, bool verify, int64_t now,
                     LiveIndex* index, DeviceReport* r) {
  const format::StripeHeader& h = run.h;
  if (h.kind != format::StripeKind::kData) return StripeState::kEmpty;
  auto damage = [&](StripeState st, std::string why, Fix fix) {
    r->damage.push_back(StripeDamage{run.stripe, st, std::move(why), h.seq, h.span, fix, h});
    return st;
  };

  std::vector<format::DirEntry> entries;
  auto dec = ReadRunDirectory(f, run, *r, &entries);
  if (!dec.ok()) {
    const bool io = dec.status().code() != Code::kCorruption;
    return damage(io ? StripeState::kUnreadable : StripeState::kTorn, dec.status().message(),
                  Fix::kEmptyRun);
  }
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

  uint64_t failed = 0;
  if (verify) {
    const uint64_t run_off = r->data_start + uint64_t{run.stripe} * r->stripe_size;
    const RecordOutcome o =
        VerifyRunRecords(f, run, run_off, r->super.sb.uuid.Seed(), r->super.sb.key_seed, entries,
                         [&](const format::DirEntry& e, Verdict v, const std::string& why) {
                           if (e.type == format::RecordType::kValue)
                             index->MarkUnreadable(e.key_hash, run_id);
                           if (v == Verdict::kFailed && r->bad_records.size() < kMaxListedRecords)
                             r->bad_records.push_back(BadRecord{run.stripe, h.seq, e, why});
                         });
    r->records.verified += o.verified;
    r->records.failures += o.failures;
    r->records.cleared_by_fsck += o.cleared_by_fsck;
    failed = o.failures;
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
