// Sizes and store lists as cossd and coss fsck read them (one parser for both).
//
// ParseByteSize: a byte count with an optional k/m/g/t suffix (binary units,
// optional trailing "b"/"ib", any case: 4096, 64k, 512m, 1g, 1GiB); false on
// anything else or on overflow.
// ParseStoreList: `PATH[:SIZE][,PATH[:SIZE]...]`; a missing SIZE means the
// existing file's (or device's) size (DeviceSpec::size = 0); SIZE 0, an empty
// PATH or an empty list are errors. Returns false with a one-line *err naming
// the bad item; never throws.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "coss/options.h"

namespace coss {

bool ParseByteSize(std::string_view s, uint64_t* out);
bool ParseStoreList(std::string_view s, std::vector<DeviceSpec>* out, std::string* err);

}  // namespace coss
