#!/usr/bin/env bash
# Installs coss's build and test dependencies from Debian's packages (only what
# is missing). Needs root or sudo. Used by scripts/run.sh and scripts/test.sh.
set -euo pipefail
pkgs=(build-essential cmake pkg-config clang clang-tools libclang-rt-dev
      liburing-dev libxxhash-dev libspdlog-dev libfmt-dev libcli11-dev libtomlplusplus-dev
      libgtest-dev libgmock-dev libbenchmark-dev
      memcached libmemcached-tools python3 python3-pymemcache fio nutcracker haproxy curl
      netcat-openbsd
      systemd groff-base)
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
