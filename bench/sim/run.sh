#!/usr/bin/env bash
# `coss sim` matrix of issue 6: every workload x cache size (1 %, 10 %, 30 % of
# the footprint) x policy (exact LRU and FIFO baselines, classic COSS = engine
# "always", the engine's other relocation policies), replayed through the real
# engine on in-memory devices. Writes bench/results/<YYYY-MM-DD>-sim/ with one
# CSV/JSON/PNG per workload and report.md (tables, goal check, figures).
#
#   bench/sim/run.sh                   # full matrix (10 M requests per synthetic workload)
#
# Environment:
#   REQUESTS    requests per synthetic workload (default 10000000; e.g. 1000000 for a smoke run)
#   POLICIES    comma list (default: lru,fifo,always,tail:25,reinsert:15,admit:ghost:50,
#               reinsert:15+admit:ghost:50; + $EXTRA_POLICIES)
#   EXTRA_POLICIES  appended to POLICIES
#   SIZES       default 1%,10%,30%
#   THREADS     jobs in parallel (default 2; each engine job holds its cache in RAM)
#   TRACE       oracleGeneral trace (default /work/shared/traces/cloudPhysicsIO.oracleGeneral.bin)
#   WORKLOADS   space-separated subset of the names below (default: all)
#   BUILD_DIR   build folder (default <repo>/build-sim-bench)
#   SIM_SOURCE  head (default): build a snapshot of the committed HEAD (git archive) with
#               this working tree's src/tools/sim on top, so that other uncommitted edits in
#               the shared tree are not measured; worktree: build the working tree as it is
#   OUT_DIR     results folder (default bench/results/<date>-sim)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD=${BUILD_DIR:-$ROOT/build-sim-bench}
DATE=$(date +%F)
OUT=${OUT_DIR:-$ROOT/bench/results/$DATE-sim}
N=${REQUESTS:-10000000}
POL=${POLICIES:-lru,fifo,always,tail:25,reinsert:15,admit:ghost:50,reinsert:15+admit:ghost:50}
[ -n "${EXTRA_POLICIES:-}" ] && POL="$POL,$EXTRA_POLICIES"
SIZES=${SIZES:-1%,10%,30%}
THREADS=${THREADS:-2}
TRACE=${TRACE:-/work/shared/traces/cloudPhysicsIO.oracleGeneral.bin}
START=$(date +%s)

mkdir -p "$OUT"
: >"$OUT/commands.log"
run() {
  printf '%s\n' "$*" >>"$OUT/commands.log"
  "$@"
}

# --- matplotlib for the PNGs (Debian's package)
if ! /usr/bin/python3 -c 'import matplotlib' 2>/dev/null; then
  apt-get install -y python3-matplotlib >/dev/null || {
    echo "python3-matplotlib is missing and could not be installed" >&2
    exit 1
  }
fi

# --- build (Release, own build folder)
COMMIT=$(git -C "$ROOT" rev-parse --short HEAD)
if [ "${SIM_SOURCE:-head}" = head ]; then
  SRC="$BUILD/src-snapshot"
  rm -rf "$SRC" && mkdir -p "$SRC"
  git -C "$ROOT" archive --format=tar HEAD | tar -x -C "$SRC"
  rm -rf "$SRC/src/tools/sim" && cp -r "$ROOT/src/tools/sim" "$SRC/src/tools/sim"
  SOURCE_DESC="git archive of HEAD $COMMIT + working-tree src/tools/sim"
  git -C "$ROOT" diff --quiet HEAD -- src/tools/sim ||
    SOURCE_DESC="$SOURCE_DESC (src/tools/sim differs from HEAD)"
  OBJ="$BUILD/obj"
else
  SRC="$ROOT"
  OBJ="$BUILD"
  SOURCE_DESC="working tree at $COMMIT; uncommitted: $(git -C "$ROOT" status --short -- src include | tr '\n' ' ')"
fi
cmake -S "$SRC" -B "$OBJ" -DCMAKE_BUILD_TYPE=Release -DCOSS_BENCH=OFF -DCOSS_SANITIZE= >/dev/null
cmake --build "$OBJ" -j2 --target coss_tool
COSS="$OBJ/src/tools/coss"
DEFAULT=$(sed -n 's/.*std::string relocation = "\([^"]*\)".*/\1/p' "$SRC/include/coss/options.h")

# --- workloads: name and spec. The issue's goal set first, extras after.
SZ=size=512-8192
declare -A SPEC=(
  [trace]="oracle:$TRACE"
  [zipf0.8]="zipf:alpha=0.8,objects=1000000,requests=$N,$SZ"
  [zipf1.0]="zipf:alpha=1.0,objects=1000000,requests=$N,$SZ"
  [zipf1.2]="zipf:alpha=1.2,objects=1000000,requests=$N,$SZ"
  [scan]="scan:alpha=1.0,objects=1000000,scan=0.2,scan_len=100000,scan_objects=1000000,requests=$N,$SZ"
  [onehit]="onehit:alpha=1.0,objects=1000000,onehit=0.3,requests=$N,$SZ"
  [ttl]="ttl:alpha=1.0,objects=1000000,ttl=300:30+3600:30+0:40,requests=$N,$SZ"
)
ORDER=(trace zipf0.8 zipf1.0 zipf1.2 scan onehit ttl)
GOAL="trace zipf0.8 zipf1.0 zipf1.2 scan onehit"
WANT=${WORKLOADS:-${ORDER[*]}}

for w in "${ORDER[@]}"; do
  case " $WANT " in *" $w "*) ;; *) continue ;; esac
  echo "== $w: ${SPEC[$w]}"
  run "$COSS" sim --workload "${SPEC[$w]}" --policies "$POL" --sizes "$SIZES" \
    --threads "$THREADS" --out "$OUT/$w" | tee "$OUT/$w.txt"
done

END=$(date +%s)
{
  echo "date: $(date -Is)"
  echo "source built: $SOURCE_DESC"
  echo "engine default relocation policy (include/coss/options.h): $DEFAULT"
  echo "nproc: $(nproc)"
  echo "cpu: $(lscpu | sed -n 's/^Model name: *//p')"
  echo "memory: $(free -g | awk '/^Mem:/ {print $2 " GiB"}')"
  echo "compiler: $(c++ --version | head -1)"
  echo "wall time of this run: $((END - START)) s"
  echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
} >"$OUT/machine.txt"

/usr/bin/python3 "$ROOT/bench/sim/report.py" "$OUT" "$DEFAULT" "$GOAL"
echo "report: $OUT/report.md"
