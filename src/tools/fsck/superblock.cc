#include "tools/fsck/superblock.h"

#include <algorithm>
#include <string>
#include <vector>

namespace coss::tools::fsck {

namespace {
std::string N(uint64_t v) {
  return std::to_string(v);
}
}  // namespace

bool CheckDeviceSuperblock(StoreFile& f, const DevicePlace& place, DeviceReport* r) {
  SuperblockInfo& si = r->super;
  auto problem = [&](std::string s) { si.problems.push_back(std::move(s)); };
  if (f.file_size() < format::kSuperblockSize) {
    problem("the file has " + N(f.file_size()) + " bytes: too short to hold a coss superblock");
    return false;
  }
  std::vector<char> buf(format::kSuperblockSize);
  if (Status s = ReadSync(f, 0, buf.data(), buf.size()); !s.ok()) {
    problem("cannot read the superblock: " + s.message());
    return false;
  }
  si.read_ok = true;
  std::memcpy(&si.sb, buf.data(), sizeof si.sb);
  const format::Superblock& sb = si.sb;
  if (sb.magic != format::kSuperMagic) {
    const bool blank = std::all_of(buf.begin(), buf.end(), [](char c) { return c == 0; });
    problem(blank ? "no superblock: the file is blank (never formatted by cossd)"
                  : "not a coss store: no superblock magic at offset 0");
    return false;
  }
  if (Status s = format::CheckSuperblock(sb); !s.ok()) {
    problem(s.message());
    return false;
  }
  si.valid = true;
  if (place.stripe_size_flag != 0 && place.stripe_size_flag != sb.stripe_size)
    problem("the store was formatted with stripe size " + N(sb.stripe_size) +
            " but --stripe-size is " + N(place.stripe_size_flag) +
            " (cossd would refuse this configuration; fsck uses the superblock's)");
  if (sb.journal_bytes != format::JournalBytesFor(sb.stripe_size))
    problem("the journal is " + N(sb.journal_bytes) + " bytes, this build expects " +
            N(format::JournalBytesFor(sb.stripe_size)) + ": made by another coss version");
  if (sb.device_index != place.index || sb.device_count != place.count)
    problem("this is device " + N(sb.device_index + 1) + " of " + N(sb.device_count) +
            " of its store, but is listed as device " + N(place.index + 1) + " of " +
            N(place.count) + ": list the store's files in their original order");
  if (place.first != nullptr && !(sb.uuid == *place.first))
    problem("it belongs to a different store than the first device (store UUIDs differ)");
  if (sb.stripe_count == 0 || sb.stripe_count > (uint64_t{1} << 24)) {
    problem("the superblock's stripe count " + N(sb.stripe_count) + " is out of range");
    return false;
  }

  r->stripe_size = sb.stripe_size;
  r->data_start = format::kSuperblockSize + sb.journal_bytes;
  const uint64_t ss = sb.stripe_size;
  const uint64_t in_use = r->size > r->data_start ? (r->size - r->data_start) / ss : 0;
  if (place.size_given && in_use != sb.stripe_count)
    problem("formatted for " + N(sb.device_size) + " bytes (" + N(sb.stripe_count) +
            " stripes) but the size in use is " + N(r->size) + " bytes (" + N(in_use) +
            " stripes): give the original size (PATH:" + N(sb.device_size) + ")");
  const uint64_t in_file = f.file_size() > r->data_start ? (f.file_size() - r->data_start) / ss : 0;
  if (in_file < sb.stripe_count)
    problem("the file is truncated: it has " + N(f.file_size()) + " bytes, the store needs " +
            N(r->data_start + sb.stripe_count * ss) + "; " + N(sb.stripe_count - in_file) +
            " stripes are missing");
  r->stripes = static_cast<uint32_t>(std::min<uint64_t>(sb.stripe_count, in_file));
  return true;
}

}  // namespace coss::tools::fsck
