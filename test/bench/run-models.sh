#!/usr/bin/env bash
# Model benchmarks in a throw-away cluster (pg_virtualenv); prints a table
#   case | rows | ours | baseline | ratio | target | verdict
# 1. serving: pgbench -c 2 -j 2 -T 20 of SELECT predict('BTC') against
#    SELECT 1 in the same cluster and run (target: TPS ratio >= 0.5, p99 < 1 ms);
# 2. training: train_from_query() on 1,000,000 rows x 20 features, 100 rounds,
#    wall time including the extraction from the table, against
#    python3-xgboost training with the same parameters on the same matrix
#    already in memory (target: ratio <= 1.2).
set -euo pipefail
cd "$(dirname "$0")/../.."
export TRIGGERSTOCK_SHARED="${TRIGGERSTOCK_SHARED:-$(cd .. && pwd)/shared}"
pg_virtualenv -t -o shared_buffers=1GB -o max_worker_processes=16 -o work_mem=256MB \
  bash test/bench/models.sh
