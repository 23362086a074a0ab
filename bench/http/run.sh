#!/usr/bin/env bash
# HTTP caching side by side: cossd's HTTP proxy (--http-port) against Varnish 7.1 (-s malloc,
# and as a second run -s file) and nginx 1.22 (proxy_cache on disk), all in front of the same
# origin, loaded with wrk.
#
#   bench/http/run.sh [hot] [large-set] [big] [restart]      (default: all four)
#
# Each proxy runs alone, one after the other, in a fresh memory cgroup (v1) of MEM MiB that
# also holds its page cache (the process is moved into the cgroup before exec, so its files'
# pages are charged there), pinned to CPU_PROXY (default core 1); wrk and the origin share
# CPU_CLIENT (core 0). The origin is a separate nginx, outside the cgroup, serving files
# pre-generated in a work folder under WORK_PARENT with `Cache-Control: max-age=3600`; the files
# are the objects. Needs root, cgroup v1 memory at /sys/fs/cgroup/memory, and bench/http/deps.sh
# (varnish, nginx-light, wrk, netcat-openbsd). Uses loopback and ports PORT_BASE..PORT_BASE+3.
#
# Scenarios (results in $RESULTS/<date>-http-<scenario>/: report.md, raw.jsonl, raw/ with wrk's
# outputs, configs/ with the VCL and nginx configs):
#   hot        HOT_OBJECTS (1000) objects of HOT_SIZE (1 KiB); every object fetched once (warm),
#              then wrk -t1 -c CONNS (64) for DURATION, uniform random paths: requests/s.
#   large-set  LARGE_SIZE (32 KiB) objects, LARGE_MB in total (default 4 x MEM); warm once,
#              then wrk -c CONNS for DURATION with a Zipf(ZIPF_S = 0.9) choice of paths: hits/s
#              from each proxy's own hit counter (cossd stats http_hits, varnishstat
#              MAIN.cache_hit, nginx $upstream_cache_status HIT lines in its access log).
#   big        BIG_OBJECTS (10) objects of BIG_MB (100) MiB; warm, then wrk -c BIG_CONNS (4),
#              uniform: MB/s. cossd gets --http-max-object BIG_MB+20 MiB (with the default
#              -I 1m it stores them as chunks of 512 KiB and streams them from the store).
#   restart    the large set warmed, then the proxy stopped with SIGTERM and started again:
#              hit ratio (hits / requests, the proxy's counters) over the first
#              RESTART_DURATION (60s) of Zipf load; then warmed again, kill -9 (every process
#              of the cgroup), started again, measured the same way.
#
# Knobs (environment): MEM (MiB, 512), COSSD_RAM_MB (cossd -m, default 3/4 of MEM: its index,
# stripe buffers and connections take the rest), VARNISH_MALLOC_MB (-s malloc size, default 1/2
# of MEM: Varnish's shared-memory log (-l, 80m), its ~100+ threads' stacks and workspaces and
# jemalloc's slack take the rest, measured at ~65 MiB + the log beside a 64-256 MiB malloc
# storage), STORE_MB (4096: cossd's store file,
# Varnish's file storage, nginx's max_size), DURATION (30s), RESTART_DURATION (60s), CONNS (64),
# BIG_CONNS (4), HOT_OBJECTS, HOT_SIZE, LARGE_MB, LARGE_OBJECTS, LARGE_SIZE, ZIPF_S,
# BIG_OBJECTS, BIG_MB, SERVERS ("cossd varnish-malloc varnish-file nginx"), CPU_PROXY (1),
# CPU_CLIENT (0), VARNISH_VSL (varnishd -l, 80m: Varnish's default; the log lives in tmpfs
# and counts against the cgroup), PORT_BASE (28080), WORK_PARENT (/var/tmp), RESULTS (bench/results),
# COSSD (build/src/server/cossd), SMOKE=1 (marks the report as a smoke run), KEEP_WORK=1.
set -euo pipefail
export LC_ALL=C
root=$(cd "$(dirname "$0")/../.." && pwd)
here=$root/bench/http
py=/usr/bin/python3
helper=$here/helper.py
cossd=$(realpath "${COSSD:-$root/build/src/server/cossd}")

