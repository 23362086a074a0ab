#!/usr/bin/env bash
# Recovery-speed run (issue 4, item 4): builds recovery_bench in Release, runs it
# for stores of 1, 4 and 16 GiB in /var/tmp, reads each store file with fio
# (sequential 1 MiB O_DIRECT reads: the physical floor), deletes the store, and
# writes bench/results/<YYYY-MM-DD>-recovery/report.md with the raw JSON next to it.
#
#   bench/recovery/run.sh              # full run (~10 minutes on 2 cores)
#
# Environment:
#   COSS_REC_SIZES     store sizes in GiB (default "1 4 16")
#   COSS_REC_REPS      repetitions of each measurement (default 3)
#   COSS_REC_PARENT    folder for the store files (default /var/tmp)
#   COSS_REC_ARGS      extra recovery_bench flags (e.g. --crash-frac 0.25)
#   BUILD_DIR          build folder (default <repo>/build-recovery)
#   COSS_REC_SOURCE    head (default): build a snapshot of the committed HEAD (git
#                      archive) with this working tree's bench/recovery and
#                      bench/CMakeLists.txt on top, so that uncommitted edits
#                      elsewhere in the shared tree are not measured;
#                      worktree: build the working tree as it is
#   OUT_DIR            results folder (default bench/results/<date>-recovery)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD=${BUILD_DIR:-$ROOT/build-recovery}
PARENT=${COSS_REC_PARENT:-/var/tmp}
SIZES=${COSS_REC_SIZES:-1 4 16}
REPS=${COSS_REC_REPS:-3}
DATE=$(date +%F)
OUT=${OUT_DIR:-$ROOT/bench/results/$DATE-recovery}
START=$(date +%s)
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)

mkdir -p "$OUT/raw" "$OUT/fio"
: >"$OUT/commands.log"
: >"$OUT/skipped.txt"

# Every command that produces a figure goes through run(): it is logged verbatim.
run() {
  printf '%s\n' "$*" >>"$OUT/commands.log"
  "$@"
}

WORK=$(mktemp -d "$PARENT/coss-recovery.XXXXXX")
cleanup() { rm -rf "$WORK"; }
trap cleanup EXIT

# --- build (Release, own build folder)
SOURCE_MODE=${COSS_REC_SOURCE:-head}
COMMIT=$(git -C "$ROOT" rev-parse --short HEAD)
if [ "$SOURCE_MODE" = head ]; then
  SRC="$BUILD/src-snapshot"
  rm -rf "$SRC" && mkdir -p "$SRC"
  git -C "$ROOT" archive --format=tar HEAD | tar -x -C "$SRC"
  rm -rf "$SRC/bench/recovery" && mkdir -p "$SRC/bench/recovery"
  cp "$ROOT"/bench/recovery/* "$SRC/bench/recovery/"
  cp "$ROOT/bench/CMakeLists.txt" "$SRC/bench/CMakeLists.txt"
  SOURCE_DESC="git archive of HEAD $COMMIT + working-tree bench/recovery, bench/CMakeLists.txt"
  git -C "$ROOT" diff --quiet HEAD -- bench/recovery bench/CMakeLists.txt 2>/dev/null &&
    [ -z "$(git -C "$ROOT" ls-files --others --exclude-standard bench/recovery)" ] ||
    SOURCE_DESC="$SOURCE_DESC (which differ from HEAD)"
  OBJ="$BUILD/obj"
else
  SRC="$ROOT"
  OBJ="$BUILD"
  SOURCE_DESC="working tree at $COMMIT; uncommitted: $(git -C "$ROOT" status --short -- src include | tr '\n' ' ')"
fi
cmake -S "$SRC" -B "$OBJ" -DCMAKE_BUILD_TYPE=Release -DCOSS_BENCH=ON -DCOSS_SANITIZE= >/dev/null
cmake --build "$OBJ" -j2 --target recovery_bench
BENCH="$OBJ/bench/recovery/recovery_bench"

# --- can we drop the page cache? (the engine reads the store with O_DIRECT;
# the .ckpt file goes through the page cache)
if sync && echo 3 >/proc/sys/vm/drop_caches 2>/dev/null; then
  DROP="permitted (sync; echo 3 > /proc/sys/vm/drop_caches succeeded)"
else
  DROP="NOT permitted (echo 3 > /proc/sys/vm/drop_caches failed)"
fi
drop() { sync; echo 3 >/proc/sys/vm/drop_caches 2>/dev/null || true; }

# --- one size at a time; the store is deleted before the next one starts.
for G in $SIZES; do
  # store + checkpoint (16 B per object, < 0.5 % of the store) + 2 GiB margin
  need=$((G + 2))
  avail=$(df --output=avail -B1G "$PARENT" | tail -1 | tr -d ' ')
  echo "== $G GiB store: ${avail} GiB free in $PARENT, need ${need} GiB"
  df -h "$PARENT" | tee -a "$OUT/df.txt"
  if [ "$avail" -lt "$need" ]; then
    echo "$G GiB: skipped: needs ${need} GiB free in $PARENT, ${avail} GiB available" |
      tee -a "$OUT/skipped.txt"
    continue
  fi
  run "$BENCH" --dir "$WORK" --gib "$G" --reps "$REPS" --keep \
    --json "$OUT/raw/recovery-${G}g.json" ${COSS_REC_ARGS:-} \
    > >(tee "$OUT/raw/recovery-${G}g.log") 2> >(tee "$OUT/raw/recovery-${G}g.stderr.log" >&2)
  STORE="$WORK/store-${G}g.coss"
  BYTES=$(stat -c %s "$STORE")
  # fio on the very same file (read-only): QD1 psync like the bench's own loop,
  # 3 times; and once with io_uring at depth 8 (what the device can stream).
  for r in $(seq 1 "$REPS"); do
    drop
    run fio --name="seqread-${G}g-qd1" --filename="$STORE" --readonly --rw=read --bs=1m \
      --direct=1 --ioengine=psync --size="$BYTES" --output-format=json \
      --output="$OUT/fio/seqread-${G}g-qd1-r$r.json"
  done
  drop
  run fio --name="seqread-${G}g-qd8" --filename="$STORE" --readonly --rw=read --bs=1m \
    --direct=1 --ioengine=io_uring --iodepth=8 --size="$BYTES" --output-format=json \
    --output="$OUT/fio/seqread-${G}g-qd8.json"
  rm -f "$STORE" "$STORE.ckpt" "$STORE.ckpt.tmp"
  # coss::Index alone with this store's object count: checkpoint-order vs
  # random-order insertion, grown on demand vs presized (CPU only, no files).
  N=$(/usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["fill"]["live_objects"])' \
      "$OUT/raw/recovery-${G}g.json")
  run "$BENCH" --index-test "$N" --json "$OUT/raw/index-${G}g.json" | tee "$OUT/raw/index-${G}g.log"
done

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
  echo "drop_caches: $DROP"
  echo "sizes: $SIZES GiB; repetitions: $REPS"
  echo "wall time of this run: $((END - START)) s"
  echo "load average (1/5/15 min) at start: $LOAD_START; at end: $LOAD_END (other jobs may share the machine)"
} >"$OUT/machine.txt"

/usr/bin/python3 "$ROOT/bench/recovery/report.py" "$OUT"
echo "report: $OUT/report.md"
