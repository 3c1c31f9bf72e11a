#!/usr/bin/env bash
# test/stack/stack.sh - the local stack: make start | stop | status | chart.
#
#   start    installs what is missing, builds, installs the extension (under
#            the install lock), starts the stack's own PostgreSQL 15 cluster
#            (.stack/ in the checkout) with pg_cron and triggerstock
#            preloaded, and feeds it: by default from the local simulated
#            exchange (BTC, ETH in Binance's wire format) and a local news
#            feed, with 24 h of simulated history replayed on first start
#            so models can be trained at once; LIVE=1: the real Binance,
#            Coinbase and Kraken streams and real RSS feeds.  Shows progress,
#            then the live status line, connection string and next commands.
#            DRY_RUN=1 prints what it would configure and starts nothing.
#   stop     stops what start started (by pid), keeps the data.
#   status   whether it runs, and the live status line.
#   chart    PNG charts from the database into .stack/charts/.
#
# Environment: STACK_DIR (default .stack), STACK_RATE (simulated trades per
# second, default 4), STACK_HISTORY_HOURS (default 24), STACK_SKIP_BUILD=1
# (tests: the extension is already built and installed), STACK_CHART=0 (no
# charts at start), STACK_INSTALL_LOCK, PG_CONFIG.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
cd "$REPO"

RATE=${STACK_RATE:-4}
HISTORY_HOURS=${STACK_HISTORY_HOURS:-24}
SUDO=
[ "$(id -u)" -eq 0 ] || SUDO=sudo

# ---------------------------------------------------------------- helpers

# The mode a stack was created in; start refuses to mix simulated and real data.
requested_mode() { if [ "${LIVE:-0}" = 1 ]; then echo live; else echo sim; fi; }

# Build and install, as test/build-install.sh does, with the install lock.
build_install() {
  step "installing missing Debian packages (test/install-deps.sh)"
  bash test/install-deps.sh python3-matplotlib
  step "building the extension and the local exchange"
  make -s -j2 PG_CONFIG="$PG_CONFIG"
  make -s exchange
  step "installing the extension (holding $INSTALL_LOCK until the database is set up)"
  # The install directory is shared with whatever else builds triggerstock on
  # this machine: hold the lock from install to CREATE/ALTER EXTENSION and the
  # server start, so the stack loads the library and scripts just installed.
  # (fd 9; every long-lived child is started with fd 9 closed, or it would
  # keep the lock for its whole life)
  exec 9> "$INSTALL_LOCK"
  flock 9
  $SUDO make -s install PG_CONFIG="$PG_CONFIG"
}

# A new cluster in $PGDATA_DIR: scram passwords, no Unix socket.
init_cluster() {
  local pw gpw pwfile
  pw=$("$PYTHON" -c 'import secrets; print(secrets.token_hex(16))')
  gpw=$("$PYTHON" -c 'import secrets; print(secrets.token_hex(16))')
  mkdir -p "$PGDATA_DIR"
  pwfile=$(mktemp "$STACK_DIR/pw.XXXXXX")
  printf '%s\n' "$pw" > "$pwfile"
  if [ "$(id -u)" -eq 0 ]; then
    runuser -u postgres -- test -x "$STACK_DIR" ||
      die "user postgres cannot reach $STACK_DIR; clone the repository where user postgres can read it (not under /root), or set STACK_DIR"
    chown postgres: "$PGDATA_DIR" "$pwfile"
  fi
  chmod 700 "$PGDATA_DIR"
  as_pg "$PGBIN/initdb" -D "$PGDATA_DIR" -U "$SU_NAME" --pwfile="$pwfile" -E UTF8 --locale=C \
    --auth-local=scram-sha-256 --auth-host=scram-sha-256 > "$LOG_DIR/initdb.log" 2>&1 ||
    { cat "$LOG_DIR/initdb.log"; die "initdb failed"; }
  rm -f "$pwfile"
  umask 077
  printf '127.0.0.1:*:*:%s:%s\n127.0.0.1:*:*:%s:%s\n' "$SU_NAME" "$pw" "$GRAFANA_ROLE" "$gpw" > "$PASS_FILE"
  printf '%s\n' "$gpw" > "$STACK_DIR/grafana-password"
  umask 022
  echo "include_if_exists = 'stack.conf'" | as_pg tee -a "$PGDATA_DIR/postgresql.conf" > /dev/null
}

