# Sourced by the benchmark drivers that feed a worker from the local
# exchange (ingest-driver.sh, online.sh); they set $work (a scratch
# directory) and sim_pid (empty), and stop the simulator on exit.
# start_sim PORT ARGS...: background exchange_sim (Binance, simulated
# BTCUSDT), wait until it is ready; stop_sim: stop it.
start_sim() {
  local port=$1; shift
  rm -f "$work/ready"
  test/exchange/exchange_sim --port "$port" --exchange binance --simulate --symbols BTCUSDT \
    --ready-file "$work/ready" "$@" > "$work/sim.log" 2>&1 &
  sim_pid=$!
  for _ in $(seq 100); do [ -e "$work/ready" ] && return 0; sleep 0.05; done
  echo "exchange_sim did not start: $(cat "$work/sim.log")" >&2; exit 1
}
stop_sim() { kill "$sim_pid" 2>/dev/null || true; wait "$sim_pid" 2>/dev/null || true; sim_pid=; }