MEM=${MEM:-512}
COSSD_RAM_MB=${COSSD_RAM_MB:-$((MEM * 3 / 4))}
VARNISH_MALLOC_MB=${VARNISH_MALLOC_MB:-$((MEM * 3 / 8))}
BIG_MB=${BIG_MB:-100}
COSSD_BIG_RAM_MB=${COSSD_BIG_RAM_MB:-$COSSD_RAM_MB}
STORE_MB=${STORE_MB:-4096}
DURATION=${DURATION:-30s}
RESTART_DURATION=${RESTART_DURATION:-60s}
CONNS=${CONNS:-64}
BIG_CONNS=${BIG_CONNS:-4}
WARM_CONNS=${WARM_CONNS:-4}
HOT_OBJECTS=${HOT_OBJECTS:-1000}
HOT_SIZE=${HOT_SIZE:-1024}
LARGE_SIZE=${LARGE_SIZE:-32768}
LARGE_MB=${LARGE_MB:-$((MEM * 4))}
LARGE_OBJECTS=${LARGE_OBJECTS:-$((LARGE_MB * 1048576 / LARGE_SIZE))}
ZIPF_S=${ZIPF_S:-0.9}
BIG_OBJECTS=${BIG_OBJECTS:-10}
SERVERS=${SERVERS:-cossd varnish-malloc varnish-file nginx}
CPU_PROXY=${CPU_PROXY:-1}
CPU_CLIENT=${CPU_CLIENT:-0}
PORT_BASE=${PORT_BASE:-28080}
WORK_PARENT=${WORK_PARENT:-/var/tmp}
RESULTS=${RESULTS:-$root/bench/results}
SMOKE=${SMOKE:-0}
VARNISH_VSL=${VARNISH_VSL:-80m}  # varnishd -l: its shared-memory log, in the cgroup (tmpfs)
origin_port=$PORT_BASE
proxy_port=$((PORT_BASE + 1))
admin_port=$((PORT_BASE + 2))
mc_port=$((PORT_BASE + 3))
cgroot=/sys/fs/cgroup/memory

scenarios=("$@")
[ ${#scenarios[@]} -eq 0 ] && scenarios=(hot large-set big restart)
for s in "${scenarios[@]}"; do
  case $s in hot | large-set | big | restart) ;; *) echo "unknown scenario: $s" >&2; exit 2 ;; esac
done
[ "$(id -u)" = 0 ] || { echo "needs root (cgroups)" >&2; exit 1; }
[ -d "$cgroot" ] || { echo "no cgroup v1 memory controller at $cgroot" >&2; exit 1; }
for b in varnishd varnishstat nginx wrk nc taskset; do
  command -v "$b" >/dev/null || { echo "missing $b: run bench/http/deps.sh" >&2; exit 1; }
done
[ -x "$cossd" ] || { echo "no cossd at $cossd" >&2; exit 1; }
invocation="$(for v in MEM COSSD_RAM_MB COSSD_BIG_RAM_MB VARNISH_MALLOC_MB STORE_MB DURATION RESTART_DURATION CONNS HOT_OBJECTS LARGE_MB \
  LARGE_OBJECTS BIG_OBJECTS BIG_MB VARNISH_VSL SERVERS SMOKE; do printf "%s='%s' " "$v" "${!v}"; done)bench/http/run.sh $*"

work=$(mktemp -d "$WORK_PARENT/coss-http-XXXXXX")
chmod 755 "$work"  # nginx workers (www-data) and Varnish's child (vcache) read below it
www=$work/www
mkdir -p "$www" "$work/origin" "$work/srv"
shm=$(mktemp -d /dev/shm/coss-http-XXXXXX)  # Varnish's -n folders
chmod 755 "$shm"
chmod 755 "$www" "$work/srv"

