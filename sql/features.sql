--
-- features(symbol, width, since): the model's feature rows over the real BTC
-- perpetual candles of ../shared/data/candles/crypto/btc_perp_1m_*.csv.
-- Columns and lookbacks, values against TA-Lib's golden output, no
-- look-ahead (appending later candles and news never changes earlier
-- rows), `since` only filters, coarser widths, news sentiment.
--
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS triggerstock;
RESET client_min_messages;
SET TimeZone = 'UTC';

\getenv abs_srcdir PG_ABS_SRCDIR
\set candle_file :abs_srcdir '/../shared/data/candles/crypto/btc_perp_1m_2021-12-31_2022-02-01.csv'
\set golden_file :abs_srcdir '/../shared/golden/talib_btc_perp_1m.csv'

CREATE SCHEMA ind_feat;
CREATE TABLE ind_feat.perp (ts timestamptz PRIMARY KEY, open float8, high float8,
                            low float8, close float8, volume float8);
COPY ind_feat.perp FROM :'candle_file' WITH (FORMAT csv, HEADER);
CREATE TABLE ind_feat.golden (
    ts timestamptz PRIMARY KEY, close float8, sma20 float8, ema20 float8, rsi14 float8,
    macd float8, macd_signal float8, macd_hist float8,
    bb_upper float8, bb_middle float8, bb_lower float8, atr14 float8, obv float8,
    stoch_k float8, stoch_d float8, roc10 float8, mom10 float8, willr14 float8,
    cci14 float8, mfi14 float8, adx14 float8);
COPY ind_feat.golden FROM :'golden_file' WITH (FORMAT csv, HEADER);

-- Stores the candles of perp with ts < before as 1-minute candles of symbol
-- FEAT (the CSV has no trade-level vwap: NULL, so the typical price is used).
CREATE FUNCTION ind_feat.load(before timestamptz) RETURNS bigint
LANGUAGE sql AS $$
    WITH ins AS (
        INSERT INTO triggerstock.candles (symbol, width, bucket, open, high, low, close,
                                          volume, vwap, trades, open_time, close_time)
        SELECT 'FEAT', interval '1 minute', ts, open, high, low, close, volume, NULL, 1,
               ts, ts + interval '59 seconds'
        FROM ind_feat.perp WHERE ts < before
        ON CONFLICT DO NOTHING
        RETURNING 1)
    SELECT count(*) FROM ins
$$;

-- no look-ahead, part 1: features over the first 20,000 candles only, with
-- the news known so far
SELECT ind_feat.load('2022-01-14 20:21+00') AS candles_loaded;
INSERT INTO triggerstock.news (guid, feed_id, title, published_at, symbols, sentiment, scorer) VALUES
    ('n1', NULL, 'bitcoin rallies', '2022-01-10 11:10+00', '{FEAT}', 0.8, 'test'),
    ('n2', NULL, 'bitcoin slips', '2022-01-10 11:40+00', '{FEAT,ETH}', -0.2, 'test'),
    ('n3', NULL, 'unscored', '2022-01-10 11:50+00', '{FEAT}', NULL, 'test'),
    ('n4', NULL, 'about ether only', '2022-01-10 11:45+00', '{ETH}', -1, 'test');
CREATE TABLE ind_feat.early AS SELECT * FROM features('FEAT');

-- the rest of the candles, and news published after the first part's last close
SELECT ind_feat.load('infinity') AS candles_loaded;
INSERT INTO triggerstock.news (guid, feed_id, title, published_at, symbols, sentiment, scorer) VALUES
    ('n5', NULL, 'later news', '2022-01-14 20:21:30+00', '{FEAT}', 1, 'test'),
    ('n6', NULL, 'much later', '2022-01-20 00:00+00', '{FEAT}', -0.5, 'test');
CREATE TABLE ind_feat.full AS SELECT * FROM features('FEAT');

-- the columns
SELECT a.attnum, a.attname, format_type(a.atttypid, a.atttypmod) AS type
FROM pg_attribute a WHERE a.attrelid = 'ind_feat.full'::regclass AND a.attnum > 0 ORDER BY a.attnum;

-- one row per candle, oldest first; non-NULL values per feature (lookbacks)
SELECT count(*) AS rows, count(DISTINCT bucket) AS buckets,
       bool_and(bucket > prev) AS ascending
FROM (SELECT bucket, lag(bucket, 1, '-infinity') OVER (ORDER BY bucket) AS prev FROM ind_feat.full) s;
SELECT f.name, count(*) - count(f.value) AS nulls,
       round(min(f.value)::numeric, 6) AS min, round(max(f.value)::numeric, 6) AS max
