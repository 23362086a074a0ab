#!/usr/bin/env bash
# Builds and runs the whole test suite:
#   1. RelWithDebInfo build, every test (unit, engine model, server integration);
#   2. AddressSanitizer + UBSan build, every test (fewer model operations);
#   3. ThreadSanitizer build, the tests labelled "concurrency";
#   4. libFuzzer targets (clang), each for a bounded time.
# Usage: scripts/test.sh [--quick]   (--quick: step 1 only)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
"$root/scripts/deps.sh"
jobs=$(nproc)
export COSS_TEST_DIR="${COSS_TEST_DIR:-/var/tmp}"

step() { printf '\n=== %s ===\n' "$*"; }

build() {  # build <dir> [--target T] <cmake args...>
  local dir=$1 target=(); shift
  [ "${1:-}" = --target ] && { target=(--target "$2"); shift 2; }
  cmake -S "$root" -B "$dir" "$@" >/dev/null
  cmake --build "$dir" -j"$jobs" "${target[@]}"
}

step "build + tests (RelWithDebInfo)"
build build -DCMAKE_BUILD_TYPE=RelWithDebInfo
ctest --test-dir build --output-on-failure -j"$jobs" --timeout 600

[ "${1:-}" = "--quick" ] && exit 0

step "AddressSanitizer + UndefinedBehaviorSanitizer"
build build-asan -DCMAKE_BUILD_TYPE=Debug -DCOSS_SANITIZE=address -DCOSS_BENCH=OFF
COSS_MODEL_OPS=200000 ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
  ctest --test-dir build-asan --output-on-failure -j"$jobs" --timeout 900

step "ThreadSanitizer (concurrency tests)"
build build-tsan --target concurrency_tests -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCOSS_SANITIZE=thread -DCOSS_BENCH=OFF
COSS_MODEL_OPS=100000 TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1" \
  ctest --test-dir build-tsan --output-on-failure -L concurrency -j"$jobs" --timeout 900

step "libFuzzer (bounded)"
cmake -S "$root" -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_C_COMPILER=clang \
  -DCMAKE_CXX_COMPILER=clang++ -DCOSS_FUZZ=ON -DCOSS_BENCH=OFF >/dev/null
fuzz_targets=$(cmake --build build-fuzz --target help | sed -n 's/^\.\.\. \(fuzz_[a-z_]*\).*/\1/p')
for t in $fuzz_targets; do cmake --build build-fuzz -j"$jobs" --target "$t"; done
fuzz_seconds="${COSS_FUZZ_SECONDS:-60}"
shopt -s nullglob
for f in build-fuzz/tests/fuzz/fuzz_*; do
  [ -x "$f" ] || continue
  name=$(basename "$f")
  corpus="$root/tests/fuzz/corpus/${name#fuzz_}"
  work=$(mktemp -d)
  [ -d "$corpus" ] && cp -r "$corpus/." "$work/"
  echo "fuzzing $name for ${fuzz_seconds}s"
  "$f" -max_total_time="$fuzz_seconds" -rss_limit_mb=2048 -print_final_stats=1 "$work" 2>&1 | tail -n 12
  rm -rf "$work"
done
step "all tests passed"
