#!/usr/bin/env bash
# Backfill benchmark in a throw-away cluster (pg_virtualenv) with the launcher
# preloaded; prints a table: case, rows, ours, baseline, ratio.
#   ours: trades/s a Binance aggTrades backfill job stores (trades + their
#     candles, committed with the job's cursor) from the local REST exchange
#     (test/backfill_server.py, symbol BENCH: synthetic pages answered as fast
#     as it can), from the first request the exchange sees to the job's end;
#   baseline: COPY FROM of the same rows into the same (emptied) table, rows/s.
# Set TRIGGERSTOCK_BENCH_ROWS to change the size (default 300,000).
set -euo pipefail
cd "$(dirname "$0")/../.."
if [ -n "${PGHOST:-}" ] && [ "${TRIGGERSTOCK_BENCH_USE_RUNNING:-0}" = 1 ]; then
  exec bash test/bench/backfill-driver.sh
fi
pg_virtualenv -t -o shared_preload_libraries=triggerstock -o triggerstock.database=postgres \
  -o triggerstock.allowed_hosts=127.0.0.1,localhost \
  -o max_worker_processes=16 -o shared_buffers=1GB -o max_wal_size=4GB \
  bash test/bench/backfill-driver.sh
