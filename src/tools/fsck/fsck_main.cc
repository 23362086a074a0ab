// `coss fsck`: offline check (and with --repair, fix) of a coss store.
//
//   coss fsck [--json] [--repair] [--verbose] [--no-verify-records]
//             --store PATH[:SIZE][,PATH[:SIZE]...] [--stripe-size N]
//
// Reads each device as the engine's rebuild does (scan.h) and reports per-
// stripe state, record counts and failures, the journal, and the index a
// restart would rebuild. The server must be stopped: fsck takes the store
// files' flock (shared; exclusive with --repair) and refuses a locked store.
// Exit status: 0 clean; 1 damage found (also when --repair fixed it: run
// again to confirm); 2 usage error, a store that cannot be opened or locked.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "coss/engine.h"
#include "tools/fsck/checkpoint_info.h"
#include "tools/fsck/repair.h"
#include "tools/fsck/report.h"
#include "tools/fsck/scan.h"
#include "tools/fsck/store_file.h"
#include "util/store_list.h"

namespace coss::tools {

int FsckMain(int argc, char** argv) {
  using namespace fsck;
  CLI::App app{
      "Verify a coss store offline (server stopped): superblock, stripe headers and "
      "directories, records, journal; report the index a restart would rebuild. "
      "--repair marks damaged stripes empty and clears failing records so that the store "
      "opens cleanly.\nExit status: 0 clean, 1 damage found, 2 usage or I/O error.",
      "coss fsck"};
  std::string store, stripe_arg, checkpoint;
  bool json = false, repair = false, verbose = false, verify = true;
  app.add_option("--store", store,
                 "the store's files or devices, in their original order: "
                 "PATH[:SIZE][,PATH[:SIZE]...], SIZE like 1g/512m (default: the file's size)")
      ->required()
      ->type_name("PATH[:SIZE],...");
  app.add_option("--stripe-size", stripe_arg,
                 "expected stripe size (default: read from the superblock; a different "
                 "value is reported as a problem)")
      ->type_name("SIZE");
  app.add_option("--checkpoint", checkpoint,
                 "where cossd keeps index checkpoints, as its --checkpoint: none, or a directory "
                 "(default: next to each store file); --repair sets a checkpoint aside")
      ->type_name("none|DIR");
  app.add_flag("--json", json, "print one JSON object instead of text");
  app.add_flag("--repair", repair,
               "mark damaged stripes empty, clear failing records, zero corrupt journal blocks");
  app.add_flag("-v,--verbose", verbose, "list every stripe, every damaged stripe and record");
  app.add_flag("--verify-records,!--no-verify-records", verify,
               "read every record of the kept runs and verify its checksum (default: on)");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }

  uint64_t stripe_size = 0;
  if (!stripe_arg.empty() &&
      (!ParseByteSize(stripe_arg, &stripe_size) || stripe_size < format::kMinStripe ||
       stripe_size > format::kMaxStripe || (stripe_size & (stripe_size - 1)) != 0)) {
    std::fprintf(stderr,
                 "coss fsck: --stripe-size: expected a power of two from 64k to 16m, got '%s'\n",
                 stripe_arg.c_str());
    return 2;
  }
  std::vector<DeviceSpec> specs;
  std::string err;
  if (!ParseStoreList(store, &specs, &err)) {
    std::fprintf(stderr, "coss fsck: --store: %s\n", err.c_str());
    return 2;
  }

  // Open (and lock) every device before reading any: all or nothing.
  std::vector<std::unique_ptr<StoreFile>> files;
  for (const DeviceSpec& s : specs) {
    auto f = StoreFile::Open(s.path, s.size, repair);
    if (!f.ok()) {
      std::fprintf(stderr, "coss fsck: %s\n", f.status().message().c_str());
      return 2;
    }
    files.push_back(std::move(*f));
  }

  FsckResult res;
  res.verify_records = verify;
  res.repair = repair;
  ScanOptions so;
  so.verify_records = verify;
  so.verbose = verbose;
  so.now = NowSeconds();
  format::Uuid first_uuid{};
  bool have_first = false;
  for (size_t i = 0; i < files.size(); i++) {
    DeviceReport& d = res.devices.emplace_back();
    d.path = specs[i].path;
    d.size = files[i]->size();
    d.file_size = files[i]->file_size();
    d.checkpoint.path = CheckpointPath(d.path, checkpoint);
    DevicePlace place;
    place.index = static_cast<uint32_t>(i);
    place.count = static_cast<uint32_t>(files.size());
    place.first = have_first ? &first_uuid : nullptr;
    place.stripe_size_flag = static_cast<uint32_t>(stripe_size);
    place.size_given = specs[i].size != 0;
    ScanDevice(*files[i], place, so, &d);
    if (!have_first && d.super.valid) first_uuid = d.super.sb.uuid, have_first = true;
  }

  bool damaged = false, super_problems = false;
  for (const DeviceReport& d : res.devices) {
    damaged = damaged || d.damaged();
    super_problems = super_problems || !d.super.problems.empty();
  }
  if (repair && damaged) {
    for (size_t i = 0; i < files.size(); i++) {
      DeviceReport& d = res.devices[i];
      if (super_problems) {
        d.repair_refused =
            "the store's superblocks or its configuration have problems (see above): fix the "
            "--store list, sizes or --stripe-size first; fsck repairs stripes only when it is "
            "sure it reads the store as cossd would";
        continue;
      }
      if (d.damaged()) RepairDevice(*files[i], &d);
    }
  }
  res.exit_code = damaged ? 1 : 0;
  if (json) {
    PrintJson(res, verbose, stdout);
  } else {
    PrintText(res, verbose, stdout);
  }
  return res.exit_code;
}

}  // namespace coss::tools