FROM ind_feat.full t
CROSS JOIN LATERAL (VALUES
    (1, 'ret_1', t.ret_1), (2, 'ret_5', t.ret_5), (3, 'ret_15', t.ret_15),
    (4, 'rsi_14', t.rsi_14), (5, 'macd_hist', t.macd_hist), (6, 'bb_pct_b', t.bb_pct_b),
    (7, 'bb_width', t.bb_width), (8, 'atr_pct', t.atr_pct), (9, 'stoch_k', t.stoch_k),
    (10, 'stoch_d', t.stoch_d), (11, 'willr_14', t.willr_14), (12, 'cci_14', t.cci_14),
    (13, 'mfi_14', t.mfi_14), (14, 'adx_14', t.adx_14), (15, 'volume_z', t.volume_z),
    (16, 'vwap_dist', t.vwap_dist), (17, 'rv_30', t.rv_30), (18, 'tod_sin', t.tod_sin),
    (19, 'tod_cos', t.tod_cos), (20, 'sentiment_1h', t.sentiment_1h),
    (21, 'news_1h', t.news_1h::float8)) f(ord, name, value)
GROUP BY f.ord, f.name ORDER BY f.ord;

-- a few rows, by eye
SELECT bucket, close, round(ret_1::numeric, 8) AS ret_1, round(rsi_14::numeric, 4) AS rsi_14,
       round(macd_hist::numeric, 8) AS macd_hist, round(bb_pct_b::numeric, 4) AS bb_pct_b,
       round(volume_z::numeric, 4) AS volume_z, round(vwap_dist::numeric, 6) AS vwap_dist,
       round(rv_30::numeric, 6) AS rv_30, round(tod_sin::numeric, 4) AS tod_sin,
       round(tod_cos::numeric, 4) AS tod_cos, sentiment_1h, news_1h
FROM ind_feat.full
WHERE bucket IN ('2021-12-31 23:01+00', '2021-12-31 23:35+00', '2022-01-01 00:00+00',
                 '2022-01-10 11:39+00', '2022-01-10 11:40+00', '2022-01-10 12:09+00',
                 '2022-01-10 12:10+00', '2022-01-25 23:25+00')
ORDER BY bucket;

-- the indicator features are TA-Lib's values (golden file), within 1e-9
SELECT count(*) AS rows,
       count(*) FILTER (WHERE NOT (
           abs(f.rsi_14 - g.rsi14) <= 1e-9 * greatest(abs(g.rsi14), 1)
           AND abs(f.macd_hist * f.close - g.macd_hist) <= 1e-9 * greatest(abs(g.macd_hist), 1)
           AND abs(f.atr_pct * f.close - g.atr14) <= 1e-9 * greatest(abs(g.atr14), 1)
           AND abs(f.stoch_k - g.stoch_k) <= 1e-9 * greatest(abs(g.stoch_k), 1)
           AND abs(f.stoch_d - g.stoch_d) <= 1e-9 * greatest(abs(g.stoch_d), 1)
           AND abs(f.willr_14 - g.willr14) <= 1e-9 * greatest(abs(g.willr14), 1)
           AND abs(f.cci_14 - g.cci14) <= 1e-9 * greatest(abs(g.cci14), 1)
           AND abs(f.mfi_14 - g.mfi14) <= 1e-9 * greatest(abs(g.mfi14), 1)
           AND abs(f.adx_14 - g.adx14) <= 1e-9 * greatest(abs(g.adx14), 1)
           AND abs(f.bb_pct_b - (g.close - g.bb_lower) / (g.bb_upper - g.bb_lower)) <= 1e-9
           AND abs(f.bb_width - (g.bb_upper - g.bb_lower) / g.bb_middle) <= 1e-9)) AS differing,
       count(*) FILTER (WHERE (f.rsi_14 IS NULL) <> (g.rsi14 IS NULL)
                           OR (f.macd_hist IS NULL) <> (g.macd_hist IS NULL)
                           OR (f.adx_14 IS NULL) <> (g.adx14 IS NULL)
                           OR (f.stoch_d IS NULL) <> (g.stoch_d IS NULL)
                           OR (f.bb_width IS NULL) <> (g.bb_middle IS NULL)) AS null_mismatches
FROM ind_feat.full f FULL JOIN ind_feat.golden g ON g.ts = f.bucket;

