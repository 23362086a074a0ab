#include "tools/fsck/checkpoint_info.h"

#include <filesystem>

#include "engine/checkpoint.h"

namespace coss::tools::fsck {

std::string CheckpointPath(const std::string& store_path, const std::string& option) {
  if (option == "none") return {};
  if (option.empty()) return store_path + ".ckpt";
  return option + "/" + std::filesystem::path(store_path).filename().string() + ".ckpt";
}

void InspectCheckpoint(DeviceReport* r) {
  CheckpointInfo& c = r->checkpoint;
  if (c.path.empty()) return;
  auto ck = ReadCheckpointFile(c.path);
  if (!ck.ok()) {
    c.present = ck.status().code() != Code::kNotFound;
    if (c.present) c.note = "unusable: " + ck.status().message() + "; a restart rebuilds";
    return;
  }
  c.present = true;
  const CheckpointHeader& h = ck->header;
  c.clean = h.clean != 0;
  c.entries = h.entry_count;
  c.created_unix = h.created_unix;
  const format::Superblock& sb = r->super.sb;
  if (!r->super.valid || h.uuid_seed != sb.uuid.Seed() || h.device_index != sb.device_index ||
      h.stripe_size != sb.stripe_size || h.stripe_count != sb.stripe_count ||
      h.head >= h.stripe_count) {
    c.note = "belongs to another store layout; a restart ignores it and rebuilds";
    return;
  }
  c.usable = true;
  c.note = std::string(c.clean ? "written by a clean stop" : "periodic") +
           ": a restart loads it (then replays newer runs) instead of rebuilding";
}

}  // namespace coss::tools::fsck
