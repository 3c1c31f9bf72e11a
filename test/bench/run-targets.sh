#!/usr/bin/env bash
# Benchmarks of issue 15 in a throw-away cluster (pg_virtualenv); prints
#   case | rows | ours | baseline | ratio | target | verdict
# 1. serving a regression: pgbench of SELECT predict('BTC', 'return') (a
#    return model, horizon 5) against SELECT 1 in the same cluster and run
#    (target: TPS ratio >= 0.5, as for direction);
# 2. a linear model: train_from_query() with params booster gblinear on
#    200,000 rows x 20 features, 100 rounds, wall time including the
#    extraction, against python3-xgboost training the same linear booster on
#    the same matrix already in memory (target: ratio <= 1.2).
set -euo pipefail
cd "$(dirname "$0")/../.."
export TRIGGERSTOCK_SHARED="${TRIGGERSTOCK_SHARED:-$(cd .. && pwd)/shared}"
pg_virtualenv -t -o shared_buffers=512MB -o max_worker_processes=16 -o work_mem=256MB \
  bash test/bench/targets.sh
