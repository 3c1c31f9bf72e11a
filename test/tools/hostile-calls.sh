#!/usr/bin/env bash
# test/tools/hostile-calls.sh - every function of the extension called
# with hostile arguments (test/tools/hostile_calls.py: NULLs, empty and
# 100 kB texts, NaN and infinities, extreme intervals and timestamps,
# malformed JSON parameters, huge and nested arrays, composite values with
# a truncated state) in a throw-away cluster with real data
# (hostile_cluster.sh).  Passes when the server never crashed and no call
# raised an internal error (SQLSTATE XX000): every refusal must carry its
# own errcode.  Not part of the suite (its calls are random); run it by
# hand.
# Usage: bash test/tools/hostile-calls.sh [CALLS PER FUNCTION (default 60)] [SEED] [ROLE (smith|postgres)]
set -euo pipefail
cd "$(dirname "$0")/../.."
per=${1:-60}
seed=${2:-$RANDOM}
role=${3:-smith}
. test/tools/hostile_cluster.sh
hostile_start hostile-calls
echo "hostile calls: $per random argument sets per function, seed $seed, as role $role, port $port"
rc=0
"${as_pg[@]}" /usr/bin/python3 test/tools/hostile_calls.py "host=$dir port=$port dbname=smith user=$role" \
  "$seed" "$per" || rc=$?
hostile_verdict "hostile calls (seed $seed, role $role)"
[ "$rc" = 0 ] || { echo "not ok: hostile_calls.py exited $rc"; exit 1; }
