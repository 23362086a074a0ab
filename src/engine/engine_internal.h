// Internal entry points for tests and tools: open an engine over devices the
// caller built (e.g. a FaultDevice wrapping a real backend).
#pragma once

#include <functional>
#include <memory>

#include "coss/engine.h"
#include "io/device.h"

namespace coss {

// Called once per device after the real backend is opened; returns the device
// the engine will use (the same one, or a wrapper around it).
using DeviceWrapper =
    std::function<std::unique_ptr<Device>(uint32_t index, std::unique_ptr<Device>)>;

Result<std::unique_ptr<Engine>> OpenEngineWrapped(const EngineOptions& opts, DeviceWrapper wrap);

// Opens an engine over devices the caller made (e.g. MakeMemDevice for `coss sim`).
// opts.devices still gives one entry per device (paths are used in messages only).
Result<std::unique_ptr<Engine>> OpenEngineOnDevices(const EngineOptions& opts,
                                                    std::vector<std::unique_ptr<Device>> devices);

}  // namespace coss
