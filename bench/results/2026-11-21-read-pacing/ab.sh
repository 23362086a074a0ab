#!/bin/bash
# A/B: cossd before (3c80f64) and after (HEAD) exact read pacing; pipelined disk reads.
set -e
OLD=/var/tmp/ab-old/build/src/server/cossd
NEW=/work/main/build/src/server/cossd
BENCH=/work/main/build/src/tools/coss
D=$(mktemp -d /var/tmp/ab.XXXX)
$OLD -p 23001 -t 2 -m 0 --store $D/old.coss:2g > $D/old.log 2>&1 &
$NEW -p 23002 -t 2 -m 0 --store $D/new.coss:2g > $D/new.log 2>&1 &
sleep 1
for p in 23001 23002; do $BENCH bench -s 127.0.0.1:$p -c 8 -T 2 -d 16 --keys 100000 --value-size 4096 --set-ratio 0 --prefill -t 1 --progress never > /dev/null; done
for rep in 1 2 3; do
  for p in 23001 23002; do
    name=$([ $p = 23001 ] && echo old || echo new)
    r=$($BENCH bench -s 127.0.0.1:$p -c 8 -T 2 -d 16 --keys 100000 --value-size 4096 --set-ratio 0 -t 8 --warmup 1 --progress never --json)
    echo "$name $rep $(echo "$r" | /usr/bin/python3 -c 'import json,sys; d=json.load(sys.stdin)["result"]; l=d["latency_us"]["get"]; print("ops/s %.0f hit %.3f errors %d p50 %s p99 %s" % (d["ops_per_s"], d["hit_ratio"], d["errors"]["total"], l.get("p50"), l.get("p99")))')"
  done
done
kill %1 %2; wait; rm -rf $D
