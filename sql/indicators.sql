--
-- Indicator window functions: small hand-checked values, defaults and named
-- parameters, parameter errors, NULL and non-finite inputs, empty
-- partitions, n larger than the partition, and the tuplestore mark.
--
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS triggerstock;
RESET client_min_messages;
SET TimeZone = 'UTC';
\set VERBOSITY default

CREATE SCHEMA ind_edge;
CREATE TABLE ind_edge.t (g text, i int, x float8, h float8, l float8, v float8);
INSERT INTO ind_edge.t
SELECT 'a', i, x, x + 1, x - 1, 10 * i
FROM unnest(ARRAY[1, 2, 3, 2, 4, 5, 5, 3]::float8[]) WITH ORDINALITY AS u(x, i);

-- by hand: sma(3) = mean of the last 3; ema(3) seeded with sma(3), then
-- (x - ema) * 0.5 + ema; mom(2) = x - x[2 back]; roc(2) in %; rsi(2):
-- Wilder averages of gains/losses; obv starts at the first volume
SELECT i, x,
       sma(x, 3) OVER w AS sma3,
       ema(x, 3) OVER w AS ema3,
       mom(x, 2) OVER w AS mom2,
       round(roc(x, 2) OVER w::numeric, 6) AS roc2,
       round(rsi(x, 2) OVER w::numeric, 6) AS rsi2,
       obv(x, v) OVER w AS obv,
       vwap(x, v) OVER w AS vwap_cum
FROM ind_edge.t WINDOW w AS (ORDER BY i) ORDER BY i;

-- composites: NULL as a whole inside the lookback, fields by name after it
SELECT i, macd(x, 2, 3, 2) OVER w AS macd, macd(x, 2, 3, 2) OVER w IS NULL AS is_null,
       bbands(x, 2, 1) OVER w AS bbands, stoch(h, l, x, 2, 1, 2) OVER w AS stoch
FROM ind_edge.t WINDOW w AS (ORDER BY i) ORDER BY i;
SELECT (bbands(x, 4) OVER w).*, (macd(x, 2, 3, 2) OVER w).hist
FROM ind_edge.t WINDOW w AS (ORDER BY i) ORDER BY i DESC LIMIT 2;

-- defaults: the short forms equal the explicit default parameters
SELECT count(*) AS rows,
       count(*) FILTER (WHERE a IS DISTINCT FROM b) AS differing
FROM (SELECT ROW(rsi(close) OVER w, roc(close) OVER w, mom(close) OVER w,
                 macd(close) OVER w, bbands(close) OVER w, atr(h, l, close) OVER w,
                 willr(h, l, close) OVER w, cci(h, l, close) OVER w, adx(h, l, close) OVER w,
                 stoch(h, l, close) OVER w, mfi(h, l, close, v) OVER w) AS a,
             ROW(rsi(close, 14) OVER w, roc(close, 10) OVER w, mom(close, 10) OVER w,
                 macd(close, 12, 26, 9) OVER w, bbands(close, 20, 2) OVER w, atr(h, l, close, 14) OVER w,
                 willr(h, l, close, 14) OVER w, cci(h, l, close, 14) OVER w, adx(h, l, close, 14) OVER w,
                 stoch(h, l, close, 14, 3, 3) OVER w, mfi(h, l, close, v, 14) OVER w) AS b
      FROM (SELECT i, 100 + 10 * sin(i / 7.0) + (i % 5) AS close,
                   102 + 10 * sin(i / 7.0) + (i % 5) AS h, 98 + 10 * sin(i / 7.0) AS l,
                   1000 + 100 * (i % 7) AS v
            FROM generate_series(1, 200) i) s
      WINDOW w AS (ORDER BY i)) q;
-- named parameters
SELECT i, rsi(x, n => 2) OVER w AS rsi2, (bbands(x, k => 1, n => 2) OVER w).upper AS upper,
       (stoch(h, l, x, k => 2, k_slow => 1, d => 1) OVER w).k AS stoch_k
FROM ind_edge.t WINDOW w AS (ORDER BY i) ORDER BY i LIMIT 4;
-- integer and numeric inputs are accepted (implicit casts to float8)
SELECT i, sma(i, 2) OVER w, sma(i::numeric / 2, 2) OVER w FROM ind_edge.t WINDOW w AS (ORDER BY i) LIMIT 3;

