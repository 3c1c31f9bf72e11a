-- Indicator benchmark (issue: technical indicators as C window functions).
--
-- 1,000,000 one-minute candles: the real BTC perpetual path of
-- ../shared/data/candles/crypto/btc_perp_1m_2021-12-31_2022-02-01.csv
-- (36,025 candles) repeated with times shifted and prices rescaled so the
-- path stays continuous, stored once as one partition (symbol P1) and once
-- as 100 partitions of 10,000 candles (symbols S00..S99).
--
-- Every query is timed in this session (warm-up, then best of 3, wall
-- clock) with serial plans (max_parallel_workers_per_gather = 0):
--   * rsi/ema/macd/bbands vs lag(close) over the same window, the cost floor
--     of a window function: target ours/baseline <= 1.5;
--   * rsi vs the best plain-SQL RSI we could write (Wilder smoothing needs
--     a recursive CTE, stepping one row per partition per iteration through
--     an index): target speedup >= 50;
--   * features() over 1,000,000 candles of one symbol: rows per second.
-- Queries consume every output (count/sum over it): the planner drops
-- subquery outputs nobody reads.
\set ON_ERROR_STOP on
\getenv shared TRIGGERSTOCK_SHARED
\set candle_file :shared '/data/candles/crypto/btc_perp_1m_2021-12-31_2022-02-01.csv'
CREATE EXTENSION IF NOT EXISTS triggerstock;
SET max_parallel_workers_per_gather = 0;
SET work_mem = '256MB';
SET TimeZone = 'UTC';

\i test/bench/bench_common.sql

-- the data
CREATE TEMP TABLE perp (ts timestamp, open float8, high float8, low float8, close float8, volume float8);
COPY perp FROM :'candle_file' WITH (FORMAT csv, HEADER);
CREATE TEMP TABLE path AS
SELECT row_number() OVER (ORDER BY ts) - 1 AS k, open, high, low, close, volume FROM perp;
SELECT count(*) AS path_rows, (SELECT close FROM path ORDER BY k DESC LIMIT 1) / (SELECT open FROM path WHERE k = 0) AS cycle_factor
FROM path \gset
CREATE UNLOGGED TABLE bench_one AS
SELECT 'P1'::text AS symbol, TIMESTAMPTZ '2022-01-01 00:00+00' + n * interval '1 minute' AS ts,
       p.open * f AS open, p.high * f AS high, p.low * f AS low, p.close * f AS close, p.volume
FROM generate_series(0, 999999) n
JOIN path p ON p.k = n % :path_rows
CROSS JOIN LATERAL (SELECT power(:cycle_factor, n / :path_rows) AS f) s
ORDER BY n;
CREATE UNLOGGED TABLE bench_hundred AS
SELECT 'S' || lpad((n / 10000)::text, 2, '0') AS symbol,
       TIMESTAMPTZ '2022-01-01 00:00+00' + (n % 10000) * interval '1 minute' AS ts,
       open, high, low, close, volume
FROM (SELECT row_number() OVER (ORDER BY ts) - 1 AS n, * FROM bench_one) b
ORDER BY 1, 2;
CREATE INDEX ON bench_one (symbol, ts);
CREATE INDEX ON bench_hundred (symbol, ts);
VACUUM ANALYZE bench_one;
VACUUM ANALYZE bench_hundred;
SELECT 'bench_one' AS "table", count(*) AS rows, count(DISTINCT symbol) AS partitions FROM bench_one
UNION ALL
SELECT 'bench_hundred', count(*), count(DISTINCT symbol) FROM bench_hundred;

-- the plans being compared (same scan, same WindowAgg, only the function differs)
EXPLAIN (COSTS OFF)
SELECT count(r) FROM (SELECT rsi(close, 14) OVER w AS r FROM bench_one WINDOW w AS (PARTITION BY symbol ORDER BY ts)) s;
EXPLAIN (COSTS OFF)
SELECT count(r) FROM (SELECT lag(close) OVER w AS r FROM bench_one WINDOW w AS (PARTITION BY symbol ORDER BY ts)) s;

