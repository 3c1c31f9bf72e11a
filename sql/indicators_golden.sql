--
-- Indicator window functions against TA-Lib: every cell of
-- ../shared/golden/talib_btc_perp_1m.csv (TA-Lib's own output for the 36,025
-- real 1-minute candles of ../shared/data/candles/crypto/btc_perp_1m_*.csv)
-- must agree to 1e-9 relative (1e-9 absolute where |value| < 1), and every
-- NULL must sit exactly where the reference cell is empty.  Also: the
-- comparison can fail, VWAP equals plain SQL, two symbols partitioned in one
-- query equal each alone, and the frame clause does not matter.
--
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS triggerstock;
RESET client_min_messages;
SET TimeZone = 'UTC';

\getenv abs_srcdir PG_ABS_SRCDIR
\set candle_file :abs_srcdir '/../shared/data/candles/crypto/btc_perp_1m_2021-12-31_2022-02-01.csv'
\set golden_file :abs_srcdir '/../shared/golden/talib_btc_perp_1m.csv'

CREATE SCHEMA ind_golden;
CREATE TABLE ind_golden.perp (ts timestamptz PRIMARY KEY, open float8, high float8,
                              low float8, close float8, volume float8);
COPY ind_golden.perp FROM :'candle_file' WITH (FORMAT csv, HEADER);
-- an empty cell is NULL in CSV format
CREATE TABLE ind_golden.golden (
    ts timestamptz PRIMARY KEY, close float8, sma20 float8, ema20 float8, rsi14 float8,
    macd float8, macd_signal float8, macd_hist float8,
    bb_upper float8, bb_middle float8, bb_lower float8, atr14 float8, obv float8,
    stoch_k float8, stoch_d float8, roc10 float8, mom10 float8, willr14 float8,
    cci14 float8, mfi14 float8, adx14 float8);
COPY ind_golden.golden FROM :'golden_file' WITH (FORMAT csv, HEADER);
SELECT count(*) AS candles, min(ts), max(ts) FROM ind_golden.perp;
SELECT count(*) AS golden_rows,
       count(*) FILTER (WHERE g.close IS DISTINCT FROM p.close) AS close_differs
FROM ind_golden.golden g FULL JOIN ind_golden.perp p USING (ts);

-- every indicator in one query; defaults where they equal the golden calls
CREATE TABLE ind_golden.ours AS
SELECT ts,
       sma(close, 20) OVER w AS sma20,
       ema(close, 20) OVER w AS ema20,
       rsi(close) OVER w AS rsi14,
       (macd(close) OVER w).macd AS macd,
       (macd(close) OVER w).signal AS macd_signal,
       (macd(close) OVER w).hist AS macd_hist,
       (bbands(close) OVER w).upper AS bb_upper,
       (bbands(close) OVER w).middle AS bb_middle,
       (bbands(close) OVER w).lower AS bb_lower,
       atr(high, low, close) OVER w AS atr14,
       obv(close, volume) OVER w AS obv,
       (stoch(high, low, close) OVER w).k AS stoch_k,
       (stoch(high, low, close) OVER w).d AS stoch_d,
       roc(close) OVER w AS roc10,
       mom(close) OVER w AS mom10,
       willr(high, low, close) OVER w AS willr14,
       cci(high, low, close) OVER w AS cci14,
       mfi(high, low, close, volume) OVER w AS mfi14,
       adx(high, low, close) OVER w AS adx14
FROM ind_golden.perp
WINDOW w AS (ORDER BY ts);

-- Compares every column (but ts) of table `ours` with the golden column of
-- the same name, row by row on ts.  Per column: rows joined, reference cells,
-- worst relative / absolute error and the ts of the worst cell (NULL when
-- exact), NULL placements that differ, cells out of tolerance, pass/fail.
CREATE FUNCTION ind_golden.compare(ours regclass)
RETURNS TABLE (indicator text, rows bigint, cells bigint, worst_rel text, worst_abs text,
               worst_at timestamptz, null_mismatches bigint, bad_cells bigint, pass boolean)
LANGUAGE plpgsql AS $$
DECLARE
    col text;
