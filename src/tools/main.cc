// coss: command-line tool. `coss <command> [options]`; `coss <command> --help`.
#include <cstdio>
#include <cstring>

#include "tools/commands.h"

namespace coss::tools {

// Entry points, one per subcommand folder. Add a line here and one in kCommands.
int BenchMain(int argc, char** argv);
int StatsMain(int argc, char** argv);
int SimMain(int argc, char** argv);
int FsckMain(int argc, char** argv);

const Command kCommands[] = {
    {"help", "list the commands", nullptr},
    {"bench", "load generator and trace replayer for memcached-protocol servers", BenchMain},
    {"stats", "print a server's stats counters (cossd or memcached)", StatsMain},
    {"sim", "replay a trace through the engine's policies offline (hit ratio, write amp)", SimMain},
    {"fsck", "check a store offline (stripes, records, journal); --repair fixes damage", FsckMain},
};
const int kCommandCount = sizeof(kCommands) / sizeof(kCommands[0]);

}  // namespace coss::tools

namespace {
int Usage(FILE* out) {
  std::fprintf(out, "usage: coss <command> [options]\n\ncommands:\n");
  for (int i = 0; i < coss::tools::kCommandCount; i++) {
    std::fprintf(out, "  %-8s %s\n", coss::tools::kCommands[i].name,
                 coss::tools::kCommands[i].summary);
  }
  std::fprintf(out, "\n`coss <command> --help` describes a command's options.\n");
  return out == stdout ? 0 : 2;
}
}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || std::strcmp(argv[1], "help") == 0 || std::strcmp(argv[1], "--help") == 0 ||
      std::strcmp(argv[1], "-h") == 0) {
    return Usage(argc < 2 ? stderr : stdout);
  }
  for (int i = 0; i < coss::tools::kCommandCount; i++) {
    const auto& c = coss::tools::kCommands[i];
    if (c.main != nullptr && std::strcmp(argv[1], c.name) == 0) return c.main(argc - 1, argv + 1);
  }
  std::fprintf(stderr, "coss: unknown command '%s' (try: coss help)\n", argv[1]);
  return 2;
}
