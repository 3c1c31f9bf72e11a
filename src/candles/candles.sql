------------------------------------------------------------------------------
-- src/candles/candles.sql
-- Candles: the ohlcv type and aggregates, trade storage (daily partitions,
-- retention) and the stored 1-minute candles with their coarser views.
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
    close_time  timestamptz,
    open_seq    bigint,
    close_seq   bigint,
    sums        bytea
);
COMMENT ON TYPE @extschema@.ohlcv IS
'One candle: open/close are the earliest/latest trade by (ts, seq), vwap = sum(price*qty)/sum(qty) (NULL when volume is 0), open_time/close_time the times of the first and last trade, open_seq/close_seq their seq (trade id), sums the exact sums that let rollup() merge candles bit for bit';
COMMENT ON COLUMN @extschema@.ohlcv.open_seq IS 'seq (trade id) of the open trade: with open_time it places the open when candles are merged';
COMMENT ON COLUMN @extschema@.ohlcv.close_seq IS 'seq (trade id) of the close trade';
COMMENT ON COLUMN @extschema@.ohlcv.sums IS 'exact sums of qty and of price*qty (canonical binary form, 2^-160 fixed point); volume and vwap are these sums rounded; NULL for a candle made elsewhere, which rollup() then takes from volume and vwap';

CREATE FUNCTION @extschema@.ohlcv_trade_sfunc(internal, timestamptz, float8, float8)
RETURNS internal AS 'MODULE_PATHNAME', 'ohlcv_trade_sfunc'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.ohlcv_trade_sfunc(internal, timestamptz, float8, float8) IS
'transition function of aggregate ohlcv(ts, price, qty)';

CREATE FUNCTION @extschema@.ohlcv_trade_sfunc(internal, timestamptz, float8, float8, bigint)
RETURNS internal AS 'MODULE_PATHNAME', 'ohlcv_trade_sfunc'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.ohlcv_trade_sfunc(internal, timestamptz, float8, float8, bigint) IS
'transition function of aggregate ohlcv(ts, price, qty, seq)';

CREATE FUNCTION @extschema@.ohlcv_rollup_sfunc(internal, @extschema@.ohlcv)
RETURNS internal AS 'MODULE_PATHNAME', 'ohlcv_rollup_sfunc'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.ohlcv_rollup_sfunc(internal, @extschema@.ohlcv) IS
'transition function of aggregate rollup(ohlcv)';

CREATE FUNCTION @extschema@.ohlcv_combine(internal, internal)
RETURNS internal AS 'MODULE_PATHNAME', 'ohlcv_combine'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.ohlcv_combine(internal, internal) IS
'combine function of aggregates ohlcv and rollup (parallel aggregation)';

CREATE FUNCTION @extschema@.ohlcv_serialize(internal)
RETURNS bytea AS 'MODULE_PATHNAME', 'ohlcv_serialize'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.ohlcv_serialize(internal) IS
'serialization function of aggregates ohlcv and rollup';

CREATE FUNCTION @extschema@.ohlcv_deserialize(bytea, internal)
RETURNS internal AS 'MODULE_PATHNAME', 'ohlcv_deserialize'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.ohlcv_deserialize(bytea, internal) IS
'deserialization function of aggregates ohlcv and rollup';

CREATE FUNCTION @extschema@.ohlcv_final(internal)
RETURNS @extschema@.ohlcv AS 'MODULE_PATHNAME', 'ohlcv_final'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
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
'candles of candles (1m -> 5m -> 1h), also of candles of the same period: open/close from the earliest/latest candle by (open_time, open_seq)/(close_time, close_seq), exact sums added, so every field equals ohlcv() over all the trades; candles without sums use volume and vwap; NULL candles are skipped';

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
    received_at timestamptz NOT NULL DEFAULT now(),
    market      text NOT NULL DEFAULT 'spot'
) PARTITION BY RANGE (ts);
CREATE TABLE triggerstock.trades_default PARTITION OF triggerstock.trades DEFAULT;

-- The unique key and indexes live on each partition, not on the parent: a
-- parent index would be recreated by CREATE EXTENSION during a restore and
-- then collide with the partition indexes that pg_dump restores.  Since ts is
-- part of the key and partitions do not overlap in ts, per-partition unique
-- keys are one global unique key.
CREATE FUNCTION @extschema@.trade_partition_indexes(partition regclass)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    name text := (SELECT c.relname FROM pg_catalog.pg_class c WHERE c.oid = partition);
BEGIN
    EXECUTE pg_catalog.format('ALTER TABLE %s ADD CONSTRAINT %I UNIQUE (exchange, market, instrument, trade_id, ts)',
                              partition, name || '_unique');
    EXECUTE pg_catalog.format('CREATE INDEX %I ON %s (symbol, ts)', name || '_symbol_ts', partition);
    EXECUTE pg_catalog.format('CREATE INDEX %I ON %s USING brin (received_at)', name || '_received_at', partition);
