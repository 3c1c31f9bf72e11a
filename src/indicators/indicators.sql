------------------------------------------------------------------------------
-- src/indicators/indicators.sql
-- Indicators (C window functions over the pure-C state machines) and
-- features(), the model's feature rows (reads triggerstock.news).
------------------------------------------------------------------------------

-- Every indicator is a C window function over a pure-C streaming state
-- (src/indicators/indicators*.c, src/indicators/window_*.c), used as
--     rsi(close, 14) OVER (PARTITION BY symbol ORDER BY bucket)
-- Common rules (README.md, "Indicators and features"):
--   * computed from the partition's first row in ORDER BY order, whatever
--     the frame clause; NULL inside the lookback; values equal TA-Lib's;
--   * a row with a NULL value input returns NULL and is skipped (the state
--     behaves as if the row did not exist); NaN/Infinity inputs are an error;
--   * parameters are validated on a partition's first row (invalid or NULL
--     -> ERROR invalid_parameter_value) and must not change within a
--     partition (ERROR).
------------------------------------------------------------------------------

CREATE TYPE @extschema@.macd_result AS (macd float8, signal float8, hist float8);
COMMENT ON TYPE @extschema@.macd_result IS
'result of macd(): macd = EMA(fast) - EMA(slow), signal = EMA(signal) of macd, hist = macd - signal';

CREATE TYPE @extschema@.bbands_result AS (upper float8, middle float8, lower float8);
COMMENT ON TYPE @extschema@.bbands_result IS
'result of bbands(): middle = SMA(n), upper/lower = middle +/- k * population standard deviation';

CREATE TYPE @extschema@.stoch_result AS (k float8, d float8);
COMMENT ON TYPE @extschema@.stoch_result IS
'result of stoch(): k = slow %K (SMA(k_slow) of fast %K), d = slow %D (SMA(d) of slow %K)';

CREATE FUNCTION @extschema@.sma(x float8, n int4)
RETURNS float8 AS 'MODULE_PATHNAME', 'window_sma'
LANGUAGE C WINDOW IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.sma(float8, int4) IS
'window function: simple moving average of the last n values (TA_SMA); NULL for the first n-1 rows';

CREATE FUNCTION @extschema@.ema(x float8, n int4)
RETURNS float8 AS 'MODULE_PATHNAME', 'window_ema'
LANGUAGE C WINDOW IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.ema(float8, int4) IS
'window function: exponential moving average, k = 2/(n+1), seeded with the SMA of the first n values (TA_EMA); NULL for the first n-1 rows';

CREATE FUNCTION @extschema@.rsi(x float8, n int4 DEFAULT 14)
RETURNS float8 AS 'MODULE_PATHNAME', 'window_rsi'
LANGUAGE C WINDOW IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.rsi(float8, int4) IS
'window function: relative strength index with Wilder smoothing, 0..100 (TA_RSI); NULL for the first n rows';

CREATE FUNCTION @extschema@.roc(x float8, n int4 DEFAULT 10)
RETURNS float8 AS 'MODULE_PATHNAME', 'window_roc'
LANGUAGE C WINDOW IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.roc(float8, int4) IS
'window function: rate of change in percent, (x / x[n rows back] - 1) * 100, 0 when x[n back] is 0 (TA_ROC); NULL for the first n rows';

CREATE FUNCTION @extschema@.mom(x float8, n int4 DEFAULT 10)
RETURNS float8 AS 'MODULE_PATHNAME', 'window_mom'
LANGUAGE C WINDOW IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.mom(float8, int4) IS
'window function: momentum x - x[n rows back] (TA_MOM); NULL for the first n rows';

CREATE FUNCTION @extschema@.macd(x float8, fast int4 DEFAULT 12, slow int4 DEFAULT 26,
                                 signal int4 DEFAULT 9)
RETURNS @extschema@.macd_result AS 'MODULE_PATHNAME', 'window_macd'
LANGUAGE C WINDOW IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.macd(float8, int4, int4, int4) IS
'window function: MACD (TA_MACD) as (macd, signal, hist); fast must be less than slow; NULL for the first (slow-1)+(signal-1) rows';

CREATE FUNCTION @extschema@.bbands(x float8, n int4 DEFAULT 20, k float8 DEFAULT 2)
RETURNS @extschema@.bbands_result AS 'MODULE_PATHNAME', 'window_bbands'
LANGUAGE C WINDOW IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.bbands(float8, int4, float8) IS
'window function: Bollinger bands (TA_BBANDS, SMA, population stddev, k up and down) as (upper, middle, lower); NULL for the first n-1 rows';

CREATE FUNCTION @extschema@.atr(high float8, low float8, close float8, n int4 DEFAULT 14)
RETURNS float8 AS 'MODULE_PATHNAME', 'window_atr'
LANGUAGE C WINDOW IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.atr(float8, float8, float8, int4) IS
'window function: average true range with Wilder smoothing (TA_ATR); NULL for the first n rows';

