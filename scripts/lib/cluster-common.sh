# Shared by scripts/cluster.sh (twemproxy) and scripts/http-cluster.sh
# (haproxy): process and port helpers, and finding cossd. Sourced after the
# caller has set `prog` (its name, for messages) and `root` (the checkout) and
# defined die(); finish_stop reads the caller's `wait_s` (seconds to wait).
#
# A pid counts as ours only if its command line names this cluster's folder
# (a stale pidfile may point at a reused pid).

pid_of() { # pid_of PIDFILE MARKER -> prints the pid if alive and ours
  local f=$1 marker=$2 pid
  [ -f "$f" ] || return 1
  pid="$(tr -dc 0-9 <"$f")"
  [ -n "$pid" ] && [ -r "/proc/$pid/cmdline" ] && ! gone "$pid" || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "$marker" || return 1
  echo "$pid"
}
port_busy() { # port_busy PORT: something accepts connections on 127.0.0.1:PORT
  timeout 1 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null
}
ask() { # ask PORT REQUEST: prints the first reply line (bounded to 2 s)
  timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1; printf '$2' >&3; head -n1 <&3" 2>/dev/null |
    tr -d '\r'
}
gone() { # gone PID: the process has exited (a zombie waiting for its reaper counts)
  local state
  state="$(sed -n 's/^State:[[:space:]]*\([A-Z]\).*/\1/p' "/proc/$1/status" 2>/dev/null)" || return 0
  [ -z "$state" ] || [ "$state" = Z ] || [ "$state" = X ]
}
wait_gone() { # wait_gone PID SECONDS
  local i
  for ((i = 0; i < $2 * 20; i++)); do
    gone "$1" && return 0
    sleep 0.05
  done
  return 1
}
find_cossd() {
  if [ -n "${COSSD:-}" ]; then
    local c
    c="$(command -v "$COSSD")" || die "COSSD=$COSSD is not an executable"
    [ -x "$c" ] || die "COSSD=$COSSD is not an executable"
    realpath "$c"  # the nodes run in their own folders
    return
  fi
  local b="$root/build-release/src/server/cossd"
  if [ ! -x "$b" ]; then
    echo "$prog: building cossd in build-release (set COSSD to use another binary)" >&2
    "$root/scripts/deps.sh"
    cmake -S "$root" -B "$root/build-release" -DCMAKE_BUILD_TYPE=Release -DCOSS_BENCH=OFF >/dev/null
    cmake --build "$root/build-release" -j"$(nproc)" --target cossd >/dev/null
  fi
  echo "$b"
}
finish_stop() { # finish_stop NAME PID PIDFILE LOG: PID was signalled
  local name=$1 pid=$2 f=$3 log=$4
  if wait_gone "$pid" "$wait_s"; then
    if [ -n "$log" ] && tail -n 3 "$log" | grep -q "flushed and closed"; then
      echo "$prog: $name (pid $pid) stopped cleanly"
    else
      echo "$prog: $name (pid $pid) stopped"
    fi
    rm -f "$f"
    return 0
  fi
  echo "$prog: $name (pid $pid) still running after $wait_s s; sending SIGKILL (next start recovers)" >&2
  kill -KILL "$pid" 2>/dev/null || true
  wait_gone "$pid" 5 || true
  rm -f "$f"
  return 1
}