# conf_text PORT MODE: the stack's server settings.
conf_text() {
  echo "# written by test/stack/stack.sh on every start (the port may move); edit there"
  echo "listen_addresses = '127.0.0.1'"
  echo "port = $1"
  echo "unix_socket_directories = ''"
  echo "shared_preload_libraries = 'pg_cron,triggerstock'"
  echo "triggerstock.database = '$DB_NAME'"
  echo "cron.database_name = '$DB_NAME'"
  echo "cron.use_background_workers = on"
  echo "cron.max_running_jobs = 4"
  echo "max_worker_processes = 32"
  echo "timezone = 'UTC'"
  echo "log_timezone = 'UTC'"
  if [ "$2" = sim ]; then
    echo "# the simulated exchange and news feed are on loopback: allow it"
    echo "triggerstock.allowed_hosts = '127.0.0.1'"
  fi
}

# write_conf PORT MODE: pgdata/stack.conf, included by postgresql.conf.
write_conf() { conf_text "$1" "$2" | as_pg tee "$PGDATA_DIR/stack.conf" > /dev/null; }

# Start a background process that outlives make; NAME.pid records it.
spawn() {
  local name=$1; shift
  setsid "$@" > "$LOG_DIR/$name.log" 2>&1 < /dev/null 9>&- &
  echo $! > "$RUN_DIR/$name.pid"
}

# wait_file FILE SECONDS NAME: wait for a file a child writes when ready.
wait_file() {
  for _ in $(seq $(($2 * 10))); do [ -s "$1" ] && return 0; sleep 0.1; done
  tail -n 20 "$LOG_DIR/$3.log" >&2 || true
  die "$3 did not start (log: $LOG_DIR/$3.log)"
}

start_news() {
  pid_alive news && return 0
  rm -f "$RUN_DIR/news.port"
  spawn news "$PYTHON" test/stack/news_feed.py --port-file "$RUN_DIR/news.port"
  wait_file "$RUN_DIR/news.port" 10 news
}

# exchange_sim NAME ARGS...: a local exchange on a free port ($RUN_DIR/NAME.port).
start_exchange() {
  local name=$1; shift
  rm -f "$RUN_DIR/$name.port" "$RUN_DIR/$name.ready"
  spawn "$name" test/exchange/exchange_sim --port 0 --port-file "$RUN_DIR/$name.port" \
    --ready-file "$RUN_DIR/$name.ready" --exchange binance "$@"
  wait_file "$RUN_DIR/$name.ready" 10 "$name"
}

# First start only: simulated history through the backfill path (COPY and
# refresh_candles(); see history.py), so that models can be trained at once.
load_history() {
  local n csv=$STACK_DIR/history/trades.csv
  step "loading $HISTORY_HOURS h of simulated trade history (test/stack/history.py, COPY, refresh_candles)"
  mkdir -p "$STACK_DIR/history"
  n=$("$PYTHON" test/stack/history.py "$csv" --hours "$HISTORY_HOURS" --rate "$RATE" \
        --end-ms "$(date +%s%3N)" | "$PYTHON" -c 'import json,sys; print(json.load(sys.stdin)["trades"])')
  sql -c "SELECT count(*) FROM create_partitions(now() - interval '$((HISTORY_HOURS / 24 + 2)) days', now() + interval '2 days')" \
      -c "\\copy triggerstock.trades (exchange, instrument, symbol, trade_id, ts, price, qty, side) FROM '$csv' WITH (FORMAT csv)" \
      -c "SELECT refresh_candles('-infinity')" > /dev/null
  rm -rf "$STACK_DIR/history"
  say "    $n trades, $(sql_value "SELECT count(*) FROM triggerstock.candles WHERE width = '1 minute'") 1-minute candles"
  state_set history "$n trades, $HISTORY_HOURS h"
}

# Where each simulated instrument continues: last stored price, next trade id.
continue_at() {
  sql_value "SELECT string_agg(format('%s=%s:%s', l.instrument, l.price, l.trade_id + 1), ',')
             FROM unnest(ARRAY['BTC', 'ETH']) s,
             LATERAL (SELECT t.instrument, t.price, t.trade_id FROM triggerstock.trades t
                      WHERE t.symbol = s AND t.exchange = 'binance'
                      ORDER BY t.ts DESC, t.trade_id DESC LIMIT 1) l"
}

# Train the models nobody trained yet (first start); pg_cron retrains later.
initial_models() {
  local s
  # the news items are features too: let the poll worker store the feed first
  for _ in $(seq 30); do
    [ "$(sql_value "SELECT count(*) FROM triggerstock.feeds WHERE last_polled IS NOT NULL")" -gt 0 ] && break
    sleep 0.5
  done
  for s in BTC ETH; do
    if [ "$(sql_value "SELECT count(*) FROM triggerstock.models WHERE symbol = '$s'")" -eq 0 ]; then
      if [ "$(sql_value "SELECT count(*) FROM triggerstock.candles WHERE symbol = '$s' AND width = '1 minute'")" -ge 200 ]; then
        say "    train('$s'): model $(sql_value "SELECT train('$s')")"
      else
        say "    $s: fewer than 200 candles yet; pg_cron's train job will train it later"
      fi
    fi
  done
}

