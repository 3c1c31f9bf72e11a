--
-- Bad input to the candle aggregates: NULLs are skipped, bad values are
-- errors (data_exception) naming the value, an empty group is NULL.
--
SET TimeZone = 'UTC';
\set VERBOSITY default

CREATE TEMP TABLE t (ts timestamptz, price float8, qty float8, seq bigint);
INSERT INTO t VALUES
    ('2024-01-01 00:00:00+00', 10, 1, 1),
    ('2024-01-01 00:00:10+00', 12, 2, 2),
    ('2024-01-01 00:00:20+00', 9, 3, 3);

-- NULL rows are skipped; a NULL seq counts as 0
SELECT (ohlcv(ts, price, qty, seq)).* FROM
    (SELECT * FROM t UNION ALL
     VALUES (NULL::timestamptz, 100, 1, 4), ('2024-01-01 00:00:30+00', NULL, 1, 5),
            ('2024-01-01 00:00:40+00', 100, NULL, 6)) s;
SELECT (ohlcv(ts, price, qty, seq)).open FROM
    (VALUES ('2024-01-01 00:00:00+00'::timestamptz, 5::float8, 1::float8, NULL::bigint),
            ('2024-01-01 00:00:00+00', 6, 1, 1)) s(ts, price, qty, seq);

-- empty group, all-NULL group
SELECT ohlcv(ts, price, qty) IS NULL AS empty_is_null FROM t WHERE false;
SELECT ohlcv(ts, price, qty) IS NULL AS all_null_is_null FROM t WHERE false
UNION ALL SELECT ohlcv(NULL::timestamptz, 1, 1) IS NULL;
SELECT rollup(NULL::ohlcv) IS NULL AS rollup_of_null_is_null;
SELECT count(*) AS groups FROM t WHERE false GROUP BY date_bin('1 minute', ts, TIMESTAMPTZ 'epoch');

-- zero volume: vwap is NULL
SELECT (ohlcv(ts, price, 0)).volume, (ohlcv(ts, price, 0)).vwap IS NULL AS vwap_null FROM t;

-- errors, each naming the value
SELECT ohlcv(ts, 'NaN', qty) FROM t;
SELECT ohlcv(ts, 'Infinity', qty) FROM t;
SELECT ohlcv(ts, '-Infinity', qty, seq) FROM t;
SELECT ohlcv(ts, price, -0.5) FROM t;
SELECT ohlcv(ts, price, 'NaN') FROM t;
SELECT ohlcv(ts, price, 'Infinity') FROM t;
SELECT ohlcv('infinity', price, qty) FROM t;
SELECT ohlcv(ts, 1e300, 1e10) FROM t;

-- SQLSTATE of a bad value is data_exception (22000)
DO $$
BEGIN
    PERFORM ohlcv(ts, 'NaN', qty) FROM t;
EXCEPTION WHEN data_exception THEN
    RAISE NOTICE 'caught %: %', SQLSTATE, SQLERRM;
END
$$;

-- rollup input checks
SELECT rollup(ROW(1, 2, 0.5, 1.5, 10, 1.2, 3, '2024-01-01 00:00:00+00', '2024-01-01 00:00:59+00', NULL, NULL, NULL)::ohlcv) IS NOT NULL AS ok;
SELECT rollup(ROW(1, 2, 0.5, 1.5, 0, NULL, 3, '2024-01-01 00:00:00+00', '2024-01-01 00:00:59+00', NULL, NULL, NULL)::ohlcv) AS zero_volume_candle;
SELECT rollup(ROW(NULL, 2, 0.5, 1.5, 10, 1.2, 3, '2024-01-01 00:00:00+00', '2024-01-01 00:00:59+00', NULL, NULL, NULL)::ohlcv);
SELECT rollup(ROW(1, 2, 0.5, 'NaN', 10, 1.2, 3, '2024-01-01 00:00:00+00', '2024-01-01 00:00:59+00', NULL, NULL, NULL)::ohlcv);
SELECT rollup(ROW(1, 2, 0.5, 1.5, 10, 'Infinity', 3, '2024-01-01 00:00:00+00', '2024-01-01 00:00:59+00', NULL, NULL, NULL)::ohlcv);
SELECT rollup(ROW(1, 2, 0.5, 1.5, -1, 1.2, 3, '2024-01-01 00:00:00+00', '2024-01-01 00:00:59+00', NULL, NULL, NULL)::ohlcv);

-- the trades table rejects the same bad values
INSERT INTO triggerstock.trades (exchange, instrument, symbol, trade_id, ts, price, qty, received_at)
VALUES ('x', 'X', 'X', 1, '2024-01-01 00:00:00+00', 'NaN', 1, '2024-01-01');
INSERT INTO triggerstock.trades (exchange, instrument, symbol, trade_id, ts, price, qty, received_at)
VALUES ('x', 'X', 'X', 1, '2024-01-01 00:00:00+00', 1, -1, '2024-01-01');
INSERT INTO triggerstock.trades (exchange, instrument, symbol, trade_id, ts, price, qty, side, received_at)
VALUES ('x', 'X', 'X', 1, '2024-01-01 00:00:00+00', 1, 1, 'hold', '2024-01-01');

-- as a window function the aggregate gives running candles
SELECT ts, (ohlcv(ts, price, qty) OVER (ORDER BY ts)).*
FROM t ORDER BY ts;