-- indicator vs lag(close) over the same window
SELECT pg_temp.bench_case('indicators', format('%s vs lag, %s', f, t.label), 1000000,
    format('SELECT count(r) FROM (SELECT %s OVER w AS r FROM %I WINDOW w AS (PARTITION BY symbol ORDER BY ts)) s', f, t.tab),
    format('SELECT count(r) FROM (SELECT lag(close) OVER w AS r FROM %I WINDOW w AS (PARTITION BY symbol ORDER BY ts)) s', t.tab),
    'ratio<=1.5')
FROM (VALUES (1, 'bench_one', '1 partition'), (2, 'bench_hundred', '100 partitions')) t(o, tab, label),
     (VALUES (1, 'rsi(close, 14)'), (2, 'ema(close, 20)'), (3, 'macd(close)'), (4, 'bbands(close)')) i(p, f)
ORDER BY t.o, i.p;

-- the best plain-SQL RSI: one recursive step per row, all partitions at once
CREATE FUNCTION pg_temp.sql_rsi(tab text, n int)
RETURNS TABLE (symbol text, ts timestamptz, rsi float8)
LANGUAGE plpgsql AS $$
BEGIN
    DROP TABLE IF EXISTS pg_temp.rsi_steps;
    EXECUTE format($q$
        CREATE TEMP TABLE rsi_steps AS
        SELECT symbol, ts, row_number() OVER w - 1 AS k,
               greatest(close - lag(close) OVER w, 0) AS gain,
               greatest(lag(close) OVER w - close, 0) AS loss
        FROM %I WINDOW w AS (PARTITION BY symbol ORDER BY ts)$q$, tab);
    CREATE INDEX ON pg_temp.rsi_steps (symbol, k);
    ANALYZE pg_temp.rsi_steps;
    RETURN QUERY
    WITH RECURSIVE wilder AS (
        -- seed: plain means of the first n changes (rows 1..n), at row n
        SELECT s.symbol, n::bigint AS k, avg(s.gain) AS g, avg(s.loss) AS l
        FROM pg_temp.rsi_steps s WHERE s.k BETWEEN 1 AND n GROUP BY s.symbol
        HAVING count(*) = n
        UNION ALL
        SELECT s.symbol, s.k, (w.g * (n - 1) + s.gain) / n, (w.l * (n - 1) + s.loss) / n
        FROM wilder w JOIN pg_temp.rsi_steps s ON s.symbol = w.symbol AND s.k = w.k + 1
    )
    SELECT s.symbol, s.ts,
           CASE WHEN w.k IS NULL THEN NULL
                WHEN abs(w.g + w.l) < 1e-14 THEN 0
                ELSE 100 * (w.g / (w.g + w.l)) END
    FROM pg_temp.rsi_steps s LEFT JOIN wilder w ON w.symbol = s.symbol AND w.k = s.k;
END
$$;
-- it is right: equal to rsi() to 1e-9 on every row, NULLs in the same places
SELECT '1 partition' AS data, count(*) AS rows, count(q.rsi) AS sql_values,
       count(*) FILTER (WHERE (q.rsi IS NULL) <> (o.r IS NULL)
                           OR NOT abs(q.rsi - o.r) <= 1e-9 * greatest(abs(o.r), 1)) AS mismatches
FROM pg_temp.sql_rsi('bench_one', 14) q
FULL JOIN (SELECT symbol, ts, rsi(close, 14) OVER w AS r FROM bench_one
           WINDOW w AS (PARTITION BY symbol ORDER BY ts)) o USING (symbol, ts)
UNION ALL
SELECT '100 partitions', count(*), count(q.rsi),
       count(*) FILTER (WHERE (q.rsi IS NULL) <> (o.r IS NULL)
                           OR NOT abs(q.rsi - o.r) <= 1e-9 * greatest(abs(o.r), 1))