END
$$;
COMMENT ON FUNCTION @extschema@.trade_partition_indexes(regclass) IS
'gives a trade partition its unique key (exchange, market, instrument, trade_id, ts) and its indexes on (symbol, ts) and received_at; create_partitions() calls it, call it for partitions made by hand';
SELECT @extschema@.trade_partition_indexes('triggerstock.trades_default');

COMMENT ON TABLE triggerstock.trades IS
'executed trades, one partition per UTC day (created ahead by maintain()), each unique on (exchange, market, instrument, trade_id, ts); trades_default catches rows of days without a partition';
COMMENT ON COLUMN triggerstock.trades.exchange IS 'exchange the trade comes from (binance, coinbase, ...)';
COMMENT ON COLUMN triggerstock.trades.instrument IS 'the exchange''s own instrument name (BTCUSDT, XBT/USD, BTC-USD)';
COMMENT ON COLUMN triggerstock.trades.symbol IS 'canonical symbol (BTC) that candles and models use';
COMMENT ON COLUMN triggerstock.trades.trade_id IS 'exchange trade id, or a stable id derived from the trade where the feed has none';
COMMENT ON COLUMN triggerstock.trades.ts IS 'trade time at the exchange';
COMMENT ON COLUMN triggerstock.trades.side IS 'taker side: buy or sell, NULL when the feed does not say';
COMMENT ON COLUMN triggerstock.trades.received_at IS 'when the trade was stored; refresh_candles(since) looks at it';
COMMENT ON COLUMN triggerstock.trades.market IS 'market type at the exchange (spot, usdm, coinm, futures, ...; sources.market): with exchange and instrument it names the market, so two markets never share a trade key';
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
    open_seq    bigint,
    close_seq   bigint,
    sums        bytea,
    origin      text NOT NULL DEFAULT 'trades' CONSTRAINT candles_origin_valid
                    CHECK (origin = 'trades' OR origin ~ '^(rest|file):[a-z0-9_]+$'),
    PRIMARY KEY (symbol, width, bucket)
);
COMMENT ON TABLE triggerstock.candles IS
'1-minute candles per symbol, kept by the ingest workers and refresh_candles() through store_candles(); coarser widths come from candles(width) and the candles_5m/15m/1h/1d views; retention() never touches it';
COMMENT ON COLUMN triggerstock.candles.open_seq IS 'seq (trade id) of the open trade; NULL for candles loaded from elsewhere';
COMMENT ON COLUMN triggerstock.candles.close_seq IS 'seq (trade id) of the close trade; NULL for candles loaded from elsewhere';
COMMENT ON COLUMN triggerstock.candles.sums IS 'exact sums of qty and price*qty (see type ohlcv); NULL for candles loaded from elsewhere';
COMMENT ON COLUMN triggerstock.candles.origin IS
'trades: computed from the stored trades (ingest, refresh_candles, backfilled or imported trades); rest:<endpoint>: an exchange''s candle from a backfill job; file:<format>: from import_candles(); exchange and file candles never replace a candle computed from trades, trades always replace them';

SELECT pg_catalog.pg_extension_config_dump('triggerstock.trades_default', '');
SELECT pg_catalog.pg_extension_config_dump('triggerstock.candles', '');

------------------------------------------------------------------------------
-- Partitions and retention
------------------------------------------------------------------------------