origin_pid=
proxy_pid=
proxy_server=
wrk_pid=
cleanup() {
  set +e
  [ -n "$wrk_pid" ] && kill "$wrk_pid" 2>/dev/null
  for g in "$cgroot"/coss-http-*; do
    [ -d "$g" ] || continue
    for p in $(cat "$g/cgroup.procs" 2>/dev/null); do kill -9 "$p" 2>/dev/null; done
  done
  [ -n "$proxy_pid" ] && wait "$proxy_pid" 2>/dev/null
  [ -n "$origin_pid" ] && kill "$origin_pid" 2>/dev/null && wait "$origin_pid" 2>/dev/null
  for g in "$cgroot"/coss-http-*; do
    [ -d "$g" ] || continue
    for _ in $(seq 50); do [ -z "$(cat "$g/cgroup.procs" 2>/dev/null)" ] && break; sleep 0.1; done
    rmdir "$g" 2>/dev/null || echo "could not remove cgroup $g" >&2
  done
  rm -rf "$shm"
  if [ "${KEEP_WORK:-0}" = 1 ]; then echo "work folder kept: $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log() { echo "[$(date +%T)] $*" >&2; }

wait_port() {  # wait_port PORT TIMEOUT_S PID: until PORT accepts; fails if PID died
  local port=$1 t=$2 pid=${3:-}
  local n=$((t * 10))
  for _ in $(seq "$n"); do
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && return 0
    if [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null; then return 1; fi
    sleep 0.1
  done
  return 1
}

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# ---------------------------------------------------------------------------------- objects
gen_objects() {  # gen_objects PREFIX COUNT SIZE
  if [ ! -s "$www/$1.paths" ]; then
    log "generating $2 objects of $3 bytes under /$1/"
    taskset -c "$CPU_CLIENT" $py "$helper" gen "$www" "$1" "$2" "$3"
  fi
}

# ----------------------------------------------------------------------------------- origin
start_origin() {
  local d=$work/origin
  mkdir -p "$d/tmp"
  cat >"$d/nginx.conf" <<EOF
# the origin: static files with Cache-Control: max-age=3600, every request logged
worker_processes 1;
daemon off;
pid $d/nginx.pid;
error_log $d/error.log warn;
user www-data;
events { worker_connections 4096; }
http {
  log_format o '\$msec \$status \$body_bytes_sent \$request_uri';
  access_log $d/access.log o;
  sendfile on;
  tcp_nopush on;
  keepalive_requests 1000000;
  keepalive_timeout 300s;
  default_type application/octet-stream;
  client_body_temp_path $d/tmp/body;
  proxy_temp_path $d/tmp/proxy;
  fastcgi_temp_path $d/tmp/fastcgi;
  uwsgi_temp_path $d/tmp/uwsgi;
  scgi_temp_path $d/tmp/scgi;
  server {
    listen 127.0.0.1:$origin_port reuseport;
    root $www;
    location / {
      add_header Cache-Control "max-age=3600";
    }
  }
}
EOF
  port_free "$origin_port" || { echo "port $origin_port is taken" >&2; exit 1; }
  taskset -c "$CPU_CLIENT" nginx -c "$d/nginx.conf" -p "$d" >"$d/stderr.log" 2>&1 &
  origin_pid=$!
  wait_port "$origin_port" 20 "$origin_pid" || { cat "$d/stderr.log" "$d/error.log" >&2; exit 1; }
}

origin_lines() { if [ -f "$work/origin/access.log" ]; then wc -l <"$work/origin/access.log"; else echo 0; fi; }

# origin_count FROM TO PREFIX: JSON counts of the origin's log lines FROM+1..TO under /PREFIX/
origin_count() {
  sed -n "$(($1 + 1)),$2p" "$work/origin/access.log" >"$work/origin/slice.log"
  [ "$2" -gt "$1" ] || : >"$work/origin/slice.log"
  $py "$helper" count-origin "$work/origin/slice.log" "$3"
}

# ------------------------------------------------------------------------------------ proxies
# proxy_cmd SERVER: sets cmd=(...) and writes the server's config into its folder
proxy_cmd() {
  local s=$1 d=$work/srv/$1
  case $s in
    cossd)
      cmd=("$cossd" -p "$mc_port" -l 127.0.0.1 -t 1 -m "$cossd_ram" -c 4096
        --store "$d/store.coss:${STORE_MB}m" --http-port "$proxy_port"
        --http-origin "http://127.0.0.1:$origin_port" --http-threads 1 "${cossd_extra[@]}")
      ;;
    varnish-malloc | varnish-file)
      cat >"$d/default.vcl" <<EOF
vcl 4.1;
# every response of the origin is cacheable (max-age=3600); the built-in VCL does the rest
backend origin {
  .host = "127.0.0.1";
  .port = "$origin_port";
}
EOF
      local storage=(-s "malloc,${VARNISH_MALLOC_MB}m")
      [ "$s" = varnish-file ] && storage=(-s "file,$d/storage.bin,${STORE_MB}m")
      # the working folder (shared-memory log and counters, mmapped) on tmpfs, as Varnish
      # advises; its pages count against the cgroup like the rest
      cmd=(varnishd -F -n "$shm/$s" -a "127.0.0.1:$proxy_port" -T "127.0.0.1:$admin_port"
        -f "$d/default.vcl" "${storage[@]}" -l "$VARNISH_VSL" -p thread_pools=1)
      ;;
    nginx)
      # keys_zone: 1 MiB holds about 8,000 keys; sized for every object of the store (x2)
      local zone_mb=$((STORE_MB * 1048576 / LARGE_SIZE / 4000 + 2))
      mkdir -p "$d/tmp" "$d/cache"
      chown www-data "$d/cache"
      cat >"$d/nginx.conf" <<EOF
