// Making file-system changes durable: a rename or an unlink is on stable
// storage only once the directory holding it has been fsynced.
#pragma once

#include <string>
#include <string_view>

#include "coss/status.h"

namespace coss {

// fsyncs the directory that holds `path` (after a rename into it, or an unlink).
Status SyncParentDir(const std::string& path);

// Writes `text` to `path` as a whole: a temporary file, fsynced, renamed over
// `path`, and the directory fsynced. Once this returns Ok a crash leaves the
// new contents; before, the old ones (never a mix).
Status WriteFileDurably(const std::string& path, std::string_view text);

// Unlinks `path` (absent is fine) and fsyncs its directory: once this returns
// Ok, a crash cannot bring the file back.
Status RemoveDurably(const std::string& path);

}  // namespace coss
