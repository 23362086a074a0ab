#!/usr/bin/env bash
# N cossd HTTP caching nodes on loopback, each with its own store folder and
# ports, behind haproxy hashing the URI onto a consistent-hash ring, with the
# configuration of deploy/haproxy/coss-http.cfg (ports, paths and the server
# list rewritten).
#
#   scripts/http-cluster.sh start  --origin http://HOST[:PORT] [options] [-- extra cossd options]
#   scripts/http-cluster.sh status [--dir D]
#   scripts/http-cluster.sh stop   [--dir D]
#
# Options:
#   --dir D            cluster folder (default ./coss-http-cluster): node-a/,
#                      node-b/ ... (store.coss, cossd.log, cossd.pid), haproxy.cfg,
#                      haproxy.log, haproxy.pid, haproxy.sock (admin socket),
#                      cluster.env (ports, node count, origin)
#   --origin URL       where the nodes send misses (cossd --http-origin); needed
#                      at the first start, remembered in cluster.env
#   --nodes N          number of cossd nodes, 1..26 (default 3; remembered)
#   --base-port P      haproxy on P; node k (1..N) serves HTTP on P+k and
#                      memcached on P+100+k; haproxy's stats page (HTML, /;csv,
#                      /metrics) on P+100 (default 8080; remembered)
#   --store-size S     store size per node (default 256m; an existing store
#                      keeps its size)
#   --memory M         RAM tier per node, cossd -m (default 16)
#   --threads N        worker threads per node (default 1)
#   --wait S           seconds to wait for start or stop (default 30)
#
# Try it with any web server as the origin, e.g.
#   python3 -m http.server 9000 --bind 127.0.0.1 &
#   scripts/http-cluster.sh start --origin http://127.0.0.1:9000
#   curl -si http://127.0.0.1:8080/README.md      # twice: the second is a hit
#   scripts/http-cluster.sh status                 # who holds what, haproxy's view
#
# cossd is $COSSD if set, else build-release/src/server/cossd (built like
# scripts/run.sh does when it is missing). Every process runs in the
# background with a pidfile. `stop` soft-stops haproxy (SIGUSR1: running
# exchanges finish) and sends each node SIGTERM: cossd drains, flushes and
# writes an index checkpoint, so a restart on the same folder is warm, and
# since the ring is built from the servers' ids a node's URLs come back to
# it. `start` leaves running processes alone and starts only the missing
# ones: after a node crashed it comes back on its own store, and haproxy's
# health checks put it back in the ring within about 2 s. `start` fails
# (exit 1) when a port is in use or a process does not come up, stopping what
# it started. `status` exits 0 when everything runs and haproxy sees every
# node up, 3 otherwise.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
example="$root/deploy/haproxy/coss-http.cfg"

die() { echo "http-cluster: $*" >&2; exit 1; }
prog=http-cluster
# shellcheck source=lib/cluster-common.sh
source "$root/scripts/lib/cluster-common.sh"
usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; }

cmd="${1:-}"
[ $# -gt 0 ] && shift
case "$cmd" in
  start|stop|status) ;;
  -h|--help|help) usage; exit 0 ;;
  *) usage >&2; exit 2 ;;
esac

dir="$PWD/coss-http-cluster"
base=""
count=""
origin=""
store_size=256m
memory=16
threads=1
wait_s=30
extra=()
proxy_started=0
while [ $# -gt 0 ]; do
  case "$1" in
    --dir) dir="${2:?--dir needs a value}"; shift 2 ;;
    --origin) origin="${2:?--origin needs a value}"; shift 2 ;;
    --nodes) count="${2:?--nodes needs a value}"; shift 2 ;;
    --base-port) base="${2:?--base-port needs a value}"; shift 2 ;;
    --store-size) store_size="${2:?--store-size needs a value}"; shift 2 ;;
    --memory) memory="${2:?--memory needs a value}"; shift 2 ;;
    --threads) threads="${2:?--threads needs a value}"; shift 2 ;;
    --wait) wait_s="${2:?--wait needs a value}"; shift 2 ;;
    --) shift; extra=("$@"); break ;;
    *) echo "http-cluster: unknown option '$1'" >&2; usage >&2; exit 2 ;;
  esac
