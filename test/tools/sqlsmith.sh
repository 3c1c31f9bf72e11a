#!/usr/bin/env bash
# test/tools/sqlsmith.sh - random SQL (SQLsmith, Debian package sqlsmith)
# against a throw-away cluster with the extension and real data
# (hostile_cluster.sh), as role smith, a non-superuser member of
# triggerstock_admin: every function of the catalog, the extension's
# included, called with random arguments on the extension's tables, in
# SELECT, INSERT, UPDATE, DELETE and MERGE.  Not part of the suite (its
# queries are random); run it by hand.  Passes when the server never
# crashed and is up at the end.
# Usage: bash test/tools/sqlsmith.sh [QUERIES (default 20000)] [SEED]
set -euo pipefail
cd "$(dirname "$0")/../.."
queries=${1:-20000}
seed=${2:-$RANDOM}
command -v sqlsmith > /dev/null || bash test/install-deps.sh sqlsmith
. test/tools/hostile_cluster.sh
hostile_start sqlsmith
echo "sqlsmith: $queries queries, seed $seed, as role smith (triggerstock_admin), port $port"
rc=0
"${as_pg[@]}" sqlsmith --target="host=$dir port=$port dbname=smith user=smith" \
  --seed="$seed" --max-queries="$queries" --exclude-catalog --verbose > "$dir/sqlsmith.out" 2>&1 || rc=$?
grep -E '^ +[a-z_]+: [0-9]+/[0-9]+ \(bad/ok\)' "$dir/sqlsmith.out" | tail -n 20 || true
echo "sqlsmith exit $rc"
hostile_verdict "sqlsmith (seed $seed)"
