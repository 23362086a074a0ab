// Parsing `--store PATH[:SIZE][,PATH[:SIZE]...]` the way cossd reads it.
//
// Contract: SIZE is a byte count with an optional k/m/g/t suffix (binary units,
// optional trailing "b"/"ib", any case: 64k, 512m, 1g, 1GiB). For fsck SIZE may
// be omitted (size 0 = use the file's size). Returns false with *err set on bad
// input; never throws.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace coss::tools::fsck {

struct StoreSpec {
  std::string path;
  uint64_t size = 0;  // 0: the file's (or block device's) size
};

bool ParseByteSize(std::string_view s, uint64_t* out);
bool ParseStoreList(std::string_view s, std::vector<StoreSpec>* out, std::string* err);

}  // namespace coss::tools::fsck
