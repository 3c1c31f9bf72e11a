/* triggerstock--0.1--0.2.sql: upgrade a 0.1 database to 0.2 */

\echo Use "ALTER EXTENSION triggerstock UPDATE TO '0.2'" to load this file. \quit

-- Every SQL change of 0.2 is made here and in the pieces of the 0.2 install
-- script (SQL_PIECES in the Makefile); test/t/002_upgrade.pl checks that a
-- 0.1 database updated with this file equals a fresh 0.2 install.

-- Issue 9 (layout): the schema's comment names all it holds.
COMMENT ON SCHEMA triggerstock IS
'triggerstock data: trades, candles, news, sources, models and their configuration, status and views';

------------------------------------------------------------------------------
-- issue 13 (online features): candles(symbol, width, since, until, warmup)
-- and its warm-up start, features() over a bounded warm-up, and the online
-- feature state (src/features/features.sql)
------------------------------------------------------------------------------

CREATE FUNCTION @extschema@.candle_warmup_start(symbol text, width interval, since timestamptz,
                                               warmup integer)
RETURNS timestamptz
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    -- -infinity: from the first candle.  The warmup-th bucket before since is
    -- found by walking back one index probe per bucket (width > 1 minute) or
    -- by an index scan of warmup entries (1 minute).
    SELECT CASE
        WHEN $3 IS NULL THEN TIMESTAMPTZ '-infinity'
        WHEN $4 IS NULL OR $4 < 0 THEN NULL
        WHEN $4 = 0 THEN pg_catalog.date_bin(@extschema@.candle_width($2), $3, TIMESTAMPTZ 'epoch')
        WHEN $2 = interval '1 minute' THEN LEAST(
            pg_catalog.date_bin(interval '1 day', $3, TIMESTAMPTZ 'epoch'),
            coalesce((SELECT c.bucket FROM triggerstock.candles c
                      WHERE c.symbol = $1 AND c.width = interval '1 minute' AND c.bucket < $3
                      ORDER BY c.bucket DESC OFFSET $4 - 1 LIMIT 1), TIMESTAMPTZ '-infinity'))
        ELSE LEAST(
            pg_catalog.date_bin(interval '1 day',
                                pg_catalog.date_bin(@extschema@.candle_width($2), $3, TIMESTAMPTZ 'epoch'),
                                TIMESTAMPTZ 'epoch'),
            (WITH RECURSIVE back(b, n) AS (
                 SELECT pg_catalog.date_bin(@extschema@.candle_width($2), $3, TIMESTAMPTZ 'epoch'), 0
                 UNION ALL
                 SELECT pg_catalog.date_bin($2, p.prev, TIMESTAMPTZ 'epoch'), back.n + 1
                 FROM back, LATERAL (SELECT pg_catalog.max(c.bucket) AS prev FROM triggerstock.candles c
                                     WHERE c.symbol = $1 AND c.width = interval '1 minute'
                                       AND c.bucket < back.b) p
                 WHERE back.n < $4 AND p.prev IS NOT NULL)
             SELECT CASE WHEN pg_catalog.max(back.n) = $4 THEN pg_catalog.min(back.b)
                         ELSE TIMESTAMPTZ '-infinity' END
             FROM back))
    END
$$;
COMMENT ON FUNCTION @extschema@.candle_warmup_start(text, interval, timestamptz, integer) IS
'the first bucket to read so that indicators over the candles of symbol at width from since on have their warm-up: the warmup-th bucket before since, or the start of since''s UTC day (the session of a session VWAP), whichever is earlier; -infinity when since is NULL or the history is shorter (read from the first candle); since''s own bucket when warmup is 0';

CREATE FUNCTION @extschema@.candles(symbol text, width interval, since timestamptz,
                                    until timestamptz DEFAULT 'infinity', warmup integer DEFAULT 0)
RETURNS TABLE (symbol text, width interval, bucket timestamptz, open float8, high float8,
               low float8, close float8, volume float8, vwap float8, trades bigint,
               open_time timestamptz, close_time timestamptz, warmup boolean)
