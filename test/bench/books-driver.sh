#!/usr/bin/env bash
# The end-to-end order-book benchmark proper (see run-books.sh); needs a
# server whose launcher runs in the database psql connects to (PG*).
# The local exchange replays the synthetic capture at RATE frames/s (default
# 2,000: twice Binance's 100 symbols x 10 frames/s) so the REST
# snapshots it derives are current, as on the real exchange.  Measured:
#  - sustained: frames and level updates applied per second of wall time
#    from the first frame to the last one applied, and samples committed/s;
#  - cost: the worker's CPU time (utime + stime of its process,
#    /proc/PID/stat) over the run; frames / CPU seconds is what one core can
#    apply; CPU seconds / seconds of real stream (frames / 1,000) below 1
#    means one core keeps up with Binance's 100 ms stream for 100 symbols;
#  - lag: every frame applied within a sample period of the last one sent.
set -euo pipefail
cd "$(dirname "$0")/../.."
symbols=${TRIGGERSTOCK_BENCH_BOOK_SYMBOLS:-100}
frames=${TRIGGERSTOCK_BENCH_BOOK_FRAMES:-200}
rate=${TRIGGERSTOCK_BENCH_BOOK_RATE:-2000}
work=$(mktemp -d /tmp/triggerstock-bench.XXXXXX)
chmod 777 "$work"
sim_pid=
cleanup() { [ -n "$sim_pid" ] && kill "$sim_pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
q() { psql -X -q -At -v ON_ERROR_STOP=1 -c "$1"; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

/usr/bin/python3 test/bench/gen_depth.py "$symbols" "$frames" "$work/depth.jsonl"
total=$((symbols * frames))
q "CREATE EXTENSION IF NOT EXISTS triggerstock"
q "DELETE FROM triggerstock.sources; TRUNCATE triggerstock.book_snapshots, triggerstock.book_status, triggerstock.dead_letters"
port=$(( 20000 + RANDOM % 20000 ))
test/exchange/exchange_sim --port "$port" --exchange binance --replay "$work/depth.jsonl" --hold --rate "$rate" \
  --ready-file "$work/ready" > "$work/sim.log" 2>&1 &
sim_pid=$!
for _ in $(seq 600); do [ -e "$work/ready" ] && break; sleep 0.05; done
list=$(seq 0 $((symbols - 1)) | awk '{printf "%s\x27S%03dUSDT\x27", (NR > 1 ? "," : ""), $1}')
id=$(q "SELECT add_source('bookbench', 'binance', 'ws://127.0.0.1:$port', ARRAY[$list],
        options => '{\"book\": true, \"trades\": false, \"book_interval_ms\": 100,
                     \"book_rest_url\": \"http://127.0.0.1:$port/api/v3/depth\"}')")
pid=
for _ in $(seq 200); do
  pid=$(q "SELECT pid FROM triggerstock.ingest_status WHERE source = $id AND pid IS NOT NULL")
  [ -n "$pid" ] && break; sleep 0.05
done
t0=$(date +%s.%N); c0=$(cpu_ticks "$pid")
done_frames=0; last=-1; still=0
t1=$t0; c1=$c0
for _ in $(seq 6000); do
  done_frames=$(q "SELECT coalesce(sum(messages + stale + skipped), 0) FROM triggerstock.book_status WHERE source = $id")
  if [ "$done_frames" != "$last" ]; then last=$done_frames; still=0; t1=$(date +%s.%N); c1=$(cpu_ticks "$pid")
  else still=$((still + 1)); fi
  [ "$done_frames" -ge "$total" ] || [ "$still" -ge 60 ] && break; sleep 0.05
done
hz=$(getconf CLK_TCK)
q "UPDATE triggerstock.sources SET enabled = false WHERE id = $id"
sleep 0.5
read -r rows applied gaps synced < <(q "SELECT (SELECT count(*) FROM triggerstock.book_snapshots),
  (SELECT sum(messages) FROM triggerstock.book_status WHERE source = $id),
  (SELECT sum(gaps) FROM triggerstock.book_status WHERE source = $id),
  (SELECT count(*) FILTER (WHERE state = 'synced') FROM triggerstock.book_status WHERE source = $id)" | tr '|' ' ')
awk -v f="$done_frames" -v total="$total" -v s="$symbols" -v t0="$t0" -v t1="$t1" -v c0="$c0" -v c1="$c1" \
    -v hz="$hz" -v rows="$rows" -v gaps="$gaps" -v synced="$synced" -v applied="$applied" -v rate="$rate" 'BEGIN {
  wall = t1 - t0; cpu = (c1 - c0) / hz; stream = total / (s * 10);
  printf "frames              %d of %d decoded and accounted for (%d applied, the rest covered by REST snapshots or buffered); gaps %d; %d of %d books synced\n", f, total, applied, gaps, synced, s
  printf "offered             %d frames/s (%d level changes/s)\n", rate, 44 * rate
  printf "sustained           %.0f frames/s, %.0f level updates/s over %.2f s wall (first frame to last accounted)\n", f / wall, 44 * f / wall, wall
  printf "samples committed   %d rows, %.0f rows/s\n", rows, rows / wall
  printf "worker CPU          %.2f s: %.0f frames/s per core (%.0f level updates/s)\n", cpu, (cpu > 0 ? f / cpu : 0), (cpu > 0 ? 44 * f / cpu : 0)
  printf "Binance 100 ms x %d symbols = %.0f s of stream; worker CPU / stream time = %.3f (< 1 keeps up on one core)\n", s, f / (s * 10), cpu / (f / (s * 10))
}'