-- the other features against plain SQL
SELECT count(*) AS rows,
       count(*) FILTER (WHERE f.ret_1 IS DISTINCT FROM s.ret_1 OR f.ret_5 IS DISTINCT FROM s.ret_5
                           OR f.ret_15 IS DISTINCT FROM s.ret_15) AS returns_differing,
       count(*) FILTER (WHERE (f.rv_30 IS NULL) <> (s.rv_30 IS NULL)
                           OR NOT abs(f.rv_30 - s.rv_30) <= 1e-9 * s.rv_30) AS rv_differing,
       count(*) FILTER (WHERE (f.volume_z IS NULL) <> (s.volume_z IS NULL)
                           OR NOT abs(f.volume_z - s.volume_z) <= 1e-6 * greatest(abs(s.volume_z), 1)) AS volume_z_differing,
       count(*) FILTER (WHERE (f.vwap_dist IS NULL) <> (s.vwap_dist IS NULL)
                           OR NOT abs(f.vwap_dist - s.vwap_dist) <= 1e-12) AS vwap_dist_differing,
       count(*) FILTER (WHERE abs(f.tod_sin - s.tod_sin) > 1e-12 OR abs(f.tod_cos - s.tod_cos) > 1e-12) AS tod_differing
FROM ind_feat.full f
JOIN (SELECT ts, ret_1, ret_5, ret_15,
             CASE WHEN count(ret_1) OVER w30 = 30 THEN sqrt(sum(ret_1 * ret_1) OVER w30) END AS rv_30,
             CASE WHEN count(*) OVER w60 = 60 AND stddev_pop(volume) OVER w60 > 0
                  THEN (volume - avg(volume) OVER w60) / stddev_pop(volume) OVER w60 END AS volume_z,
             close / (sum((high + low + close) / 3 * volume) OVER day / sum(volume) OVER day) - 1 AS vwap_dist,
             sin(2 * pi() * extract(epoch FROM (ts + interval '1 minute')::time) / 86400) AS tod_sin,
             cos(2 * pi() * extract(epoch FROM (ts + interval '1 minute')::time) / 86400) AS tod_cos
      FROM (SELECT *, ln(close / lag(close, 1) OVER o) AS ret_1, ln(close / lag(close, 5) OVER o) AS ret_5,
                   ln(close / lag(close, 15) OVER o) AS ret_15
            FROM ind_feat.perp WINDOW o AS (ORDER BY ts)) p
      WINDOW w30 AS (ORDER BY ts ROWS BETWEEN 29 PRECEDING AND CURRENT ROW),
             w60 AS (ORDER BY ts ROWS BETWEEN 59 PRECEDING AND CURRENT ROW),
             day AS (PARTITION BY date_trunc('day', ts) ORDER BY ts)) s
  ON s.ts = f.bucket;

-- news: the hour up to each bucket's close, the symbol must be mentioned,
-- unscored items count but do not move the mean
-- (n1 11:10 +0.8, n2 11:40 -0.2, n3 11:50 unscored, n4 11:45 ETH only)
SELECT bucket, bucket + interval '1 minute' AS closes_at, news_1h, sentiment_1h
FROM ind_feat.full
WHERE bucket IN ('2022-01-10 11:08+00', '2022-01-10 11:09+00', '2022-01-10 11:38+00',
                 '2022-01-10 11:39+00', '2022-01-10 11:48+00', '2022-01-10 11:49+00',
                 '2022-01-10 12:08+00', '2022-01-10 12:09+00', '2022-01-10 12:38+00',
                 '2022-01-10 12:39+00', '2022-01-10 12:48+00', '2022-01-10 12:49+00')
ORDER BY bucket;
SELECT count(*) FILTER (WHERE news_1h > 0) AS rows_with_news, sum(news_1h) AS news_counted
FROM ind_feat.full;

-- no look-ahead, part 2: appending later candles and news changed no earlier row
SELECT (SELECT count(*) FROM ind_feat.early) AS early_rows,
       (SELECT count(*) FROM ind_feat.full) AS full_rows,
       count(*) AS compared,
       count(*) FILTER (WHERE e IS DISTINCT FROM f) AS changed
FROM ind_feat.early e JOIN ind_feat.full f USING (bucket);
-- ... while the later news item (published 20:21:30) appears from the
-- first bucket whose close follows it (20:21, closing 20:22)
SELECT bucket, news_1h, sentiment_1h FROM ind_feat.full
WHERE bucket BETWEEN '2022-01-14 20:19+00' AND '2022-01-14 20:22+00' ORDER BY bucket;

-- since: the indicators run from triggerstock.indicator_warmup (1000)
-- buckets before it and the start of its day; the exponential ones (rsi,
-- macd, atr, adx) have converged to the last bit by then, window sums are
-- exact (a function of the window alone): every value equals the
-- full-history one, bit for bit
SELECT count(*) AS rows,
       count(*) FILTER (WHERE s IS DISTINCT FROM f) AS differing,
       min(bucket) AS first_bucket