LANGUAGE sql STABLE PARALLEL UNSAFE AS $$
    -- Inlined into the caller's query: the start is computed once
    -- (candle_warmup_start) and bounds an index range scan, so the cost is
    -- the rows returned, warm-up included, whatever the history length.
    -- A constant warmup of 0 (the online fold) folds the start to since's
    -- bucket at plan time: no call, no planning of candle_warmup_start.
    -- PARALLEL UNSAFE keeps the caller's plan serial: the planner cannot
    -- know how many rows the start leaves (it guesses a third of the
    -- symbol's history) and would start parallel workers, which cost more
    -- than reading the few thousand rows of a range and its warm-up.
    SELECT c.symbol, c.width, c.bucket, c.open, c.high, c.low, c.close, c.volume, c.vwap,
           c.trades, c.open_time, c.close_time, coalesce(c.bucket < $3, false)
    FROM triggerstock.candles c
    WHERE $2 = interval '1 minute' AND c.symbol = $1 AND c.width = interval '1 minute'
      AND c.bucket >= CASE WHEN $5 = 0
                           THEN coalesce($3, TIMESTAMPTZ '-infinity')
                           ELSE @extschema@.candle_warmup_start($1, $2, $3, $5) END
      AND c.bucket < $4
    UNION ALL
    SELECT $1, $2, s.bucket, (s.c).open, (s.c).high, (s.c).low, (s.c).close, (s.c).volume,
           (s.c).vwap, (s.c).trades, (s.c).open_time, (s.c).close_time,
           coalesce(s.bucket < $3, false)
    FROM (SELECT pg_catalog.date_bin(@extschema@.candle_width($2), k.bucket, TIMESTAMPTZ 'epoch') AS bucket,
                 @extschema@.rollup(ROW(k.open, k.high, k.low, k.close, k.volume, k.vwap,
                                        k.trades, k.open_time, k.close_time)::@extschema@.ohlcv) AS c
          FROM triggerstock.candles k
          WHERE $2 <> interval '1 minute' AND k.symbol = $1 AND k.width = interval '1 minute'
            AND k.bucket >= CASE WHEN $5 = 0
                                 THEN coalesce(pg_catalog.date_bin(@extschema@.candle_width($2), $3,
                                                                   TIMESTAMPTZ 'epoch'),
                                               TIMESTAMPTZ '-infinity')
                                 ELSE @extschema@.candle_warmup_start($1, $2, $3, $5) END
            AND k.bucket < pg_catalog.date_bin(@extschema@.candle_width($2), $4, TIMESTAMPTZ 'epoch')
          GROUP BY 1) s
$$;
COMMENT ON FUNCTION @extschema@.candles(text, interval, timestamptz, timestamptz, integer) IS
$c$the candles of one symbol at any whole-minute width (rolled up from the 1-minute candles exactly as candles(width) does) with since <= bucket < until, plus `warmup` buckets of warm-up before since (and back to the start of since's UTC day), flagged by the column warmup; cost in proportion to the rows returned, not to the history.  Indicators over a time range with correct warm-up:
  SELECT bucket, rsi FROM (SELECT bucket, warmup, rsi(close, 14) OVER (ORDER BY bucket) AS rsi
                           FROM candles('BTC', '1 minute', now() - interval '6 hours', warmup => 1000)) s
  WHERE NOT warmup;
since NULL reads from the first candle; warmup 1000 makes the exponential indicators (rsi, macd, atr, adx) equal their full-history values (README "Indicators over a time range").$c$;

CREATE FUNCTION @extschema@.indicator_warmup()
RETURNS integer
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT coalesce(nullif(pg_catalog.current_setting('triggerstock.indicator_warmup', true), '')::integer,
                    1000)
$$;
COMMENT ON FUNCTION @extschema@.indicator_warmup() IS
'triggerstock.indicator_warmup (default 1000 when the library is not loaded): the buckets of warm-up features(symbol, width, since) reads before since; 0 reads from the first candle';

CREATE OR REPLACE FUNCTION @extschema@.features(symbol text, width interval DEFAULT '1 minute',
                                     since timestamptz DEFAULT NULL)
RETURNS TABLE (bucket timestamptz, close float8,
               ret_1 float8, ret_5 float8, ret_15 float8,
               rsi_14 float8, macd_hist float8, bb_pct_b float8, bb_width float8,
               atr_pct float8, stoch_k float8, stoch_d float8, willr_14 float8,
               cci_14 float8, mfi_14 float8, adx_14 float8, volume_z float8,
               vwap_dist float8, rv_30 float8, tod_sin float8, tod_cos float8,
               sentiment_1h float8, news_1h bigint)
LANGUAGE sql STABLE PARALLEL UNSAFE AS $$
    -- Inlined into the caller's query (PARALLEL UNSAFE, as candles(symbol,
    -- width, since, ...): the window functions run in one process anyway,
    -- and the planner, unable to estimate a warm-up's rows, would start
    -- parallel workers for a few thousand rows).  With `since`, the candles are read
    -- from candle_warmup_start(): triggerstock.indicator_warmup buckets
    -- (default 1000) before since, and at least from the start of since's UTC
    -- day (the session VWAP), so the cost is the rows returned plus a bounded
    -- warm-up; indicator_warmup = 0 reads from the first candle.  `since`
    -- filters the outermost level only, above every window.  All windows
    -- order by (day, bucket), so one sort serves them and the output order.
    -- A bucket closes at bucket + width, the width taken as a fixed number
    -- of seconds (never a calendar day of the session's time zone).
    SELECT g.bucket, g.close, g.ret_1, g.ret_5, g.ret_15, g.rsi_14, g.macd_hist,
           g.bb_pct_b, g.bb_width, g.atr_pct, g.stoch_k, g.stoch_d, g.willr_14, g.cci_14,
           g.mfi_14, g.adx_14, g.volume_z, g.vwap_dist, g.rv_30, g.tod_sin, g.tod_cos,
           n.sentiment_1h, n.news_1h
    FROM (
    SELECT f.day, f.bucket, f.closes_at, f.close, f.ret_1, f.ret_5, f.ret_15, f.rsi_14, f.macd_hist,
           f.bb_pct_b, f.bb_width, f.atr_pct, f.stoch_k, f.stoch_d, f.willr_14, f.cci_14,
           f.mfi_14, f.adx_14, f.volume_z, f.vwap_dist,
           -- the running sum of squares may round to just below 0
           sqrt(CASE WHEN 30 * @extschema@.sma(f.ret_1 * f.ret_1, 30) OVER w < 0 THEN 0
                     ELSE 30 * @extschema@.sma(f.ret_1 * f.ret_1, 30) OVER w END) AS rv_30,
           sin(2 * pi() * f.day_fraction) AS tod_sin,
           cos(2 * pi() * f.day_fraction) AS tod_cos
    FROM (
        SELECT k.day, k.bucket, k.closes_at, k.close,
               CASE WHEN k.close > 0 AND lag(k.close, 1) OVER w > 0
                    THEN ln(k.close / lag(k.close, 1) OVER w) END AS ret_1,
               CASE WHEN k.close > 0 AND lag(k.close, 5) OVER w > 0
                    THEN ln(k.close / lag(k.close, 5) OVER w) END AS ret_5,
               CASE WHEN k.close > 0 AND lag(k.close, 15) OVER w > 0
                    THEN ln(k.close / lag(k.close, 15) OVER w) END AS ret_15,
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
               date_part('epoch', k.closes_at - date_bin('1 day', k.closes_at, TIMESTAMPTZ 'epoch'))
                 / 86400 AS day_fraction
        FROM (SELECT date_bin('1 day', c.bucket, TIMESTAMPTZ 'epoch') AS day, c.bucket,
                     c.bucket + make_interval(secs => date_part('epoch', $2)) AS closes_at,
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
        SELECT avg(e.sentiment) AS sentiment_1h, count(*) AS news_1h
        FROM triggerstock.news e
        WHERE e.published_at > g.closes_at - interval '1 hour'
          AND e.published_at <= g.closes_at
          AND $1 = ANY (e.symbols)
    ) n ON true
    WHERE $3 IS NULL OR g.bucket >= $3
    ORDER BY g.day, g.bucket
$$;
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
sentiment_1h, news_1h: mean sentiment (NULL when none) and count (0 when none) of triggerstock.news items mentioning the symbol published in the hour up to the bucket's close.$c$;

CREATE TABLE triggerstock.feature_state (
    symbol      text NOT NULL,
    width       interval NOT NULL,
    bucket      timestamptz,
    rows        bigint NOT NULL DEFAULT 0,
    state       bytea,
    watermark   timestamptz,
    stalled_at  timestamptz,
    error       text,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (symbol, width)
) WITH (fillfactor = 50);
-- the state (4.6 kB, about 3 kB compressed) stays in the row, compressed:
-- no TOAST round trip per fold, and two versions fit a page (HOT updates)
ALTER TABLE triggerstock.feature_state ALTER COLUMN state SET STORAGE MAIN;
COMMENT ON TABLE triggerstock.feature_state IS
'one row per served (symbol, width): the online feature state after its last folded bucket; changed only with the row locked, by the candle trigger in the transaction that changed the candles (README "Serving"); rows are added by serve_features() and removed by unserve_features()';
COMMENT ON COLUMN triggerstock.feature_state.bucket IS 'last bucket folded: the newest complete bucket (bucket + width <= watermark); NULL before the first';
COMMENT ON COLUMN triggerstock.feature_state.rows IS 'buckets folded since the first candle';
COMMENT ON COLUMN triggerstock.feature_state.state IS 'the stream state of every candle feature after bucket (src/features/feature_stream.c; a format version in its header: a state of another build is rebuilt, never misread)';
COMMENT ON COLUMN triggerstock.feature_state.watermark IS 'the symbol''s watermark when the state was last advanced: close_time of its newest 1-minute candle';
COMMENT ON COLUMN triggerstock.feature_state.stalled_at IS 'bucket of a candle the state refused (a NaN or infinite value, which features() refuses too); folding resumes when a candle at or before it changes';
COMMENT ON COLUMN triggerstock.feature_state.error IS 'why folding stalled, NULL when healthy';

CREATE TABLE triggerstock.feature_checkpoints (
    symbol      text NOT NULL,
    width       interval NOT NULL,
    bucket      timestamptz NOT NULL,
    rows        bigint NOT NULL,
    state       bytea NOT NULL,
    daily       boolean NOT NULL,
    PRIMARY KEY (symbol, width, bucket)
);
ALTER TABLE triggerstock.feature_checkpoints ALTER COLUMN state SET STORAGE MAIN;
COMMENT ON TABLE triggerstock.feature_checkpoints IS
'online feature states at hour boundaries (the last 24 hours of buckets) and day boundaries (for good): a change to a folded candle refolds from the newest checkpoint before it';
COMMENT ON COLUMN triggerstock.feature_checkpoints.bucket IS 'the state is the one after this bucket';
COMMENT ON COLUMN triggerstock.feature_checkpoints.daily IS 'the last checkpoint of its UTC day: kept when older hourly ones are pruned';

CREATE TABLE triggerstock.feature_rows (
    symbol       text NOT NULL,
    width        interval NOT NULL,
    bucket       timestamptz NOT NULL,
    close        float8,
    ret_1        float8,
    ret_5        float8,
    ret_15       float8,
    rsi_14       float8,
    macd_hist    float8,
    bb_pct_b     float8,
    bb_width     float8,
    atr_pct      float8,
    stoch_k      float8,
    stoch_d      float8,
    willr_14     float8,
    cci_14       float8,
    mfi_14       float8,
    adx_14       float8,
    volume_z     float8,
    vwap_dist    float8,
    rv_30        float8,
    tod_sin      float8,
    tod_cos      float8,
    sentiment_1h float8,
    news_1h      bigint,
    PRIMARY KEY (symbol, width, bucket)
);
COMMENT ON TABLE triggerstock.feature_rows IS
'the online feature rows of served (symbol, width) pairs, one per complete bucket (the last triggerstock.feature_rows_keep), equal to the rows of features(symbol, width) for the same buckets; predict() reads the newest with one index probe';
COMMENT ON COLUMN triggerstock.feature_rows.sentiment_1h IS 'as in features(); recomputed when news of the hour up to the bucket''s close change';

SELECT pg_catalog.pg_extension_config_dump('triggerstock.feature_state', '');
SELECT pg_catalog.pg_extension_config_dump('triggerstock.feature_checkpoints', '');
SELECT pg_catalog.pg_extension_config_dump('triggerstock.feature_rows', '');

-- which pairs are served is cached per backend: adding or removing one
-- invalidates that cache at commit
CREATE TRIGGER feature_state_served AFTER INSERT OR DELETE OR TRUNCATE
    ON triggerstock.feature_state FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.config_changed();

CREATE FUNCTION @extschema@.online_candles_changed()
RETURNS trigger AS 'MODULE_PATHNAME', 'online_candles_changed'
LANGUAGE C;
COMMENT ON FUNCTION @extschema@.online_candles_changed() IS
'statement trigger of triggerstock.candles: folds the newly complete buckets of every served pair whose candles changed, and refolds from the newest checkpoint before a changed bucket that was already folded';
CREATE TRIGGER candles_online_insert AFTER INSERT ON triggerstock.candles
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.online_candles_changed();
CREATE TRIGGER candles_online_update AFTER UPDATE ON triggerstock.candles
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.online_candles_changed();
CREATE TRIGGER candles_online_delete AFTER DELETE ON triggerstock.candles
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.online_candles_changed();
CREATE TRIGGER candles_online_truncate AFTER TRUNCATE ON triggerstock.candles
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.online_candles_changed();

CREATE FUNCTION @extschema@.serve_features(symbol text, width interval DEFAULT '1 minute',
                                           rebuild boolean DEFAULT false)
RETURNS bigint AS 'MODULE_PATHNAME', 'online_serve'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@.serve_features(text, interval, boolean) IS
'starts maintaining the online feature rows of (symbol, width) (deploying a model does it for the model''s symbol and width): builds the state from the first candle when the pair is new or rebuild is true (one pass over the history, holding SHARE lock on triggerstock.candles), else brings it up to date; returns the number of buckets folded';

CREATE FUNCTION @extschema@.unserve_features(symbol text, width interval DEFAULT '1 minute')
RETURNS boolean
LANGUAGE sql VOLATILE AS $$
    WITH s AS (DELETE FROM triggerstock.feature_state f
               WHERE f.symbol OPERATOR(pg_catalog.=) $1 AND f.width OPERATOR(pg_catalog.=) $2
               RETURNING 1),
         r AS (DELETE FROM triggerstock.feature_rows f
               WHERE f.symbol OPERATOR(pg_catalog.=) $1 AND f.width OPERATOR(pg_catalog.=) $2),
         c AS (DELETE FROM triggerstock.feature_checkpoints f
               WHERE f.symbol OPERATOR(pg_catalog.=) $1 AND f.width OPERATOR(pg_catalog.=) $2)
    SELECT EXISTS (SELECT 1 FROM s)
$$;
COMMENT ON FUNCTION @extschema@.unserve_features(text, interval) IS
'stops maintaining the online feature rows of (symbol, width) and deletes its state, rows and checkpoints; returns whether it was served';

CREATE FUNCTION @extschema@.serve_deployed()
RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM @extschema@.serve_features(p.symbol, p.width)
    FROM (SELECT DISTINCT d.symbol, m.width
          FROM new_rows d JOIN triggerstock.models m ON m.id OPERATOR(pg_catalog.=) d.model_id
          ORDER BY 1, 2) p;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION @extschema@.serve_deployed() IS
'statement trigger of triggerstock.deployments: serves the features of each deployed (symbol, model width) so predict() and the predictor read online rows';
CREATE TRIGGER deployments_serve AFTER INSERT ON triggerstock.deployments
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.serve_deployed();

CREATE FUNCTION @extschema@.online_news_changed()
RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    items text[];
    times timestamptz[];
BEGIN
    -- the (symbol, published_at) pairs of the items changed
    IF TG_OP = 'INSERT' THEN
        SELECT array_agg(s), array_agg(i.published_at) INTO items, times
        FROM new_rows i, unnest(i.symbols) s WHERE i.published_at IS NOT NULL;
    ELSIF TG_OP = 'UPDATE' THEN
        SELECT array_agg(s), array_agg(i.published_at) INTO items, times
        FROM (SELECT symbols, published_at FROM old_rows
              UNION ALL SELECT symbols, published_at FROM new_rows) i, unnest(i.symbols) s
        WHERE i.published_at IS NOT NULL;
    ELSE
        SELECT array_agg(s), array_agg(i.published_at) INTO items, times
        FROM old_rows i, unnest(i.symbols) s WHERE i.published_at IS NOT NULL;
    END IF;
    IF items IS NULL THEN
        RETURN NULL;
    END IF;
    -- lock the served pairs concerned, in the candle trigger's order, so a
    -- fold running concurrently either sees these news or is seen below
    PERFORM 1 FROM triggerstock.feature_state f
    WHERE f.symbol OPERATOR(pg_catalog.=) ANY (items)
    ORDER BY f.symbol, f.width FOR UPDATE;
    -- the rows whose hour up to their close holds one of the items
    UPDATE triggerstock.feature_rows r
    SET (sentiment_1h, news_1h) = (
        SELECT pg_catalog.avg(e.sentiment), pg_catalog.count(*)
        FROM triggerstock.news e
        WHERE e.published_at OPERATOR(pg_catalog.>)
                  ((r.bucket OPERATOR(pg_catalog.+) a.w) OPERATOR(pg_catalog.-) interval '1 hour')
          AND e.published_at OPERATOR(pg_catalog.<=) (r.bucket OPERATOR(pg_catalog.+) a.w)
          AND r.symbol OPERATOR(pg_catalog.=) ANY (e.symbols))
    FROM (SELECT DISTINCT f.symbol, f.width,
                 pg_catalog.make_interval(secs => pg_catalog.date_part('epoch', f.width)) AS w,
                 u.t
          FROM triggerstock.feature_state f
          JOIN ROWS FROM (pg_catalog.unnest(items), pg_catalog.unnest(times)) AS u(s, t) ON u.s OPERATOR(pg_catalog.=) f.symbol) a
    WHERE r.symbol OPERATOR(pg_catalog.=) a.symbol AND r.width OPERATOR(pg_catalog.=) a.width
      AND r.bucket OPERATOR(pg_catalog.>=) (a.t OPERATOR(pg_catalog.-) a.w)
      AND r.bucket OPERATOR(pg_catalog.<)
          ((a.t OPERATOR(pg_catalog.+) interval '1 hour') OPERATOR(pg_catalog.-) a.w);
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION @extschema@.online_news_changed() IS
'statement trigger of triggerstock.news: recomputes sentiment_1h and news_1h of the stored feature rows whose hour up to their close holds a changed item (news are often stored after the candles they concern closed)';
CREATE TRIGGER news_online_insert AFTER INSERT ON triggerstock.news
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.online_news_changed();
CREATE TRIGGER news_online_update AFTER UPDATE ON triggerstock.news
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.online_news_changed();
CREATE TRIGGER news_online_delete AFTER DELETE ON triggerstock.news
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.online_news_changed();

-- data: each (symbol, model width) deployed in 0.1 is served from now on, as a
-- 0.2 deployment would be (the predictor scores served pairs; this builds
-- their online state from their first candle)
SELECT @extschema@.serve_features(p.symbol, p.width)
FROM (SELECT DISTINCT d.symbol, m.width
      FROM triggerstock.deployments d JOIN triggerstock.models m ON m.id = d.model_id
      ORDER BY 1, 2) p;
-- end of issue 13
