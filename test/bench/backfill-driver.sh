#!/usr/bin/env bash
# The backfill benchmark proper (see run-backfill.sh); needs a server whose
# launcher runs in the database psql connects to (PG* environment).
set -euo pipefail
cd "$(dirname "$0")/../.."
rows=${TRIGGERSTOCK_BENCH_ROWS:-300000}
shared=${TRIGGERSTOCK_SHARED:-$(cd .. && pwd)/shared}
work=$(mktemp -d /tmp/triggerstock-bench.XXXXXX)
chmod 777 "$work"
srv_pid=
cleanup() { [ -n "$srv_pid" ] && kill "$srv_pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
q() { psql -X -q -At -v ON_ERROR_STOP=1 -c "$1"; }
. test/bench/copy_baseline.sh

TRIGGERSTOCK_BENCH_ROWS=$rows python3 test/backfill_server.py "$shared/data" "$work" > "$work/server.log" 2>&1 &
srv_pid=$!
for _ in $(seq 600); do [ -e "$work/port" ] && break; sleep 0.1; done
url="http://127.0.0.1:$(cat "$work/port")"

q "CREATE EXTENSION IF NOT EXISTS triggerstock"
q "TRUNCATE triggerstock.trades, triggerstock.candles, triggerstock.backfills CASCADE"
# BENCH trades: one every 5 ms from 2020-09-13 12:26:40 UTC (id 1)
from="to_timestamp(1600000000.005)"
to="to_timestamp(1600000000.005 + $rows * 0.005)"
q "SELECT count(*) FROM create_partitions($from, $to)" >/dev/null
id=$(q "SELECT backfill('binance', 'BENCH', $from, $to, base_url => '$url',
                        options => '{\"ids\": \"agg\", \"min_interval_ms\": 0}')")
poll_pid=; poll_ticks=0
for _ in $(seq 3000); do
  # the poll worker runs while there is work: sample its CPU ticks as it goes
  [ -n "$poll_pid" ] || poll_pid=$(q "SELECT pid FROM pg_catalog.pg_stat_activity WHERE backend_type = 'triggerstock poll' LIMIT 1")
  [ -n "$poll_pid" ] && [ -r "/proc/$poll_pid/stat" ] &&
    poll_ticks=$(awk '{ print $14 + $15 }' "/proc/$poll_pid/stat" 2>/dev/null || echo "$poll_ticks")
  state=$(q "SELECT state FROM triggerstock.backfills WHERE id = $id")
  [ "$state" = done ] && break
  [ "$state" = failed ] && { q "SELECT last_error FROM triggerstock.backfills WHERE id = $id" >&2; exit 1; }
  sleep 0.1
done
[ "$state" = done ] || { echo "the job did not finish" >&2; exit 1; }
stored=$(q "SELECT rows FROM triggerstock.backfills WHERE id = $id")
# CPU seconds of the local exchange (whole life) and of the poll worker (until the job's end)
hz=$(getconf CLK_TCK)
srv_cpu=$(awk -v hz="$hz" '{ printf "%.2f", ($14 + $15) / hz }' "/proc/$srv_pid/stat" 2>/dev/null || echo '?')
poll_cpu=$(awk -v t="$poll_ticks" -v hz="$hz" 'BEGIN { printf "%.2f", t / hz }')
wall=$(q "SELECT round((extract(epoch FROM finished_at) - $(head -1 "$work/requests.log" | cut -d' ' -f1))::numeric, 2)
          FROM triggerstock.backfills WHERE id = $id")
# from the first request the local exchange saw to the job's end
first=$(head -1 "$work/requests.log" | cut -d' ' -f1)
ours=$(q "SELECT round((rows / (extract(epoch FROM finished_at) - $first))::numeric)
          FROM triggerstock.backfills WHERE id = $id")
candles_ok=$(q "SELECT sum(trades) = $stored FROM triggerstock.candles WHERE symbol = 'BENCH'")
q "COPY (SELECT * FROM triggerstock.trades) TO '$work/trades.copy'"
q "TRUNCATE triggerstock.trades"
q "CHECKPOINT"
copy_baseline "$work/trades.copy" "$stored"

printf '%-58s %10s %12s %12s %8s %s\n' case rows ours baseline ratio target
printf '%-58s %10s %12s %12s %8s %s\n' "backfill trades/s (aggTrades pages) vs COPY FROM" \
  "$stored" "$ours" "$baseline" "$(awk -v a="$ours" -v b="$baseline" 'BEGIN { printf "%.2f", a / b }')" ">= 0.5"
echo "candles count every trade: $candles_ok"
echo "backfill run: ${wall} s; CPU: local exchange ${srv_cpu} s, poll worker ${poll_cpu} s; COPY ${copy_ms} ms wall, ${copy_cpu} s CPU of its backend; load $(cut -d' ' -f1-3 /proc/loadavg)"
