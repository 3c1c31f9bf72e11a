/* triggerstock--0.1.sql: trade storage and OHLCV candles */

\echo Use "CREATE EXTENSION triggerstock" to load this file. \quit

-- Data lives in schema triggerstock; functions in the extension's schema.
CREATE SCHEMA triggerstock;
COMMENT ON SCHEMA triggerstock IS 'triggerstock data: trades, candles and their views';

------------------------------------------------------------------------------
-- Candle type and aggregates
------------------------------------------------------------------------------

CREATE TYPE @extschema@.ohlcv AS (
    open        float8,
    high        float8,
    low         float8,
    close       float8,
    volume      float8,
    vwap        float8,
    trades      bigint,
    open_time   timestamptz,
    close_time  timestamptz
);
COMMENT ON TYPE @extschema@.ohlcv IS
'One candle: open/close are the earliest/latest trade by (ts, seq), vwap = sum(price*qty)/sum(qty) (NULL when volume is 0), open_time/close_time the times of the first and last trade';

CREATE FUNCTION @extschema@.ohlcv_trade_sfunc(internal, timestamptz, float8, float8)
RETURNS internal AS 'MODULE_PATHNAME', 'ohlcv_trade_sfunc'
LANGUAGE C PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.ohlcv_trade_sfunc(internal, timestamptz, float8, float8) IS
'transition function of aggregate ohlcv(ts, price, qty)';

CREATE FUNCTION @extschema@.ohlcv_trade_sfunc(internal, timestamptz, float8, float8, bigint)
RETURNS internal AS 'MODULE_PATHNAME', 'ohlcv_trade_sfunc'
LANGUAGE C PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.ohlcv_trade_sfunc(internal, timestamptz, float8, float8, bigint) IS
'transition function of aggregate ohlcv(ts, price, qty, seq)';

CREATE FUNCTION @extschema@.ohlcv_rollup_sfunc(internal, @extschema@.ohlcv)
RETURNS internal AS 'MODULE_PATHNAME', 'ohlcv_rollup_sfunc'
LANGUAGE C PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.ohlcv_rollup_sfunc(internal, @extschema@.ohlcv) IS
'transition function of aggregate rollup(ohlcv)';

CREATE FUNCTION @extschema@.ohlcv_combine(internal, internal)
RETURNS internal AS 'MODULE_PATHNAME', 'ohlcv_combine'
LANGUAGE C PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.ohlcv_combine(internal, internal) IS
'combine function of aggregates ohlcv and rollup (parallel aggregation)';

CREATE FUNCTION @extschema@.ohlcv_serialize(internal)
RETURNS bytea AS 'MODULE_PATHNAME', 'ohlcv_serialize'
LANGUAGE C STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.ohlcv_serialize(internal) IS
'serialization function of aggregates ohlcv and rollup';

CREATE FUNCTION @extschema@.ohlcv_deserialize(bytea, internal)
RETURNS internal AS 'MODULE_PATHNAME', 'ohlcv_deserialize'
LANGUAGE C STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.ohlcv_deserialize(bytea, internal) IS
'deserialization function of aggregates ohlcv and rollup';

CREATE FUNCTION @extschema@.ohlcv_final(internal)
RETURNS @extschema@.ohlcv AS 'MODULE_PATHNAME', 'ohlcv_final'
LANGUAGE C PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.ohlcv_final(internal) IS
'final function of aggregates ohlcv and rollup';

