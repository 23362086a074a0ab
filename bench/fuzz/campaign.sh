#!/usr/bin/env bash
# One long libFuzzer campaign per target, measured in CPU time rather than wall
# time, so that it can run at nice 19 beside other work and still record what
# it spent.
#
#   bench/fuzz/campaign.sh OUTDIR CPU_SECONDS TARGET...
#
# Builds the clang fuzz tree (build-fuzz, as scripts/test.sh does), copies each
# target binary away (a rebuild cannot replace it mid-run), seeds a corpus from
# tests/fuzz/corpus/<name>/, and runs the target until its process has used
# CPU_SECONDS of CPU (user + system), then stops it with SIGINT. Writes
# OUTDIR/<target>.log (libFuzzer's output, final stats included),
# OUTDIR/<target>.summary (CPU seconds, runs, corpus size, coverage, crashes)
# keeps any crash input in OUTDIR/<target>-artifacts/, and the corpus, minimized,
# in OUTDIR/<target>-corpus.tar.gz. With SEED=DIR, the
# corpus also starts from DIR/<name>/ (e.g. the corpora a previous campaign
# kept: tar xzf bench/results/.../corpora.tar.gz -C /tmp/seed, SEED=/tmp/seed/corpora).
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
out=$(realpath -m "$1")
cpu_limit=$2
shift 2
mkdir -p "$out"
cmake -S "$root" -B "$root/build-fuzz" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_C_COMPILER=clang \
  -DCMAKE_CXX_COMPILER=clang++ -DCOSS_FUZZ=ON -DCOSS_BENCH=OFF >/dev/null
work=$(mktemp -d /var/tmp/coss-fuzz-campaign-XXXXXX)
for t in "$@"; do
  cmake --build "$root/build-fuzz" -j"$(nproc)" --target "$t" >/dev/null
  cp "$root/build-fuzz/tests/fuzz/$t" "$work/$t"
  corpus="$work/$t-corpus"
  mkdir -p "$corpus" "$out/$t-artifacts"
  seed="$root/tests/fuzz/corpus/${t#fuzz_}"
  [ -d "$seed" ] && cp -r "$seed/." "$corpus/"
  if [ -n "${SEED:-}" ] && [ -d "$SEED/${t#fuzz_}" ]; then cp -r "$SEED/${t#fuzz_}/." "$corpus/"; fi
  start=$(date +%s)
  nice -n 19 "$work/$t" -rss_limit_mb=2048 -print_final_stats=1 -max_total_time=86400 \
    -artifact_prefix="$out/$t-artifacts/" "$corpus" >"$out/$t.log" 2>&1 &
  pid=$!
  tick=$(getconf CLK_TCK)
  used=0
  while kill -0 "$pid" 2>/dev/null; do
    if [ -r "/proc/$pid/stat" ]; then
      # utime and stime are fields 14 and 15 (the command name has no spaces).
      used=$(awk -v t="$tick" '{print int(($14 + $15) / t)}' "/proc/$pid/stat" 2>/dev/null || echo "$used")
      if [ "$used" -ge "$cpu_limit" ]; then kill -INT "$pid"; break; fi
    fi
    sleep 10
  done
  rc=0
  wait "$pid" || rc=$?
  # crash-, leak-, timeout-, oom- files are findings; slow-unit- files only say
  # an input took over 10 s (also when the process was stopped meanwhile).
  crashes=$(find "$out/$t-artifacts" -type f ! -name 'slow-unit-*' | wc -l)
  slow=$(find "$out/$t-artifacts" -type f -name 'slow-unit-*' | wc -l)
  last=$(grep -E '^#[0-9]+' "$out/$t.log" | tail -n 1 || true)
  {
    echo "target: $t"
    echo "cpu_seconds: $used (limit $cpu_limit)"
    echo "wall_seconds: $(($(date +%s) - start))"
    echo "exit_status: $rc (libFuzzer exits 0 or 72 after SIGINT when nothing was found)"
    echo "crash_inputs: $crashes"
    echo "slow_units: $slow (run them again to see whether they are slow)"
    echo "corpus_files: $(find "$corpus" -type f | wc -l)"
    echo "last_status: $last"
    grep -E '^stat::' "$out/$t.log" || true
  } >"$out/$t.summary"
  # Keep the corpus, minimized, to seed the next campaign (SEED=DIR/corpora).
  mkdir -p "$work/corpora/${t#fuzz_}"
  "$work/$t" -merge=1 "$work/corpora/${t#fuzz_}" "$corpus" >/dev/null 2>&1 || true
  tar czf "$out/$t-corpus.tar.gz" -C "$work" "corpora/${t#fuzz_}"
  cat "$out/$t.summary"
done
rm -rf "$work"
