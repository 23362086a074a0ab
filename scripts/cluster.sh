#!/usr/bin/env bash
# A three-node coss cluster on loopback: three cossd, each with its own store
# folder and port, behind nutcracker (twemproxy) with the configuration of
# deploy/nutcracker/coss-cluster.yml (ports rewritten).
#
#   scripts/cluster.sh start  [options] [-- extra cossd options]
#   scripts/cluster.sh status [--dir D]
#   scripts/cluster.sh stop   [--dir D]
#
# Options:
#   --dir D            cluster folder (default ./coss-cluster): node-a/, node-b/,
#                      node-c/ (store.coss, cossd.log, cossd.pid), nutcracker.yml,
#                      nutcracker.log, nutcracker.pid, cluster.env (the ports)
#   --base-port P      proxy on P, nodes on P+1..P+3, nutcracker stats on P+4
#                      (default 22121)
#   --store-size S     store size per node (default 256m; an existing store
#                      keeps its size)
#   --memory M         RAM tier per node, cossd -m (default 16)
#   --threads N        worker threads per node (default 1)
#   --retry-ms MS      nutcracker server_retry_timeout (default: the example's)
#   --wait S           seconds to wait for start or stop (default 30)
#
# cossd is $COSSD if set, else build-release/src/server/cossd (built like
# scripts/run.sh does when it is missing). Every process is started in the
# background with a pidfile and stopped with SIGTERM: cossd flushes its
# buffers and writes an index checkpoint, so a restart on the same folder is
# warm. `start` leaves running processes alone and starts only the missing
# ones: after a node crashed it comes back on its own store. `start` fails
# (exit 1) when a port is in use or a process does not come up, stopping
# what it started. `status` exits 0 when everything runs, 3 otherwise.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
example="$root/deploy/nutcracker/coss-cluster.yml"
nodes=(a b c)

die() { echo "cluster: $*" >&2; exit 1; }
prog=cluster
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

dir="$PWD/coss-cluster"
base=""
proxy_started=0
store_size=256m
memory=16
threads=1
retry_ms=""
wait_s=30
extra=()
while [ $# -gt 0 ]; do
  case "$1" in
    --dir) dir="${2:?--dir needs a value}"; shift 2 ;;
    --base-port) base="${2:?--base-port needs a value}"; shift 2 ;;
    --store-size) store_size="${2:?--store-size needs a value}"; shift 2 ;;
    --memory) memory="${2:?--memory needs a value}"; shift 2 ;;
    --threads) threads="${2:?--threads needs a value}"; shift 2 ;;
    --retry-ms) retry_ms="${2:?--retry-ms needs a value}"; shift 2 ;;
    --wait) wait_s="${2:?--wait needs a value}"; shift 2 ;;
    --) shift; extra=("$@"); break ;;
    *) echo "cluster: unknown option '$1'" >&2; usage >&2; exit 2 ;;
  esac
done
dir="$(realpath -m "$dir")"
base_arg="$base"
for v in "$wait_s" ${base:+"$base"} ${retry_ms:+"$retry_ms"} "$threads"; do
  [[ "$v" =~ ^[0-9]+$ ]] || die "expected a number, got '$v'"
done

# --- ports: from --base-port, else from a previous start's cluster.env
if [ -z "$base" ] && [ -f "$dir/cluster.env" ]; then
  base="$(sed -n 's/^BASE_PORT=\([0-9]*\)$/\1/p' "$dir/cluster.env")"
fi
base="${base:-22121}"
{ [ "$base" -ge 1024 ] && [ "$base" -le 65530 ]; } || die "--base-port must be 1024..65530, got $base"
proxy_port=$base
stats_port=$((base + 4))
node_port() { # node_port a|b|c
  case "$1" in a) echo $((base + 1)) ;; b) echo $((base + 2)) ;; c) echo $((base + 3)) ;; esac
}

# --- the process and port helpers are in scripts/lib/cluster-common.sh
node_dir() { echo "$dir/node-$1"; }
node_store() { echo "$dir/node-$1/store.coss"; }
proxy_marker() { echo "$dir/nutcracker.yml"; }


