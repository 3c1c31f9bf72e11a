#!/usr/bin/env bash
# The demo: installs what is missing, builds and installs triggerstock, then in
# a throw-away PostgreSQL 15 cluster loads real Binance BTC and ETH trades,
# builds candles and prints them (test/demo.sql).
set -euo pipefail
cd "$(dirname "$0")/.."
bash test/build-install.sh
export TRIGGERSTOCK_SHARED="${TRIGGERSTOCK_SHARED:-$(cd .. && pwd)/shared}"
pg_virtualenv -o shared_preload_libraries=pg_cron,triggerstock -o max_worker_processes=16 \
  psql -X -q -v ON_ERROR_STOP=1 -f test/demo.sql
