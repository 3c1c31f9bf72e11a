#!/usr/bin/env bash
# candles-load-sql.sh CANDLES_DIR: prints the SQL that loads every 1-minute
# candle file of ../shared/data/candles into triggerstock.candles, one symbol
# per source file set (BTC-PERP, BTC-USD, ETH-USD, SPY, AAPL, XBT-USDT); the
# server reads the files.  Used by model-results.sh and target-results.sh.
set -euo pipefail
candles=$1
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
