#!/usr/bin/env bash
# The side-by-side suite (issue 5): coss vs memcached (RAM only, RAM ceiling)
# and memcached + extstore on this machine, in one run, as ratios.
#
#   bench/side_by_side/run.sh            # full run, ~25 minutes on 2 cores
#   bench/side_by_side/run.sh --quick    # every step at toy sizes (~5 minutes)
#
# Steps: install what is missing from Debian's packages (memcached, memcaslap,
# fio, matplotlib), build a Release snapshot (git archive of HEAD + this working
# tree's bench/stats tool folders, see snapshot.sh) in its own build folder,
# run suite.py (servers on loopback, stores under $SBS_PARENT, every server
# stopped by PID, stores deleted), then report.py writes
# bench/results/<date>-side-by-side/report.md and the PNG plots.
#
# Environment:
#   SBS_PARENT   folder for stores and fio files (default /var/tmp)
#   BUILD_DIR    build folder (default <repo>/build-sbs)
#   OUT_DIR      results folder (default bench/results/<date>-side-by-side)
#   SBS_ONLY     comma-separated suite parts (default fio,w1w2w5,w3,w4,ramobj)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
HERE=$ROOT/bench/side_by_side
QUICK=""
[ "${1:-}" = "--quick" ] && QUICK=--quick
BUILD=${BUILD_DIR:-$ROOT/build-sbs}
PARENT=${SBS_PARENT:-/var/tmp}
DATE=$(date +%F)
OUT=${OUT_DIR:-$ROOT/bench/results/$DATE-side-by-side}
PY=/usr/bin/python3

# --- dependencies (Debian packages), installed only if missing
need=()
command -v memcached >/dev/null || need+=(memcached)
command -v memcaslap >/dev/null || need+=(libmemcached-tools)
command -v fio >/dev/null || need+=(fio)
command -v fincore >/dev/null || need+=(util-linux)
$PY -c 'import matplotlib' 2>/dev/null || need+=(python3-matplotlib)
if [ ${#need[@]} -gt 0 ]; then
  echo "installing: ${need[*]}"
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO=sudo
  $SUDO apt-get update -qq
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" ||
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq gnuplot-nox
fi

# --- disk space: two 4 GiB stores at once, plus margin
need_gib=12
[ -n "$QUICK" ] && need_gib=3
avail=$(df --output=avail -B1G "$PARENT" | tail -1 | tr -d ' ')
if [ "$avail" -lt "$need_gib" ]; then
  echo "not enough free space in $PARENT: ${avail} GiB, need ${need_gib} GiB" >&2
  exit 1
fi

# --- build (Release, own folder, snapshot of HEAD + the tool folders)
SOURCE_DESC=$("$HERE/snapshot.sh" "$BUILD/src")
cmake -S "$BUILD/src" -B "$BUILD/obj" -DCMAKE_BUILD_TYPE=Release -DCOSS_BENCH=OFF \
  -DCOSS_SANITIZE= >/dev/null
cmake --build "$BUILD/obj" -j2 --target cossd coss_tool
COSS=$BUILD/obj/src/tools/coss
COSSD=$BUILD/obj/src/server/cossd

# --- run
rm -rf "$OUT"
mkdir -p "$OUT"
WORK=$(mktemp -d "$PARENT/coss-sbs.XXXXXX")
chmod 755 "$WORK"
cleanup() { rm -rf "$WORK"; }
trap cleanup EXIT
START=$(date +%s)
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
PSI_START=$(head -1 /proc/pressure/cpu 2>/dev/null || echo n/a)
$PY "$HERE/suite.py" --coss "$COSS" --cossd "$COSSD" --out "$OUT" --work "$WORK" $QUICK \
  ${SBS_ONLY:+--only "$SBS_ONLY"}
END=$(date +%s)
LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)
PSI_END=$(head -1 /proc/pressure/cpu 2>/dev/null || echo n/a)

FS_LINE=$(findmnt -n -o SOURCE,FSTYPE,OPTIONS -T "$PARENT")
DEV=$(findmnt -n -o SOURCE -T "$PARENT")
{
  echo "date: $(date -Is)"
  echo "source built: $SOURCE_DESC"
  echo "build: CMAKE_BUILD_TYPE=Release ($(c++ --version | head -1))"
  echo "nproc: $(nproc)"
  echo "cpu: $(lscpu | sed -n 's/^Model name: *//p')"
  echo "memory: $(free -g | awk '/^Mem:/ {print $2 " GiB"}')"
  echo "kernel: $(uname -sr)"
  echo "filesystem of $PARENT: $FS_LINE"
  echo "block device: $(lsblk -dn -o NAME,SIZE,ROTA,SCHED "$DEV" 2>/dev/null || echo "$DEV")"
  echo "memcached: $(memcached -V)"
  echo "memcaslap: libmemcached-tools $(dpkg-query -W -f='${Version}' libmemcached-tools 2>/dev/null)"
  echo "fio: $(fio --version)"
  echo "matplotlib: $($PY -c 'import matplotlib; print(matplotlib.__version__)' 2>/dev/null || echo none)"
  echo "mode: ${QUICK:-full}"
  echo "wall time of this run: $((END - START)) s"
  echo "load average (1/5/15 min) at start: $LOAD_START; at end: $LOAD_END (other jobs may share the machine)"
  echo "CPU pressure (/proc/pressure/cpu) at start: $PSI_START; at end: $PSI_END"
} >"$OUT/machine.txt"

$PY "$HERE/report.py" "$OUT"
echo "report: $OUT/report.md"
