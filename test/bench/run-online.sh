#!/usr/bin/env bash
# Online feature benchmarks (issue 13) in a throw-away cluster (pg_virtualenv)
# with the launcher preloaded (the predictor worker runs); one run, ratios
# against baselines measured in the same run (test/bench/online.sh):
#   1. cold predict(): a fresh connection's first call after a new candle
#      closed, 1,000,000 candles of history vs 10,000 (median ratio <= 1.5,
#      p99 < 5 ms at 1,000,000); 100,000 too, for the README curve;
#   2. pgbench SELECT predict('BTC') with triggerstock.feature_cache_ttl = 0
#      vs SELECT 1 (TPS ratio >= 0.7);
#   3. features(symbol, '1 minute', now() - '1 day') at 1,000,000 candles vs
#      10,000 (ratio <= 1.5);
#   4. ingest throughput (the local exchange, one source) with the symbol's
#      online features maintained (1 and 5 minutes) vs without (>= 0.9),
#      and the online rows it left equal features();
#   5. the predictor worker: BENCH_SYMBOLS symbols (default 1,000) with
#      BENCH_HISTORY candles each (default 10,000: 100,000 each would be 100M
#      candles, more than this shared 2-core machine holds in a bench run),
#      one new candle per symbol at once; every symbol scored (prediction
#      committed) within 10 s of the candle write's start; p99 delay.
set -euo pipefail
cd "$(dirname "$0")/../.."
export TRIGGERSTOCK_SHARED="${TRIGGERSTOCK_SHARED:-$(cd .. && pwd)/shared}"
[ -x test/exchange/exchange_sim ] || make -s -f test/exchange/exchange.mk exchange
pg_virtualenv -t -o shared_preload_libraries=triggerstock -o triggerstock.database=postgres \
  -o triggerstock.allowed_hosts=127.0.0.1,localhost \
  -o max_worker_processes=16 -o shared_buffers=1GB -o max_wal_size=8GB \
  -o triggerstock.model_cache_size=1024 -o triggerstock.feature_rows_keep=1440 \
  bash test/bench/online.sh
