#!/usr/bin/env bash
# Runs the news benchmark (sentiment() throughput, feed parse-and-store vs
# xpath()) in a throw-away cluster; prints its table.
set -euo pipefail
cd "$(dirname "$0")/../.."
export TRIGGERSTOCK_SHARED="${TRIGGERSTOCK_SHARED:-$(cd .. && pwd)/shared}"
pg_virtualenv -t -o shared_buffers=256MB \
  psql -X -q -v ON_ERROR_STOP=1 -f test/bench/news.sql
