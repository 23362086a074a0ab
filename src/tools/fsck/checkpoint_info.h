// What fsck says about a device's index checkpoint (the engine's default place:
// PATH.ckpt). A clean restart loads it instead of the rebuild fsck models, once:
// the engine deletes it after loading. Read-only and never damage — a
// checkpoint the engine cannot use only means the restart rebuilds from the
// metadata fsck checked. Reads the file with the engine's ReadCheckpointFile
// (memory: the file's size) and applies Shard::WarmStart's identity checks.
#pragma once

#include <cstdint>
#include <string>

#include "tools/fsck/findings.h"

namespace coss::tools::fsck {

void InspectCheckpoint(DeviceReport* r);

}  // namespace coss::tools::fsck