done
dir="$(realpath -m "$dir")"
for v in "$wait_s" ${base:+"$base"} ${count:+"$count"} "$threads"; do
  [[ "$v" =~ ^[0-9]+$ ]] || die "expected a number, got '$v'"
done

# --- settings: from the options, else from a previous start's cluster.env
saved() { sed -n "s/^$1=\"\{0,1\}\([^\"]*\)\"\{0,1\}$/\1/p" "$dir/cluster.env" 2>/dev/null || true; }
base_arg="$base" count_arg="$count" origin_arg="$origin"
[ -n "$base" ] || base="$(saved BASE_PORT)"
[ -n "$count" ] || count="$(saved NODES)"
[ -n "$origin" ] || origin="$(saved ORIGIN)"
base="${base:-8080}"
count="${count:-3}"
{ [ "$base" -ge 1024 ] && [ "$base" -le 65400 ]; } || die "--base-port must be 1024..65400, got $base"
{ [ "$count" -ge 1 ] && [ "$count" -le 26 ]; } || die "--nodes must be 1..26, got $count"
proxy_port=$base
stats_port=$((base + 100))
nodes=()
for ((k = 1; k <= count; k++)); do nodes+=("$(printf "\\$(printf %03o $((96 + k)))")"); done
node_index() { printf '%d' $(($(printf '%d' "'$1") - 96)); }   # a -> 1
node_http_port() { echo $((base + $(node_index "$1"))); }
node_mc_port() { echo $((base + 100 + $(node_index "$1"))); }

# --- the process and port helpers are in scripts/lib/cluster-common.sh
http_probe() { # http_probe PORT: the status of a HEAD the node answers without the origin
  curl -s -o /dev/null -m 2 -I -w '%{http_code}' -H 'Cache-Control: only-if-cached' \
    "http://127.0.0.1:$1/.coss-health" 2>/dev/null || true
}
haproxy_view() { # haproxy_view: "name status check" per server, from the stats page's CSV
  curl -s -m 2 "http://127.0.0.1:$stats_port/;csv" 2>/dev/null |
    awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; next }
             $1 == "coss" && $2 != "BACKEND" { print $2, $col["status"], $col["check_status"] }' || true
}
node_dir() { echo "$dir/node-$1"; }
node_store() { echo "$dir/node-$1/store.coss"; }
proxy_marker() { echo "$dir/haproxy.cfg"; }


