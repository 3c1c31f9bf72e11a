#!/usr/bin/env bash
# model-results.sh: the README's honest-results table.  Loads every 1-minute
# candle file of ../shared/data/candles into a fresh database, trains one
# model per (symbol, width, horizon) with the defaults, checks each model
# with test/python/check_model.py (python3-xgboost re-does the whole rule:
# same trees, predictions and metrics) and prints a Markdown table:
#   symbol | width | horizon | n_train | n_validation | n_test | rounds |
#   test log loss | baseline log loss | edge | accuracy | majority accuracy |
#   AUC | check
# "baseline" is always predicting the training base rate and "majority" always
# answering the training majority class, both on the same test window; edge =
# baseline log loss - model log loss (positive: the model beats the baseline).
#
# Needs a server with the extension installed (psql's environment), e.g.
#   flock /tmp/triggerstock-install.lock bash -c \
#     'make -s install && pg_virtualenv bash test/tools/model-results.sh'
set -euo pipefail
cd "$(dirname "$0")/../.."
repo=$(pwd)
shared="${TRIGGERSTOCK_SHARED:-$(cd .. && pwd)/shared}"
candles="$shared/data/candles"
db=model_results
work=$(mktemp -d /tmp/model-results.XXXXXX)
chmod 777 "$work"
trap 'rm -rf "$work"' EXIT

psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db"
PSQL=(psql -X -q -v ON_ERROR_STOP=1 -d "$db")
"${PSQL[@]}" -c 'CREATE EXTENSION triggerstock'

# --- load: one symbol per source file set -------------------------------------
bash test/tools/candles-load-sql.sh "$candles" > "$work/load.sql"
"${PSQL[@]}" -f "$work/load.sql"

# --- train and check ----------------------------------------------------------
configs=("1 minute|1" "5 minutes|1" "1 minute|5" "15 minutes|1")
symbols=$("${PSQL[@]}" -At -c "SELECT symbol FROM triggerstock.candles GROUP BY 1 ORDER BY count(*) DESC, 1")
echo "| symbol | width | horizon | n_train | n_validation | n_test | rounds chosen | test log loss | baseline log loss | edge | accuracy | majority accuracy | AUC | check |"
echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
for sym in $symbols; do
  for cfg in "${configs[@]}"; do
    IFS='|' read -r width h <<< "$cfg"
    if ! id=$("${PSQL[@]}" -At -c "SET client_min_messages = warning" \
                -c "SELECT train('$sym', '$width', $h)" 2>"$work/err"); then
      echo "| $sym | $width | $h | $(sed -n 's/^.*ERROR: *//p' "$work/err" | head -1) | | | | | | | | | | |"
      continue
    fi
    cols=$("${PSQL[@]}" -At -c "SELECT string_agg(quote_ident(f), ', ' ORDER BY o)
      FROM triggerstock.models, unnest(features) WITH ORDINALITY u(f, o) WHERE id = $id")
    "${PSQL[@]}" -c "SELECT deploy($id)" >/dev/null
    "${PSQL[@]}" -c "COPY (SELECT bucket, close, $cols, predict('$sym', ARRAY[$cols]::float8[]) AS ours
      FROM features('$sym', '$width') WHERE bucket <= last_complete_bucket('$sym', '$width') ORDER BY bucket)
      TO '$work/f.csv' WITH (FORMAT csv, HEADER true)"
    "${PSQL[@]}" -At -c "SELECT encode(model, 'hex') FROM triggerstock.models WHERE id = $id" > "$work/m.hex"
    "${PSQL[@]}" -At -c "SELECT model_cache_count()" -c "SELECT json_build_object('metrics', metrics,
      'params', params, 'horizon', horizon, 'nthread', current_setting('triggerstock.train_threads'))
      FROM triggerstock.models WHERE id = $id" | tail -1 > "$work/meta.json"
    if /usr/bin/python3 test/python/check_model.py "$work/m.hex" "$work/f.csv" "$work/meta.json" > "$work/check"; then
      check="ok ($(grep -c '^ok' "$work/check") checks)"
    else
      check="FAIL: $(grep -m1 '^FAIL' "$work/check")"
    fi
    "${PSQL[@]}" -At -F ' | ' -c "SELECT '| ' || symbol, width, horizon, metrics->>'n_train', metrics->>'n_validation',
        metrics->>'n_test', metrics->>'rounds', round((metrics->>'log_loss')::numeric, 5),
        round((metrics->>'baseline_log_loss')::numeric, 5), round((metrics->>'edge_log_loss')::numeric, 5),
        round((metrics->>'accuracy')::numeric, 4), round((metrics->>'majority_accuracy')::numeric, 4),
        round((metrics->>'roc_auc')::numeric, 4), '$check |'
      FROM triggerstock.models WHERE id = $id"
  done
done
psql -X -q -d postgres -c "DROP DATABASE $db"
