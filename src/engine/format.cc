#include "engine/format.h"

#include <string>

#include "util/hash.h"

namespace coss::format {

namespace {
template <typename T>
uint64_t ChecksumBefore(const T& s, uint64_t seed) {
  return Checksum(&s, offsetof(T, checksum), seed);
}
}  // namespace

void SealSuperblock(Superblock* sb) {
  sb->checksum = ChecksumBefore(*sb, 0);
}

Status CheckSuperblock(const Superblock& sb) {
  if (sb.magic != kSuperMagic) return Error(Code::kCorruption, "no coss superblock (bad magic)");
  if (sb.checksum != ChecksumBefore(sb, 0))
    return Error(Code::kCorruption, "superblock checksum mismatch");
  if (sb.format_version != kFormatVersion)
    return Error(Code::kCorruption, "unsupported store format version " +
                                        std::to_string(sb.format_version) + " (this build reads " +
                                        std::to_string(kFormatVersion) + ")");
  if (!std::has_single_bit(sb.stripe_size) || sb.stripe_size < kMinStripe ||
      sb.stripe_size > kMaxStripe)
    return Error(Code::kCorruption, "superblock has an invalid stripe size");
  return Status::Ok();
}

void SealStripeHeader(StripeHeader* h, uint64_t uuid_seed) {
  h->magic = kStripeMagic;
  h->format_version = kFormatVersion;
  h->uuid_seed = uuid_seed;
  h->checksum = ChecksumBefore(*h, uuid_seed);
}

Status CheckStripeHeader(const StripeHeader& h, uint64_t uuid_seed, uint32_t stripe_index,
                         uint32_t stripe_size, uint64_t stripe_count) {
  if (h.magic != kStripeMagic) return Error(Code::kNotFound, "no stripe header");
  if (h.uuid_seed != uuid_seed || h.checksum != ChecksumBefore(h, uuid_seed))
    return Error(Code::kCorruption, "stripe header checksum or store identity mismatch");
  if (h.format_version != kFormatVersion)
    return Error(Code::kCorruption, "stripe header format version mismatch");
  if (h.stripe_index != stripe_index)
    return Error(Code::kCorruption, "stripe header names another stripe");
  if (h.kind == StripeKind::kEmpty) return Status::Ok();
  if (h.kind != StripeKind::kData || h.span == 0 || stripe_index + uint64_t{h.span} > stripe_count)
    return Error(Code::kCorruption, "stripe header has an invalid kind or span");
  const uint64_t run = uint64_t{h.span} * stripe_size;
  const uint64_t dir = uint64_t{h.record_count} * sizeof(DirEntry);
  if (h.data_end < kStripeHeaderSize || h.data_end > run || dir > run - h.data_end)
    return Error(Code::kCorruption, "stripe header has inconsistent sizes");
  return Status::Ok();
}

void EncodeRecord(void* dst, RecordType type, std::string_view key, std::string_view value,
                  uint32_t flags, uint64_t version, int64_t expiry, uint64_t stripe_seq,
                  uint64_t uuid_seed) {
  RecordHeader h{};
  h.magic = kRecordMagic;
  h.type = type;
  h.key_len = static_cast<uint8_t>(key.size());
  h.value_len = static_cast<uint32_t>(value.size());
  h.flags = flags;
  h.version = version;
  h.expiry = expiry;
  h.stripe_seq = stripe_seq;
  auto* out = static_cast<char*>(dst);
  std::memcpy(out, &h, sizeof h);
  if (!key.empty()) std::memcpy(out + sizeof h, key.data(), key.size());
  if (!value.empty()) std::memcpy(out + sizeof h + key.size(), value.data(), value.size());
  RestampRecord(dst, stripe_seq, uuid_seed);
}

void RestampRecord(void* rec, uint64_t stripe_seq, uint64_t uuid_seed) {
  auto* h = static_cast<RecordHeader*>(rec);
  h->stripe_seq = stripe_seq;
  const size_t len = RecordLength(h->key_len, h->value_len);
  h->checksum = Checksum(static_cast<char*>(rec) + 8, len - 8, uuid_seed);
}

Result<RecordView> DecodeRecord(const void* p, size_t len, uint64_t uuid_seed,
                                uint64_t expect_seq) {
  if (len < sizeof(RecordHeader)) return Error(Code::kCorruption, "record truncated");
  RecordHeader h;
  std::memcpy(&h, p, sizeof h);
  if (h.magic != kRecordMagic) return Error(Code::kCorruption, "record magic mismatch");
  if (h.key_len == 0 || h.key_len > kMaxKey) return Error(Code::kCorruption, "record key length");
  const uint64_t need = uint64_t{sizeof h} + h.key_len + h.value_len;
  if (need > len) return Error(Code::kCorruption, "record longer than its extent");
  const auto* c = static_cast<const char*>(p);
  if (h.checksum != Checksum(c + 8, need - 8, uuid_seed))
    return Error(Code::kCorruption, "record checksum mismatch");
  if (h.stripe_seq != expect_seq) return Error(Code::kCorruption, "record from an earlier lap");
  RecordView v;
  v.header = static_cast<const RecordHeader*>(p);
  v.key = std::string_view(c + sizeof h, h.key_len);
  v.value = std::string_view(c + sizeof h + h.key_len, h.value_len);
  return v;
}

Result<RecordView> DecodeRecordInMemory(const void* p, size_t len) {
  if (len < sizeof(RecordHeader)) return Error(Code::kCorruption, "record truncated");
  const auto* h = static_cast<const RecordHeader*>(p);
  const uint64_t need = uint64_t{sizeof *h} + h->key_len + h->value_len;
  if (h->magic != kRecordMagic || need > len) return Error(Code::kCorruption, "record bounds");
  const auto* c = static_cast<const char*>(p);
  return RecordView{h, std::string_view(c + sizeof *h, h->key_len),
                    std::string_view(c + sizeof *h + h->key_len, h->value_len)};
}

uint64_t DirChecksum(const DirEntry* entries, uint32_t count, uint64_t uuid_seed) {
  return Checksum(entries, uint64_t{count} * sizeof(DirEntry), uuid_seed);
}

bool DirEntrySane(const DirEntry& e, const StripeHeader& h) {
  if (e.offset < kStripeHeaderSize || e.offset % kRecordAlign != 0) return false;
  if (e.length < sizeof(RecordHeader) || e.offset + uint64_t{e.length} > h.data_end) return false;
  return e.type == RecordType::kValue || e.type == RecordType::kTombstone ||
         e.type == RecordType::kClear;
}

Result<uint32_t> DecodeDirectory(const StripeHeader& h, const char* dir, size_t dir_bytes,
                                 uint64_t uuid_seed, std::vector<DirEntry>* out) {
  const uint64_t need = uint64_t{h.record_count} * sizeof(DirEntry);
  if (dir_bytes != need) return Error(Code::kCorruption, "directory size mismatch");
  if (Checksum(dir, need, uuid_seed) != h.dir_checksum)
    return Error(Code::kCorruption, "directory checksum mismatch");
  uint32_t insane = 0;
  for (uint32_t i = 0; i < h.record_count; i++) {
    DirEntry e;
    std::memcpy(&e, dir + need - (uint64_t{i} + 1) * sizeof e, sizeof e);
    if (DirEntrySane(e, h)) {
      out->push_back(e);
    } else {
      insane++;
    }
  }
  return insane;
}

namespace {
uint64_t JournalChecksum(const JournalBlockHeader* h, const JournalEntry* e, uint64_t seed) {
  const uint64_t head = Checksum(h, offsetof(JournalBlockHeader, checksum), seed);
  return Checksum(e, uint64_t{h->count} * sizeof(JournalEntry), head);
}
}  // namespace

void SealJournalBlock(JournalBlockHeader* h, const JournalEntry* entries, uint64_t uuid_seed) {
  h->magic = kJournalMagic;
  h->format_version = kFormatVersion;
  h->uuid_seed = uuid_seed;
  h->checksum = JournalChecksum(h, entries, uuid_seed);
}

Status CheckJournalBlock(const char* block, uint64_t uuid_seed, const JournalBlockHeader** h,
                         const JournalEntry** entries) {
  const auto* hdr = reinterpret_cast<const JournalBlockHeader*>(block);
  if (hdr->magic != kJournalMagic) return Error(Code::kNotFound, "no journal block");
  if (hdr->uuid_seed != uuid_seed || hdr->count > kJournalEntriesPerBlock ||
      hdr->format_version != kFormatVersion)
    return Error(Code::kCorruption, "journal block from another store or version");
  const auto* e = reinterpret_cast<const JournalEntry*>(block + sizeof(JournalBlockHeader));
  if (JournalChecksum(hdr, e, uuid_seed) != hdr->checksum)
    return Error(Code::kCorruption, "journal block checksum mismatch");
  *h = hdr;
  *entries = e;
  return Status::Ok();
}

}  // namespace coss::format
