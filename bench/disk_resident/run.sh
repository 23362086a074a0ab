#!/usr/bin/env bash
# Disk-resident get throughput, side by side (issue 12, goal 2): cossd against
# memcached + extstore, each in a memory cgroup of the same size (page cache
# included, cgroup v1), same CPUs, one server at a time, and fio's 4 KiB random
# reads on a file of the same size for the device's ceiling.
#
#   bench/disk_resident/run.sh COSSD OUT_DIR [ROUNDS]
#
# Workload (the issue's): 4 KiB values, KEYS keys (default 320 k: a working set
# of ~1.3 GB), -m MEM_MB (default 64) for both servers, a 2 GiB store or extstore file, cgroups
# of CGROUP_MB (default 384) MiB. Each server starts fresh, is prefilled (every
# key set once, pipelined), then `coss bench` runs WARMUP s of load followed by
# DURATION s measured: uniform keys, SET_RATIO sets (default 0.1), CONNS
# connections (default 64), depth 1, 2 client threads. Reports get hits per
# second (what the issue asks for), ops/s and hit ratio per server and round,
# and the medians' ratios. Needs root (cgroups) and a quiet machine.
set -euo pipefail
cossd=$(realpath "$1")
out=$(realpath -m "$2")
rounds=${3:-3}
root=$(cd "$(dirname "$0")/../.." && pwd)
coss=${COSS:-$root/build/src/tools/coss}
keys=${KEYS:-320000}
cg_mb=${CGROUP_MB:-384}
duration=${DURATION:-20}
warmup=${WARMUP:-5}
set_ratio=${SET_RATIO:-0.1}
conns=${CONNS:-64}
mem=${MEM_MB:-64}
parent=${PARENT:-/var/tmp}
mkdir -p "$out"
work=$(mktemp -d "$parent/coss-disk-resident-XXXXXX")
chmod 755 "$work"  # memcached runs as nobody
cgroot=/sys/fs/cgroup/memory
cleanup() {
  for g in "$cgroot"/coss-dr-*; do [ -d "$g" ] && rmdir "$g" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
port=22399

# in_cgroup NAME CMD...: runs CMD in a fresh memory cgroup of cg_mb MiB (its
# page cache counts against it), pinned to CPUs 0-1, in the background.
in_cgroup() {
  local g="$cgroot/coss-dr-$1"
  shift
  [ -d "$g" ] && rmdir "$g"
  mkdir "$g"
  echo $((cg_mb << 20)) >"$g/memory.limit_in_bytes"
  (echo $BASHPID >"$g/cgroup.procs" && exec taskset -c 0,1 "$@") &
}

wait_port() {
  for _ in $(seq 200); do
    (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null && return 0
    sleep 0.1
  done
  echo "server did not start" >&2
  return 1
}

bench_one() {  # bench_one NAME CMD... : appends one JSON line to raw.jsonl
  local name=$1
  shift
  sync
  echo 3 >/proc/sys/vm/drop_caches
  in_cgroup "$name" "$@" >"$work/$name.log" 2>&1
  local pid=$!
  wait_port || { cat "$work/$name.log" >&2; return 1; }
  taskset -c 0,1 "$coss" bench -s 127.0.0.1:$port -T 2 -c "$conns" -d 1 --keys "$keys" \
    --value-size 4096 --set-ratio "$set_ratio" --prefill --prefill-depth 16 --warmup "$warmup" \
    -t "$duration" --json --progress never >"$work/$name.json"
  local peak
  peak=$(cat "$cgroot/coss-dr-$name/memory.max_usage_in_bytes")
  kill "$pid"
  wait "$pid" 2>/dev/null || true
  /usr/bin/python3 - "$name" "$work/$name.json" "$peak" >>"$out/raw.jsonl" <<'EOF'
import json, sys
name, path, peak = sys.argv[1], sys.argv[2], int(sys.argv[3])
r = json.load(open(path))["result"]
print(json.dumps({"server": name, "ops_per_s": r["ops_per_s"], "gets": r["gets"],
                  "hits": r["hits"], "hit_ratio": r["hit_ratio"], "seconds": r["seconds"],
                  "get_hits_per_s": r["hits"] / r["seconds"], "cgroup_peak_bytes": peak}))
EOF
  tail -n 1 "$out/raw.jsonl"
}

user=()
[ "$(id -u)" = 0 ] && user=(-u nobody)
: >"$out/raw.jsonl"
for r in $(seq "$rounds"); do
  rm -rf "$work/ext" "$work"/s.coss*
  mkdir -p "$work/ext"
  chmod 777 "$work/ext"
  bench_one mc-ext memcached -p $port -U 0 -t 2 -m "$mem" -c 4096 -l 127.0.0.1 "${user[@]}" \
    -o "ext_path=$work/ext/extstore:2048M"
  bench_one cossd "$cossd" -p $port -t 2 -m "$mem" -c 4096 --store "$work/s.coss:2g" \
    --checkpoint none
done
rm -rf "$work/ext" "$work"/s.coss*

# The device's ceiling: fio 4 KiB random reads, O_DIRECT, io_uring, on a 2 GiB
# file in the same folder, at the same depth as the clients' connections.
fio --name=randread --filename="$work/fio.dat" --size=2g --rw=randread --bs=4k --direct=1 \
  --ioengine=io_uring --iodepth="$conns" --runtime="$duration" --time_based --cpus_allowed=0-1 \
  --output-format=json >"$work/fio.json"
fio_iops=$(/usr/bin/python3 -c 'import json,sys; print(round(json.load(open(sys.argv[1]))["jobs"][0]["read"]["iops"]))' "$work/fio.json")

/usr/bin/python3 - "$out/raw.jsonl" "$fio_iops" "$*" "$keys" "$cg_mb" "$set_ratio" "$conns" "$mem" \
  "$(git -C "$root" rev-parse --short HEAD)" >"$out/report.md" <<'EOF'
import json, statistics, sys
raw, fio, args, keys, cg, sr, conns, mem, commit = sys.argv[1:]
rows = [json.loads(l) for l in open(raw)]
by = {}
for r in rows:
    by.setdefault(r["server"], []).append(r)
med = {s: {k: statistics.median(x[k] for x in v) for k in ("get_hits_per_s", "ops_per_s", "hit_ratio")}
       for s, v in by.items()}
print("# Disk-resident gets: cossd vs memcached + extstore (issue 12, goal 2)\n")
env = " ".join(f"{k}={v}" for k, v in (("MEM_MB", mem), ("KEYS", keys), ("CGROUP_MB", cg)))
print(f"Command: `{env} bench/disk_resident/run.sh {args}`, commit {commit}.\n")
print(f"4 KiB values, {int(keys):,} keys (~{int(keys) * 4200 / 1e9:.1f} GB working set), -m {mem} for both, "
      f"2 GiB store / extstore file on /var/tmp, each server alone in a {cg} MiB memory cgroup "
      f"(page cache included) on CPUs 0-1 with the client; uniform keys, {float(sr):.0%} sets, "
      f"{conns} connections, depth 1; prefill, then warm-up, then the measured run.\n")
print("| server | get hits/s per round | median | ops/s (median) | hit ratio (median) |")
print("|---|---|---|---|---|")
for s, v in by.items():
    per = " ".join("%.0f" % x["get_hits_per_s"] for x in v)
    print(f"| {s} | {per} | "
          f"{med[s]['get_hits_per_s']:.0f} | {med[s]['ops_per_s']:.0f} | {med[s]['hit_ratio']:.3f} |")
print()
if "cossd" in med and "mc-ext" in med:
    print(f"cossd / extstore, get hits per second: **{med['cossd']['get_hits_per_s'] / med['mc-ext']['get_hits_per_s']:.2f}x** (goal: 3x)\n")
print(f"fio 4 KiB random reads, O_DIRECT, io_uring, depth {conns}, same folder: {int(fio):,} IOPS; "
      f"cossd's get hits/s are {med.get('cossd', {}).get('get_hits_per_s', 0) / int(fio):.0%} of it.")
EOF
cat "$out/report.md"
