--
-- OHLCV candles from real trades: the 15,923 Binance BTCUSDT trades of
-- ../shared/data/websocket/binance/spot_btcusdt_trade_2024-08-08T2354Z_0005Z.jsonl,
-- checked against plain SQL, under shuffling, under a parallel plan, and
-- through rollup().
--
CREATE EXTENSION triggerstock;
SET TimeZone = 'UTC';

\getenv abs_srcdir PG_ABS_SRCDIR
\set btc_file :abs_srcdir '/../shared/data/websocket/binance/spot_btcusdt_trade_2024-08-08T2354Z_0005Z.jsonl'

-- one WebSocket frame per line, read verbatim (no quote or delimiter byte occurs)
CREATE TEMP TABLE frames (line text);
COPY frames FROM :'btc_file' WITH (FORMAT csv, QUOTE E'\x01', DELIMITER E'\x02');
SELECT count(*) AS frames FROM frames;

-- parse the frames in SQL: Binance combined-stream trade events
CREATE SCHEMA candle_test;
CREATE TABLE candle_test.raw AS
SELECT (d->>'t')::bigint AS trade_id,
       TIMESTAMPTZ 'epoch' + (d->>'T')::bigint * interval '1 millisecond' AS ts,
       (d->>'p')::float8 AS price,
       (d->>'q')::float8 AS qty,
       CASE WHEN (d->>'m')::boolean THEN 'sell' ELSE 'buy' END AS side
FROM (SELECT line::jsonb -> 'data' AS d FROM frames) f;
SELECT count(*) AS trades, count(DISTINCT trade_id) AS ids,
       count(*) - count(DISTINCT (ts, trade_id)) AS dup_keys,
       min(ts), max(ts) FROM candle_test.raw;
-- equal timestamps are common, so (ts, seq) ordering matters
SELECT count(*) AS trades_sharing_a_timestamp
FROM (SELECT ts FROM candle_test.raw GROUP BY ts HAVING count(*) > 1) s;

-- the plain-SQL reference a user would otherwise write
CREATE VIEW candle_test.reference AS
SELECT date_bin('1 minute', ts, TIMESTAMPTZ 'epoch') AS bucket,
       (array_agg(price ORDER BY ts, trade_id))[1] AS open,
       max(price) AS high,
       min(price) AS low,
       (array_agg(price ORDER BY ts DESC, trade_id DESC))[1] AS close,
       sum(qty) AS volume,
       sum(price * qty) / sum(qty) AS vwap,
       count(*) AS trades,
       min(ts) AS open_time,
       max(ts) AS close_time
FROM candle_test.raw GROUP BY 1;

CREATE TABLE candle_test.ours AS
SELECT date_bin('1 minute', ts, TIMESTAMPTZ 'epoch') AS bucket,
       (ohlcv(ts, price, qty, trade_id)).*
FROM candle_test.raw GROUP BY 1;

SELECT bucket, open, high, low, close, round(volume::numeric, 8) AS volume,
       round(vwap::numeric, 6) AS vwap, trades, open_time, close_time
FROM candle_test.ours ORDER BY bucket;

-- row for row against the reference: open/high/low/close/trades/times exact;
-- volume and vwap to 1e-12 relative (ours is the exactly rounded sum, the
-- plain sum rounds at every step)
CREATE FUNCTION candle_test.mismatches(a text, b text, key text)
RETURNS TABLE (rows_a bigint, rows_b bigint, mismatches bigint)
LANGUAGE plpgsql AS $$
BEGIN
    RETURN QUERY EXECUTE format($q$
        SELECT (SELECT count(*) FROM %1$s x), (SELECT count(*) FROM %2$s y),
               count(*) FILTER (WHERE a.%3$I IS NULL OR b.%3$I IS NULL
                   OR a.open IS DISTINCT FROM b.open OR a.high IS DISTINCT FROM b.high
                   OR a.low IS DISTINCT FROM b.low OR a.close IS DISTINCT FROM b.close
                   OR a.trades IS DISTINCT FROM b.trades
                   OR a.open_time IS DISTINCT FROM b.open_time
                   OR a.close_time IS DISTINCT FROM b.close_time
                   OR NOT abs(a.volume - b.volume) <= 1e-12 * abs(b.volume)
                   OR NOT abs(a.vwap - b.vwap) <= 1e-12 * abs(b.vwap))
        FROM %1$s a FULL JOIN %2$s b USING (%3$I)$q$, a, b, key);