write_proxy_conf() { # derive haproxy.cfg from the example: ports, socket, N servers
  local out="$dir/haproxy.cfg" tmp sock="$dir/haproxy.sock"
  [ ${#sock} -lt 100 ] || die "the folder's path is too long for haproxy's admin socket ($sock)"
  tmp="$(mktemp "$dir/.haproxy.cfg.XXXXXX")"
  # The example changed shape? refuse rather than point at the wrong ports.
  awk -v base="$base" -v n="$count" -v sock="$sock" '
    $0 == "    bind 127.0.0.1:8080" { print "    bind 127.0.0.1:" base; f++; next }
    $0 == "    bind 127.0.0.1:8180" { print "    bind 127.0.0.1:" base + 100; s++; next }
    $0 == "    stats socket /run/haproxy/coss-http.sock mode 600 level admin" {
      print "    stats socket " sock " mode 600 level admin"; k++; next }
    $0 == "    server coss-a 127.0.0.1:8081 id 1" {
      for (i = 1; i <= n; i++)
        printf "    server coss-%c 127.0.0.1:%d id %d\n", 96 + i, base + i, i
      a++; next }
    $0 ~ /^    server coss-[bc] 127\.0\.0\.1:808[23] id [23]$/ { o++; next }
    { print }
    END { if (f != 1 || s != 1 || k != 1 || a != 1 || o != 2) exit 3 }' "$example" >"$tmp" ||
    die "could not derive the configuration from $example (its bind, stats socket or server lines changed)"
  haproxy -c -q -f "$tmp" >/dev/null 2>&1 || die "haproxy rejects the derived configuration $tmp"
  mv "$tmp" "$out"
}

do_start() {
  command -v haproxy >/dev/null || die "haproxy is not installed (scripts/deps.sh installs it)"
  command -v curl >/dev/null || die "curl is not installed (scripts/deps.sh installs it)"
  local cossd n pid port
  mkdir -p "$dir"
  # What already runs is left alone (so `start` after a crash brings back only
  # what is missing, on its old store); stale pidfiles are removed.
  local todo=() up=() proxy_up=0
  for n in "${nodes[@]}"; do
    if pid="$(pid_of "$(node_dir "$n")/cossd.pid" "$(node_store "$n")")"; then
      up+=("coss-$n (pid $pid)")
    else
      if [ -f "$(node_dir "$n")/cossd.pid" ]; then
        echo "http-cluster: removing stale pidfile $(node_dir "$n")/cossd.pid" >&2
        rm -f "$(node_dir "$n")/cossd.pid"
      fi
      todo+=("$n")
    fi
  done
  if pid="$(pid_of "$dir/haproxy.pid" "$(proxy_marker)")"; then
    up+=("haproxy (pid $pid)")
    proxy_up=1
  elif [ -f "$dir/haproxy.pid" ]; then
    echo "http-cluster: removing stale pidfile $dir/haproxy.pid" >&2
    rm -f "$dir/haproxy.pid"
  fi
  if [ ${#up[@]} -gt 0 ]; then
    echo "http-cluster: already running in $dir: ${up[*]}"
    local v
    for v in "BASE_PORT:$base_arg" "NODES:$count_arg" "ORIGIN:$origin_arg"; do
      if [ -n "${v#*:}" ] && [ "${v#*:}" != "$(saved "${v%%:*}")" ]; then
        die "the running cluster has another ${v%%:*} ($(saved "${v%%:*}")); stop it first"
      fi
    done
    if [ ${#todo[@]} -eq 0 ] && [ $proxy_up = 1 ]; then
      return 0
    fi
  fi
  [ -n "$origin" ] || die "--origin http://HOST[:PORT] is needed (where the nodes send misses)"
  [[ "$origin" =~ ^http://[^/[:space:]]+$ ]] || die "--origin must be http://HOST[:PORT], got '$origin'"
  [ ${#todo[@]} -eq 0 ] || cossd="$(find_cossd)"
  local ports=()
  [ $proxy_up = 1 ] || ports+=("$proxy_port" "$stats_port")
  for n in "${todo[@]}"; do ports+=("$(node_http_port "$n")" "$(node_mc_port "$n")"); done
  for port in "${ports[@]}"; do
    port_busy "$port" && die "port $port on 127.0.0.1 is in use; choose another --base-port"
  done
  local hp=() mp=()
  for n in "${nodes[@]}"; do hp+=("$(node_http_port "$n")"); mp+=("$(node_mc_port "$n")"); done
  printf 'BASE_PORT=%s\nNODES=%s\nORIGIN="%s"\nPROXY_PORT=%s\nSTATS_PORT=%s\nHTTP_PORTS="%s"\nMEMCACHED_PORTS="%s"\n' \
    "$base" "$count" "$origin" "$proxy_port" "$stats_port" "${hp[*]}" "${mp[*]}" >"$dir/cluster.env"
  [ $proxy_up = 1 ] || write_proxy_conf

  started=()
  trap 'on_start_failure' EXIT
  for n in "${todo[@]}"; do
    mkdir -p "$(node_dir "$n")"
    local store spec
    store="$(node_store "$n")"
    spec="$store:$store_size"
    [ -f "$store" ] && spec="$store"  # an existing store keeps its size
    (cd "$(node_dir "$n")" &&
      exec nohup "$cossd" -l 127.0.0.1 -p "$(node_mc_port "$n")" -t "$threads" -m "$memory" \
        --store "$spec" --http-port "$(node_http_port "$n")" --http-origin "$origin" \
        "${extra[@]}" </dev/null >>cossd.log 2>&1) &
    echo $! >"$(node_dir "$n")/cossd.pid"
    started+=("$!")
  done
  for n in "${todo[@]}"; do
    wait_ready_node "$n"
    local opened
    opened="$(grep -o 'store open in .*' "$(node_dir "$n")/cossd.log" | tail -n 1)"
    echo "http-cluster: coss-$n up on 127.0.0.1:$(node_http_port "$n")" \
      "(memcached $(node_mc_port "$n"); $opened)"
  done
  if [ $proxy_up = 0 ]; then
    # In the foreground (-db) under nohup, like the nodes: its log (stdout) goes to haproxy.log.
    (cd "$dir" && exec nohup haproxy -f "$dir/haproxy.cfg" -db </dev/null >>haproxy.log 2>&1) &
    echo $! >"$dir/haproxy.pid"
    proxy_started=1
  fi
  wait_ready_proxy
  trap - EXIT
  local joined="${hp[*]}"
  echo "http-cluster: running in $dir: haproxy 127.0.0.1:$proxy_port (stats" \
    "http://127.0.0.1:$stats_port/), nodes 127.0.0.1:${joined// /,}, origin $origin"
}


on_start_failure() {
  local p
  echo "http-cluster: start failed; stopping what was started" >&2
  for p in "${started[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  if [ "$proxy_started" = 1 ] && p="$(pid_of "$dir/haproxy.pid" "$(proxy_marker)")"; then
    kill -TERM "$p" || true
  fi
  for p in "${started[@]}"; do wait_gone "$p" 15 || kill -KILL "$p" 2>/dev/null || true; done
}

wait_ready_node() {
  local n=$1 pid i mc http
  pid="$(tr -dc 0-9 <"$(node_dir "$n")/cossd.pid")"
  mc="$(node_mc_port "$n")"
  http="$(node_http_port "$n")"
  for ((i = 0; i < wait_s * 10; i++)); do
    if gone "$pid"; then
      echo "http-cluster: coss-$n exited; last log lines ($(node_dir "$n")/cossd.log):" >&2
      tail -n 5 "$(node_dir "$n")/cossd.log" >&2
      exit 1
    fi
    if [[ "$(ask "$mc" 'version\r\n')" == VERSION* ]] &&
       [[ "$(http_probe "$http")" =~ ^(200|504)$ ]]; then
      return 0
    fi
    sleep 0.1
  done
  die "coss-$n did not answer on ports $http, $mc within $wait_s s (see $(node_dir "$n")/cossd.log)"
}

wait_ready_proxy() {
  local i view
  for ((i = 0; i < wait_s * 10; i++)); do
    # every node passed a health check, and a request through haproxy reaches one
    view="$(haproxy_view)"
    if [ "$(grep -c ' UP L7OK$' <<<"$view")" -eq "$count" ] &&
       [[ "$(http_probe "$proxy_port")" =~ ^(200|504)$ ]]; then
      return 0
    fi
    if [ $i -gt 10 ] && ! pid_of "$dir/haproxy.pid" "$(proxy_marker)" >/dev/null; then
      echo "http-cluster: haproxy is not running; last log lines ($dir/haproxy.log):" >&2
      tail -n 5 "$dir/haproxy.log" >&2
      exit 1
    fi
    sleep 0.1
  done
  die "haproxy did not see every node up within $wait_s s (see $dir/haproxy.log): $view"
}


signal_one() { # signal_one NAME PIDFILE MARKER SIGNAL: prints the pid signalled
  local name=$1 f=$2 marker=$3 sig=$4 pid
  if pid="$(pid_of "$f" "$marker")"; then
    kill "-$sig" "$pid" 2>/dev/null || true
    echo "$pid"
  elif [ -f "$f" ]; then
    echo "http-cluster: $name was not running; stale pidfile removed" >&2
    rm -f "$f"
  fi
}

do_stop() {
  local rc=0 n pid
  [ -d "$dir" ] || die "no cluster folder $dir"
  # haproxy first (a soft stop: it stops listening, running exchanges finish
  # within hard-stop-after), so no client request reaches a node that stops
  pid="$(signal_one haproxy "$dir/haproxy.pid" "$(proxy_marker)" USR1)"
  [ -z "$pid" ] || finish_stop haproxy "$pid" "$dir/haproxy.pid" "" || rc=1
  # then the nodes, all at once (each drains, flushes and writes its
  # checkpoint); one SIGTERM each: a second one would cut a drain short
  local pids=()
  for n in "${nodes[@]}"; do
    pids+=("$(signal_one "coss-$n" "$(node_dir "$n")/cossd.pid" "$(node_store "$n")" TERM)")
  done
  local i=0
  for n in "${nodes[@]}"; do
    pid="${pids[$i]}"
    i=$((i + 1))
    [ -n "$pid" ] || continue
    finish_stop "coss-$n" "$pid" "$(node_dir "$n")/cossd.pid" "$(node_dir "$n")/cossd.log" || rc=1
  done
  return $rc
}

do_status() {
  local rc=0 n pid view="" proxy_running=0
  [ -d "$dir" ] || { echo "http-cluster: no cluster folder $dir"; exit 3; }
  if pid_of "$dir/haproxy.pid" "$(proxy_marker)" >/dev/null; then
    proxy_running=1
    view="$(haproxy_view)"
  fi
  for n in "${nodes[@]}"; do
    local http mc seen
    http="$(node_http_port "$n")"
    mc="$(node_mc_port "$n")"
    seen="$(awk -v s="coss-$n" '$1 == s { print $2 " (" $3 ")" }' <<<"$view")"
    if [ $proxy_running = 0 ]; then
      seen="haproxy: not running"
    else
      seen="haproxy: ${seen:-NOT LISTED}"
    fi
    [[ "$seen" == "haproxy: UP "* ]] || rc=3
    if pid="$(pid_of "$(node_dir "$n")/cossd.pid" "$(node_store "$n")")"; then
      local st items hits misses
      st="$(timeout 2 bash -c \
        "exec 3<>/dev/tcp/127.0.0.1/$mc; printf 'stats\r\nquit\r\n' >&3; cat <&3" 2>/dev/null |
        tr -d '\r' || true)"
      items="$(sed -n 's/^STAT curr_items //p' <<<"$st")"
      hits="$(sed -n 's/^STAT http_hits //p' <<<"$st")"
      misses="$(sed -n 's/^STAT http_misses //p' <<<"$st")"
      if [ -n "$items" ]; then
        echo "coss-$n: running, pid $pid, http 127.0.0.1:$http, memcached $mc, $items items," \
          "$hits http hits, $misses misses; $seen"
      else
        echo "coss-$n: running, pid $pid, http 127.0.0.1:$http, NOT ANSWERING; $seen"
        rc=3
      fi
    else
      echo "coss-$n: stopped; $seen"
      rc=3
    fi
  done
  if pid="$(pid_of "$dir/haproxy.pid" "$(proxy_marker)")"; then
    if [[ "$(http_probe "$proxy_port")" =~ ^(200|504)$ ]]; then
      echo "haproxy: running, pid $pid, 127.0.0.1:$proxy_port (stats http://127.0.0.1:$stats_port/)"
    else
      echo "haproxy: running, pid $pid, 127.0.0.1:$proxy_port, NOT ANSWERING"
      rc=3
    fi
  else
    echo "haproxy: stopped"
    rc=3
  fi
  exit $rc
}

case "$cmd" in
  start) do_start ;;
  stop) do_stop ;;
  status) do_status ;;
esac