CREATE FUNCTION @extschema@.willr(high float8, low float8, close float8, n int4 DEFAULT 14)
RETURNS float8 AS 'MODULE_PATHNAME', 'window_willr'
LANGUAGE C WINDOW IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.willr(float8, float8, float8, int4) IS
'window function: Williams %R over n bars, -100..0, 0 for a flat window (TA_WILLR); NULL for the first n-1 rows';

CREATE FUNCTION @extschema@.cci(high float8, low float8, close float8, n int4 DEFAULT 14)
RETURNS float8 AS 'MODULE_PATHNAME', 'window_cci'
LANGUAGE C WINDOW IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.cci(float8, float8, float8, int4) IS
'window function: commodity channel index on the typical price (h+l+c)/3 (TA_CCI), O(n) per row; NULL for the first n-1 rows';

CREATE FUNCTION @extschema@.adx(high float8, low float8, close float8, n int4 DEFAULT 14)
RETURNS float8 AS 'MODULE_PATHNAME', 'window_adx'
LANGUAGE C WINDOW IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.adx(float8, float8, float8, int4) IS
'window function: average directional index with Wilder smoothing, 0..100 (TA_ADX); NULL for the first 2n-1 rows';

CREATE FUNCTION @extschema@.stoch(high float8, low float8, close float8, k int4 DEFAULT 14,
                                  k_slow int4 DEFAULT 3, d int4 DEFAULT 3)
RETURNS @extschema@.stoch_result AS 'MODULE_PATHNAME', 'window_stoch'
LANGUAGE C WINDOW IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.stoch(float8, float8, float8, int4, int4, int4) IS
'window function: slow stochastic with SMA smoothing (TA_STOCH) as (k, d); NULL for the first (k-1)+(k_slow-1)+(d-1) rows';

CREATE FUNCTION @extschema@.obv(close float8, volume float8)
RETURNS float8 AS 'MODULE_PATHNAME', 'window_obv'
LANGUAGE C WINDOW IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.obv(float8, float8) IS
'window function: on-balance volume starting at the first row''s volume (TA_OBV); no lookback';

CREATE FUNCTION @extschema@.mfi(high float8, low float8, close float8, volume float8,
                                n int4 DEFAULT 14)
RETURNS float8 AS 'MODULE_PATHNAME', 'window_mfi'
LANGUAGE C WINDOW IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.mfi(float8, float8, float8, float8, int4) IS
'window function: money flow index on the typical price, 0..100, 0 when the window''s money flow is below 1 (TA_MFI); NULL for the first n rows';

CREATE FUNCTION @extschema@.vwap(price float8, volume float8)
RETURNS float8 AS 'MODULE_PATHNAME', 'window_vwap'
LANGUAGE C WINDOW IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.vwap(float8, float8) IS
'window function: cumulative volume-weighted average price sum(price*volume)/sum(volume) from the partition''s first row (partition by day for a session VWAP); NULL while the volume sum is 0';

CREATE FUNCTION @extschema@.vwap(price float8, volume float8, n int4)
RETURNS float8 AS 'MODULE_PATHNAME', 'window_vwap_rolling'
LANGUAGE C WINDOW IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.vwap(float8, float8, int4) IS
'window function: rolling volume-weighted average price over the last n rows; NULL for the first n-1 rows and while the window''s volume sum is 0';

CREATE FUNCTION @extschema@.indicator_warmup()
RETURNS integer
LANGUAGE sql STABLE PARALLEL SAFE
-- BEGIN ATOMIC: bound to pg_catalog when created, and still inlined
RETURN coalesce(nullif(pg_catalog.current_setting('triggerstock.indicator_warmup', true), '')::integer,
                1000);
COMMENT ON FUNCTION @extschema@.indicator_warmup() IS
'triggerstock.indicator_warmup (default 1000 when the library is not loaded): the buckets of warm-up features(symbol, width, since) reads before since; 0 reads from the first candle';

CREATE FUNCTION @extschema@.features(symbol text, width interval DEFAULT '1 minute',
                                     since timestamptz DEFAULT NULL)
RETURNS TABLE (bucket timestamptz, close float8,
               ret_1 float8, ret_5 float8, ret_15 float8,
               rsi_14 float8, macd_hist float8, bb_pct_b float8, bb_width float8,
               atr_pct float8, stoch_k float8, stoch_d float8, willr_14 float8,
               cci_14 float8, mfi_14 float8, adx_14 float8, volume_z float8,
               vwap_dist float8, rv_30 float8, tod_sin float8, tod_cos float8,
               sentiment_1h float8, news_1h bigint,
               book_spread float8, book_microprice_dist float8, book_imbalance_1 float8,
               book_imbalance_5 float8, book_imbalance_10 float8, book_ofi float8, book_updates bigint)
