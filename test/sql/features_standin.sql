-- A stand-in for features(symbol, width, since) used by the model tests only
-- while branch "indicators" is not merged: plain-SQL approximations of a
-- subset of the real columns (same names and types).  It is created only
-- when the extension has no features() of its own, so after the merge it
-- is a no-op and the tests run on the real features().
DO $do$
BEGIN
    IF to_regprocedure('features(text, interval, timestamptz)') IS NOT NULL THEN
        RETURN;
    END IF;
    CREATE FUNCTION features(symbol text, width interval DEFAULT '1 minute',
                             since timestamptz DEFAULT NULL)
    RETURNS TABLE (bucket timestamptz, close float8, ret_1 float8, ret_5 float8, ret_15 float8,
                   rsi_14 float8, macd_hist float8, range_pct float8, volume_z float8,
                   tod_sin float8, tod_cos float8, news_1h bigint)
    LANGUAGE sql STABLE AS $f$
        SELECT bucket, close, ret_1, ret_5, ret_15,
               CASE WHEN n >= 15 THEN 100 * gain / nullif(gain + loss, 0) END,
               CASE WHEN n >= 26 THEN (ma12 - ma26) / close END,
               range_pct, volume_z, tod_sin, tod_cos, 0::bigint
        FROM (SELECT k.bucket, k.close,
                     row_number() OVER w AS n,
                     ln(k.close / lag(k.close, 1) OVER w) AS ret_1,
                     ln(k.close / lag(k.close, 5) OVER w) AS ret_5,
                     ln(k.close / lag(k.close, 15) OVER w) AS ret_15,
                     sum(greatest(k.close - k.prev, 0)) OVER w14 AS gain,
                     sum(greatest(k.prev - k.close, 0)) OVER w14 AS loss,
                     avg(k.close) OVER w12 AS ma12, avg(k.close) OVER w26 AS ma26,
                     (k.high - k.low) / k.close AS range_pct,
                     (k.volume - avg(k.volume) OVER w60) / nullif(stddev_pop(k.volume) OVER w60, 0) AS volume_z,
                     sin(2 * pi() * date_part('epoch', k.bucket + $2) / 86400) AS tod_sin,
                     cos(2 * pi() * date_part('epoch', k.bucket + $2) / 86400) AS tod_cos
              FROM (SELECT c.*, lag(c.close) OVER (ORDER BY c.bucket) AS prev
                    FROM triggerstock.candles c
                    WHERE c.symbol = $1 AND c.width = $2) k
              WINDOW w AS (ORDER BY k.bucket),
                     w14 AS (ORDER BY k.bucket ROWS 13 PRECEDING),
                     w12 AS (ORDER BY k.bucket ROWS 11 PRECEDING),
                     w26 AS (ORDER BY k.bucket ROWS 25 PRECEDING),
                     w60 AS (ORDER BY k.bucket ROWS 59 PRECEDING)) f
        WHERE $3 IS NULL OR bucket >= $3
        ORDER BY bucket
    $f$;
END
$do$;
