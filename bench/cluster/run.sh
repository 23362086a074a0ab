#!/usr/bin/env bash
# Proxy overhead (issue 7): the same `coss bench` load
#   direct   - straight to one cossd,
#   proxy1   - through nutcracker to that same cossd (the extra hop alone),
#   proxy3   - through nutcracker to three cossd (scripts/cluster.sh),
#   proxy3c4 - the same three cossd through a second nutcracker with
#              server_connections: 4 instead of the example's 1,
# reported as ratios against direct, plus the key balance over the three nodes
# and the CPU nutcracker used. Results: bench/results/<date>-cluster/
# (report.md, machine.txt, commands.log, raw/).
#
#   bench/cluster/run.sh             # ~6 minutes: 16 runs of ~22 s
#   BENCH_SECONDS=5 bench/cluster/run.sh   # a quick look
#
# Environment:
#   COSSD, COSS      binaries (default build-release/src/{server/cossd,tools/coss},
#                    built in Release like scripts/run.sh when missing)
#   BENCH_SECONDS    measured seconds per run (default 15; keep <= 50 so that a
#                    run with its prefill and warm-up stays under a minute)
#   NODE_ARGS        extra cossd options for every node, e.g. "--write-ack buffered"
#   SOURCE_DESC      what the binaries were built from (recorded in machine.txt)
#   CLUSTER_PARENT   folder for the stores (default /var/tmp)
#   OUT_DIR          results folder (default bench/results/<date>-cluster)
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
PY=/usr/bin/python3
PARENT=${CLUSTER_PARENT:-/var/tmp}
OUT=${OUT_DIR:-$ROOT/bench/results/$(date +%F)-cluster}
SECONDS_PER_RUN=${BENCH_SECONDS:-15}

command -v nutcracker >/dev/null || { echo "nutcracker missing: run scripts/deps.sh" >&2; exit 1; }
if [ -z "${COSSD:-}" ] || [ -z "${COSS:-}" ]; then
  if [ ! -x "$ROOT/build-release/src/server/cossd" ] || [ ! -x "$ROOT/build-release/src/tools/coss" ]; then
    "$ROOT/scripts/deps.sh"
    cmake -S "$ROOT" -B "$ROOT/build-release" -DCMAKE_BUILD_TYPE=Release -DCOSS_BENCH=OFF >/dev/null
    cmake --build "$ROOT/build-release" -j2 --target cossd coss_tool >/dev/null
  fi
  COSSD=${COSSD:-$ROOT/build-release/src/server/cossd}
  COSS=${COSS:-$ROOT/build-release/src/tools/coss}
fi
COSSD=$(realpath "$COSSD")
COSS=$(realpath "$COSS")
export COSSD

# ten consecutive free loopback ports: cluster (base..base+4), the direct
# node (base+5), the one-node proxy and its stats port (base+6, base+7), the
# four-connection proxy and its stats port (base+8, base+9)
BASE=$($PY - <<'EOF'
import socket
for _ in range(200):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        base = s.getsockname()[1]
    if base > 65500:
        continue
    socks, ok = [], True
    for p in range(base, base + 10):
        s = socket.socket()
        try:
            s.bind(("127.0.0.1", p))
        except OSError:
            ok = False
        socks.append(s)
    for s in socks:
        s.close()
    if ok:
        print(base)
        break
EOF
)
[ -n "$BASE" ] || { echo "no free ports" >&2; exit 1; }
DIRECT_PORT=$((BASE + 5))
PROXY1_PORT=$((BASE + 6))
PROXY1_STATS=$((BASE + 7))
PROXYC4_PORT=$((BASE + 8))
PROXYC4_STATS=$((BASE + 9))