CREATE FUNCTION @extschema@.trade_partitions()
RETURNS TABLE (partition regclass, range_from timestamptz, range_to timestamptz)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp AS $$
    SELECT c.oid::pg_catalog.regclass,
           coalesce(substring(b.expr FROM $r$FROM \('([^']*)'\)$r$)::pg_catalog.timestamptz, '-infinity'),
           coalesce(substring(b.expr FROM $r$TO \('([^']*)'\)$r$)::pg_catalog.timestamptz, 'infinity')
    FROM pg_catalog.pg_inherits i
    JOIN pg_catalog.pg_class c ON c.oid = i.inhrelid
    CROSS JOIN LATERAL (SELECT pg_catalog.pg_get_expr(c.relpartbound, c.oid) AS expr) b
    WHERE i.inhparent = 'triggerstock.trades'::pg_catalog.regclass
      AND b.expr <> 'DEFAULT'
    ORDER BY 2
$$;
COMMENT ON FUNCTION @extschema@.trade_partitions() IS
'the range partitions of triggerstock.trades with their bounds, oldest first (the default partition is not listed)';

CREATE FUNCTION @extschema@.create_partitions(range_from timestamptz, range_to timestamptz)
RETURNS SETOF text
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    day  timestamptz;
    name text;
BEGIN
    IF range_from IS NULL OR range_to IS NULL OR range_to < range_from
       OR NOT pg_catalog.isfinite(range_from) OR NOT pg_catalog.isfinite(range_to) THEN
        RAISE EXCEPTION 'invalid partition range from % to %', range_from, range_to
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Give two finite timestamps, the first not after the second.';
    END IF;
    -- in seconds: the interval of two extreme timestamps overflows
    IF pg_catalog.date_part('epoch', range_to) - pg_catalog.date_part('epoch', range_from) > 3660 * 86400 THEN
        RAISE EXCEPTION 'partition range from % to % spans more than 3660 days', range_from, range_to
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Create partitions for a shorter range at a time.';
    END IF;

    -- one creator at a time, so concurrent callers never race on a day
    PERFORM pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtext('triggerstock.create_partitions'));

    day := pg_catalog.date_bin(interval '1 day', range_from, timestamp with time zone 'epoch');
    WHILE day <= range_to LOOP
        IF NOT EXISTS (SELECT 1 FROM @extschema@.trade_partitions() p
                       WHERE p.range_from <= day AND p.range_to >= day + interval '24 hours') THEN
            name := 'trades_p' || pg_catalog.to_char(day AT TIME ZONE 'UTC', 'YYYYMMDD');
            -- rows of this day that went to the default partition move with it
            EXECUTE pg_catalog.format('CREATE TABLE triggerstock.%I (LIKE triggerstock.trades INCLUDING DEFAULTS INCLUDING CONSTRAINTS)', name);
            EXECUTE pg_catalog.format('WITH moved AS (DELETE FROM triggerstock.trades_default WHERE ts >= $1 AND ts < $2 RETURNING *) '
                                      'INSERT INTO triggerstock.%I SELECT * FROM moved', name)
                USING day, day + interval '24 hours';
            PERFORM @extschema@.trade_partition_indexes(pg_catalog.format('triggerstock.%I', name)::pg_catalog.regclass);
            EXECUTE pg_catalog.format('ALTER TABLE triggerstock.trades ATTACH PARTITION triggerstock.%I FOR VALUES FROM (%L) TO (%L)',
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
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    ahead   integer := coalesce(nullif(pg_catalog.current_setting('triggerstock.partitions_ahead', true), '')::integer, 7);
    created integer;
    stray   timestamptz;
BEGIN
    SELECT pg_catalog.count(*) INTO created
    FROM @extschema@.create_partitions(pg_catalog.now(), pg_catalog.now() + pg_catalog.make_interval(days => ahead));
    FOR stray IN SELECT DISTINCT pg_catalog.date_bin(interval '1 day', d.ts, timestamp with time zone 'epoch')
                 FROM triggerstock.trades_default d LOOP
        created := created + (SELECT pg_catalog.count(*) FROM @extschema@.create_partitions(stray, stray));
    END LOOP;
    -- order books (issue 17): the same days ahead, the same stray rule
    created := created + (SELECT pg_catalog.count(*)
                          FROM @extschema@.create_book_partitions(pg_catalog.now(), pg_catalog.now() + pg_catalog.make_interval(days => ahead)));
    FOR stray IN SELECT DISTINCT pg_catalog.date_bin(interval '1 day', d.ts, timestamp with time zone 'epoch')
                 FROM triggerstock.book_snapshots_default d LOOP
        created := created + (SELECT pg_catalog.count(*) FROM @extschema@.create_book_partitions(stray, stray));
    END LOOP;
    RETURN created;
END
$$;
COMMENT ON FUNCTION @extschema@.maintain() IS
'the launcher''s periodic pass: creates trade and book_snapshots partitions for today and triggerstock.partitions_ahead days ahead, and gives every day found in a default partition its own partition; returns the number of partitions created';

-- SECURITY DEFINER: triggerstock_admin runs it without owning the partitions
-- (the launcher creates them); it drops only what trade_partitions() and
-- book_partitions() list.
CREATE FUNCTION @extschema@.retention(keep interval)
RETURNS TABLE (partition_name text, range_from timestamptz, range_to timestamptz)
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp AS $$
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
    cutoff := pg_catalog.now() - keep;
    FOR part IN SELECT * FROM @extschema@.trade_partitions() p WHERE p.range_to <= cutoff LOOP
        partition_name := part.partition::text;
        EXECUTE pg_catalog.format('DROP TABLE %s', partition_name);
        range_from := part.range_from;
        range_to := part.range_to;
        RETURN NEXT;
    END LOOP;
    DELETE FROM triggerstock.trades_default d WHERE d.ts < cutoff;
    GET DIAGNOSTICS deleted = ROW_COUNT;
    IF deleted > 0 THEN
        partition_name := 'triggerstock.trades_default';
        range_from := NULL;
        range_to := cutoff;
        RETURN NEXT;
    END IF;
    -- order books (issue 17) keep what trades keep
    RETURN QUERY SELECT * FROM @extschema@.book_retention(keep);
END
$$;
COMMENT ON FUNCTION @extschema@.retention(interval) IS
'drops whole trade and book_snapshots partitions that end at or before now() - keep (no VACUUM FULL, no row-by-row delete), and deletes older stray rows of the default partitions; candles are kept; returns what it dropped';

------------------------------------------------------------------------------
-- Candles
------------------------------------------------------------------------------

CREATE FUNCTION @extschema@.store_candles(symbols text[], buckets timestamptz[],
                                          candles @extschema@.ohlcv[], replace boolean DEFAULT false)
RETURNS bigint
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    written bigint;
BEGIN
    IF pg_catalog.cardinality(symbols) IS DISTINCT FROM pg_catalog.cardinality(buckets)
       OR pg_catalog.cardinality(symbols) IS DISTINCT FROM pg_catalog.cardinality(candles) THEN
        RAISE EXCEPTION 'store_candles needs as many buckets and candles as symbols'
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Pass three arrays of the same length: symbol, minute and candle of each bucket.';
    END IF;
    IF EXISTS (SELECT FROM (SELECT symbols[i] AS symbol, buckets[i] AS bucket, candles[i] AS c
                            FROM pg_catalog.generate_subscripts(symbols, 1) AS i) u
               WHERE u.c IS DISTINCT FROM NULL
                 AND (u.symbol IS NULL OR u.bucket IS NULL
                      OR u.bucket OPERATOR(pg_catalog.<>) pg_catalog.date_bin('1 minute', u.bucket, TIMESTAMPTZ 'epoch')
                      OR (u.c).open_time OPERATOR(pg_catalog.<) u.bucket
                      OR (u.c).close_time OPERATOR(pg_catalog.>=) (u.bucket OPERATOR(pg_catalog.+) interval '1 minute'))) THEN
        RAISE EXCEPTION 'store_candles got a candle outside its 1-minute bucket'
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Each bucket is the start of a minute (date_bin(''1 minute'', ts, TIMESTAMPTZ ''epoch'')) holding its candle''s open_time and close_time.';
    END IF;
    IF replace THEN
        INSERT INTO triggerstock.candles AS k
            (symbol, width, bucket, open, high, low, close, volume, vwap, trades, open_time, close_time,
             open_seq, close_seq, sums, origin)
        SELECT u.symbol, interval '1 minute', u.bucket, (u.c).open, (u.c).high, (u.c).low, (u.c).close,
               (u.c).volume, (u.c).vwap, (u.c).trades, (u.c).open_time, (u.c).close_time,
               (u.c).open_seq, (u.c).close_seq, (u.c).sums, 'trades'
        FROM (SELECT symbols[i] AS symbol, buckets[i] AS bucket, candles[i] AS c
              FROM pg_catalog.generate_subscripts(symbols, 1) AS i) u
        WHERE u.c IS DISTINCT FROM NULL
        ORDER BY u.symbol, u.bucket
        ON CONFLICT (symbol, width, bucket) DO UPDATE
           SET (open, high, low, close, volume, vwap, trades, open_time, close_time, open_seq, close_seq, sums,
                origin)
             = (EXCLUDED.open, EXCLUDED.high, EXCLUDED.low, EXCLUDED.close, EXCLUDED.volume, EXCLUDED.vwap,
                EXCLUDED.trades, EXCLUDED.open_time, EXCLUDED.close_time, EXCLUDED.open_seq,
                EXCLUDED.close_seq, EXCLUDED.sums, 'trades')
           WHERE (k.open, k.high, k.low, k.close, k.volume, k.vwap, k.trades, k.open_time, k.close_time,
                  k.open_seq, k.close_seq, k.sums, k.origin)
                 IS DISTINCT FROM
                 (EXCLUDED.open, EXCLUDED.high, EXCLUDED.low, EXCLUDED.close, EXCLUDED.volume,
                  EXCLUDED.vwap, EXCLUDED.trades, EXCLUDED.open_time, EXCLUDED.close_time,
                  EXCLUDED.open_seq, EXCLUDED.close_seq, EXCLUDED.sums, 'trades');
    ELSE
        INSERT INTO triggerstock.candles AS k
            (symbol, width, bucket, open, high, low, close, volume, vwap, trades, open_time, close_time,
             open_seq, close_seq, sums, origin)
        SELECT u.symbol, interval '1 minute', u.bucket, (u.c).open, (u.c).high, (u.c).low, (u.c).close,
               (u.c).volume, (u.c).vwap, (u.c).trades, (u.c).open_time, (u.c).close_time,
               (u.c).open_seq, (u.c).close_seq, (u.c).sums, 'trades'
        FROM (SELECT symbols[i] AS symbol, buckets[i] AS bucket, candles[i] AS c
              FROM pg_catalog.generate_subscripts(symbols, 1) AS i) u
        WHERE u.c IS DISTINCT FROM NULL
        ORDER BY u.symbol, u.bucket
        ON CONFLICT (symbol, width, bucket) DO UPDATE
           SET (open, high, low, close, volume, vwap, trades, open_time, close_time, open_seq, close_seq, sums,
                origin)
             = (SELECT (m).open, (m).high, (m).low, (m).close, (m).volume, (m).vwap, (m).trades,
                       (m).open_time, (m).close_time, (m).open_seq, (m).close_seq, (m).sums, 'trades'
                FROM (SELECT @extschema@.rollup(v.c) AS m
                      -- an exchange or file candle is replaced, not merged
                      FROM (VALUES (CASE WHEN k.origin OPERATOR(pg_catalog.=) 'trades' THEN
                                    ROW(k.open, k.high, k.low, k.close, k.volume, k.vwap, k.trades,
                                        k.open_time, k.close_time, k.open_seq, k.close_seq,
                                        k.sums)::@extschema@.ohlcv END),
                                   (ROW(EXCLUDED.open, EXCLUDED.high, EXCLUDED.low, EXCLUDED.close,
                                        EXCLUDED.volume, EXCLUDED.vwap, EXCLUDED.trades, EXCLUDED.open_time,
                                        EXCLUDED.close_time, EXCLUDED.open_seq, EXCLUDED.close_seq,
                                        EXCLUDED.sums)::@extschema@.ohlcv)) AS v(c)) AS r);
    END IF;
    GET DIAGNOSTICS written = ROW_COUNT;
    RETURN written;
END
$$;
COMMENT ON FUNCTION @extschema@.store_candles(text[], timestamptz[], @extschema@.ohlcv[], boolean) IS
'the one writer of 1-minute candles computed from trades (origin trades): upserts candles[i] as the candle of (symbols[i], minute buckets[i]) into triggerstock.candles, merged exactly with the stored candle (rollup) or, with replace, instead of it; an exchange or file candle of the minute is replaced, never merged; the ingest workers merge the candles of the trades each flush stored, refresh_candle_buckets() replaces; returns the number of candles written or changed';

CREATE FUNCTION @extschema@.refresh_candle_buckets(symbols text[], buckets timestamptz[])
RETURNS bigint
LANGUAGE sql
SET search_path = pg_catalog, pg_temp AS $$
    WITH touched AS (
        SELECT DISTINCT u.symbol, pg_catalog.date_bin(interval '1 minute', u.bucket, timestamp with time zone 'epoch') AS bucket
        FROM ROWS FROM (pg_catalog.unnest(symbols), pg_catalog.unnest(buckets)) AS u(symbol, bucket)
        WHERE u.symbol IS NOT NULL AND u.bucket IS NOT NULL
    ), fresh AS (
        SELECT b.symbol, b.bucket, @extschema@.ohlcv(t.ts, t.price, t.qty, t.trade_id) AS c
        FROM touched b
        JOIN triggerstock.trades t
          ON t.symbol OPERATOR(pg_catalog.=) b.symbol AND t.ts OPERATOR(pg_catalog.>=) b.bucket
         AND t.ts OPERATOR(pg_catalog.<) (b.bucket OPERATOR(pg_catalog.+) interval '1 minute')
        GROUP BY b.symbol, b.bucket
    )
    SELECT coalesce(@extschema@.store_candles(pg_catalog.array_agg(symbol), pg_catalog.array_agg(bucket),
                                              pg_catalog.array_agg(c), true), 0)
    FROM fresh
$$;
COMMENT ON FUNCTION @extschema@.refresh_candle_buckets(text[], timestamptz[]) IS
'recomputes from all their trades the 1-minute candles of the given (symbols[i], minute of buckets[i]) pairs and writes them with store_candles(..., replace => true; origin trades, in place of an exchange or file candle of the minute); idempotent; returns the number of candles written or changed';

CREATE FUNCTION @extschema@.refresh_candles(since timestamptz)
RETURNS bigint
LANGUAGE sql
SET search_path = pg_catalog, pg_temp AS $$
    SELECT @extschema@.refresh_candle_buckets(pg_catalog.array_agg(t.symbol), pg_catalog.array_agg(t.bucket))
    FROM (SELECT DISTINCT r.symbol, pg_catalog.date_bin(interval '1 minute', r.ts, timestamp with time zone 'epoch') AS bucket
          FROM triggerstock.trades r
          WHERE r.received_at >= since) t
$$;
COMMENT ON FUNCTION @extschema@.refresh_candles(timestamptz) IS
'recomputes from all their trades the 1-minute candles of every (symbol, minute) that has trades received at or after since (refresh_candle_buckets), and upserts them into triggerstock.candles; idempotent; returns the number of candles written or changed';

CREATE FUNCTION @extschema@.candle_width(width interval)
RETURNS interval
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp AS $$
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
               open_time timestamptz, close_time timestamptz,
               open_seq bigint, close_seq bigint, sums bytea)
LANGUAGE sql STABLE
-- BEGIN ATOMIC: bound to pg_catalog when created, and still inlined into
-- the caller's query (the candle views push their WHERE down into it)
BEGIN ATOMIC
    SELECT s.symbol, $1, s.bucket, (s.c).open, (s.c).high, (s.c).low, (s.c).close,
           (s.c).volume, (s.c).vwap, (s.c).trades, (s.c).open_time, (s.c).close_time,
           (s.c).open_seq, (s.c).close_seq, (s.c).sums
    FROM (SELECT k.symbol,
                 pg_catalog.date_bin(@extschema@.candle_width($1), k.bucket, timestamp with time zone 'epoch') AS bucket,
                 @extschema@.rollup(ROW(k.open, k.high, k.low, k.close, k.volume, k.vwap,
                                        k.trades, k.open_time, k.close_time,
                                        k.open_seq, k.close_seq, k.sums)::@extschema@.ohlcv) AS c
          FROM triggerstock.candles k
          WHERE k.width = interval '1 minute'
          GROUP BY 1, 2) s;
END;
COMMENT ON FUNCTION @extschema@.candles(interval) IS
'candles of any whole-minute width (buckets aligned to the Unix epoch, so days are UTC days), rolled up from the 1-minute candles with rollup(): every field equals ohlcv() over the trades of the bucket when the 1-minute candles carry their sums';

CREATE FUNCTION @extschema@.candle_warmup_start(symbol text, width interval, since timestamptz,
                                               warmup integer)
RETURNS timestamptz
LANGUAGE sql STABLE PARALLEL SAFE
BEGIN ATOMIC
    -- BEGIN ATOMIC: bound to pg_catalog and the extension's schema when
    -- created, whatever the caller's search_path.  -infinity: from the
    -- first candle.  The warmup-th bucket before since is found by walking
    -- back one index probe per bucket (width > 1 minute) or by an index
    -- scan of warmup entries (1 minute).
    SELECT CASE
        WHEN $3 IS NULL THEN timestamp with time zone '-infinity'
        WHEN $4 IS NULL OR $4 < 0 THEN NULL
        WHEN $4 = 0 THEN pg_catalog.date_bin(@extschema@.candle_width($2), $3, timestamp with time zone 'epoch')
        WHEN $2 = interval '1 minute' THEN LEAST(
            pg_catalog.date_bin(interval '1 day', $3, timestamp with time zone 'epoch'),
            coalesce((SELECT c.bucket FROM triggerstock.candles c
                      WHERE c.symbol = $1 AND c.width = interval '1 minute' AND c.bucket < $3
                      ORDER BY c.bucket DESC OFFSET $4 - 1 LIMIT 1), timestamp with time zone '-infinity'))
        ELSE LEAST(
            pg_catalog.date_bin(interval '1 day',
                                pg_catalog.date_bin(@extschema@.candle_width($2), $3, timestamp with time zone 'epoch'),
                                timestamp with time zone 'epoch'),
            (WITH RECURSIVE back(b, n) AS (
                 SELECT pg_catalog.date_bin(@extschema@.candle_width($2), $3, timestamp with time zone 'epoch'), 0
                 UNION ALL
                 SELECT pg_catalog.date_bin($2, p.prev, timestamp with time zone 'epoch'), back.n + 1
                 FROM back, LATERAL (SELECT pg_catalog.max(c.bucket) AS prev FROM triggerstock.candles c
                                     WHERE c.symbol = $1 AND c.width = interval '1 minute'
                                       AND c.bucket < back.b) p
                 WHERE back.n < $4 AND p.prev IS NOT NULL)
             SELECT CASE WHEN pg_catalog.max(back.n) = $4 THEN pg_catalog.min(back.b)
                         ELSE timestamp with time zone '-infinity' END
             FROM back))
    END;
END;
COMMENT ON FUNCTION @extschema@.candle_warmup_start(text, interval, timestamptz, integer) IS
'the first bucket to read so that indicators over the candles of symbol at width from since on have their warm-up: the warmup-th bucket before since, or the start of since''s UTC day (the session of a session VWAP), whichever is earlier; -infinity when since is NULL or the history is shorter (read from the first candle); since''s own bucket when warmup is 0';

CREATE FUNCTION @extschema@.candles(symbol text, width interval, since timestamptz,
                                    until timestamptz DEFAULT 'infinity', warmup integer DEFAULT 0)
RETURNS TABLE (symbol text, width interval, bucket timestamptz, open float8, high float8,
               low float8, close float8, volume float8, vwap float8, trades bigint,
               open_time timestamptz, close_time timestamptz, warmup boolean)
LANGUAGE sql STABLE PARALLEL UNSAFE
BEGIN ATOMIC
    -- Inlined into the caller's query (BEGIN ATOMIC: bound when created,
    -- and still inlined): the start is computed once (candle_warmup_start)
    -- and bounds an index range scan, so the cost is the rows returned,
    -- warm-up included, whatever the history length.
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
                           THEN coalesce($3, timestamp with time zone '-infinity')
                           ELSE @extschema@.candle_warmup_start($1, $2, $3, $5) END
      AND c.bucket < $4
    UNION ALL
    SELECT $1, $2, s.bucket, (s.c).open, (s.c).high, (s.c).low, (s.c).close, (s.c).volume,
           (s.c).vwap, (s.c).trades, (s.c).open_time, (s.c).close_time,
           coalesce(s.bucket < $3, false)
    FROM (SELECT pg_catalog.date_bin(@extschema@.candle_width($2), k.bucket, timestamp with time zone 'epoch') AS bucket,
                 @extschema@.rollup(ROW(k.open, k.high, k.low, k.close, k.volume, k.vwap,
                                        k.trades, k.open_time, k.close_time,
                                        k.open_seq, k.close_seq, k.sums)::@extschema@.ohlcv) AS c
          FROM triggerstock.candles k
          WHERE $2 <> interval '1 minute' AND k.symbol = $1 AND k.width = interval '1 minute'
            AND k.bucket >= CASE WHEN $5 = 0
                                 THEN coalesce(pg_catalog.date_bin(@extschema@.candle_width($2), $3,
                                                                   timestamp with time zone 'epoch'),
                                               timestamp with time zone '-infinity')
                                 ELSE @extschema@.candle_warmup_start($1, $2, $3, $5) END
            AND k.bucket < pg_catalog.date_bin(@extschema@.candle_width($2), $4, timestamp with time zone 'epoch')
          GROUP BY 1) s;
