#!/usr/bin/env bash
# Engine micro-benchmark run (issue 2): builds engine_bench in Release, runs it,
# runs fio on a file of the same size in the same folder, and writes
# bench/results/<YYYY-MM-DD>-engine/report.md with the raw JSON next to it.
#
#   bench/engine/run.sh                 # full run (~5 minutes on 2 cores)
#
# Environment:
#   COSS_BENCH_PARENT    folder for the store and fio files (default /var/tmp)
#   COSS_BENCH_FLUSH_GIB size of the stripe-flush store and of the fio file (default 4)
#   COSS_BENCH_REPS      Google Benchmark repetitions (default 3)
#   BUILD_DIR            build folder (default <repo>/build-bench)
#   COSS_BENCH_SOURCE    head (default): build a snapshot of the committed HEAD (git archive)
#                        with this working tree's bench/engine on top, so that uncommitted
#                        edits elsewhere in the shared tree are not measured;
#                        worktree: build the working tree as it is
#   OUT_DIR              results folder (default bench/results/<date>-engine)
#   COSS_BENCH_ARGS      extra engine_bench flags (e.g. --benchmark_min_time=0.05 for a smoke run)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD=${BUILD_DIR:-$ROOT/build-bench}
PARENT=${COSS_BENCH_PARENT:-/var/tmp}
GIB=${COSS_BENCH_FLUSH_GIB:-4}
REPS=${COSS_BENCH_REPS:-3}
DATE=$(date +%F)
OUT=${OUT_DIR:-$ROOT/bench/results/$DATE-engine}
START=$(date +%s)
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)

mkdir -p "$OUT/fio"
: >"$OUT/commands.log"

# Every command that produces a figure goes through run(): it is logged verbatim.
run() {
  printf '%s\n' "$*" >>"$OUT/commands.log"
  "$@"
}

# --- disk space: the flush store and the fio file (never both at once), the
# 1 GiB get store, and a margin.
need_gib=$((GIB + 3))
avail=$(df --output=avail -B1G "$PARENT" | tail -1 | tr -d ' ')
echo "free space in $PARENT: ${avail} GiB (need ${need_gib} GiB)"
df -h "$PARENT"
if [ "$avail" -lt "$need_gib" ]; then
  echo "not enough free space in $PARENT" >&2
  exit 1
fi

WORK=$(mktemp -d "$PARENT/coss-bench.XXXXXX")
cleanup() { rm -rf "$WORK"; }
trap cleanup EXIT