# Show the status line until every symbol with a model has a prediction.
watch_status() {
  local deadline=$((SECONDS + ${1:-60})) shown=$((SECONDS + 5)) line waiting
  [ -t 1 ] || shown=$SECONDS   # a terminal sees the line update for 5 s at least
  while :; do
    waiting=$(sql_value "SELECT count(*) FROM triggerstock.deployed d WHERE NOT EXISTS
          (SELECT 1 FROM triggerstock.predictions p WHERE p.symbol = d.symbol)")
    line=$(status_line)
    if [ -t 1 ]; then printf '\r\033[K    %s' "$line"; fi
    [ "$waiting" -eq 0 ] && [ "$SECONDS" -ge "$shown" ] && break
    [ "$SECONDS" -ge "$deadline" ] && break
    sleep 1
  done
  if [ -t 1 ]; then printf '\n'; else say "    $line"; fi
}

summary() {
  local port; port=$(state_get port)
  cat <<EOF

triggerstock is running ($(state_get mode) mode; data in $STACK_DIR).
  connect:   PGPASSFILE=$PASS_FILE psql '$(conn_string)'
  Grafana:   read-only role $GRAFANA_ROLE, password in $STACK_DIR/grafana-password;
             provisioning: $STACK_DIR/grafana/provisioning
             (GF_PATHS_PROVISIONING=$STACK_DIR/grafana/provisioning grafana server)
  charts:    $STACK_DIR/charts/*.png
  next:      make status    # the live status line
             make chart     # redraw the charts
             make stop      # stop everything (data kept; make start resumes)
             make demo      # the real-data tour, in a throw-away cluster
EOF
}

# Grafana provisioning with this stack's port and password filled in.
render_grafana() {
  local dir=$STACK_DIR/grafana/provisioning
  mkdir -p "$dir/datasources" "$dir/dashboards"
  TRIGGERSTOCK_PGHOST=127.0.0.1 TRIGGERSTOCK_PGPORT=$(state_get port) TRIGGERSTOCK_PGDATABASE=$DB_NAME \
  TRIGGERSTOCK_GRAFANA_PASSWORD=$(cat "$STACK_DIR/grafana-password") TRIGGERSTOCK_DASHBOARDS=$REPO/grafana/dashboards \
    "$PYTHON" -c 'import os, re, sys
for src, dst in zip(sys.argv[1::2], sys.argv[2::2]):
    text = open(src).read()
    text = re.sub(r"\$\{(\w+)\}", lambda m: os.environ[m.group(1)], text)
    fd = os.open(dst, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.write(fd, text.encode()); os.close(fd)' \
    grafana/provisioning/datasources/triggerstock.yaml "$dir/datasources/triggerstock.yaml" \
    grafana/provisioning/dashboards/triggerstock.yaml "$dir/dashboards/triggerstock.yaml"
}

dry_run() {
  local mode=$1
  say "DRY RUN ($mode mode): nothing is started or changed."
  say "It would: install missing packages, build, install the extension under $INSTALL_LOCK,"
  say "create or reuse the cluster in $PGDATA_DIR on a free port of 127.0.0.1 with:"
  conf_text PORT "$mode" | sed 's/^/    /'
  if [ "$mode" = live ]; then
    say "and configure these sources and feeds (test/stack/sources-live.sql):"
    grep -v '^--\|^\\set' test/stack/sources-live.sql | sed 's/^/    /'
  else
    say "and stream BTCUSDT, ETHUSDT from test/exchange/exchange_sim (127.0.0.1, $RATE trades/s)"
    say "plus the local news feed test/stack/news_feed.py; $HISTORY_HOURS h of history on first start."
  fi
}

# ---------------------------------------------------------------- commands

cmd_start() {
  local mode t0 port old_mode
  mode=$(requested_mode)
  old_mode=$(state_get mode)
  if [ "${DRY_RUN:-0}" = 1 ]; then
    dry_run "$mode"
    return 0
  fi
  if [ -n "$old_mode" ] && [ "$old_mode" != "$mode" ]; then
    die "the stack in $STACK_DIR holds $old_mode data; stop it and remove $STACK_DIR (make stack-reset) to start in $mode mode, or use another STACK_DIR"
  fi
  t0=$SECONDS
  say "triggerstock: starting the local stack ($mode mode) in $STACK_DIR"
  [ "${STACK_SKIP_BUILD:-0}" = 1 ] || build_install
  mkdir -p "$STACK_DIR" "$RUN_DIR" "$LOG_DIR"
  [ "$(id -u)" -eq 0 ] && chown postgres: "$LOG_DIR"
  [ -f "$STACK_DIR/.gitignore" ] || echo '*' > "$STACK_DIR/.gitignore"

  if ! pg_running; then
    if [ ! -f "$PGDATA_DIR/PG_VERSION" ]; then
      step "creating the cluster in $PGDATA_DIR"
      init_cluster
      state_set mode "$mode"
    fi
    port=$(state_get port)
    if [ -z "$port" ] || port_busy "$port"; then port=$(free_port); state_set port "$port"; fi
    write_conf "$port" "$mode"
    step "starting PostgreSQL 15 on 127.0.0.1:$port (pg_cron, triggerstock preloaded)"
    as_pg "$PGBIN/pg_ctl" -D "$PGDATA_DIR" -l "$LOG_DIR/postgres.log" -w -t 60 start > /dev/null 9>&- ||
      { tail -n 30 "$LOG_DIR/postgres.log"; die "PostgreSQL did not start"; }
  else
    step "PostgreSQL already runs on 127.0.0.1:$(state_get port)"
  fi
  step "database $DB_NAME: extensions, Grafana role, pg_cron jobs"
  [ "$(PGDATABASE=postgres sql -d postgres -At -c "SELECT count(*) FROM pg_database WHERE datname = '$DB_NAME'")" = 1 ] ||
    sql -d postgres -c "CREATE DATABASE $DB_NAME"
  sql -v retention="$([ "$mode" = sim ] && echo '7 days' || echo '30 days')" \
      -v grafana_password="'$(cat "$STACK_DIR/grafana-password")'" -f test/stack/setup.sql > /dev/null
  render_grafana
  exec 9>&-   # the install lock (build_install), if held

  if [ "$mode" = sim ]; then
    step "local news feed (test/stack/news_feed.py)"
    start_news
    [ -n "$(state_get history)" ] || load_history
    if ! pid_alive exchange; then
      step "local simulated exchange (exchange_sim, Binance format, $RATE trades/s)"
      start_exchange exchange --simulate --rate "$RATE" --seed "$(date +%s)" --symbols "$(continue_at)"
    fi
    sql -v exchange_port="$(cat "$RUN_DIR/exchange.port")" -v news_port="$(cat "$RUN_DIR/news.port")" \
        -f test/stack/sources-sim.sql > /dev/null
  else
    step "sources: Binance, Coinbase, Kraken and three RSS feeds (test/stack/sources-live.sql)"
    sql -f test/stack/sources-live.sql > /dev/null
  fi
  step "models (pg_cron retrains every 20 minutes)"
  initial_models
  step "waiting for the predictor"
  watch_status 60
  if [ "$mode" = sim ] && [ "${STACK_CHART:-1}" = 1 ]; then
    step "charts (make chart)"
    cmd_chart || say "    (charts failed; see above)"
  fi
  say "    ready in $((SECONDS - t0)) s"
  summary
}

cmd_stop() {
  local any=0
  for name in exchange replay news; do
    if [ -s "$RUN_DIR/$name.pid" ]; then say "stopping $name (pid $(cat "$RUN_DIR/$name.pid"))"; stop_pid "$name"; any=1; fi
  done
  if pg_running; then
    say "stopping PostgreSQL (pid $(head -n 1 "$PGDATA_DIR/postmaster.pid"))"
    as_pg "$PGBIN/pg_ctl" -D "$PGDATA_DIR" -m fast -w -t 60 stop > /dev/null
    any=1
  fi
  [ "$any" = 1 ] && say "stopped; data kept in $STACK_DIR (make start resumes)" || say "nothing was running"
}

cmd_status() {
  if ! pg_running; then say "stopped (make start)"; return 3; fi
  local procs=""
  for name in exchange news; do
    if pid_alive "$name"; then procs="$procs $name:$(cat "$RUN_DIR/$name.pid")"; fi
  done
  say "running: postgres:$(head -n 1 "$PGDATA_DIR/postmaster.pid")$procs on 127.0.0.1:$(state_get port) ($(state_get mode))"
  status_line
}

cmd_chart() {
  pg_running || die "the stack is not running (make start)"
  mkdir -p "$STACK_DIR/charts"
  PGPASSFILE=$PASS_FILE "$PYTHON" test/stack/chart.py --dsn "$(conn_string)" --out "$STACK_DIR/charts" "$@"
}

cmd_reset() {
  pg_running && die "the stack runs; make stop first"
  [ -d "$STACK_DIR" ] || { say "nothing to remove"; return 0; }
  rm -rf "$STACK_DIR"
  say "removed $STACK_DIR"
}

case "${1:-}" in
  start) cmd_start ;;
  stop) cmd_stop ;;
  status) cmd_status ;;
  chart) shift; cmd_chart "$@" ;;
  reset) cmd_reset ;;
  *) echo "usage: $0 start|stop|status|chart|reset" >&2; exit 2 ;;
esac
