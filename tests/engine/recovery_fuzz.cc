// libFuzzer target for what recovery reads besides stripes (those are in
// format_fuzz.cc): journal blocks, the journal scan over a whole journal region,
// and the checkpoint file. Arbitrary bytes must never crash a reader or make it
// allocate what the input does not hold, and what a reader accepts must be
// consistent. Fuzzed bytes rarely carry valid checksums, so each input is also
// tried re-sealed, to reach the accept paths.
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "engine/checkpoint.h"
#include "engine/format.h"
#include "engine/journal.h"
#include "io/device.h"
#include "util/hash.h"

using namespace coss;
using namespace coss::format;

namespace {
constexpr uint64_t kSeed = 0xC055C055C055C055ull;

void Check(bool cond) {
  if (!cond) __builtin_trap();
}

void JournalBlock(const char* p, size_t size) {
  if (size < kBlock) return;
  std::vector<char> block(p, p + kBlock);
  for (int sealed = 0; sealed < 2; sealed++) {
    if (sealed) {
      auto* h = reinterpret_cast<JournalBlockHeader*>(block.data());
      h->uuid_seed = kSeed;
      SealJournalBlock(h, reinterpret_cast<const JournalEntry*>(block.data() + sizeof *h), kSeed);
    }
    const JournalBlockHeader* h;
    const JournalEntry* e;
    if (!CheckJournalBlock(block.data(), kSeed, &h, &e).ok()) continue;
    Check(h->count <= kJournalEntriesPerBlock);
    Check(reinterpret_cast<const char*>(e + h->count) <= block.data() + block.size());
  }
}

void JournalRegion(const char* p, size_t size) {
  const uint64_t bytes = size / kBlock * kBlock;
  if (bytes == 0 || bytes > (64u << 10)) return;
  auto dev = MakeMemDevice("fuzz", bytes);
  std::vector<char> region(p, p + bytes);
  // Re-seal every block that claims to be one, so the scan sees valid blocks.
  for (uint64_t off = 0; off < bytes; off += kBlock) {
    auto* h = reinterpret_cast<JournalBlockHeader*>(region.data() + off);
    if (h->magic != kJournalMagic) continue;
    h->uuid_seed = kSeed;
    if (h->count > kJournalEntriesPerBlock) h->count = kJournalEntriesPerBlock;
    SealJournalBlock(h, reinterpret_cast<const JournalEntry*>(region.data() + off + sizeof *h),
                     kSeed);
  }
  Check(WriteSync(*dev, 0, region.data(), bytes).ok());
  auto scan = Journal::Scan(*dev, 0, bytes, kSeed);
  Check(scan.ok());
  Check(scan->next_slot < bytes / kBlock);
  for (const JournalEntry& e : scan->tail)
    Check((e.seq & ~JournalEntry::kClear) > scan->durable_seq);
}

std::string TempPath() {
  static const std::string path = [] {
    // tmpfs: a file on a disk file system made this target wait on the
    // file system's journal for two thirds of its time.
    char tmpl[] = "/dev/shm/coss-fuzz-ckpt-XXXXXX";
    const int fd = ::mkstemp(tmpl);
    if (fd >= 0) ::close(fd);
    return std::string(tmpl);
  }();
  return path;
}

void CheckpointFile(const char* p, size_t size) {
  const std::string path = TempPath();
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(p, static_cast<std::streamsize>(size));
  }
  auto ck = ReadCheckpointFile(path);
  if (ck.ok()) {
    Check(ck->seqs.size() == ck->header.stripe_count);
    Check(ck->entries.size() == ck->header.entry_count);
  }
  // Re-sealed: the header as fuzzed (counts included), its checksum made valid.
  if (size < sizeof(CheckpointHeader)) return;
  CheckpointHeader h;
  std::memcpy(&h, p, sizeof h);
  h.magic = CheckpointHeader::kMagic;
  h.format_version = kFormatVersion;
  h.checksum = Checksum(&h, offsetof(CheckpointHeader, checksum), 0);
  std::vector<char> copy(p, p + size);
  std::memcpy(copy.data(), &h, sizeof h);
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(copy.data(), static_cast<std::streamsize>(copy.size()));
  }
  auto again = ReadCheckpointFile(path);
  if (again.ok()) {
    Check(again->seqs.size() == h.stripe_count);
    Check(again->entries.size() == h.entry_count);
    Check(sizeof h + again->seqs.size() * 8 + again->entries.size() * 16 + 8 == size);
  }
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const char* p = reinterpret_cast<const char*>(data);
  JournalBlock(p, size);
  JournalRegion(p, size);
  CheckpointFile(p, size);
  return 0;
}