--
-- Parameter errors (invalid_parameter_value), raised on a partition's first row
--
SELECT sma(x, 0) OVER (ORDER BY i) FROM ind_edge.t;
SELECT ema(x, -1) OVER (ORDER BY i) FROM ind_edge.t;
SELECT rsi(x, 0) OVER (ORDER BY i) FROM ind_edge.t;
SELECT roc(x, 0) OVER (ORDER BY i) FROM ind_edge.t;
SELECT mom(x, 0) OVER (ORDER BY i) FROM ind_edge.t;
SELECT sma(x, 1000001) OVER (ORDER BY i) FROM ind_edge.t;
SELECT macd(x, 26, 12) OVER (ORDER BY i) FROM ind_edge.t;
SELECT macd(x, 12, 12) OVER (ORDER BY i) FROM ind_edge.t;
SELECT macd(x, 0, 26) OVER (ORDER BY i) FROM ind_edge.t;
SELECT macd(x, 12, 26, 0) OVER (ORDER BY i) FROM ind_edge.t;
SELECT bbands(x, 0) OVER (ORDER BY i) FROM ind_edge.t;
SELECT bbands(x, 20, 'NaN') OVER (ORDER BY i) FROM ind_edge.t;
SELECT bbands(x, 20, 'Infinity') OVER (ORDER BY i) FROM ind_edge.t;
SELECT atr(h, l, x, 0) OVER (ORDER BY i) FROM ind_edge.t;
SELECT willr(h, l, x, 0) OVER (ORDER BY i) FROM ind_edge.t;
SELECT cci(h, l, x, 0) OVER (ORDER BY i) FROM ind_edge.t;
SELECT adx(h, l, x, 0) OVER (ORDER BY i) FROM ind_edge.t;
SELECT stoch(h, l, x, 0) OVER (ORDER BY i) FROM ind_edge.t;
SELECT stoch(h, l, x, 14, 0) OVER (ORDER BY i) FROM ind_edge.t;
SELECT stoch(h, l, x, 14, 3, 0) OVER (ORDER BY i) FROM ind_edge.t;
SELECT mfi(h, l, x, v, 0) OVER (ORDER BY i) FROM ind_edge.t;
SELECT vwap(x, v, 0) OVER (ORDER BY i) FROM ind_edge.t;
-- the SQLSTATE is invalid_parameter_value
DO $$
BEGIN
    PERFORM rsi(x, 0) OVER (ORDER BY i) FROM ind_edge.t;
EXCEPTION WHEN invalid_parameter_value THEN
    RAISE NOTICE 'caught invalid_parameter_value: %', SQLERRM;
END
$$;
-- a NULL parameter is an error, not a NULL result
SELECT rsi(x, NULL) OVER (ORDER BY i) FROM ind_edge.t;
SELECT bbands(x, 20, NULL) OVER (ORDER BY i) FROM ind_edge.t;
-- a parameter that changes within a partition is an error ...
SELECT rsi(x, i) OVER (ORDER BY i) FROM ind_edge.t;
SELECT bbands(x, 2, i / 4.0) OVER (ORDER BY i) FROM ind_edge.t;
-- ... but a non-constant expression with one value per partition is fine
SELECT g, i, sma(x, length(g) + 1) OVER (PARTITION BY g ORDER BY i) AS sma
FROM (SELECT * FROM ind_edge.t UNION ALL SELECT 'bbb', i, x, h, l, v FROM ind_edge.t) s
ORDER BY g, i;
-- parameters are checked on the first row, so a table without rows is no error
SELECT rsi(x, 0) OVER (ORDER BY i) FROM ind_edge.t WHERE false;
-- a prepared statement's parameter is read once per partition
PREPARE ind_edge_q(int) AS SELECT i, sma(x, $1) OVER (ORDER BY i) FROM ind_edge.t ORDER BY i LIMIT 3;
EXECUTE ind_edge_q(2);
EXECUTE ind_edge_q(0);
DEALLOCATE ind_edge_q;

--
-- NULL inputs: the row gives NULL and is skipped, so the other rows equal
-- the indicator over the series without the NULL rows
--
CREATE TABLE ind_edge.gappy AS
SELECT i, CASE WHEN i % 7 = 3 OR i BETWEEN 40 AND 45 THEN NULL ELSE x END AS x,
       h, l, CASE WHEN i % 14 = 3 THEN NULL ELSE v END AS v
FROM (SELECT i, 100 + 10 * sin(i / 5.0) + (i % 3) AS x, 103 + 10 * sin(i / 5.0) AS h,
             97 + 10 * sin(i / 5.0) AS l, 1000 + 50 * (i % 9) AS v
      FROM generate_series(1, 300) i) s;
