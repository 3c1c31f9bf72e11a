#!/usr/bin/env bash
# Grafana dashboard queries on 1,000,000 candles: starts a stack in a
# temporary directory (test/stack/stack.sh, 6 h of simulated history, no
# build: run after `make install`, under the install lock), adds 1,000,000
# older 1-minute BTC candles (a random walk), then times every panel query
# of grafana/dashboards as the read-only role for the last 1 h, 24 h and
# 7 days (best of 3 after a first run), against a baseline measured in the
# same session: reading the same 24 h of 1-minute candles by primary key.
set -euo pipefail
cd "$(dirname "$0")/../.."
export STACK_DIR STACK_SKIP_BUILD=1 STACK_HISTORY_HOURS=6 STACK_CHART=0
STACK_DIR=$(mktemp -d /tmp/triggerstock-bench-dash.XXXXXX)
chmod 755 "$STACK_DIR"
trap 'bash test/stack/stack.sh stop > /dev/null 2>&1 || true; rm -rf "$STACK_DIR"' EXIT
source test/stack/common.sh
bash test/stack/stack.sh start > "$STACK_DIR/start.log" || { cat "$STACK_DIR/start.log"; exit 1; }
sql -q -f test/stack/fixture.sql > /dev/null
sql -q <<'SQL'
INSERT INTO triggerstock.candles (symbol, width, bucket, open, high, low, close, volume, vwap, trades,
                                  open_time, close_time)
SELECT 'BTC', interval '1 minute', b, p, p + 0.02, p - 0.02, p + 0.01, 3, p, 100, b, b + interval '59 seconds'
FROM (SELECT first - i * interval '1 minute' AS b,
             60000 + sum(random() - 0.5) OVER (ORDER BY i) AS p
      FROM (SELECT min(bucket) AS first FROM triggerstock.candles WHERE symbol = 'BTC') f,
           generate_series(1, 1000000) i) s;
ANALYZE;
SQL
echo "BTC 1-minute candles: $(sql_value "SELECT count(*) FROM triggerstock.candles WHERE symbol = 'BTC'")"
pw=$(sed -n "s/^127.0.0.1:\*:\*:$SU_NAME://p" "$PASS_FILE")
gpw=$(cat "$STACK_DIR/grafana-password")
port=$(state_get port)
"$PYTHON" test/stack/check_dashboards.py --dsn "postgresql://$SU_NAME:$pw@127.0.0.1:$port/$DB_NAME" \
  --role-dsn "postgresql://$GRAFANA_ROLE:$gpw@127.0.0.1:$port/$DB_NAME" --ranges 1h,24h,7d --bench 3 --report-only \
  --baseline "SELECT * FROM triggerstock.candles WHERE symbol = 'BTC' AND width = interval '1 minute' AND bucket > now() - interval '24 hours'"
