#include "tools/fsck/repair.h"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "tools/fsck/records.h"
#include "tools/fsck/runs.h"

namespace coss::tools::fsck {

namespace {

void EmptyRun(StoreFile& f, const StripeDamage& d, DeviceReport* r) {
  const uint64_t seed = r->super.sb.uuid.Seed();
  std::vector<char> block(format::kBlock, 0);
  const uint32_t end = std::min<uint64_t>(uint64_t{d.stripe} + d.span, r->stripes);
  for (uint32_t j = d.stripe; j < end; j++) {
    format::StripeHeader h{};
    h.kind = format::StripeKind::kEmpty;
    h.seq = ++r->max_seq;
    h.stripe_index = j;
    h.span = 1;
    format::SealStripeHeader(&h, seed);
    std::memcpy(block.data(), &h, sizeof h);
    RepairAction a{
        j, "marked empty (seq " + std::to_string(h.seq) + "; was " + StateName(d.state) +
               (j == d.stripe ? "" : ", inside the run at stripe " + std::to_string(d.stripe)) +
               ")"};
    const Status s =
        WriteSync(f, r->data_start + uint64_t{j} * r->stripe_size, block.data(), block.size());
    if (!s.ok()) a.ok = false, a.error = s.message();
    r->repairs.push_back(std::move(a));
  }
}

void ClearRecord(StoreFile& f, uint32_t stripe, uint64_t run_seq, const format::DirEntry& e,
                 const std::string& why, DeviceReport* r) {
  RepairAction a{stripe, "cleared the record at offset " + std::to_string(e.offset) + " (" + why +
                             "; it read as a miss, and still does)"};
  if (e.length <= sizeof(format::RecordHeader)) {
    a.ok = false;
    a.error = "its directory length " + std::to_string(e.length) + " is too short for a record";
    r->repairs.push_back(std::move(a));
    return;
  }
  const size_t key_len =
      std::min<size_t>(kClearedKey.size(), e.length - sizeof(format::RecordHeader));
  std::vector<char> rec(format::RecordLength(key_len, 0));
  format::EncodeRecord(rec.data(), format::RecordType::kTombstone, kClearedKey.substr(0, key_len),
                       {}, 0, e.version, 0, run_seq, r->super.sb.uuid.Seed());
  const uint64_t off = r->data_start + uint64_t{stripe} * r->stripe_size + e.offset;
  if (Status s = WriteSync(f, off, rec.data(), rec.size()); !s.ok())
    a.ok = false, a.error = s.message();
  r->repairs.push_back(std::move(a));
}

// Verifies the run's records again and clears each one that fails now.
void ClearFailingRecords(StoreFile& f, const StripeDamage& d, DeviceReport* r) {
  const Run run{d.stripe, d.header};
  std::vector<format::DirEntry> entries;
  auto dec = ReadRunDirectory(f, run, *r, &entries);
  if (!dec.ok()) {
    r->repairs.push_back(
        RepairAction{d.stripe, "re-reading the directory", false, dec.status().message()});
    return;
  }
  const uint64_t run_off = r->data_start + uint64_t{d.stripe} * r->stripe_size;
  VerifyRunRecords(f, run, run_off, r->super.sb.uuid.Seed(), r->super.sb.key_seed, entries,
                   [&](const format::DirEntry& e, Verdict v, const std::string& why) {
                     if (v == Verdict::kFailed) ClearRecord(f, d.stripe, d.seq, e, why, r);
                   });
}

void ZeroCorruptJournalBlocks(StoreFile& f, DeviceReport* r) {
  const uint64_t seed = r->super.sb.uuid.Seed();
  std::vector<char> block(format::kBlock);
  const std::vector<char> zero(format::kBlock, 0);
  for (uint64_t slot = 0; slot < r->journal.bytes / format::kBlock; slot++) {
    const uint64_t off = r->journal.offset + slot * format::kBlock;
    if (!ReadSync(f, off, block.data(), block.size()).ok()) continue;
    const format::JournalBlockHeader* h;
    const format::JournalEntry* e;
    if (format::CheckJournalBlock(block.data(), seed, &h, &e).code() != Code::kCorruption) continue;
    RepairAction a{RepairAction::kNoStripe, "zeroed corrupt journal block " + std::to_string(slot)};
    if (Status s = WriteSync(f, off, zero.data(), zero.size()); !s.ok())
      a.ok = false, a.error = s.message();
    r->repairs.push_back(std::move(a));
  }
}

void SetAsideCheckpoint(DeviceReport* r) {
  const std::string& ckpt = r->checkpoint.path;
  struct stat st {};
  if (ckpt.empty() || ::stat(ckpt.c_str(), &st) != 0) return;
  RepairAction a{RepairAction::kNoStripe,
                 "renamed the index checkpoint " + ckpt + " to " + ckpt +
                     ".pre-fsck (it predates the repair; the next start rebuilds)"};
  if (std::rename(ckpt.c_str(), (ckpt + ".pre-fsck").c_str()) != 0)
    a.ok = false, a.error = std::strerror(errno);
  r->repairs.push_back(std::move(a));
}

}  // namespace

void RepairDevice(StoreFile& f, DeviceReport* r) {
  if (!r->scanned) return;
  for (const StripeDamage& d : r->damage) {
    if (d.fix == Fix::kEmptyRun) EmptyRun(f, d, r);
    if (d.fix == Fix::kClearRecords) ClearFailingRecords(f, d, r);
  }
  if (r->journal.scanned && r->journal.corrupt_blocks != 0) ZeroCorruptJournalBlocks(f, r);
  if (!r->repairs.empty()) SetAsideCheckpoint(r);
  if (!r->repairs.empty()) {
    if (Status s = f.Sync(); !s.ok())
      r->repairs.push_back(RepairAction{RepairAction::kNoStripe, "sync", false, s.message()});
  }
}

}  // namespace coss::tools::fsck
