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
    SSPACE = 176,
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
    SSPACE = 176,
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
    SSPACE = 176,
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
CREATE OR REPLACE VIEW triggerstock.worker_plan AS
SELECT NULL::text AS kind, NULL::integer AS id WHERE false
UNION ALL
SELECT 'ingest', s.id FROM triggerstock.sources s WHERE s.enabled;

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
