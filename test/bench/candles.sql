-- Candle benchmark (issue: foundation): 10 million trades, 1-minute candles
-- per symbol.  The real BTC and ETH Binance captures (27,535 trades over
-- 8.5 minutes) are repeated with times shifted by 10 minutes until there
-- are 10 million rows.  Serial plans, so the ratio measures per-row cost.
\set ON_ERROR_STOP on
\getenv shared TRIGGERSTOCK_SHARED
\set btc :shared '/data/websocket/binance/spot_btcusdt_trade_2024-08-08T2354Z_0005Z.jsonl'
\set eth :shared '/data/websocket/binance/spot_ethusdt_trade_2024-08-08T2354Z_0005Z.jsonl'
\i test/bench/bench_common.sql
CREATE EXTENSION IF NOT EXISTS triggerstock;
SET max_parallel_workers_per_gather = 0;
SET work_mem = '256MB';

CREATE TEMP TABLE frames (symbol text, line text);
COPY frames (line) FROM :'btc' WITH (FORMAT csv, QUOTE E'\x01', DELIMITER E'\x02');
UPDATE frames SET symbol = 'BTC';
COPY frames (line) FROM :'eth' WITH (FORMAT csv, QUOTE E'\x01', DELIMITER E'\x02');
UPDATE frames SET symbol = 'ETH' WHERE symbol IS NULL;
CREATE TEMP TABLE capture AS
SELECT symbol, (d->>'t')::bigint AS trade_id,
       TIMESTAMPTZ 'epoch' + (d->>'T')::bigint * interval '1 millisecond' AS ts,
       (d->>'p')::float8 AS price, (d->>'q')::float8 AS qty
FROM (SELECT symbol, line::jsonb -> 'data' AS d FROM frames) f;

CREATE UNLOGGED TABLE bench_trades AS
SELECT c.symbol, c.trade_id + r::bigint * 100000000 AS trade_id,
       c.ts + r * interval '10 minutes' AS ts, c.price, c.qty
FROM generate_series(0, 362) r, capture c
LIMIT 10000000;
VACUUM ANALYZE bench_trades;
SELECT count(*) AS trades, count(DISTINCT symbol) AS symbols FROM bench_trades;

SELECT pg_temp.bench_case('candles', '1m candles vs floor count/sum/sum', 10000000,
    $q$SELECT sum((c).close), sum((c).volume) FROM (
         SELECT symbol, date_bin('1 minute', ts, TIMESTAMPTZ 'epoch') b,
                ohlcv(ts, price, qty, trade_id) AS c
         FROM bench_trades GROUP BY 1, 2) s$q$,
    $q$SELECT sum(n), sum(sp), sum(sq) FROM (
         SELECT symbol, date_bin('1 minute', ts, TIMESTAMPTZ 'epoch') b,
                count(*) n, sum(price) sp, sum(qty) sq
         FROM bench_trades GROUP BY 1, 2) s$q$,
    'ratio<=1.3');

SELECT pg_temp.bench_case('candles', '1m candles vs plain SQL (array_agg ordering)', 10000000,
    $q$SELECT sum((c).open), sum((c).close), sum((c).vwap) FROM (
         SELECT symbol, date_bin('1 minute', ts, TIMESTAMPTZ 'epoch') b,
                ohlcv(ts, price, qty, trade_id) AS c
         FROM bench_trades GROUP BY 1, 2) s$q$,
    $q$SELECT sum(open), sum(close), sum(vwap) FROM (
         SELECT symbol, date_bin('1 minute', ts, TIMESTAMPTZ 'epoch') b,
                (array_agg(price ORDER BY ts, trade_id))[1] AS open,
                max(price) AS high, min(price) AS low,
                (array_agg(price ORDER BY ts DESC, trade_id DESC))[1] AS close,
                sum(qty) AS volume, sum(price * qty) / sum(qty) AS vwap, count(*) AS trades,
                min(ts) AS open_time, max(ts) AS close_time
         FROM bench_trades GROUP BY 1, 2) s$q$,
    'speedup>=5');

-- rollup of the 1-minute candles to 1 hour vs aggregating the trades directly
CREATE TEMP TABLE bench_candles AS
SELECT symbol, date_bin('1 minute', ts, TIMESTAMPTZ 'epoch') AS bucket, ohlcv(ts, price, qty, trade_id) AS c
FROM bench_trades GROUP BY 1, 2;
SELECT pg_temp.bench_case('candles', '1h rollup of 1m candles vs 1h from trades', (SELECT count(*) FROM bench_candles),
    $q$SELECT sum((c).close) FROM (SELECT symbol, date_bin('1 hour', bucket, TIMESTAMPTZ 'epoch'), rollup(c) AS c
                                  FROM bench_candles GROUP BY 1, 2) s$q$,
    $q$SELECT sum((c).close) FROM (SELECT symbol, date_bin('1 hour', ts, TIMESTAMPTZ 'epoch'), ohlcv(ts, price, qty, trade_id) AS c
                                  FROM bench_trades GROUP BY 1, 2) s$q$,
    'speedup>=5');

\pset footer off
SELECT * FROM pg_temp.bench_report;
DROP TABLE bench_trades;
