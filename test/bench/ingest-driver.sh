#!/usr/bin/env bash
# The ingest benchmark proper (see run-ingest.sh); needs a server whose
# launcher runs in the database psql connects to (PG* environment).
set -euo pipefail
cd "$(dirname "$0")/../.."
rows=${TRIGGERSTOCK_BENCH_ROWS:-1000000}
lat_rows=${TRIGGERSTOCK_BENCH_LATENCY_ROWS:-20000}
work=$(mktemp -d /tmp/triggerstock-bench.XXXXXX)
chmod 777 "$work"
sim_pid=
cleanup() { [ -n "$sim_pid" ] && kill "$sim_pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
q() { psql -X -q -At -v ON_ERROR_STOP=1 -c "$1"; }
. test/bench/copy_baseline.sh

. test/bench/sim.sh
sim_ticks=0
wait_rows() {  # wait_rows N: until N trades are stored (or 300 s); samples the simulator's CPU ticks
  for _ in $(seq 3000); do
    [ -r "/proc/$sim_pid/stat" ] && sim_ticks=$(awk '{ print $14 + $15 }' "/proc/$sim_pid/stat" 2>/dev/null || echo "$sim_ticks")
    [ "$(q 'SELECT count(*) FROM triggerstock.trades')" -ge "$1" ] && return 0; sleep 0.1
  done
  echo "timed out waiting for $1 trades" >&2; exit 1
}

q "CREATE EXTENSION IF NOT EXISTS triggerstock"
q "DELETE FROM triggerstock.sources; TRUNCATE triggerstock.trades, triggerstock.candles, triggerstock.dead_letters"
q "SELECT count(*) FROM create_partitions(now() - interval '1 day', now() + interval '1 day')" >/dev/null
port=$(( 20000 + RANDOM % 20000 ))

# --- throughput -----------------------------------------------------------
# A warm-up run of the same size first, unmeasured: the server's shared
# buffers are then touched (faulted in) before either side is measured, as
# they are for the COPY baseline, which runs after the measured run.
if [ "${TRIGGERSTOCK_BENCH_WARMUP:-1}" = 1 ]; then
  start_sim "$port" --count "$rows"
  id=$(q "SELECT add_source('warm-up', 'binance', 'ws://127.0.0.1:$port', ARRAY['BTCUSDT'])")
  wait_rows "$rows"
  stop_sim
  q "DELETE FROM triggerstock.sources; TRUNCATE triggerstock.trades, triggerstock.candles"
  q "CHECKPOINT"
  port=$((port + 2))
fi
start_sim "$port" --count "$rows"
id=$(q "SELECT add_source('bench', 'binance', 'ws://127.0.0.1:$port', ARRAY['BTCUSDT'])")
wait_rows "$rows"
# CPU seconds of the simulator and of the ingest worker over the run (they
# share the machine's cores with the server's other processes)
hz=$(getconf CLK_TCK)
sim_cpu=$(awk -v t="$sim_ticks" -v hz="$hz" 'BEGIN { printf "%.2f", t / hz }')
worker_pid=$(q "SELECT pid FROM triggerstock.ingest_status WHERE source = $id")
worker_cpu=$(awk -v hz="$hz" '{ printf "%.2f", ($14 + $15) / hz }' "/proc/$worker_pid/stat" 2>/dev/null || echo '?')
stop_sim
sleep 0.5
ours=$(q "SELECT round(($rows / extract(epoch FROM (SELECT last_commit_at FROM triggerstock.ingest_status WHERE source = $id)
                                              - (SELECT min(received_at) FROM triggerstock.trades)))::numeric)")
candles_ok=$(q "SELECT sum(trades) = $rows FROM triggerstock.candles")
tp_wall=$(q "SELECT round(extract(epoch FROM (SELECT last_commit_at FROM triggerstock.ingest_status WHERE source = $id)
                                         - (SELECT min(received_at) FROM triggerstock.trades))::numeric, 2)")
q "UPDATE triggerstock.sources SET enabled = false"
q "COPY (SELECT * FROM triggerstock.trades) TO '$work/trades.copy'"
q "TRUNCATE triggerstock.trades"
q "CHECKPOINT"
copy_baseline "$work/trades.copy" "$rows"

# --- latency at 1,000 trades/s ----------------------------------------------
q "DELETE FROM triggerstock.sources; TRUNCATE triggerstock.trades, triggerstock.candles"
port=$((port + 1))
start_sim "$port" --rate 1000 --count "$lat_rows"
id=$(q "SELECT add_source('latency', 'binance', 'ws://127.0.0.1:$port', ARRAY['BTCUSDT'])")
wait_rows "$lat_rows"
stop_sim
p99=$(q "SELECT round(latency_p99_ms::numeric, 2) FROM triggerstock.ingest_status WHERE source = $id")
p50=$(q "SELECT round(latency_p50_ms::numeric, 2) FROM triggerstock.ingest_status WHERE source = $id")
p99_ts=$(q "SELECT round((percentile_cont(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM received_at - ts) * 1000))::numeric, 2)
           FROM triggerstock.trades")

printf '%-58s %10s %12s %12s %8s %s\n' case rows ours baseline ratio target
printf '%-58s %10s %12s %12s %8s %s\n' "throughput trades/s: 1 source vs COPY FROM (same rows/table)" \
  "$rows" "$ours" "$baseline" "$(awk -v a="$ours" -v b="$baseline" 'BEGIN { printf "%.2f", a / b }')" \
  ">= 100000/s and >= 0.5"
printf '%-58s %10s %12s %12s %8s %s\n' "latency p99 ms at 1000/s: arrival -> commit (p50 $p50)" \
  "$lat_rows" "$p99" "10" "$(awk -v a="$p99" 'BEGIN { printf "%.2f", a / 10 }')" "< 10 ms"
printf '%-58s %10s %12s %12s %8s %s\n' "latency p99 ms at 1000/s: trade time -> flush start" \
  "$lat_rows" "$p99_ts" "10" "$(awk -v a="$p99_ts" 'BEGIN { printf "%.2f", a / 10 }')" "< 10 ms"
echo "candles count every trade: $candles_ok"
echo "throughput run: ${tp_wall} s from the first stored trade to the last commit; CPU: simulator ${sim_cpu} s, ingest worker ${worker_cpu} s (whole lives); COPY ${copy_ms} ms wall, ${copy_cpu} s CPU of its backend; load $(cut -d' ' -f1-3 /proc/loadavg)"
