#!/usr/bin/env bash
# Installs coss's dependencies from Debian's packages (only what is missing).
# Needs root or sudo.
#   scripts/deps.sh         build, test and benchmark dependencies (scripts/test.sh)
#   scripts/deps.sh --run   what building and running cossd need, and the
#                           clients the README's examples use (scripts/run.sh)
set -euo pipefail
pkgs=(build-essential cmake pkg-config
      liburing-dev libxxhash-dev libspdlog-dev libfmt-dev libcli11-dev libtomlplusplus-dev
      libmemcached-tools python3 curl netcat-openbsd)
if [ "${1:-}" != "--run" ]; then
  pkgs+=(clang clang-tools libclang-rt-dev libgtest-dev libgmock-dev libbenchmark-dev
         memcached python3-pymemcache python3-matplotlib fio nutcracker haproxy systemd
         groff-base)
fi
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "deps: installing ${missing[*]}" >&2
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null || {
  $SUDO apt-get update >/dev/null
  $SUDO apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null
}
# Debian starts and enables haproxy's service on install; the cluster scripts
# and tests run their own haproxy, so a service only installed for them is
# stopped and disabled again.
if [[ " ${missing[*]} " == *" haproxy "* ]]; then
  $SUDO systemctl disable --now haproxy >/dev/null 2>&1 || true
fi
