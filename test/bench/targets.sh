#!/usr/bin/env bash
# Body of run-targets.sh, run inside pg_virtualenv (PGHOST etc. are set), or
# against any server given by the PG* environment (a database of its own).
set -euo pipefail
work=$(mktemp -d /tmp/triggerstock-bench-targets.XXXXXX)
trap 'rm -rf "$work"' EXIT
chmod 755 "$work"
PSQL=(psql -X -q -v ON_ERROR_STOP=1 -At)
DURATION="${BENCH_DURATION:-10}"
ROWS="${BENCH_ROWS:-200000}"

"${PSQL[@]}" -c 'CREATE EXTENSION triggerstock'
"${PSQL[@]}" -v shared="$TRIGGERSTOCK_SHARED" -f test/sql/load_candles.sql
"${PSQL[@]}" -c "SELECT train('BTC', target => 'return', horizon => 5, \"window\" => '8 days')" >/dev/null
"${PSQL[@]}" -c "SELECT predict('BTC', 'return')" >/dev/null

# --- serving a regression ----------------------------------------------------
echo "SELECT 1;" > "$work/one.sql"
echo "SELECT predict('BTC', 'return');" > "$work/predict.sql"
run_pgbench() {  # name -> "tps p99_ms"
  (cd "$work" && pgbench -n -c 2 -j 2 -T "$DURATION" -f "$1.sql" -l --log-prefix="$1" > "$1.out" 2>&1)
  local tps p99
  tps=$(sed -n 's/^tps = \([0-9.]*\) .*/\1/p' "$work/$1.out" | head -1)
  p99=$(cat "$work/$1".[0-9]* | awk '{print $3}' | sort -n |
        awk '{v[NR]=$1} END {i=int(NR*0.99); if (i<1) i=1; printf "%.3f", v[i]/1000}')
  echo "$tps $p99"
}
read -r one_tps one_p99 < <(run_pgbench one)
read -r pred_tps pred_p99 < <(run_pgbench predict)
"${PSQL[@]}" -c "SELECT predict_explain('BTC', 'return') ->> 'fallback_level'" > "$work/level"

# --- a linear model ----------------------------------------------------------
/usr/bin/python3 test/bench/xgb_baseline.py generate "$ROWS" "$work/matrix.csv"
"${PSQL[@]}" <<SQL
CREATE TABLE bench_matrix (i integer PRIMARY KEY, close float8,
  f01 float8, f02 float8, f03 float8, f04 float8, f05 float8, f06 float8, f07 float8, f08 float8,
  f09 float8, f10 float8, f11 float8, f12 float8, f13 float8, f14 float8, f15 float8, f16 float8,
  f17 float8, f18 float8, f19 float8, f20 float8);
\copy bench_matrix FROM '$work/matrix.csv' WITH (FORMAT csv)
VACUUM ANALYZE bench_matrix;
SQL
train_ours() {
  "${PSQL[@]}" <<'SQL' | tail -1
SELECT set_config('triggerstock.train_threads', '2', false);
\o /dev/null
SELECT clock_timestamp() AS t0 \gset
SELECT train_from_query('BENCHLIN',
  $$SELECT to_timestamp(i * 60.0) AS bucket, close, f01, f02, f03, f04, f05, f06, f07, f08, f09, f10,
           f11, f12, f13, f14, f15, f16, f17, f18, f19, f20 FROM bench_matrix ORDER BY i$$,
  params => '{"booster": "gblinear", "num_boost_round": 100, "early_stopping_rounds": 0}');
\o
SELECT round(extract(epoch FROM clock_timestamp() - :'t0'::timestamptz) * 1000, 1);
SQL
}
best() { printf '%s\n' "$@" | sort -g | head -1; }
o1=$(train_ours); b1=$(/usr/bin/python3 test/bench/xgb_baseline.py train "$work/matrix.csv" 2 gblinear)
o2=$(train_ours); b2=$(/usr/bin/python3 test/bench/xgb_baseline.py train "$work/matrix.csv" 2 gblinear)
echo "gblinear train ms runs: ours $o1 $o2, python3-xgboost $b1 $b2"
ours_ms=$(best "$o1" "$o2")
base_ms=$(best "$b1" "$b2")

# --- report ------------------------------------------------------------------
echo
echo "serving: predict('BTC', 'return') answered at level $(cat "$work/level"); pgbench -c 2 -j 2 -T $DURATION"
printf '%-46s | %9s | %12s | %12s | %7s | %-12s | %s\n' case rows ours baseline ratio target verdict
verdict() { awk -v r="$1" -v t="$2" -v op="$3" 'BEGIN {ok = (op == "ge") ? (r >= t) : (op == "le" ? r <= t : r < t); print ok ? "met" : "MISSED"}'; }
r=$(awk -v a="$pred_tps" -v b="$one_tps" 'BEGIN {printf "%.3f", a / b}')
printf '%-46s | %9s | %12s | %12s | %7s | %-12s | %s\n' "TPS: predict('BTC', 'return') vs SELECT 1" "-" "$pred_tps" "$one_tps" "$r" "ratio>=0.5" "$(verdict "$r" 0.5 ge)"
printf '%-46s | %9s | %12s | %12s | %7s | %-12s | %s\n' "p99 ms: predict('BTC', 'return') (SELECT 1)" "-" "$pred_p99" "$one_p99" "-" "<1 ms" "$(verdict "$pred_p99" 1 lt)"
r=$(awk -v a="$ours_ms" -v b="$base_ms" 'BEGIN {printf "%.3f", a / b}')
printf '%-46s | %9s | %12s | %12s | %7s | %-12s | %s\n' "gblinear train ms: 20 features, 100 rounds" "$ROWS" "$ours_ms" "$base_ms" "$r" "ratio<=1.2" "$(verdict "$r" 1.2 le)"