LANGUAGE sql STABLE PARALLEL UNSAFE
BEGIN ATOMIC
    -- Inlined into the caller's query; BEGIN ATOMIC binds every name when
    -- the extension is created (pg_catalog, the extension's schema), so no
    -- search_path of a caller can change what it calls.  PARALLEL UNSAFE, as
    -- candles(symbol, width, since, ...): the window functions run in one
    -- process anyway, and the planner, unable to estimate a warm-up's rows,
    -- would start parallel workers for a few thousand rows.  With `since`,
    -- the candles are read from candle_warmup_start():
    -- triggerstock.indicator_warmup buckets (default 1000) before since, and
    -- at least from the start of since's UTC day (the session VWAP), so the
    -- cost is the rows returned plus a bounded warm-up; indicator_warmup = 0
    -- reads from the first candle.  `since` filters the outermost level
    -- only, above every window.  All windows order by (day, bucket), so one
    -- sort serves them and the output order.  A bucket closes at bucket +
    -- width, the width taken as a fixed number of seconds (never a calendar
    -- day of the session's time zone).
    SELECT g.bucket, g.close, g.ret_1, g.ret_5, g.ret_15, g.rsi_14, g.macd_hist,
           g.bb_pct_b, g.bb_width, g.atr_pct, g.stoch_k, g.stoch_d, g.willr_14, g.cci_14,
           g.mfi_14, g.adx_14, g.volume_z, g.vwap_dist, g.rv_30, g.tod_sin, g.tod_cos,
           n.sentiment_1h, n.news_1h,
           bf.spread / nullif(bf.mid, 0) AS book_spread,
           bf.microprice / nullif(bf.mid, 0) - 1 AS book_microprice_dist,
           bf.imbalance_1, bf.imbalance_5, bf.imbalance_10, bf.ofi, bf.updates
    FROM (
    SELECT f.day, f.bucket, f.closes_at, f.close, f.ret_1, f.ret_5, f.ret_15, f.rsi_14, f.macd_hist,
           f.bb_pct_b, f.bb_width, f.atr_pct, f.stoch_k, f.stoch_d, f.willr_14, f.cci_14,
           f.mfi_14, f.adx_14, f.volume_z, f.vwap_dist,
           -- the running sum of squares may round to just below 0
           pg_catalog.sqrt(CASE WHEN 30 * @extschema@.sma(f.ret_1 * f.ret_1, 30) OVER w < 0 THEN 0
                     ELSE 30 * @extschema@.sma(f.ret_1 * f.ret_1, 30) OVER w END) AS rv_30,
           pg_catalog.sin(2 * pg_catalog.pi() * f.day_fraction) AS tod_sin,
           pg_catalog.cos(2 * pg_catalog.pi() * f.day_fraction) AS tod_cos
    FROM (
        SELECT k.day, k.bucket, k.closes_at, k.close,
               CASE WHEN k.close > 0 AND pg_catalog.lag(k.close, 1) OVER w > 0
                    THEN pg_catalog.ln(k.close / pg_catalog.lag(k.close, 1) OVER w) END AS ret_1,
               CASE WHEN k.close > 0 AND pg_catalog.lag(k.close, 5) OVER w > 0
                    THEN pg_catalog.ln(k.close / pg_catalog.lag(k.close, 5) OVER w) END AS ret_5,
               CASE WHEN k.close > 0 AND pg_catalog.lag(k.close, 15) OVER w > 0
                    THEN pg_catalog.ln(k.close / pg_catalog.lag(k.close, 15) OVER w) END AS ret_15,
               @extschema@.rsi(k.close, 14) OVER w AS rsi_14,
               (@extschema@.macd(k.close, 12, 26, 9) OVER w).hist / nullif(k.close, 0) AS macd_hist,
               (k.close - (@extschema@.bbands(k.close, 20, 2) OVER w).lower)
                 / nullif((@extschema@.bbands(k.close, 20, 2) OVER w).upper
                          - (@extschema@.bbands(k.close, 20, 2) OVER w).lower, 0) AS bb_pct_b,
               ((@extschema@.bbands(k.close, 20, 2) OVER w).upper
                - (@extschema@.bbands(k.close, 20, 2) OVER w).lower)
                 / nullif((@extschema@.bbands(k.close, 20, 2) OVER w).middle, 0) AS bb_width,
               @extschema@.atr(k.high, k.low, k.close, 14) OVER w / nullif(k.close, 0) AS atr_pct,
               (@extschema@.stoch(k.high, k.low, k.close, 14, 3, 3) OVER w).k AS stoch_k,
               (@extschema@.stoch(k.high, k.low, k.close, 14, 3, 3) OVER w).d AS stoch_d,
               @extschema@.willr(k.high, k.low, k.close, 14) OVER w AS willr_14,
               @extschema@.cci(k.high, k.low, k.close, 14) OVER w AS cci_14,
               @extschema@.mfi(k.high, k.low, k.close, k.volume, 14) OVER w AS mfi_14,
               @extschema@.adx(k.high, k.low, k.close, 14) OVER w AS adx_14,
               (k.volume - (@extschema@.bbands(k.volume, 60, 1) OVER w).middle)
                 / nullif((@extschema@.bbands(k.volume, 60, 1) OVER w).upper
                          - (@extschema@.bbands(k.volume, 60, 1) OVER w).middle, 0) AS volume_z,
               k.close / nullif(@extschema@.vwap(coalesce(k.vwap, (k.high + k.low + k.close) / 3),
                                                 k.volume) OVER session, 0) - 1 AS vwap_dist,
               -- date_part (float8), not extract (numeric): it runs once per row
               pg_catalog.date_part('epoch', k.closes_at - pg_catalog.date_bin(interval '1 day', k.closes_at, timestamp with time zone 'epoch'))
                 / 86400 AS day_fraction
        FROM (SELECT pg_catalog.date_bin(interval '1 day', c.bucket, timestamp with time zone 'epoch') AS day, c.bucket,
                     c.bucket + pg_catalog.make_interval(secs => pg_catalog.date_part('epoch', $2)) AS closes_at,
                     c.high, c.low, c.close, c.volume, c.vwap
              FROM @extschema@.candles($1, $2,
                       CASE WHEN @extschema@.indicator_warmup() > 0 THEN $3 END, 'infinity',
                       @extschema@.indicator_warmup()) c) k
        WINDOW w AS (ORDER BY k.day, k.bucket),
               session AS (PARTITION BY k.day ORDER BY k.bucket)
    ) f
    WINDOW w AS (ORDER BY f.day, f.bucket)
    ) g
    LEFT JOIN LATERAL (
        SELECT pg_catalog.avg(e.sentiment) AS sentiment_1h, pg_catalog.count(*) AS news_1h
        FROM triggerstock.news e
        WHERE e.published_at > g.closes_at - interval '1 hour'
          AND e.published_at <= g.closes_at
          AND $1 = ANY (e.symbols)
    ) n ON true
    -- order books (issue 17): the bucket's samples, none for symbols without books
    LEFT JOIN @extschema@.book_features($1, $2, $3) bf ON bf.bucket = g.bucket
    WHERE $3 IS NULL OR g.bucket >= $3
    ORDER BY g.day, g.bucket;
END;

COMMENT ON FUNCTION @extschema@.features(text, interval, timestamptz) IS
$c$the model's feature rows: one row per candle of `symbol` at `width` (1 minute from triggerstock.candles, coarser rolled up as candles(width) does), oldest first, from `since` on; with `since` the indicators run from triggerstock.indicator_warmup buckets before it (default 1000, and at least from the start of its UTC day), so the cost is the rows returned plus that warm-up and the values equal the full-history ones to 1e-9 (0 sets no warm-up limit: from the first candle); every feature of bucket t uses only data known when t closed; NULL inside lookbacks.
bucket, close: the candle.
ret_1, ret_5, ret_15: ln(close / close 1, 5, 15 buckets back).
rsi_14: rsi(close, 14).
macd_hist: macd(close, 12, 26, 9) histogram / close.
bb_pct_b: (close - lower) / (upper - lower) of bbands(close, 20, 2); NULL when the bands are flat.
bb_width: (upper - lower) / middle of bbands(close, 20, 2).
atr_pct: atr(high, low, close, 14) / close.
stoch_k, stoch_d: stoch(high, low, close, 14, 3, 3).
willr_14, cci_14, mfi_14, adx_14: willr/cci/mfi/adx(..., 14).
volume_z: (volume - mean) / population stddev of the last 60 volumes (current included); NULL when they are all equal.
vwap_dist: close / session VWAP - 1, the session being the UTC day (candle vwap, or the typical price when it is NULL, weighted by volume).
rv_30: realised volatility, sqrt(sum of the last 30 squared ret_1).
tod_sin, tod_cos: sin and cos of 2*pi * (time of day of the bucket's close, UTC) / 24h.
sentiment_1h, news_1h: mean sentiment (NULL when none) and count (0 when none) of triggerstock.news items mentioning the symbol published in the hour up to the bucket's close.
book_spread, book_microprice_dist, book_imbalance_1, book_imbalance_5, book_imbalance_10, book_ofi, book_updates: from book_features(symbol, width) of the bucket (the order-book samples taken inside it): spread / mid, microprice / mid - 1, the depth imbalances, the order-flow imbalance and the book messages applied; all NULL when the bucket has no sample (symbols without books), so train() leaves them out of the models of such symbols.$c$;
