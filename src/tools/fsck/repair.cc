#include "tools/fsck/repair.h"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

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

void ClearRecord(StoreFile& f, const BadRecord& b, DeviceReport* r) {
  const format::DirEntry& e = b.entry;
  RepairAction a{b.stripe, "cleared the record at offset " + std::to_string(e.offset) +
                               " (it read as a miss; now it verifies and still reads as a miss)"};
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
                       {}, 0, e.version, 0, b.run_seq, r->super.sb.uuid.Seed());
  const uint64_t off = r->data_start + uint64_t{b.stripe} * r->stripe_size + e.offset;
  if (Status s = WriteSync(f, off, rec.data(), rec.size()); !s.ok())
    a.ok = false, a.error = s.message();
  r->repairs.push_back(std::move(a));
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

void SetAsideCheckpoint(const std::string& store_path, DeviceReport* r) {
  const std::string ckpt = store_path + ".ckpt";
  struct stat st {};
  if (::stat(ckpt.c_str(), &st) != 0) return;
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
  }
  for (const BadRecord& b : r->bad_records) ClearRecord(f, b, r);
  if (r->journal.scanned && r->journal.corrupt_blocks != 0) ZeroCorruptJournalBlocks(f, r);
  if (!r->repairs.empty()) SetAsideCheckpoint(r->path, r);
  if (!r->repairs.empty()) {
    if (Status s = f.Sync(); !s.ok())
      r->repairs.push_back(RepairAction{RepairAction::kNoStripe, "sync", false, s.message()});
  }
}

}  // namespace coss::tools::fsck
