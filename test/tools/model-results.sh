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
{
  echo "CREATE TEMP TABLE lean (ms bigint, open float8, high float8, low float8, close float8, volume float8);"
  echo "CREATE TEMP TABLE perp (ts timestamp, open float8, high float8, low float8, close float8, volume float8);"
  echo "COPY perp FROM '$candles/crypto/btc_perp_1m_2021-12-31_2022-02-01.csv' WITH (FORMAT csv, HEADER true);"
  echo "INSERT INTO triggerstock.candles SELECT 'BTC-PERP', '1 minute', ts AT TIME ZONE 'UTC', open, high, low, close,"
  echo "  volume, NULL, 0, ts AT TIME ZONE 'UTC', ts AT TIME ZONE 'UTC' + interval '59.999 seconds' FROM perp;"
  # Lean minute bars: ms since midnight of the file's day; crypto in UTC and
  # quote currency, equities in New York time and deci-cents
  for spec in "BTC-USD|crypto/coinbase_btcusd_1m_lean|UTC|1" "ETH-USD|crypto/coinbase_ethusd_1m_lean|UTC|1" \
              "SPY|equities/spy_1m_lean|America/New_York|10000" "AAPL|equities/aapl_1m_lean|America/New_York|10000"; do
    IFS='|' read -r sym dir tz scale <<< "$spec"
    for f in "$candles/$dir"/*.csv; do
      day=$(basename "$f" | cut -c1-8)
      echo "TRUNCATE lean; COPY lean FROM '$f' WITH (FORMAT csv);"
      echo "INSERT INTO triggerstock.candles SELECT '$sym', '1 minute',"
      echo "  (date '$day' + ms * interval '1 millisecond') AT TIME ZONE '$tz', open / $scale, high / $scale,"
      echo "  low / $scale, close / $scale, volume, NULL, 0, (date '$day' + ms * interval '1 millisecond') AT TIME ZONE '$tz',"
      echo "  (date '$day' + ms * interval '1 millisecond') AT TIME ZONE '$tz' + interval '59.999 seconds' FROM lean;"
    done
  done
  # Kraken REST OHLC: [time_s, open, high, low, close, vwap, volume, count]
  echo "INSERT INTO triggerstock.candles SELECT 'XBT-USDT', '1 minute', to_timestamp((c->>0)::bigint),"
  echo "  (c->>1)::float8, (c->>2)::float8, (c->>3)::float8, (c->>4)::float8, (c->>6)::float8, (c->>5)::float8,"
  echo "  (c->>7)::bigint, to_timestamp((c->>0)::bigint), to_timestamp((c->>0)::bigint) + interval '59.999 seconds'"
  echo "FROM jsonb_array_elements(pg_read_file('$candles/crypto/kraken_xbtusdt_rest_ohlc_1m_2025-11-10.json')::jsonb"
  echo "                          -> 'result' -> 'XBTUSDT') c;"
  echo "ANALYZE triggerstock.candles;"
} > "$work/load.sql"
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
