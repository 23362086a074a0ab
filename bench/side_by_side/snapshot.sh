#!/usr/bin/env bash
# snapshot.sh DEST: a source tree to build from = `git archive HEAD` with this
# working tree's copies of the bench/stats tool folders and their tests laid on
# top, and the dispatcher lines for `bench`/`stats` added to the shared files
# if HEAD does not have them yet. Uncommitted edits by others elsewhere in the
# shared working tree are never built or measured. Prints a one-line
# description of what was built.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
FINAL=$1
# Assemble in a fresh folder, then copy into FINAL only the files whose bytes
# changed, so that an incremental build of FINAL stays incremental.
DEST=$FINAL.new
rm -rf "$DEST" && mkdir -p "$DEST" "$FINAL"
git -C "$ROOT" archive --format=tar HEAD | tar -x -C "$DEST"
MINE=(src/tools/bench src/tools/stats tests/tools bench/side_by_side)
for d in "${MINE[@]}"; do
  rm -rf "${DEST:?}/$d"
  if [ -d "$ROOT/$d" ]; then
    mkdir -p "$DEST/$d"
    cp -r "$ROOT/$d/." "$DEST/$d/"
  fi
done
/usr/bin/python3 - "$DEST" <<'PY'
import sys, re
d = sys.argv[1]
def patch(path, anchor, lines):
    p = f"{d}/{path}"
    s = open(p).read()
    missing = [l for l in lines if l not in s]
    if not missing:
        return
    i = s.index(anchor) + len(anchor)
    s = s[:i] + "".join(missing) + s[i:]
    open(p, "w").write(s)
patch("src/tools/main.cc",
      "// Entry points, one per subcommand folder. Add a line here and one in kCommands.\n",
      ["int BenchMain(int argc, char** argv);\n", "int StatsMain(int argc, char** argv);\n"])
patch("src/tools/main.cc", '    {"help", "list the commands", nullptr},\n',
      ['    {"bench", "load generator and trace replayer for memcached-protocol servers", BenchMain},\n',
       '    {"stats", "print a server\'s stats counters (cossd or memcached)", StatsMain},\n'])
patch("src/tools/CMakeLists.txt", "target_link_libraries(coss_tool PRIVATE coss)\n",
      ["add_subdirectory(bench)  # coss bench: library coss_tool_bench (src/tools/bench/CMakeLists.txt)\n",
       "add_subdirectory(stats)  # coss stats: library coss_tool_stats (src/tools/stats/CMakeLists.txt)\n",
       "target_link_libraries(coss_tool PRIVATE coss_tool_bench coss_tool_stats)\n"])
p = f"{d}/tests/CMakeLists.txt"
s = open(p).read()
if not re.search(r"foreach\(sub [^)]*\btools\b", s):
    s = re.sub(r"foreach\(sub ([^)]*)\)", r"foreach(sub \1 tools)", s, count=1)
    open(p, "w").write(s)
PY
/usr/bin/python3 - "$DEST" "$FINAL" <<'PY'
import filecmp, os, shutil, sys
src, dst = sys.argv[1], sys.argv[2]
want = set()
for base, dirs, files in os.walk(src):
    rel = os.path.relpath(base, src)
    os.makedirs(os.path.join(dst, rel), exist_ok=True)
    for f in files:
        r = os.path.normpath(os.path.join(rel, f))
        want.add(r)
        a, b = os.path.join(src, r), os.path.join(dst, r)
        if not os.path.exists(b) or not filecmp.cmp(a, b, shallow=False):
            shutil.copy2(a, b)
for base, dirs, files in os.walk(dst):
    for f in files:
        r = os.path.normpath(os.path.join(os.path.relpath(base, dst), f))
        if r not in want:
            os.remove(os.path.join(dst, r))
PY
rm -rf "$DEST"
desc="git archive of HEAD $(git -C "$ROOT" rev-parse --short HEAD) + working-tree ${MINE[*]}"
if ! git -C "$ROOT" diff --quiet HEAD -- "${MINE[@]}" 2>/dev/null ||
   [ -n "$(git -C "$ROOT" ls-files --others --exclude-standard -- "${MINE[@]}")" ]; then
  desc="$desc (these differ from HEAD)"
fi
echo "$desc"