CREATE FUNCTION ind_edge.row_values(where_clause text)
RETURNS TABLE (i int, vals float8[])
LANGUAGE plpgsql AS $$
BEGIN
    RETURN QUERY EXECUTE format($q$
        SELECT i, ARRAY[sma(x, 5) OVER w, ema(x, 5) OVER w, rsi(x, 5) OVER w, roc(x, 3) OVER w,
                        mom(x, 3) OVER w, (macd(x, 3, 6, 4) OVER w).hist,
                        (bbands(x, 5) OVER w).upper, atr(h, l, x, 5) OVER w,
                        willr(h, l, x, 5) OVER w, cci(h, l, x, 5) OVER w, adx(h, l, x, 5) OVER w,
                        (stoch(h, l, x, 5, 2, 2) OVER w).d, obv(x, v) OVER w,
                        mfi(h, l, x, v, 5) OVER w, vwap(x, v) OVER w, vwap(x, v, 5) OVER w]
        FROM ind_edge.gappy WHERE %s WINDOW w AS (ORDER BY i)$q$, where_clause);
END
$$;
-- (every row with a NULL volume also has a NULL close, so all indicators
-- skip the same rows)
SELECT count(*) AS rows,
       count(*) FILTER (WHERE g.x IS NULL) AS null_rows,
       count(*) FILTER (WHERE g.x IS NULL
                          AND (SELECT bool_and(e IS NULL) FROM unnest(a.vals) e)) AS null_rows_all_null,
       count(*) FILTER (WHERE g.x IS NOT NULL AND b.vals IS NULL) AS missing,
       count(*) FILTER (WHERE g.x IS NOT NULL AND a.vals IS DISTINCT FROM b.vals) AS differing,
       count(*) FILTER (WHERE g.x IS NOT NULL AND a.vals[11] IS NOT NULL) AS adx_values
FROM ind_edge.gappy g
JOIN ind_edge.row_values('true') a USING (i)
LEFT JOIN ind_edge.row_values('x IS NOT NULL') b USING (i);
-- a NULL in one input of a bar indicator skips the row for that indicator only
SELECT i, x, sma(x, 2) OVER w AS sma2, atr(h, l, x, 1) OVER w AS atr1, obv(x, v) OVER w AS obv
FROM (VALUES (1, 10.0, 11.0, 9.0, 5.0), (2, NULL, 12.0, 10.0, 5.0), (3, 12.0, NULL, 11.0, 5.0),
             (4, 13.0, 14.0, 12.0, 5.0)) t(i, x, h, l, v)
WINDOW w AS (ORDER BY i) ORDER BY i;

-- non-finite inputs are errors (they would poison the running sums)
SELECT sma(x, 2) OVER (ORDER BY i) FROM (VALUES (1, 1.0::float8), (2, 'NaN')) t(i, x);
SELECT atr(h, 1, 1) OVER (ORDER BY i) FROM (VALUES (1, 1.0::float8), (2, '-Infinity')) t(i, h);

--
-- Empty partitions, all-NULL partitions, n larger than the partition
--
SELECT rsi(x) OVER (ORDER BY i), macd(x) OVER (ORDER BY i) FROM ind_edge.t WHERE i > 100;
SELECT g, i, sma(x, 2) OVER w AS sma2, obv(x, v) OVER w AS obv, vwap(x, v) OVER w AS vwap
FROM (SELECT 'null' AS g, i, NULL::float8 AS x, v FROM ind_edge.t WHERE i <= 3
      UNION ALL SELECT 'one', i, x, v FROM ind_edge.t WHERE i = 1) s
WINDOW w AS (PARTITION BY g ORDER BY i) ORDER BY g, i;
SELECT count(*) AS rows,
       count(sma9) + count(ema9) + count(rsi8) + count(roc8) + count(mom8) + count(macd_2_8)
       + count(bbands9) + count(atr8) + count(willr9) + count(cci9) + count(adx5)
       + count(stoch_5_3_3) + count(mfi8) + count(vwap9) AS values_inside_lookbacks,
       count(sma_1000000) AS sma_1000000, count(sma8) AS sma8, count(adx4) AS adx4,
       count(stoch_4_3_2) AS stoch_4_3_2
FROM (SELECT sma(x, 9) OVER w AS sma9, ema(x, 9) OVER w AS ema9, rsi(x, 8) OVER w AS rsi8,
             roc(x, 8) OVER w AS roc8, mom(x, 8) OVER w AS mom8, macd(x, 2, 8) OVER w AS macd_2_8,
             bbands(x, 9) OVER w AS bbands9, atr(h, l, x, 8) OVER w AS atr8,
             willr(h, l, x, 9) OVER w AS willr9, cci(h, l, x, 9) OVER w AS cci9,
             adx(h, l, x, 5) OVER w AS adx5, stoch(h, l, x, 5, 3, 3) OVER w AS stoch_5_3_3,
             mfi(h, l, x, v, 8) OVER w AS mfi8, vwap(x, v, 9) OVER w AS vwap9,
             sma(x, 1000000) OVER w AS sma_1000000, sma(x, 8) OVER w AS sma8,
             adx(h, l, x, 4) OVER w AS adx4, stoch(h, l, x, 4, 3, 2) OVER w AS stoch_4_3_2
      FROM ind_edge.t WINDOW w AS (ORDER BY i)) s;