END
$$;
SELECT * FROM candle_test.mismatches('candle_test.ours', 'candle_test.reference', 'bucket');

-- a mismatch is noticed (the check can fail)
CREATE TEMP VIEW tampered AS
SELECT bucket, open, high, low, close + 0.01 AS close, volume, vwap, trades, open_time, close_time
FROM candle_test.ours;
SELECT * FROM candle_test.mismatches('tampered', 'candle_test.reference', 'bucket');

-- the same trades in a random order give identical candles, to the last bit
CREATE TABLE candle_test.shuffled AS
SELECT date_bin('1 minute', ts, TIMESTAMPTZ 'epoch') AS bucket, * FROM candle_test.raw ORDER BY random();
CREATE FUNCTION candle_test.identical(query_a text, query_b text)
RETURNS TABLE (rows_a bigint, rows_b bigint, differing bigint)
LANGUAGE plpgsql AS $$
BEGIN
    RETURN QUERY EXECUTE format(
        'SELECT (SELECT count(*) FROM (%1$s) x), (SELECT count(*) FROM (%2$s) y),
                (SELECT count(*) FROM (((%1$s) EXCEPT ALL (%2$s)) UNION ALL ((%2$s) EXCEPT ALL (%1$s))) z)',
        query_a, query_b);
END
$$;
SELECT * FROM candle_test.identical(
    $$SELECT date_bin('1 minute', ts, TIMESTAMPTZ 'epoch') b, ohlcv(ts, price, qty, trade_id) FROM candle_test.raw GROUP BY 1$$,
    $$SELECT date_bin('1 minute', ts, TIMESTAMPTZ 'epoch') b, ohlcv(ts, price, qty, trade_id) FROM candle_test.shuffled GROUP BY 1$$);
-- without seq, ties on ts are broken by price then qty: still order-free
SELECT * FROM candle_test.identical(
    $$SELECT date_bin('1 minute', ts, TIMESTAMPTZ 'epoch') b, ohlcv(ts, price, qty) FROM candle_test.raw GROUP BY 1$$,
    $$SELECT date_bin('1 minute', ts, TIMESTAMPTZ 'epoch') b, ohlcv(ts, price, qty) FROM candle_test.shuffled GROUP BY 1$$);
-- a forced parallel plan: Partial Aggregate in two workers over a randomly
-- ordered table, combined (through serialize/deserialize) in the leader
ANALYZE candle_test.shuffled;
SET parallel_setup_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
SET parallel_leader_participation = off;
EXPLAIN (COSTS OFF)
SELECT bucket, ohlcv(ts, price, qty, trade_id) FROM candle_test.shuffled GROUP BY 1;
CREATE FUNCTION candle_test.workers_launched(query text) RETURNS int
LANGUAGE plpgsql AS $$
DECLARE plan jsonb;
BEGIN
    EXECUTE 'EXPLAIN (ANALYZE, FORMAT JSON) ' || query INTO plan;
    RETURN jsonb_path_query_first(plan, 'strict $.**."Workers Launched"')::int;
END
$$;
SELECT candle_test.workers_launched(
    'SELECT bucket, ohlcv(ts, price, qty, trade_id) FROM candle_test.shuffled GROUP BY 1') AS workers_launched;
SELECT * FROM candle_test.identical(
    $$SELECT bucket, ohlcv(ts, price, qty, trade_id) FROM candle_test.shuffled GROUP BY 1$$,
    $$SELECT bucket, ROW(open, high, low, close, volume, vwap, trades, open_time, close_time, open_seq, close_seq, sums)::ohlcv FROM candle_test.ours$$);
-- one candle over everything, split across workers
EXPLAIN (COSTS OFF)
SELECT ohlcv(ts, price, qty, trade_id) FROM candle_test.shuffled;
SELECT * FROM candle_test.identical(
    $$SELECT ohlcv(ts, price, qty, trade_id) FROM candle_test.shuffled$$,
    $$SELECT ohlcv(ts, price, qty, trade_id) FROM candle_test.raw$$);
RESET parallel_setup_cost;
RESET min_parallel_table_scan_size;
RESET max_parallel_workers_per_gather;
RESET parallel_leader_participation;