BEGIN
    FOR col IN SELECT attname FROM pg_attribute
               WHERE attrelid = ours AND attnum > 0 AND NOT attisdropped AND attname <> 'ts'
               ORDER BY attnum LOOP
        RETURN QUERY EXECUTE format($q$
            WITH pairs AS (
                SELECT ts, o.%1$I AS ours, g.%1$I AS ref
                FROM %2$s o FULL JOIN ind_golden.golden g USING (ts)
            ), errors AS (
                SELECT ts, ours, ref, abs(ours - ref) AS abs_err,
                       abs(ours - ref) / nullif(abs(ref), 0) AS rel_err
                FROM pairs
            ), worst AS (
                SELECT ts FROM errors WHERE abs_err > 0
                ORDER BY abs_err / greatest(abs(ref), 1) DESC, ts LIMIT 1
            )
            SELECT %1$L::text, count(*), count(ref),
                   to_char(coalesce(max(rel_err), 0), '9.99EEEE'),
                   to_char(coalesce(max(abs_err), 0), '9.99EEEE'),
                   (SELECT ts FROM worst),
                   count(*) FILTER (WHERE (ours IS NULL) <> (ref IS NULL)),
                   count(*) FILTER (WHERE NOT abs_err <= 1e-9 * greatest(abs(ref), 1)),
                   count(*) FILTER (WHERE (ours IS NULL) <> (ref IS NULL)
                                       OR NOT abs_err <= 1e-9 * greatest(abs(ref), 1)) = 0
            FROM errors$q$, col, ours);
    END LOOP;
END
$$;

-- the golden comparison: all 36,025 rows, every column
SELECT * FROM ind_golden.compare('ind_golden.ours');

-- the comparison can fail: sma(close, 21) is not sma20, and a one-row shift
-- of ema20 is not ema20
CREATE TABLE ind_golden.wrong AS
SELECT ts, sma(close, 21) OVER w AS sma20,
       lag(ema20) OVER w AS ema20
FROM ind_golden.perp JOIN ind_golden.ours USING (ts)
WINDOW w AS (ORDER BY ts);
SELECT * FROM ind_golden.compare('ind_golden.wrong');

-- the frame clause does not matter: values always run from the partition's
-- first row
SELECT count(*) AS rows,
       count(*) FILTER (WHERE (a.rsi, a.macd, a.bb, a.st, a.adx, a.vw)
                              IS DISTINCT FROM (b.rsi, b.macd, b.bb, b.st, b.adx, b.vw)) AS differing
FROM (SELECT ts, rsi(close) OVER w AS rsi, macd(close) OVER w AS macd, bbands(close) OVER w AS bb,
             stoch(high, low, close) OVER w AS st, adx(high, low, close) OVER w AS adx,
             vwap(close, volume) OVER w AS vw
      FROM ind_golden.perp WINDOW w AS (ORDER BY ts)) a
JOIN (SELECT ts, rsi(close) OVER w AS rsi, macd(close) OVER w AS macd, bbands(close) OVER w AS bb,
             stoch(high, low, close) OVER w AS st, adx(high, low, close) OVER w AS adx,
             vwap(close, volume) OVER w AS vw
      FROM ind_golden.perp
      WINDOW w AS (ORDER BY ts ROWS BETWEEN 2 PRECEDING AND 3 FOLLOWING EXCLUDE CURRENT ROW)) b
USING (ts);

--
-- VWAP has no TA-Lib reference: plain SQL.  Cumulative per UTC day (session
-- VWAP) and rolling over 30 rows, on the typical price.
--
CREATE TABLE ind_golden.vwap AS
SELECT ts,
       vwap((high + low + close) / 3, volume) OVER day AS session_ours,
       sum((high + low + close) / 3 * volume) OVER day / nullif(sum(volume) OVER day, 0) AS session_sql,
       vwap((high + low + close) / 3, volume, 30) OVER w AS rolling_ours,
       CASE WHEN count(*) OVER w30 = 30
            THEN sum((high + low + close) / 3 * volume) OVER w30 / nullif(sum(volume) OVER w30, 0)
       END AS rolling_sql
FROM ind_golden.perp
WINDOW day AS (PARTITION BY date_bin('1 day', ts, TIMESTAMPTZ 'epoch') ORDER BY ts),
       w AS (ORDER BY ts),
       w30 AS (ORDER BY ts ROWS BETWEEN 29 PRECEDING AND CURRENT ROW);
