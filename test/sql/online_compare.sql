-- Helpers of the online feature tests and benchmarks (test/t/063_online_features.pl,
-- test/bench/online.sh), in schema online_cmp:
--   online_cmp.compare(symbol, width): every stored online row of (symbol,
--     width) against features(symbol, width) over the full history, every
--     column (close, the 19 candle features, sentiment_1h, news_1h):
--     rows and values compared, values not bit-identical, NULL mismatches,
--     the largest relative difference |a - b| / max(|a|, |b|), and the
--     complete buckets missing online / online rows of no complete bucket
--     (from the oldest stored online row on: older ones are pruned);
--   online_cmp.warmup(symbol, width, since, warmup): features(symbol,
--     width, since) with that warm-up against the full-history rows:
--     per feature, values compared, not bit-identical, largest relative
--     difference and largest difference by the golden rule
--     |a - b| / max(|b|, 1).
CREATE SCHEMA IF NOT EXISTS online_cmp;

CREATE OR REPLACE FUNCTION online_cmp.compare(sym text, w interval)
RETURNS TABLE (offline_rows bigint, online_rows bigint, compared_rows bigint,
               compared_values bigint, not_identical bigint, null_mismatches bigint,
               max_rel_err float8, missing bigint, extra bigint)
LANGUAGE sql AS $$
    WITH wm AS (
        SELECT date_bin(w, c.close_time, TIMESTAMPTZ 'epoch') AS complete
        FROM triggerstock.candles c
        WHERE c.symbol = sym AND c.width = interval '1 minute'
        ORDER BY c.bucket DESC LIMIT 1
    ), onl AS (
        SELECT r.* FROM triggerstock.feature_rows r WHERE r.symbol = sym AND r.width = w
    ), off AS (
        -- the complete buckets from the oldest row kept online on
        -- (triggerstock.feature_rows_keep)
        SELECT f.* FROM wm, features(sym, w) f
        WHERE f.bucket < wm.complete
          AND f.bucket >= coalesce((SELECT min(bucket) FROM onl), '-infinity')
    ), j AS (
        SELECT o.bucket, v.a, v.b
        FROM off o JOIN onl n USING (bucket)
        CROSS JOIN LATERAL (VALUES
            (o.close, n.close), (o.ret_1, n.ret_1), (o.ret_5, n.ret_5), (o.ret_15, n.ret_15),
            (o.rsi_14, n.rsi_14), (o.macd_hist, n.macd_hist), (o.bb_pct_b, n.bb_pct_b),
            (o.bb_width, n.bb_width), (o.atr_pct, n.atr_pct), (o.stoch_k, n.stoch_k),
            (o.stoch_d, n.stoch_d), (o.willr_14, n.willr_14), (o.cci_14, n.cci_14),
            (o.mfi_14, n.mfi_14), (o.adx_14, n.adx_14), (o.volume_z, n.volume_z),
            (o.vwap_dist, n.vwap_dist), (o.rv_30, n.rv_30), (o.tod_sin, n.tod_sin),
            (o.tod_cos, n.tod_cos), (o.sentiment_1h, n.sentiment_1h),
            (o.news_1h::float8, n.news_1h::float8)) v(a, b)
    )
    SELECT (SELECT count(*) FROM off), (SELECT count(*) FROM onl),
           count(DISTINCT j.bucket), count(*),
           count(*) FILTER (WHERE j.a IS DISTINCT FROM j.b),
           count(*) FILTER (WHERE (j.a IS NULL) <> (j.b IS NULL)),
           coalesce(max(abs(j.a - j.b) / nullif(greatest(abs(j.a), abs(j.b)), 0))
                    FILTER (WHERE j.a IS DISTINCT FROM j.b), 0),
           (SELECT count(*) FROM off WHERE NOT EXISTS (SELECT 1 FROM onl WHERE onl.bucket = off.bucket)),
           (SELECT count(*) FROM onl WHERE NOT EXISTS (SELECT 1 FROM off WHERE off.bucket = onl.bucket))
    FROM j
$$;

CREATE OR REPLACE FUNCTION online_cmp.warmup(sym text, w interval, since timestamptz, warm integer)
RETURNS TABLE (feature text, compared bigint, not_identical bigint, max_rel_err float8,
               max_golden_err float8)
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM set_config('triggerstock.indicator_warmup', warm::text, true);
    RETURN QUERY
    WITH part AS MATERIALIZED (SELECT * FROM features(sym, w, since)),
         j AS (
        SELECT v.k, v.a, v.b
        FROM part p JOIN online_cmp.full_rows f USING (bucket)
        CROSS JOIN LATERAL (VALUES
            ('ret_1', p.ret_1, f.ret_1), ('ret_5', p.ret_5, f.ret_5), ('ret_15', p.ret_15, f.ret_15),
            ('rsi_14', p.rsi_14, f.rsi_14), ('macd_hist', p.macd_hist, f.macd_hist),
            ('bb_pct_b', p.bb_pct_b, f.bb_pct_b), ('bb_width', p.bb_width, f.bb_width),
            ('atr_pct', p.atr_pct, f.atr_pct), ('stoch_k', p.stoch_k, f.stoch_k),
            ('stoch_d', p.stoch_d, f.stoch_d), ('willr_14', p.willr_14, f.willr_14),
            ('cci_14', p.cci_14, f.cci_14), ('mfi_14', p.mfi_14, f.mfi_14),
            ('adx_14', p.adx_14, f.adx_14), ('volume_z', p.volume_z, f.volume_z),
            ('vwap_dist', p.vwap_dist, f.vwap_dist), ('rv_30', p.rv_30, f.rv_30),
            ('tod_sin', p.tod_sin, f.tod_sin), ('tod_cos', p.tod_cos, f.tod_cos),
            ('sentiment_1h', p.sentiment_1h, f.sentiment_1h),
            ('news_1h', p.news_1h::float8, f.news_1h::float8)) v(k, a, b)
        WHERE f.symbol = sym AND f.width = w)
    SELECT j.k, count(*), count(*) FILTER (WHERE j.a IS DISTINCT FROM j.b),
           coalesce(max(abs(j.a - j.b) / nullif(greatest(abs(j.a), abs(j.b)), 0))
                    FILTER (WHERE j.a IS DISTINCT FROM j.b), 0)
             + CASE WHEN bool_or((j.a IS NULL) <> (j.b IS NULL)) THEN 'Infinity'::float8 ELSE 0 END,
           coalesce(max(abs(j.a - j.b) / greatest(abs(j.b), 1))
                    FILTER (WHERE j.a IS DISTINCT FROM j.b), 0)
    FROM j GROUP BY j.k;
END
$$;

-- the full-history rows online_cmp.warmup compares with (filled by the caller)
CREATE TABLE IF NOT EXISTS online_cmp.full_rows (LIKE triggerstock.feature_rows);
CREATE INDEX IF NOT EXISTS full_rows_key ON online_cmp.full_rows (symbol, width, bucket);
