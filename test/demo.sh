#!/usr/bin/env bash
# The demo: installs what is missing, builds and installs triggerstock, starts
# the local simulated exchange (test/exchange/exchange_sim, 127.0.0.1 only),
# then in a throw-away PostgreSQL 15 cluster: real Binance trades in, candles
# out; live trades streamed from the simulated exchange by the ingest worker;
# TA-Lib-equal indicators and a model trained and served in the database on
# real candles (test/demo.sql).  Everything it starts, it stops.
set -euo pipefail
cd "$(dirname "$0")/.."
bash test/build-install.sh
make -s exchange
export TRIGGERSTOCK_SHARED="${TRIGGERSTOCK_SHARED:-$(cd .. && pwd)/shared}"

workdir=$(mktemp -d /tmp/triggerstock-demo.XXXXXX)
sim_pid=
cleanup() {
  [ -n "$sim_pid" ] && kill "$sim_pid" 2>/dev/null && wait "$sim_pid" 2>/dev/null
  rm -rf "$workdir"
}
trap cleanup EXIT
test/exchange/exchange_sim --port 0 --port-file "$workdir/port" --ready-file "$workdir/ready" \
  --exchange binance --simulate --rate 2000 > "$workdir/sim.log" 2>&1 &
sim_pid=$!
for _ in $(seq 50); do [ -e "$workdir/ready" ] && break; sleep 0.1; done
[ -e "$workdir/ready" ] || { cat "$workdir/sim.log"; echo "the local exchange did not start"; exit 1; }

pg_virtualenv -t -o shared_preload_libraries=pg_cron,triggerstock -o max_worker_processes=16 \
  -o triggerstock.allowed_hosts=127.0.0.1,localhost \
  psql -X -q -v ON_ERROR_STOP=1 -v port="$(cat "$workdir/port")" -f test/demo.sql
