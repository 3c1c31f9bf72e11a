#!/usr/bin/env bash
# Order-book benchmarks (issue 17); prints two tables.
#  1. The pure-C book (test/bench/book_bench.c): updates per second of CPU
#     against a sorted-array book in the same run (top-10 churn of a
#     1,000-level book, any-level churn at 1,000 and 5,000 levels).
#  2. End to end (test/bench/books-driver.sh, in a throw-away cluster): the
#     local exchange replays a synthetic Binance diff-depth capture
#     (gen_depth.py: 100 symbols x 200 frames of 44 level changes) at 2,000
#     frames/s (twice Binance's 100 ms stream for 100 symbols) into one
#     source keeping 100 books (REST snapshots from the exchange, samples
#     every 100 ms); sustained frames/s and level updates/s, samples
#     committed/s, and the worker's CPU seconds per second of Binance's real
#     stream: below 1 means one core keeps up.
set -euo pipefail
cd "$(dirname "$0")/../.."
mkdir -p test/unit/bin
${CC:-cc} -O2 -std=gnu11 -Wall -Wextra -Werror -ffp-contract=off -Isrc -o test/unit/bin/book_bench \
  test/bench/book_bench.c src/ingest/book.c src/ingest/book_dec.c
echo "== pure-C book (CPU time; baseline: sorted arrays, same updates)"
test/unit/bin/book_bench
[ -x test/exchange/exchange_sim ] || make -s -f test/exchange/exchange.mk exchange
echo "== end to end: synthetic Binance depth, 100 symbols, ${TRIGGERSTOCK_BENCH_BOOK_RATE:-2000} frames/s offered"
if [ -n "${PGHOST:-}" ] && [ "${TRIGGERSTOCK_BENCH_USE_RUNNING:-0}" = 1 ]; then
  exec bash test/bench/books-driver.sh
fi
pg_virtualenv -t -o shared_preload_libraries=triggerstock -o triggerstock.database=postgres \
  -o triggerstock.allowed_hosts=127.0.0.1,localhost \
  -o max_worker_processes=16 bash test/bench/books-driver.sh