# nginx proxy_cache on disk in front of the origin; \$upstream_cache_status in the access log
worker_processes 1;
daemon off;
pid $d/nginx.pid;
error_log $d/error.log warn;
user www-data;
events { worker_connections 4096; }
http {
  log_format c '\$upstream_cache_status \$status \$request_uri';
  access_log $d/access.log c buffer=256k flush=1s;
  sendfile on;
  tcp_nopush on;
  keepalive_requests 1000000;
  keepalive_timeout 300s;
  default_type application/octet-stream;
  client_body_temp_path $d/tmp/body;
  proxy_temp_path $d/tmp/proxy;
  fastcgi_temp_path $d/tmp/fastcgi;
  uwsgi_temp_path $d/tmp/uwsgi;
  scgi_temp_path $d/tmp/scgi;
  proxy_cache_path $d/cache levels=1:2 keys_zone=c:${zone_mb}m max_size=${STORE_MB}m
                   inactive=1d use_temp_path=off;
  upstream origin {
    server 127.0.0.1:$origin_port;
    keepalive 64;
  }
  server {
    listen 127.0.0.1:$proxy_port;
    location / {
      proxy_pass http://origin;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_cache c;
      proxy_cache_lock on;
      proxy_cache_lock_timeout 60s;
      proxy_read_timeout 120s;
      proxy_buffering on;
    }
  }
}
EOF
      cmd=(nginx -c "$d/nginx.conf" -p "$d")
      ;;
  esac
}

# start_proxy SERVER fresh|again: starts SERVER in its cgroup (fresh: new folder and cgroup)
# and waits until its HTTP port accepts; sets proxy_pid, ready_s.
start_proxy() {
  local s=$1 d=$work/srv/$1 g=$cgroot/coss-http-$1
  if [ "$2" = fresh ]; then
    rm -rf "$d"
    mkdir -p "$d"
    [ -d "$g" ] && rmdir "$g"
    mkdir "$g"
    echo $((MEM << 20)) >"$g/memory.limit_in_bytes"
  fi
  proxy_cmd "$s"
  commands+=("${cmd[*]}")
  port_free "$proxy_port" || { echo "port $proxy_port is taken" >&2; exit 1; }
  local t0
  t0=$(date +%s.%N)
  (echo $BASHPID >"$g/cgroup.procs" && exec taskset -c "$CPU_PROXY" "${cmd[@]}") \
    >>"$d/stdout.log" 2>&1 &
  proxy_pid=$!
  proxy_server=$s
  if ! wait_port "$proxy_port" 600 "$proxy_pid"; then
    echo "$s did not start:" >&2
    tail -n 30 "$d/stdout.log" >&2
    exit 1
  fi
  ready_s=$($py -c "import sys,time; print(round(time.time() - float(sys.argv[1]), 3))" "$t0")
  log "$s up (pid $proxy_pid, ${ready_s}s)"
}

# stop_proxy term|kill9: stops the running proxy and waits until its cgroup has no process
stop_proxy() {
  local g=$cgroot/coss-http-$proxy_server
  if [ "$1" = term ]; then
    kill -TERM "$proxy_pid" 2>/dev/null || true
    for _ in $(seq 1200); do [ -z "$(cat "$g/cgroup.procs")" ] && break; sleep 0.1; done
    if [ -n "$(cat "$g/cgroup.procs")" ]; then
      log "$proxy_server did not stop within 120 s of SIGTERM: kill -9"
      notes+=("$proxy_server did not stop within 120 s of SIGTERM and was killed")
    fi
  fi
  {  # (bash's "Killed" job notices go to /dev/null)
    for p in $(cat "$g/cgroup.procs"); do kill -9 "$p" 2>/dev/null || true; done
    for _ in $(seq 600); do [ -z "$(cat "$g/cgroup.procs")" ] && break; sleep 0.1; done
    wait "$proxy_pid" || true
  } 2>/dev/null
  proxy_pid=
}

