#!/usr/bin/env bash
# Runs the indicator benchmark (test/bench/indicators.sql) in a throw-away
# cluster and prints its tables.  Needs the extension installed (make
# install); on a shared machine run both under the install lock, e.g.
#   flock /tmp/triggerstock-install.lock sh -c 'make install && test/bench/run-indicators.sh'
set -euo pipefail
cd "$(dirname "$0")/../.."
export TRIGGERSTOCK_SHARED="${TRIGGERSTOCK_SHARED:-$(cd .. && pwd)/shared}"
# -t: a private cluster directory, so it never collides with another
# pg_virtualenv cluster named "regress"
pg_virtualenv -t -o shared_buffers=1GB -o max_worker_processes=16 \
  psql -X -q -v ON_ERROR_STOP=1 -f test/bench/indicators.sql
