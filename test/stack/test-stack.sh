#!/usr/bin/env bash
# test/stack/test-stack.sh - the local stack's test, run by test/run-tests.sh
# (after the extension is built and installed; under the install lock).
#
# Starts a stack in a temporary STACK_DIR exactly as `make start` does (6 h
# of history instead of 24, no build), then checks:
#   1. make status reports it running with a status line;
#   2. every Grafana dashboard query, expanded as Grafana does, runs as the
#      read-only role and returns rows of the right shape
#      (check_dashboards.py), after a fixture adds what minutes of running
#      would: realised predictions, two ingest snapshots, a pg_cron run;
#   3. every ```sql block of README.md runs (check_readme_sql.py);
#   4. stop stops every process it started, start resumes: the trades stored
#      before are unchanged, no trade is stored twice, the simulator
#      continues after the last stored trade id, new trades arrive, and the
#      candles of the minutes around the restart equal ohlcv() of their trades;
#   5. LIVE=1 DRY_RUN=1 lists the real exchanges and feeds it would add, and
#      their SQL applies to the database (in a transaction rolled back).
set -euo pipefail
cd "$(dirname "$0")/../.."
# the build is skipped below (run-tests.sh installed it), but not the one
# package make start adds for its charts: a fresh machine lacks it
bash test/install-deps.sh python3-matplotlib
export STACK_DIR
STACK_DIR=$(mktemp -d /tmp/triggerstock-stack.XXXXXX)
chmod 755 "$STACK_DIR"
export STACK_SKIP_BUILD=1 STACK_HISTORY_HOURS=${STACK_HISTORY_HOURS:-6} STACK_RATE=${STACK_RATE:-5}
cleanup() {
  bash test/stack/stack.sh stop > /dev/null 2>&1 || true
  rm -rf "$STACK_DIR"
}
trap cleanup EXIT
source test/stack/common.sh
fail() { echo "not ok: $*"; tail -n 30 "$LOG_DIR/postgres.log" 2>/dev/null || true; exit 1; }
ok() { echo "ok: $*"; }

bash test/stack/stack.sh start
bash test/stack/stack.sh status > "$STACK_DIR/status.txt" || fail "make status: not running"
grep -q 'trades/s' "$STACK_DIR/status.txt" || fail "make status printed no status line"
ok "start, status: $(tail -n 1 "$STACK_DIR/status.txt")"
[ -s "$STACK_DIR/charts/overview.png" ] || fail "make chart wrote no overview.png"
ok "charts"

# Fixture: what the stack would have after an hour of running (fixture.sql).
sql -q -f test/stack/fixture.sql > /dev/null

pw=$(sed -n "s/^127.0.0.1:\*:\*:$SU_NAME://p" "$PASS_FILE")
gpw=$(cat "$STACK_DIR/grafana-password")
port=$(state_get port)
"$PYTHON" test/stack/check_dashboards.py --dsn "postgresql://$SU_NAME:$pw@127.0.0.1:$port/$DB_NAME" \
  --role-dsn "postgresql://$GRAFANA_ROLE:$gpw@127.0.0.1:$port/$DB_NAME" --ranges 1h,24h ||
  fail "dashboard queries"
ok "dashboards"
"$PYTHON" test/stack/check_readme_sql.py --dsn "postgresql://$SU_NAME:$pw@127.0.0.1:$port/$DB_NAME" ||
  fail "README SQL blocks"
ok "README SQL blocks"

# Stop, then resume.
before=$(sql_value "SELECT count(*) || ' ' || max(ts) || ' ' || md5(string_agg(trade_id || ':' || price || ':' || qty, ',' ORDER BY instrument, trade_id)) FROM triggerstock.trades")
last_ids=$(sql_value "SELECT string_agg(instrument || '=' || max_id, ',' ORDER BY instrument) FROM (SELECT instrument, max(trade_id) AS max_id FROM triggerstock.trades GROUP BY 1) x")
pids="$(cat "$RUN_DIR"/*.pid | tr '\n' ' ')$(head -n 1 "$PGDATA_DIR/postmaster.pid")"
bash test/stack/stack.sh stop
for pid in $pids; do
  for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -0 "$pid" 2>/dev/null && fail "pid $pid still runs 5 s after stop"
