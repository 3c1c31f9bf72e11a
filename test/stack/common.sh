# test/stack/common.sh - shared definitions of the local stack (make start,
# make stop, make status, make chart); sourced by test/stack/stack.sh.
#
# Invariants:
#   - everything the stack keeps lives in $STACK_DIR (default .stack/ in the
#     checkout, git-ignored): the cluster, logs, pid files, passwords, the
#     rendered Grafana provisioning and the charts; nothing outside it is
#     written except the installed extension (make install, under the
#     install lock);
#   - the cluster is the stack's own: initdb'd into $STACK_DIR/pgdata,
#     listening on 127.0.0.1 only (no Unix socket), on a port chosen free;
#     it never touches another cluster;
#   - PostgreSQL refuses to run as root: when run as root, the server and
#     everything that writes into pgdata run as user postgres;
#   - every process the stack starts has a pid file in $STACK_DIR/run and
#     is stopped by that pid, never by name.

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
STACK_DIR=${STACK_DIR:-$REPO/.stack}
PG_CONFIG=${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}
PGBIN=$("$PG_CONFIG" --bindir 2>/dev/null || echo /usr/lib/postgresql/15/bin)
PYTHON=/usr/bin/python3
PGDATA_DIR=$STACK_DIR/pgdata
RUN_DIR=$STACK_DIR/run
LOG_DIR=$STACK_DIR/log
STATE_FILE=$STACK_DIR/state
PASS_FILE=$STACK_DIR/pgpass
DB_NAME=triggerstock
SU_NAME=postgres
GRAFANA_ROLE=triggerstock_grafana
INSTALL_LOCK=${STACK_INSTALL_LOCK:-/tmp/triggerstock-install.lock}

# say MESSAGE: a progress line.
say() { printf '%s\n' "$*"; }
# step MESSAGE: a numbered setup step.
STEP=0
step() { STEP=$((STEP + 1)); printf "[%d, %3ds] %s\n" "$STEP" "$SECONDS" "$*"; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# as_pg CMD...: run CMD as the owner of the cluster (postgres when root).
as_pg() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

# state_get KEY: a value of $STATE_FILE (KEY=VALUE lines), empty if none.
state_get() {
  [ -f "$STATE_FILE" ] || return 0
  sed -n "s/^$1=//p" "$STATE_FILE" | tail -n 1
}

# state_set KEY VALUE: replace or add KEY in $STATE_FILE.
state_set() {
  local tmp=$STATE_FILE.tmp
  { [ -f "$STATE_FILE" ] && grep -v "^$1=" "$STATE_FILE"; printf '%s=%s\n' "$1" "$2"; } > "$tmp" || true
  mv "$tmp" "$STATE_FILE"
}

# free_port: a TCP port of 127.0.0.1 nobody listens on now.
free_port() {
  "$PYTHON" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# port_busy PORT: true when something listens on 127.0.0.1:PORT.
port_busy() {
  "$PYTHON" -c 'import socket, sys
s = socket.socket()
s.settimeout(0.5)
sys.exit(0 if s.connect_ex(("127.0.0.1", int(sys.argv[1]))) == 0 else 1)' "$1"
}

# pid_alive NAME: true when $RUN_DIR/NAME.pid names a running process.
pid_alive() {
  local f=$RUN_DIR/$1.pid
  [ -s "$f" ] && kill -0 "$(cat "$f")" 2>/dev/null
}

# stop_pid NAME: stop the process of $RUN_DIR/NAME.pid (TERM, then KILL
# after 10 s) and remove the pid file.
stop_pid() {
  local f=$RUN_DIR/$1.pid pid
  [ -s "$f" ] || return 0
  pid=$(cat "$f")
  if kill -0 "$pid" 2>/dev/null; then
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
  fi
  rm -f "$f"
}

# pg_running: true when the stack's postmaster runs.
pg_running() {
  [ -f "$PGDATA_DIR/postmaster.pid" ] &&
    kill -0 "$(head -n 1 "$PGDATA_DIR/postmaster.pid")" 2>/dev/null
}

# sql [psql args...]: psql as the superuser on the stack's database.
sql() {
  PGPASSFILE=$PASS_FILE PGCONNECT_TIMEOUT=5 "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 \
    -h 127.0.0.1 -p "$(state_get port)" -U "$SU_NAME" -d "$DB_NAME" "$@"
}

# sql_value QUERY: one value, unaligned.
sql_value() { sql -At -c "$1"; }

# conn_string [ROLE]: a libpq URI of the stack (no password in it).
conn_string() {
  printf 'postgresql://%s@127.0.0.1:%s/%s' "${1:-$SU_NAME}" "$(state_get port)" "$DB_NAME"
}

# status_line: the one-line live status (see status.sql).
status_line() {
  sql -At -f "$REPO/test/stack/status.sql" 2>/dev/null || echo "(database not answering)"
}
