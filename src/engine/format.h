// The on-disk format of a coss store. Every multi-byte field is little-endian
// (the engine runs on little-endian hosts only; see static_assert below).
//
// Device layout:   [superblock: 4 KiB][journal: J bytes][stripe 0][stripe 1]...[stripe N-1]
// Stripe layout:   [StripeHeader 64 B][record][record]...   free   ...[dir entry k-1]...[dir entry
// 0]
//                  records grow forward from byte 64, 16-byte aligned; the record
//                  directory grows backward from the end of the stripe, so a rebuild
//                  reads the first 4 KiB and the last ceil(k*32) bytes, never the data.
// A jumbo run is `span` consecutive stripes written as one: one header at the
// start of the first stripe, one record, the directory at the end of the last.
// Record layout:   [RecordHeader 48 B][key][value]
//
// Bump kFormatVersion whenever a layout below changes.
#pragma once

#include <algorithm>
#include <bit>
#include <cstdint>
#include <cstring>
#include <string_view>
#include <vector>

#include "coss/status.h"

namespace coss::format {

static_assert(std::endian::native == std::endian::little, "coss stores are little-endian");

inline constexpr uint32_t kFormatVersion = 2;
inline constexpr uint64_t kSuperMagic = 0x524f545353534f43ull;  // "COSSSTOR"
inline constexpr uint32_t kStripeMagic = 0x52545343u;           // "CSTR"
inline constexpr uint16_t kRecordMagic = 0xC055;
inline constexpr uint32_t kSuperblockSize = 4096;
inline constexpr uint32_t kBlock = 4096;      // alignment of every device I/O
inline constexpr uint32_t kRecordAlign = 16;  // records start on 16-byte boundaries
inline constexpr uint32_t kMinStripe = 64u << 10;
inline constexpr uint32_t kMaxStripe = 16u << 20;
inline constexpr uint32_t kMaxKey = 250;

struct Uuid {
  uint8_t b[16];
  bool operator==(const Uuid&) const = default;
  uint64_t Seed() const {
    uint64_t a, c;
    std::memcpy(&a, b, 8);
    std::memcpy(&c, b + 8, 8);
    return a ^ (c * 0x9E3779B97F4A7C15ull);
  }
};

// The key hash seed of a new store: from its (random) uuid, never 0, the same
// on every device of the store.
inline uint64_t KeySeedFor(const Uuid& u) {
  uint64_t s = u.Seed() * 0xD6E8FEB86659FD93ull;
  s ^= s >> 32;
  return s == 0 ? 1 : s;
}

struct Superblock {
  uint64_t magic;
  uint32_t format_version;
  uint32_t stripe_size;
  Uuid uuid;
  uint32_t device_index;
  uint32_t device_count;
  uint64_t stripe_count;
  uint64_t device_size;  // bytes the store was formatted for
  uint64_t created_unix;
  uint64_t journal_bytes;  // journal region after the superblock; stripes follow it
  uint64_t key_seed;       // KeyHash seed (KeySeedFor(uuid)); 0: a store made before seeding
  uint64_t reserved[1];
  uint64_t checksum;  // XXH3 of the preceding bytes
};
static_assert(sizeof(Superblock) == 96);

enum class StripeKind : uint16_t { kData = 1, kEmpty = 2 };

struct StripeHeader {
  uint32_t magic;
  uint16_t format_version;
  StripeKind kind;
  uint64_t seq;           // strictly increasing per device; newest wins at rebuild
  uint32_t stripe_index;  // where this header was meant to land (catches misplaced writes)
  uint32_t span;          // stripes covered: 1, or >1 for a jumbo run
  uint32_t record_count;
  uint32_t data_end;      // first byte after the last record, from the run start
  uint64_t dir_checksum;  // XXH3(seed=uuid) of the directory bytes
  uint64_t uuid_seed;     // Uuid::Seed(): a header from another store never matches
  uint64_t sealed_unix;   // wall clock when sealed (0: unknown); recovery's clock floor
  uint64_t checksum;      // XXH3(seed=uuid) of the preceding bytes
};
static_assert(sizeof(StripeHeader) == 64);

enum class RecordType : uint8_t { kValue = 1, kTombstone = 2, kClear = 3 };

struct RecordHeader {
  uint64_t checksum;  // XXH3(seed=uuid) of bytes [8, 48) + key + value
  uint16_t magic;
  RecordType type;
  uint8_t key_len;
  uint32_t value_len;
  uint32_t flags;  // client flags
  uint32_t reserved;
  uint64_t version;     // CAS; unique per stored value, kept by relocation
  int64_t expiry;       // absolute unix seconds, 0 = never
  uint64_t stripe_seq;  // seq of the stripe that holds it: a leftover from an
                        // earlier lap at the same offset never verifies
};
static_assert(sizeof(RecordHeader) == 48);

struct DirEntry {
  uint64_t key_hash;
  uint64_t version;
  uint32_t offset;  // from the run start
  uint32_t length;  // header + key + value, unpadded
  uint32_t expiry;  // unix seconds saturated to 32 bits, 0 = never
  RecordType type;
  uint8_t pad[3];
};
static_assert(sizeof(DirEntry) == 32);

inline constexpr uint32_t kStripeHeaderSize = sizeof(StripeHeader);

// --- journal (see journal.h) ---
// A ring of 4 KiB blocks; each block lists the acknowledged writes of one group
// commit as (key hash, stripe seq the record went to).
inline constexpr uint32_t kJournalMagic = 0x4C4E4A43u;  // "CJNL"

struct JournalBlockHeader {
  uint32_t magic;
  uint16_t format_version;
  uint16_t count;        // entries that follow
  uint64_t block_seq;    // strictly increasing per device
  uint64_t durable_seq;  // every stripe with seq <= this was on stable storage
                         // (written and fdatasync'ed) before this block was written
  uint64_t uuid_seed;
  uint64_t version_limit;  // versions below it may have been issued (version_clock.h; 0: none)
  uint64_t checksum;       // XXH3(seed=uuid) of the header before this field + entries
};
static_assert(sizeof(JournalBlockHeader) == 48);

struct JournalEntry {
  static constexpr uint64_t kClear = uint64_t{1} << 63;  // flag in seq: a flush_all
  uint64_t key_hash;
  uint64_t seq;  // stripe seq of the record (| kClear)
};
static_assert(sizeof(JournalEntry) == 16);
inline constexpr uint32_t kJournalEntriesPerBlock =
    (kBlock - sizeof(JournalBlockHeader)) / sizeof(JournalEntry);

// Journal bytes reserved when a device is formatted (fixed for its lifetime).
inline uint64_t JournalBytesFor(uint32_t stripe_size) {
  return std::max<uint64_t>(256u << 10, uint64_t{stripe_size} * 2);
}

void SealJournalBlock(JournalBlockHeader* h, const JournalEntry* entries, uint64_t uuid_seed);
// Verifies a 4 KiB journal block; on success points *entries at its entries.
Status CheckJournalBlock(const char* block, uint64_t uuid_seed, const JournalBlockHeader** h,
                         const JournalEntry** entries);

inline uint64_t AlignUp(uint64_t v, uint64_t a) {
  return (v + a - 1) / a * a;
}
inline uint64_t AlignDown(uint64_t v, uint64_t a) {
  return v / a * a;
}
inline uint32_t RecordLength(size_t key_len, size_t value_len) {
  return static_cast<uint32_t>(sizeof(RecordHeader) + key_len + value_len);
}
// Bytes a record takes in a stripe, counting its directory entry and padding.
inline uint64_t RecordFootprint(size_t key_len, size_t value_len) {
  return AlignUp(RecordLength(key_len, value_len), kRecordAlign) + sizeof(DirEntry);
}

// --- superblock ---
void SealSuperblock(Superblock* sb);
Status CheckSuperblock(const Superblock& sb);

// --- stripe header ---
void SealStripeHeader(StripeHeader* h, uint64_t uuid_seed);
// Verifies magic, version, checksum, store identity and the stripe position.
Status CheckStripeHeader(const StripeHeader& h, uint64_t uuid_seed, uint32_t stripe_index,
                         uint32_t stripe_size, uint64_t stripe_count);

// --- records ---
// Writes header+key+value at dst (must hold RecordLength bytes) and seals the checksum.
void EncodeRecord(void* dst, RecordType type, std::string_view key, std::string_view value,
                  uint32_t flags, uint64_t version, int64_t expiry, uint64_t stripe_seq,
                  uint64_t uuid_seed);
// Re-stamps a record's stripe_seq (relocation) and re-seals its checksum.
void RestampRecord(void* rec, uint64_t stripe_seq, uint64_t uuid_seed);

struct RecordView {
  const RecordHeader* header;
  std::string_view key;
  std::string_view value;
};
// Verifies a record read from `len` bytes at p: magic, bounds, checksum,
// expected stripe seq. Never reads past p+len.
Result<RecordView> DecodeRecord(const void* p, size_t len, uint64_t uuid_seed, uint64_t expect_seq);

// Same, for bytes that never left this process (a membuf): bounds and magic
// only, no checksum (it would cost more than the rest of a memory hit).
Result<RecordView> DecodeRecordInMemory(const void* p, size_t len);

// --- directory ---
uint64_t DirChecksum(const DirEntry* entries, uint32_t count, uint64_t uuid_seed);
// Entry i of a run of `run_bytes` sits at run_bytes - (i+1)*32.
inline uint64_t DirEntryOffset(uint64_t run_bytes, uint32_t i) {
  return run_bytes - (uint64_t{i} + 1) * sizeof(DirEntry);
}
// Checks one directory entry against the header it came with.
bool DirEntrySane(const DirEntry& e, const StripeHeader& h);

// Decodes the directory of a run whose header passed CheckStripeHeader: `dir`
// holds the last record_count * 32 bytes of the run. Verifies the directory
// checksum, then appends the sane entries in write order (oldest first).
// Returns the number of insane entries skipped, or kCorruption.
Result<uint32_t> DecodeDirectory(const StripeHeader& h, const char* dir, size_t dir_bytes,
                                 uint64_t uuid_seed, std::vector<DirEntry>* out);

}  // namespace coss::format
