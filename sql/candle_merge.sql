--
-- The 1-minute candle merge, store_candles(): the one writer of
-- triggerstock.candles (the ingest workers' COPY and statement paths merge
-- with it, refresh_candle_buckets() replaces with it).  Real trades with
-- many tied timestamps: the 17,050 Binance USD-M BTCUSDT trades of
-- ../shared/data/websocket/binance/usdm_btcusdt_trade_2024-08-08T2354Z_2400Z.jsonl
-- (a minute opens with 119 trades in one millisecond) and the COIN-M
-- aggTrades of cryptofeed_coinm_combined_2021-07-22.jsonl.  Stored candles
-- merged from any split of the trades equal ohlcv() over all of them in
-- every field, open and close included; so do rollup() and candles(width).
--
DROP EXTENSION IF EXISTS triggerstock CASCADE;
CREATE EXTENSION triggerstock;
SET TimeZone = 'UTC';

\getenv abs_srcdir PG_ABS_SRCDIR
\set usdm_file :abs_srcdir '/../shared/data/websocket/binance/usdm_btcusdt_trade_2024-08-08T2354Z_2400Z.jsonl'
\set coinm_file :abs_srcdir '/../shared/data/websocket/binance/cryptofeed_coinm_combined_2021-07-22.jsonl'

CREATE TEMP TABLE frames (line text);
COPY frames FROM :'usdm_file' WITH (FORMAT csv, QUOTE E'\x01', DELIMITER E'\x02');
COPY frames FROM :'coinm_file' WITH (FORMAT csv, QUOTE E'\x01', DELIMITER E'\x02');
CREATE SCHEMA merge_test;
CREATE TABLE merge_test.raw AS
SELECT d->>'s' AS instrument,
       coalesce(d->>'t', d->>'a')::bigint AS trade_id,
       TIMESTAMPTZ 'epoch' + (d->>'T')::bigint * interval '1 millisecond' AS ts,
       (d->>'p')::float8 AS price,
       (d->>'q')::float8 AS qty
FROM (SELECT line::jsonb -> 'data' AS d FROM frames) f
WHERE d->>'e' IN ('trade', 'aggTrade');
SELECT count(*) AS trades, count(DISTINCT instrument) AS instruments FROM merge_test.raw;
-- ties: trades sharing their instrument's timestamp, and the largest tie
SELECT sum(n) AS tied_trades, max(n) AS largest_tie
FROM (SELECT count(*) AS n FROM merge_test.raw GROUP BY instrument, ts HAVING count(*) > 1) t;

SELECT count(*) > 0 AS partitions FROM create_partitions('2021-07-22', '2021-07-22');
SELECT count(*) > 0 AS partitions FROM create_partitions('2024-08-08', '2024-08-09');
INSERT INTO triggerstock.trades (exchange, market, instrument, symbol, trade_id, ts, price, qty)
SELECT 'binance', CASE WHEN instrument LIKE '%USD\_%' THEN 'coinm' ELSE 'usdm' END,
       instrument, instrument, trade_id, ts, price, qty
FROM merge_test.raw;

-- the reference: ohlcv() over the stored trades of each (symbol, minute)
CREATE VIEW merge_test.direct AS
SELECT symbol, date_bin('1 minute', ts, TIMESTAMPTZ 'epoch') AS bucket,
       ohlcv(ts, price, qty, trade_id) AS c
FROM triggerstock.trades GROUP BY 1, 2;
-- stored candles against it: rows compared as whole ohlcv values (every
-- field, sums included), plus how many differ in open or close alone
CREATE FUNCTION merge_test.compare()
RETURNS TABLE (candles bigint, differing bigint, open_or_close_differing bigint)
LANGUAGE sql AS $$
    SELECT count(*),
           count(*) FILTER (WHERE k.c IS DISTINCT FROM d.c),
           count(*) FILTER (WHERE (k.c).open IS DISTINCT FROM (d.c).open
                               OR (k.c).close IS DISTINCT FROM (d.c).close)
    FROM (SELECT symbol, bucket,
                 ROW(open, high, low, close, volume, vwap, trades, open_time, close_time,
                     open_seq, close_seq, sums)::ohlcv AS c
          FROM triggerstock.candles) k
    FULL JOIN merge_test.direct d USING (symbol, bucket)
$$;

-- the merge: the trades stored in k flushes, split at random (each trade
-- goes to flush hash(trade_id, round) mod k), merged flush after flush into
-- the stored candles; every round must equal direct aggregation
CREATE FUNCTION merge_test.store_flush(flushes int, round int, flush int)
RETURNS bigint
LANGUAGE sql AS $$
    SELECT coalesce(store_candles(array_agg(symbol), array_agg(bucket), array_agg(c)), 0)
    FROM (SELECT symbol, date_bin('1 minute', ts, TIMESTAMPTZ 'epoch') AS bucket,
                 ohlcv(ts, price, qty, trade_id) AS c
          FROM triggerstock.trades
          WHERE (hashint8(trade_id * 31 + round) & 2147483647) % flushes = flush
          GROUP BY 1, 2) fresh
$$;
CREATE FUNCTION merge_test.merge_in_flushes(flushes int, round int)
RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    written bigint := 0;
BEGIN
    TRUNCATE triggerstock.candles;
    FOR f IN 0 .. flushes - 1 LOOP
        written := written + merge_test.store_flush(flushes, round, f);
    END LOOP;
    RETURN written;
END
$$;
CREATE FUNCTION merge_test.round(flushes int, round int)
RETURNS TABLE (written bigint, candles bigint, differing bigint, open_or_close_differing bigint)
LANGUAGE plpgsql AS $$
BEGIN
    written := merge_test.merge_in_flushes(flushes, round);
    SELECT * INTO candles, differing, open_or_close_differing FROM merge_test.compare();
    RETURN NEXT;
