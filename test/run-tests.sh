#!/usr/bin/env bash
# The project's test command (README, .ci/run): installs what is missing,
# builds and installs the extension, then runs
#   1. the pure-C unit tests (no server) and the SQL lint of the C code,
#   2. the pg_regress suites in a throw-away cluster with
#      shared_preload_libraries = pg_cron,triggerstock, and again without
#      preloading (pure SQL features must work either way),
#   3. the TAP tests in test/t (each makes its own throw-away clusters;
#      the ingestion tests stream from test/exchange/exchange_sim),
#   4. the local stack (make start in a temporary directory): start, status,
#      every Grafana dashboard query as the read-only role, stop and resume
#      (test/stack/test-stack.sh).
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== build"
bash test/build-install.sh
export PG_CONFIG="${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}"

echo "== unit tests"
make -s unit

echo "== lint: the SQL in the C code qualifies every name"
make -s lint

# pg_regress in a pg_virtualenv cluster; show the diffs when it fails
run_regress() {
  if ! pg_virtualenv -t "$@" make -s installcheck; then
    cat regression.diffs 2>/dev/null || true
    return 1
  fi
}
echo "== pg_regress, preloaded"
run_regress -o shared_preload_libraries=pg_cron,triggerstock \
            -o cron.database_name=contrib_regression -o max_worker_processes=16
echo "== pg_regress, not preloaded"
run_regress

echo "== TAP tests"
make -s exchange   # the local exchange the ingestion tests stream from
bash test/run-tap.sh

echo "== local stack and Grafana dashboards"
bash test/stack/test-stack.sh
