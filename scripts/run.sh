#!/usr/bin/env bash
# Builds coss (Release) and runs cossd in the foreground. With no arguments it
# serves on 127.0.0.1:11211 with a 1 GiB store in ./coss-data. Extra arguments
# go to cossd (see `cossd --help`).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
"$root/scripts/deps.sh" --run  # only what building and running need
cmake -S "$root" -B "$root/build-release" -DCMAKE_BUILD_TYPE=Release -DCOSS_BENCH=OFF \
  -DCOSS_TESTS=OFF >/dev/null
cmake --build "$root/build-release" -j"$(nproc)" --target cossd coss_tool >/dev/null
exec "$root/build-release/src/server/cossd" "$@"
