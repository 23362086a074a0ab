// The `coss` tool's subcommands. Each lives in its own folder under src/tools/
// and exposes one entry point; main.cc dispatches on argv[1].
#pragma once

namespace coss::tools {

struct Command {
  const char* name;
  const char* summary;
  int (*main)(int argc, char** argv);  // argv[0] is the subcommand name
};

// The table of built subcommands (main.cc).
extern const Command kCommands[];
extern const int kCommandCount;

}  // namespace coss::tools
