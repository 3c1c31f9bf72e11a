#!/usr/bin/env bash
# Sharding benchmark (issue 18): 1-minute candles over BENCH_TRADES trades
# (default 1,000,000; BENCH_TRADES=10000000 for the README's 10 M figure)
# split by symbol over two data nodes (BTC on node1, ETH on node2) and read
# through a coordinator (postgres_fdw, partitionwise aggregation, async
# foreign scans), against the same trades on one server (the coordinator's
# own triggerstock.trades).  Three throw-away clusters on 127.0.0.1 in a
# temporary directory.  The trades are the real BTC and ETH Binance captures
# repeated with times shifted by 10 minutes (as test/bench/candles.sql).
# Prints, best of 3 after a warm-up (test/bench/bench_common.sql):
#   - through the coordinator vs one server (ratio);
#   - each node alone (its half), and the transfer share: the time to read
#     the same candles, precomputed on the nodes, through the coordinator
#     (connection, rows as text, parsing them), over the coordinator's time;
#   - without pushdown (enable_partitionwise_aggregate = off: every trade
#     crosses the wire) vs one server.
# Serial plans (max_parallel_workers_per_gather = 0) everywhere.  About a
# minute at the default size.  Runs as postgres when started by root.
set -euo pipefail
cd "$(dirname "$0")/../.."
repo=$(pwd)
export TRIGGERSTOCK_SHARED="${TRIGGERSTOCK_SHARED:-$(cd .. && pwd)/shared}"
PG_CONFIG="${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}"
BENCH_TRADES="${BENCH_TRADES:-1000000}"
if [ "$(id -u)" -eq 0 ]; then
  exec runuser -u postgres -- env PG_CONFIG="$PG_CONFIG" TRIGGERSTOCK_SHARED="$TRIGGERSTOCK_SHARED" \
    BENCH_TRADES="$BENCH_TRADES" bash "$repo/test/bench/run-shard.sh"
fi
export PATH="$("$PG_CONFIG" --bindir):$PATH"
work=$(mktemp -d /tmp/triggerstock-bench-shard.XXXXXX)
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
names=(coord node1 node2)
declare -A port
cleanup() {
  for n in "${names[@]}"; do
    [ -f "$work/$n/postmaster.pid" ] && pg_ctl -D "$work/$n" -m fast -w stop > /dev/null 2>&1 || true
  done
  rm -rf "$work"
}
trap cleanup EXIT
for n in "${names[@]}"; do
  port[$n]=$(free_port)
  initdb -D "$work/$n" -U postgres --no-sync -A trust > "$work/initdb-$n.log"
  cat >> "$work/$n/postgresql.conf" <<EOF
port = ${port[$n]}
listen_addresses = '127.0.0.1'
unix_socket_directories = '$work'
fsync = off
shared_buffers = 512MB
work_mem = 256MB
max_parallel_workers_per_gather = 0
EOF
  pg_ctl -D "$work/$n" -l "$work/$n.log" -w start > /dev/null
done
sql() { local n=$1; shift; psql -X -q -At -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "${port[$n]}" -U postgres -d postgres "$@"; }

# load(node, symbols): the captures repeated into triggerstock.trades
load() {
  local n=$1 syms=$2
  sql "$n" -v shared="$TRIGGERSTOCK_SHARED" -v n="$BENCH_TRADES" -v syms="$syms" <<'SQL'
CREATE EXTENSION triggerstock;
\set btc :shared '/data/websocket/binance/spot_btcusdt_trade_2024-08-08T2354Z_0005Z.jsonl'
\set eth :shared '/data/websocket/binance/spot_ethusdt_trade_2024-08-08T2354Z_0005Z.jsonl'
CREATE TEMP TABLE frames (symbol text, line text);
COPY frames (line) FROM :'btc' WITH (FORMAT csv, QUOTE E'\x01', DELIMITER E'\x02');
UPDATE frames SET symbol = 'BTC';
COPY frames (line) FROM :'eth' WITH (FORMAT csv, QUOTE E'\x01', DELIMITER E'\x02');
UPDATE frames SET symbol = 'ETH' WHERE symbol IS NULL;
CREATE TEMP TABLE capture AS
SELECT symbol, d->>'s' AS instrument, (d->>'t')::bigint AS trade_id,
       TIMESTAMPTZ 'epoch' + (d->>'T')::bigint * interval '1 millisecond' AS ts,
       (d->>'p')::float8 AS price, (d->>'q')::float8 AS qty
FROM (SELECT symbol, line::jsonb -> 'data' AS d FROM frames) f;
-- the first n of the repeated captures, then the node's symbols of them
INSERT INTO triggerstock.trades (exchange, instrument, symbol, trade_id, ts, price, qty, received_at)
SELECT 'binance', instrument, symbol, trade_id, ts, price, qty, ts FROM (
  SELECT c.instrument, c.symbol, c.trade_id + r::bigint * 100000000 AS trade_id,
         c.ts + r * interval '10 minutes' AS ts, c.price, c.qty
  FROM generate_series(0, (:n / 27535)::int) r, capture c
  ORDER BY r, c.symbol, c.trade_id LIMIT :n) t
WHERE symbol = ANY (string_to_array(:'syms', ','));
VACUUM ANALYZE triggerstock.trades;
SQL
}
t0=$(date +%s)
load node1 BTC & load node2 ETH & wait
load coord BTC,ETH
echo "loaded in $(( $(date +%s) - t0 )) s: node1 $(sql node1 -c 'SELECT count(*) FROM triggerstock.trades'), node2 $(sql node2 -c 'SELECT count(*) FROM triggerstock.trades'), one server $(sql coord -c 'SELECT count(*) FROM triggerstock.trades') trades"