write_proxy_conf() { # derive nutcracker.yml from the example, ports rewritten
  local out="$dir/nutcracker.yml" tmp
  tmp="$(mktemp "$dir/.nutcracker.yml.XXXXXX")"
  sed -e "s/^\(  listen: 127\.0\.0\.1:\)22121$/\1$proxy_port/" \
      -e "s/^\(    - 127\.0\.0\.1:\)11211\(:1 coss-a\)$/\1$(node_port a)\2/" \
      -e "s/^\(    - 127\.0\.0\.1:\)11212\(:1 coss-b\)$/\1$(node_port b)\2/" \
      -e "s/^\(    - 127\.0\.0\.1:\)11213\(:1 coss-c\)$/\1$(node_port c)\2/" \
      ${retry_ms:+-e "s/^\(  server_retry_timeout: \)[0-9]*$/\1$retry_ms/"} \
      "$example" >"$tmp"
  # the example changed shape? refuse rather than point at the wrong ports
  grep -qx "  listen: 127.0.0.1:$proxy_port" "$tmp" || die "could not set the listen port from $example"
  local n
  for n in "${nodes[@]}"; do
    grep -qx "    - 127.0.0.1:$(node_port "$n"):1 coss-$n" "$tmp" ||
      die "could not set node coss-$n's port from $example"
  done
  if [ -n "$retry_ms" ]; then
    grep -qx "  server_retry_timeout: $retry_ms" "$tmp" || die "could not set server_retry_timeout"
  fi
  nutcracker -t -c "$tmp" >/dev/null 2>&1 || die "nutcracker rejects the derived configuration $tmp"
  mv "$tmp" "$out"
}

