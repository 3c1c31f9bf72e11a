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

python3 test/backfill_server.py "$shared/data" "$work" > "$work/server.log" 2>&1 &
srv_pid=$!
for _ in $(seq 100); do [ -e "$work/port" ] && break; sleep 0.1; done
url="http://127.0.0.1:$(cat "$work/port")"

q "CREATE EXTENSION IF NOT EXISTS triggerstock"
q "TRUNCATE triggerstock.trades, triggerstock.candles, triggerstock.backfills CASCADE"
# BENCH trades: one every 5 ms from 2020-09-13 12:26:40 UTC (id 1)
from="to_timestamp(1600000000.005)"
to="to_timestamp(1600000000.005 + $rows * 0.005)"
q "SELECT count(*) FROM create_partitions($from, $to)" >/dev/null
id=$(q "SELECT backfill('binance', 'BENCH', $from, $to, base_url => '$url',
                        options => '{\"ids\": \"agg\", \"min_interval_ms\": 0}')")
for _ in $(seq 3000); do
  state=$(q "SELECT state FROM triggerstock.backfills WHERE id = $id")
  [ "$state" = done ] && break
  [ "$state" = failed ] && { q "SELECT last_error FROM triggerstock.backfills WHERE id = $id" >&2; exit 1; }
  sleep 0.1
done
[ "$state" = done ] || { echo "the job did not finish" >&2; exit 1; }
stored=$(q "SELECT rows FROM triggerstock.backfills WHERE id = $id")
# from the first request the local exchange saw to the job's end
first=$(head -1 "$work/requests.log" | cut -d' ' -f1)
ours=$(q "SELECT round((rows / (extract(epoch FROM finished_at) - $first))::numeric)
          FROM triggerstock.backfills WHERE id = $id")
candles_ok=$(q "SELECT sum(trades) = $stored FROM triggerstock.candles WHERE symbol = 'BENCH'")
q "COPY (SELECT * FROM triggerstock.trades) TO '$work/trades.copy'"
q "TRUNCATE triggerstock.trades"
q "CHECKPOINT"
copy_ms=$(psql -X -q -At -v ON_ERROR_STOP=1 <<SQL | tail -1
\\timing on
COPY triggerstock.trades FROM '$work/trades.copy';
SQL
)
copy_ms=$(echo "$copy_ms" | sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p')
baseline=$(awk -v r="$stored" -v ms="$copy_ms" 'BEGIN { printf "%d", r / (ms / 1000) }')

printf '%-58s %10s %12s %12s %8s %s\n' case rows ours baseline ratio target
printf '%-58s %10s %12s %12s %8s %s\n' "backfill trades/s (aggTrades pages) vs COPY FROM" \
  "$stored" "$ours" "$baseline" "$(awk -v a="$ours" -v b="$baseline" 'BEGIN { printf "%.2f", a / b }')" ">= 0.5"
echo "candles count every trade: $candles_ok"