sql coord -c 'CREATE EXTENSION postgres_fdw'
for n in node1 node2; do
  sql coord -c "CREATE SERVER $n FOREIGN DATA WRAPPER postgres_fdw OPTIONS (host '127.0.0.1', port '${port[$n]}', dbname 'postgres', extensions 'triggerstock', fetch_size '10000', async_capable 'true')" \
            -c "CREATE USER MAPPING FOR CURRENT_USER SERVER $n OPTIONS (user 'postgres')"
done
sql coord -c "SELECT shard_symbol('BTC', 'node1'), shard_symbol('ETH', 'node2')" > /dev/null

q() {  # the candle query over relation $1, consuming every candle
  echo "SELECT count(*), sum((c).close), sum((c).volume) FROM (SELECT symbol, date_bin('1 minute', ts, TIMESTAMPTZ 'epoch') b, ohlcv(ts, price, qty, trade_id) AS c FROM $1 GROUP BY 1, 2) s"
}
best() {  # best(node, settings, query): best ms of 3 after a warm-up
  sql "$1" -c "SET client_min_messages = warning" -c "$2" -f "$repo/test/bench/bench_common.sql" -c "SELECT round(pg_temp.bench_best_ms(\$q\$$3\$q\$)::numeric, 1)" | tail -1
}
# same candles both ways first (every field, in order)
same() { echo "SELECT count(*), md5(string_agg(c::text, ',' ORDER BY symbol, b)) FROM (SELECT symbol, date_bin('1 minute', ts, TIMESTAMPTZ 'epoch') b, ohlcv(ts, price, qty, trade_id) AS c FROM $1 GROUP BY 1, 2) s"; }
a=$(sql coord -c 'SET enable_partitionwise_aggregate = on' -c "$(same triggerstock.cluster_trades)" | tail -1)
b=$(sql coord -c "$(same triggerstock.trades)")
[ "$a" = "$b" ] || { echo "coordinator and one server differ: $a vs $b" >&2; exit 1; }
echo "candles, md5 of every field: $a (equal both ways)"
one=$(best coord '' "$(q triggerstock.trades)")
co=$(best coord 'SET enable_partitionwise_aggregate = on' "$(q triggerstock.cluster_trades)")
n1=$(best node1 '' "$(q triggerstock.trades)")
n2=$(best node2 '' "$(q triggerstock.trades)")
nopush=$(best coord 'SET enable_partitionwise_aggregate = off' "$(q triggerstock.cluster_trades)")
# transfer alone: the same candles, precomputed on each node, read through the coordinator
for n in node1 node2; do
  sql "$n" -c "CREATE TABLE bench_candles AS SELECT symbol, date_bin('1 minute', ts, TIMESTAMPTZ 'epoch') b, ohlcv(ts, price, qty, trade_id) AS c FROM triggerstock.trades GROUP BY 1, 2"
  sql coord -c "CREATE FOREIGN TABLE bench_candles_$n (symbol text, b timestamptz, c ohlcv) SERVER $n OPTIONS (table_name 'bench_candles')"
done
xfer=$(best coord '' "SELECT count(*), sum((c).close), sum((c).volume) FROM (SELECT * FROM bench_candles_node1 UNION ALL SELECT * FROM bench_candles_node2) s")
r() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", a / b }'; }
share=$(awk -v c="$co" -v x="$xfer" 'BEGIN { printf "%.1f%%", 100 * x / c }')
printf '| case (%s trades, 1-minute candles) | ms | ratio vs one server |\n|---|---|---|\n' "$BENCH_TRADES"
printf '| one server | %s | 1 |\n' "$one"
printf '| coordinator + 2 nodes, aggregation pushed down (async) | %s | %s |\n' "$co" "$(r "$co" "$one")"
printf '| node1 alone (BTC) / node2 alone (ETH) | %s / %s | %s / %s |\n' "$n1" "$n2" "$(r "$n1" "$one")" "$(r "$n2" "$one")"
printf '| transfer alone: the same candles, precomputed, read through the coordinator (share of the pushed-down time) | %s (%s) | %s |\n' "$xfer" "$share" "$(r "$xfer" "$one")"
printf '| coordinator, no pushdown (every trade crosses the wire) | %s | %s |\n' "$nopush" "$(r "$nopush" "$one")"
