#!/usr/bin/env bash
# Overload soak of cossd (issue 7): builds cossd in its own build folder, runs
# bench/soak/soak.py for a few minutes and writes
# bench/results/<YYYY-MM-DD>-soak/ (report.md, machine.txt, samples.csv,
# summary.json, soak.png, cossd.log, commands.log).
#
#   bench/soak/run.sh                  # 3 minutes
#   bench/soak/run.sh --duration 600   # any soak.py option is passed through
#
# Environment:
#   BUILD_DIR   build folder (default <repo>/build-soak, RelWithDebInfo)
#   COSSD       use this cossd binary instead of building one
#   OUT_DIR     results folder (default bench/results/<date>-soak)
#   COSS_SOAK_TMP  folder for the store (default /var/tmp). The store file
#               (--store-size, default 8g) is sparse; the writers fill about
#               half of it (their budget), plus the journal.
# Exit status: 0 when every check of the report passed.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD=${BUILD_DIR:-$ROOT/build-soak}
OUT=${OUT_DIR:-$ROOT/bench/results/$(date +%F)-soak}
TMP=${COSS_SOAK_TMP:-/var/tmp}
mkdir -p "$OUT"
: >"$OUT/commands.log"

run() {
  printf '%s\n' "$*" >>"$OUT/commands.log"
  "$@"
}

if [ -z "${COSSD:-}" ]; then
  if [ ! -f "$BUILD/CMakeCache.txt" ]; then
    run cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo
  fi
  run cmake --build "$BUILD" -j2 --target cossd
  COSSD=$BUILD/src/server/cossd
fi

avail=$(df --output=avail -B1G "$TMP" | tail -1 | tr -d ' ')
echo "free space in $TMP: ${avail} GiB"
if [ "$avail" -lt 12 ]; then
  echo "need at least 12 GiB free in $TMP (or pass a smaller --store-size)" >&2
  exit 1
fi

cmd=(/usr/bin/python3 "$ROOT/bench/soak/soak.py" --cossd "$COSSD" --out "$OUT" --tmp "$TMP" "$@")
run "${cmd[@]}" --command "bench/soak/run.sh $*"
