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

CREATE FUNCTION @extschema@.refresh_candle_buckets(symbols text[], buckets timestamptz[])
RETURNS bigint
LANGUAGE sql AS $$
    WITH touched AS (
        SELECT DISTINCT u.symbol, date_bin('1 minute', u.bucket, TIMESTAMPTZ 'epoch') AS bucket
        FROM unnest(symbols, buckets) AS u(symbol, bucket)
        WHERE u.symbol IS NOT NULL AND u.bucket IS NOT NULL
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
COMMENT ON FUNCTION @extschema@.refresh_candle_buckets(text[], timestamptz[]) IS
'recomputes from all their trades the 1-minute candles of the given (symbols[i], minute of buckets[i]) pairs and upserts them into triggerstock.candles; idempotent; returns the number of candles written or changed';

CREATE FUNCTION @extschema@.refresh_candles(since timestamptz)
RETURNS bigint
LANGUAGE sql AS $$
    SELECT @extschema@.refresh_candle_buckets(array_agg(symbol), array_agg(bucket))
    FROM (SELECT DISTINCT symbol, date_bin('1 minute', ts, TIMESTAMPTZ 'epoch') AS bucket
          FROM triggerstock.trades
          WHERE received_at >= since) touched
$$;
COMMENT ON FUNCTION @extschema@.refresh_candles(timestamptz) IS
'recomputes from all their trades the 1-minute candles of every (symbol, minute) that has trades received at or after since (refresh_candle_buckets), and upserts them into triggerstock.candles; idempotent; returns the number of candles written or changed';

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
-- Only configuration columns signal a change: the poll worker's own status
-- writes (last_polled, last_status, etag, last_price, ...) must not make the
-- launcher and the worker re-read their configuration after every poll.
CREATE TRIGGER feeds_config_changed
    AFTER INSERT OR DELETE OR TRUNCATE OR UPDATE OF url, poll_interval, enabled
    ON triggerstock.feeds FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.config_changed();
CREATE TRIGGER quote_sources_config_changed
    AFTER INSERT OR DELETE OR TRUNCATE OR UPDATE OF url, symbol, options, poll_interval, enabled
    ON triggerstock.quote_sources FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.config_changed();
CREATE TRIGGER symbol_aliases_config_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE
    ON triggerstock.symbol_aliases FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.config_changed();


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

-- Ingestion: exchange WebSocket sources, their workers, dead letters, status
------------------------------------------------------------------------------

CREATE FUNCTION @extschema@.canonical_symbol(instrument text)
RETURNS text AS 'MODULE_PATHNAME', 'canonical_symbol'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.canonical_symbol(text) IS
'default canonical symbol of an exchange instrument: the base asset, upper case (BTCUSDT, XBT/USD, BTC-USD, BINANCE:BTCUSDT -> BTC; TSLA stays); add_source() uses it for instruments given no symbol';

CREATE TABLE triggerstock.sources (
    id           serial PRIMARY KEY,
    name         text NOT NULL UNIQUE,
    exchange     text NOT NULL CONSTRAINT sources_exchange_valid
                     CHECK (exchange IN ('binance', 'coinbase', 'kraken', 'finnhub', 'generic')),
    url          text NOT NULL CONSTRAINT sources_url_valid CHECK (url ~ '^wss?://[^/?#]+'),
    instruments  text[] NOT NULL CONSTRAINT sources_instruments_valid
                     CHECK (cardinality(instruments) BETWEEN 1 AND 1000 AND array_position(instruments, NULL) IS NULL),
    symbols      text[] NOT NULL,
    enabled      boolean NOT NULL DEFAULT true,
    active_days  integer[] CONSTRAINT sources_active_days_valid
                     CHECK (active_days <@ ARRAY[1, 2, 3, 4, 5, 6, 7]),
    active_from  time,
    active_until time,
    options      jsonb NOT NULL DEFAULT '{}' CONSTRAINT sources_options_object
                     CHECK (jsonb_typeof(options) = 'object'),
    created_at   timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT sources_symbols_match
        CHECK (cardinality(symbols) = cardinality(instruments) AND array_position(symbols, NULL) IS NULL),
    CONSTRAINT sources_hours_pair CHECK ((active_from IS NULL) = (active_until IS NULL))
);
COMMENT ON TABLE triggerstock.sources IS
'exchange WebSocket feeds: one ingest worker streams each enabled row into triggerstock.trades; INSERT/UPDATE/DELETE reach the workers within a second (config_changed trigger)';
COMMENT ON COLUMN triggerstock.sources.name IS 'unique name of the source';
COMMENT ON COLUMN triggerstock.sources.exchange IS 'decoder: binance, coinbase, kraken, finnhub or generic (options->''map''); stored in trades.exchange';
COMMENT ON COLUMN triggerstock.sources.url IS 'ws:// or wss:// URL; for binance a URL without a path gets /stream?streams=<instrument>@trade/...; a token in source_secrets is appended as ?token=';
COMMENT ON COLUMN triggerstock.sources.instruments IS 'the exchange''s instrument names to subscribe to (BTCUSDT, XBT/USD, BTC-USD, AAPL); frames for other instruments become dead letters';
COMMENT ON COLUMN triggerstock.sources.symbols IS 'canonical symbol of each instrument, same positions (BTC); add_source() fills in canonical_symbol() defaults';
COMMENT ON COLUMN triggerstock.sources.enabled IS 'false stops the source''s worker';
COMMENT ON COLUMN triggerstock.sources.active_days IS 'ISO days of the week (1 = Monday .. 7 = Sunday, UTC) the source streams on; NULL = every day';
COMMENT ON COLUMN triggerstock.sources.active_from IS 'UTC time of day streaming starts (with active_until; from > until wraps past midnight); NULL = all day';
COMMENT ON COLUMN triggerstock.sources.active_until IS 'UTC time of day streaming stops; outside the hours the worker holds no connection';
COMMENT ON COLUMN triggerstock.sources.options IS
'jsonb: feed (binance_trade, binance_aggtrade, coinbase_matches, coinbase_advanced, kraken_v1, kraken_v2, kraken_futures, finnhub), batch_size, flush_ms, tls_skip_hostname_check, subscribe (generic: message sent on connect), map (generic field paths: items, instrument, price, qty, ts, ts_unit s|ms|us|ns|rfc3339, trade_id, side, side_mode taker|maker, match_path, match_value, instrument_const)';
COMMENT ON COLUMN triggerstock.sources.created_at IS 'when the source was added';
COMMENT ON SEQUENCE triggerstock.sources_id_seq IS 'ids of triggerstock.sources';

CREATE TABLE triggerstock.source_secrets (
    source  integer PRIMARY KEY REFERENCES triggerstock.sources (id) ON DELETE CASCADE,
    secrets jsonb NOT NULL DEFAULT '{}' CONSTRAINT source_secrets_object
                CHECK (jsonb_typeof(secrets) = 'object')
);
REVOKE ALL ON triggerstock.source_secrets FROM PUBLIC;
COMMENT ON TABLE triggerstock.source_secrets IS
'API credentials of sources ({"token": "..."}), readable only by superusers and roles granted SELECT on it (the workers run as superuser)';
COMMENT ON COLUMN triggerstock.source_secrets.source IS 'the source (triggerstock.sources.id)';
COMMENT ON COLUMN triggerstock.source_secrets.secrets IS 'jsonb; key token is appended to the URL as token=... (Finnhub)';

CREATE TRIGGER sources_config_changed
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON triggerstock.sources
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.config_changed();
CREATE TRIGGER source_secrets_config_changed
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON triggerstock.source_secrets
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.config_changed();

CREATE TABLE triggerstock.dead_letters (
    id            bigserial PRIMARY KEY,
    source        integer NOT NULL,
    received_at   timestamptz NOT NULL,
    payload       bytea NOT NULL,
    payload_bytes integer NOT NULL,
    error         text NOT NULL
);
CREATE INDEX dead_letters_source_received ON triggerstock.dead_letters (source, received_at);
COMMENT ON TABLE triggerstock.dead_letters IS
'frames an ingest worker could not store (malformed, wrong types, unknown instrument, binary, too large), with the reason; nothing is dropped silently';
COMMENT ON SEQUENCE triggerstock.dead_letters_id_seq IS 'ids of triggerstock.dead_letters';
COMMENT ON COLUMN triggerstock.dead_letters.source IS 'the source (triggerstock.sources.id; kept after the source is dropped)';
COMMENT ON COLUMN triggerstock.dead_letters.received_at IS 'when the frame arrived';
COMMENT ON COLUMN triggerstock.dead_letters.payload IS 'the frame''s bytes, at most triggerstock.dead_letter_max_bytes of them';
COMMENT ON COLUMN triggerstock.dead_letters.payload_bytes IS 'the frame''s full length';
COMMENT ON COLUMN triggerstock.dead_letters.error IS 'why it was not stored';

SELECT pg_catalog.pg_extension_config_dump('triggerstock.sources', '');
SELECT pg_catalog.pg_extension_config_dump('triggerstock.sources_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('triggerstock.source_secrets', '');
SELECT pg_catalog.pg_extension_config_dump('triggerstock.dead_letters', '');
SELECT pg_catalog.pg_extension_config_dump('triggerstock.dead_letters_id_seq', '');

CREATE FUNCTION @extschema@.add_source(
    name         text,
    exchange     text,
    url          text,
    instruments  text[],
    symbols      text[] DEFAULT NULL,
    options      jsonb DEFAULT '{}',
    enabled      boolean DEFAULT true,
    active_days  integer[] DEFAULT NULL,
    active_from  time DEFAULT NULL,
    active_until time DEFAULT NULL,
    token        text DEFAULT NULL)
RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    new_id integer;
BEGIN
    IF exchange IS NULL OR lower(exchange) NOT IN ('binance', 'coinbase', 'kraken', 'finnhub', 'generic') THEN
        RAISE EXCEPTION 'unknown exchange "%"', exchange
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Use binance, coinbase, kraken, finnhub or generic.';
    END IF;
    IF url IS NULL OR url !~ '^wss?://[^/?#]+' THEN
        RAISE EXCEPTION 'invalid WebSocket URL "%"', url
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Give a ws:// or wss:// URL, such as wss://stream.binance.com:9443.';
    END IF;
    IF instruments IS NULL OR cardinality(instruments) = 0 THEN
        RAISE EXCEPTION 'a source needs at least one instrument'
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'For example ARRAY[''BTCUSDT'', ''ETHUSDT''].';
    END IF;
    IF symbols IS NOT NULL AND cardinality(symbols) <> cardinality(instruments) THEN
        RAISE EXCEPTION 'got % symbols for % instruments', cardinality(symbols), cardinality(instruments)
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Give one symbol per instrument, NULL for the default.';
    END IF;
    INSERT INTO triggerstock.sources AS s
        (name, exchange, url, instruments, symbols, enabled, active_days, active_from, active_until, options)
    VALUES (add_source.name, lower(add_source.exchange), add_source.url, add_source.instruments,
            ARRAY(SELECT coalesce(add_source.symbols[i], @extschema@.canonical_symbol(add_source.instruments[i]))
                  FROM generate_subscripts(add_source.instruments, 1) i ORDER BY i),
            add_source.enabled, add_source.active_days, add_source.active_from, add_source.active_until,
            coalesce(add_source.options, '{}'))
    RETURNING s.id INTO new_id;
    IF token IS NOT NULL THEN
        INSERT INTO triggerstock.source_secrets (source, secrets)
        VALUES (new_id, jsonb_build_object('token', token));
    END IF;
    RETURN new_id;
END
$$;
COMMENT ON FUNCTION @extschema@.add_source(text, text, text, text[], text[], jsonb, boolean, integer[], time, time, text) IS
'adds an exchange WebSocket source and returns its id; its ingest worker starts within a second; symbols default to canonical_symbol(instrument); token goes to source_secrets';

-- The ingest workers join the plan; keep the placeholder branch so that other
-- sections can add their kinds with UNION ALL.

CREATE FUNCTION @extschema@.ingest_stats()
RETURNS TABLE (source integer, pid integer, state text, state_since timestamptz,
               connected_since timestamptz, frames bigint, bytes bigint, trades bigint,
               duplicates bigint, dead_letters bigint, reconnects bigint, flushes bigint,
               last_trade_at timestamptz, last_commit_at timestamptz,
               latency_p50_ms float8, latency_p99_ms float8)
AS 'MODULE_PATHNAME', 'ingest_stats'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@.ingest_stats() IS
'shared-memory counters of the ingest workers since each started (no rows without shared_preload_libraries); triggerstock.ingest_status joins them to the sources';

CREATE VIEW triggerstock.ingest_status AS
SELECT s.id AS source, s.name, s.exchange, s.enabled,
       coalesce(st.state, CASE WHEN s.enabled THEN 'starting' ELSE 'disabled' END) AS state,
       st.state_since, st.connected_since, st.pid,
       coalesce(st.frames, 0) AS frames, coalesce(st.trades, 0) AS trades,
       coalesce(st.duplicates, 0) AS duplicates, coalesce(st.dead_letters, 0) AS dead_letters,
       coalesce(st.reconnects, 0) AS reconnects, coalesce(st.flushes, 0) AS flushes,
       coalesce(st.bytes, 0) AS bytes,
       st.last_trade_at, st.last_commit_at, st.latency_p50_ms, st.latency_p99_ms
FROM triggerstock.sources s
LEFT JOIN @extschema@.ingest_stats() st ON st.source = s.id;
COMMENT ON VIEW triggerstock.ingest_status IS
'per source: worker state (connecting, streaming, backoff, outside-hours, stopped), connected since, frames, trades stored, duplicates skipped, dead letters, reconnects, last trade time, feed-to-commit latency p50/p99 in ms (frame arrival to commit)';

------------------------------------------------------------------------------
-- Models: training, registry, deployment, serving
------------------------------------------------------------------------------

CREATE TABLE triggerstock.models (
    id              bigserial PRIMARY KEY,
    symbol          text NOT NULL,
    width           interval NOT NULL,
    horizon         integer NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    model           bytea NOT NULL,
    sha256          text NOT NULL,
    params          jsonb NOT NULL,
    features        text[] NOT NULL,
    best_iteration  integer NOT NULL,
    train_from      timestamptz NOT NULL,
    train_to        timestamptz NOT NULL,
    test_from       timestamptz NOT NULL,
    test_to         timestamptz NOT NULL,
    metrics         jsonb NOT NULL,
    importance      jsonb NOT NULL,
    drift_reference jsonb NOT NULL,
    source          text NOT NULL
);
CREATE INDEX models_symbol_id ON triggerstock.models (symbol, id);
COMMENT ON TABLE triggerstock.models IS
'trained XGBoost models, one row per train() call; rows are immutable (UPDATE is refused) so a model id always names the same bytes';
COMMENT ON COLUMN triggerstock.models.model IS 'the booster as saved by XGBoosterSaveModelToBuffer (UBJSON), sliced to the best iteration; python: xgboost.Booster(model_file=bytearray(model))';
COMMENT ON COLUMN triggerstock.models.sha256 IS 'hex sha256 of model, recorded with every prediction';
COMMENT ON COLUMN triggerstock.models.params IS 'effective training parameters: XGBoost''s (as strings) plus test_fraction, num_boost_round, early_stopping_rounds';
COMMENT ON COLUMN triggerstock.models.features IS 'feature names in matrix column order: every numeric column of the feature rows except symbol, bucket and close';
COMMENT ON COLUMN triggerstock.models.best_iteration IS 'zero-based boosting round with the lowest test log loss; the stored model has best_iteration + 1 rounds';
COMMENT ON COLUMN triggerstock.models.metrics IS 'test-window metrics (accuracy, precision, recall, f1, roc_auc, log_loss, brier) beside base_rate and majority_accuracy, n_train, n_test, time ranges, training_ms; see README';
COMMENT ON COLUMN triggerstock.models.importance IS 'gain importance per feature (0 when unused)';
COMMENT ON COLUMN triggerstock.models.drift_reference IS 'per feature: decile edges of the training rows and the share of training rows in each bin (last bin: missing), for feature_drift()';
COMMENT ON COLUMN triggerstock.models.source IS '''features()'' for train(), else the query given to train_from_query()';

CREATE FUNCTION @extschema@.models_immutable()
RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'triggerstock.% rows cannot be changed', TG_TABLE_NAME
        USING ERRCODE = 'object_not_in_prerequisite_state',
              HINT = CASE TG_TABLE_NAME WHEN 'deployments'
                          THEN 'Deployments are an append-only history: call deploy() to change the deployed model.'
                          ELSE 'Train a new model instead; a model id always names the same bytes.' END;
END
$$;
COMMENT ON FUNCTION @extschema@.models_immutable() IS
'trigger refusing UPDATE of triggerstock.models and UPDATE, DELETE and TRUNCATE of triggerstock.deployments';
CREATE TRIGGER models_immutable BEFORE UPDATE ON triggerstock.models
    FOR EACH ROW EXECUTE FUNCTION @extschema@.models_immutable();

CREATE TABLE triggerstock.deployments (
    id          bigserial PRIMARY KEY,
    symbol      text NOT NULL,
    model_id    bigint NOT NULL REFERENCES triggerstock.models (id),
    strategy    text NOT NULL CONSTRAINT deployments_strategy_valid
                    CHECK (strategy IN ('best_score', 'most_recent', 'rollback', 'model_id')),
    reason      text,
    deployed_at timestamptz NOT NULL DEFAULT now(),
    deployed_by text NOT NULL DEFAULT current_user
);
CREATE INDEX deployments_symbol_id ON triggerstock.deployments (symbol, id);
COMMENT ON TABLE triggerstock.deployments IS
'append-only deployment history; the deployed model of a symbol is that of its latest row; an insert invalidates every backend''s deployment cache at commit';
COMMENT ON COLUMN triggerstock.deployments.strategy IS 'best_score, most_recent, rollback, or model_id (deploy(id)); train() deploys with best_score';
COMMENT ON COLUMN triggerstock.deployments.reason IS 'why this model was deployed (for train(): the log losses compared)';
CREATE TRIGGER deployments_append_only BEFORE UPDATE OR DELETE ON triggerstock.deployments
    FOR EACH ROW EXECUTE FUNCTION @extschema@.models_immutable();
CREATE TRIGGER deployments_no_truncate BEFORE TRUNCATE ON triggerstock.deployments
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.models_immutable();
-- relcache invalidation at commit: backends drop their deployment cache, the
-- launcher re-reads worker_plan (the predictor runs while deployments exist)
CREATE TRIGGER deployments_changed AFTER INSERT ON triggerstock.deployments
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.config_changed();

CREATE TABLE triggerstock.predictions (
    symbol          text NOT NULL,
    bucket          timestamptz NOT NULL,
    probability     float8,
    model_id        bigint,
    model_sha256    text,
    fallback_level  text NOT NULL CONSTRAINT predictions_level_valid
                        CHECK (fallback_level IN ('model', 'last_score', 'rules', 'abstain')),
    features        jsonb,
    latency_us      bigint,
    predicted_at    timestamptz NOT NULL DEFAULT now(),
    outcome         boolean,
    outcome_at      timestamptz,
    PRIMARY KEY (symbol, bucket)
);
CREATE INDEX predictions_predicted_at ON triggerstock.predictions (symbol, predicted_at);
COMMENT ON TABLE triggerstock.predictions IS
'audit of the online predictor: one row per (symbol, closed 1-minute candle) scored, with what produced it and, once the next candle closed, the realised outcome';
COMMENT ON COLUMN triggerstock.predictions.bucket IS 'bucket of the feature row scored (the candle that just closed)';
COMMENT ON COLUMN triggerstock.predictions.probability IS 'probability that the next candle closes higher; NULL when every fallback level abstained';
COMMENT ON COLUMN triggerstock.predictions.fallback_level IS 'model, last_score, rules or abstain (see predict_explain())';
COMMENT ON COLUMN triggerstock.predictions.features IS 'snapshot of the feature row scored';
COMMENT ON COLUMN triggerstock.predictions.latency_us IS 'time to score, microseconds (feature row, model, fallbacks)';
COMMENT ON COLUMN triggerstock.predictions.outcome IS 'whether the next 1-minute candle closed higher than this one; NULL until it has closed';

COMMENT ON SEQUENCE triggerstock.models_id_seq IS 'ids of triggerstock.models';
COMMENT ON SEQUENCE triggerstock.deployments_id_seq IS 'ids of triggerstock.deployments (their order is the deployment order)';
SELECT pg_catalog.pg_extension_config_dump('triggerstock.models', '');
SELECT pg_catalog.pg_extension_config_dump('triggerstock.models_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('triggerstock.deployments', '');
SELECT pg_catalog.pg_extension_config_dump('triggerstock.deployments_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('triggerstock.predictions', '');

CREATE FUNCTION @extschema@.train(symbol text, width interval DEFAULT '1 minute',
                                  horizon integer DEFAULT 1, params jsonb DEFAULT '{}')
RETURNS bigint AS 'MODULE_PATHNAME', 'model_train'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@.train(text, interval, integer, jsonb) IS
'trains an XGBoost classifier on features(symbol, width): label = close horizon buckets ahead > close now; time-ordered split (newest params.test_fraction, default 0.2, for testing, horizon rows left out between), early stopping on the test window; stores the model and its metrics, deploys it when its test log loss beats the deployed model''s on the same window; returns the model id, or NULL (with a NOTICE) when the symbol is being trained by another session';

CREATE FUNCTION @extschema@.train_from_query(symbol text, query text, width interval DEFAULT '1 minute',
                                             horizon integer DEFAULT 1, params jsonb DEFAULT '{}')
RETURNS bigint AS 'MODULE_PATHNAME', 'model_train_query'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@.train_from_query(text, text, interval, integer, jsonb) IS
'train() on an explicit feature query: it must return a timestamptz column bucket (strictly increasing), a numeric column close and numeric feature columns (all other numeric columns but symbol)';

CREATE FUNCTION @extschema@.predict(symbol text)
RETURNS float8 AS 'MODULE_PATHNAME', 'model_predict_symbol'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@.predict(text) IS
'probability that the next bucket closes higher: the deployed model on the latest complete feature row, else the last model score if younger than triggerstock.last_score_max_age, else the rules baseline, else NULL; predict_explain() says which';

CREATE FUNCTION @extschema@.predict(symbol text, features float8[])
RETURNS float8 AS 'MODULE_PATHNAME', 'model_predict_features'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@.predict(text, float8[]) IS
'probability from the deployed model of symbol on the given features, in the order of triggerstock.models.features (NULL elements are missing values)';

CREATE FUNCTION @extschema@.predict_explain(symbol text)
RETURNS jsonb AS 'MODULE_PATHNAME', 'model_predict_explain'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@.predict_explain(text) IS
'what predict(symbol) answers and why: probability, fallback_level (model, last_score, rules, abstain), model_id, sha256, reason for skipped levels, bucket and values of the feature row';

CREATE FUNCTION @extschema@.model_cache_count()
RETURNS integer AS 'MODULE_PATHNAME', 'model_cache_size_now'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@.model_cache_count() IS
'number of boosters loaded in this backend (at most triggerstock.model_cache_size)';

CREATE FUNCTION @extschema@.feature_drift(symbol text, recent integer DEFAULT 1440)
RETURNS TABLE (feature text, psi float8, training_missing float8, recent_missing float8)
AS 'MODULE_PATHNAME', 'model_feature_drift'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@.feature_drift(text, integer) IS
'population stability index of each feature of the deployed model: its training rows (decile bins stored at training) against the last `recent` feature rows; below 0.1 stable, 0.1-0.25 moderate, above 0.25 drifted';

CREATE FUNCTION @extschema@.deploy(model_id bigint)
RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    sym text;
BEGIN
    SELECT m.symbol INTO sym FROM triggerstock.models m WHERE m.id = model_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'model % does not exist', model_id
            USING ERRCODE = 'no_data_found',
                  HINT = 'Models are listed in triggerstock.models.';
    END IF;
    INSERT INTO triggerstock.deployments (symbol, model_id, strategy, reason)
    VALUES (sym, model_id, 'model_id', 'deploy(model_id)');
    RETURN model_id;
END
$$;
COMMENT ON FUNCTION @extschema@.deploy(bigint) IS
'deploys the given model for its symbol; returns its id; other sessions use it from their next call after commit';

CREATE FUNCTION @extschema@.deploy(symbol text, strategy text)
RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    current bigint;
    chosen  bigint;
    why     text;
BEGIN
    SELECT d.model_id INTO current FROM triggerstock.deployments d
    WHERE d.symbol = deploy.symbol ORDER BY d.id DESC LIMIT 1;
    IF NOT EXISTS (SELECT 1 FROM triggerstock.models m WHERE m.symbol = deploy.symbol) THEN
        RAISE EXCEPTION 'no model for symbol "%"', symbol
            USING ERRCODE = 'no_data_found',
                  HINT = format('Train one first: SELECT train(%L).', symbol);
    END IF;
    CASE strategy
    WHEN 'most_recent' THEN
        SELECT m.id INTO chosen FROM triggerstock.models m
        WHERE m.symbol = deploy.symbol ORDER BY m.id DESC LIMIT 1;
        why := 'newest model';
    WHEN 'best_score' THEN
        SELECT m.id INTO chosen FROM triggerstock.models m
        WHERE m.symbol = deploy.symbol AND m.metrics ? 'log_loss' AND (m.metrics ->> 'log_loss') IS NOT NULL
        ORDER BY (m.metrics ->> 'log_loss')::float8, m.id DESC LIMIT 1;
        why := 'lowest test log loss';
    WHEN 'rollback' THEN
        SELECT d.model_id INTO chosen FROM triggerstock.deployments d
        WHERE d.symbol = deploy.symbol AND d.model_id IS DISTINCT FROM current
        ORDER BY d.id DESC LIMIT 1;
        IF chosen IS NULL THEN
            RAISE EXCEPTION 'nothing to roll back to for symbol "%"', symbol
                USING ERRCODE = 'no_data_found',
                      HINT = 'Rollback needs an earlier deployment of another model.';
        END IF;
        why := format('rollback from model %s', current);
    ELSE
        RAISE EXCEPTION 'unknown deployment strategy "%"', strategy
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Use best_score, most_recent or rollback, or deploy(model_id).';
    END CASE;
    IF chosen IS NOT DISTINCT FROM current THEN
        RAISE NOTICE 'model % is already deployed for "%"', chosen, symbol;
        RETURN chosen;
    END IF;
    INSERT INTO triggerstock.deployments (symbol, model_id, strategy, reason)
    VALUES (symbol, chosen, strategy, why);
    RETURN chosen;
END
$$;
COMMENT ON FUNCTION @extschema@.deploy(text, text) IS
'deploys a model of symbol: most_recent (newest), best_score (lowest test log loss; windows differ between models), rollback (the model of the latest deployment that is not the current one; twice returns to where it started); returns the model id; a no-op with a NOTICE when it is already deployed';

CREATE VIEW triggerstock.deployed AS
SELECT DISTINCT ON (d.symbol) d.symbol, d.model_id, m.sha256, d.strategy, d.deployed_at,
       m.width, m.horizon, m.metrics
FROM triggerstock.deployments d JOIN triggerstock.models m ON m.id = d.model_id
ORDER BY d.symbol, d.id DESC;
COMMENT ON VIEW triggerstock.deployed IS 'the deployed model of each symbol with its test metrics';

CREATE VIEW triggerstock.latest_predictions AS
SELECT DISTINCT ON (symbol) symbol, bucket, probability, fallback_level, model_id, model_sha256,
       latency_us, predicted_at
FROM triggerstock.predictions
ORDER BY symbol, bucket DESC;
COMMENT ON VIEW triggerstock.latest_predictions IS 'the newest row of triggerstock.predictions per symbol';

CREATE VIEW triggerstock.model_live_metrics AS
SELECT symbol, model_id, model_sha256,
       count(*) AS n,
       avg(((probability >= 0.5) = outcome)::int) AS accuracy,
       -avg(CASE WHEN outcome THEN ln(greatest(probability, 1e-15))
                 ELSE ln(greatest(1 - probability, 1e-15)) END) AS log_loss,
       avg(outcome::int) AS base_rate,
       greatest(avg(outcome::int), 1 - avg(outcome::int)) AS majority_accuracy,
       min(bucket) AS since, max(bucket) AS until
FROM (SELECT p.*, row_number() OVER (PARTITION BY symbol ORDER BY bucket DESC) AS age
      FROM triggerstock.predictions p
      WHERE outcome IS NOT NULL AND probability IS NOT NULL AND fallback_level = 'model') r
WHERE age <= 1440
GROUP BY symbol, model_id, model_sha256;
COMMENT ON VIEW triggerstock.model_live_metrics IS
'rolling live quality per symbol and model over the last 1440 realised model predictions: accuracy and log loss beside the realised base rate and the (hindsight) majority-class accuracy';

------------------------------------------------------------------------------
-- The workers the launcher runs, now that every kind's tables exist: the poll
-- worker while a feed or quote source is enabled, one ingest worker per
-- enabled source, and the predictor while any deployment exists.
------------------------------------------------------------------------------
CREATE OR REPLACE VIEW triggerstock.worker_plan AS
SELECT 'poll'::text AS kind, 0 AS id
WHERE EXISTS (SELECT 1 FROM triggerstock.feeds WHERE enabled)
   OR EXISTS (SELECT 1 FROM triggerstock.quote_sources WHERE enabled)
UNION ALL
SELECT 'ingest', s.id FROM triggerstock.sources s WHERE s.enabled
UNION ALL
SELECT 'predictor', 1
WHERE EXISTS (SELECT 1 FROM triggerstock.deployments);
COMMENT ON VIEW triggerstock.worker_plan IS
'the dynamic background workers the launcher keeps running, one per (kind, id)';