FROM features('FEAT', '1 minute', '2022-01-20 12:34:56+00') s
LEFT JOIN ind_feat.full f USING (bucket);
-- ... and with indicator_warmup = 0 they run from the first candle: equal
SET triggerstock.indicator_warmup = 0;
SELECT count(*) AS rows, count(*) FILTER (WHERE s IS DISTINCT FROM f) AS differing
FROM features('FEAT', '1 minute', '2022-01-20 12:34:56+00') s
LEFT JOIN ind_feat.full f USING (bucket);
RESET triggerstock.indicator_warmup;
-- the warm-up reads 1000 buckets before since, or from the day's start
SELECT candle_warmup_start('FEAT', '1 minute', '2022-01-20 12:34:56+00', 1000) AS start_1m,
       candle_warmup_start('FEAT', '1 minute', '2022-01-20 23:59:00+00', 10) AS start_day,
       candle_warmup_start('FEAT', '5 minutes', '2022-01-20 12:34:56+00', 1000) AS start_5m,
       candle_warmup_start('FEAT', '1 minute', '2021-12-31 23:30+00', 1000) AS start_short,
       candle_warmup_start('FEAT', '1 minute', NULL, 1000) AS start_null,
       candle_warmup_start('FEAT', '5 minutes', '2022-01-20 12:34:56+00', 0) AS start_none;
-- candles(symbol, width, since, until, warmup): the rows asked for plus
-- the flagged warm-up, equal to candles(width)
SELECT count(*) AS rows, count(*) FILTER (WHERE c.warmup) AS warmup_rows,
       min(c.bucket) AS first, max(c.bucket) AS last,
       count(*) FILTER (WHERE (c.open, c.high, c.low, c.close, c.volume, c.vwap, c.trades,
                               c.open_time, c.close_time) IS DISTINCT FROM
                              (a.open, a.high, a.low, a.close, a.volume, a.vwap, a.trades,
                               a.open_time, a.close_time)) AS differing
FROM candles('FEAT', '5 minutes', '2022-01-20 12:00+00', '2022-01-20 18:00+00', 100) c
LEFT JOIN candles('5 minutes') a ON a.symbol = 'FEAT' AND a.bucket = c.bucket;
SELECT count(*) AS rows FROM features('FEAT', since => '2022-01-25 23:00+00');

-- coarser widths come from candles(width): one row per 5-minute candle, the
-- indicators equal the window functions over those candles
SELECT count(*) AS rows_5m,
       (SELECT count(*) FROM candles('5 minutes') WHERE symbol = 'FEAT') AS candles_5m,
       count(*) FILTER (WHERE f.rsi_14 IS DISTINCT FROM c.rsi_14 OR f.close IS DISTINCT FROM c.close
                           OR f.adx_14 IS DISTINCT FROM c.adx_14) AS differing,
       count(f.rsi_14) AS rsi_values
FROM features('FEAT', '5 minutes') f
FULL JOIN (SELECT bucket, close, rsi(close) OVER w AS rsi_14, adx(high, low, close) OVER w AS adx_14
           FROM candles('5 minutes') WHERE symbol = 'FEAT' WINDOW w AS (ORDER BY bucket)) c USING (bucket);
SELECT bucket, close, round(rsi_14::numeric, 4) AS rsi_14, round(tod_sin::numeric, 4) AS tod_sin,
       round(tod_cos::numeric, 4) AS tod_cos, news_1h
FROM features('FEAT', '1 day') ORDER BY bucket LIMIT 3;

-- bad width, unknown symbol, another symbol's candles do not leak in
SELECT * FROM features('FEAT', '90 seconds');
SELECT count(*) AS rows FROM features('NOSUCH');
INSERT INTO triggerstock.candles (symbol, width, bucket, open, high, low, close, volume, vwap,
                                  trades, open_time, close_time)
SELECT 'OTHER', width, bucket, open * 2, high * 2, low * 2, close * 2, volume, vwap, trades,
       open_time, close_time
FROM triggerstock.candles WHERE symbol = 'FEAT' AND bucket < '2022-01-05';
SELECT count(*) FILTER (WHERE f IS DISTINCT FROM o) AS differing
FROM features('FEAT') f JOIN ind_feat.full o USING (bucket);

-- the function is inlined: one plan, one sort for both windows
EXPLAIN (COSTS OFF) SELECT * FROM features('FEAT');

SET client_min_messages = warning;
DELETE FROM triggerstock.candles WHERE symbol IN ('FEAT', 'OTHER');
DELETE FROM triggerstock.news WHERE guid IN ('n1', 'n2', 'n3', 'n4', 'n5', 'n6');
DROP SCHEMA ind_feat CASCADE;
RESET client_min_messages;