WORK=$(mktemp -d "$PARENT/coss-cluster-bench.XXXXXX")
DIRECT_PID=""
PROXY1_PID=""
PROXYC4_PID=""
cleanup() {  # every process this script started, by its pid
  "$ROOT/scripts/cluster.sh" stop --dir "$WORK/cluster" >/dev/null 2>&1 || true
  local p
  for p in $PROXY1_PID $PROXYC4_PID $DIRECT_PID; do kill -TERM "$p" 2>/dev/null || true; done
  for p in $PROXY1_PID $PROXYC4_PID $DIRECT_PID; do wait "$p" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT

rm -rf "$OUT"
mkdir -p "$OUT/raw"
LOG="$OUT/commands.log"
: >"$LOG"
note() { echo "$*" | tee -a "$LOG"; }

# Node settings shared by the direct node and the cluster's nodes.
STORE=512m
MEM=64
THREADS=2
read -r -a NODE_EXTRA <<<"${NODE_ARGS:-}"
note "# $(date -Is) on $(hostname), source $(git -C "$ROOT" describe --always --dirty)"
note "COSSD=$COSSD $ROOT/scripts/cluster.sh start --dir $WORK/cluster --base-port $BASE --store-size $STORE --memory $MEM --threads $THREADS -- ${NODE_EXTRA[*]}"
"$ROOT/scripts/cluster.sh" start --dir "$WORK/cluster" --base-port "$BASE" --store-size "$STORE" \
  --memory "$MEM" --threads "$THREADS" -- "${NODE_EXTRA[@]}" | tee -a "$LOG"
mkdir -p "$WORK/direct"
note "$COSSD -l 127.0.0.1 -p $DIRECT_PORT -t $THREADS -m $MEM --store $WORK/direct/store.coss:$STORE ${NODE_EXTRA[*]}"
(cd "$WORK/direct" && exec "$COSSD" -l 127.0.0.1 -p "$DIRECT_PORT" -t "$THREADS" -m "$MEM" \
  --store "$WORK/direct/store.coss:$STORE" "${NODE_EXTRA[@]}" >cossd.log 2>&1) &
DIRECT_PID=$!
# the one-node proxy: the cluster's configuration with only coss-a, pointed
# at the direct node
sed -e "s/^\(  listen: 127\.0\.0\.1:\)[0-9]*$/\1$PROXY1_PORT/" \
    -e "s/^\(    - 127\.0\.0\.1:\)[0-9]*\(:1 coss-a\)$/\1$DIRECT_PORT\2/" \
    -e "/:1 coss-[bc]$/d" "$WORK/cluster/nutcracker.yml" >"$WORK/proxy1.yml"
grep -q "127.0.0.1:$DIRECT_PORT:1 coss-a" "$WORK/proxy1.yml" || { echo "proxy1.yml" >&2; exit 1; }
note "nutcracker -c $WORK/proxy1.yml -s $PROXY1_STATS -a 127.0.0.1 -o $WORK/proxy1.log"
nutcracker -c "$WORK/proxy1.yml" -s "$PROXY1_STATS" -a 127.0.0.1 -o "$WORK/proxy1.log" &
PROXY1_PID=$!
# the four-connection proxy: the cluster's configuration, another port
sed -e "s/^\(  listen: 127\.0\.0\.1:\)[0-9]*$/\1$PROXYC4_PORT/" \
    -e "s/^\(  server_connections: \)1$/\14/" "$WORK/cluster/nutcracker.yml" >"$WORK/proxyc4.yml"
grep -qx "  server_connections: 4" "$WORK/proxyc4.yml" || { echo "proxyc4.yml" >&2; exit 1; }
note "nutcracker -c $WORK/proxyc4.yml -s $PROXYC4_STATS -a 127.0.0.1 -o $WORK/proxyc4.log"
nutcracker -c "$WORK/proxyc4.yml" -s "$PROXYC4_STATS" -a 127.0.0.1 -o "$WORK/proxyc4.log" &
PROXYC4_PID=$!
cp "$WORK/cluster/nutcracker.yml" "$OUT/nutcracker-cluster.yml"
cp "$WORK/proxy1.yml" "$OUT/nutcracker-one-node.yml"
cp "$WORK/proxyc4.yml" "$OUT/nutcracker-cluster-4conn.yml"

LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
START=$(date +%s)
PROXY_PORT="" NODE_PORTS=""
# shellcheck disable=SC1091
. "$WORK/cluster/cluster.env"
$PY "$ROOT/bench/cluster/suite.py" --coss "$COSS" --out "$OUT" --seconds "$SECONDS_PER_RUN" \
  --direct "127.0.0.1:$DIRECT_PORT" --direct-pid "$DIRECT_PID" \
  --proxy1 "127.0.0.1:$PROXY1_PORT" --proxy1-pid "$PROXY1_PID" \
  --proxy3 "127.0.0.1:$PROXY_PORT" --proxy3-pid "$(cat "$WORK/cluster/nutcracker.pid")" \
  --proxy3c4 "127.0.0.1:$PROXYC4_PORT" --proxy3c4-pid "$PROXYC4_PID" \
  --nodes "$NODE_PORTS" --node-pids "$(cat "$WORK"/cluster/node-{a,b,c}/cossd.pid | tr '\n' ' ')"
END=$(date +%s)
LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)

{
  echo "date: $(date -Is)"
  echo "repository HEAD: $(git -C "$ROOT" describe --always --dirty)"
  echo "binaries built from: ${SOURCE_DESC:-unknown (set SOURCE_DESC)}"
  echo "cossd: $COSSD ($("$COSSD" --version 2>&1 | head -1); $(grep -o 'CMAKE_BUILD_TYPE:STRING=.*' "$(dirname "$(dirname "$(dirname "$COSSD")")")/CMakeCache.txt" 2>/dev/null || echo 'build type ?'))"
  echo "node options: -t $THREADS -m $MEM --store ...:$STORE ${NODE_EXTRA[*]}"
  echo "coss: $COSS"
  echo "nutcracker: $(nutcracker -V 2>&1 | head -1) (Debian $(dpkg-query -W -f='${Version}' nutcracker 2>/dev/null))"
  echo "nproc: $(nproc)"
  echo "cpu: $(lscpu | sed -n 's/^Model name: *//p')"
  echo "memory: $(free -g | awk '/^Mem:/ {print $2 " GiB"}')"
  echo "kernel: $(uname -sr)"
  echo "stores in: $PARENT ($(findmnt -n -o SOURCE,FSTYPE -T "$PARENT"))"
  echo "wall time of the runs: $((END - START)) s"
  echo "load average (1/5/15 min) at start: $LOAD_START; at end: $LOAD_END (the machine is shared)"
} >"$OUT/machine.txt"
$PY "$ROOT/bench/cluster/suite.py" --report "$OUT"
echo "report: $OUT/report.md"
