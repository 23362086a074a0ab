#!/usr/bin/env bash
# RAM-resident throughput, side by side: Debian's memcaslap against memcached
# and cossd (durable, written and buffered acknowledgements), interleaved, same CPUs.
#
#   bench/memcaslap/quick.sh COSSD OUT_DIR [ROUNDS]
#
# Each round runs, for 5 s each: memcached -m 256, cossd -m 256 --write-ack
# durable, written (the default) and buffered (each server fresh, 2 worker
# threads); memcaslap -T 2 -c 64 -X 1024 (90 % get, 1 KiB values, everything
# fits in RAM), client and server sharing CPUs 0-1 as in issue 12's report.
# Writes OUT_DIR/report.md (ops/s per run and the medians' ratios) and
# OUT_DIR/raw.txt. Needs a quiet machine: nothing else running.
set -euo pipefail
cossd=$(realpath "$1")
out=$2
rounds=${3:-3}
mkdir -p "$out"
work=$(mktemp -d /var/tmp/coss-memcaslap-XXXXXX)
trap 'rm -rf "$work"' EXIT
user=(); [ "$(id -u)" = 0 ] && user=(-u nobody)
port=22199

run_one() {  # run_one NAME ARGV... : prints ops/s
  local name=$1; shift
  taskset -c 0,1 "$@" >"$work/$name.log" 2>&1 &
  local pid=$!
  for _ in $(seq 100); do
    (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null && break
    sleep 0.1
  done
  local line
  line=$(taskset -c 0,1 memcaslap -s 127.0.0.1:$port -T 2 -c 64 -t 5s -X 1024 2>&1 | grep '^Run time')
  kill "$pid"; wait "$pid" 2>/dev/null || true
  echo "$name $line" >>"$out/raw.txt"
  echo "$line" | sed -n 's/.*TPS: \([0-9]*\).*/\1/p'
}

: >"$out/raw.txt"
declare -A ops
for r in $(seq "$rounds"); do
  ops[mc]+="$(run_one memcached memcached -p $port -U 0 -t 2 -m 256 -l 127.0.0.1 "${user[@]}") "
  rm -f "$work"/s.coss*
  ops[durable]+="$(run_one cossd-durable "$cossd" -p $port -t 2 -m 256 --write-ack durable \
    --store "$work/s.coss:1g" --checkpoint none) "
  rm -f "$work"/s.coss*
  ops[written]+="$(run_one cossd-written "$cossd" -p $port -t 2 -m 256 --write-ack written \
    --store "$work/s.coss:1g" --checkpoint none) "
  rm -f "$work"/s.coss*
  ops[buffered]+="$(run_one cossd-buffered "$cossd" -p $port -t 2 -m 256 --write-ack buffered \
    --store "$work/s.coss:1g" --checkpoint none) "
done

median() { tr ' ' '\n' | grep . | sort -n | awk '{a[NR]=$1} END{print a[int((NR+1)/2)]}'; }
mc=$(echo "${ops[mc]}" | median)
du=$(echo "${ops[durable]}" | median)
wr=$(echo "${ops[written]}" | median)
bu=$(echo "${ops[buffered]}" | median)
{
  echo "# memcaslap, RAM-resident, 90 % get, 1 KiB values, 2 threads x 64 connections"
  echo
  echo "Command: \`bench/memcaslap/quick.sh $* \`; $(date -u +%Y-%m-%d), commit $(git -C "$(dirname "$0")" rev-parse --short HEAD)"
  echo
  echo "| server | ops/s per round | median | / memcached |"
  echo "|---|---|---|---|"
  echo "| memcached -m 256 | ${ops[mc]}| $mc | 1.00 |"
  echo "| cossd --write-ack durable | ${ops[durable]}| $du | $(awk -v a="$du" -v b="$mc" 'BEGIN{printf "%.2f", a/b}') |"
  echo "| cossd --write-ack written | ${ops[written]}| $wr | $(awk -v a="$wr" -v b="$mc" 'BEGIN{printf "%.2f", a/b}') |"
  echo "| cossd --write-ack buffered | ${ops[buffered]}| $bu | $(awk -v a="$bu" -v b="$mc" 'BEGIN{printf "%.2f", a/b}') |"
} >"$out/report.md"
cat "$out/report.md"