done
bash test/stack/stack.sh status > /dev/null && fail "status says running after stop"
# the trades as they were at the stop (the worker flushed on SIGTERM)
stop_count=${before%% *}
ok "stop: every process it started ($pids) is gone"
STACK_CHART=0 bash test/stack/stack.sh start > "$STACK_DIR/restart.log" || { cat "$STACK_DIR/restart.log"; fail "restart"; }
cutoff=$(echo "$before" | cut -d' ' -f2-3)
after=$(sql_value "SELECT count(*) || ' ' || max(ts) || ' ' || md5(string_agg(trade_id || ':' || price || ':' || qty, ',' ORDER BY instrument, trade_id)) FROM triggerstock.trades WHERE ts <= '$cutoff'")
[ "$after" = "$before" ] || fail "trades before the stop changed: $before -> $after"
for _ in $(seq 40); do
  [ "$(sql_value "SELECT count(*) FROM triggerstock.trades")" -gt "$stop_count" ] && break; sleep 0.5
done
[ "$(sql_value "SELECT count(*) FROM triggerstock.trades")" -gt "$stop_count" ] || fail "no new trades after the restart"
[ "$(sql_value "SELECT count(*) - count(DISTINCT (exchange, instrument, trade_id)) FROM triggerstock.trades")" = 0 ] ||
  fail "a trade id is stored twice"
for pair in ${last_ids//,/ }; do
  # every instrument of the stop has to resume, not only the busiest one
  for _ in $(seq 60); do
    [ -n "$(sql_value "SELECT min(trade_id) FROM triggerstock.trades WHERE instrument = '${pair%%=*}' AND trade_id > ${pair#*=}")" ] && break
    sleep 0.5
  done
  next=$(sql_value "SELECT min(trade_id) FROM triggerstock.trades WHERE instrument = '${pair%%=*}' AND trade_id > ${pair#*=}")
  [ "$next" = "$((${pair#*=} + 1))" ] || fail "${pair%%=*} resumed at id $next, not $((${pair#*=} + 1))"
done
sleep 1
mismatch=$(sql_value "
  SELECT count(*) FROM triggerstock.candles c
  JOIN LATERAL (SELECT ohlcv(t.ts, t.price, t.qty, t.trade_id) AS o FROM triggerstock.trades t
                WHERE t.symbol = c.symbol AND t.ts >= c.bucket AND t.ts < c.bucket + interval '1 minute') x ON true
  WHERE c.width = '1 minute' AND c.bucket BETWEEN timestamptz '$cutoff' - interval '3 minutes' AND timestamptz '$cutoff'
    AND ((x.o).open, (x.o).high, (x.o).low, (x.o).close, (x.o).trades)
        IS DISTINCT FROM (c.open, c.high, c.low, c.close, c.trades)")
[ "$mismatch" = 0 ] || fail "$mismatch candles around the restart differ from ohlcv() of their trades"
ok "resume: trades unchanged, no duplicates, ids continue (${last_ids}), candles equal their trades"

LIVE=1 DRY_RUN=1 bash test/stack/stack.sh start > "$STACK_DIR/dry.txt"
for url in wss://stream.binance.com:9443 wss://ws-feed.exchange.coinbase.com wss://ws.kraken.com \
           https://www.coindesk.com/arc/outboundfeeds/rss https://cointelegraph.com/rss https://decrypt.co/feed; do
  grep -qF "$url" "$STACK_DIR/dry.txt" || fail "LIVE=1 dry run does not list $url"
done
# and that SQL configures a database (rolled back: no worker ever starts)
live=$(sql -At -c "BEGIN" -f test/stack/sources-live.sql \
        -c "SELECT string_agg(name || ' ' || array_to_string(symbols, '/'), ', ' ORDER BY id) FROM triggerstock.sources WHERE name IN ('binance', 'coinbase', 'kraken')" \
        -c "SELECT count(*) FROM triggerstock.feeds WHERE url LIKE 'https://%'" -c "ROLLBACK" | tail -n 2 | tr '\n' ' ')
[ "$live" = "binance BTC/ETH, coinbase coinbase:BTC/coinbase:ETH, kraken kraken:BTC/kraken:ETH 3 " ] ||
  fail "sources-live.sql configured: $live"
ok "LIVE=1 DRY_RUN=1 lists the real exchanges and feeds; sources-live.sql applies ($live)"
echo "stack test passed"
