// What fsck says about a device's index checkpoint. Where it is follows
// cossd's --checkpoint: PATH.ckpt next to the store file (default), DIR/NAME.ckpt
// with --checkpoint DIR, none with --checkpoint none (CheckpointPath).
// A clean restart loads it instead of the rebuild fsck models, once:
// the engine deletes it after loading. Read-only and never damage — a
// checkpoint the engine cannot use only means the restart rebuilds from the
// metadata fsck checked. Reads the file with the engine's ReadCheckpointFile
// (memory: the file's size) and applies Shard::WarmStart's identity checks.
#pragma once

#include <cstdint>
#include <string>

#include "tools/fsck/findings.h"

namespace coss::tools::fsck {

// `option`: "" (default), "none" or a directory. Returns "" for none.
std::string CheckpointPath(const std::string& store_path, const std::string& option);

// Reads r->checkpoint.path (set by the caller; "" = checkpoints off).
void InspectCheckpoint(DeviceReport* r);

}  // namespace coss::tools::fsck