-- rollup: 1-minute candles rolled up to 5 minutes equal direct 5-minute candles
CREATE TABLE candle_test.direct_5m AS
SELECT date_bin('5 minutes', ts, TIMESTAMPTZ 'epoch') AS bucket, (ohlcv(ts, price, qty, trade_id)).*
FROM candle_test.raw GROUP BY 1;
CREATE TABLE candle_test.rolled_5m AS
SELECT date_bin('5 minutes', bucket, TIMESTAMPTZ 'epoch') AS bucket,
       (rollup(ROW(open, high, low, close, volume, vwap, trades, open_time, close_time, open_seq, close_seq, sums)::ohlcv)).*
FROM candle_test.ours GROUP BY 1;
SELECT * FROM candle_test.mismatches('candle_test.rolled_5m', 'candle_test.direct_5m', 'bucket');
-- and every field, volume, vwap and sums included, to the last bit
SELECT * FROM candle_test.identical($$SELECT * FROM candle_test.rolled_5m$$, $$SELECT * FROM candle_test.direct_5m$$);
-- and rolled up in a shuffled order and in parallel, still identical
SELECT * FROM candle_test.identical(
    $$SELECT * FROM candle_test.rolled_5m$$,
    $$SELECT date_bin('5 minutes', bucket, TIMESTAMPTZ 'epoch'),
             (rollup(ROW(open, high, low, close, volume, vwap, trades, open_time, close_time, open_seq, close_seq, sums)::ohlcv)).*
      FROM (SELECT * FROM candle_test.ours ORDER BY random()) s GROUP BY 1$$);

-- the stored path: trades table -> refresh_candles() -> candles and views
SELECT * FROM create_partitions('2024-08-08', '2024-08-09');
INSERT INTO triggerstock.trades (exchange, instrument, symbol, trade_id, ts, price, qty, side)
SELECT 'binance', 'BTCUSDT', 'BTC', trade_id, ts, price, qty, side FROM candle_test.raw;
SELECT count(*) AS in_default_partition FROM triggerstock.trades_default;
SELECT refresh_candles('-infinity') AS written;
SELECT refresh_candles('-infinity') AS written_again_unchanged;
SELECT * FROM candle_test.mismatches(
    '(SELECT bucket, open, high, low, close, volume, vwap, trades, open_time, close_time FROM triggerstock.candles)',
    'candle_test.reference', 'bucket');
SELECT * FROM candle_test.mismatches(
    '(SELECT bucket, open, high, low, close, volume, vwap, trades, open_time, close_time FROM triggerstock.candles_5m)',
    'candle_test.direct_5m', 'bucket');
SELECT * FROM candle_test.identical(
    $$SELECT bucket, open, high, low, close, volume, vwap, trades, open_time, close_time, open_seq, close_seq, sums
      FROM triggerstock.candles_5m$$,
    $$SELECT * FROM candle_test.direct_5m$$);
SELECT symbol, width, bucket, open, close, trades FROM triggerstock.candles_1h ORDER BY bucket;
SELECT symbol, width, bucket, trades FROM triggerstock.candles_1d ORDER BY bucket;

-- only touched buckets are recomputed: a late trade in one minute
INSERT INTO triggerstock.trades (exchange, instrument, symbol, trade_id, ts, price, qty, side, received_at)
VALUES ('binance', 'BTCUSDT', 'BTC', 1, '2024-08-09 00:02:30+00', 99999, 1, 'buy', now() + interval '1 hour');
SELECT refresh_candles(now() + interval '30 minutes') AS written;
SELECT bucket, high, trades FROM triggerstock.candles WHERE bucket = '2024-08-09 00:02:00+00';
SELECT count(*) AS other_buckets_changed
FROM triggerstock.candles k JOIN candle_test.ours o USING (bucket)
WHERE k.bucket <> '2024-08-09 00:02:00+00'
  AND (k.open, k.high, k.low, k.close, k.volume, k.vwap, k.trades, k.open_time, k.close_time)
      IS DISTINCT FROM
      (o.open, o.high, o.low, o.close, o.volume, o.vwap, o.trades, o.open_time, o.close_time);

-- candles(width) for other widths, and its width check
SELECT count(*) AS candles_2m, sum(trades) AS trades FROM candles('2 minutes');
SELECT * FROM candles('90 seconds');
SELECT * FROM candles('1 month');
