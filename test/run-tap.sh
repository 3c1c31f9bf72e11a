#!/usr/bin/env bash
# Runs the TAP tests in test/t/ with PostgreSQL::Test::Cluster from
# postgresql-server-dev-15.  Each test makes its own throw-away clusters;
# since PostgreSQL refuses to run as root, root runs them as user postgres.
# Usage: test/run-tap.sh [test/t/NNN_name.pl ...]
set -euo pipefail
cd "$(dirname "$0")/.."

PG_CONFIG="${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}"
bindir=$("$PG_CONFIG" --bindir)
pgxs_src=$(dirname "$(dirname "$("$PG_CONFIG" --pgxs)")")
repo=$(pwd)
shared=$(cd .. && pwd)/shared
tests=("$@")
[ ${#tests[@]} -gt 0 ] || tests=(test/t/*.pl)

workdir=$(mktemp -d /tmp/triggerstock-tap.XXXXXX)
trap 'rm -rf "$workdir"' EXIT

cmd=(env TESTDIR="$workdir" PATH="$bindir:$PATH" PG_REGRESS="$pgxs_src/test/regress/pg_regress"
     TRIGGERSTOCK_REPO="$repo" TRIGGERSTOCK_SHARED="$shared"
     prove -I "$pgxs_src/test/perl" -I "$repo/test/perl" "${tests[@]}")
if [ "$(id -u)" -eq 0 ]; then
  chown postgres: "$workdir"
  cmd=(runuser -u postgres -- "${cmd[@]}")
fi
rc=0
"${cmd[@]}" || rc=$?
if [ $rc -ne 0 ]; then
  # the clusters' logs go away with $workdir: show them first
  for log in "$workdir"/tmp_check/log/*; do
    echo "===== $log"; tail -n 60 "$log"
  done
fi
# no secret a test used may reach a server log (issue 12)
shopt -s nullglob
server_logs=()
for log in "$workdir"/tmp_check/log/*.log; do
  case "$(basename "$log")" in regress_log_*) ;; *) server_logs+=("$log") ;; esac
done
perl test/secret_scan.pl test/secrets.txt "${server_logs[@]}" || rc=1
exit $rc