FROM pg_temp.sql_rsi('bench_hundred', 14) q
FULL JOIN (SELECT symbol, ts, rsi(close, 14) OVER w AS r FROM bench_hundred
           WINDOW w AS (PARTITION BY symbol ORDER BY ts)) o USING (symbol, ts);

SELECT pg_temp.bench_case('indicators', format('rsi vs plain-SQL RSI (recursive CTE), %s', t.label), 1000000,
    format('SELECT count(r) FROM (SELECT rsi(close, 14) OVER w AS r FROM %I WINDOW w AS (PARTITION BY symbol ORDER BY ts)) s', t.tab),
    format('SELECT count(rsi) FROM pg_temp.sql_rsi(%L, 14)', t.tab),
    'speedup>=50', 1)
FROM (VALUES (1, 'bench_one', '1 partition'), (2, 'bench_hundred', '100 partitions')) t(o, tab, label)
ORDER BY t.o;

-- features() over 1,000,000 one-minute candles of one symbol, with one news
-- item every 10 minutes (100,000 items, every one mentioning the symbol)
INSERT INTO triggerstock.candles (symbol, width, bucket, open, high, low, close, volume, vwap,
                                  trades, open_time, close_time)
SELECT 'BENCH', interval '1 minute', ts, open, high, low, close, volume, NULL, 1,
       ts, ts + interval '59 seconds'
FROM bench_one;
INSERT INTO triggerstock.news (guid, feed_id, title, published_at, symbols, sentiment, scorer)
SELECT 'bench-' || i, NULL, 'item ' || i,
       TIMESTAMPTZ '2022-01-01 00:00+00' + i * interval '10 minutes' + interval '17 seconds',
       '{BENCH}', sin(i), 'bench'
FROM generate_series(0, 99999) i;
VACUUM ANALYZE triggerstock.candles;
VACUUM ANALYZE triggerstock.news;
CREATE TEMP TABLE ind_bench_features (name text, rows bigint, ms float8);
INSERT INTO ind_bench_features
SELECT 'features(''BENCH'') (all rows)', 1000000, pg_temp.bench_best_ms($q$
    SELECT count(*), sum(ret_1), sum(ret_5), sum(ret_15), sum(rsi_14), sum(macd_hist),
           sum(bb_pct_b), sum(bb_width), sum(atr_pct), sum(stoch_k), sum(stoch_d),
           sum(willr_14), sum(cci_14), sum(mfi_14), sum(adx_14), sum(volume_z), sum(vwap_dist),
           sum(rv_30), sum(tod_sin), sum(tod_cos), sum(sentiment_1h), sum(news_1h)
    FROM features('BENCH')$q$);
INSERT INTO ind_bench_features
SELECT 'features(''BENCH'', since => last bucket) (1 row)', 1, pg_temp.bench_best_ms($q$
    SELECT count(*), sum(rsi_14), sum(news_1h)
    FROM features('BENCH', since => TIMESTAMPTZ '2022-01-01 00:00+00' + 999999 * interval '1 minute')$q$);
INSERT INTO ind_bench_features
SELECT 'features(''BENCH'', ''1 hour'') (16,667 rows)', 16667, pg_temp.bench_best_ms($q$
    SELECT count(*), sum(rsi_14), sum(adx_14), sum(news_1h) FROM features('BENCH', '1 hour')$q$);

\echo
\echo == indicators vs baselines (best of 3 after a warm-up; the SQL RSI: best of 1 after a warm-up)
SELECT * FROM pg_temp.bench_report;

\echo
\echo == features() (best of 3 after a warm-up)
SELECT name AS "case", rows, round(ms::numeric, 1) AS ms,
       round((rows / (ms / 1000))::numeric) AS rows_per_s
FROM ind_bench_features;