CREATE AGGREGATE @extschema@.ohlcv(ts timestamptz, price float8, qty float8) (
    SFUNC = @extschema@.ohlcv_trade_sfunc,
    STYPE = internal,
    SSPACE = 272,
    FINALFUNC = @extschema@.ohlcv_final,
    FINALFUNC_MODIFY = READ_ONLY,
    COMBINEFUNC = @extschema@.ohlcv_combine,
    SERIALFUNC = @extschema@.ohlcv_serialize,
    DESERIALFUNC = @extschema@.ohlcv_deserialize,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE @extschema@.ohlcv(timestamptz, float8, float8) IS
'one OHLCV candle from trades; open/close by ts, ties broken by price then qty; rows with a NULL ts, price or qty are skipped; NaN/Infinity price or a negative qty is an error';

CREATE AGGREGATE @extschema@.ohlcv(ts timestamptz, price float8, qty float8, seq bigint) (
    SFUNC = @extschema@.ohlcv_trade_sfunc,
    STYPE = internal,
    SSPACE = 272,
    FINALFUNC = @extschema@.ohlcv_final,
    FINALFUNC_MODIFY = READ_ONLY,
    COMBINEFUNC = @extschema@.ohlcv_combine,
    SERIALFUNC = @extschema@.ohlcv_serialize,
    DESERIALFUNC = @extschema@.ohlcv_deserialize,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE @extschema@.ohlcv(timestamptz, float8, float8, bigint) IS
'one OHLCV candle from trades; open/close by (ts, seq) where seq is the trade id (NULL counts as 0); rows with a NULL ts, price or qty are skipped; NaN/Infinity price or a negative qty is an error';

CREATE AGGREGATE @extschema@.rollup(candle @extschema@.ohlcv) (
    SFUNC = @extschema@.ohlcv_rollup_sfunc,
    STYPE = internal,
    SSPACE = 272,
    FINALFUNC = @extschema@.ohlcv_final,
    FINALFUNC_MODIFY = READ_ONLY,
    COMBINEFUNC = @extschema@.ohlcv_combine,
    SERIALFUNC = @extschema@.ohlcv_serialize,
    DESERIALFUNC = @extschema@.ohlcv_deserialize,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE @extschema@.rollup(@extschema@.ohlcv) IS
'candles of candles (1m -> 5m -> 1h): open/close from the earliest/latest candle by open_time/close_time, volume and trades summed, vwap volume-weighted; NULL candles are skipped';

------------------------------------------------------------------------------
-- Storage
------------------------------------------------------------------------------

CREATE TABLE triggerstock.trades (
    exchange    text NOT NULL,
    instrument  text NOT NULL,
    symbol      text NOT NULL,
    trade_id    bigint NOT NULL,
    ts          timestamptz NOT NULL,
    price       float8 NOT NULL CONSTRAINT trades_price_finite
                    CHECK (price > '-Infinity' AND price < 'Infinity'),
    qty         float8 NOT NULL CONSTRAINT trades_qty_valid
                    CHECK (qty >= 0 AND qty < 'Infinity'),
    side        text CONSTRAINT trades_side_valid CHECK (side IN ('buy', 'sell')),
    received_at timestamptz NOT NULL DEFAULT now()
) PARTITION BY RANGE (ts);
CREATE TABLE triggerstock.trades_default PARTITION OF triggerstock.trades DEFAULT;

-- The unique key and indexes live on each partition, not on the parent: a
-- parent index would be recreated by CREATE EXTENSION during a restore and
-- then collide with the partition indexes that pg_dump restores.  Since ts is
-- part of the key and partitions do not overlap in ts, per-partition unique
-- keys are one global unique key.
CREATE FUNCTION @extschema@.trade_partition_indexes(partition regclass)
RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    name text := (SELECT relname FROM pg_catalog.pg_class WHERE oid = partition);
BEGIN
    EXECUTE format('ALTER TABLE %s ADD CONSTRAINT %I UNIQUE (exchange, instrument, trade_id, ts)',
                   partition, name || '_unique');
    EXECUTE format('CREATE INDEX %I ON %s (symbol, ts)', name || '_symbol_ts', partition);
    EXECUTE format('CREATE INDEX %I ON %s USING brin (received_at)', name || '_received_at', partition);
END
$$;
COMMENT ON FUNCTION @extschema@.trade_partition_indexes(regclass) IS
'gives a trade partition its unique key (exchange, instrument, trade_id, ts) and its indexes on (symbol, ts) and received_at; create_partitions() calls it, call it for partitions made by hand';
SELECT @extschema@.trade_partition_indexes('triggerstock.trades_default');

COMMENT ON TABLE triggerstock.trades IS
'executed trades, one partition per UTC day (created ahead by maintain()), each unique on (exchange, instrument, trade_id, ts); trades_default catches rows of days without a partition';
COMMENT ON COLUMN triggerstock.trades.exchange IS 'exchange the trade comes from (binance, coinbase, ...)';
COMMENT ON COLUMN triggerstock.trades.instrument IS 'the exchange''s own instrument name (BTCUSDT, XBT/USD, BTC-USD)';
COMMENT ON COLUMN triggerstock.trades.symbol IS 'canonical symbol (BTC) that candles and models use';
COMMENT ON COLUMN triggerstock.trades.trade_id IS 'exchange trade id, or a stable id derived from the trade where the feed has none';
COMMENT ON COLUMN triggerstock.trades.ts IS 'trade time at the exchange';
COMMENT ON COLUMN triggerstock.trades.side IS 'taker side: buy or sell, NULL when the feed does not say';
COMMENT ON COLUMN triggerstock.trades.received_at IS 'when the trade was stored; refresh_candles(since) looks at it';
COMMENT ON TABLE triggerstock.trades_default IS
'default partition of triggerstock.trades; maintain() moves its rows into daily partitions';

CREATE TABLE triggerstock.candles (
    symbol      text NOT NULL,
    width       interval NOT NULL,
    bucket      timestamptz NOT NULL,
    open        float8 NOT NULL,
    high        float8 NOT NULL,
    low         float8 NOT NULL,
    close       float8 NOT NULL,
    volume      float8 NOT NULL,
    vwap        float8,
    trades      bigint NOT NULL,
    open_time   timestamptz NOT NULL,
    close_time  timestamptz NOT NULL,
    PRIMARY KEY (symbol, width, bucket)
);
COMMENT ON TABLE triggerstock.candles IS
'1-minute candles per symbol, kept by refresh_candles(); coarser widths come from candles(width) and the candles_5m/15m/1h/1d views; retention() never touches it';

SELECT pg_catalog.pg_extension_config_dump('triggerstock.trades_default', '');
SELECT pg_catalog.pg_extension_config_dump('triggerstock.candles', '');

------------------------------------------------------------------------------
-- Partitions and retention
------------------------------------------------------------------------------

CREATE FUNCTION @extschema@.trade_partitions()
RETURNS TABLE (partition regclass, range_from timestamptz, range_to timestamptz)
LANGUAGE sql STABLE AS $$
    SELECT c.oid::regclass,
           coalesce(substring(b.expr FROM $r$FROM \('([^']*)'\)$r$)::timestamptz, '-infinity'),
           coalesce(substring(b.expr FROM $r$TO \('([^']*)'\)$r$)::timestamptz, 'infinity')
    FROM pg_catalog.pg_inherits i
    JOIN pg_catalog.pg_class c ON c.oid = i.inhrelid
    CROSS JOIN LATERAL (SELECT pg_catalog.pg_get_expr(c.relpartbound, c.oid) AS expr) b
    WHERE i.inhparent = 'triggerstock.trades'::regclass
      AND b.expr <> 'DEFAULT'
    ORDER BY 2
$$;
COMMENT ON FUNCTION @extschema@.trade_partitions() IS
'the range partitions of triggerstock.trades with their bounds, oldest first (the default partition is not listed)';

CREATE FUNCTION @extschema@.create_partitions(range_from timestamptz, range_to timestamptz)
RETURNS SETOF text
LANGUAGE plpgsql AS $$
DECLARE
    day  timestamptz;
    name text;
BEGIN
    IF range_from IS NULL OR range_to IS NULL OR range_to < range_from
       OR NOT isfinite(range_from) OR NOT isfinite(range_to) THEN
        RAISE EXCEPTION 'invalid partition range from % to %', range_from, range_to
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Give two finite timestamps, the first not after the second.';
    END IF;
    IF range_to - range_from > interval '3660 days' THEN
        RAISE EXCEPTION 'partition range from % to % spans more than 3660 days', range_from, range_to
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Create partitions for a shorter range at a time.';
    END IF;

    -- one creator at a time, so concurrent callers never race on a day
    PERFORM pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtext('triggerstock.create_partitions'));

    day := date_bin('1 day', range_from, TIMESTAMPTZ 'epoch');
    WHILE day <= range_to LOOP
        IF NOT EXISTS (SELECT 1 FROM @extschema@.trade_partitions() p
                       WHERE p.range_from <= day AND p.range_to >= day + interval '24 hours') THEN
            name := 'trades_p' || to_char(day AT TIME ZONE 'UTC', 'YYYYMMDD');
            -- rows of this day that went to the default partition move with it
            EXECUTE format('CREATE TABLE triggerstock.%I (LIKE triggerstock.trades INCLUDING DEFAULTS INCLUDING CONSTRAINTS)', name);
            EXECUTE format('WITH moved AS (DELETE FROM triggerstock.trades_default WHERE ts >= $1 AND ts < $2 RETURNING *) '
                           'INSERT INTO triggerstock.%I SELECT * FROM moved', name)
                USING day, day + interval '24 hours';
            PERFORM @extschema@.trade_partition_indexes(format('triggerstock.%I', name)::regclass);
            EXECUTE format('ALTER TABLE triggerstock.trades ATTACH PARTITION triggerstock.%I FOR VALUES FROM (%L) TO (%L)',
                           name, day, day + interval '24 hours');
            RETURN NEXT 'triggerstock.' || name;
        END IF;
        day := day + interval '24 hours';
    END LOOP;
END
$$;
COMMENT ON FUNCTION @extschema@.create_partitions(timestamptz, timestamptz) IS
'creates the missing daily (UTC) partitions of triggerstock.trades covering range_from..range_to, moving any rows of those days out of the default partition; returns the partitions created';

CREATE FUNCTION @extschema@.maintain()
RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    ahead   integer := coalesce(nullif(current_setting('triggerstock.partitions_ahead', true), '')::integer, 7);
    created integer;
    stray   timestamptz;
BEGIN
    SELECT count(*) INTO created
    FROM @extschema@.create_partitions(now(), now() + make_interval(days => ahead));
    FOR stray IN SELECT DISTINCT date_bin('1 day', ts, TIMESTAMPTZ 'epoch') FROM triggerstock.trades_default LOOP
        created := created + (SELECT count(*) FROM @extschema@.create_partitions(stray, stray));
    END LOOP;
    RETURN created;
END
$$;
COMMENT ON FUNCTION @extschema@.maintain() IS
'the launcher''s periodic pass: creates trade partitions for today and triggerstock.partitions_ahead days ahead, and gives every day found in the default partition its own partition; returns the number of partitions created';

CREATE FUNCTION @extschema@.retention(keep interval)
RETURNS TABLE (partition_name text, range_from timestamptz, range_to timestamptz)
LANGUAGE plpgsql AS $$
DECLARE
    cutoff  timestamptz;
    part    record;
    deleted bigint;
BEGIN
    IF keep IS NULL OR keep < interval '0' THEN
        RAISE EXCEPTION 'retention period must be a non-negative interval, got %', keep
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'For example: SELECT * FROM retention(''30 days'').';
    END IF;
    cutoff := now() - keep;
    FOR part IN SELECT * FROM @extschema@.trade_partitions() p WHERE p.range_to <= cutoff LOOP
        partition_name := part.partition::text;
        EXECUTE format('DROP TABLE %s', partition_name);
        range_from := part.range_from;
        range_to := part.range_to;
        RETURN NEXT;
    END LOOP;
    DELETE FROM triggerstock.trades_default WHERE ts < cutoff;
    GET DIAGNOSTICS deleted = ROW_COUNT;
    IF deleted > 0 THEN
        partition_name := 'triggerstock.trades_default';
        range_from := NULL;
        range_to := cutoff;
        RETURN NEXT;
    END IF;
END
$$;
COMMENT ON FUNCTION @extschema@.retention(interval) IS
'drops whole trade partitions that end at or before now() - keep (no VACUUM FULL, no row-by-row delete), and deletes older stray rows of the default partition; candles are kept; returns what it dropped';

------------------------------------------------------------------------------
-- Candles
------------------------------------------------------------------------------

CREATE FUNCTION @extschema@.refresh_candles(since timestamptz)
RETURNS bigint
LANGUAGE sql AS $$
    WITH touched AS (
        SELECT DISTINCT symbol, date_bin('1 minute', ts, TIMESTAMPTZ 'epoch') AS bucket
        FROM triggerstock.trades
        WHERE received_at >= since
    ), fresh AS (
        SELECT b.symbol, b.bucket, @extschema@.ohlcv(t.ts, t.price, t.qty, t.trade_id) AS c
        FROM touched b
        JOIN triggerstock.trades t
          ON t.symbol = b.symbol AND t.ts >= b.bucket AND t.ts < b.bucket + interval '1 minute'
        GROUP BY b.symbol, b.bucket
    ), written AS (
        INSERT INTO triggerstock.candles AS k
            (symbol, width, bucket, open, high, low, close, volume, vwap, trades, open_time, close_time)
        SELECT symbol, interval '1 minute', bucket, (c).open, (c).high, (c).low, (c).close,
               (c).volume, (c).vwap, (c).trades, (c).open_time, (c).close_time
        FROM fresh
        ON CONFLICT (symbol, width, bucket) DO UPDATE
           SET open = EXCLUDED.open, high = EXCLUDED.high, low = EXCLUDED.low,
               close = EXCLUDED.close, volume = EXCLUDED.volume, vwap = EXCLUDED.vwap,
               trades = EXCLUDED.trades, open_time = EXCLUDED.open_time,
               close_time = EXCLUDED.close_time
           WHERE (k.open, k.high, k.low, k.close, k.volume, k.vwap, k.trades, k.open_time, k.close_time)
                 IS DISTINCT FROM
                 (EXCLUDED.open, EXCLUDED.high, EXCLUDED.low, EXCLUDED.close, EXCLUDED.volume,
                  EXCLUDED.vwap, EXCLUDED.trades, EXCLUDED.open_time, EXCLUDED.close_time)
        RETURNING 1
    )
    SELECT count(*) FROM written
$$;
COMMENT ON FUNCTION @extschema@.refresh_candles(timestamptz) IS
'recomputes from all their trades the 1-minute candles of every (symbol, minute) that has trades received at or after since, and upserts them into triggerstock.candles; idempotent; returns the number of candles written or changed';

CREATE FUNCTION @extschema@.candle_width(width interval)
RETURNS interval
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
BEGIN
    IF width <= interval '0' OR extract(month FROM width) <> 0 OR extract(year FROM width) <> 0
       OR extract(epoch FROM width)::numeric % 60 <> 0 THEN
        RAISE EXCEPTION 'candle width must be a positive whole number of minutes, got %', width
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Use a width such as ''5 minutes'', ''1 hour'' or ''1 day''.';
    END IF;
    RETURN width;
END
$$;
COMMENT ON FUNCTION @extschema@.candle_width(interval) IS
'returns width if it is a positive whole number of minutes (and has no months), else raises an error';

CREATE FUNCTION @extschema@.candles(width interval)
RETURNS TABLE (symbol text, width interval, bucket timestamptz, open float8, high float8,
               low float8, close float8, volume float8, vwap float8, trades bigint,
               open_time timestamptz, close_time timestamptz)
LANGUAGE sql STABLE AS $$
    SELECT s.symbol, $1, s.bucket, (s.c).open, (s.c).high, (s.c).low, (s.c).close,
           (s.c).volume, (s.c).vwap, (s.c).trades, (s.c).open_time, (s.c).close_time
    FROM (SELECT k.symbol,
                 date_bin(@extschema@.candle_width($1), k.bucket, TIMESTAMPTZ 'epoch') AS bucket,
                 @extschema@.rollup(ROW(k.open, k.high, k.low, k.close, k.volume, k.vwap,
                                        k.trades, k.open_time, k.close_time)::@extschema@.ohlcv) AS c
          FROM triggerstock.candles k
          WHERE k.width = interval '1 minute'
          GROUP BY 1, 2) s
$$;
COMMENT ON FUNCTION @extschema@.candles(interval) IS
'candles of any whole-minute width (buckets aligned to the Unix epoch, so days are UTC days), rolled up from the 1-minute candles with rollup()';

CREATE VIEW triggerstock.candles_5m AS SELECT * FROM @extschema@.candles('5 minutes');
CREATE VIEW triggerstock.candles_15m AS SELECT * FROM @extschema@.candles('15 minutes');
CREATE VIEW triggerstock.candles_1h AS SELECT * FROM @extschema@.candles('1 hour');
CREATE VIEW triggerstock.candles_1d AS SELECT * FROM @extschema@.candles('1 day');
COMMENT ON VIEW triggerstock.candles_5m IS '5-minute candles rolled up from triggerstock.candles';
COMMENT ON VIEW triggerstock.candles_15m IS '15-minute candles rolled up from triggerstock.candles';
COMMENT ON VIEW triggerstock.candles_1h IS '1-hour candles rolled up from triggerstock.candles';
COMMENT ON VIEW triggerstock.candles_1d IS '1-day (UTC) candles rolled up from triggerstock.candles';

------------------------------------------------------------------------------
-- Background workers
------------------------------------------------------------------------------

CREATE FUNCTION @extschema@.config_changed()
RETURNS trigger AS 'MODULE_PATHNAME', 'config_changed'
LANGUAGE C;
COMMENT ON FUNCTION @extschema@.config_changed() IS
'statement trigger of configuration tables: sends a relcache invalidation at commit so that the launcher and workers re-read their configuration';

-- The workers the launcher keeps running: one row per (kind, id); each kind
-- is a C entry point triggerstock_<kind>_main.  Sections below extend it.
CREATE VIEW triggerstock.worker_plan AS
SELECT NULL::text AS kind, NULL::integer AS id WHERE false;
COMMENT ON VIEW triggerstock.worker_plan IS
'the dynamic background workers the launcher keeps running, one per (kind, id)';

CREATE FUNCTION @extschema@.worker_status()
RETURNS TABLE (kind text, id integer, pid integer, state text, state_since timestamptz,
               started_at timestamptz, starts integer)
AS 'MODULE_PATHNAME', 'worker_status'
LANGUAGE C STRICT VOLATILE;
COMMENT ON FUNCTION @extschema@.worker_status() IS
'the launcher''s dynamic workers: kind, id, pid (NULL while stopped), state, when it entered it, last start and number of starts; needs shared_preload_libraries';

------------------------------------------------------------------------------
-- Indicators (window functions)
------------------------------------------------------------------------------
--
-- Every indicator is a C window function over a pure-C streaming state
-- (src/indicators*.c, src/window_*.c), used as
--     rsi(close, 14) OVER (PARTITION BY symbol ORDER BY bucket)
-- Common rules (docs/indicators.md):
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

------------------------------------------------------------------------------
-- News items (filled by the poll worker, read by features()) and the
-- model's feature rows
------------------------------------------------------------------------------

CREATE TABLE triggerstock.news (
    guid          text PRIMARY KEY,
    feed_id       integer,
    title         text,
    summary       text,
    link          text,
    published_at  timestamptz,
    symbols       text[],
    sentiment     float8,
    scorer        text,
    inserted_at   timestamptz DEFAULT now()
);
CREATE INDEX news_published_at_idx ON triggerstock.news (published_at);
CREATE INDEX news_symbols_idx ON triggerstock.news USING gin (symbols);
COMMENT ON TABLE triggerstock.news IS
'news items, one per guid (else link); stored once, with the symbols they mention and their sentiment';
COMMENT ON COLUMN triggerstock.news.guid IS 'the item''s guid (RSS) or id (Atom), else its link';
COMMENT ON COLUMN triggerstock.news.feed_id IS 'triggerstock.feeds.id of the feed it came from';
COMMENT ON COLUMN triggerstock.news.title IS 'title, HTML stripped and entities decoded';
COMMENT ON COLUMN triggerstock.news.summary IS 'description / summary / content, HTML stripped and entities decoded';
COMMENT ON COLUMN triggerstock.news.published_at IS 'pubDate (RFC 822) or published/updated (RFC 3339); NULL if absent or unparseable';
COMMENT ON COLUMN triggerstock.news.symbols IS 'symbols whose aliases occur in title or summary (match_symbols)';
COMMENT ON COLUMN triggerstock.news.sentiment IS 'sentiment of the title (and summary) in [-1, 1], from the scorer named in scorer';
COMMENT ON COLUMN triggerstock.news.scorer IS
'which scorer gave the sentiment: openai or huggingface (the model endpoint of triggerstock.sentiment_url), builtin (the built-in lexicon: endpoint off, failed, timed out, or past triggerstock.sentiment_max_items)';
COMMENT ON COLUMN triggerstock.news.link IS 'the item''s link';
COMMENT ON COLUMN triggerstock.news.inserted_at IS 'when the item was stored';
COMMENT ON INDEX triggerstock.news_published_at_idx IS
'serves features(): the news of the hour up to each bucket''s close';
SELECT pg_catalog.pg_extension_config_dump('triggerstock.news', '');

CREATE FUNCTION @extschema@.features(symbol text, width interval DEFAULT '1 minute',
                                     since timestamptz DEFAULT NULL)
RETURNS TABLE (bucket timestamptz, close float8,
               ret_1 float8, ret_5 float8, ret_15 float8,
               rsi_14 float8, macd_hist float8, bb_pct_b float8, bb_width float8,
               atr_pct float8, stoch_k float8, stoch_d float8, willr_14 float8,
               cci_14 float8, mfi_14 float8, adx_14 float8, volume_z float8,
               vwap_dist float8, rv_30 float8, tod_sin float8, tod_cos float8,
               sentiment_1h float8, news_1h bigint)
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    -- Inlined into the caller's query.  Indicators run from the symbol's
    -- first candle whatever `since` is: `since` filters the outermost level
    -- only, above every window.  All windows order by (day, bucket), so one
    -- sort serves them and the output order.
    SELECT g.bucket, g.close, g.ret_1, g.ret_5, g.ret_15, g.rsi_14, g.macd_hist,
           g.bb_pct_b, g.bb_width, g.atr_pct, g.stoch_k, g.stoch_d, g.willr_14, g.cci_14,
           g.mfi_14, g.adx_14, g.volume_z, g.vwap_dist, g.rv_30, g.tod_sin, g.tod_cos,
           n.sentiment_1h, n.news_1h
    FROM (
    SELECT f.day, f.bucket, f.close, f.ret_1, f.ret_5, f.ret_15, f.rsi_14, f.macd_hist,
           f.bb_pct_b, f.bb_width, f.atr_pct, f.stoch_k, f.stoch_d, f.willr_14, f.cci_14,
           f.mfi_14, f.adx_14, f.volume_z, f.vwap_dist,
           -- the running sum of squares may round to just below 0
           sqrt(CASE WHEN 30 * @extschema@.sma(f.ret_1 * f.ret_1, 30) OVER w < 0 THEN 0
                     ELSE 30 * @extschema@.sma(f.ret_1 * f.ret_1, 30) OVER w END) AS rv_30,
           sin(2 * pi() * f.day_fraction) AS tod_sin,
           cos(2 * pi() * f.day_fraction) AS tod_cos
    FROM (
        SELECT k.day, k.bucket, k.close,
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
                     c.bucket + $2 AS closes_at, c.high, c.low, c.close, c.volume, c.vwap
              FROM triggerstock.candles c
              WHERE $2 = interval '1 minute' AND c.symbol = $1 AND c.width = interval '1 minute'
              UNION ALL
              SELECT date_bin('1 day', c.bucket, TIMESTAMPTZ 'epoch'), c.bucket,
                     c.bucket + $2, c.high, c.low, c.close, c.volume, c.vwap
              FROM @extschema@.candles($2) c
              WHERE $2 <> interval '1 minute' AND c.symbol = $1) k
        WINDOW w AS (ORDER BY k.day, k.bucket),
               session AS (PARTITION BY k.day ORDER BY k.bucket)
    ) f
    WINDOW w AS (ORDER BY f.day, f.bucket)
    ) g
    LEFT JOIN LATERAL (
        SELECT avg(e.sentiment) AS sentiment_1h, count(*) AS news_1h
        FROM triggerstock.news e
        WHERE e.published_at > g.bucket + $2 - interval '1 hour'
          AND e.published_at <= g.bucket + $2
          AND $1 = ANY (e.symbols)
    ) n ON true
    WHERE $3 IS NULL OR g.bucket >= $3
    ORDER BY g.day, g.bucket
$$;
COMMENT ON FUNCTION @extschema@.features(text, interval, timestamptz) IS
$c$the model's feature rows: one row per candle of `symbol` at `width` (1 minute from triggerstock.candles, coarser from candles(width)), oldest first, from `since` on (indicators always run from the first candle, so values never depend on `since`); every feature of bucket t uses only data known when t closed; NULL inside lookbacks.
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

-- News: RSS/Atom feeds, news items, symbol aliases, sentiment, JSON quotes
-- (the poll worker, bgworker/poll.c, fetches feeds and quote sources)
------------------------------------------------------------------------------

CREATE TABLE triggerstock.feeds (
    id             serial PRIMARY KEY,
    url            text NOT NULL UNIQUE,
    poll_interval  interval NOT NULL DEFAULT '5 minutes' CHECK (poll_interval >= interval '1 second'),
    enabled        boolean NOT NULL DEFAULT true,
    etag           text,
    last_modified  text,
    last_polled    timestamptz,
    last_status    integer,
    last_error     text
);
COMMENT ON TABLE triggerstock.feeds IS
'RSS 2.0 / RSS 1.0 / Atom feeds the poll worker fetches every poll_interval (conditional GET with etag / last_modified)';
COMMENT ON COLUMN triggerstock.feeds.url IS 'http:// or https:// URL of the feed';
COMMENT ON COLUMN triggerstock.feeds.etag IS 'ETag of the last 200 response, sent back as If-None-Match';
COMMENT ON COLUMN triggerstock.feeds.last_modified IS 'Last-Modified of the last 200 response, sent back as If-Modified-Since';
COMMENT ON COLUMN triggerstock.feeds.last_status IS 'HTTP status of the last poll (304: unchanged), NULL if no response was received';
COMMENT ON COLUMN triggerstock.feeds.last_error IS 'why the last poll failed (NULL after a successful poll); nothing of a failed poll is stored';

CREATE TABLE triggerstock.symbol_aliases (
    symbol   text NOT NULL,
    alias    text NOT NULL CHECK (alias ~ '\S'),
    builtin  boolean NOT NULL DEFAULT false,
    PRIMARY KEY (symbol, alias)
);
CREATE UNIQUE INDEX symbol_aliases_lower_idx ON triggerstock.symbol_aliases (lower(alias));
COMMENT ON TABLE triggerstock.symbol_aliases IS
'words that name a symbol in news (bitcoin, BTC -> BTC); matched case-insensitively on word boundaries; editable';
COMMENT ON COLUMN triggerstock.symbol_aliases.builtin IS 'seeded by the extension (pg_dump keeps only rows added by users)';
INSERT INTO triggerstock.symbol_aliases (symbol, alias, builtin)
SELECT s, a, true FROM (VALUES
    ('BTC', 'bitcoin'), ('BTC', 'btc'), ('BTC', 'xbt'),
    ('ETH', 'ethereum'), ('ETH', 'eth'), ('ETH', 'ether'),
    ('SOL', 'solana'), ('SOL', 'sol'),
    ('XRP', 'xrp'), ('XRP', 'ripple'),
    ('BNB', 'bnb'), ('BNB', 'binance coin'),
    ('DOGE', 'dogecoin'), ('DOGE', 'doge'),
    ('ADA', 'cardano'), ('ADA', 'ada'),
    ('AVAX', 'avalanche'), ('AVAX', 'avax'),
    ('DOT', 'polkadot'),
    ('LINK', 'chainlink'),
    ('LTC', 'litecoin'), ('LTC', 'ltc'),
    ('TRX', 'tron'), ('TRX', 'trx'),
    ('SHIB', 'shiba inu'), ('SHIB', 'shib'),
    ('TON', 'toncoin'),
    ('USDT', 'tether'), ('USDT', 'usdt'),
    ('USDC', 'usdc')) AS seed(s, a);

CREATE TABLE triggerstock.quote_sources (
    id             serial PRIMARY KEY,
    url            text NOT NULL,
    symbol         text NOT NULL,
    options        jsonb NOT NULL DEFAULT '{}',
    poll_interval  interval NOT NULL DEFAULT '5 seconds' CHECK (poll_interval >= interval '1 second'),
    enabled        boolean NOT NULL DEFAULT true,
    last_polled    timestamptz,
    last_status    integer,
    last_error     text,
    last_price     float8,
    last_ts        timestamptz
);
COMMENT ON TABLE triggerstock.quote_sources IS
'HTTP JSON quote endpoints (e.g. Finnhub /quote) polled every poll_interval; each new price becomes a trade (exchange ''quote'')';
COMMENT ON COLUMN triggerstock.quote_sources.options IS
'field mapping: {"price": "c", "ts": "t", "ts_unit": "s|ms|us", "qty": "v"}; dotted paths reach nested fields; defaults are Finnhub''s';
COMMENT ON COLUMN triggerstock.quote_sources.last_price IS 'price of the last stored quote';
COMMENT ON COLUMN triggerstock.quote_sources.last_ts IS 'time of the last stored quote';

CREATE TABLE triggerstock.lexicons (
    name       text PRIMARY KEY,
    format     text NOT NULL,
    entries    integer NOT NULL,
    source     bytea NOT NULL,
    loaded_at  timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE triggerstock.lexicons IS
'external sentiment lexicons loaded by load_lexicon(), kept as their file bytes; sentiment(text, name) uses them';

COMMENT ON SEQUENCE triggerstock.feeds_id_seq IS 'ids of triggerstock.feeds';
COMMENT ON SEQUENCE triggerstock.quote_sources_id_seq IS 'ids of triggerstock.quote_sources';

SELECT pg_catalog.pg_extension_config_dump('triggerstock.feeds', '');
SELECT pg_catalog.pg_extension_config_dump('triggerstock.feeds_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('triggerstock.symbol_aliases', 'WHERE NOT builtin');
SELECT pg_catalog.pg_extension_config_dump('triggerstock.quote_sources', '');
SELECT pg_catalog.pg_extension_config_dump('triggerstock.quote_sources_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('triggerstock.lexicons', '');

-- the poll worker re-reads its queue when these change
CREATE TRIGGER feeds_config_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE
    ON triggerstock.feeds FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.config_changed();
CREATE TRIGGER quote_sources_config_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE
    ON triggerstock.quote_sources FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.config_changed();
CREATE TRIGGER symbol_aliases_config_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE
    ON triggerstock.symbol_aliases FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.config_changed();

CREATE OR REPLACE VIEW triggerstock.worker_plan AS
SELECT 'poll'::text AS kind, 0 AS id
WHERE EXISTS (SELECT 1 FROM triggerstock.feeds WHERE enabled)
   OR EXISTS (SELECT 1 FROM triggerstock.quote_sources WHERE enabled);

CREATE FUNCTION @extschema@.add_feed(url text, poll_interval interval DEFAULT '5 minutes')
RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    feed_id integer;
BEGIN
    IF url IS NULL OR url !~* '^https?://[^/?#\s]+' THEN
        RAISE EXCEPTION 'feed URL "%" is not an http or https URL', url
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Give an absolute URL starting with http:// or https://.';
    END IF;
    INSERT INTO triggerstock.feeds AS f (url, poll_interval)
    VALUES (add_feed.url, add_feed.poll_interval)
    ON CONFLICT ON CONSTRAINT feeds_url_key
        DO UPDATE SET poll_interval = EXCLUDED.poll_interval, enabled = true
    RETURNING f.id INTO feed_id;
    RETURN feed_id;
END
$$;
COMMENT ON FUNCTION @extschema@.add_feed(text, interval) IS
'adds (or re-enables) an RSS/Atom feed polled every poll_interval; returns its id in triggerstock.feeds';

CREATE FUNCTION @extschema@.add_quote_source(url text, symbol text, options jsonb DEFAULT '{}',
                                             poll_interval interval DEFAULT '5 seconds')
RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    source_id integer;
BEGIN
    IF url IS NULL OR url !~* '^https?://[^/?#\s]+' THEN
        RAISE EXCEPTION 'quote URL "%" is not an http or https URL', url
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Give an absolute URL starting with http:// or https://.';
    END IF;
    IF options IS NULL OR jsonb_typeof(options) <> 'object' THEN
        RAISE EXCEPTION 'quote source options must be a JSON object'
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'For example {"price": "c", "ts": "t", "ts_unit": "s"}.';
    END IF;
    INSERT INTO triggerstock.quote_sources AS q (url, symbol, options, poll_interval)
    VALUES (add_quote_source.url, add_quote_source.symbol, add_quote_source.options,
            add_quote_source.poll_interval)
    RETURNING q.id INTO source_id;
    RETURN source_id;
END
$$;
COMMENT ON FUNCTION @extschema@.add_quote_source(text, text, jsonb, interval) IS
'adds an HTTP JSON quote endpoint for symbol; options maps fields (price, ts, ts_unit, qty); returns its id';

CREATE FUNCTION @extschema@.sentiment(input text)
RETURNS float8 AS 'MODULE_PATHNAME', 'sentiment_builtin'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.sentiment(text) IS
'sentiment of a financial text in [-1, 1] from the built-in lexicon and rules (label: <= -0.3 negative, >= 0.3 positive)';

CREATE FUNCTION @extschema@.sentiment(input text, lexicon text)
RETURNS float8 AS 'MODULE_PATHNAME', 'sentiment_lexicon'
LANGUAGE C STABLE STRICT PARALLEL RESTRICTED;
COMMENT ON FUNCTION @extschema@.sentiment(text, text) IS
'sentiment in [-1, 1] with a lexicon loaded by load_lexicon() (or ''builtin''), generic grammar only';

CREATE FUNCTION @extschema@.load_lexicon(path text, name text DEFAULT NULL, format text DEFAULT 'auto')
RETURNS integer AS 'MODULE_PATHNAME', 'load_lexicon'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@.load_lexicon(text, text, text) IS
'loads a VADER, Loughran-McDonald (.cat) or AFINN lexicon file from the server into triggerstock.lexicons under name (default: the format name); returns its entry count';
REVOKE ALL ON FUNCTION @extschema@.load_lexicon(text, text, text) FROM PUBLIC;

CREATE FUNCTION @extschema@.match_symbols(input text)
RETURNS text[] AS 'MODULE_PATHNAME', 'match_symbols'
LANGUAGE C STABLE STRICT PARALLEL RESTRICTED;
COMMENT ON FUNCTION @extschema@.match_symbols(text) IS
'symbols (sorted, distinct) whose triggerstock.symbol_aliases occur in the text, case-insensitive, on word boundaries';

CREATE FUNCTION @extschema@.parse_feed(body bytea)
RETURNS TABLE (guid text, title text, summary text, link text, published_at timestamptz)
AS 'MODULE_PATHNAME', 'parse_feed'
LANGUAGE C STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.parse_feed(bytea) IS
'items of an RSS 2.0 / RSS 1.0 / Atom document (XXE-safe reader: no network, no entities), HTML stripped; what the poll worker stores';