mem_now() {  # mem_now: sets mem_json from the running proxy's cgroup (MiB: rss, page cache, shmem)
  mem_json=$(awk '$1 == "total_rss" {r = $2} $1 == "total_cache" {c = $2} $1 == "total_shmem" {s = $2}
    END {printf "{\"rss_mib\": %d, \"cache_mib\": %d, \"shmem_mib\": %d}", r / 1048576, c / 1048576, s / 1048576}' \
    "$cgroot/coss-http-$proxy_server/memory.stat")
}

remove_cgroup() {
  local g=$cgroot/coss-http-$1
  memory_peak_mib=$(($(cat "$g/memory.max_usage_in_bytes") >> 20))
  memory_failcnt=$(cat "$g/memory.failcnt")
  oom_kills=$(awk '$1 == "oom_kill" {print $2}' "$g/memory.oom_control")
  rmdir "$g"
  local f
  for f in stdout.log error.log; do
    [ -s "$work/srv/$1/$f" ] && cp "$work/srv/$1/$f" "$out/raw/$scenario-$1.$f"
  done
  rm -rf "$work/srv/$1" "${shm:?}/$1"
}

# counters SERVER: prints "HITS REQUESTS" from the proxy's own counters
counters() {
  local d=$work/srv/$1
  case $1 in
    cossd)
      printf 'stats\r\nquit\r\n' | nc -w 5 127.0.0.1 "$mc_port" |
        tr -d '\r' | awk '$2 == "http_hits" {h = $3} $2 == "http_requests" {r = $3} END {print h + 0, r + 0}' ||
        true
      ;;
    varnish-*)
      varnishstat -n "$shm/$1" -1 -f MAIN.cache_hit -f MAIN.client_req |
        awk '$1 == "MAIN.cache_hit" {h = $2} $1 == "MAIN.client_req" {r = $2} END {print h + 0, r + 0}' || true
      ;;
    nginx)
      sleep 2  # the access log's buffer is flushed every second
      if [ -f "$d/access.log" ]; then
        awk '$1 == "HIT" {h++} END {print h + 0, NR}' "$d/access.log"
      else
        echo 0 0
      fi
      ;;
  esac
}

# warm SERVER PREFIX: GETs every object once; sets warm_json, origin_warm_json
warm() {
  local o0 o1
  o0=$(origin_lines)
  warm_json=$(taskset -c "$CPU_CLIENT" $py "$helper" warm "$proxy_port" "$www/$2.paths" "$WARM_CONNS")
  o1=$(origin_lines)
  origin_warm_json=$(origin_count "$o0" "$o1" "$2")
  log "$1 warm: $warm_json; origin: $origin_warm_json"
}

# load NAME PREFIX MODE CONNS DURATION [TIMEOUT]: wrk against the proxy; sets wrk_json
load() {
  local name=$1 prefix=$2 mode=$3 conns=$4 dur=$5 timeout=${6:-5s}
  local f=$out/raw/$name.wrk.txt
  wrk_command="taskset -c $CPU_CLIENT wrk -t1 -c$conns -d$dur --timeout $timeout --latency -s bench/http/paths.lua http://127.0.0.1:$proxy_port -- $prefix.paths $mode $ZIPF_S"
  taskset -c "$CPU_CLIENT" wrk -t1 -c"$conns" -d"$dur" --timeout "$timeout" --latency \
    -s "$here/paths.lua" "http://127.0.0.1:$proxy_port" -- "$www/$prefix.paths" "$mode" "$ZIPF_S" \
    >"$f" 2>&1 &
  wrk_pid=$!
  wait "$wrk_pid" || { wrk_pid=; cat "$f" >&2; echo "wrk failed" >&2; exit 1; }
  wrk_pid=
  wrk_json=$($py "$helper" wrkjson "$f")
}

# record SERVER KEY=VALUE...: one JSON line in $out/raw.jsonl (numbers where they parse; JSON
# objects given as KEY=json:{...} are merged in with KEY_ prefixes)
record() {
  local s=$1
  shift
  $py - "$s" "$@" "${commands[@]/#/cmd=}" >>"$out/raw.jsonl" <<'EOF'
import json, sys
r = {"server": sys.argv[1], "commands": []}
for a in sys.argv[2:]:
    k, _, v = a.partition("=")
    if k == "cmd":
        r["commands"].append(v)
    elif v.startswith("json:"):
        for kk, vv in json.loads(v[5:]).items():
            r[k + "_" + kk] = vv
    else:
        try:
            r[k] = int(v)
        except ValueError:
            try:
                r[k] = float(v)
            except ValueError:
                r[k] = v
print(json.dumps(r))
EOF
  tail -n 1 "$out/raw.jsonl" | cut -c1-400 >&2
}

