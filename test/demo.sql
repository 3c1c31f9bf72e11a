-- triggerstock demo: real trades in, candles out.
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
SELECT symbol, (ohlcv(ts, price, qty, trade_id)).* FROM triggerstock.trades GROUP BY symbol ORDER BY symbol;
