#!/usr/bin/env bash
# target-results.sh: the test-window tables of issue 15.  Loads every
# 1-minute candle file of ../shared/data/candles into a fresh database,
# trains a return model (horizon 5) and a volatility model (horizon 15) per
# symbol with the defaults on its whole history, checks each with
# test/python/check_target.py (python3-xgboost re-does the rule: same model,
# every metric, baseline and Diebold-Mariano statistic) and prints a
# Markdown table: the model's test-window MSE, R^2 and directional accuracy
# (and QLIKE), then each baseline on the same window with the model's edge
# in % of the baseline's MSE and the DM statistic (* = significant at 5 %).
#
# Needs a server with the extension installed (psql's environment), e.g.
#   pg_virtualenv -t bash test/tools/target-results.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
repo=$(pwd)
shared="${TRIGGERSTOCK_SHARED:-$(cd .. && pwd)/shared}"
db=target_results
work=$(mktemp -d /tmp/target-results.XXXXXX)
chmod 777 "$work"
trap 'rm -rf "$work"' EXIT

psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db"
PSQL=(psql -X -q -v ON_ERROR_STOP=1 -d "$db")
"${PSQL[@]}" -c 'CREATE EXTENSION triggerstock'
bash test/tools/candles-load-sql.sh "$shared/data/candles" > "$work/load.sql"
"${PSQL[@]}" -f "$work/load.sql"

configs=("return|5" "volatility|15")
symbols=$("${PSQL[@]}" -At -c "SELECT symbol FROM triggerstock.candles GROUP BY 1 ORDER BY count(*) DESC, 1")
echo "| symbol | target | h | n_train | n_test | rounds | MSE | R² (oos) | dir. acc. | QLIKE | baselines: MSE, model edge %, DM | check |"
echo "|---|---|---|---|---|---|---|---|---|---|---|---|"
for sym in $symbols; do
  for cfg in "${configs[@]}"; do
    IFS='|' read -r target h <<< "$cfg"
    if ! id=$("${PSQL[@]}" -At -c "SET client_min_messages = warning" \
                -c "SELECT train('$sym', horizon => $h, target => '$target')" 2>"$work/err"); then
      echo "| $sym | $target | $h | $(sed -n 's/^.*ERROR: *//p' "$work/err" | head -1) | | | | | | | | |"
      continue
    fi
    cols=$("${PSQL[@]}" -At -c "SELECT string_agg(quote_ident(f), ', ' ORDER BY o)
                                 FROM triggerstock.models, unnest(features) WITH ORDINALITY u(f, o) WHERE id = $id")
    "${PSQL[@]}" -c "COPY (SELECT bucket, close, $cols FROM features('$sym')
                           WHERE bucket <= last_complete_bucket('$sym', '1 minute') ORDER BY bucket)
                     TO '$work/f.csv' WITH (FORMAT csv, HEADER true)"
    "${PSQL[@]}" -At -c "SELECT encode(model, 'hex') FROM triggerstock.models WHERE id = $id" > "$work/m.hex"
    "${PSQL[@]}" -At -c "SELECT json_build_object('metrics', metrics, 'params', params, 'horizon', horizon,
                           'target', target, 'nthread', current_setting('triggerstock.train_threads'), 'live', NULL)
                         FROM triggerstock.models WHERE id = $id" > "$work/meta.json"
    if /usr/bin/python3 test/python/check_target.py "$work/m.hex" "$work/f.csv" "$work/meta.json" > "$work/check" 2>&1; then
      check="$(grep -c '^ok' "$work/check") ok"
    else
      check="FAIL: $(grep -m1 '^FAIL' "$work/check" || tail -1 "$work/check")"
    fi
    "${PSQL[@]}" -At -c "
      SELECT format('| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | $check |', symbol, target, horizon,
                    metrics->>'n_train', metrics->>'n_test', metrics->>'rounds',
                    to_char((metrics->>'mse')::float8, '9.999EEEE'), round((metrics->>'r2_oos')::numeric, 4),
                    coalesce(round((metrics->>'directional_accuracy')::numeric, 4)::text, '–'),
                    coalesce(round((metrics->>'qlike')::numeric, 4)::text, '–'),
                    (SELECT string_agg(format('%s %s, %s%%, DM %s%s', b.key, to_char((b.value->>'mse')::float8, '9.999EEEE'),
                                              round((b.value->>'edge_mse_pct')::numeric, 2),
                                              round((b.value->>'dm_mse')::numeric, 2),
                                              CASE WHEN (b.value->>'significant')::boolean THEN '*' ELSE '' END),
                                       '; ' ORDER BY b.key)
                     FROM jsonb_each(metrics->'baselines') b))
      FROM triggerstock.models WHERE id = $id"
  done
done