jget() { $py -c "import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])" "$1" "$2"; }
calc() { $py -c "print($1)"; }

begin_scenario() {  # begin_scenario NAME: the results folder
  scenario=$1
  out=$RESULTS/$(date +%F)-http-$1
  mkdir -p "$out/raw" "$out/configs"
  : >"$out/raw.jsonl"
  notes=()
  log "scenario $1 -> $out"
}

save_configs() {  # copies the server's config files into $out/configs
  local s=$1 d=$work/srv/$1
  case $s in
    varnish-*) cp "$d/default.vcl" "$out/configs/$s.vcl" ;;
    nginx) cp "$d/nginx.conf" "$out/configs/nginx-proxy.conf" ;;
  esac
  cp "$work/origin/nginx.conf" "$out/configs/nginx-origin.conf"
  cp "$here/paths.lua" "$out/configs/paths.lua"
}

finish_scenario() {  # finish_scenario NAME SETUP
  local machine
  machine="$(uname -a; echo "nproc: $(nproc)"; grep -m1 'model name' /proc/cpuinfo; free -m | sed -n 2p
    varnishd -V 2>&1 | head -n 1; nginx -v 2>&1; wrk -v 2>&1 | head -n 1; "$cossd" --version)"
  $py - "$out/meta.json" "$1" "$invocation" "$(git -C "$root" rev-parse --short HEAD)" \
    "$(date -Is)" "$2" "$machine" "${wrk_command:-}" "$SMOKE" "$RESTART_DURATION" "$SERVERS" \
    "${notes[@]}" <<'EOF'
import json, sys
a = sys.argv
json.dump({"scenario": a[2], "command": a[3], "commit": a[4], "date": a[5], "setup": a[6],
           "machine": a[7], "wrk_command": a[8], "smoke": a[9] == "1", "restart_duration": a[10],
           "servers": a[11].split(), "notes": a[12:]}, open(a[1], "w"), indent=1)
EOF
  $py "$helper" report "$1" "$out"
  log "report: $out/report.md"
}

common_setup() {
  echo "Each proxy alone in a ${MEM} MiB memory cgroup (v1, page cache included) pinned to CPU" \
    "$CPU_PROXY; wrk (-t1) and the origin (nginx, static files, \`Cache-Control: max-age=3600\`," \
    "outside the cgroup) on CPU $CPU_CLIENT. cossd: \`-t 1 --http-threads 1 -m $COSSD_RAM_MB\`, a" \
    "${STORE_MB} MiB store file; Varnish: \`-s malloc,${VARNISH_MALLOC_MB}m\` (varnish-malloc) or" \
    "\`-s file,PATH,${STORE_MB}m\` (varnish-file), \`-l $VARNISH_VSL\` (its working folder on tmpfs), \`thread_pools=1\`; nginx: one worker," \
    "\`proxy_cache_path\` on disk with \`max_size=${STORE_MB}m\`, \`proxy_cache_lock on\`." \
    "Warm-up: every object fetched once through the proxy ($WARM_CONNS connections)."
}

# ---------------------------------------------------------------------------------- scenarios
alive() { [ -n "$proxy_pid" ] && kill -0 "$proxy_pid" 2>/dev/null; }

# give_up SERVER WHEN: the proxy's main process died; records that, cleans up
give_up() {
  log "$1 died $2"
  mem_json='{}'
  stop_proxy kill9
  remove_cgroup "$1"
  record "$1" note="died $2 (OOM kills in its cgroup: ${oom_kills:-0}; see its log)" \
    cgroup_peak_mib="$memory_peak_mib" cgroup_failcnt="$memory_failcnt" oom_kills="${oom_kills:-0}"
}

delta() {  # delta BEFORE AFTER FIELD: difference of field FIELD (1 hits, 2 requests)
  echo $(($(echo "$2" | cut -d' ' -f"$3") - $(echo "$1" | cut -d' ' -f"$3")))
}

