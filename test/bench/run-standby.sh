#!/usr/bin/env bash
# Hot-standby serving benchmark (issue 18): a throw-away primary (launcher
# preloaded, the real ETH candles, train('ETH') deployed and served online)
# and a streaming standby made with pg_basebackup, both on 127.0.0.1 in a
# temporary directory.  On the standby: pgbench SELECT predict('ETH') vs
# SELECT 1, with triggerstock.feature_cache_ttl = 0 (every call reads the
# latest complete bucket and the online row) and with the default cache;
# alternating pairs, best of each; TPS ratio, target >= 0.7.  Never a timing
# assertion: it prints the figures.  About a minute (DURATION s per run).
# Runs as user postgres when started by root; PG_CONFIG picks the install.
set -euo pipefail
cd "$(dirname "$0")/../.."
repo=$(pwd)
export TRIGGERSTOCK_SHARED="${TRIGGERSTOCK_SHARED:-$(cd .. && pwd)/shared}"
PG_CONFIG="${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}"
if [ "$(id -u)" -eq 0 ]; then
  exec runuser -u postgres -- env PG_CONFIG="$PG_CONFIG" TRIGGERSTOCK_SHARED="$TRIGGERSTOCK_SHARED" \
    DURATION="${DURATION:-8}" bash "$repo/test/bench/run-standby.sh"
fi
bindir=$("$PG_CONFIG" --bindir)
export PATH="$bindir:$PATH"
DURATION="${DURATION:-8}"
work=$(mktemp -d /tmp/triggerstock-bench-standby.XXXXXX)
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
pport=$(free_port); sport=$(free_port)
cleanup() {
  for d in "$work/standby" "$work/primary"; do
    [ -f "$d/postmaster.pid" ] && pg_ctl -D "$d" -m fast -w stop > /dev/null 2>&1 || true
  done
  rm -rf "$work"
}
trap cleanup EXIT

initdb -D "$work/primary" -U postgres --no-sync -A trust > "$work/initdb.log"
cat >> "$work/primary/postgresql.conf" <<EOF
port = $pport
listen_addresses = '127.0.0.1'
unix_socket_directories = '$work'
shared_preload_libraries = 'triggerstock'
triggerstock.database = 'postgres'
max_worker_processes = 16
wal_level = replica
max_wal_senders = 4
fsync = off
EOF
pg_ctl -D "$work/primary" -l "$work/primary.log" -w start > /dev/null
P=(psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$pport" -U postgres -d postgres)
"${P[@]}" -c 'CREATE EXTENSION triggerstock'
"${P[@]}" -v shared="$TRIGGERSTOCK_SHARED" -f test/sql/load_candles.sql
"${P[@]}" -At -c "SELECT 'model ' || train('ETH')"
pg_basebackup -h 127.0.0.1 -p "$pport" -U postgres -D "$work/standby" -R -X stream --no-sync
echo "port = $sport" >> "$work/standby/postgresql.conf"
pg_ctl -D "$work/standby" -l "$work/standby.log" -w start > /dev/null
S=(psql -X -q -At -h 127.0.0.1 -p "$sport" -U postgres -d postgres)
for _ in $(seq 60); do
  [ "$("${S[@]}" -c 'SELECT pg_is_in_recovery()')" = t ] &&
    [ "$("${S[@]}" -c "SELECT predict_explain('ETH') ->> 'fallback_level'")" = model ] && break
  sleep 0.5
done
level=$("${S[@]}" -c "SELECT predict_explain('ETH') ->> 'fallback_level'")
echo "standby in recovery: $("${S[@]}" -c 'SELECT pg_is_in_recovery()'), predict('ETH') level: $level"

echo "SELECT 1;" > "$work/one.sql"
echo "SELECT predict('ETH');" > "$work/predict.sql"
tps() {  # tps SCRIPT TTL: pgbench on the standby, 2 clients
  (cd "$work" && PGOPTIONS="-c triggerstock.feature_cache_ttl=$2" \
     pgbench -n -h 127.0.0.1 -p "$sport" -U postgres -c 2 -j 2 -T "$DURATION" -f "$1.sql" postgres > "$1.out" 2>&1)
  sed -n 's/^tps = \([0-9.]*\) .*/\1/p' "$work/$1.out" | head -1
}
best() { printf '%s\n' "$@" | sort -g | tail -1; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", a / b }'; }
o1=$(tps one 0); p1=$(tps predict 0); o2=$(tps one 0); p2=$(tps predict 0)
c1=$(tps predict 1000); c2=$(tps predict 1000)
one=$(best "$o1" "$o2"); pred=$(best "$p1" "$p2"); cached=$(best "$c1" "$c2")
echo "pgbench TPS on the standby: SELECT 1 $o1 $o2; predict ttl=0 $p1 $p2; predict ttl=1000 $c1 $c2"
printf '| case | ours TPS | SELECT 1 TPS | ratio | target |\n|---|---|---|---|---|\n'
printf "| standby: predict('ETH'), feature_cache_ttl = 0 | %s | %s | %s | >= 0.7 |\n" "$pred" "$one" "$(ratio "$pred" "$one")"
printf "| standby: predict('ETH'), feature_cache_ttl = 1000 (default) | %s | %s | %s | >= 0.7 |\n" "$cached" "$one" "$(ratio "$cached" "$one")"