END
$$;
SELECT r AS round, k AS flushes, (merge_test.round(k, r)).*
FROM (VALUES (1, 1), (2, 2), (3, 3), (4, 7), (5, 29), (6, 500)) AS v(r, k)
ORDER BY r;

-- what the stored seq buys: the second flush merged into candles whose seq
-- was forgotten (as 0.1 stored candles) decides tied opens and closes by
-- price, and differs from the trades in some minutes
TRUNCATE triggerstock.candles;
SELECT merge_test.store_flush(2, 9, 0) > 0 AS first_flush;
UPDATE triggerstock.candles SET open_seq = NULL, close_seq = NULL, sums = NULL;
SELECT count(*) AS candles,
       count(*) FILTER (WHERE (m.c).open IS DISTINCT FROM (d.c).open
                           OR (m.c).close IS DISTINCT FROM (d.c).close) > 0 AS seqless_merge_differs
FROM (SELECT symbol, bucket, rollup(c) AS c
      FROM (SELECT symbol, bucket, ROW(open, high, low, close, volume, vwap, trades, open_time, close_time,
                                        NULL, NULL, NULL)::ohlcv AS c
            FROM triggerstock.candles
            UNION ALL
            SELECT symbol, date_bin('1 minute', ts, TIMESTAMPTZ 'epoch'), ohlcv(ts, price, qty, trade_id)
            FROM triggerstock.trades WHERE (hashint8(trade_id * 31 + 9) & 2147483647) % 2 = 1
            GROUP BY 1, 2) parts
      GROUP BY 1, 2) m
JOIN merge_test.direct d USING (symbol, bucket);

-- refresh_candle_buckets() writes through store_candles(..., replace): it
-- restores tampered candles and reports only what it changed
SELECT merge_test.merge_in_flushes(3, 11) > 0 AS merged;
UPDATE triggerstock.candles SET close = close + 1
WHERE bucket = (SELECT min(bucket) FROM triggerstock.candles WHERE symbol = 'BTCUSDT');
SELECT refresh_candles('-infinity') AS rewritten;
SELECT * FROM merge_test.compare();

-- rollup() of 1-minute candles and candles(width) equal direct aggregation
-- at coarser widths, every field
SELECT count(*) AS candles_5m,
       count(*) FILTER (WHERE r.c IS DISTINCT FROM d.c) AS differing
FROM (SELECT symbol, date_bin('5 minutes', bucket, TIMESTAMPTZ 'epoch') AS bucket, rollup(c) AS c
      FROM (SELECT * FROM merge_test.direct ORDER BY random()) s GROUP BY 1, 2) r
FULL JOIN (SELECT symbol, date_bin('5 minutes', ts, TIMESTAMPTZ 'epoch') AS bucket,
                  ohlcv(ts, price, qty, trade_id) AS c
           FROM triggerstock.trades GROUP BY 1, 2) d USING (symbol, bucket);
CREATE FUNCTION merge_test.width_compare(w interval)
RETURNS TABLE (candles bigint, differing bigint)
LANGUAGE sql AS $$
    SELECT count(*),
           count(*) FILTER (WHERE ROW(k.open, k.high, k.low, k.close, k.volume, k.vwap, k.trades, k.open_time,
                                      k.close_time, k.open_seq, k.close_seq, k.sums)::ohlcv IS DISTINCT FROM d.c)
    FROM candles(w) k
    FULL JOIN (SELECT symbol, date_bin(w, ts, TIMESTAMPTZ 'epoch') AS bucket, ohlcv(ts, price, qty, trade_id) AS c
               FROM triggerstock.trades GROUP BY 1, 2) d USING (symbol, bucket)
$$;
SELECT w AS width, c.* FROM (VALUES (interval '2 minutes'), (interval '1 hour'), (interval '1 day')) AS v(w),
     LATERAL merge_test.width_compare(v.w) c ORDER BY w;

-- a candle made elsewhere (no seq, no sums) still rolls up, from its
-- volume and vwap; one whose sums do not give its volume is refused, and so
-- are malformed sums
SELECT (rollup(ROW(1, 2, 0.5, 1.5, 10, 1.25, 3, '2024-01-01', '2024-01-01 00:00:30', NULL, NULL, NULL)::ohlcv)).volume;
SELECT rollup(ROW(k.open, k.high, k.low, k.close, k.volume + 1, k.vwap, k.trades, k.open_time, k.close_time,
                  k.open_seq, k.close_seq, k.sums)::ohlcv)
FROM triggerstock.candles k LIMIT 1;
SELECT rollup(ROW(k.open, k.high, k.low, k.close, k.volume, k.vwap, k.trades, k.open_time, k.close_time,
                  k.open_seq, k.close_seq, '\x0102'::bytea)::ohlcv)
FROM triggerstock.candles k LIMIT 1;

-- store_candles() refuses arrays that do not match, and a candle outside
-- its minute
SELECT store_candles(ARRAY['X'], ARRAY[]::timestamptz[], ARRAY[]::ohlcv[]);
SELECT store_candles(ARRAY['X'], ARRAY[TIMESTAMPTZ '2024-01-01 00:01'],
                     ARRAY[(SELECT ohlcv(TIMESTAMPTZ '2024-01-01 00:00:30', 1, 1))]);
SELECT store_candles(ARRAY['X'], ARRAY[TIMESTAMPTZ '2024-01-01 00:00:30'],
                     ARRAY[(SELECT ohlcv(TIMESTAMPTZ '2024-01-01 00:00:30', 1, 1))]);
