#!/usr/bin/env bash
# Installs what bench/http/run.sh needs (Debian 12): Varnish 7.1, nginx 1.22 (nginx-light:
# proxy_cache and the origin), wrk, nc (netcat-openbsd, for cossd's `stats`) and taskset, then
# makes sure the packages' own services are stopped and disabled: run.sh starts its own
# instances on loopback high ports and must find 80 and 6081 free of system services.
#
#   sudo bench/http/deps.sh
set -euo pipefail
[ "$(id -u)" = 0 ] || { echo "run as root" >&2; exit 1; }
export DEBIAN_FRONTEND=noninteractive
pkgs=(varnish nginx-light wrk netcat-openbsd util-linux)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  apt-get update
  apt-get install -y --no-install-recommends "${missing[@]}"
fi

# The packages' services: stop and disable (systemd), or stop through their init scripts and
# kill what is left (no systemd as PID 1, e.g. a container).
services=(varnish varnishncsa nginx)
if [ -d /run/systemd/system ] && command -v systemctl >/dev/null; then
  for s in "${services[@]}"; do
    systemctl stop "$s" 2>/dev/null || true
    systemctl disable "$s" 2>/dev/null || true
  done
else
  for s in "${services[@]}"; do
    [ -x "/etc/init.d/$s" ] && "/etc/init.d/$s" stop >/dev/null 2>&1 || true
    command -v update-rc.d >/dev/null && update-rc.d "$s" disable >/dev/null 2>&1 || true
  done
  # What the packages may have started with their stock configs (pid files of the system
  # instances only; run.sh's own instances keep their pid files in their work folders).
  for pf in /run/nginx.pid /run/varnishd.pid /run/varnish.pid; do
    [ -s "$pf" ] && kill "$(cat "$pf")" 2>/dev/null || true
  done
fi
for b in varnishd varnishstat nginx wrk nc taskset; do
  command -v "$b" >/dev/null || { echo "missing after install: $b" >&2; exit 1; }
done
varnishd -V 2>&1 | head -n 1
nginx -v 2>&1
wrk -v 2>&1 | head -n 1 || true
