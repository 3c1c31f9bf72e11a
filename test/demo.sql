-- triggerstock demo: real trades in, candles out; live ingestion from the local
-- simulated exchange (psql variable :port); indicators and a model on real candles.
\getenv shared TRIGGERSTOCK_SHARED
\set btc :shared '/data/websocket/binance/spot_btcusdt_trade_2024-08-08T2354Z_0005Z.jsonl'
\set eth :shared '/data/websocket/binance/spot_ethusdt_trade_2024-08-08T2354Z_0005Z.jsonl'
\pset footer off
CREATE EXTENSION triggerstock;
SET TimeZone = 'UTC';

\echo '== Loading real Binance trade frames (2024-08-08 23:54 to 00:02 UTC)'
CREATE TEMP TABLE frames (line text);
COPY frames FROM :'btc' WITH (FORMAT csv, QUOTE E'\x01', DELIMITER E'\x02');
COPY frames FROM :'eth' WITH (FORMAT csv, QUOTE E'\x01', DELIMITER E'\x02');
SELECT count(*) AS partitions_created FROM create_partitions('2024-08-08', '2024-08-09');
INSERT INTO triggerstock.trades (exchange, instrument, symbol, trade_id, ts, price, qty, side)
SELECT 'binance', d->>'s', left(d->>'s', -4), (d->>'t')::bigint,
       TIMESTAMPTZ 'epoch' + (d->>'T')::bigint * interval '1 millisecond',
       (d->>'p')::float8, (d->>'q')::float8,
       CASE WHEN (d->>'m')::boolean THEN 'sell' ELSE 'buy' END
FROM (SELECT line::jsonb -> 'data' AS d FROM frames) f
ON CONFLICT DO NOTHING;
SELECT symbol, count(*) AS trades, min(ts) AS first, max(ts) AS last
FROM triggerstock.trades GROUP BY 1 ORDER BY 1;

\echo '== 1-minute candles (refresh_candles)'
SELECT refresh_candles('-infinity') AS candles_written;
SELECT symbol, bucket, open, high, low, close, round(volume::numeric, 4) AS volume,
       round(vwap::numeric, 2) AS vwap, trades
FROM triggerstock.candles ORDER BY symbol, bucket;

\echo '== 5-minute candles (view triggerstock.candles_5m, rolled up with rollup())'
SELECT symbol, bucket, open, high, low, close, round(volume::numeric, 4) AS volume, trades
FROM triggerstock.candles_5m ORDER BY symbol, bucket;

\echo '== One candle straight from the trades with the ohlcv() aggregate'
SELECT symbol, (c).open, (c).high, (c).low, (c).close, round((c).volume::numeric, 4) AS volume,
       round((c).vwap::numeric, 2) AS vwap, (c).trades, (c).open_time, (c).close_time, (c).open_seq, (c).close_seq
FROM (SELECT symbol, ohlcv(ts, price, qty, trade_id) AS c FROM triggerstock.trades GROUP BY symbol) s
ORDER BY symbol;

\echo '== Live: the local simulated exchange streams Binance trades to an ingest worker (8 s)'
SELECT add_source('demo-binance', 'binance', 'ws://127.0.0.1:' || :'port', ARRAY['BTCUSDT', 'ETHUSDT']) AS source_id;
SELECT pg_sleep(8);
SELECT name, state, frames, trades, dead_letters, reconnects, latency_p50_ms, latency_p99_ms
FROM triggerstock.ingest_status;
SELECT symbol, count(*) AS live_candles, sum(trades) AS trades, max(bucket) AS latest_bucket
FROM triggerstock.candles WHERE bucket > now() - interval '1 hour' GROUP BY 1 ORDER BY 1;
UPDATE triggerstock.sources SET enabled = false;

\echo '== Indicators (equal to TA-Lib) on 36,025 real 1-minute BTC perpetual candles'
CREATE TEMP TABLE perp (ts timestamp, open float8, high float8, low float8, close float8, volume float8);
\set perp :shared '/data/candles/crypto/btc_perp_1m_2021-12-31_2022-02-01.csv'
COPY perp FROM :'perp' WITH (FORMAT csv, HEADER true);
INSERT INTO triggerstock.candles (symbol, width, bucket, open, high, low, close, volume, vwap, trades,
                                  open_time, close_time)
SELECT 'BTCPERP', interval '1 minute', ts AT TIME ZONE 'UTC', open, high, low, close, volume, NULL, 0,
       ts AT TIME ZONE 'UTC', ts AT TIME ZONE 'UTC' + interval '59.999 seconds'
FROM perp;
SELECT bucket, close, round(rsi_14::numeric, 2) AS rsi_14, round(macd_hist::numeric, 3) AS macd_hist,
       round(atr_14::numeric, 2) AS atr_14, round(bb_upper::numeric, 1) AS bb_upper
FROM (SELECT bucket, close, rsi(close) OVER w AS rsi_14, (macd(close) OVER w).hist AS macd_hist,
             atr(high, low, close) OVER w AS atr_14, (bbands(close) OVER w).upper AS bb_upper
      FROM triggerstock.candles WHERE symbol = 'BTCPERP'
      WINDOW w AS (ORDER BY bucket)) s
ORDER BY bucket DESC LIMIT 5;

\echo '== train() with libxgboost on features(), then predict() and predict_explain()'
SELECT train('BTCPERP') AS model_id;
SELECT round((metrics->>'accuracy')::numeric, 4) AS test_accuracy,
       round((metrics->>'roc_auc')::numeric, 4) AS roc_auc,
       round((metrics->>'base_rate')::numeric, 4) AS base_rate,
       round((metrics->>'majority_accuracy')::numeric, 4) AS majority_baseline
FROM triggerstock.models WHERE symbol = 'BTCPERP';
SELECT round(predict('BTCPERP')::numeric, 4) AS p_next_close_higher;
SELECT predict_explain('BTCPERP') - 'features' AS explain;
