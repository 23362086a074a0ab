// Printing fsck's findings: aligned text for people (default) or one JSON
// object for scripts (--json). The JSON keys are a stable interface:
//   {"clean", "exit_code", "verify_records", "repair", "totals": {...},
//    "devices": [{"path", "size", "file_size", "superblock": {...}, "scanned",
//                 "stripes": {"total", "<state>"...}, "damaged_stripes": [...],
//                 "records": {...}, "bad_records": [...], "journal": {...},
//                 "index": {"live_objects", "live_bytes", ...}, "repairs": [...],
//                 "repair_refused", "stripe_list": [...] (with --verbose)}]}
#pragma once

#include <cstdio>
#include <vector>

#include "tools/fsck/findings.h"

namespace coss::tools::fsck {

struct FsckResult {
  std::vector<DeviceReport> devices;
  bool verify_records = true;
  bool repair = false;
  int exit_code = 0;
};

void PrintText(const FsckResult& res, bool verbose, std::FILE* out);
void PrintJson(const FsckResult& res, bool verbose, std::FILE* out);

// Shared by both printers.
std::string UuidString(const format::Uuid& u);
const char* FixName(Fix f);
const char* RecordTypeName(format::RecordType t);

}  // namespace coss::tools::fsck