-- periods of 1 give the natural degenerate values
SELECT i, x, sma(x, 1) OVER w AS sma1, ema(x, 1) OVER w AS ema1, mom(x, 1) OVER w AS mom1,
       vwap(x, v, 1) OVER w AS vwap1
FROM ind_edge.t WINDOW w AS (ORDER BY i) ORDER BY i LIMIT 3;

--
-- The mark moves with the current row, so the window's tuplestore does not
-- grow: one 200,000-row partition in 64kB of work_mem writes no temporary
-- file (the input comes pre-sorted from an index, so no sort spills either),
-- while lag(x, 150000), which must keep 150,000 rows, does.
--
CREATE TABLE ind_edge.big AS
SELECT i, 100 + 10 * sin(i / 50.0) AS x, 1.0 AS v FROM generate_series(1, 200000) i;
CREATE INDEX ON ind_edge.big (i);
ANALYZE ind_edge.big;
SET work_mem = '64kB';
SET enable_sort = off;
SET max_parallel_workers_per_gather = 0;
EXPLAIN (COSTS OFF)
SELECT count(r) FROM (SELECT rsi(x) OVER (ORDER BY i) AS r FROM ind_edge.big) s;
SELECT pg_stat_force_next_flush();
SELECT temp_files AS temp_files_before FROM pg_stat_database WHERE datname = current_database() \gset
SELECT count(rsi) AS rsi, count(macd) AS macd, count(bbands) AS bbands, count(stoch) AS stoch,
       count(vwap) AS vwap
FROM (SELECT rsi(x) OVER w AS rsi, macd(x) OVER w AS macd, bbands(x) OVER w AS bbands,
             stoch(x + 1, x - 1, x) OVER w AS stoch, vwap(x, v, 100) OVER w AS vwap
      FROM ind_edge.big WINDOW w AS (ORDER BY i)) s;
SELECT pg_stat_force_next_flush();
SELECT temp_files - :temp_files_before AS temp_files_written
FROM pg_stat_database WHERE datname = current_database();
SELECT count(r) AS lag_150000 FROM (SELECT lag(x, 150000) OVER (ORDER BY i) AS r FROM ind_edge.big) s;
SELECT pg_stat_force_next_flush();
SELECT temp_files - :temp_files_before > 0 AS lag_wrote_temp_files
FROM pg_stat_database WHERE datname = current_database();
RESET enable_sort;
RESET work_mem;
RESET max_parallel_workers_per_gather;

-- a rescanned WindowAgg (correlated subquery) starts every partition afresh
SELECT o.g, (SELECT array_agg(round(r::numeric, 4) ORDER BY i)
             FROM (SELECT i, rsi(x, 2) OVER (ORDER BY i) AS r FROM ind_edge.t t
                   WHERE t.i <= o.upto) s) AS rsi2
FROM (VALUES ('first 4', 4), ('all 8', 8), ('first 4 again', 4)) o(g, upto);

-- ... also when the previous scan stopped in the middle of a partition
SELECT o.n, l.i, round(l.r::numeric, 4) AS rsi2
FROM (VALUES (3), (5)) o(n)
CROSS JOIN LATERAL (SELECT i, rsi(x, 2) OVER (ORDER BY i) AS r FROM ind_edge.t
                    WHERE i > 0 * o.n ORDER BY i LIMIT o.n) l
ORDER BY o.n, l.i;

-- catalog: every indicator is a window function with a comment
SELECT p.proname, pg_get_function_arguments(p.oid) AS arguments,
       pg_get_function_result(p.oid) AS result, p.prokind, p.provolatile, p.proparallel,
       obj_description(p.oid, 'pg_proc') IS NOT NULL AS commented
FROM pg_proc p JOIN pg_depend d ON d.objid = p.oid AND d.classid = 'pg_proc'::regclass
JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'triggerstock'
WHERE p.prokind = 'w'
ORDER BY p.proname, pg_get_function_arguments(p.oid);

SET client_min_messages = warning;
DROP SCHEMA ind_edge CASCADE;
RESET client_min_messages;