do_start() {
  command -v nutcracker >/dev/null || die "nutcracker is not installed (scripts/deps.sh installs it)"
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
        echo "cluster: removing stale pidfile $(node_dir "$n")/cossd.pid" >&2
        rm -f "$(node_dir "$n")/cossd.pid"
      fi
      todo+=("$n")
    fi
  done
  if pid="$(pid_of "$dir/nutcracker.pid" "$(proxy_marker)")"; then
    up+=("nutcracker (pid $pid)")
    proxy_up=1
  elif [ -f "$dir/nutcracker.pid" ]; then
    echo "cluster: removing stale pidfile $dir/nutcracker.pid" >&2
    rm -f "$dir/nutcracker.pid"
  fi
  if [ ${#up[@]} -gt 0 ]; then
    echo "cluster: already running in $dir: ${up[*]}"
    local running_base
    running_base="$(sed -n 's/^BASE_PORT=//p' "$dir/cluster.env" 2>/dev/null || true)"
    if [ -n "$base_arg" ] && [ "$base_arg" != "$running_base" ]; then
      die "--base-port $base_arg differs from the running cluster's; stop it first"
    fi
    if [ ${#todo[@]} -eq 0 ] && [ $proxy_up = 1 ]; then
      return 0
    fi
  fi
  [ ${#todo[@]} -eq 0 ] || cossd="$(find_cossd)"
  local ports=()
  [ $proxy_up = 1 ] || ports+=("$proxy_port" "$stats_port")
  for n in "${todo[@]}"; do ports+=("$(node_port "$n")"); done
  for port in "${ports[@]}"; do
    port_busy "$port" && die "port $port on 127.0.0.1 is in use; choose another --base-port"
  done
  printf 'BASE_PORT=%s\nPROXY_PORT=%s\nSTATS_PORT=%s\nNODE_PORTS="%s %s %s"\n' \
    "$base" "$proxy_port" "$stats_port" "$(node_port a)" "$(node_port b)" "$(node_port c)" \
    >"$dir/cluster.env"
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
      exec nohup "$cossd" -l 127.0.0.1 -p "$(node_port "$n")" -t "$threads" -m "$memory" \
        --store "$spec" "${extra[@]}" </dev/null >>cossd.log 2>&1) &
    echo $! >"$(node_dir "$n")/cossd.pid"
    started+=("$!")
  done
  for n in "${todo[@]}"; do
    wait_ready_node "$n"
    local opened
    opened="$(grep -o 'store open in .*' "$(node_dir "$n")/cossd.log" | tail -n 1)"
    echo "cluster: coss-$n up on 127.0.0.1:$(node_port "$n") ($opened)"
  done
  if [ $proxy_up = 0 ]; then
    nutcracker -c "$dir/nutcracker.yml" -s "$stats_port" -a 127.0.0.1 -o "$dir/nutcracker.log" \
      -p "$dir/nutcracker.pid" -d
    proxy_started=1
  fi
  wait_ready_proxy
  trap - EXIT
  echo "cluster: running in $dir: proxy 127.0.0.1:$proxy_port (stats $stats_port)," \
    "nodes 127.0.0.1:$(node_port a),$(node_port b),$(node_port c)"
}

on_start_failure() {
  local p
  echo "cluster: start failed; stopping what was started" >&2
  for p in "${started[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  if [ "$proxy_started" = 1 ] && p="$(pid_of "$dir/nutcracker.pid" "$(proxy_marker)")"; then
    kill -TERM "$p" || true
  fi
  for p in "${started[@]}"; do wait_gone "$p" 15 || kill -KILL "$p" 2>/dev/null || true; done
}

wait_ready_node() {
  local n=$1 pid port i
  pid="$(tr -dc 0-9 <"$(node_dir "$n")/cossd.pid")"
  port="$(node_port "$n")"
  for ((i = 0; i < wait_s * 10; i++)); do
    if gone "$pid"; then
      echo "cluster: coss-$n exited; last log lines ($(node_dir "$n")/cossd.log):" >&2
      tail -n 5 "$(node_dir "$n")/cossd.log" >&2
      exit 1
    fi
    [[ "$(ask "$port" 'version\r\n')" == VERSION* ]] && return 0
    sleep 0.1
  done
  die "coss-$n did not answer on port $port within $wait_s s (see $(node_dir "$n")/cossd.log)"
}

wait_ready_proxy() {
  local i
  for ((i = 0; i < wait_s * 10; i++)); do
    # a get through the proxy reaches a node: the whole path works
    [ "$(ask "$proxy_port" 'get cluster.sh-probe\r\n')" = "END" ] && return 0
    if [ $i -gt 10 ] && ! pid_of "$dir/nutcracker.pid" "$(proxy_marker)" >/dev/null; then
      echo "cluster: nutcracker is not running; last log lines ($dir/nutcracker.log):" >&2
      tail -n 5 "$dir/nutcracker.log" >&2
      exit 1
    fi
    sleep 0.1
  done
  die "nutcracker did not answer on port $proxy_port within $wait_s s (see $dir/nutcracker.log)"
}


signal_one() { # signal_one NAME PIDFILE MARKER: SIGTERM; prints the pid signalled
  local name=$1 f=$2 marker=$3 pid
  if pid="$(pid_of "$f" "$marker")"; then
    kill -TERM "$pid" 2>/dev/null || true
    echo "$pid"
  elif [ -f "$f" ]; then
    echo "cluster: $name was not running; stale pidfile removed" >&2
    rm -f "$f"
  fi
}

do_stop() {
  local rc=0 n pid
  [ -d "$dir" ] || die "no cluster folder $dir"
  # the proxy first, so no client request reaches a node that is stopping
  pid="$(signal_one nutcracker "$dir/nutcracker.pid" "$(proxy_marker)")"
  [ -z "$pid" ] || finish_stop nutcracker "$pid" "$dir/nutcracker.pid" "" || rc=1
  # then the nodes, all at once (each drains, flushes and writes its
  # checkpoint); one SIGTERM each: a second one would cut a drain short
  local pids=()
  for n in "${nodes[@]}"; do
    pids+=("$(signal_one "coss-$n" "$(node_dir "$n")/cossd.pid" "$(node_store "$n")")")
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
  local rc=0 n pid
  [ -d "$dir" ] || { echo "cluster: no cluster folder $dir"; exit 3; }
  for n in "${nodes[@]}"; do
    local port
    port="$(node_port "$n")"
    if pid="$(pid_of "$(node_dir "$n")/cossd.pid" "$(node_store "$n")")"; then
      local items
      items="$(timeout 2 bash -c \
        "exec 3<>/dev/tcp/127.0.0.1/$port; printf 'stats\r\nquit\r\n' >&3; cat <&3" 2>/dev/null |
        tr -d '\r' | sed -n 's/^STAT curr_items //p' || true)"
      if [ -n "$items" ]; then
        echo "coss-$n: running, pid $pid, 127.0.0.1:$port, $items items"
      else
        echo "coss-$n: running, pid $pid, 127.0.0.1:$port, NOT ANSWERING"
        rc=3
      fi
    else
      echo "coss-$n: stopped"
      rc=3
    fi
  done
  if pid="$(pid_of "$dir/nutcracker.pid" "$(proxy_marker)")"; then
    if [ "$(ask "$proxy_port" 'get cluster.sh-probe\r\n')" = "END" ]; then
      echo "nutcracker: running, pid $pid, 127.0.0.1:$proxy_port (stats 127.0.0.1:$stats_port)"
    else
      echo "nutcracker: running, pid $pid, 127.0.0.1:$proxy_port, NOT ANSWERING"
      rc=3
    fi
  else
    echo "nutcracker: stopped"
    rc=3
  fi
  exit $rc
}

case "$cmd" in
  start) do_start ;;
  stop) do_stop ;;
  status) do_status ;;
esac