# steady SCENARIO PREFIX MODE CONNS TIMEOUT: for each server: fresh start, warm every object
# once, then wrk for DURATION; records requests/s, hits/s (the proxy's counter) and MB/s
steady() {
  local scen=$1 prefix=$2 mode=$3 conns=$4 timeout=$5
  local s c0 c1 o0 o1 dh dr secs
  for s in $SERVERS; do
    commands=()
    cossd_extra=()
    cossd_ram=$COSSD_RAM_MB
    if [ "$scen" = big ]; then
      cossd_extra=(--http-max-object "$((BIG_MB + 20))m")
      cossd_ram=$COSSD_BIG_RAM_MB
    fi
    start_proxy "$s" fresh
    save_configs "$s"
    warm "$s" "$prefix"
    alive || { give_up "$s" "during the warm-up"; continue; }
    c0=$(counters "$s")
    o0=$(origin_lines)
    load "$scen-$s" "$prefix" "$mode" "$conns" "$DURATION" "$timeout"
    alive || { give_up "$s" "during the run"; continue; }
    c1=$(counters "$s")
    o1=$(origin_lines)
    mem_now
    stop_proxy term
    remove_cgroup "$s"
    dh=$(delta "$c0" "$c1" 1)
    dr=$(delta "$c0" "$c1" 2)
    secs=$(calc "$(jget "$wrk_json" duration_us) / 1e6")
    record "$s" \
      requests_per_s="$(calc "$(jget "$wrk_json" requests) / $secs")" \
      hits_per_s="$(calc "$dh / $secs")" \
      mb_per_s="$(calc "$(jget "$wrk_json" bytes) / $secs / 1e6")" \
      hits="$dh" requests="$dr" hit_ratio="$(calc "$dh / max($dr, 1)")" \
      wrk_requests="$(jget "$wrk_json" requests)" \
      wrk_errors="$(calc "$(jget "$wrk_json" read_errors) + $(jget "$wrk_json" connect_errors) + $(jget "$wrk_json" write_errors) + $(jget "$wrk_json" timeouts)")" \
      wrk_non2xx="$(jget "$wrk_json" non2xx)" \
      latency_p50_ms="$(calc "$(jget "$wrk_json" latency_p50_us) / 1000")" \
      latency_p99_ms="$(calc "$(jget "$wrk_json" latency_p99_us) / 1000")" \
      origin_warm_fetches="$(jget "$origin_warm_json" lines)" \
      origin_warm_distinct="$(jget "$origin_warm_json" distinct)" \
      origin_warm_max_per_url="$(jget "$origin_warm_json" max_per_url)" \
      origin_requests_during_run=$((o1 - o0)) warm_seconds="$(jget "$warm_json" seconds)" \
      warm_errors="$(calc "$(jget "$warm_json" errors) + $(jget "$warm_json" non200)")" \
      mem_end="json:$mem_json" cgroup_peak_mib="$memory_peak_mib" cgroup_failcnt="$memory_failcnt" \
      oom_kills="${oom_kills:-0}"
  done
}

scenario_hot() {
  begin_scenario hot
  gen_objects hot "$HOT_OBJECTS" "$HOT_SIZE"
  steady hot hot uniform "$CONNS" 5s
  notes+=("origin_warm_fetches / origin_warm_max_per_url: the origin's log during the warm-up (each URL should be fetched once); origin_requests_during_run: what reached the origin during the measured run (0 when everything is served from the cache).")
  finish_scenario hot "$HOT_OBJECTS objects of $HOT_SIZE bytes; wrk -t1 -c$CONNS -d$DURATION, paths uniformly at random; requests/s from wrk. $(common_setup)"
}

scenario_large_set() {
  begin_scenario large-set
  gen_objects large "$LARGE_OBJECTS" "$LARGE_SIZE"
  steady large-set large zipf "$CONNS" 5s
  notes+=("A miss is still answered (from the origin): requests/s counts both, hits/s only what the proxy served from its cache.")
  finish_scenario large-set "$LARGE_OBJECTS objects of $LARGE_SIZE bytes ($((LARGE_OBJECTS * LARGE_SIZE >> 20)) MiB, $(calc "round($LARGE_OBJECTS * $LARGE_SIZE / ($MEM * 1048576.0), 2)") x the memory limit); wrk -t1 -c$CONNS -d$DURATION, paths drawn from a Zipf distribution (exponent $ZIPF_S, rank order shuffled). hits/s = the proxy's hit counter over the run / wrk's duration. $(common_setup)"
}

