# test/tools/hostile_cluster.sh - sourced by sqlsmith.sh and
# hostile-calls.sh: a throw-away cluster with triggerstock preloaded and
# real data in it (the BTC and ETH candles of ../shared, a direction and a
# return model of BTC, its online feature rows, a signal rule, an ingest
# source pointing nowhere), and the verdict on it afterwards.
#   hostile_start NAME   start it; sets dir, port; role smith (LOGIN, a
#                        non-superuser member of triggerstock_admin)
#   psql_su ARGS...      psql as the superuser
#   hostile_verdict WHAT exits 1 if the server crashed (a backend terminated
#                        by a signal, PANIC, TRAP) or is down; prints how
#                        many of the extension's functions were called
# PG_CONFIG selects the PostgreSQL (default the system's 15).
bindir=$("${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}" --bindir)
shared=$(cd .. && pwd)/shared
as_pg=()
[ "$(id -u)" -eq 0 ] && as_pg=(runuser -u postgres --)

psql_su() { "${as_pg[@]}" "$bindir/psql" -X -q -v ON_ERROR_STOP=1 -h "$dir" -p "$port" -U postgres "$@"; }

hostile_start() {
  dir=$(mktemp -d "/tmp/triggerstock-$1.XXXXXX")
  chmod 755 "$dir"
  [ ${#as_pg[@]} -gt 0 ] && chown postgres: "$dir"
  port=$(( 20000 + RANDOM % 20000 ))
  trap '"${as_pg[@]}" "$bindir/pg_ctl" -D "$dir/data" -m immediate -w stop > /dev/null 2>&1 || true; rm -rf "$dir"' EXIT
  "${as_pg[@]}" "$bindir/initdb" -D "$dir/data" -A trust > /dev/null
  cat >> "$dir/data/postgresql.conf" <<CONF
port = $port
listen_addresses = '127.0.0.1'
unix_socket_directories = '$dir'
shared_preload_libraries = 'triggerstock'
triggerstock.database = 'smith'
triggerstock.allowed_hosts = '127.0.0.1'
max_worker_processes = 16
statement_timeout = '10s'
track_functions = all
log_min_messages = warning
CONF
  "${as_pg[@]}" "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w start > /dev/null
  psql_su -d postgres -c "CREATE DATABASE smith"
  psql_su -d smith -c "CREATE EXTENSION triggerstock" \
    -v shared="$shared" -f test/sql/load_candles.sql \
    -c "SELECT serve_features('BTC', '1 minute')" \
    -c "SELECT train('BTC', params => '{\"num_boost_round\": 20}')" \
    -c "SELECT train('BTC', target => 'return', params => '{\"num_boost_round\": 20}')" \
    -c "INSERT INTO triggerstock.signal_rules (symbol, long_above, short_below) VALUES ('BTC', 0.55, 0.45)" \
    -c "SELECT add_source('nowhere', 'binance', 'ws://127.0.0.1:9/ws', ARRAY['BTCUSDT'])" \
    -c "CREATE ROLE smith LOGIN IN ROLE triggerstock_admin" > /dev/null
}

hostile_verdict() {
  local crashes up called
  crashes=$(grep -cE 'terminated by signal|was terminated by|PANIC|TRAP:' "$dir/server.log" || true)
  up=$(psql_su -d smith -At -c "SELECT 1" 2> /dev/null || echo down)
  called=$(psql_su -d smith -At -c "
    SELECT count(f.funcid) || ' of the extension''s ' || count(*) || ' functions called, '
           || coalesce(sum(f.calls), 0) || ' calls'
    FROM pg_depend d JOIN pg_extension e ON d.refobjid = e.oid AND e.extname = 'triggerstock'
    LEFT JOIN pg_stat_user_functions f ON f.funcid = d.objid
    WHERE d.classid = 'pg_proc'::regclass AND d.refclassid = 'pg_extension'::regclass AND d.deptype = 'e'" \
    2> /dev/null || echo "-")
  echo "$called; server log: $crashes crash lines; server: $up"
  if [ "$crashes" != 0 ] || [ "$up" != 1 ]; then
    grep -E -B 5 'terminated by signal|was terminated by|PANIC|TRAP:' "$dir/server.log" | head -n 80
    cp "$dir/server.log" "/tmp/triggerstock-$1-server.log"
    echo "not ok: the server crashed in $1 (log: /tmp/triggerstock-$1-server.log)"
    exit 1
  fi
  echo "ok: no crash in $1"
}