# --- build (Release, own build folder)
SOURCE_MODE=${COSS_BENCH_SOURCE:-head}
COMMIT=$(git -C "$ROOT" rev-parse --short HEAD)
if [ "$SOURCE_MODE" = head ]; then
  SRC="$BUILD/src-snapshot"
  rm -rf "$SRC" && mkdir -p "$SRC"
  git -C "$ROOT" archive --format=tar HEAD | tar -x -C "$SRC"
  rm -rf "$SRC/bench/engine" && mkdir -p "$SRC/bench/engine"
  cp "$ROOT"/bench/engine/* "$SRC/bench/engine/"
  SOURCE_DESC="git archive of HEAD $COMMIT + working-tree bench/engine"
  git -C "$ROOT" diff --quiet HEAD -- bench/engine 2>/dev/null &&
    [ -z "$(git -C "$ROOT" ls-files --others --exclude-standard bench/engine)" ] ||
    SOURCE_DESC="$SOURCE_DESC (bench/engine differs from HEAD)"
  OBJ="$BUILD/obj"
else
  SRC="$ROOT"
  OBJ="$BUILD"
  SOURCE_DESC="working tree at $COMMIT; uncommitted: $(git -C "$ROOT" status --short -- src include | tr '\n' ' ')"
fi
cmake -S "$SRC" -B "$OBJ" -DCMAKE_BUILD_TYPE=Release -DCOSS_BENCH=ON -DCOSS_SANITIZE= >/dev/null
cmake --build "$OBJ" -j2 --target engine_bench
BENCH="$OBJ/bench/engine/engine_bench"

# --- engine benchmark (everything but the stripe flush)
echo "== engine_bench"
run env COSS_BENCH_DIR="$WORK" "$BENCH" --benchmark_filter=-flush/ \
  --benchmark_repetitions="$REPS" --benchmark_display_aggregates_only=true \
  --benchmark_out="$OUT/engine_bench.json" --benchmark_out_format=json ${COSS_BENCH_ARGS:-} \
  | tee "$OUT/engine_bench.txt"

# --- stripe flush and fio sequential write, interleaved so that each coss
# repetition and its fio counterpart see the same machine state; same size,
# same folder.
echo "== stripe flush + fio"
F="$WORK/fio.dat"
SEQ=(--filename="$F" --size="${GIB}g" --bs=1m --rw=write --direct=1 --ioengine=io_uring
     --end_fsync=1 --fallocate=none --output-format=json)
for r in $(seq 1 "$REPS"); do
  run env COSS_BENCH_DIR="$WORK" COSS_BENCH_FLUSH_GIB="$GIB" "$BENCH" --benchmark_filter=flush/ \
    --benchmark_out="$OUT/flush-r$r.json" --benchmark_out_format=json | tee -a "$OUT/engine_bench.txt"
  rm -f "$F"  # fresh: a new sparse file, like a new coss store
  run fio --name=seqwrite-fresh-qd4 "${SEQ[@]}" --iodepth=4 --output="$OUT/fio/seqwrite-fresh-qd4-r$r.json"
  run fio --name=seqwrite-overwrite-qd4 "${SEQ[@]}" --iodepth=4 --output="$OUT/fio/seqwrite-overwrite-qd4-r$r.json"
done
run fio --name=seqwrite-overwrite-qd1 "${SEQ[@]}" --iodepth=1 --output="$OUT/fio/seqwrite-overwrite-qd1.json"
run fio --name=seqwrite-overwrite-qd32 "${SEQ[@]}" --iodepth=32 --output="$OUT/fio/seqwrite-overwrite-qd32.json"
# 4 KiB random reads over the first 512 MiB (the coss get stores hold 0.2-0.4 GB).
RR=(--filename="$F" --size=512m --bs=4k --rw=randread --direct=1 --ioengine=io_uring
    --runtime=8 --time_based --output-format=json)
run fio --name=randread-qd1 "${RR[@]}" --iodepth=1 --output="$OUT/fio/randread-qd1.json"
run fio --name=randread-4jobs-qd1 "${RR[@]}" --iodepth=1 --numjobs=4 --group_reporting \
  --output="$OUT/fio/randread-4jobs-qd1.json"
run fio --name=randread-qd32 "${RR[@]}" --iodepth=32 --output="$OUT/fio/randread-qd32.json"
rm -f "$F"

END=$(date +%s)
LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)

# --- machine facts
FS_LINE=$(findmnt -n -o SOURCE,FSTYPE,OPTIONS -T "$PARENT")
DEV=$(findmnt -n -o SOURCE -T "$PARENT")
{
  echo "date: $(date -Is)"
  echo "source built: $SOURCE_DESC"
  echo "nproc: $(nproc)"
  echo "cpu: $(lscpu | sed -n 's/^Model name: *//p')"
  echo "memory: $(free -g | awk '/^Mem:/ {print $2 " GiB"}')"
  echo "kernel: $(uname -sr)"
  echo "filesystem of $PARENT: $FS_LINE"
  echo "block device: $(lsblk -dn -o NAME,SIZE,ROTA,SCHED "$DEV" 2>/dev/null || echo "$DEV")"
  echo "compiler: $(c++ --version | head -1)"
  echo "fio: $(fio --version)"
  echo "google benchmark: $(dpkg-query -W -f='${Version}' libbenchmark-dev 2>/dev/null || echo unknown)"
  echo "wall time of this run: $((END - START)) s"
  echo "load average (1/5/15 min) at start: $LOAD_START; at end: $LOAD_END (other jobs may share the machine)"
} >"$OUT/machine.txt"

python3 "$ROOT/bench/engine/report.py" "$OUT" "$GIB"
echo "report: $OUT/report.md"
