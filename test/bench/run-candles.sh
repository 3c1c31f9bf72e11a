#!/usr/bin/env bash
# Runs the candle benchmark in a throw-away cluster; prints its table.
set -euo pipefail
cd "$(dirname "$0")/../.."
export TRIGGERSTOCK_SHARED="${TRIGGERSTOCK_SHARED:-$(cd .. && pwd)/shared}"
pg_virtualenv -t -o shared_buffers=1GB -o max_worker_processes=16 \
  psql -X -q -v ON_ERROR_STOP=1 -f test/bench/candles.sql