END;
COMMENT ON FUNCTION @extschema@.candles(text, interval, timestamptz, timestamptz, integer) IS
$c$the candles of one symbol at any whole-minute width (rolled up from the 1-minute candles exactly as candles(width) does) with since <= bucket < until, plus `warmup` buckets of warm-up before since (and back to the start of since's UTC day), flagged by the column warmup; cost in proportion to the rows returned, not to the history.  Indicators over a time range with correct warm-up:
  SELECT bucket, rsi FROM (SELECT bucket, warmup, rsi(close, 14) OVER (ORDER BY bucket) AS rsi
                           FROM candles('BTC', '1 minute', now() - interval '6 hours', warmup => 1000)) s
  WHERE NOT warmup;
since NULL reads from the first candle; warmup 1000 makes the exponential indicators (rsi, macd, atr, adx) equal their full-history values (README "Indicators over a time range").$c$;

CREATE VIEW triggerstock.candles_5m AS SELECT * FROM @extschema@.candles('5 minutes');
CREATE VIEW triggerstock.candles_15m AS SELECT * FROM @extschema@.candles('15 minutes');
CREATE VIEW triggerstock.candles_1h AS SELECT * FROM @extschema@.candles('1 hour');
CREATE VIEW triggerstock.candles_1d AS SELECT * FROM @extschema@.candles('1 day');
COMMENT ON VIEW triggerstock.candles_5m IS '5-minute candles rolled up from triggerstock.candles';
COMMENT ON VIEW triggerstock.candles_15m IS '15-minute candles rolled up from triggerstock.candles';
COMMENT ON VIEW triggerstock.candles_1h IS '1-hour candles rolled up from triggerstock.candles';
COMMENT ON VIEW triggerstock.candles_1d IS '1-day (UTC) candles rolled up from triggerstock.candles';

------------------------------------------------------------------------------
-- Completeness (issue 11): ONE definition, in C (src/candles/complete.c),
-- used by train(), predict(), the predictor worker and the online features.
-- A bucket of any width is complete when its end has passed the symbol's
-- watermark: the time of the newest 1-minute candle's last trade
-- (close_time), capped at now().  Data, not the clock, decides: the newest
-- candle is complete only once data after its end has arrived, and
-- historical candles are judged the same way as live ones.  The newest
-- trade's time equals that close_time because the ingest flush merges trades
-- into their candles in the same transaction.
------------------------------------------------------------------------------

CREATE FUNCTION @extschema@.watermark(symbol text)
RETURNS timestamptz AS 'MODULE_PATHNAME', 'candle_watermark'
LANGUAGE C STABLE STRICT;
COMMENT ON FUNCTION @extschema@.watermark(text) IS
'the newest time for which the data of symbol is known: close_time (last trade) of its newest 1-minute candle, capped at now(); NULL without candles; a bucket is complete when bucket + width <= watermark (last_complete_bucket)';

CREATE FUNCTION @extschema@.last_complete_bucket(symbol text, width interval)
RETURNS timestamptz AS 'MODULE_PATHNAME', 'candle_last_complete_bucket'
LANGUAGE C STABLE STRICT;
COMMENT ON FUNCTION @extschema@.last_complete_bucket(text, interval) IS
'start of the newest complete bucket of this width that holds a candle of symbol: the newest b with b + width <= watermark(symbol) (buckets aligned to the Unix epoch, as candles(width)); train() learns and predict() and the predictor worker score only buckets up to it; NULL when there is none';

CREATE FUNCTION @extschema@.bucket_close(symbol text, width interval, bucket timestamptz)
RETURNS float8
LANGUAGE sql STABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp AS $$
    SELECT (@extschema@.rollup(ROW(k.open, k.high, k.low, k.close, k.volume, k.vwap, k.trades,
                                   k.open_time, k.close_time, k.open_seq, k.close_seq,
                                   k.sums)::@extschema@.ohlcv)).close
    FROM triggerstock.candles k
    WHERE k.symbol OPERATOR(pg_catalog.=) $1
      AND k.width OPERATOR(pg_catalog.=) pg_catalog.interval '1 minute'
      AND k.bucket OPERATOR(pg_catalog.>=) $3
      AND k.bucket OPERATOR(pg_catalog.<) ($3 OPERATOR(pg_catalog.+) @extschema@.candle_width($2))
$$;
COMMENT ON FUNCTION @extschema@.bucket_close(text, interval, timestamptz) IS
'close of the candle of symbol at this width starting at bucket (as candles(width) gives it: rollup() of its 1-minute candles); NULL when it holds none';

CREATE FUNCTION @extschema@.bucket_ahead(symbol text, width interval, bucket timestamptz, n integer)
RETURNS timestamptz
LANGUAGE sql STABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp AS $$
    -- n index probes: each step jumps to the next bucket of this width
    -- holding a 1-minute candle (buckets without candles are no rows of
    -- features(), so they are skipped exactly as the training labels skip them)
    WITH RECURSIVE step(i, b) AS (
        SELECT 0, pg_catalog.date_bin(@extschema@.candle_width($2), $3, pg_catalog.timestamptz 'epoch')
        UNION ALL
        SELECT s.i OPERATOR(pg_catalog.+) 1,
               (SELECT pg_catalog.date_bin(@extschema@.candle_width($2), c.bucket, pg_catalog.timestamptz 'epoch')
                FROM triggerstock.candles c
                WHERE c.symbol OPERATOR(pg_catalog.=) $1
                  AND c.width OPERATOR(pg_catalog.=) pg_catalog.interval '1 minute'
                  AND c.bucket OPERATOR(pg_catalog.>=) (s.b OPERATOR(pg_catalog.+) $2)
                ORDER BY c.bucket LIMIT 1)
        FROM step s
        WHERE s.i OPERATOR(pg_catalog.<) $4 AND s.b IS NOT NULL
    )
    SELECT s.b FROM step s WHERE s.i OPERATOR(pg_catalog.=) $4
$$;
COMMENT ON FUNCTION @extschema@.bucket_ahead(text, interval, timestamptz, integer) IS
'start of the n-th bucket of this width after bucket that holds a candle of symbol, i.e. the features() row n rows later (the row whose close labels a horizon-n model); NULL when there is none yet';