SELECT count(*) AS rows,
       count(session_ours) AS session_values,
       count(*) FILTER (WHERE (session_ours IS NULL) <> (session_sql IS NULL)) AS session_null_mismatches,
       count(*) FILTER (WHERE NOT abs(session_ours - session_sql) <= 1e-9 * abs(session_sql)) AS session_bad,
       count(rolling_ours) AS rolling_values,
       count(*) FILTER (WHERE (rolling_ours IS NULL) <> (rolling_sql IS NULL)) AS rolling_null_mismatches,
       count(*) FILTER (WHERE NOT abs(rolling_ours - rolling_sql) <= 1e-9 * abs(rolling_sql)) AS rolling_bad
FROM ind_golden.vwap;
-- the session restarts each UTC day: the first row of a day is its own price
SELECT ts, round(session_ours::numeric, 6) AS session_vwap, round(((high + low + close) / 3)::numeric, 6) AS typical
FROM ind_golden.vwap JOIN ind_golden.perp USING (ts)
WHERE ts IN ('2022-01-01 00:00+00', '2022-01-15 00:00+00');
-- zero volume rows: the rolling VWAP is NULL while the window has no volume
SELECT i, vwap(p, v) OVER w AS cumulative, vwap(p, v, 2) OVER w AS rolling2
FROM (VALUES (1, 10.0, 0.0), (2, 11.0, 0.0), (3, 12.0, 2.0), (4, 14.0, 2.0),
             (5, 15.0, 0.0), (6, 16.0, 0.0), (7, 17.0, 1.0)) v(i, p, v)
WINDOW w AS (ORDER BY i) ORDER BY i;

--
-- Two symbols in one query, partitioned by symbol, equal each alone.  The
-- second symbol is a later, shorter, rescaled slice of the same path.
--
CREATE TABLE ind_golden.two AS
SELECT 'AAA' AS symbol, ts, high, low, close, volume FROM ind_golden.perp
UNION ALL
SELECT 'BBB', ts, high / 10, low / 10, close / 10, volume * 3 FROM ind_golden.perp
WHERE ts >= '2022-01-20';
CREATE FUNCTION ind_golden.all_indicators(filter text)
RETURNS TABLE (symbol text, ts timestamptz, vals float8[])
LANGUAGE plpgsql AS $$
BEGIN
    RETURN QUERY EXECUTE format($q$
        SELECT symbol, ts, ARRAY[
            sma(close, 20) OVER w, ema(close, 20) OVER w, rsi(close) OVER w,
            (macd(close) OVER w).macd, (macd(close) OVER w).signal, (macd(close) OVER w).hist,
            (bbands(close) OVER w).upper, (bbands(close) OVER w).middle, (bbands(close) OVER w).lower,
            atr(high, low, close) OVER w, obv(close, volume) OVER w,
            (stoch(high, low, close) OVER w).k, (stoch(high, low, close) OVER w).d,
            roc(close) OVER w, mom(close) OVER w, willr(high, low, close) OVER w,
            cci(high, low, close) OVER w, mfi(high, low, close, volume) OVER w,
            adx(high, low, close) OVER w, vwap(close, volume) OVER w, vwap(close, volume, 30) OVER w]
        FROM ind_golden.two WHERE %s
        WINDOW w AS (PARTITION BY symbol ORDER BY ts)$q$, filter);
END
$$;
SELECT count(*) AS rows,
       count(*) FILTER (WHERE t.symbol = 'BBB') AS bbb_rows,
       count(*) FILTER (WHERE t.vals IS DISTINCT FROM a.vals) AS differing,
       count(*) FILTER (WHERE a.vals IS NULL) AS missing
FROM ind_golden.all_indicators('true') t
LEFT JOIN (SELECT * FROM ind_golden.all_indicators($$symbol = 'AAA'$$)
           UNION ALL
           SELECT * FROM ind_golden.all_indicators($$symbol = 'BBB'$$)) a USING (symbol, ts);
-- and BBB is not just AAA: its first values sit at its own lookbacks
SELECT symbol, min(ts) AS first_row,
       min(ts) FILTER (WHERE vals[3] IS NOT NULL) AS first_rsi,
       min(ts) FILTER (WHERE vals[19] IS NOT NULL) AS first_adx
FROM ind_golden.all_indicators('true') GROUP BY symbol ORDER BY symbol;

SET client_min_messages = warning;
DROP SCHEMA ind_golden CASCADE;
RESET client_min_messages;
