#!/usr/bin/env bash
# Ingest benchmark in a throw-away cluster (pg_virtualenv) with the launcher
# preloaded; prints a table: case, rows, ours, baseline, ratio.
#   throughput: the local exchange (test/exchange/exchange_sim --simulate,
#     Binance format, one source) sends as fast as it can; ours = trades/s
#     from the first flush to the last commit (trades + candles); baseline =
#     COPY FROM of the same rows into the same (emptied) table, rows/s.
#   latency: 1,000 trades/s; p99 of frame arrival -> commit (ingest_status)
#     and of exchange trade time -> flush transaction start (received_at - ts).
# Set TRIGGERSTOCK_BENCH_ROWS to change the throughput run (default 1,000,000).
set -euo pipefail
cd "$(dirname "$0")/../.."
[ -x test/exchange/exchange_sim ] || make -s -f test/exchange/exchange.mk exchange
if [ -n "${PGHOST:-}" ] && [ "${TRIGGERSTOCK_BENCH_USE_RUNNING:-0}" = 1 ]; then
  exec bash test/bench/ingest-driver.sh
fi
pg_virtualenv -t -o shared_preload_libraries=triggerstock -o triggerstock.database=postgres \
  -o triggerstock.allowed_hosts=127.0.0.1,localhost \
  -o max_worker_processes=16 -o shared_buffers=1GB -o max_wal_size=4GB \
  bash test/bench/ingest-driver.sh