scenario_big() {
  begin_scenario big
  gen_objects big "$BIG_OBJECTS" $((BIG_MB << 20))
  steady big big uniform "$BIG_CONNS" 60s
  notes+=("origin_requests_during_run > 0 means the proxy fetched objects again during the run: it did not keep (or could not store) them. cossd stores HTTP responses up to --http-max-object ($((BIG_MB + 20)) MiB here); bodies over -I (1 MiB by default) go to its store as 512 KiB chunks and are streamed from them, so a large object never sits whole in its memory.")
  finish_scenario big "$BIG_OBJECTS objects of $BIG_MB MiB; wrk -t1 -c$BIG_CONNS -d$DURATION --timeout 60s, paths uniformly at random; MB/s = bytes wrk read / wrk's duration. cossd: \`-m $COSSD_BIG_RAM_MB --http-max-object $((BIG_MB + 20))m\` in this scenario. $(common_setup)"
}

# measure_restart SERVER TAG: Zipf load for RESTART_DURATION right after a start; sets r_*
measure_restart() {
  local c0 c1
  c0=$(counters "$1")
  load "restart-$1-$2" large zipf "$CONNS" "$RESTART_DURATION" 5s
  alive || return 1
  c1=$(counters "$1")
  r_hits=$(delta "$c0" "$c1" 1)
  r_reqs=$(delta "$c0" "$c1" 2)
  r_ratio=$(calc "$r_hits / max($r_reqs, 1)")
  log "$1 after $2: hits $r_hits / requests $r_reqs = $r_ratio"
}

scenario_restart() {
  begin_scenario restart
  gen_objects large "$LARGE_OBJECTS" "$LARGE_SIZE"
  local s ready_term ready_kill h_term q_term hr_term
  for s in $SERVERS; do
    commands=()
    cossd_extra=()
    cossd_ram=$COSSD_RAM_MB
    start_proxy "$s" fresh
    save_configs "$s"
    warm "$s" large
    alive || { give_up "$s" "during the warm-up"; continue; }
    stop_proxy term
    start_proxy "$s" again
    ready_term=$ready_s
    measure_restart "$s" term || { give_up "$s" "after the restart (SIGTERM)"; continue; }
    h_term=$r_hits q_term=$r_reqs hr_term=$r_ratio
    warm "$s" large
    alive || { give_up "$s" "during the second warm-up"; continue; }
    stop_proxy kill9
    start_proxy "$s" again
    ready_kill=$ready_s
    measure_restart "$s" kill9 || { give_up "$s" "after the restart (kill -9)"; continue; }
    mem_now
    stop_proxy term
    remove_cgroup "$s"
    record "$s" hit_ratio_after_term="$hr_term" hits_after_term="$h_term" requests_after_term="$q_term" \
      ready_after_term_s="$ready_term" hit_ratio_after_kill9="$r_ratio" hits_after_kill9="$r_hits" \
      requests_after_kill9="$r_reqs" ready_after_kill9_s="$ready_kill" \
      mem_end="json:$mem_json" cgroup_peak_mib="$memory_peak_mib" cgroup_failcnt="$memory_failcnt" \
      oom_kills="${oom_kills:-0}"
  done
  notes+=("The store or cache files are kept across each restart (same paths, same cgroup); Varnish's malloc and file storages are not persistent, so it starts empty."
    "ready_*_s: seconds from the start command until the HTTP port accepted connections."
    "Before the kill -9 the large set is warmed again (one pass through the restarted proxy)."
    "kill -9 goes to every process of the proxy's cgroup (Varnish's manager and child, nginx's master and worker); SIGTERM only to the main process (cossd, Varnish's manager, nginx's master).")
  finish_scenario restart "The large set ($LARGE_OBJECTS objects of $LARGE_SIZE bytes, $((LARGE_OBJECTS * LARGE_SIZE >> 20)) MiB) warmed; the proxy stopped with SIGTERM and started again; then wrk -t1 -c$CONNS -d$RESTART_DURATION, Zipf $ZIPF_S, and the hit ratio over that run from the proxy's counters (hits / requests). Then a warm pass, kill -9, a start and the same run. $(common_setup)"
}

start_origin
for s in "${scenarios[@]}"; do
  case $s in
    hot) scenario_hot ;;
    large-set) scenario_large_set ;;
    big) scenario_big ;;
    restart) scenario_restart ;;
  esac
done
log "done"
