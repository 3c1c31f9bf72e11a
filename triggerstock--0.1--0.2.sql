/* triggerstock--0.1--0.2.sql: upgrade a 0.1 database to 0.2 */

\echo Use "ALTER EXTENSION triggerstock UPDATE TO '0.2'" to load this file. \quit

-- Every SQL change of 0.2 is made here and in the pieces of the 0.2 install
-- script (SQL_PIECES in the Makefile); test/t/002_upgrade.pl checks that a
-- 0.1 database updated with this file equals a fresh 0.2 install.

-- Issue 9 (layout): the schema's comment names all it holds.
COMMENT ON SCHEMA triggerstock IS
'triggerstock data: trades, candles, news, sources, models and their configuration, status and views';

------------------------------------------------------------------------------
-- Issue 12 (security): no function of the extension resolves a name through
-- a schema others may write.  SQL and PL/pgSQL functions run with
-- search_path = pg_catalog, pg_temp (or, to stay inlinable, have a
-- BEGIN ATOMIC body bound when it is created) and qualify what they call;
-- retention() becomes SECURITY DEFINER for triggerstock_admin.
-- SET LOCAL: ALTER EXTENSION restores the caller's search_path afterwards.
------------------------------------------------------------------------------
SET LOCAL search_path = pg_catalog, pg_temp;

CREATE OR REPLACE FUNCTION @extschema@.trade_partition_indexes(partition regclass)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    name text := (SELECT c.relname FROM pg_catalog.pg_class c WHERE c.oid = partition);
BEGIN
    EXECUTE pg_catalog.format('ALTER TABLE %s ADD CONSTRAINT %I UNIQUE (exchange, instrument, trade_id, ts)',
                              partition, name || '_unique');
    EXECUTE pg_catalog.format('CREATE INDEX %I ON %s (symbol, ts)', name || '_symbol_ts', partition);
    EXECUTE pg_catalog.format('CREATE INDEX %I ON %s USING brin (received_at)', name || '_received_at', partition);
END
$$;

CREATE OR REPLACE FUNCTION @extschema@.trade_partitions()
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

CREATE OR REPLACE FUNCTION @extschema@.create_partitions(range_from timestamptz, range_to timestamptz)
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

CREATE OR REPLACE FUNCTION @extschema@.maintain()
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
    RETURN created;
END
$$;

CREATE OR REPLACE FUNCTION @extschema@.retention(keep interval)
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
END
$$;

CREATE OR REPLACE FUNCTION @extschema@.refresh_candle_buckets(symbols text[], buckets timestamptz[])
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
    SELECT pg_catalog.count(*) FROM written
$$;

CREATE OR REPLACE FUNCTION @extschema@.refresh_candles(since timestamptz)
RETURNS bigint
LANGUAGE sql
SET search_path = pg_catalog, pg_temp AS $$
    SELECT @extschema@.refresh_candle_buckets(pg_catalog.array_agg(t.symbol), pg_catalog.array_agg(t.bucket))
    FROM (SELECT DISTINCT r.symbol, pg_catalog.date_bin(interval '1 minute', r.ts, timestamp with time zone 'epoch') AS bucket
          FROM triggerstock.trades r
          WHERE r.received_at >= since) t
$$;

CREATE OR REPLACE FUNCTION @extschema@.candle_width(width interval)
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

CREATE OR REPLACE FUNCTION @extschema@.candles(width interval)
RETURNS TABLE (symbol text, width interval, bucket timestamptz, open float8, high float8,
               low float8, close float8, volume float8, vwap float8, trades bigint,
               open_time timestamptz, close_time timestamptz)
LANGUAGE sql STABLE
-- BEGIN ATOMIC: bound to pg_catalog when created, and still inlined into
-- the caller's query (the candle views push their WHERE down into it)
BEGIN ATOMIC
    SELECT s.symbol, $1, s.bucket, (s.c).open, (s.c).high, (s.c).low, (s.c).close,
           (s.c).volume, (s.c).vwap, (s.c).trades, (s.c).open_time, (s.c).close_time
    FROM (SELECT k.symbol,
                 pg_catalog.date_bin(@extschema@.candle_width($1), k.bucket, timestamp with time zone 'epoch') AS bucket,
                 @extschema@.rollup(ROW(k.open, k.high, k.low, k.close, k.volume, k.vwap,
                                        k.trades, k.open_time, k.close_time)::@extschema@.ohlcv) AS c
          FROM triggerstock.candles k
          WHERE k.width = interval '1 minute'
          GROUP BY 1, 2) s;
END;

CREATE OR REPLACE FUNCTION @extschema@.add_source(
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
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    new_id integer;
BEGIN
    IF exchange IS NULL OR pg_catalog.lower(exchange) NOT IN ('binance', 'coinbase', 'kraken', 'finnhub', 'generic') THEN
        RAISE EXCEPTION 'unknown exchange "%"', exchange
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Use binance, coinbase, kraken, finnhub or generic.';
    END IF;
    IF url IS NULL OR url !~ '^wss?://[^/?#]+' THEN
        RAISE EXCEPTION 'invalid WebSocket URL "%"', url
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Give a ws:// or wss:// URL, such as wss://stream.binance.com:9443.';
    END IF;
    IF instruments IS NULL OR pg_catalog.cardinality(instruments) = 0 THEN
        RAISE EXCEPTION 'a source needs at least one instrument'
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'For example ARRAY[''BTCUSDT'', ''ETHUSDT''].';
    END IF;
    IF symbols IS NOT NULL AND pg_catalog.cardinality(symbols) <> pg_catalog.cardinality(instruments) THEN
        RAISE EXCEPTION 'got % symbols for % instruments', pg_catalog.cardinality(symbols), pg_catalog.cardinality(instruments)
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Give one symbol per instrument, NULL for the default.';
    END IF;
    INSERT INTO triggerstock.sources AS s
        (name, exchange, url, instruments, symbols, enabled, active_days, active_from, active_until, options)
    VALUES (add_source.name, pg_catalog.lower(add_source.exchange), add_source.url, add_source.instruments,
            ARRAY(SELECT coalesce(add_source.symbols[i], @extschema@.canonical_symbol(add_source.instruments[i]))
                  FROM pg_catalog.generate_subscripts(add_source.instruments, 1) i ORDER BY i),
            add_source.enabled, add_source.active_days, add_source.active_from, add_source.active_until,
            coalesce(add_source.options, '{}'))
    RETURNING s.id INTO new_id;
    IF token IS NOT NULL THEN
        INSERT INTO triggerstock.source_secrets (source, secrets)
        VALUES (new_id, pg_catalog.jsonb_build_object('token', token));
    END IF;
    RETURN new_id;
END
$$;

CREATE OR REPLACE FUNCTION @extschema@.add_feed(url text, poll_interval interval DEFAULT '5 minutes')
RETURNS integer
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp AS $$
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

CREATE OR REPLACE FUNCTION @extschema@.add_quote_source(url text, symbol text, options jsonb DEFAULT '{}',
                                             poll_interval interval DEFAULT '5 seconds')
RETURNS integer
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    source_id integer;
BEGIN
    IF url IS NULL OR url !~* '^https?://[^/?#\s]+' THEN
        RAISE EXCEPTION 'quote URL "%" is not an http or https URL', url
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Give an absolute URL starting with http:// or https://.';
    END IF;
    IF options IS NULL OR pg_catalog.jsonb_typeof(options) <> 'object' THEN
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

CREATE OR REPLACE FUNCTION @extschema@.models_immutable()
RETURNS trigger LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    RAISE EXCEPTION 'triggerstock.% rows cannot be changed', TG_TABLE_NAME
        USING ERRCODE = 'object_not_in_prerequisite_state',
              HINT = CASE TG_TABLE_NAME WHEN 'deployments'
                          THEN 'Deployments are an append-only history: call deploy() to change the deployed model.'
                          ELSE 'Train a new model instead; a model id always names the same bytes.' END;
END
$$;

CREATE OR REPLACE FUNCTION @extschema@.deploy(model_id bigint)
RETURNS bigint
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp AS $$
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

CREATE OR REPLACE FUNCTION @extschema@.deploy(symbol text, strategy text)
RETURNS bigint
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp AS $$
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
                  HINT = pg_catalog.format('Train one first: SELECT train(%L).', symbol);
    END IF;
    CASE strategy
    WHEN 'most_recent' THEN
        SELECT m.id INTO chosen FROM triggerstock.models m
        WHERE m.symbol = deploy.symbol ORDER BY m.id DESC LIMIT 1;
        why := 'newest model';
    WHEN 'best_score' THEN
        SELECT m.id INTO chosen FROM triggerstock.models m
        WHERE m.symbol = deploy.symbol AND m.metrics ? 'log_loss' AND (m.metrics ->> 'log_loss') IS NOT NULL
        ORDER BY (m.metrics ->> 'log_loss')::double precision, m.id DESC LIMIT 1;
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
        why := pg_catalog.format('rollback from model %s', current);
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

-- (features() is bound to candles(): it is redefined after candles() in
-- the issue 10 section)


-- Issue 12: lengths of a source's configuration are checked where it enters.
-- Lengths are checked where the configuration enters: the worker copies
-- these into buffers of fixed size (bgworker/ingest_ws.c checks them again).
CREATE FUNCTION @extschema@.sources_check()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    bad text;
BEGIN
    IF pg_catalog.octet_length(NEW.url) > 2048 THEN
        RAISE EXCEPTION 'source URL of % bytes exceeds the limit of 2048 bytes', pg_catalog.octet_length(NEW.url)
            USING ERRCODE = 'program_limit_exceeded',
                  HINT = 'Give a shorter ws:// or wss:// URL.';
    END IF;
    IF pg_catalog.octet_length(pg_catalog.substring(NEW.url, '^wss?://([^/?#:]*)')) > 255 THEN
        RAISE EXCEPTION 'host name of the source URL exceeds the limit of 255 bytes'
            USING ERRCODE = 'program_limit_exceeded',
                  HINT = 'A DNS host name has at most 255 bytes.';
    END IF;
    SELECT i INTO bad FROM pg_catalog.unnest(NEW.instruments || NEW.symbols) i
    WHERE i !~ '^[\x20-\x7e]{1,63}$' LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'instrument or symbol "%" is empty, longer than 63 bytes or not printable ASCII',
                        pg_catalog.left(bad, 80)
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Instruments and symbols are exchange names such as BTCUSDT, XBT/USD or BTC.';
    END IF;
    IF pg_catalog.octet_length(NEW.options ->> 'subscribe') > 65536 THEN
        RAISE EXCEPTION 'subscribe message of % bytes exceeds the limit of 65536 bytes',
                        pg_catalog.octet_length(NEW.options ->> 'subscribe')
            USING ERRCODE = 'program_limit_exceeded',
                  HINT = 'options->''subscribe'' is sent once after connecting; keep it under 64 KiB.';
    END IF;
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION @extschema@.sources_check() IS
'trigger of triggerstock.sources: refuses a URL over 2048 bytes (host over 255), an instrument or symbol that is not 1 to 63 printable ASCII bytes, and options->''subscribe'' over 65536 bytes, with the limit in the error';
CREATE TRIGGER sources_check BEFORE INSERT OR UPDATE ON triggerstock.sources
    FOR EACH ROW EXECUTE FUNCTION @extschema@.sources_check();


-- Issue 12: dead letters are capped per source and minute; the bad frames
-- beyond the cap are counted (ingest_stats / ingest_status gain
-- dead_letters_dropped), and dead_letters_retention() empties old ones.
DROP VIEW triggerstock.ingest_status;
DROP FUNCTION @extschema@.ingest_stats();
CREATE FUNCTION @extschema@.ingest_stats()
RETURNS TABLE (source integer, pid integer, state text, state_since timestamptz,
               connected_since timestamptz, frames bigint, bytes bigint, trades bigint,
               duplicates bigint, dead_letters bigint, reconnects bigint, flushes bigint,
               last_trade_at timestamptz, last_commit_at timestamptz,
               latency_p50_ms float8, latency_p99_ms float8, dead_letters_dropped bigint)
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
       st.last_trade_at, st.last_commit_at, st.latency_p50_ms, st.latency_p99_ms,
       coalesce(st.dead_letters_dropped, 0) AS dead_letters_dropped
FROM triggerstock.sources s
LEFT JOIN @extschema@.ingest_stats() st ON st.source = s.id;
COMMENT ON VIEW triggerstock.ingest_status IS
'per source: worker state (connecting, streaming, backoff, outside-hours, stopped), connected since, frames, trades stored, duplicates skipped, dead letters, reconnects, last trade time, feed-to-commit latency p50/p99 in ms (frame arrival to commit), bad frames counted but not stored (dead_letters_dropped: over triggerstock.dead_letters_per_minute)';

CREATE FUNCTION @extschema@.dead_letters_retention(keep interval)
RETURNS bigint
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    deleted bigint;
BEGIN
    IF keep IS NULL OR keep < interval '0' THEN
        RAISE EXCEPTION 'retention period must be a non-negative interval, got %', keep
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'For example: SELECT dead_letters_retention(''7 days'').';
    END IF;
    DELETE FROM triggerstock.dead_letters d WHERE d.received_at < pg_catalog.now() - keep;
    GET DIAGNOSTICS deleted = ROW_COUNT;
    RETURN deleted;
END
$$;
COMMENT ON FUNCTION @extschema@.dead_letters_retention(interval) IS
'deletes the dead letters received before now() - keep and returns how many; schedule it with pg_cron (README)';


------------------------------------------------------------------------------
-- Issue 10: exact candles, one market one key, URLs and secrets, ingest_status
------------------------------------------------------------------------------

-- 1. A candle carries what it needs to merge exactly: the seq (trade id) of
-- its open and close trades and its exact sums (type ohlcv and the stored
-- 1-minute candles).  Composite types can only grow at the end, so the new
-- fields come last in a fresh install too.
ALTER TYPE @extschema@.ohlcv ADD ATTRIBUTE open_seq bigint, ADD ATTRIBUTE close_seq bigint,
    ADD ATTRIBUTE sums bytea;
COMMENT ON TYPE @extschema@.ohlcv IS
'One candle: open/close are the earliest/latest trade by (ts, seq), vwap = sum(price*qty)/sum(qty) (NULL when volume is 0), open_time/close_time the times of the first and last trade, open_seq/close_seq their seq (trade id), sums the exact sums that let rollup() merge candles bit for bit';
COMMENT ON COLUMN @extschema@.ohlcv.open_seq IS 'seq (trade id) of the open trade: with open_time it places the open when candles are merged';
COMMENT ON COLUMN @extschema@.ohlcv.close_seq IS 'seq (trade id) of the close trade';
COMMENT ON COLUMN @extschema@.ohlcv.sums IS 'exact sums of qty and of price*qty (canonical binary form, 2^-160 fixed point); volume and vwap are these sums rounded; NULL for a candle made elsewhere, which rollup() then takes from volume and vwap';
COMMENT ON AGGREGATE @extschema@.rollup(@extschema@.ohlcv) IS
'candles of candles (1m -> 5m -> 1h), also of candles of the same period: open/close from the earliest/latest candle by (open_time, open_seq)/(close_time, close_seq), exact sums added, so every field equals ohlcv() over all the trades; candles without sums use volume and vwap; NULL candles are skipped';

ALTER TABLE triggerstock.candles ADD COLUMN open_seq bigint, ADD COLUMN close_seq bigint,
    ADD COLUMN sums bytea;
COMMENT ON TABLE triggerstock.candles IS
'1-minute candles per symbol, kept by the ingest workers and refresh_candles() through store_candles(); coarser widths come from candles(width) and the candles_5m/15m/1h/1d views; retention() never touches it';
COMMENT ON COLUMN triggerstock.candles.open_seq IS 'seq (trade id) of the open trade; NULL for candles loaded from elsewhere';
COMMENT ON COLUMN triggerstock.candles.close_seq IS 'seq (trade id) of the close trade; NULL for candles loaded from elsewhere';
COMMENT ON COLUMN triggerstock.candles.sums IS 'exact sums of qty and price*qty (see type ohlcv); NULL for candles loaded from elsewhere';

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
             open_seq, close_seq, sums)
        SELECT u.symbol, interval '1 minute', u.bucket, (u.c).open, (u.c).high, (u.c).low, (u.c).close,
               (u.c).volume, (u.c).vwap, (u.c).trades, (u.c).open_time, (u.c).close_time,
               (u.c).open_seq, (u.c).close_seq, (u.c).sums
        FROM (SELECT symbols[i] AS symbol, buckets[i] AS bucket, candles[i] AS c
              FROM pg_catalog.generate_subscripts(symbols, 1) AS i) u
        WHERE u.c IS DISTINCT FROM NULL
        ORDER BY u.symbol, u.bucket
        ON CONFLICT (symbol, width, bucket) DO UPDATE
           SET (open, high, low, close, volume, vwap, trades, open_time, close_time, open_seq, close_seq, sums)
             = (EXCLUDED.open, EXCLUDED.high, EXCLUDED.low, EXCLUDED.close, EXCLUDED.volume, EXCLUDED.vwap,
                EXCLUDED.trades, EXCLUDED.open_time, EXCLUDED.close_time, EXCLUDED.open_seq,
                EXCLUDED.close_seq, EXCLUDED.sums)
           WHERE (k.open, k.high, k.low, k.close, k.volume, k.vwap, k.trades, k.open_time, k.close_time,
                  k.open_seq, k.close_seq, k.sums)
                 IS DISTINCT FROM
                 (EXCLUDED.open, EXCLUDED.high, EXCLUDED.low, EXCLUDED.close, EXCLUDED.volume,
                  EXCLUDED.vwap, EXCLUDED.trades, EXCLUDED.open_time, EXCLUDED.close_time,
                  EXCLUDED.open_seq, EXCLUDED.close_seq, EXCLUDED.sums);
    ELSE
        INSERT INTO triggerstock.candles AS k
            (symbol, width, bucket, open, high, low, close, volume, vwap, trades, open_time, close_time,
             open_seq, close_seq, sums)
        SELECT u.symbol, interval '1 minute', u.bucket, (u.c).open, (u.c).high, (u.c).low, (u.c).close,
               (u.c).volume, (u.c).vwap, (u.c).trades, (u.c).open_time, (u.c).close_time,
               (u.c).open_seq, (u.c).close_seq, (u.c).sums
        FROM (SELECT symbols[i] AS symbol, buckets[i] AS bucket, candles[i] AS c
              FROM pg_catalog.generate_subscripts(symbols, 1) AS i) u
        WHERE u.c IS DISTINCT FROM NULL
        ORDER BY u.symbol, u.bucket
        ON CONFLICT (symbol, width, bucket) DO UPDATE
           SET (open, high, low, close, volume, vwap, trades, open_time, close_time, open_seq, close_seq, sums)
             = (SELECT (m).open, (m).high, (m).low, (m).close, (m).volume, (m).vwap, (m).trades,
                       (m).open_time, (m).close_time, (m).open_seq, (m).close_seq, (m).sums
                FROM (SELECT @extschema@.rollup(v.c) AS m
                      FROM (VALUES (ROW(k.open, k.high, k.low, k.close, k.volume, k.vwap, k.trades,
                                        k.open_time, k.close_time, k.open_seq, k.close_seq,
                                        k.sums)::@extschema@.ohlcv),
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
'the one writer of 1-minute candles: upserts candles[i] as the candle of (symbols[i], minute buckets[i]) into triggerstock.candles, merged exactly with the stored candle (rollup) or, with replace, instead of it; the ingest workers merge the candles of the trades each flush stored, refresh_candle_buckets() replaces; returns the number of candles written or changed';

CREATE OR REPLACE FUNCTION @extschema@.refresh_candle_buckets(symbols text[], buckets timestamptz[])
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
'recomputes from all their trades the 1-minute candles of the given (symbols[i], minute of buckets[i]) pairs and writes them with store_candles(..., replace => true); idempotent; returns the number of candles written or changed';

-- candles(width) returns the new fields too: its views go with it
DROP VIEW triggerstock.candles_5m, triggerstock.candles_15m, triggerstock.candles_1h, triggerstock.candles_1d;
DROP FUNCTION @extschema@.candles(interval);
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

-- features() reads candles(): with its body bound at creation (issue 12)
-- it is defined once candles() has its final shape
CREATE OR REPLACE FUNCTION @extschema@.features(symbol text, width interval DEFAULT '1 minute',
                                     since timestamptz DEFAULT NULL)
RETURNS TABLE (bucket timestamptz, close float8,
               ret_1 float8, ret_5 float8, ret_15 float8,
               rsi_14 float8, macd_hist float8, bb_pct_b float8, bb_width float8,
               atr_pct float8, stoch_k float8, stoch_d float8, willr_14 float8,
               cci_14 float8, mfi_14 float8, adx_14 float8, volume_z float8,
               vwap_dist float8, rv_30 float8, tod_sin float8, tod_cos float8,
               sentiment_1h float8, news_1h bigint)
LANGUAGE sql STABLE PARALLEL SAFE
BEGIN ATOMIC
    -- Inlined into the caller's query; BEGIN ATOMIC binds every name when
    -- the extension is created (pg_catalog, the extension's schema), so no
    -- search_path of a caller can change what it calls.  Indicators run
    -- from the symbol's first candle whatever `since` is: `since` filters
    -- the outermost level only, above every window.  All windows order by (day, bucket), so one
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
           pg_catalog.sqrt(CASE WHEN 30 * @extschema@.sma(f.ret_1 * f.ret_1, 30) OVER w < 0 THEN 0
                     ELSE 30 * @extschema@.sma(f.ret_1 * f.ret_1, 30) OVER w END) AS rv_30,
           pg_catalog.sin(2 * pg_catalog.pi() * f.day_fraction) AS tod_sin,
           pg_catalog.cos(2 * pg_catalog.pi() * f.day_fraction) AS tod_cos
    FROM (
        SELECT k.day, k.bucket, k.close,
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
                     c.bucket + $2 AS closes_at, c.high, c.low, c.close, c.volume, c.vwap
              FROM triggerstock.candles c
              WHERE $2 = interval '1 minute' AND c.symbol = $1 AND c.width = interval '1 minute'
              UNION ALL
              SELECT pg_catalog.date_bin(interval '1 day', c.bucket, timestamp with time zone 'epoch'), c.bucket,
                     c.bucket + $2, c.high, c.low, c.close, c.volume, c.vwap
              FROM @extschema@.candles($2) c
              WHERE $2 <> interval '1 minute' AND c.symbol = $1) k
        WINDOW w AS (ORDER BY k.day, k.bucket),
               session AS (PARTITION BY k.day ORDER BY k.bucket)
    ) f
    WINDOW w AS (ORDER BY f.day, f.bucket)
    ) g
    LEFT JOIN LATERAL (
        SELECT pg_catalog.avg(e.sentiment) AS sentiment_1h, pg_catalog.count(*) AS news_1h
        FROM triggerstock.news e
        WHERE e.published_at > g.bucket + $2 - interval '1 hour'
          AND e.published_at <= g.bucket + $2
          AND $1 = ANY (e.symbols)
    ) n ON true
    WHERE $3 IS NULL OR g.bucket >= $3
    ORDER BY g.day, g.bucket;
END;

CREATE VIEW triggerstock.candles_5m AS SELECT * FROM @extschema@.candles('5 minutes');
CREATE VIEW triggerstock.candles_15m AS SELECT * FROM @extschema@.candles('15 minutes');
CREATE VIEW triggerstock.candles_1h AS SELECT * FROM @extschema@.candles('1 hour');
CREATE VIEW triggerstock.candles_1d AS SELECT * FROM @extschema@.candles('1 day');
COMMENT ON VIEW triggerstock.candles_5m IS '5-minute candles rolled up from triggerstock.candles';
COMMENT ON VIEW triggerstock.candles_15m IS '15-minute candles rolled up from triggerstock.candles';
COMMENT ON VIEW triggerstock.candles_1h IS '1-hour candles rolled up from triggerstock.candles';
COMMENT ON VIEW triggerstock.candles_1d IS '1-day (UTC) candles rolled up from triggerstock.candles';

-- 2. One market, one key: trades and sources name the market type, and the
-- trade key is (exchange, market, instrument, trade_id, ts).
ALTER TABLE triggerstock.trades ADD COLUMN market text NOT NULL DEFAULT 'spot';
COMMENT ON TABLE triggerstock.trades IS
'executed trades, one partition per UTC day (created ahead by maintain()), each unique on (exchange, market, instrument, trade_id, ts); trades_default catches rows of days without a partition';
COMMENT ON COLUMN triggerstock.trades.market IS 'market type at the exchange (spot, usdm, coinm, futures, ...; sources.market): with exchange and instrument it names the market, so two markets never share a trade key';

CREATE OR REPLACE FUNCTION @extschema@.trade_partition_indexes(partition regclass)
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

CREATE FUNCTION @extschema@.redact_url(url text)
RETURNS text AS 'MODULE_PATHNAME', 'redact_url'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.redact_url(text) IS
'the URL with any user:password and the values of credential-like query parameters (token, key, apikey, secret, password, signature, ...) replaced by ***, as logs and errors show it';

CREATE FUNCTION @extschema@.source_market(exchange text, url text, options jsonb DEFAULT '{}')
RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp AS $$
    SELECT CASE
        WHEN exchange = 'binance' AND host ~ '^fstream' THEN 'usdm'
        WHEN exchange = 'binance' AND host ~ '^dstream' THEN 'coinm'
        WHEN exchange = 'kraken' AND (host ~ '^futures' OR options->>'feed' = 'kraken_futures') THEN 'futures'
        ELSE 'spot' END
    FROM (SELECT pg_catalog.lower(pg_catalog.substring(url, '^[a-zA-Z]+://([^/?#:]*)')) AS host) h
$$;
COMMENT ON FUNCTION @extschema@.source_market(text, text, jsonb) IS
'default market type of a source: binance fstream.* = usdm, dstream.* = coinm, kraken futures.* or feed kraken_futures = futures, everything else spot';

ALTER TABLE triggerstock.sources ADD COLUMN market text;
UPDATE triggerstock.sources SET market = @extschema@.source_market(exchange, url, options);
ALTER TABLE triggerstock.sources ALTER COLUMN market SET DEFAULT 'spot',
    ALTER COLUMN market SET NOT NULL,
    ADD CONSTRAINT sources_market_valid CHECK (market ~ '^[a-z][a-z0-9_]{0,31}$');
COMMENT ON COLUMN triggerstock.sources.market IS 'market type at the exchange (spot, usdm, coinm, futures, ...), stored in trades.market: (exchange, market, instrument) names a market and is part of the trade key; add_source() derives it with source_market() unless given';
COMMENT ON COLUMN triggerstock.sources.url IS 'ws:// or wss:// URL (port defaults to 443 for wss, 80 for ws; path to /; its query is kept); for binance a URL without a path gets /stream?streams=<instrument>@trade/...; a token in source_secrets is appended to the query as token=<percent-encoded>, never shown';

-- 0.1 stored every market under one key: trades of an instrument that only
-- non-spot sources stream take that market (an instrument streamed by two
-- markets cannot be told apart any more and stays spot)
UPDATE triggerstock.trades t SET market = m.market
FROM (SELECT s.exchange, pg_catalog.upper(i.instrument) AS instrument, pg_catalog.min(s.market) AS market
      FROM triggerstock.sources s, LATERAL pg_catalog.unnest(s.instruments) AS i(instrument)
      GROUP BY 1, 2
      HAVING pg_catalog.count(DISTINCT s.market) = 1) m
WHERE m.market <> 'spot' AND t.exchange = m.exchange AND pg_catalog.upper(t.instrument) = m.instrument;

-- the unique key of every trade partition now includes the market: drop the
-- old keys, rewrite the table (so no partition keeps the added column's
-- "missing value": a fresh install has none, and pg_dump --binary-upgrade
-- would show it), add the new keys
DO $$
DECLARE
    part regclass;
BEGIN
    FOR part IN SELECT p.partition FROM @extschema@.trade_partitions() p
                UNION ALL SELECT 'triggerstock.trades_default'::regclass LOOP
        EXECUTE pg_catalog.format('ALTER TABLE %s DROP CONSTRAINT IF EXISTS %I', part,
                                  (SELECT relname FROM pg_catalog.pg_class WHERE oid = part) || '_unique');
    END LOOP;
END
$$;
ALTER TABLE triggerstock.trades ALTER COLUMN market TYPE text USING market OPERATOR(pg_catalog.||) '';
DO $$
DECLARE
    part regclass;
    name text;
BEGIN
    FOR part IN SELECT p.partition FROM @extschema@.trade_partitions() p
                UNION ALL SELECT 'triggerstock.trades_default'::regclass LOOP
        name := (SELECT relname FROM pg_catalog.pg_class WHERE oid = part);
        EXECUTE pg_catalog.format('ALTER TABLE %s ADD CONSTRAINT %I UNIQUE (exchange, market, instrument, trade_id, ts)',
                                  part, name || '_unique');
    END LOOP;
END
$$;

DROP FUNCTION @extschema@.add_source(text, text, text, text[], text[], jsonb, boolean, integer[], time, time, text);
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
    token        text DEFAULT NULL,
    market       text DEFAULT NULL,
    composite    boolean DEFAULT false)
RETURNS integer
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    new_id   integer;
    the_market text;
    resolved text[];
    clash    record;
BEGIN
    IF exchange IS NULL OR pg_catalog.lower(exchange) NOT IN ('binance', 'coinbase', 'kraken', 'finnhub', 'generic') THEN
        RAISE EXCEPTION 'unknown exchange "%"', exchange
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Use binance, coinbase, kraken, finnhub or generic.';
    END IF;
    IF url IS NULL OR url !~ '^wss?://[^/?#]+' THEN
        RAISE EXCEPTION 'invalid WebSocket URL "%"', @extschema@.redact_url(url)
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Give a ws:// or wss:// URL, such as wss://stream.binance.com:9443.';
    END IF;
    IF url ~* '^wss?://[^/?#]*@' OR url ~* '[?&](token|api_?key|key|secret|password|passphrase|signature|access_token|auth)=' THEN
        RAISE EXCEPTION 'WebSocket URL "%" carries a credential', @extschema@.redact_url(url)
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Pass it as token => ''...'': it is kept in triggerstock.source_secrets, readable only by the admin role, and appended to the URL when connecting.';
    END IF;
    IF instruments IS NULL OR pg_catalog.cardinality(instruments) = 0 THEN
        RAISE EXCEPTION 'a source needs at least one instrument'
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'For example ARRAY[''BTCUSDT'', ''ETHUSDT''].';
    END IF;
    IF symbols IS NOT NULL AND pg_catalog.cardinality(symbols) <> pg_catalog.cardinality(instruments) THEN
        RAISE EXCEPTION 'got % symbols for % instruments', pg_catalog.cardinality(symbols), pg_catalog.cardinality(instruments)
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Give one symbol per instrument, NULL for the default.';
    END IF;
    the_market := coalesce(add_source.market,
                           @extschema@.source_market(pg_catalog.lower(exchange), url, coalesce(options, '{}')));
    IF the_market !~ '^[a-z][a-z0-9_]{0,31}$' THEN
        RAISE EXCEPTION 'invalid market "%"', the_market
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'A market type is lower-case letters, digits and _, such as spot, usdm, coinm or futures.';
    END IF;
    resolved := ARRAY(SELECT coalesce(add_source.symbols[i], @extschema@.canonical_symbol(add_source.instruments[i]))
                      FROM pg_catalog.generate_subscripts(add_source.instruments, 1) i ORDER BY i);

    -- one symbol, one market: unless asked for a composite, a symbol is fed by
    -- one (exchange, market, instrument) only, here and in every other source
    IF NOT coalesce(composite, false) THEN
        SELECT n.instrument, n.symbol, o.instrument AS other_instrument, o.source_name,
               o.exchange AS other_exchange, o.market AS other_market
        INTO clash
        FROM (SELECT u.instrument, u.symbol FROM ROWS FROM (pg_catalog.unnest(instruments), pg_catalog.unnest(resolved)) AS u(instrument, symbol)) n
        JOIN (SELECT v.instrument, v.symbol, NULL::text AS source_name,
                     pg_catalog.lower(add_source.exchange) AS exchange, the_market AS market
              FROM ROWS FROM (pg_catalog.unnest(instruments), pg_catalog.unnest(resolved)) AS v(instrument, symbol)
              UNION ALL
              SELECT w.instrument, w.symbol, s.name, s.exchange, s.market
              FROM triggerstock.sources s,
                   LATERAL ROWS FROM (pg_catalog.unnest(s.instruments), pg_catalog.unnest(s.symbols)) AS w(instrument, symbol)) o
          ON o.symbol OPERATOR(pg_catalog.=) n.symbol
         AND (o.exchange, o.market, pg_catalog.upper(o.instrument))
             IS DISTINCT FROM (pg_catalog.lower(add_source.exchange), the_market, pg_catalog.upper(n.instrument))
        LIMIT 1;
        IF FOUND THEN
            RAISE EXCEPTION 'symbol "%" of instrument "%" (% %) is already fed by instrument "%" (% %)%',
                    clash.symbol, clash.instrument, pg_catalog.lower(exchange), the_market, clash.other_instrument,
                    clash.other_exchange, clash.other_market,
                    CASE WHEN clash.source_name IS NULL THEN ' of this source'
                         ELSE ' of source "' || clash.source_name || '"' END
                USING ERRCODE = 'invalid_parameter_value',
                      HINT = pg_catalog.format('One symbol is one candle series: give this market its own symbol (symbols => ARRAY[%L, ...]), or pass composite => true to merge the markets into one series.',
                                               clash.symbol || '@' || pg_catalog.lower(exchange)
                                               || CASE WHEN the_market = 'spot' THEN '' ELSE '-' || the_market END);
        END IF;
    END IF;

    INSERT INTO triggerstock.sources AS s
        (name, exchange, url, instruments, symbols, enabled, active_days, active_from, active_until, options, market)
    VALUES (add_source.name, pg_catalog.lower(add_source.exchange), add_source.url, add_source.instruments,
            resolved, add_source.enabled, add_source.active_days, add_source.active_from, add_source.active_until,
            coalesce(add_source.options, '{}'), the_market)
    RETURNING s.id INTO new_id;
    IF token IS NOT NULL THEN
        INSERT INTO triggerstock.source_secrets (source, secrets)
        VALUES (new_id, pg_catalog.jsonb_build_object('token', token));
    END IF;
    RETURN new_id;
END
$$;
COMMENT ON FUNCTION @extschema@.add_source(text, text, text, text[], text[], jsonb, boolean, integer[], time, time, text, text, boolean) IS
'adds an exchange WebSocket source and returns its id; its ingest worker starts within a second (one triggerstock.max_workers slot each); symbols default to canonical_symbol(instrument); market defaults to source_market(); refuses a symbol another market already feeds unless composite; token goes to source_secrets';

-- 3. ingest_status says 'no worker slot' instead of 'starting' forever
CREATE OR REPLACE VIEW triggerstock.ingest_status AS
SELECT s.id AS source, s.name, s.exchange, s.enabled,
       coalesce(st.state,
                CASE WHEN NOT s.enabled THEN 'disabled'
                     WHEN pg_catalog.current_setting('triggerstock.max_workers', true) IS NULL THEN 'starting'
                     WHEN (SELECT pg_catalog.count(*) FROM @extschema@.worker_status())
                          OPERATOR(pg_catalog.>=) pg_catalog.current_setting('triggerstock.max_workers')::integer
                          THEN 'no worker slot'
                     ELSE 'starting' END) AS state,
       st.state_since, st.connected_since, st.pid,
       coalesce(st.frames, 0) AS frames, coalesce(st.trades, 0) AS trades,
       coalesce(st.duplicates, 0) AS duplicates, coalesce(st.dead_letters, 0) AS dead_letters,
       coalesce(st.reconnects, 0) AS reconnects, coalesce(st.flushes, 0) AS flushes,
       coalesce(st.bytes, 0) AS bytes,
       st.last_trade_at, st.last_commit_at, st.latency_p50_ms, st.latency_p99_ms,
       coalesce(st.dead_letters_dropped, 0) AS dead_letters_dropped
FROM triggerstock.sources s
LEFT JOIN @extschema@.ingest_stats() st ON st.source = s.id;
COMMENT ON VIEW triggerstock.ingest_status IS
'per source: worker state (starting, connecting, streaming, backoff, outside-hours, stopped, disabled, no worker slot: triggerstock.max_workers or max_worker_processes used up), connected since, frames, trades stored, duplicates skipped, dead letters, reconnects, last trade time, feed-to-commit latency p50/p99 in ms (frame arrival to commit), bad frames counted but not stored (dead_letters_dropped: over triggerstock.dead_letters_per_minute)';

-- 4. 0.1 candles: recomputed from their stored trades (this also corrects
-- opens and closes that 0.1 decided by price on tied timestamps, and gives
-- them open_seq, close_seq and sums); a candle whose trades are no longer all
-- stored (retention) keeps its values, with NULL seq and sums
UPDATE triggerstock.candles k
SET (open, high, low, close, volume, vwap, trades, open_time, close_time, open_seq, close_seq, sums)
  = ((f.c).open, (f.c).high, (f.c).low, (f.c).close, (f.c).volume, (f.c).vwap, (f.c).trades,
     (f.c).open_time, (f.c).close_time, (f.c).open_seq, (f.c).close_seq, (f.c).sums)
FROM (SELECT t.symbol, pg_catalog.date_bin('1 minute', t.ts, TIMESTAMPTZ 'epoch') AS bucket,
             @extschema@.ohlcv(t.ts, t.price, t.qty, t.trade_id) AS c
      FROM triggerstock.trades t GROUP BY 1, 2) f
WHERE k.width = interval '1 minute' AND k.symbol = f.symbol AND k.bucket = f.bucket
  AND k.trades = (f.c).trades;

-- Issue 11: honest model evaluation, live scoring for every width and
-- horizon, no crash on rows the extension reads.  (Generated from the
-- pieces; keep in step with src/candles/candles.sql and src/models/models.sql.)
-- It runs before the privileges section, so the views it recreates get
-- their grants there, as in a fresh install.
------------------------------------------------------------------------------

-- completeness by data (src/candles/candles.sql)
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

-- models: the invariants the C code relies on (src/models/models.sql)
DROP INDEX triggerstock.models_symbol_id;
ALTER TABLE triggerstock.models
    ADD CONSTRAINT models_symbol_id UNIQUE (symbol, id),
    ADD CONSTRAINT models_width_valid CHECK (width > interval '0' AND date_part('month', width) = 0
                                         AND date_part('year', width) = 0
                                         AND date_part('epoch', width)::numeric % 60 = 0),
    ADD CONSTRAINT models_horizon_valid CHECK (horizon BETWEEN 1 AND 10000),
    ADD CONSTRAINT models_sha256_of_model CHECK (sha256 = encode(sha256(model), 'hex')),
    ADD CONSTRAINT models_features_valid CHECK (array_ndims(features) = 1 AND cardinality(features) >= 1
                                            AND array_position(features, NULL) IS NULL),
    ADD CONSTRAINT models_best_iteration_valid CHECK (best_iteration >= 0),
    ADD CONSTRAINT models_windows_ordered CHECK (train_from <= train_to AND train_to < test_from AND test_from <= test_to),
    ADD CONSTRAINT models_json_objects CHECK (jsonb_typeof(params) = 'object' AND jsonb_typeof(metrics) = 'object'
                                          AND jsonb_typeof(importance) = 'object'
                                          AND jsonb_typeof(drift_reference) = 'object');
-- a deployment serves a model of its own symbol
ALTER TABLE triggerstock.deployments
    DROP CONSTRAINT deployments_model_id_fkey,
    ADD CONSTRAINT deployments_model_fkey FOREIGN KEY (symbol, model_id) REFERENCES triggerstock.models (symbol, id);

-- predictions: one row per (symbol, width, horizon, bucket).  0.1 rows take
-- the width and horizon of their model (else of the model deployed when they
-- were made, else 1 minute and 1); 0.1 judged every row on the next 1-minute
-- candle, so the outcomes of other widths and horizons are cleared and
-- filled again by the predictor with the right rule.
ALTER TABLE triggerstock.predictions ADD COLUMN width interval, ADD COLUMN horizon integer;
UPDATE triggerstock.predictions p
SET width = coalesce(m.width, '1 minute'), horizon = coalesce(m.horizon, 1)
FROM (SELECT q.symbol AS s, q.bucket AS b,
             coalesce((SELECT mm.id FROM triggerstock.models mm WHERE mm.id = q.model_id),
                      (SELECT d.model_id FROM triggerstock.deployments d
                       WHERE d.symbol = q.symbol AND d.deployed_at <= q.predicted_at
                       ORDER BY d.id DESC LIMIT 1)) AS model_id
      FROM triggerstock.predictions q) k
LEFT JOIN triggerstock.models m ON m.id = k.model_id
WHERE p.symbol = k.s AND p.bucket = k.b;
UPDATE triggerstock.predictions SET outcome = NULL, outcome_at = NULL
WHERE width <> interval '1 minute' OR horizon <> 1;
ALTER TABLE triggerstock.predictions
    ALTER COLUMN width SET NOT NULL,
    ALTER COLUMN horizon SET NOT NULL,
    DROP CONSTRAINT predictions_pkey,
    ADD PRIMARY KEY (symbol, width, horizon, bucket),
    ADD CONSTRAINT predictions_width_valid CHECK (width > interval '0' AND date_part('month', width) = 0
                                              AND date_part('year', width) = 0
                                              AND date_part('epoch', width)::numeric % 60 = 0),
    ADD CONSTRAINT predictions_horizon_valid CHECK (horizon BETWEEN 1 AND 10000),
    ADD CONSTRAINT predictions_probability_valid CHECK (probability >= 0 AND probability <= 1),
    ADD CONSTRAINT predictions_abstain_only_without_probability
        CHECK ((fallback_level = 'abstain') = (probability IS NULL)),
    ADD CONSTRAINT predictions_model_level_complete
        CHECK (fallback_level <> 'model' OR (model_id IS NOT NULL AND model_sha256 IS NOT NULL));
CREATE INDEX predictions_pending ON triggerstock.predictions (symbol, width, horizon, bucket)
    WHERE outcome IS NULL;
COMMENT ON TABLE triggerstock.predictions IS
'audit of the online predictor: one row per (symbol, width, horizon, complete bucket) scored by the deployed model of that width and horizon, with what produced it and, once the bucket horizon buckets later is complete, the realised outcome';
COMMENT ON COLUMN triggerstock.predictions.bucket IS 'bucket of the feature row scored (the newest complete bucket of width: last_complete_bucket())';
COMMENT ON COLUMN triggerstock.predictions.probability IS 'probability that the close of the bucket horizon buckets of width after this one is higher than this bucket''s close; NULL when every fallback level abstained';
COMMENT ON COLUMN triggerstock.predictions.outcome IS 'whether the close of the bucket horizon buckets of width later (bucket_ahead()) is higher than this bucket''s close (bucket_close()); NULL until that bucket is complete';
COMMENT ON COLUMN triggerstock.predictions.width IS 'candle width of the deployed model that was scored';
COMMENT ON COLUMN triggerstock.predictions.horizon IS 'horizon, in buckets of width, of the deployed model that was scored';

-- per (symbol, width, horizon) views
DROP VIEW triggerstock.latest_predictions;
DROP VIEW triggerstock.model_live_metrics;
CREATE VIEW triggerstock.latest_predictions AS
SELECT DISTINCT ON (symbol, width, horizon) symbol, width, horizon, bucket, probability, fallback_level,
       model_id, model_sha256, latency_us, predicted_at
FROM triggerstock.predictions
ORDER BY symbol, width, horizon, bucket DESC;
COMMENT ON VIEW triggerstock.latest_predictions IS 'the newest row of triggerstock.predictions per (symbol, width, horizon)';

CREATE VIEW triggerstock.model_live_metrics AS
SELECT r.symbol, r.width, r.horizon, r.model_id, r.model_sha256,
       count(*) AS n,
       avg(((r.probability >= 0.5) = r.outcome)::int) AS accuracy,
       -avg(CASE WHEN r.outcome THEN ln(greatest(r.probability, 1e-15))
                 ELSE ln(greatest(1 - r.probability, 1e-15)) END) AS log_loss,
       -avg(CASE WHEN r.outcome THEN ln(r.train_base_rate) ELSE ln(1 - r.train_base_rate) END)
           AS baseline_log_loss,
       -avg(CASE WHEN r.outcome THEN ln(r.train_base_rate) ELSE ln(1 - r.train_base_rate) END)
           + avg(CASE WHEN r.outcome THEN ln(greatest(r.probability, 1e-15))
                      ELSE ln(greatest(1 - r.probability, 1e-15)) END) AS edge_log_loss,
       avg(r.outcome::int) AS base_rate,
       greatest(avg(r.outcome::int), 1 - avg(r.outcome::int)) AS majority_accuracy,
       min(r.bucket) AS since, max(r.bucket) AS until
FROM (SELECT p.symbol, p.width, p.horizon, p.model_id, p.model_sha256, p.bucket, p.probability, p.outcome,
             CASE WHEN jsonb_typeof(m.metrics -> 'train_base_rate') = 'number'
                  THEN least(greatest((m.metrics ->> 'train_base_rate')::float8, 1e-15), 1 - 1e-15)
             END AS train_base_rate,
             row_number() OVER (PARTITION BY p.symbol, p.width, p.horizon ORDER BY p.bucket DESC) AS age
      FROM triggerstock.predictions p
      LEFT JOIN triggerstock.models m ON m.id = p.model_id
      WHERE p.outcome IS NOT NULL AND p.probability IS NOT NULL AND p.fallback_level = 'model') r
WHERE r.age <= 1440
GROUP BY r.symbol, r.width, r.horizon, r.model_id, r.model_sha256;
COMMENT ON VIEW triggerstock.model_live_metrics IS
'rolling live quality per (symbol, width, horizon) and model over the last 1440 realised model predictions of that width and horizon (outcome: the close horizon buckets of width later against the scored bucket''s close): accuracy and log loss beside the realised base rate, the (hindsight) majority-class accuracy and baseline_log_loss of always predicting the model''s training base rate (edge_log_loss = baseline_log_loss - log_loss)';

-- deploy('best_score') compares models on the same window; new comments
CREATE OR REPLACE FUNCTION @extschema@.deploy(symbol text, strategy text)
RETURNS bigint
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    current bigint;
    chosen  bigint;
    why     text;
    ref     record;
    n_same  bigint;
    n_other bigint;
BEGIN
    SELECT d.model_id INTO current FROM triggerstock.deployments d
    WHERE d.symbol = deploy.symbol ORDER BY d.id DESC LIMIT 1;
    IF NOT EXISTS (SELECT 1 FROM triggerstock.models m WHERE m.symbol = deploy.symbol) THEN
        RAISE EXCEPTION 'no model for symbol "%"', symbol
            USING ERRCODE = 'no_data_found',
                  HINT = pg_catalog.format('Train one first: SELECT train(%L).', symbol);
    END IF;
    CASE strategy
    WHEN 'most_recent' THEN
        SELECT m.id INTO chosen FROM triggerstock.models m
        WHERE m.symbol = deploy.symbol ORDER BY m.id DESC LIMIT 1;
        why := 'newest model';
    WHEN 'best_score' THEN
        -- log losses are comparable only on the same rows: models of the
        -- width, horizon and test window of the symbol's newest model
        SELECT m.width, m.horizon, m.test_from, m.test_to INTO ref FROM triggerstock.models m
        WHERE m.symbol = deploy.symbol ORDER BY m.id DESC LIMIT 1;
        SELECT pg_catalog.count(*) FILTER (WHERE m.width = ref.width AND m.horizon = ref.horizon
                                             AND m.test_from = ref.test_from AND m.test_to = ref.test_to
                                             AND pg_catalog.jsonb_typeof(m.metrics -> 'log_loss') = 'number'),
               pg_catalog.count(*) FILTER (WHERE NOT (m.width = ref.width AND m.horizon = ref.horizon
                                                    AND m.test_from = ref.test_from AND m.test_to = ref.test_to
                                                    AND pg_catalog.jsonb_typeof(m.metrics -> 'log_loss') = 'number'))
        INTO n_same, n_other
        FROM triggerstock.models m WHERE m.symbol = deploy.symbol;
        SELECT m.id INTO chosen FROM triggerstock.models m
        WHERE m.symbol = deploy.symbol AND m.width = ref.width AND m.horizon = ref.horizon
          AND m.test_from = ref.test_from AND m.test_to = ref.test_to
          AND pg_catalog.jsonb_typeof(m.metrics -> 'log_loss') = 'number'
        ORDER BY (m.metrics ->> 'log_loss')::double precision, m.id DESC LIMIT 1;
        IF chosen IS NULL THEN
            RAISE EXCEPTION 'no model of "%" with width %, horizon % and test window [%, %] has a test log loss',
                            symbol, ref.width, ref.horizon, ref.test_from, ref.test_to
                USING ERRCODE = 'no_data_found',
                      HINT = 'best_score compares models on the test window of the symbol''s newest model.';
        END IF;
        why := pg_catalog.format('lowest test log loss of %s models of width %s, horizon %s on the test window [%s, %s]',
                                 n_same, ref.width, ref.horizon, ref.test_from, ref.test_to);
        RAISE NOTICE 'best_score compared % model(s) of "%" with width %, horizon % and test window [%, %] (those of its newest model); % other model(s) of "%" have another width, horizon or test window, or no test log loss, and were not compared',
                     n_same, symbol, ref.width, ref.horizon, ref.test_from, ref.test_to, n_other, symbol;
    WHEN 'rollback' THEN
        SELECT d.model_id INTO chosen FROM triggerstock.deployments d
        WHERE d.symbol = deploy.symbol AND d.model_id IS DISTINCT FROM current
        ORDER BY d.id DESC LIMIT 1;
        IF chosen IS NULL THEN
            RAISE EXCEPTION 'nothing to roll back to for symbol "%"', symbol
                USING ERRCODE = 'no_data_found',
                      HINT = 'Rollback needs an earlier deployment of another model.';
        END IF;
        why := pg_catalog.format('rollback from model %s', current);
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
COMMENT ON COLUMN triggerstock.models.model IS 'the booster as saved by XGBoosterSaveModelToBuffer (UBJSON): best_iteration + 1 rounds refit on all training rows; python: xgboost.Booster(model_file=bytearray(model))';
COMMENT ON COLUMN triggerstock.models.params IS 'effective training parameters: XGBoost''s (as strings) plus test_fraction, validation_fraction, num_boost_round, early_stopping_rounds';
COMMENT ON COLUMN triggerstock.models.best_iteration IS 'zero-based boosting round with the lowest log loss on the validation slice (the end of the training rows; the test window chooses nothing), or the last round when early_stopping_rounds = 0; the stored model has best_iteration + 1 rounds';
COMMENT ON COLUMN triggerstock.models.metrics IS 'test-window metrics (accuracy, precision, recall, f1, roc_auc, log_loss, brier), each beside its baseline on the same window (majority_accuracy; baseline_log_loss and baseline_brier of always predicting the training base rate; edge_log_loss = baseline_log_loss - log_loss), n_train, n_fit, n_validation, n_test, validation_log_loss, rounds, time ranges, training_ms; see README';
COMMENT ON FUNCTION @extschema@.train(text, interval, integer, jsonb) IS
'trains an XGBoost classifier on the complete rows of features(symbol, width) (bucket <= last_complete_bucket(symbol, width)): label = close horizon buckets ahead > close now; time-ordered split (newest params.test_fraction, default 0.2, for testing, horizon rows left out before it); early stopping on a validation slice cut from the end of the training rows (params.validation_fraction, default 0.2, horizon rows left out before it), then a refit on all training rows with the chosen number of rounds; the test window is scored once, after every choice, beside its baselines; stores the model and its metrics, deploys it when its test log loss beats the deployed model''s of the same symbol, width and horizon on the same window; returns the model id, or NULL (with a NOTICE) when the symbol is being trained by another session';
COMMENT ON FUNCTION @extschema@.predict(text) IS
'probability that the close horizon buckets ahead is higher than the close of the newest complete bucket (width and horizon of the deployed model: for horizon h it is h buckets of that width ahead, not the next bucket): the deployed model on the newest complete feature row (last_complete_bucket()), else the last model score of that width and horizon if younger than triggerstock.last_score_max_age, else the rules baseline, else NULL; predict_explain() says which';
COMMENT ON FUNCTION @extschema@.predict_explain(text) IS
'what predict(symbol) answers and why: probability, question (the bucket, width and horizon the probability is about: the close horizon buckets of width after bucket against the close of bucket), width, horizon, watermark, fallback_level (model, last_score, rules, abstain), model_id, sha256, reason for skipped levels, bucket and values of the feature row';
COMMENT ON FUNCTION @extschema@.deploy(text, text) IS
'deploys a model of symbol: most_recent (newest), best_score (lowest test log loss among the models with the width, horizon and test window of the symbol''s newest model, so that the log losses are measured on the same rows; a NOTICE says how many were compared and how many were not), rollback (the model of the latest deployment that is not the current one; twice returns to where it started); returns the model id; a no-op with a NOTICE when it is already deployed';


-- Issue 12: least privilege (src/privileges.sql, the last piece).
------------------------------------------------------------------------------
-- src/privileges.sql
-- Least privilege: two NOLOGIN roles, and nothing for PUBLIC beyond the pure
-- functions (aggregates, indicators, sentiment, parsing).
--   triggerstock_reader  reads the data tables and views, calls predict()
--                        and the status functions (Grafana, analysts);
--   triggerstock_admin   is a reader that also configures sources, feeds,
--                        quote sources and their secrets, trains, deploys
--                        and runs retention (no superuser needed).
-- Grant them: GRANT triggerstock_reader TO grafana; (README, Security).
-- Roles belong to the cluster: they outlive DROP EXTENSION and are shared by
-- every database that installs the extension.  New tables, views and
-- functions of the extension get their grants here.
------------------------------------------------------------------------------

DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'triggerstock_reader') THEN
        CREATE ROLE triggerstock_reader NOLOGIN;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'triggerstock_admin') THEN
        CREATE ROLE triggerstock_admin NOLOGIN;
    END IF;
END
$$;
COMMENT ON ROLE triggerstock_reader IS
'triggerstock: reads trades, candles, news, models, predictions and the status views; calls predict() (created by the extension, NOLOGIN)';
COMMENT ON ROLE triggerstock_admin IS
'triggerstock: a reader that also manages sources, feeds, quote sources, secrets, models, deployments and retention (created by the extension, NOLOGIN)';
GRANT triggerstock_reader TO triggerstock_admin;

-- reading
GRANT USAGE ON SCHEMA triggerstock TO triggerstock_reader;
GRANT SELECT ON triggerstock.trades, triggerstock.trades_default, triggerstock.candles,
    triggerstock.candles_5m, triggerstock.candles_15m, triggerstock.candles_1h, triggerstock.candles_1d,
    triggerstock.sources, triggerstock.dead_letters, triggerstock.ingest_status,
    triggerstock.news, triggerstock.feeds, triggerstock.symbol_aliases, triggerstock.quote_sources,
    triggerstock.lexicons, triggerstock.models, triggerstock.deployments, triggerstock.predictions,
    triggerstock.deployed, triggerstock.latest_predictions, triggerstock.model_live_metrics,
    triggerstock.worker_plan
    TO triggerstock_reader;

-- administering (the secrets only here)
GRANT SELECT, INSERT, UPDATE, DELETE ON triggerstock.sources, triggerstock.source_secrets,
    triggerstock.feeds, triggerstock.quote_sources, triggerstock.symbol_aliases
    TO triggerstock_admin;
GRANT INSERT, UPDATE, DELETE ON triggerstock.trades, triggerstock.candles, triggerstock.news
    TO triggerstock_admin;
GRANT DELETE ON triggerstock.dead_letters, triggerstock.predictions TO triggerstock_admin;
GRANT INSERT ON triggerstock.models, triggerstock.deployments TO triggerstock_admin;
GRANT USAGE ON SEQUENCE triggerstock.sources_id_seq, triggerstock.feeds_id_seq,
    triggerstock.quote_sources_id_seq, triggerstock.models_id_seq, triggerstock.deployments_id_seq
    TO triggerstock_admin;

-- functions that change configuration or data: not for PUBLIC
REVOKE EXECUTE ON FUNCTION
    @extschema@.add_source(text, text, text, text[], text[], jsonb, boolean, integer[], time, time, text, text, boolean),
    @extschema@.add_feed(text, interval),
    @extschema@.add_quote_source(text, text, jsonb, interval),
    @extschema@.train(text, interval, integer, jsonb),
    @extschema@.train_from_query(text, text, interval, integer, jsonb),
    @extschema@.deploy(bigint),
    @extschema@.deploy(text, text),
    @extschema@.retention(interval),
    @extschema@.dead_letters_retention(interval),
    @extschema@.refresh_candles(timestamptz),
    @extschema@.refresh_candle_buckets(text[], timestamptz[]),
    @extschema@.store_candles(text[], timestamptz[], @extschema@.ohlcv[], boolean),
    @extschema@.maintain(),
    @extschema@.create_partitions(timestamptz, timestamptz),
    @extschema@.trade_partition_indexes(regclass)
    FROM PUBLIC;
GRANT EXECUTE ON FUNCTION
    @extschema@.add_source(text, text, text, text[], text[], jsonb, boolean, integer[], time, time, text, text, boolean),
    @extschema@.add_feed(text, interval),
    @extschema@.add_quote_source(text, text, jsonb, interval),
    @extschema@.train(text, interval, integer, jsonb),
    @extschema@.train_from_query(text, text, interval, integer, jsonb),
    @extschema@.deploy(bigint),
    @extschema@.deploy(text, text),
    @extschema@.retention(interval),
    @extschema@.dead_letters_retention(interval),
    @extschema@.refresh_candles(timestamptz),
    @extschema@.refresh_candle_buckets(text[], timestamptz[]),
    @extschema@.store_candles(text[], timestamptz[], @extschema@.ohlcv[], boolean)
    TO triggerstock_admin;

-- what the workers are doing is not PUBLIC's business either
REVOKE EXECUTE ON FUNCTION @extschema@.worker_status(), @extschema@.ingest_stats() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.worker_status(), @extschema@.ingest_stats() TO triggerstock_reader;

-- Issue 16 (history and gaps: REST backfill, gap repair, file imports) begin
-- Candles remember where they come from; 0.1 candles were computed from
-- trades or loaded by hand: both become origin 'trades' (the default).
-- (added without a default, then filled: no attmissingval, as in a fresh install)
ALTER TABLE triggerstock.candles ADD COLUMN origin text;
UPDATE triggerstock.candles SET origin = 'trades';
ALTER TABLE triggerstock.candles ALTER COLUMN origin SET DEFAULT 'trades',
    ALTER COLUMN origin SET NOT NULL,
    ADD CONSTRAINT candles_origin_valid CHECK (origin = 'trades' OR origin ~ '^(rest|file):[a-z0-9_]+$');
COMMENT ON COLUMN triggerstock.candles.origin IS
'trades: computed from the stored trades (ingest, refresh_candles, backfilled or imported trades); rest:<endpoint>: an exchange''s candle from a backfill job; file:<format>: from import_candles(); exchange and file candles never replace a candle computed from trades, trades always replace them';

-- the one merge of candles computed from trades replaces, never merges, an
-- exchange or file candle of the minute, and writes origin trades
CREATE OR REPLACE FUNCTION @extschema@.store_candles(symbols text[], buckets timestamptz[],
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

CREATE OR REPLACE FUNCTION @extschema@.refresh_candle_buckets(symbols text[], buckets timestamptz[])
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

------------------------------------------------------------------------------
-- src/backfill/import.sql
-- Loading history from files: import_trades() and import_candles() read a
-- server-side file (COPY, so the caller needs pg_read_server_files) or the
-- lines a client staged with \copy into pg_temp.triggerstock_import
-- (import_staging()), parse one of the common formats in SQL and store the
-- rows with every bookkeeping column filled in:
--   trades   exchange, instrument, symbol, trade_id (the line number where
--            the format has no id, so a re-import dedupes), received_at;
--            their 1-minute candles are recomputed (origin 'trades');
--   candles  open_time = bucket, close_time = bucket + 59.999 s (the
--            convention of Binance klines: the last millisecond of the
--            minute), trades 0 and vwap NULL where the file does not say,
--            origin 'file:<format>'; a candle computed from stored trades
--            is never replaced.
-- Invariants: re-importing a file changes nothing; a line that does not
-- parse raises an error naming its line number and nothing is stored.
------------------------------------------------------------------------------

CREATE FUNCTION @extschema@.import_staging()
RETURNS regclass
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF pg_catalog.to_regclass('pg_temp.triggerstock_import') IS NULL THEN
        CREATE TEMP TABLE triggerstock_import (
            n    bigint GENERATED ALWAYS AS IDENTITY,
            line text);
    ELSE
        TRUNCATE pg_temp.triggerstock_import RESTART IDENTITY;
    END IF;
    RETURN 'pg_temp.triggerstock_import'::regclass;
END
$$;
COMMENT ON FUNCTION @extschema@.import_staging() IS
'creates, or empties, the session''s staging table pg_temp.triggerstock_import (n = line number, line) and returns it: fill it from the client with \copy pg_temp.triggerstock_import (line) FROM ''file'' WITH (FORMAT csv, DELIMITER E''\x01'', QUOTE E''\x02''), then call import_trades or import_candles with path NULL';

-- Reads a file into the staging table (path given), or uses what the client
-- staged (path NULL); returns the number of lines.
CREATE FUNCTION @extschema@.import_lines(path text)
RETURNS bigint
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    n bigint;
BEGIN
    -- a longer name fails in the server's open() with an internal error
    IF pg_catalog.octet_length(path) > 1023 THEN
        RAISE EXCEPTION 'file path of % bytes is too long', pg_catalog.octet_length(path)
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'A server file path is at most 1023 bytes.';
    END IF;
    IF path IS NOT NULL OR pg_catalog.to_regclass('pg_temp.triggerstock_import') IS NULL THEN
        PERFORM @extschema@.import_staging();
    END IF;
    IF path IS NOT NULL THEN
        EXECUTE pg_catalog.format('COPY pg_temp.triggerstock_import (line) FROM %L '
                       'WITH (FORMAT csv, DELIMITER E''\x01'', QUOTE E''\x02'')', path);
    END IF;
    SELECT pg_catalog.count(*) INTO n FROM pg_temp.triggerstock_import WHERE line IS NOT NULL;
    IF n = 0 THEN
        RAISE EXCEPTION 'nothing to import: %', coalesce('file ' || path || ' is empty',
                                                          'pg_temp.triggerstock_import is empty')
            USING ERRCODE = 'no_data_found',
                  HINT = 'Give a path the server can read, or stage the lines with \copy pg_temp.triggerstock_import (line) FROM ''file'' WITH (FORMAT csv, DELIMITER E''\x01'', QUOTE E''\x02'') and pass path NULL.';
    END IF;
    RETURN n;
END
$$;
COMMENT ON FUNCTION @extschema@.import_lines(text) IS
'import_trades/import_candles helper: copies the server-side file path (one line per row) into pg_temp.triggerstock_import, or, with path NULL, uses the lines a client staged there; returns the number of lines';

-- The staged lines split on commas, blank lines and a byte order mark dropped.
CREATE FUNCTION @extschema@.import_fields()
RETURNS TABLE (n bigint, f text[])
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    RETURN QUERY
    SELECT s.n OPERATOR(pg_catalog.-) m.first OPERATOR(pg_catalog.+) 1,
           pg_catalog.string_to_array(pg_catalog.btrim(s.line, E' \t\r\n\uFEFF'), ',')
    FROM pg_temp.triggerstock_import s,
         (SELECT pg_catalog.min(x.n) AS first FROM pg_temp.triggerstock_import x) m
    WHERE s.line IS NOT NULL AND pg_catalog.btrim(s.line, E' \t\r\n\uFEFF') OPERATOR(pg_catalog.<>) '';
END
$$;
COMMENT ON FUNCTION @extschema@.import_fields() IS
'import helper: the staged lines (pg_temp.triggerstock_import) as arrays of comma-separated fields, with their line numbers in the file (from 1); blank lines skipped';

-- A time in a file: epoch seconds / ms / µs / ns told apart by magnitude,
-- or a timestamp text (without a zone it is read in time_zone).
CREATE FUNCTION @extschema@.import_time(v text, time_zone text)
RETURNS timestamptz
LANGUAGE sql IMMUTABLE PARALLEL SAFE
BEGIN ATOMIC
    SELECT CASE
        WHEN v OPERATOR(pg_catalog.~) '^\s*[0-9]+(\.[0-9]*)?\s*$' THEN
            'epoch'::pg_catalog.timestamptz OPERATOR(pg_catalog.+) ((CASE
                WHEN v::numeric OPERATOR(pg_catalog.<) 1e11 THEN pg_catalog.round(v::numeric OPERATOR(pg_catalog.*) 1e6)
                WHEN v::numeric OPERATOR(pg_catalog.<) 1e14 THEN pg_catalog.round(v::numeric OPERATOR(pg_catalog.*) 1e3)
                WHEN v::numeric OPERATOR(pg_catalog.<) 1e17 THEN pg_catalog.round(v::numeric)
                ELSE pg_catalog.trunc(v::numeric OPERATOR(pg_catalog./) 1e3) END)::bigint
                OPERATOR(pg_catalog.*) INTERVAL '1 microsecond')
        WHEN v OPERATOR(pg_catalog.~) '(Z|z|[+-][0-9]{2}(:?[0-9]{2})?)\s*$' THEN v::pg_catalog.timestamptz
        ELSE v::timestamp AT TIME ZONE time_zone END;
END;
COMMENT ON FUNCTION @extschema@.import_time(text, text) IS
'import helper: a file''s time as timestamptz: an epoch number in s (< 1e11), ms (< 1e14), µs (< 1e17) or ns, exact to the µs; else a timestamp text, read in time_zone when it names no zone';

-- The position of the first header name found among names, or NULL.
CREATE FUNCTION @extschema@.import_column(header text[], names text[])
RETURNS integer
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp AS $$
    SELECT pg_catalog.min(pg_catalog.array_position(header, x)) FROM pg_catalog.unnest(names) x
$$;
COMMENT ON FUNCTION @extschema@.import_column(text[], text[]) IS
'import helper: 1-based position in header (lower-case, trimmed names) of the first of names present, or NULL';

-- Raises the import error of line n.
CREATE FUNCTION @extschema@.import_line_error(format text, n bigint, detail text)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    RAISE EXCEPTION 'line % of the % file does not parse: %', n, format, detail
        USING ERRCODE = 'invalid_text_representation',
              HINT = 'Check the format name and the file; nothing was imported.';
END
$$;
COMMENT ON FUNCTION @extschema@.import_line_error(text, bigint, text) IS
'import helper: raises the error for a line that does not parse (nothing is stored)';

-- Runs INSERT INTO target SELECT select_list FROM the staged fields x WHERE
-- skip (parameters $1 day, $2 time_zone, $3 price_scale); when a line does
-- not parse, evaluates the lines one by one to name the first bad one.
CREATE FUNCTION @extschema@.import_parse(target text, select_list text, skip text, format text, day date,
                                         time_zone text, price_scale float8)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    line   bigint;
    keep   boolean;
    rec    record;
BEGIN
    EXECUTE pg_catalog.format('INSERT INTO %s SELECT %s FROM @extschema@.import_fields() x WHERE %s',
                              target, select_list, skip)
        USING day, time_zone, price_scale;
EXCEPTION WHEN data_exception THEN
    BEGIN
        FOR rec IN SELECT x.n, x.f FROM @extschema@.import_fields() x ORDER BY x.n LOOP
            line := rec.n;
            EXECUTE pg_catalog.format('SELECT %s FROM (SELECT $1::bigint AS n, $2::text[] AS f) x', skip)
                INTO keep USING rec.n, rec.f;
            CONTINUE WHEN NOT keep;
            EXECUTE pg_catalog.format('SELECT %s FROM (SELECT $4::bigint AS n, $5::text[] AS f) x',
                                      select_list)
                USING day, time_zone, price_scale, rec.n, rec.f;
        END LOOP;
    EXCEPTION WHEN data_exception THEN
        PERFORM @extschema@.import_line_error(format, line, SQLERRM);
    END;
    RAISE;
END
$$;
COMMENT ON FUNCTION @extschema@.import_parse(text, text, text, text, date, text, float8) IS
'import helper: inserts the parsed staged lines into a temporary table; a line that does not parse raises an error naming its line number';

-- The SQL expression of a side field: is_buyer_maker true/false, or buy/sell/b/s.
CREATE FUNCTION @extschema@.import_side_sql(field text)
RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp AS $$
    SELECT CASE WHEN field IS NULL THEN 'NULL::text' ELSE
        'CASE pg_catalog.lower(pg_catalog.btrim(' || field || ', '' "'')) WHEN ''true'' THEN ''sell'' '
        'WHEN ''false'' THEN ''buy'' WHEN ''buy'' THEN ''buy'' WHEN ''b'' THEN ''buy'' '
        'WHEN ''sell'' THEN ''sell'' WHEN ''s'' THEN ''sell'' END' END
$$;
COMMENT ON FUNCTION @extschema@.import_side_sql(text) IS
'import helper: SQL text reading a side from field: is_buyer_maker (true: the taker sold) or buy/sell/b/s as the taker''s side';

------------------------------------------------------------------------------
-- Trades
------------------------------------------------------------------------------

CREATE FUNCTION @extschema@.import_trades(
    path        text,
    format      text,
    exchange    text,
    instrument  text,
    symbol      text DEFAULT NULL,
    day         date DEFAULT NULL,
    time_zone   text DEFAULT 'UTC',
    price_scale float8 DEFAULT NULL)
RETURNS bigint
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    fmt  text := pg_catalog.lower(import_trades.format);
    sym  text := coalesce(import_trades.symbol, @extschema@.canonical_symbol(import_trades.instrument));
    hdr  text[];
    hdr_n bigint := 0;
    pos  integer[];
    cols text[];                -- trade_id, ts, price, qty, side expressions
    skip text := 'true';
    lo   timestamptz;
    hi   timestamptz;
    syms text[];
    bks  timestamptz[];
    stored bigint;
    bad  bigint;
BEGIN
    IF fmt IS NULL OR fmt NOT IN ('binance_aggtrades', 'binance_trades', 'kraken_trades', 'lean_tick', 'csv') THEN
        RAISE EXCEPTION 'unknown trade file format "%"', import_trades.format
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Use binance_aggtrades, binance_trades, kraken_trades, lean_tick or csv (with a header).';
    END IF;
    IF import_trades.exchange IS NULL OR import_trades.instrument IS NULL OR sym IS NULL THEN
        RAISE EXCEPTION 'import_trades needs the exchange and the instrument of the trades'
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'For example import_trades(''/path/XRPETH-aggTrades-2019-10-11.csv'', ''binance_aggtrades'', ''binance'', ''XRPETH'').';
    END IF;
    IF fmt = 'lean_tick' AND import_trades.day IS NULL THEN
        RAISE EXCEPTION 'the lean_tick format needs the day of the file'
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Lean times are milliseconds since midnight: pass day => ''2013-10-07'' (and time_zone => ''America/New_York'', price_scale => 10000 for US equities).';
    END IF;
    PERFORM @extschema@.import_lines(import_trades.path);
    IF fmt = 'csv' THEN
        SELECT x.n, ARRAY(SELECT pg_catalog.lower(pg_catalog.btrim(h, E' "\t')) FROM pg_catalog.unnest(x.f) WITH ORDINALITY u(h, i) ORDER BY i)
        INTO hdr_n, hdr FROM @extschema@.import_fields() x ORDER BY x.n LIMIT 1;
        pos := ARRAY[@extschema@.import_column(hdr, '{ts,time,timestamp,datetime,date,transact_time}'),
                     @extschema@.import_column(hdr, '{price,p}'),
                     @extschema@.import_column(hdr, '{qty,size,amount,quantity,volume,q}'),
                     @extschema@.import_column(hdr, '{trade_id,id,tid,agg_trade_id}'),
                     @extschema@.import_column(hdr, '{side}')];
        IF pos[1] IS NULL OR pos[2] IS NULL OR pos[3] IS NULL THEN
            RAISE EXCEPTION 'the csv header "%" names no time, price or quantity column', pg_catalog.array_to_string(hdr, ',')
                USING ERRCODE = 'invalid_parameter_value',
                      HINT = 'The first line names the columns: time (ts, time, timestamp), price, qty (size, amount, quantity); optional trade_id (id) and side.';
        END IF;
        cols := ARRAY[CASE WHEN pos[4] IS NULL THEN 'x.n'
                           ELSE pg_catalog.format('coalesce(nullif(pg_catalog.btrim(x.f[%s]), '''')::bigint, x.n)', pos[4]) END,
                      pg_catalog.format('@extschema@.import_time(pg_catalog.btrim(x.f[%s], '' "''), $2)', pos[1]),
                      pg_catalog.format('x.f[%s]', pos[2]), pg_catalog.format('x.f[%s]', pos[3]),
                      @extschema@.import_side_sql(CASE WHEN pos[5] IS NOT NULL THEN pg_catalog.format('x.f[%s]', pos[5]) END)];
        skip := pg_catalog.format('x.n <> %s', hdr_n);
    ELSIF fmt = 'binance_aggtrades' THEN
        cols := ARRAY['x.f[1]::bigint', '@extschema@.import_time(x.f[6], ''UTC'')', 'x.f[2]', 'x.f[3]',
                      @extschema@.import_side_sql('x.f[7]')];
        skip := 'x.f[1] ~ ''^[0-9]''';     -- the optional header
    ELSIF fmt = 'binance_trades' THEN
        cols := ARRAY['x.f[1]::bigint', '@extschema@.import_time(x.f[5], ''UTC'')', 'x.f[2]', 'x.f[3]',
                      @extschema@.import_side_sql('x.f[6]')];
        skip := 'x.f[1] ~ ''^[0-9]''';
    ELSIF fmt = 'kraken_trades' THEN
        cols := ARRAY['x.n', '@extschema@.import_time(x.f[1], ''UTC'')', 'x.f[2]', 'x.f[3]', 'NULL::text'];
    ELSE    -- lean_tick: suspicious ticks are skipped
        cols := ARRAY['x.n', '($1 + x.f[1]::bigint * INTERVAL ''1 millisecond'') AT TIME ZONE $2', 'x.f[2]',
                      'x.f[3]', 'NULL::text'];
        skip := 'pg_catalog.btrim(x.f[6]) IS DISTINCT FROM ''1''';
    END IF;

    IF pg_catalog.to_regclass('pg_temp.triggerstock_import_rows') IS NULL THEN
        CREATE TEMP TABLE triggerstock_import_rows (
            n bigint, trade_id bigint, ts timestamptz, price float8, qty float8, side text);
    END IF;
    TRUNCATE pg_temp.triggerstock_import_rows;
    PERFORM @extschema@.import_parse('pg_temp.triggerstock_import_rows',
        pg_catalog.format('x.n, %s, %s, (%s)::float8 / coalesce($3, 1), (%s)::float8, %s',
               cols[1], cols[2], cols[3], cols[4], cols[5]),
        skip, fmt, import_trades.day, import_trades.time_zone, import_trades.price_scale);
    SELECT pg_catalog.min(r.n) INTO bad FROM pg_temp.triggerstock_import_rows r
    WHERE r.ts IS NULL OR r.price IS NULL OR r.qty IS NULL OR r.trade_id IS NULL;
    IF bad IS NOT NULL THEN
        PERFORM @extschema@.import_line_error(fmt, bad, 'a field is missing');
    END IF;

    SELECT pg_catalog.min(r.ts), pg_catalog.max(r.ts) INTO lo, hi FROM pg_temp.triggerstock_import_rows r;
    -- a caller who may not create partitions (triggerstock_admin): the rows
    -- wait in trades_default until the launcher's maintain() moves them
    IF pg_catalog.date_part('epoch', hi) - pg_catalog.date_part('epoch', lo) <= 3660 * 86400
       AND pg_catalog.has_function_privilege('@extschema@.create_partitions(timestamptz, timestamptz)', 'EXECUTE')
       AND pg_catalog.has_schema_privilege('triggerstock', 'CREATE') THEN
        PERFORM pg_catalog.count(*) FROM @extschema@.create_partitions(lo, hi);
    END IF;
    WITH ins AS (
        INSERT INTO triggerstock.trades AS t (exchange, instrument, symbol, trade_id, ts, price, qty, side)
        SELECT import_trades.exchange, import_trades.instrument, sym, r.trade_id, r.ts, r.price, r.qty, r.side
        FROM pg_temp.triggerstock_import_rows r
        ON CONFLICT DO NOTHING
        RETURNING t.symbol, t.ts
    ), touched AS (
        SELECT i.symbol, pg_catalog.date_bin(interval '1 minute', i.ts, timestamp with time zone 'epoch') AS bucket, pg_catalog.count(*) AS c
        FROM ins i GROUP BY 1, 2
    )
    SELECT coalesce(pg_catalog.sum(c), 0), pg_catalog.array_agg(t.symbol), pg_catalog.array_agg(t.bucket) INTO stored, syms, bks FROM touched t;
    PERFORM @extschema@.refresh_candle_buckets(syms, bks);
    TRUNCATE pg_temp.triggerstock_import, pg_temp.triggerstock_import_rows RESTART IDENTITY;
    RETURN stored;
END
$$;
COMMENT ON FUNCTION @extschema@.import_trades(text, text, text, text, text, date, text, float8) IS
$c$loads trades from a file and returns how many were new: path is a server-side file (needs pg_read_server_files), or NULL for the lines staged with \copy into pg_temp.triggerstock_import (import_staging()). Formats: binance_aggtrades and binance_trades (data.binance.vision CSVs, with or without header; ms or µs times), kraken_trades (Kraken time and sales CSV: time, price, volume), lean_tick (QuantConnect Lean ticks: ms since midnight of day in time_zone, price / price_scale, size; suspicious ticks skipped), csv (a header naming time, price, qty and optionally trade_id and side; times as epoch s/ms/µs/ns or timestamps in time_zone). Formats without ids use the line number as trade_id, so re-importing dedupes. The trades' 1-minute candles are recomputed.$c$;

------------------------------------------------------------------------------
-- Candles
------------------------------------------------------------------------------

CREATE FUNCTION @extschema@.import_candles(
    path        text,
    format      text,
    symbol      text,
    day         date DEFAULT NULL,
    time_zone   text DEFAULT 'UTC',
    price_scale float8 DEFAULT NULL)
RETURNS bigint
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    fmt  text := pg_catalog.lower(import_candles.format);
    hdr  text[];
    hdr_n bigint := 0;
    pos  integer[];
    cols text[];                -- bucket, vwap, trades, span expressions
    skip text := 'x.f[1] ~ ''^[0-9]''';    -- an optional header
    bad  record;
    written bigint;
BEGIN
    IF fmt IS NULL OR fmt NOT IN ('lean_minute', 'binance_klines', 'kraken_ohlcvt', 'csv') THEN
        RAISE EXCEPTION 'unknown candle file format "%"', import_candles.format
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Use lean_minute, binance_klines, kraken_ohlcvt or csv (with a header).';
    END IF;
    IF import_candles.symbol IS NULL THEN
        RAISE EXCEPTION 'import_candles needs the symbol the candles belong to'
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'For example import_candles(''/path/btc.csv'', ''csv'', ''BTC'').';
    END IF;
    IF fmt = 'lean_minute' AND import_candles.day IS NULL THEN
        RAISE EXCEPTION 'the lean_minute format needs the day of the file'
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Lean times are milliseconds since midnight: pass day => ''2017-09-03'' (and time_zone => ''America/New_York'', price_scale => 10000 for US equities).';
    END IF;
    PERFORM @extschema@.import_lines(import_candles.path);
    pos := '{1,2,3,4,5,6}';
    IF fmt = 'csv' THEN
        SELECT x.n, ARRAY(SELECT pg_catalog.lower(pg_catalog.btrim(h, E' "\t')) FROM pg_catalog.unnest(x.f) WITH ORDINALITY u(h, i) ORDER BY i)
        INTO hdr_n, hdr FROM @extschema@.import_fields() x ORDER BY x.n LIMIT 1;
        pos := ARRAY[@extschema@.import_column(hdr, '{timestamp,time,ts,open_time,bucket,datetime,date}'),
                     @extschema@.import_column(hdr, '{open,o}'), @extschema@.import_column(hdr, '{high,h}'),
                     @extschema@.import_column(hdr, '{low,l}'), @extschema@.import_column(hdr, '{close,c}'),
                     @extschema@.import_column(hdr, '{volume,vol,v}'), @extschema@.import_column(hdr, '{vwap}'),
                     @extschema@.import_column(hdr, '{trades,count,n,number_of_trades}')];
        IF pg_catalog.array_position(pos[1:6], NULL) IS NOT NULL THEN
            RAISE EXCEPTION 'the csv header "%" lacks one of time, open, high, low, close, volume', pg_catalog.array_to_string(hdr, ',')
                USING ERRCODE = 'invalid_parameter_value',
                      HINT = 'The first line names the columns: timestamp (time, open_time), open, high, low, close, volume; optional vwap and trades.';
        END IF;
        cols := ARRAY[pg_catalog.format('@extschema@.import_time(pg_catalog.btrim(x.f[%s], '' "''), $2)', pos[1]),
                      CASE WHEN pos[7] IS NULL THEN 'NULL::float8' ELSE
                           pg_catalog.format('nullif(pg_catalog.btrim(x.f[%s]), '''')::float8 / coalesce($3, 1)', pos[7]) END,
                      CASE WHEN pos[8] IS NULL THEN '0' ELSE
                           pg_catalog.format('coalesce(nullif(pg_catalog.btrim(x.f[%s]), '''')::bigint, 0)', pos[8]) END,
                      'NULL::interval'];
        skip := pg_catalog.format('x.n <> %s', hdr_n);
    ELSIF fmt = 'lean_minute' THEN
        cols := ARRAY['($1 + x.f[1]::bigint * INTERVAL ''1 millisecond'') AT TIME ZONE $2', 'NULL::float8', '0',
                      'NULL::interval'];
    ELSIF fmt = 'binance_klines' THEN
        cols := ARRAY['@extschema@.import_time(x.f[1], ''UTC'')',
                      'x.f[8]::float8 / nullif(x.f[6]::float8, 0)', 'x.f[9]::bigint',
                      '@extschema@.import_time(x.f[7], ''UTC'') - @extschema@.import_time(x.f[1], ''UTC'')'];
    ELSE    -- kraken_ohlcvt
        cols := ARRAY['@extschema@.import_time(x.f[1], ''UTC'')', 'NULL::float8', 'x.f[7]::bigint', 'NULL::interval'];
    END IF;

    IF pg_catalog.to_regclass('pg_temp.triggerstock_import_candles') IS NULL THEN
        CREATE TEMP TABLE triggerstock_import_candles (
            n bigint, bucket timestamptz, open float8, high float8, low float8, close float8,
            volume float8, vwap float8, trades bigint, span interval);
    END IF;
    TRUNCATE pg_temp.triggerstock_import_candles;
    PERFORM @extschema@.import_parse('pg_temp.triggerstock_import_candles',
        pg_catalog.format('x.n, %s, (x.f[%s])::float8 / coalesce($3, 1), (x.f[%s])::float8 / coalesce($3, 1), '
               '(x.f[%s])::float8 / coalesce($3, 1), (x.f[%s])::float8 / coalesce($3, 1), '
               '(x.f[%s])::float8, %s, %s, %s',
               cols[1], pos[2], pos[3], pos[4], pos[5], pos[6], cols[2], cols[3], cols[4]),
        skip, fmt, import_candles.day, import_candles.time_zone, import_candles.price_scale);
    SELECT c.n, CASE
               WHEN c.bucket IS NULL OR c.open IS NULL OR c.high IS NULL OR c.low IS NULL
                    OR c.close IS NULL OR c.volume IS NULL THEN 'a field is missing'
               WHEN pg_catalog.date_bin(interval '1 minute', c.bucket, timestamp with time zone 'epoch') <> c.bucket THEN
                   pg_catalog.format('%s is not the start of a minute (only 1-minute candles are stored)', c.bucket)
               WHEN c.span IS NOT NULL AND NOT (c.span > interval '59 seconds' AND c.span < interval '1 minute') THEN
                   pg_catalog.format('a kline spanning %s, not 1 minute', c.span)
               ELSE pg_catalog.format('a second candle for %s', c.bucket) END AS why
    INTO bad
    FROM (SELECT x.*, pg_catalog.row_number() OVER (PARTITION BY x.bucket ORDER BY x.n) AS k
          FROM pg_temp.triggerstock_import_candles x) c
    WHERE c.bucket IS NULL OR c.open IS NULL OR c.high IS NULL OR c.low IS NULL OR c.close IS NULL
       OR c.volume IS NULL OR pg_catalog.date_bin(interval '1 minute', c.bucket, timestamp with time zone 'epoch') <> c.bucket
       OR (c.span IS NOT NULL AND NOT (c.span > interval '59 seconds' AND c.span < interval '1 minute'))
       OR c.k > 1
    ORDER BY c.n LIMIT 1;
    IF bad.n IS NOT NULL THEN
        PERFORM @extschema@.import_line_error(fmt, bad.n, bad.why);
    END IF;

    WITH written AS (
        INSERT INTO triggerstock.candles AS k
            (symbol, width, bucket, open, high, low, close, volume, vwap, trades, open_time, close_time, origin)
        SELECT import_candles.symbol, interval '1 minute', c.bucket, c.open, c.high, c.low, c.close, c.volume,
               c.vwap, c.trades, c.bucket, c.bucket + interval '59.999 seconds', 'file:' || fmt
        FROM pg_temp.triggerstock_import_candles c
        ON CONFLICT ON CONSTRAINT candles_pkey DO UPDATE
           SET open = EXCLUDED.open, high = EXCLUDED.high, low = EXCLUDED.low, close = EXCLUDED.close,
               volume = EXCLUDED.volume, vwap = EXCLUDED.vwap, trades = EXCLUDED.trades,
               open_time = EXCLUDED.open_time, close_time = EXCLUDED.close_time, origin = EXCLUDED.origin
           WHERE k.origin <> 'trades'
             AND (k.open, k.high, k.low, k.close, k.volume, k.vwap, k.trades, k.origin) IS DISTINCT FROM
                 (EXCLUDED.open, EXCLUDED.high, EXCLUDED.low, EXCLUDED.close, EXCLUDED.volume,
                  EXCLUDED.vwap, EXCLUDED.trades, EXCLUDED.origin)
        RETURNING 1
    )
    SELECT pg_catalog.count(*) INTO written FROM written;
    TRUNCATE pg_temp.triggerstock_import, pg_temp.triggerstock_import_candles RESTART IDENTITY;
    RETURN written;
END
$$;
COMMENT ON FUNCTION @extschema@.import_candles(text, text, text, date, text, float8) IS
$c$loads 1-minute candles of symbol from a file into triggerstock.candles and returns how many it wrote: path is a server-side file (needs pg_read_server_files), or NULL for the lines staged with \copy into pg_temp.triggerstock_import (import_staging()). Formats: lean_minute (QuantConnect Lean: ms since midnight of day in time_zone, open, high, low, close / price_scale, volume), binance_klines (data.binance.vision 1m klines; vwap = quote volume / volume, trades = count), kraken_ohlcvt (Kraken OHLCVT CSV: time s, open, high, low, close, volume, trades), csv (a header naming timestamp, open, high, low, close, volume and optionally vwap and trades; times as epoch numbers or timestamps in time_zone). Candles get open_time = bucket and close_time = bucket + 59.999 s, trades 0 and vwap NULL when the file does not say, origin file:<format>; a candle computed from stored trades is never replaced; re-importing changes nothing.$c$;

------------------------------------------------------------------------------
-- src/backfill/backfill.sql
-- History over REST: the backfill job queue that the poll worker works
-- (bgworker/backfill*.c), backfill() / backfill_cancel(), and the trade-id
-- gaps the ingest workers find and repair with jobs of their own.
-- Invariants: a job's cursor, rows and progress commit in the transaction
-- that stores its rows (a restart resumes where the last commit left off);
-- only changes of a job's state wake the launcher and the poll worker.
------------------------------------------------------------------------------

CREATE TABLE triggerstock.backfills (
    id          bigserial PRIMARY KEY,
    exchange    text NOT NULL CONSTRAINT backfills_exchange_valid
                    CHECK (exchange IN ('binance', 'coinbase', 'kraken', 'generic')),
    market      text NOT NULL DEFAULT 'spot' CONSTRAINT backfills_market_valid
                    CHECK (market IN ('spot', 'usdm', 'coinm')),
    instrument  text NOT NULL,
    symbol      text NOT NULL,
    kind        text NOT NULL CONSTRAINT backfills_kind_valid CHECK (kind IN ('trades', 'candles')),
    endpoint    text NOT NULL,
    range_from  timestamptz,
    range_to    timestamptz,
    from_id     bigint,
    to_id       bigint,
    base_url    text,
    options     jsonb NOT NULL DEFAULT '{}' CONSTRAINT backfills_options_object
                    CHECK (jsonb_typeof(options) = 'object'),
    source      integer,
    state       text NOT NULL DEFAULT 'queued' CONSTRAINT backfills_state_valid
                    CHECK (state IN ('queued', 'running', 'done', 'failed', 'cancelled')),
    cursor      text,
    rows        bigint NOT NULL DEFAULT 0,
    pages       bigint NOT NULL DEFAULT 0,
    errors      integer NOT NULL DEFAULT 0,
    last_error  text,
    progress    float8 NOT NULL DEFAULT 0,
    created_at  timestamptz NOT NULL DEFAULT now(),
    started_at  timestamptz,
    finished_at timestamptz,
    CONSTRAINT backfills_range_or_ids
        CHECK ((range_from < range_to) OR (from_id <= to_id))
);
CREATE INDEX backfills_active ON triggerstock.backfills (id) WHERE state IN ('queued', 'running');
COMMENT ON TABLE triggerstock.backfills IS
'REST backfill jobs (backfill(), and the ingest workers'' gap repairs): the poll worker fetches their pages with libcurl, stores each page''s rows with the job''s cursor in one transaction, and resumes from the cursor after a restart';
COMMENT ON SEQUENCE triggerstock.backfills_id_seq IS 'ids of triggerstock.backfills';
COMMENT ON COLUMN triggerstock.backfills.exchange IS 'binance, coinbase, kraken or generic';
COMMENT ON COLUMN triggerstock.backfills.market IS 'Binance market: spot, usdm (USD-M futures) or coinm (COIN-M futures); spot elsewhere';
COMMENT ON COLUMN triggerstock.backfills.instrument IS 'the exchange''s instrument name (BTCUSDT, BTC-USD, XBTUSDT)';
COMMENT ON COLUMN triggerstock.backfills.symbol IS 'canonical symbol the trades or candles are stored under';
COMMENT ON COLUMN triggerstock.backfills.kind IS 'trades (into triggerstock.trades, candles recomputed) or candles (the exchange''s 1-minute candles, origin rest:<endpoint>)';
COMMENT ON COLUMN triggerstock.backfills.endpoint IS 'binance_aggtrades, binance_trades (historicalTrades), binance_klines, coinbase_trades, coinbase_candles, kraken_trades, kraken_ohlc or generic_trades';
COMMENT ON COLUMN triggerstock.backfills.range_from IS 'start of the time range (inclusive); for an id range, where the search starts';
COMMENT ON COLUMN triggerstock.backfills.range_to IS 'end of the time range (exclusive)';
COMMENT ON COLUMN triggerstock.backfills.from_id IS 'first trade id of an id range (gap repair)';
COMMENT ON COLUMN triggerstock.backfills.to_id IS 'last trade id of an id range (inclusive)';
COMMENT ON COLUMN triggerstock.backfills.base_url IS 'REST base URL (scheme://host[:port]); NULL: the exchange''s public API';
COMMENT ON COLUMN triggerstock.backfills.options IS
'jsonb: limit (rows per page), min_interval_ms (pause between requests to the host), max_errors (transient errors in a row before the job fails, default 10), max_pages; generic: url, next_url, cursor (id, time_ms, time_s, path), next_path, map (as sources.options->''map'')';
COMMENT ON COLUMN triggerstock.backfills.source IS 'the ingest source whose trade-id gap this job repairs, NULL for jobs asked with backfill()';
COMMENT ON COLUMN triggerstock.backfills.state IS 'queued, running, done, failed (last_error says why) or cancelled';
COMMENT ON COLUMN triggerstock.backfills.cursor IS 'where the next page starts (mode:value:last_us:last_id[:token]), committed with the rows';
COMMENT ON COLUMN triggerstock.backfills.rows IS 'rows stored (new trades, or candles written)';
COMMENT ON COLUMN triggerstock.backfills.pages IS 'pages fetched and stored';
COMMENT ON COLUMN triggerstock.backfills.errors IS 'transient errors met (HTTP 5xx, 429/418, timeouts, truncated or repeated pages), each retried after a back-off';
COMMENT ON COLUMN triggerstock.backfills.last_error IS 'the last error, and why a failed job failed';
COMMENT ON COLUMN triggerstock.backfills.progress IS 'fraction of the range (or of the ids) covered, 0 to 1';
COMMENT ON COLUMN triggerstock.backfills.created_at IS 'when the job was queued';
COMMENT ON COLUMN triggerstock.backfills.started_at IS 'when its first page was requested';
COMMENT ON COLUMN triggerstock.backfills.finished_at IS 'when it ended (done, failed or cancelled)';

CREATE TRIGGER backfills_config_changed
    AFTER INSERT OR DELETE OR TRUNCATE OR UPDATE OF state ON triggerstock.backfills
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.config_changed();

CREATE TABLE triggerstock.gaps (
    id          bigserial PRIMARY KEY,
    source      integer NOT NULL,
    exchange    text NOT NULL,
    instrument  text NOT NULL,
    first_id    bigint NOT NULL,
    last_id     bigint NOT NULL,
    after_ts    timestamptz,
    before_ts   timestamptz,
    detected_at timestamptz NOT NULL DEFAULT now(),
    backfill    bigint REFERENCES triggerstock.backfills (id) ON DELETE SET NULL,
    CONSTRAINT gaps_ids CHECK (first_id <= last_id)
);
CREATE INDEX gaps_source ON triggerstock.gaps (source);
COMMENT ON TABLE triggerstock.gaps IS
'trade-id gaps an ingest worker found in a feed whose ids are consecutive per market (Binance trade and aggTrade, Coinbase matches, Kraken v2), each with the backfill job that repairs it; ingest_status counts the open and repaired ones';
COMMENT ON SEQUENCE triggerstock.gaps_id_seq IS 'ids of triggerstock.gaps';
COMMENT ON COLUMN triggerstock.gaps.source IS 'the source (triggerstock.sources.id; kept after the source is dropped)';
COMMENT ON COLUMN triggerstock.gaps.exchange IS 'trades.exchange of the missing trades';
COMMENT ON COLUMN triggerstock.gaps.instrument IS 'the instrument whose ids jumped';
COMMENT ON COLUMN triggerstock.gaps.first_id IS 'first missing trade id';
COMMENT ON COLUMN triggerstock.gaps.last_id IS 'last missing trade id';
COMMENT ON COLUMN triggerstock.gaps.after_ts IS 'time of the trade before the gap';
COMMENT ON COLUMN triggerstock.gaps.before_ts IS 'time of the trade after the gap';
COMMENT ON COLUMN triggerstock.gaps.detected_at IS 'when the worker found it';
COMMENT ON COLUMN triggerstock.gaps.backfill IS 'the repairing job (triggerstock.backfills.id): open while it is queued or running, repaired when done';

SELECT pg_catalog.pg_extension_config_dump('triggerstock.backfills', '');
SELECT pg_catalog.pg_extension_config_dump('triggerstock.backfills_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('triggerstock.gaps', '');
SELECT pg_catalog.pg_extension_config_dump('triggerstock.gaps_id_seq', '');

CREATE FUNCTION @extschema@.backfill_check(endpoint text, market text, base_url text, instrument text,
                                           range_from timestamptz, range_to timestamptz,
                                           from_id bigint, to_id bigint, options jsonb)
RETURNS void AS 'MODULE_PATHNAME', 'backfill_check'
LANGUAGE C;
COMMENT ON FUNCTION @extschema@.backfill_check(text, text, text, text, timestamptz, timestamptz, bigint, bigint, jsonb) IS
'raises the error the poll worker would fail a job with (bad URL, instrument, range, limit or generic map); backfill() calls it before queuing';

CREATE FUNCTION @extschema@.backfill(
    exchange   text,
    instrument text,
    range_from timestamptz,
    range_to   timestamptz,
    kind       text DEFAULT 'trades',
    symbol     text DEFAULT NULL,
    market     text DEFAULT 'spot',
    from_id    bigint DEFAULT NULL,
    to_id      bigint DEFAULT NULL,
    base_url   text DEFAULT NULL,
    options    jsonb DEFAULT '{}')
RETURNS bigint
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    ex   text := pg_catalog.lower(backfill.exchange);
    mk   text := coalesce(pg_catalog.lower(backfill.market), 'spot');
    k    text := pg_catalog.lower(backfill.kind);
    ep   text;
    new_id bigint;
BEGIN
    IF ex IS NULL OR ex NOT IN ('binance', 'coinbase', 'kraken', 'generic') THEN
        RAISE EXCEPTION 'cannot backfill from exchange "%"', backfill.exchange
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Use binance, coinbase, kraken or generic (with options url and map).';
    END IF;
    IF k IS NULL OR k NOT IN ('trades', 'candles') OR (ex = 'generic' AND k = 'candles') THEN
        RAISE EXCEPTION 'cannot backfill "%" from %', backfill.kind, ex
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'kind is trades or candles (generic: trades only).';
    END IF;
    IF mk NOT IN ('spot', 'usdm', 'coinm') OR (ex <> 'binance' AND mk <> 'spot') THEN
        RAISE EXCEPTION 'unknown market "%" for %', backfill.market, ex
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Binance markets are spot, usdm and coinm; other exchanges have spot only.';
    END IF;
    IF (backfill.from_id IS NULL) <> (backfill.to_id IS NULL) THEN
        RAISE EXCEPTION 'an id range needs both from_id and to_id'
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Give both, or neither for a time range.';
    END IF;
    IF backfill.from_id IS NULL AND (backfill.range_from IS NULL OR backfill.range_to IS NULL
                                     OR backfill.range_from >= backfill.range_to) THEN
        RAISE EXCEPTION 'invalid backfill range from % to %', backfill.range_from, backfill.range_to
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Give range_from before range_to, for example now() - interval ''7 days'' and now().';
    END IF;
    -- Binance trades: keep the id space of the market's live feed (trade ids
    -- or aggregate ids), so backfilled and live trades dedupe each other
    ep := CASE
        WHEN ex = 'binance' AND k = 'candles' THEN 'binance_klines'
        WHEN ex = 'binance' AND coalesce(backfill.options->>'ids',
                 CASE WHEN EXISTS (SELECT 1 FROM triggerstock.sources s
                                   WHERE s.exchange = 'binance' AND s.market = mk
                                     AND backfill.instrument = ANY (s.instruments)
                                     AND coalesce(s.options->>'feed', 'binance_trade') = 'binance_trade')
                      THEN 'trade' ELSE 'agg' END) = 'trade' THEN 'binance_trades'
        WHEN ex = 'binance' THEN 'binance_aggtrades'
        WHEN ex = 'generic' THEN 'generic_trades'
        ELSE ex || CASE k WHEN 'trades' THEN '_trades' WHEN 'candles' THEN
                         CASE ex WHEN 'kraken' THEN '_ohlc' ELSE '_candles' END END END;
    PERFORM @extschema@.backfill_check(ep, mk, backfill.base_url, backfill.instrument, backfill.range_from,
                                       backfill.range_to, backfill.from_id, backfill.to_id,
                                       coalesce(backfill.options, '{}'));
    -- the same job already queued or running: that one
    SELECT b.id INTO new_id FROM triggerstock.backfills b
    WHERE b.state IN ('queued', 'running') AND b.exchange = ex AND b.market = mk
      AND b.instrument = backfill.instrument AND b.endpoint = ep
      AND b.range_from IS NOT DISTINCT FROM backfill.range_from AND b.range_to IS NOT DISTINCT FROM backfill.range_to
      AND b.from_id IS NOT DISTINCT FROM backfill.from_id AND b.to_id IS NOT DISTINCT FROM backfill.to_id
      AND b.base_url IS NOT DISTINCT FROM backfill.base_url AND b.options = coalesce(backfill.options, '{}')
    ORDER BY b.id LIMIT 1;
    IF new_id IS NOT NULL THEN
        RETURN new_id;
    END IF;
    INSERT INTO triggerstock.backfills AS b
        (exchange, market, instrument, symbol, kind, endpoint, range_from, range_to, from_id, to_id,
         base_url, options)
    -- the symbol defaults to the one a source of the same market streams the
    -- instrument under, so backfilled and live trades share their candles
    VALUES (ex, mk, backfill.instrument,
            coalesce(backfill.symbol,
                     (SELECT s.symbols[pg_catalog.array_position(s.instruments, backfill.instrument)]
                      FROM triggerstock.sources s
                      WHERE s.exchange = ex AND s.market = mk AND backfill.instrument = ANY (s.instruments)
                      ORDER BY s.id LIMIT 1),
                     @extschema@.canonical_symbol(backfill.instrument)), k, ep,
            backfill.range_from, backfill.range_to, backfill.from_id, backfill.to_id, backfill.base_url,
            coalesce(backfill.options, '{}'))
    RETURNING b.id INTO new_id;
    RETURN new_id;
END
$$;
COMMENT ON FUNCTION @extschema@.backfill(text, text, timestamptz, timestamptz, text, text, text, bigint, bigint, text, jsonb) IS
$c$queues a REST backfill of instrument's trades or 1-minute candles for [range_from, range_to) (or the trade ids from_id..to_id) and returns the job id (an identical queued or running job's id if there is one); the trades are stored with exchange, market and instrument as a live source of that market stores them, under the symbol such a source uses (else canonical_symbol(instrument)); the poll worker (needs shared_preload_libraries) works it: see triggerstock.backfills for its state, cursor, rows and progress, backfill_cancel(id) to stop it. Binance trades use historicalTrades when a Binance source streams the instrument's trade feed (same trade ids), else aggTrades (options ids => 'trade' or 'agg' chooses).$c$;

CREATE FUNCTION @extschema@.backfill_cancel(id bigint)
RETURNS boolean
LANGUAGE sql
SET search_path = pg_catalog, pg_temp AS $$
    WITH c AS (
        UPDATE triggerstock.backfills b
        SET state = 'cancelled', finished_at = pg_catalog.now()
        WHERE b.id = backfill_cancel.id AND b.state IN ('queued', 'running')
        RETURNING 1
    )
    SELECT pg_catalog.count(*) > 0 FROM c
$$;
COMMENT ON FUNCTION @extschema@.backfill_cancel(bigint) IS
'cancels a queued or running backfill job (the rows already stored stay); true if it was queued or running';

-- ingest_status counts the gaps (its columns as in src/ingest/ingest.sql)
CREATE OR REPLACE VIEW triggerstock.ingest_status AS
SELECT s.id AS source, s.name, s.exchange, s.enabled,
       coalesce(st.state,
                CASE WHEN NOT s.enabled THEN 'disabled'
                     WHEN pg_catalog.current_setting('triggerstock.max_workers', true) IS NULL THEN 'starting'
                     WHEN (SELECT pg_catalog.count(*) FROM @extschema@.worker_status())
                          OPERATOR(pg_catalog.>=) pg_catalog.current_setting('triggerstock.max_workers')::integer
                          THEN 'no worker slot'
                     ELSE 'starting' END) AS state,
       st.state_since, st.connected_since, st.pid,
       coalesce(st.frames, 0) AS frames, coalesce(st.trades, 0) AS trades,
       coalesce(st.duplicates, 0) AS duplicates, coalesce(st.dead_letters, 0) AS dead_letters,
       coalesce(st.reconnects, 0) AS reconnects, coalesce(st.flushes, 0) AS flushes,
       coalesce(st.bytes, 0) AS bytes,
       st.last_trade_at, st.last_commit_at, st.latency_p50_ms, st.latency_p99_ms,
       coalesce(st.dead_letters_dropped, 0) AS dead_letters_dropped,
       coalesce(g.open_gaps, 0) AS open_gaps, coalesce(g.repaired_gaps, 0) AS repaired_gaps,
       coalesce(g.failed_gaps, 0) AS failed_gaps
FROM triggerstock.sources s
LEFT JOIN @extschema@.ingest_stats() st ON st.source = s.id
LEFT JOIN (SELECT gp.source,
                  pg_catalog.count(*) FILTER (WHERE b.state IN ('queued', 'running')) AS open_gaps,
                  pg_catalog.count(*) FILTER (WHERE b.state = 'done') AS repaired_gaps,
                  pg_catalog.count(*) FILTER (WHERE b.state IN ('failed', 'cancelled')) AS failed_gaps
           FROM triggerstock.gaps gp
           LEFT JOIN triggerstock.backfills b ON b.id = gp.backfill
           GROUP BY gp.source) g ON g.source = s.id;
COMMENT ON VIEW triggerstock.ingest_status IS
'per source: worker state (starting, connecting, streaming, backoff, outside-hours, stopped, disabled, no worker slot: triggerstock.max_workers or max_worker_processes used up), connected since, frames, trades stored, duplicates skipped, dead letters, reconnects, last trade time, feed-to-commit latency p50/p99 in ms (frame arrival to commit), bad frames counted but not stored (dead_letters_dropped: over triggerstock.dead_letters_per_minute), trade-id gaps being repaired (open), repaired and failed (triggerstock.gaps)';

-- the poll worker runs while a backfill job is queued or running
CREATE OR REPLACE VIEW triggerstock.worker_plan AS
SELECT 'poll'::text AS kind, 0 AS id
WHERE EXISTS (SELECT 1 FROM triggerstock.feeds WHERE enabled)
   OR EXISTS (SELECT 1 FROM triggerstock.quote_sources WHERE enabled)
   OR EXISTS (SELECT 1 FROM triggerstock.backfills WHERE state IN ('queued', 'running'))
UNION ALL
SELECT 'ingest', s.id FROM triggerstock.sources s WHERE s.enabled
UNION ALL
SELECT 'predictor', 1
WHERE EXISTS (SELECT 1 FROM triggerstock.deployments);
COMMENT ON VIEW triggerstock.worker_plan IS
'the dynamic background workers the launcher keeps running, one per (kind, id)';

-- history and gaps (issue 16): the job queue and the gaps are read like the
-- other status tables; queuing and cancelling jobs and importing files
-- change data, so they are the admin's (the helpers of the imports run as
-- the caller, so the admin needs them too; the pure ones stay PUBLIC's)
GRANT SELECT ON triggerstock.backfills, triggerstock.gaps TO triggerstock_reader;
GRANT INSERT, UPDATE, DELETE ON triggerstock.backfills TO triggerstock_admin;
GRANT DELETE ON triggerstock.gaps TO triggerstock_admin;
GRANT USAGE ON SEQUENCE triggerstock.backfills_id_seq TO triggerstock_admin;
REVOKE EXECUTE ON FUNCTION
    @extschema@.backfill(text, text, timestamptz, timestamptz, text, text, text, bigint, bigint, text, jsonb),
    @extschema@.backfill_cancel(bigint),
    @extschema@.backfill_check(text, text, text, text, timestamptz, timestamptz, bigint, bigint, jsonb),
    @extschema@.import_trades(text, text, text, text, text, date, text, float8),
    @extschema@.import_candles(text, text, text, date, text, float8),
    @extschema@.import_staging(),
    @extschema@.import_lines(text),
    @extschema@.import_fields(),
    @extschema@.import_line_error(text, bigint, text),
    @extschema@.import_parse(text, text, text, text, date, text, float8)
    FROM PUBLIC;
GRANT EXECUTE ON FUNCTION
    @extschema@.backfill(text, text, timestamptz, timestamptz, text, text, text, bigint, bigint, text, jsonb),
    @extschema@.backfill_cancel(bigint),
    @extschema@.backfill_check(text, text, text, text, timestamptz, timestamptz, bigint, bigint, jsonb),
    @extschema@.import_trades(text, text, text, text, text, date, text, float8),
    @extschema@.import_candles(text, text, text, date, text, float8),
    @extschema@.import_staging(),
    @extschema@.import_lines(text),
    @extschema@.import_fields(),
    @extschema@.import_line_error(text, bigint, text),
    @extschema@.import_parse(text, text, text, text, date, text, float8)
    TO triggerstock_admin;
-- Issue 16 end

------------------------------------------------------------------------------
-- issue 13 (online features): candles(symbol, width, since, until, warmup)
-- and its warm-up start, features() over a bounded warm-up, and the online
-- feature state (src/features/features.sql)
------------------------------------------------------------------------------

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

CREATE FUNCTION @extschema@.indicator_warmup()
RETURNS integer
LANGUAGE sql STABLE PARALLEL SAFE
-- BEGIN ATOMIC: bound to pg_catalog when created, and still inlined
RETURN coalesce(nullif(pg_catalog.current_setting('triggerstock.indicator_warmup', true), '')::integer,
                1000);
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
           n.sentiment_1h, n.news_1h
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
LANGUAGE sql VOLATILE
SET search_path = pg_catalog, pg_temp AS $$
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
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp AS $$
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
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    items text[];
    times timestamptz[];
BEGIN
    -- the (symbol, published_at) pairs of the items changed
    IF TG_OP OPERATOR(pg_catalog.=) 'INSERT' THEN
        SELECT pg_catalog.array_agg(u.s), pg_catalog.array_agg(i.published_at) INTO items, times
        FROM new_rows i, pg_catalog.unnest(i.symbols) u(s) WHERE i.published_at IS NOT NULL;
    ELSIF TG_OP OPERATOR(pg_catalog.=) 'UPDATE' THEN
        SELECT pg_catalog.array_agg(u.s), pg_catalog.array_agg(i.published_at) INTO items, times
        FROM (SELECT o.symbols, o.published_at FROM old_rows o
              UNION ALL SELECT n.symbols, n.published_at FROM new_rows n) i,
             pg_catalog.unnest(i.symbols) u(s)
        WHERE i.published_at IS NOT NULL;
    ELSE
        SELECT pg_catalog.array_agg(u.s), pg_catalog.array_agg(i.published_at) INTO items, times
        FROM old_rows i, pg_catalog.unnest(i.symbols) u(s) WHERE i.published_at IS NOT NULL;
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

-- online features (issue 13): readers read the stored rows; the candle and
-- news triggers and serve_features() write them as the role that changed
-- candles, news or deployments, so the admin may write them too
GRANT SELECT ON triggerstock.feature_state, triggerstock.feature_checkpoints,
    triggerstock.feature_rows
    TO triggerstock_reader;
GRANT INSERT, UPDATE, DELETE ON triggerstock.feature_state, triggerstock.feature_checkpoints,
    triggerstock.feature_rows
    TO triggerstock_admin;
REVOKE EXECUTE ON FUNCTION
    @extschema@.serve_features(text, interval, boolean),
    @extschema@.unserve_features(text, interval)
    FROM PUBLIC;
GRANT EXECUTE ON FUNCTION
    @extschema@.serve_features(text, interval, boolean),
    @extschema@.unserve_features(text, interval)
    TO triggerstock_admin;

-- (its data step, serving the pairs deployed in 0.1, is the last statement
-- of this script: the fold writes every column of feature_rows, the order-book
-- ones of issue 17 included)
-- end of issue 13

------------------------------------------------------------------------------
-- Issue 17: order books
-- (src/ingest/book.sql; maintain() and retention() of src/candles/candles.sql;
-- ingest_status and sources.options of src/ingest/ingest.sql; the grants of
-- src/privileges.sql).  No 0.1 data to migrate: every object is new.  Runs
-- under the search_path issue 12 set; after issues 10, 12, 16 and 13, so what
-- it replaces is their final version plus the books.
------------------------------------------------------------------------------

COMMENT ON SCHEMA triggerstock IS
'triggerstock data: trades, order books, candles, news, sources, models and their configuration, status and views';

CREATE TABLE triggerstock.book_snapshots (
    exchange    text NOT NULL,
    instrument  text NOT NULL,
    symbol      text NOT NULL,
    ts          timestamptz NOT NULL,
    event_ts    timestamptz,
    bid_price   float8[] NOT NULL,
    bid_qty     float8[] NOT NULL,
    ask_price   float8[] NOT NULL,
    ask_qty     float8[] NOT NULL,
    updates     integer NOT NULL CONSTRAINT book_snapshots_updates_valid CHECK (updates >= 0),
    ofi         float8 NOT NULL,
    resyncs     integer NOT NULL CONSTRAINT book_snapshots_resyncs_valid CHECK (resyncs >= 0),
    market      text NOT NULL DEFAULT 'spot',
    CONSTRAINT book_snapshots_sides_match
        CHECK (cardinality(bid_price) = cardinality(bid_qty) AND cardinality(ask_price) = cardinality(ask_qty))
) PARTITION BY RANGE (ts);
CREATE TABLE triggerstock.book_snapshots_default PARTITION OF triggerstock.book_snapshots DEFAULT;
COMMENT ON TABLE triggerstock.book_snapshots IS
'order-book samples: the first N levels of each side of a synced book every interval (sources.options book_levels, book_interval_ms), one partition per UTC day (created by the ingest worker and maintain(), dropped by retention() with the trades); book_features() aggregates them';
COMMENT ON TABLE triggerstock.book_snapshots_default IS
'default partition of triggerstock.book_snapshots; maintain() moves its rows into daily partitions';
COMMENT ON COLUMN triggerstock.book_snapshots.exchange IS 'exchange of the book (as triggerstock.trades.exchange)';
COMMENT ON COLUMN triggerstock.book_snapshots.instrument IS 'the exchange''s instrument name';
COMMENT ON COLUMN triggerstock.book_snapshots.symbol IS 'canonical symbol, as in triggerstock.trades';
COMMENT ON COLUMN triggerstock.book_snapshots.ts IS 'when the worker sampled the book (its clock)';
COMMENT ON COLUMN triggerstock.book_snapshots.event_ts IS 'exchange time of the last update applied before the sample, NULL if the feed gives none';
COMMENT ON COLUMN triggerstock.book_snapshots.bid_price IS 'bid prices, best (highest) first';
COMMENT ON COLUMN triggerstock.book_snapshots.bid_qty IS 'quantities at bid_price, same positions';
COMMENT ON COLUMN triggerstock.book_snapshots.ask_price IS 'ask prices, best (lowest) first';
COMMENT ON COLUMN triggerstock.book_snapshots.ask_qty IS 'quantities at ask_price, same positions';
COMMENT ON COLUMN triggerstock.book_snapshots.updates IS 'book messages applied since the previous sample of this instrument';
COMMENT ON COLUMN triggerstock.book_snapshots.ofi IS 'order-flow imbalance (Cont, Kukanov and Stoikov 2014) summed over every applied message since the previous sample, from best bid/ask price and quantity changes';
COMMENT ON COLUMN triggerstock.book_snapshots.market IS 'market type at the exchange (sources.market, as triggerstock.trades.market): with exchange and instrument it names the market, so the books of two markets never share a key';
COMMENT ON COLUMN triggerstock.book_snapshots.resyncs IS 'times the book was discarded and rebuilt since the previous sample (gap, checksum mismatch, reconnect)';

-- As for trades: the unique key and indexes live on each partition.
CREATE FUNCTION @extschema@.book_partition_indexes(partition regclass)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    name text := (SELECT c.relname FROM pg_catalog.pg_class c WHERE c.oid OPERATOR(pg_catalog.=) partition);
BEGIN
    EXECUTE pg_catalog.format('ALTER TABLE %s ADD CONSTRAINT %I UNIQUE (exchange, market, instrument, ts)',
                              partition, name OPERATOR(pg_catalog.||) '_unique');
    EXECUTE pg_catalog.format('CREATE INDEX %I ON %s (symbol, ts)', name OPERATOR(pg_catalog.||) '_symbol_ts', partition);
END
$$;
COMMENT ON FUNCTION @extschema@.book_partition_indexes(regclass) IS
'gives a book_snapshots partition its unique key (exchange, market, instrument, ts) and its index on (symbol, ts); create_book_partitions() calls it';
SELECT @extschema@.book_partition_indexes('triggerstock.book_snapshots_default');

CREATE FUNCTION @extschema@.book_partitions()
RETURNS TABLE (partition regclass, range_from timestamptz, range_to timestamptz)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp AS $$
    SELECT c.oid::pg_catalog.regclass,
           coalesce(pg_catalog.substring(b.expr, $r$FROM \('([^']*)'\)$r$)::pg_catalog.timestamptz, '-infinity'),
           coalesce(pg_catalog.substring(b.expr, $r$TO \('([^']*)'\)$r$)::pg_catalog.timestamptz, 'infinity')
    FROM pg_catalog.pg_inherits i
    JOIN pg_catalog.pg_class c ON c.oid OPERATOR(pg_catalog.=) i.inhrelid
    CROSS JOIN LATERAL (SELECT pg_catalog.pg_get_expr(c.relpartbound, c.oid) AS expr) b
    WHERE i.inhparent OPERATOR(pg_catalog.=) 'triggerstock.book_snapshots'::pg_catalog.regclass
      AND b.expr OPERATOR(pg_catalog.<>) 'DEFAULT'
    ORDER BY 2
$$;
COMMENT ON FUNCTION @extschema@.book_partitions() IS
'the range partitions of triggerstock.book_snapshots with their bounds, oldest first (the default partition is not listed)';

CREATE FUNCTION @extschema@.create_book_partitions(range_from timestamptz, range_to timestamptz)
RETURNS SETOF text
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    day  timestamptz;
    name text;
BEGIN
    IF range_from IS NULL OR range_to IS NULL OR range_to OPERATOR(pg_catalog.<) range_from
       OR NOT pg_catalog.isfinite(range_from) OR NOT pg_catalog.isfinite(range_to) THEN
        RAISE EXCEPTION 'invalid partition range from % to %', range_from, range_to
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Give two finite timestamps, the first not after the second.';
    END IF;
    -- in seconds: the interval of two extreme timestamps overflows
    IF pg_catalog.date_part('epoch', range_to) OPERATOR(pg_catalog.-) pg_catalog.date_part('epoch', range_from)
       OPERATOR(pg_catalog.>) 3660 * 86400 THEN
        RAISE EXCEPTION 'partition range from % to % spans more than 3660 days', range_from, range_to
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Create partitions for a shorter range at a time.';
    END IF;
    PERFORM pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtext('triggerstock.create_book_partitions'));
    day := pg_catalog.date_bin('1 day', range_from, TIMESTAMPTZ 'epoch');
    WHILE day OPERATOR(pg_catalog.<=) range_to LOOP
        IF NOT EXISTS (SELECT 1 FROM @extschema@.book_partitions() p
                       WHERE p.range_from OPERATOR(pg_catalog.<=) day
                         AND p.range_to OPERATOR(pg_catalog.>=) (day OPERATOR(pg_catalog.+) interval '24 hours')) THEN
            name := 'book_snapshots_p' OPERATOR(pg_catalog.||) pg_catalog.to_char(day AT TIME ZONE 'UTC', 'YYYYMMDD');
            EXECUTE pg_catalog.format('CREATE TABLE triggerstock.%I (LIKE triggerstock.book_snapshots INCLUDING DEFAULTS INCLUDING CONSTRAINTS)', name);
            EXECUTE pg_catalog.format('WITH moved AS (DELETE FROM triggerstock.book_snapshots_default '
                                      'WHERE ts OPERATOR(pg_catalog.>=) $1 AND ts OPERATOR(pg_catalog.<) $2 RETURNING *) '
                                      'INSERT INTO triggerstock.%I SELECT * FROM moved', name)
                USING day, day OPERATOR(pg_catalog.+) interval '24 hours';
            PERFORM @extschema@.book_partition_indexes(pg_catalog.format('triggerstock.%I', name)::pg_catalog.regclass);
            EXECUTE pg_catalog.format('ALTER TABLE triggerstock.book_snapshots ATTACH PARTITION triggerstock.%I FOR VALUES FROM (%L) TO (%L)',
                                      name, day, day OPERATOR(pg_catalog.+) interval '24 hours');
            RETURN NEXT 'triggerstock.' OPERATOR(pg_catalog.||) name;
        END IF;
        day := day OPERATOR(pg_catalog.+) interval '24 hours';
    END LOOP;
END
$$;
COMMENT ON FUNCTION @extschema@.create_book_partitions(timestamptz, timestamptz) IS
'creates the missing daily (UTC) partitions of triggerstock.book_snapshots covering range_from..range_to, moving any rows of those days out of the default partition; returns the partitions created';

CREATE FUNCTION @extschema@.book_retention(keep interval)
RETURNS TABLE (partition_name text, range_from timestamptz, range_to timestamptz)
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    cutoff  timestamptz;
    part    record;
    deleted bigint;
BEGIN
    IF keep IS NULL OR keep OPERATOR(pg_catalog.<) interval '0' THEN
        RAISE EXCEPTION 'retention period must be a non-negative interval, got %', keep
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'For example: SELECT * FROM retention(''30 days'').';
    END IF;
    cutoff := pg_catalog.now() OPERATOR(pg_catalog.-) keep;
    FOR part IN SELECT * FROM @extschema@.book_partitions() p WHERE p.range_to OPERATOR(pg_catalog.<=) cutoff LOOP
        partition_name := part.partition::pg_catalog.text;
        EXECUTE pg_catalog.format('DROP TABLE %s', partition_name);
        range_from := part.range_from;
        range_to := part.range_to;
        RETURN NEXT;
    END LOOP;
    DELETE FROM triggerstock.book_snapshots_default b WHERE b.ts OPERATOR(pg_catalog.<) cutoff;
    GET DIAGNOSTICS deleted = ROW_COUNT;
    IF deleted OPERATOR(pg_catalog.>) 0 THEN
        partition_name := 'triggerstock.book_snapshots_default';
        range_from := NULL;
        range_to := cutoff;
        RETURN NEXT;
    END IF;
END
$$;
COMMENT ON FUNCTION @extschema@.book_retention(interval) IS
'drops whole book_snapshots partitions that end at or before now() - keep and older stray rows of the default partition; retention() calls it, so books keep what trades keep';

SELECT pg_catalog.pg_extension_config_dump('triggerstock.book_snapshots_default', '');

CREATE TABLE triggerstock.book_status (
    source             integer NOT NULL,
    instrument         text NOT NULL,
    symbol             text NOT NULL,
    state              text NOT NULL CONSTRAINT book_status_state_valid
                           CHECK (state IN ('waiting', 'synced', 'resyncing')),
    state_since        timestamptz NOT NULL,
    levels_bid         integer NOT NULL,
    levels_ask         integer NOT NULL,
    messages           bigint NOT NULL,
    snapshots          bigint NOT NULL,
    resyncs            bigint NOT NULL,
    gaps               bigint NOT NULL,
    checksum_ok        bigint NOT NULL,
    checksum_failures  bigint NOT NULL,
    stale              bigint NOT NULL,
    skipped            bigint NOT NULL,
    levels_evicted     bigint NOT NULL,
    levels_refused     bigint NOT NULL,
    crossed            bigint NOT NULL,
    snapshot_requests  bigint NOT NULL,
    samples            bigint NOT NULL,
    last_event_at      timestamptz,
    updated_at         timestamptz NOT NULL,
    PRIMARY KEY (source, instrument)
);
COMMENT ON TABLE triggerstock.book_status IS
'state of every order book an ingest worker keeps, written with its snapshots (counters since the worker started); triggerstock.ingest_status sums it per source';
COMMENT ON COLUMN triggerstock.book_status.source IS 'the source (triggerstock.sources.id)';
COMMENT ON COLUMN triggerstock.book_status.instrument IS 'the exchange''s instrument name';
COMMENT ON COLUMN triggerstock.book_status.symbol IS 'canonical symbol';
COMMENT ON COLUMN triggerstock.book_status.state IS 'waiting (no book yet), synced, or resyncing (book discarded, waiting for a snapshot)';
COMMENT ON COLUMN triggerstock.book_status.state_since IS 'when the book entered its state';
COMMENT ON COLUMN triggerstock.book_status.levels_bid IS 'bid levels held';
COMMENT ON COLUMN triggerstock.book_status.levels_ask IS 'ask levels held';
COMMENT ON COLUMN triggerstock.book_status.messages IS 'update messages applied';
COMMENT ON COLUMN triggerstock.book_status.snapshots IS 'snapshots applied (subscription, REST)';
COMMENT ON COLUMN triggerstock.book_status.resyncs IS 'books discarded and rebuilt (gap, checksum mismatch, reconnect, bad frame)';
COMMENT ON COLUMN triggerstock.book_status.gaps IS 'sequence gaps detected (Binance U/u/pu; Coinbase Advanced Trade sequence_num, counted on every book of the connection)';
COMMENT ON COLUMN triggerstock.book_status.checksum_ok IS 'Kraken checksums that matched the reconstructed book';
COMMENT ON COLUMN triggerstock.book_status.checksum_failures IS 'Kraken checksums that did not (each one resubscribes)';
COMMENT ON COLUMN triggerstock.book_status.stale IS 'Binance diffs already covered by the book (dropped as Binance documents)';
COMMENT ON COLUMN triggerstock.book_status.skipped IS 'updates received while waiting for a snapshot (superseded by it)';
COMMENT ON COLUMN triggerstock.book_status.levels_evicted IS 'levels evicted at the level cap (sources.options book_max_levels), each reported in triggerstock.dead_letters';
COMMENT ON COLUMN triggerstock.book_status.levels_refused IS 'levels refused at the level cap, each reported in triggerstock.dead_letters';
COMMENT ON COLUMN triggerstock.book_status.crossed IS 'messages after which the best bid was at or above the best ask';
COMMENT ON COLUMN triggerstock.book_status.snapshot_requests IS 'REST snapshots requested (Binance) or resubscriptions sent (Kraken, Coinbase)';
COMMENT ON COLUMN triggerstock.book_status.samples IS 'rows written to triggerstock.book_snapshots';
COMMENT ON COLUMN triggerstock.book_status.last_event_at IS 'exchange time of the last applied update';
COMMENT ON COLUMN triggerstock.book_status.updated_at IS 'when the worker last wrote this row';

CREATE FUNCTION @extschema@.book_features(symbol text, width interval DEFAULT '1 minute',
                                          since timestamptz DEFAULT NULL, until timestamptz DEFAULT NULL)
RETURNS TABLE (bucket timestamptz, spread float8, mid float8, microprice float8,
               imbalance_1 float8, imbalance_5 float8, imbalance_10 float8,
               ofi float8, updates bigint, resyncs bigint, snapshots bigint)
LANGUAGE sql STABLE PARALLEL SAFE
BEGIN ATOMIC
    -- BEGIN ATOMIC: every name is bound when the extension is created, so no
    -- caller's search_path can change what it calls, and it is still inlined.
    -- Every sum runs in (ts, exchange, market, instrument) order, so a bucket
    -- read alone (the online feature rows) and the same bucket read with the
    -- others (features()) give the same bits.  The width is a fixed number
    -- of seconds (never a calendar day of the session's time zone).
    SELECT v.bucket,
           pg_catalog.sum(v.w OPERATOR(pg_catalog.*) v.spread ORDER BY v.ts, v.exchange, v.market, v.instrument)
               FILTER (WHERE v.spread IS NOT NULL)
             OPERATOR(pg_catalog./) NULLIF(pg_catalog.sum(v.w ORDER BY v.ts, v.exchange, v.market, v.instrument)
               FILTER (WHERE v.spread IS NOT NULL), 0),
           pg_catalog.sum(v.w OPERATOR(pg_catalog.*) v.mid ORDER BY v.ts, v.exchange, v.market, v.instrument)
               FILTER (WHERE v.mid IS NOT NULL)
             OPERATOR(pg_catalog./) NULLIF(pg_catalog.sum(v.w ORDER BY v.ts, v.exchange, v.market, v.instrument)
               FILTER (WHERE v.mid IS NOT NULL), 0),
           pg_catalog.sum(v.w OPERATOR(pg_catalog.*) v.micro ORDER BY v.ts, v.exchange, v.market, v.instrument)
               FILTER (WHERE v.micro IS NOT NULL)
             OPERATOR(pg_catalog./) NULLIF(pg_catalog.sum(v.w ORDER BY v.ts, v.exchange, v.market, v.instrument)
               FILTER (WHERE v.micro IS NOT NULL), 0),
           pg_catalog.sum(v.w OPERATOR(pg_catalog.*) v.imb1 ORDER BY v.ts, v.exchange, v.market, v.instrument)
               FILTER (WHERE v.imb1 IS NOT NULL)
             OPERATOR(pg_catalog./) NULLIF(pg_catalog.sum(v.w ORDER BY v.ts, v.exchange, v.market, v.instrument)
               FILTER (WHERE v.imb1 IS NOT NULL), 0),
           pg_catalog.sum(v.w OPERATOR(pg_catalog.*) v.imb5 ORDER BY v.ts, v.exchange, v.market, v.instrument)
               FILTER (WHERE v.imb5 IS NOT NULL)
             OPERATOR(pg_catalog./) NULLIF(pg_catalog.sum(v.w ORDER BY v.ts, v.exchange, v.market, v.instrument)
               FILTER (WHERE v.imb5 IS NOT NULL), 0),
           pg_catalog.sum(v.w OPERATOR(pg_catalog.*) v.imb10 ORDER BY v.ts, v.exchange, v.market, v.instrument)
               FILTER (WHERE v.imb10 IS NOT NULL)
             OPERATOR(pg_catalog./) NULLIF(pg_catalog.sum(v.w ORDER BY v.ts, v.exchange, v.market, v.instrument)
               FILTER (WHERE v.imb10 IS NOT NULL), 0),
           pg_catalog.sum(v.ofi ORDER BY v.ts, v.exchange, v.market, v.instrument),
           pg_catalog.sum(v.updates)::bigint, pg_catalog.sum(v.resyncs)::bigint,
           pg_catalog.count(*)
    FROM (
        SELECT r.bucket, r.ts, r.exchange, r.market, r.instrument, r.ofi, r.updates, r.resyncs,
               -- time-weighted: a sample holds until the next one or the bucket's end
               pg_catalog.date_part('epoch',
                   LEAST(r.next_ts, r.bucket OPERATOR(pg_catalog.+)
                                    pg_catalog.make_interval(secs => pg_catalog.date_part('epoch', $2)))
                   OPERATOR(pg_catalog.-) r.ts) AS w,
               r.a1 OPERATOR(pg_catalog.-) r.b1 AS spread,
               (r.a1 OPERATOR(pg_catalog.+) r.b1) OPERATOR(pg_catalog./) 2 AS mid,
               ((r.a1 OPERATOR(pg_catalog.*) r.bq1) OPERATOR(pg_catalog.+) (r.b1 OPERATOR(pg_catalog.*) r.aq1))
                 OPERATOR(pg_catalog./) NULLIF(r.bq1 OPERATOR(pg_catalog.+) r.aq1, 0) AS micro,
               (r.sb1 OPERATOR(pg_catalog.-) r.sa1) OPERATOR(pg_catalog./) NULLIF(r.sb1 OPERATOR(pg_catalog.+) r.sa1, 0) AS imb1,
               (r.sb5 OPERATOR(pg_catalog.-) r.sa5) OPERATOR(pg_catalog./) NULLIF(r.sb5 OPERATOR(pg_catalog.+) r.sa5, 0) AS imb5,
               (r.sb10 OPERATOR(pg_catalog.-) r.sa10) OPERATOR(pg_catalog./) NULLIF(r.sb10 OPERATOR(pg_catalog.+) r.sa10, 0) AS imb10
        FROM (
            SELECT pg_catalog.date_bin($2, b.ts, TIMESTAMPTZ 'epoch') AS bucket, b.ts,
                   b.exchange, b.market, b.instrument,
                   pg_catalog.lead(b.ts) OVER (PARTITION BY b.exchange, b.market, b.instrument ORDER BY b.ts) AS next_ts,
                   b.ofi, b.updates, b.resyncs,
                   b.bid_price[1] AS b1, b.bid_qty[1] AS bq1, b.ask_price[1] AS a1, b.ask_qty[1] AS aq1,
                   (SELECT pg_catalog.sum(x) FROM pg_catalog.unnest(b.bid_qty[1:1]) x) AS sb1,
                   (SELECT pg_catalog.sum(x) FROM pg_catalog.unnest(b.ask_qty[1:1]) x) AS sa1,
                   (SELECT pg_catalog.sum(x) FROM pg_catalog.unnest(b.bid_qty[1:5]) x) AS sb5,
                   (SELECT pg_catalog.sum(x) FROM pg_catalog.unnest(b.ask_qty[1:5]) x) AS sa5,
                   (SELECT pg_catalog.sum(x) FROM pg_catalog.unnest(b.bid_qty[1:10]) x) AS sb10,
                   (SELECT pg_catalog.sum(x) FROM pg_catalog.unnest(b.ask_qty[1:10]) x) AS sa10
            FROM triggerstock.book_snapshots b
            WHERE b.symbol OPERATOR(pg_catalog.=) $1
              AND ($3 IS NULL OR b.ts OPERATOR(pg_catalog.>=) pg_catalog.date_bin($2, $3, TIMESTAMPTZ 'epoch'))
              AND ($4 IS NULL OR b.ts OPERATOR(pg_catalog.<) $4)
        ) r
    ) v
    GROUP BY v.bucket
    ORDER BY v.bucket;
END;
COMMENT ON FUNCTION @extschema@.book_features(text, interval, timestamptz, timestamptz) IS
$c$microstructure features per bucket of `width` from the stored samples of triggerstock.book_snapshots of `symbol`, oldest first, from the bucket holding `since` on and of the samples before `until` (NULL: no bound). Each sample holds until the next sample of its instrument or the end of its bucket, whichever comes first; the time-weighted averages use that duration as weight and skip samples where the value is undefined; features() joins them to its rows (the book_* columns).
spread: time-weighted best ask - best bid.
mid: time-weighted (best ask + best bid) / 2.
microprice: time-weighted (ask * bid_qty + bid * ask_qty) / (bid_qty + ask_qty) at the best levels.
imbalance_1, imbalance_5, imbalance_10: time-weighted (bid depth - ask depth) / (bid depth + ask depth) over the first 1, 5, 10 levels (fewer where the book is thinner).
ofi: sum of the samples' order-flow imbalance (Cont, Kukanov and Stoikov 2014, every applied message).
updates, resyncs: book messages applied and books rebuilt, summed over the samples.
snapshots: samples in the bucket.$c$;

-- features() gains the book columns (a new result type: dropped and
-- created again; nothing of the extension depends on it, and it keeps
-- PUBLIC's EXECUTE as before)
DROP FUNCTION @extschema@.features(text, interval, timestamptz);
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

-- the online feature rows carry the book columns too (NULL in every row
-- stored before: 0.1 had no books)
ALTER TABLE triggerstock.feature_rows
    ADD COLUMN book_spread          float8,
    ADD COLUMN book_microprice_dist float8,
    ADD COLUMN book_imbalance_1     float8,
    ADD COLUMN book_imbalance_5     float8,
    ADD COLUMN book_imbalance_10    float8,
    ADD COLUMN book_ofi             float8,
    ADD COLUMN book_updates         bigint;
COMMENT ON COLUMN triggerstock.feature_rows.book_spread IS 'as in features() (book_spread ... book_updates: the order-book samples of the bucket, NULL without any); recomputed when samples of the bucket are stored or deleted after the row was written';

CREATE FUNCTION @extschema@.online_books_changed()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    syms text[];
    los  timestamptz[];
    his  timestamptz[];
BEGIN
    -- the symbols and time ranges of the samples stored or deleted
    IF TG_OP OPERATOR(pg_catalog.=) 'INSERT' THEN
        SELECT pg_catalog.array_agg(s.symbol), pg_catalog.array_agg(s.lo), pg_catalog.array_agg(s.hi)
        INTO syms, los, his
        FROM (SELECT i.symbol, pg_catalog.min(i.ts) AS lo, pg_catalog.max(i.ts) AS hi
              FROM new_rows i GROUP BY i.symbol) s;
    ELSE
        SELECT pg_catalog.array_agg(s.symbol), pg_catalog.array_agg(s.lo), pg_catalog.array_agg(s.hi)
        INTO syms, los, his
        FROM (SELECT o.symbol, pg_catalog.min(o.ts) AS lo, pg_catalog.max(o.ts) AS hi
              FROM old_rows o GROUP BY o.symbol) s;
    END IF;
    IF syms IS NULL THEN
        RETURN NULL;
    END IF;
    -- lock the served pairs concerned, in the candle trigger's order, so a
    -- fold running concurrently either sees these samples or is seen below
    PERFORM 1 FROM triggerstock.feature_state f
    WHERE f.symbol OPERATOR(pg_catalog.=) ANY (syms)
    ORDER BY f.symbol, f.width FOR UPDATE;
    IF NOT FOUND THEN
        RETURN NULL;            -- no served pair of these symbols: no row to touch
    END IF;
    -- the stored rows of the buckets holding a changed sample, as the fold
    -- writes them
    UPDATE triggerstock.feature_rows r
    SET (book_spread, book_microprice_dist, book_imbalance_1, book_imbalance_5, book_imbalance_10,
         book_ofi, book_updates) = (
        SELECT bk.spread OPERATOR(pg_catalog./) NULLIF(bk.mid, 0),
               bk.microprice OPERATOR(pg_catalog./) NULLIF(bk.mid, 0) OPERATOR(pg_catalog.-) 1,
               bk.imbalance_1, bk.imbalance_5, bk.imbalance_10, bk.ofi, bk.updates
        FROM @extschema@.book_features(r.symbol, r.width, r.bucket,
                 r.bucket OPERATOR(pg_catalog.+)
                 pg_catalog.make_interval(secs => pg_catalog.date_part('epoch', r.width))) bk)
    FROM ROWS FROM (pg_catalog.unnest(syms), pg_catalog.unnest(los), pg_catalog.unnest(his)) AS a(s, lo, hi)
    WHERE r.symbol OPERATOR(pg_catalog.=) a.s
      AND r.bucket OPERATOR(pg_catalog.>=) pg_catalog.date_bin(r.width, a.lo, timestamp with time zone 'epoch')
      AND r.bucket OPERATOR(pg_catalog.<=) a.hi;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION @extschema@.online_books_changed() IS
'statement trigger of triggerstock.book_snapshots: recomputes the book_* columns of the stored feature rows whose bucket holds a stored or deleted sample (samples are flushed apart from the trades, so often after the bucket''s row was folded)';
CREATE TRIGGER book_snapshots_online_insert AFTER INSERT ON triggerstock.book_snapshots
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.online_books_changed();
CREATE TRIGGER book_snapshots_online_delete AFTER DELETE ON triggerstock.book_snapshots
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.online_books_changed();

CREATE OR REPLACE FUNCTION @extschema@.maintain()
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

CREATE OR REPLACE FUNCTION @extschema@.retention(keep interval)
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

COMMENT ON COLUMN triggerstock.sources.options IS
'jsonb: feed (binance_trade, binance_aggtrade, coinbase_matches, coinbase_advanced, kraken_v1, kraken_v2, kraken_futures, finnhub), batch_size, flush_ms, tls_skip_hostname_check, subscribe (generic: message sent on connect), map (generic field paths: items, instrument, price, qty, ts, ts_unit s|ms|us|ns|rfc3339, trade_id, side, side_mode taker|maker, match_path, match_value, instrument_const); order books (binance, coinbase, kraken v1 and coinbase_advanced feeds): book (true: subscribe the depth channel and keep a book per instrument), trades (false: depth only), book_levels (levels a side per sample, default 10), book_interval_ms (sampling period, default 1000), book_max_levels (level cap a side, default 5000), book_depth (Kraken subscription depth, default 100), book_rest_url (Binance REST depth endpoint; default from the stream host), book_rest_limit (default 1000)';

-- the REST snapshot URL is checked where it enters, as the stream URL is
CREATE OR REPLACE FUNCTION @extschema@.sources_check()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    bad  text;
    key  text;
    rest text;
    lim  integer;
BEGIN
    IF pg_catalog.octet_length(NEW.url) > 2048 THEN
        RAISE EXCEPTION 'source URL of % bytes exceeds the limit of 2048 bytes', pg_catalog.octet_length(NEW.url)
            USING ERRCODE = 'program_limit_exceeded',
                  HINT = 'Give a shorter ws:// or wss:// URL.';
    END IF;
    IF pg_catalog.octet_length(pg_catalog.substring(NEW.url, '^wss?://([^/?#:]*)')) > 255 THEN
        RAISE EXCEPTION 'host name of the source URL exceeds the limit of 255 bytes'
            USING ERRCODE = 'program_limit_exceeded',
                  HINT = 'A DNS host name has at most 255 bytes.';
    END IF;
    SELECT i INTO bad FROM pg_catalog.unnest(NEW.instruments || NEW.symbols) i
    WHERE i !~ '^[\x20-\x7e]{1,63}$' LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'instrument or symbol "%" is empty, longer than 63 bytes or not printable ASCII',
                        pg_catalog.left(bad, 80)
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Instruments and symbols are exchange names such as BTCUSDT, XBT/USD or BTC.';
    END IF;
    IF pg_catalog.octet_length(NEW.options ->> 'subscribe') > 65536 THEN
        RAISE EXCEPTION 'subscribe message of % bytes exceeds the limit of 65536 bytes',
                        pg_catalog.octet_length(NEW.options ->> 'subscribe')
            USING ERRCODE = 'program_limit_exceeded',
                  HINT = 'options->''subscribe'' is sent once after connecting; keep it under 64 KiB.';
    END IF;
    -- the REST URLs of a source, checked as the stream URL is; never echoed:
    -- book_rest_url (order books, issue 17: the worker copies it into a
    -- buffer of 1024 bytes) and rest_url (gap repair, issue 16: the base URL
    -- of the backfill jobs it queues, which take at most 512 bytes)
    FOREACH key IN ARRAY ARRAY['book_rest_url', 'rest_url'] LOOP
        rest := NEW.options ->> key;
        lim := CASE key WHEN 'book_rest_url' THEN 900 ELSE 512 END;
        IF rest IS NOT NULL THEN
            IF pg_catalog.octet_length(rest) > lim THEN
                RAISE EXCEPTION '% of % bytes exceeds the limit of % bytes', key, pg_catalog.octet_length(rest), lim
                    USING ERRCODE = 'program_limit_exceeded',
                          HINT = 'Give a shorter http:// or https:// URL, such as https://api.binance.com.';
            END IF;
            IF rest !~* '^https?://[^/?#@:]+(:[0-9]{1,5})?([/?#]|$)' AND rest !~* '^https?://[^/?#]*@' THEN
                RAISE EXCEPTION '% is not an http:// or https:// URL with a host', key
                    USING ERRCODE = 'invalid_parameter_value',
                          HINT = 'Give the REST endpoint, such as https://api.binance.com/api/v3/depth (book_rest_url) or https://api.binance.com (rest_url).';
            END IF;
            IF pg_catalog.octet_length(pg_catalog.substring(rest, '^[a-zA-Z]+://([^/?#:]*)')) > 255 THEN
                RAISE EXCEPTION 'host name of % exceeds the limit of 255 bytes', key
                    USING ERRCODE = 'program_limit_exceeded',
                          HINT = 'A DNS host name has at most 255 bytes.';
            END IF;
            IF rest ~* '^https?://[^/?#]*@' OR rest ~* '[?&](token|api_?key|key|secret|password|passphrase|signature|access_token|auth)=' THEN
                RAISE EXCEPTION '% carries a credential', key
                    USING ERRCODE = 'invalid_parameter_value',
                          HINT = 'Depth snapshots and trade history are public: give the URL without user information or keys.';
            END IF;
        END IF;
    END LOOP;
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION @extschema@.sources_check() IS
'trigger of triggerstock.sources: refuses a URL over 2048 bytes (host over 255), an instrument or symbol that is not 1 to 63 printable ASCII bytes, options->''subscribe'' over 65536 bytes, and an options->''book_rest_url'' over 900 bytes or options->''rest_url'' over 512 bytes (host over 255), not http(s) with a host, or carrying a credential, with the limit in the error and never the URL';

CREATE OR REPLACE VIEW triggerstock.ingest_status AS
SELECT s.id AS source, s.name, s.exchange, s.enabled,
       coalesce(st.state,
                CASE WHEN NOT s.enabled THEN 'disabled'
                     WHEN pg_catalog.current_setting('triggerstock.max_workers', true) IS NULL THEN 'starting'
                     WHEN (SELECT pg_catalog.count(*) FROM @extschema@.worker_status())
                          OPERATOR(pg_catalog.>=) pg_catalog.current_setting('triggerstock.max_workers')::integer
                          THEN 'no worker slot'
                     ELSE 'starting' END) AS state,
       st.state_since, st.connected_since, st.pid,
       coalesce(st.frames, 0) AS frames, coalesce(st.trades, 0) AS trades,
       coalesce(st.duplicates, 0) AS duplicates, coalesce(st.dead_letters, 0) AS dead_letters,
       coalesce(st.reconnects, 0) AS reconnects, coalesce(st.flushes, 0) AS flushes,
       coalesce(st.bytes, 0) AS bytes,
       st.last_trade_at, st.last_commit_at, st.latency_p50_ms, st.latency_p99_ms,
       coalesce(st.dead_letters_dropped, 0) AS dead_letters_dropped,
       coalesce(g.open_gaps, 0) AS open_gaps, coalesce(g.repaired_gaps, 0) AS repaired_gaps,
       coalesce(g.failed_gaps, 0) AS failed_gaps,
       bk.books, bk.books_synced, bk.book_resyncs, bk.book_gaps, bk.book_checksum_failures
FROM triggerstock.sources s
LEFT JOIN @extschema@.ingest_stats() st ON st.source = s.id
LEFT JOIN (SELECT gp.source,
                  pg_catalog.count(*) FILTER (WHERE b.state IN ('queued', 'running')) AS open_gaps,
                  pg_catalog.count(*) FILTER (WHERE b.state = 'done') AS repaired_gaps,
                  pg_catalog.count(*) FILTER (WHERE b.state IN ('failed', 'cancelled')) AS failed_gaps
           FROM triggerstock.gaps gp
           LEFT JOIN triggerstock.backfills b ON b.id = gp.backfill
           GROUP BY gp.source) g ON g.source = s.id
LEFT JOIN LATERAL (
    SELECT pg_catalog.count(*) AS books, pg_catalog.count(*) FILTER (WHERE b.state = 'synced') AS books_synced,
           pg_catalog.sum(b.resyncs)::bigint AS book_resyncs, pg_catalog.sum(b.gaps)::bigint AS book_gaps,
           pg_catalog.sum(b.checksum_failures)::bigint AS book_checksum_failures
    FROM triggerstock.book_status b
    WHERE b.source = s.id
    HAVING pg_catalog.count(*) > 0
) bk ON true;
COMMENT ON VIEW triggerstock.ingest_status IS
'per source: worker state (starting, connecting, streaming, backoff, outside-hours, stopped, disabled, no worker slot: triggerstock.max_workers or max_worker_processes used up), connected since, frames, trades stored, duplicates skipped, dead letters, reconnects, last trade time, feed-to-commit latency p50/p99 in ms (frame arrival to commit), bad frames counted but not stored (dead_letters_dropped: over triggerstock.dead_letters_per_minute), trade-id gaps being repaired (open), repaired and failed (triggerstock.gaps); for sources keeping order books (options book), books held and synced, resyncs, sequence gaps and checksum failures (details per instrument in triggerstock.book_status; NULL without books)';

-- order books (issue 17): read like the trades; partitions made by the
-- workers and maintain(), dropped by retention()
GRANT SELECT ON triggerstock.book_snapshots, triggerstock.book_snapshots_default, triggerstock.book_status
    TO triggerstock_reader;
GRANT DELETE ON triggerstock.book_snapshots TO triggerstock_admin;
REVOKE EXECUTE ON FUNCTION
    @extschema@.create_book_partitions(timestamptz, timestamptz),
    @extschema@.book_partition_indexes(regclass),
    @extschema@.book_retention(interval)
    FROM PUBLIC;

-- Issue 15 (models that answer more than up or down) begin
-- Targets: a model predicts direction, return or volatility; a symbol has one
-- deployed model per target; predictions carry their target, the forecast of
-- a regression and its realised value.  Every 0.1 and 0.2 model, deployment
-- and prediction is a direction one.  (Columns added without a default, then
-- filled: no attmissingval, as in a fresh install; models and deployments
-- refuse UPDATE, so their triggers are off for the fill.)
ALTER TABLE triggerstock.models ADD COLUMN target text;
ALTER TABLE triggerstock.models DISABLE TRIGGER models_immutable;
UPDATE triggerstock.models SET target = 'direction';
ALTER TABLE triggerstock.models ENABLE TRIGGER models_immutable;
ALTER TABLE triggerstock.models ALTER COLUMN target SET DEFAULT 'direction',
    ALTER COLUMN target SET NOT NULL,
    ADD CONSTRAINT models_target_valid CHECK (target IN ('direction', 'return', 'volatility')),
    ADD CONSTRAINT models_symbol_target_id UNIQUE (symbol, target, id);
ALTER TABLE triggerstock.deployments ADD COLUMN target text;
ALTER TABLE triggerstock.deployments DISABLE TRIGGER deployments_append_only;
UPDATE triggerstock.deployments SET target = 'direction';
ALTER TABLE triggerstock.deployments ENABLE TRIGGER deployments_append_only;
ALTER TABLE triggerstock.deployments ALTER COLUMN target SET DEFAULT 'direction',
    ALTER COLUMN target SET NOT NULL,
    ADD CONSTRAINT deployments_model_target_fkey FOREIGN KEY (symbol, target, model_id)
        REFERENCES triggerstock.models (symbol, target, id);
ALTER TABLE triggerstock.predictions ADD COLUMN target text, ADD COLUMN forecast float8,
    ADD COLUMN outcome_value float8;
UPDATE triggerstock.predictions SET target = 'direction';
ALTER TABLE triggerstock.predictions ALTER COLUMN target SET DEFAULT 'direction',
    ALTER COLUMN target SET NOT NULL,
    DROP CONSTRAINT predictions_pkey,
    ADD PRIMARY KEY (symbol, width, horizon, target, bucket),
    DROP CONSTRAINT predictions_abstain_only_without_probability,
    ADD CONSTRAINT predictions_abstain_only_without_probability
        CHECK ((fallback_level = 'abstain') = (probability IS NULL AND forecast IS NULL)),
    ADD CONSTRAINT predictions_target_valid CHECK (target IN ('direction', 'return', 'volatility')),
    ADD CONSTRAINT predictions_answer_of_target
        CHECK (CASE WHEN target = 'direction' THEN forecast IS NULL ELSE probability IS NULL END);

-- train() takes a target and a training window (a new signature)
DROP FUNCTION @extschema@.train(text, interval, integer, jsonb);
CREATE FUNCTION @extschema@.train(symbol text, width interval DEFAULT '1 minute',
                                  horizon integer DEFAULT 1, params jsonb DEFAULT '{}',
                                  target text DEFAULT 'direction',
                                  since timestamptz DEFAULT NULL, until timestamptz DEFAULT NULL,
                                  "window" interval DEFAULT NULL)
RETURNS bigint AS 'MODULE_PATHNAME', 'model_train'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@.train(text, interval, integer, jsonb, text, timestamptz, timestamptz, interval) IS
'trains an XGBoost model on the complete rows of features(symbol, width) (bucket <= last_complete_bucket(symbol, width)), optionally only those in [since, until] or in the "window" (an interval, written "window" => ''10 days'': WINDOW is a reserved word) ending at until (default: the newest complete bucket); target direction (default): a classifier of close horizon buckets ahead > close now; target return: a regression of ln(close horizon buckets ahead / close now); target volatility: a regression of ln of the realised volatility over the next horizon buckets, sqrt(sum of the squared log returns of buckets +1 .. +horizon), floored at 1e-6 (the model predicts its log; predict() answers exp of it); time-ordered split (newest params.test_fraction, default 0.2, for testing, horizon rows left out before it); early stopping on a validation slice cut from the end of the training rows (params.validation_fraction, default 0.2, horizon rows left out before it; log loss, or rmse for the regressions), then a refit on all training rows with the chosen number of rounds; the test window is scored once, after every choice, beside its baselines (regressions: the training mean, zero return, persistence and a HAR model of the 1-, 5- and 22-bucket realised volatility fitted on the training rows; metrics.beats says which the model beats, by how much, and whether significantly); stores the model and its metrics, deploys it when it beats the deployed model of the same symbol and target (same width and horizon) on the same window; returns the model id, or NULL (with a NOTICE) when the symbol is being trained by another session';

-- deployments per symbol and target
CREATE OR REPLACE FUNCTION @extschema@.deploy(model_id bigint)
RETURNS bigint
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    sym text;
    tgt text;
BEGIN
    SELECT m.symbol, m.target INTO sym, tgt FROM triggerstock.models m WHERE m.id = model_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'model % does not exist', model_id
            USING ERRCODE = 'no_data_found',
                  HINT = 'Models are listed in triggerstock.models.';
    END IF;
    INSERT INTO triggerstock.deployments (symbol, model_id, strategy, reason, target)
    VALUES (sym, model_id, 'model_id', 'deploy(model_id)', tgt);
    RETURN model_id;
END
$$;
COMMENT ON FUNCTION @extschema@.deploy(bigint) IS
'deploys the given model for its symbol and target; returns its id; other sessions use it from their next call after commit';

CREATE FUNCTION @extschema@.deploy(symbol text, strategy text, target text)
RETURNS bigint
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    current bigint;
    chosen  bigint;
    why     text;
    ref     record;
    n_same  bigint;
    n_other bigint;
    score_key text := CASE WHEN target = 'direction' THEN 'log_loss' ELSE 'mse' END;
    -- messages about direction models read as before targets existed
    score_name text := CASE WHEN target = 'direction' THEN 'log loss' ELSE 'mse' END;
    kind text := CASE WHEN target = 'direction' THEN '' ELSE target OPERATOR(pg_catalog.||) ' ' END;
BEGIN
    SELECT d.model_id INTO current FROM triggerstock.deployments d
    WHERE d.symbol = deploy.symbol AND d.target = deploy.target ORDER BY d.id DESC LIMIT 1;
    IF target IS NULL OR target NOT IN ('direction', 'return', 'volatility') THEN
        RAISE EXCEPTION 'unknown target "%"', target
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Use direction, return or volatility.';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM triggerstock.models m WHERE m.symbol = deploy.symbol AND m.target = deploy.target) THEN
        RAISE EXCEPTION 'no %model for symbol "%"', kind, symbol
            USING ERRCODE = 'no_data_found',
                  HINT = CASE WHEN target = 'direction' THEN pg_catalog.format('Train one first: SELECT train(%L).', symbol)
                              ELSE pg_catalog.format('Train one first: SELECT train(%L, target => %L).', symbol, target) END;
    END IF;
    CASE strategy
    WHEN 'most_recent' THEN
        SELECT m.id INTO chosen FROM triggerstock.models m
        WHERE m.symbol = deploy.symbol AND m.target = deploy.target ORDER BY m.id DESC LIMIT 1;
        why := 'newest model';
    WHEN 'best_score' THEN
        -- log losses are comparable only on the same rows: models of the
        -- width, horizon and test window of the symbol's newest model
        SELECT m.width, m.horizon, m.test_from, m.test_to INTO ref FROM triggerstock.models m
        WHERE m.symbol = deploy.symbol AND m.target = deploy.target ORDER BY m.id DESC LIMIT 1;
        SELECT pg_catalog.count(*) FILTER (WHERE m.width = ref.width AND m.horizon = ref.horizon
                                             AND m.test_from = ref.test_from AND m.test_to = ref.test_to
                                             AND pg_catalog.jsonb_typeof(m.metrics -> score_key) = 'number'),
               pg_catalog.count(*) FILTER (WHERE NOT (m.width = ref.width AND m.horizon = ref.horizon
                                                    AND m.test_from = ref.test_from AND m.test_to = ref.test_to
                                                    AND pg_catalog.jsonb_typeof(m.metrics -> score_key) = 'number'))
        INTO n_same, n_other
        FROM triggerstock.models m WHERE m.symbol = deploy.symbol AND m.target = deploy.target;
        SELECT m.id INTO chosen FROM triggerstock.models m
        WHERE m.symbol = deploy.symbol AND m.target = deploy.target AND m.width = ref.width AND m.horizon = ref.horizon
          AND m.test_from = ref.test_from AND m.test_to = ref.test_to
          AND pg_catalog.jsonb_typeof(m.metrics -> score_key) = 'number'
        ORDER BY (m.metrics ->> score_key)::double precision, m.id DESC LIMIT 1;
        IF chosen IS NULL THEN
            RAISE EXCEPTION 'no %model of "%" with width %, horizon % and test window [%, %] has a test %',
                            kind, symbol, ref.width, ref.horizon, ref.test_from, ref.test_to, score_name
                USING ERRCODE = 'no_data_found',
                      HINT = 'best_score compares models on the test window of the symbol''s newest model.';
        END IF;
        why := pg_catalog.format('lowest test %s of %s %smodels of width %s, horizon %s on the test window [%s, %s]',
                                 score_name, n_same, kind, ref.width, ref.horizon, ref.test_from, ref.test_to);
        RAISE NOTICE 'best_score compared % %model(s) of "%" with width %, horizon % and test window [%, %] (those of its newest model); % other model(s) of "%" have another width, horizon or test window, or no test %, and were not compared',
                     n_same, kind, symbol, ref.width, ref.horizon, ref.test_from, ref.test_to, n_other, symbol, score_name;
    WHEN 'rollback' THEN
        SELECT d.model_id INTO chosen FROM triggerstock.deployments d
        WHERE d.symbol = deploy.symbol AND d.target = deploy.target AND d.model_id IS DISTINCT FROM current
        ORDER BY d.id DESC LIMIT 1;
        IF chosen IS NULL THEN
            RAISE EXCEPTION 'nothing to roll back to for %symbol "%"', CASE WHEN target = 'direction' THEN ''
                                                                             ELSE target OPERATOR(pg_catalog.||) ' of ' END, symbol
                USING ERRCODE = 'no_data_found',
                      HINT = 'Rollback needs an earlier deployment of another model.';
        END IF;
        why := pg_catalog.format('rollback from model %s', current);
    ELSE
        RAISE EXCEPTION 'unknown deployment strategy "%"', strategy
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Use best_score, most_recent or rollback, or deploy(model_id).';
    END CASE;
    IF chosen IS NOT DISTINCT FROM current THEN
        RAISE NOTICE 'model % is already deployed for %"%"', chosen, kind, symbol;
        RETURN chosen;
    END IF;
    INSERT INTO triggerstock.deployments (symbol, model_id, strategy, reason, target)
    VALUES (symbol, chosen, strategy, why, target);
    RETURN chosen;
END
$$;
COMMENT ON FUNCTION @extschema@.deploy(text, text, text) IS
'deploys a model of symbol for target (direction, return or volatility; one deployed model per symbol and target): most_recent (newest), best_score (lowest test log loss (regressions: mse) among the models with the width, horizon and test window of the symbol''s newest model, so that the log losses are measured on the same rows; a NOTICE says how many were compared and how many were not), rollback (the model of the latest deployment that is not the current one; twice returns to where it started); returns the model id; a no-op with a NOTICE when it is already deployed';

CREATE OR REPLACE FUNCTION @extschema@.deploy(symbol text, strategy text)
RETURNS bigint
LANGUAGE sql
SET search_path = pg_catalog, pg_temp AS $$
    SELECT @extschema@.deploy($1, $2, 'direction')
$$;
COMMENT ON FUNCTION @extschema@.deploy(text, text) IS
'deploy(symbol, strategy, ''direction''): deploys a direction model of symbol: most_recent (newest), best_score (lowest test log loss among the models with the width, horizon and test window of the symbol''s newest model, so that the log losses are measured on the same rows; a NOTICE says how many were compared and how many were not), rollback (the model of the latest deployment that is not the current one; twice returns to where it started); returns the model id; a no-op with a NOTICE when it is already deployed';

CREATE OR REPLACE VIEW triggerstock.deployed AS
SELECT DISTINCT ON (d.symbol, d.target) d.symbol, d.model_id, m.sha256, d.strategy, d.deployed_at,
       m.width, m.horizon, m.metrics, d.target
FROM triggerstock.deployments d JOIN triggerstock.models m ON m.id = d.model_id
ORDER BY d.symbol, d.target, d.id DESC;
COMMENT ON VIEW triggerstock.deployed IS 'the deployed model of each symbol and target (direction, return, volatility) with its test metrics';

CREATE OR REPLACE VIEW triggerstock.latest_predictions AS
SELECT DISTINCT ON (symbol, width, horizon, target) symbol, width, horizon, bucket, probability, fallback_level,
       model_id, model_sha256, latency_us, predicted_at, target, forecast
FROM triggerstock.predictions
ORDER BY symbol, width, horizon, target, bucket DESC;
COMMENT ON VIEW triggerstock.latest_predictions IS 'the newest row of triggerstock.predictions per (symbol, width, horizon, target)';

CREATE OR REPLACE VIEW triggerstock.model_live_metrics AS
WITH r AS (
    SELECT q.* FROM (
        SELECT p.symbol, p.width, p.horizon, p.target, p.model_id, p.model_sha256, p.bucket, p.probability, p.outcome,
               CASE WHEN jsonb_typeof(m.metrics -> 'train_base_rate') = 'number'
                    THEN least(greatest((m.metrics ->> 'train_base_rate')::float8, 1e-15), 1 - 1e-15)
               END AS train_base_rate,
               row_number() OVER (PARTITION BY p.symbol, p.width, p.horizon, p.target ORDER BY p.bucket DESC) AS age
        FROM triggerstock.predictions p
        LEFT JOIN triggerstock.models m ON m.id = p.model_id
        WHERE p.outcome IS NOT NULL AND p.probability IS NOT NULL AND p.fallback_level = 'model'
          AND p.target = 'direction') q
    WHERE q.age <= 1440
), bins AS (
    -- calibration (issue 15): ten equal-width probability bins
    SELECT r.symbol, r.width, r.horizon, r.target, r.model_id, r.model_sha256,
           least(floor(r.probability * 10), 9)::int AS bin,
           count(*) AS n, avg(r.probability) AS mean_probability, avg(r.outcome::int) AS observed_rate
    FROM r
    GROUP BY r.symbol, r.width, r.horizon, r.target, r.model_id, r.model_sha256, 7
), calibration AS (
    SELECT b.symbol, b.width, b.horizon, b.target, b.model_id, b.model_sha256,
           sum(b.n * abs(b.mean_probability - b.observed_rate)) / sum(b.n) AS ece,
           jsonb_agg(jsonb_build_object('bin', b.bin, 'from', b.bin / 10.0, 'to', (b.bin + 1) / 10.0, 'n', b.n,
                                        'mean_probability', b.mean_probability, 'observed_rate', b.observed_rate)
                     ORDER BY b.bin) AS reliability
    FROM bins b
    GROUP BY b.symbol, b.width, b.horizon, b.target, b.model_id, b.model_sha256
)
SELECT r.symbol, r.width, r.horizon, r.model_id, r.model_sha256,
       count(*) AS n,
       avg(((r.probability >= 0.5) = r.outcome)::int) AS accuracy,
       -avg(CASE WHEN r.outcome THEN ln(greatest(r.probability, 1e-15))
                 ELSE ln(greatest(1 - r.probability, 1e-15)) END) AS log_loss,
       -avg(CASE WHEN r.outcome THEN ln(r.train_base_rate) ELSE ln(1 - r.train_base_rate) END)
           AS baseline_log_loss,
       -avg(CASE WHEN r.outcome THEN ln(r.train_base_rate) ELSE ln(1 - r.train_base_rate) END)
           + avg(CASE WHEN r.outcome THEN ln(greatest(r.probability, 1e-15))
                      ELSE ln(greatest(1 - r.probability, 1e-15)) END) AS edge_log_loss,
       avg(r.outcome::int) AS base_rate,
       greatest(avg(r.outcome::int), 1 - avg(r.outcome::int)) AS majority_accuracy,
       min(r.bucket) AS since, max(r.bucket) AS until,
       r.target, c.ece, c.reliability
FROM r
JOIN calibration c ON c.symbol = r.symbol AND c.width = r.width AND c.horizon = r.horizon AND c.target = r.target
                  AND c.model_id = r.model_id AND c.model_sha256 = r.model_sha256
GROUP BY r.symbol, r.width, r.horizon, r.target, r.model_id, r.model_sha256, c.ece, c.reliability;
COMMENT ON VIEW triggerstock.model_live_metrics IS
'rolling live quality of the direction models per (symbol, width, horizon) and model over the last 1440 realised model predictions of that width and horizon (outcome: the close horizon buckets of width later against the scored bucket''s close): accuracy and log loss beside the realised base rate, the (hindsight) majority-class accuracy and baseline_log_loss of always predicting the model''s training base rate (edge_log_loss = baseline_log_loss - log_loss); calibration: ece, the expected calibration error over ten equal-width probability bins (sum of n_bin / n * |mean probability - observed rate|), and reliability, those bins as a jsonb array (bin, from, to, n, mean_probability, observed_rate; empty bins left out); target is always direction (the regressions: model_live_regression)';

-- Issue 15: targets other than direction.  A model has a target; a symbol
-- has one deployed model per target; predictions carry their target, the
-- forecast of a regression and its realised value.
COMMENT ON COLUMN triggerstock.models.target IS 'what the model predicts: direction (probability that the close horizon buckets ahead is higher), return (ln of close horizon buckets ahead / close) or volatility (ln of the realised volatility over the next horizon buckets; predict() answers exp of it)';
COMMENT ON COLUMN triggerstock.deployments.target IS 'the target of the deployed model: a symbol has one deployed model per target; predict(symbol) serves direction';
COMMENT ON COLUMN triggerstock.predictions.target IS 'target of the deployed model that was scored (direction, return, volatility)';
COMMENT ON COLUMN triggerstock.predictions.forecast IS 'the forecast of a return or volatility model (log return; realised volatility, not its log); NULL for direction, and when every fallback level abstained';
COMMENT ON COLUMN triggerstock.predictions.outcome_value IS 'the realised value the forecast is about (realised_target()); NULL for direction and until the bucket horizon buckets later is complete';

CREATE FUNCTION @extschema@.predict(symbol text, target text)
RETURNS float8 AS 'MODULE_PATHNAME', 'model_predict_symbol'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@.predict(text, text) IS
'predict(symbol) for the deployed model of target: direction gives the probability of predict(symbol); return the forecast log return ln(close horizon buckets ahead / close of the newest complete bucket); volatility the forecast realised volatility over the next horizon buckets (exp of the model''s log forecast); fallback: the model, else its last score if younger than triggerstock.last_score_max_age, else (direction only) the rules baseline, else NULL';

CREATE FUNCTION @extschema@.predict_explain(symbol text, target text)
RETURNS jsonb AS 'MODULE_PATHNAME', 'model_predict_explain'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@.predict_explain(text, text) IS
'what predict(symbol, target) answers and why: as predict_explain(symbol), with target and, for a regression, forecast instead of probability';

CREATE FUNCTION @extschema@.realised_target(symbol text, width interval, bucket timestamptz,
                                            horizon integer, target text)
RETURNS float8
LANGUAGE sql STABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp AS $$
    -- the closes of bucket and of the horizon buckets of width after it that
    -- hold candles (the features() rows train() labels with)
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
    ), closes AS (
        SELECT s.i, @extschema@.bucket_close($1, $2, s.b) AS c FROM step s WHERE s.b IS NOT NULL
    ), steps AS (
        SELECT k.i, k.c, pg_catalog.lag(k.c) OVER (ORDER BY k.i) AS prev FROM closes k
    )
    SELECT CASE
        WHEN pg_catalog.count(*) OPERATOR(pg_catalog.<>) ($4 OPERATOR(pg_catalog.+) 1)
             OR pg_catalog.bool_or(NOT (x.c OPERATOR(pg_catalog.>) 0)) THEN NULL
        WHEN $5 OPERATOR(pg_catalog.=) 'return' THEN
            pg_catalog.ln(pg_catalog.max(x.c) FILTER (WHERE x.i OPERATOR(pg_catalog.=) $4)
                          OPERATOR(pg_catalog./) pg_catalog.max(x.c) FILTER (WHERE x.i OPERATOR(pg_catalog.=) 0))
        WHEN $5 OPERATOR(pg_catalog.=) 'volatility' THEN
            GREATEST(pg_catalog.sqrt(pg_catalog.sum(pg_catalog.ln(x.c OPERATOR(pg_catalog./) x.prev)
                                                    OPERATOR(pg_catalog.^) 2)
                                     FILTER (WHERE x.i OPERATOR(pg_catalog.>) 0 AND x.prev OPERATOR(pg_catalog.>) 0)),
                     1e-6::float8)
        WHEN $5 OPERATOR(pg_catalog.=) 'direction' THEN
            (pg_catalog.max(x.c) FILTER (WHERE x.i OPERATOR(pg_catalog.=) $4)
             OPERATOR(pg_catalog.>) pg_catalog.max(x.c) FILTER (WHERE x.i OPERATOR(pg_catalog.=) 0))::int::float8
        END
    FROM steps x
$$;
COMMENT ON FUNCTION @extschema@.realised_target(text, interval, timestamptz, integer, text) IS
'the realised value of a target for the row of bucket, from the closes of bucket and of the horizon buckets of width after it that hold candles (bucket_close(), bucket_ahead()): return ln(close ahead / close), volatility sqrt(sum of the squared log returns of the horizon steps) floored at 1e-6, direction 1 or 0; NULL while a bucket is missing or a close is not positive; train() computes its labels with the same rule (in C, from the rows it reads)';

CREATE VIEW triggerstock.model_live_regression AS
SELECT r.symbol, r.width, r.horizon, r.target, r.model_id, r.model_sha256,
       count(*) AS n,
       avg((r.y - r.f) ^ 2) AS mse,
       avg(abs(r.y - r.f)) AS mae,
       avg((r.y - r.train_mean) ^ 2) AS baseline_mse,
       1 - avg((r.y - r.f) ^ 2) / nullif(avg((r.y - r.train_mean) ^ 2), 0) AS r2,
       avg(((r.f > 0) = (r.y > 0))::int) FILTER (WHERE r.target = 'return' AND r.y <> 0) AS directional_accuracy,
       avg(exp(2 * (r.y - r.f)) - 2 * (r.y - r.f) - 1) FILTER (WHERE r.target = 'volatility') AS qlike,
       min(r.bucket) AS since, max(r.bucket) AS until
FROM (SELECT p.symbol, p.width, p.horizon, p.target, p.model_id, p.model_sha256, p.bucket,
             CASE WHEN p.target = 'volatility' THEN ln(p.forecast) ELSE p.forecast END AS f,
             CASE WHEN p.target = 'volatility' THEN ln(p.outcome_value) ELSE p.outcome_value END AS y,
             CASE WHEN jsonb_typeof(m.metrics -> 'train_mean') = 'number'
                  THEN (m.metrics ->> 'train_mean')::float8 END AS train_mean,
             row_number() OVER (PARTITION BY p.symbol, p.width, p.horizon, p.target ORDER BY p.bucket DESC) AS age
      FROM triggerstock.predictions p
      LEFT JOIN triggerstock.models m ON m.id = p.model_id
      WHERE p.target <> 'direction' AND p.fallback_level = 'model'
        AND p.forecast IS NOT NULL AND p.outcome_value IS NOT NULL
        AND (p.target = 'return' OR (p.forecast > 0 AND p.outcome_value > 0))) r
WHERE r.age <= 1440
GROUP BY r.symbol, r.width, r.horizon, r.target, r.model_id, r.model_sha256;
COMMENT ON VIEW triggerstock.model_live_regression IS
'rolling live quality of the return and volatility models per (symbol, width, horizon, target) and model over the last 1440 realised model forecasts: mse and mae (on the log return; on ln of the realised volatility), baseline_mse of always forecasting the training mean of the label (metrics.train_mean) and r2 = 1 - mse / baseline_mse, directional_accuracy of a return (sign of forecast and outcome, zero outcomes left out), qlike of a volatility (on the variances: ratio - ln ratio - 1)';

-- grants (src/privileges.sql)
REVOKE EXECUTE ON FUNCTION
    @extschema@.train(text, interval, integer, jsonb, text, timestamptz, timestamptz, interval),
    @extschema@.deploy(text, text, text)
    FROM PUBLIC;
GRANT EXECUTE ON FUNCTION
    @extschema@.train(text, interval, integer, jsonb, text, timestamptz, timestamptz, interval),
    @extschema@.deploy(text, text, text)
    TO triggerstock_admin;
GRANT SELECT ON triggerstock.model_live_regression TO triggerstock_reader;
-- end of issue 15

-- Issue 18 (beyond one server: hot standbys, symbols sharded with postgres_fdw) begin
-- the ohlcv aggregates' support functions are pure functions of their
-- arguments: IMMUTABLE (src/candles/candles.sql)
ALTER FUNCTION @extschema@.ohlcv_trade_sfunc(internal, timestamptz, float8, float8) IMMUTABLE;
ALTER FUNCTION @extschema@.ohlcv_trade_sfunc(internal, timestamptz, float8, float8, bigint) IMMUTABLE;
ALTER FUNCTION @extschema@.ohlcv_rollup_sfunc(internal, @extschema@.ohlcv) IMMUTABLE;
ALTER FUNCTION @extschema@.ohlcv_combine(internal, internal) IMMUTABLE;
ALTER FUNCTION @extschema@.ohlcv_serialize(internal) IMMUTABLE;
ALTER FUNCTION @extschema@.ohlcv_deserialize(bytea, internal) IMMUTABLE;
ALTER FUNCTION @extschema@.ohlcv_final(internal) IMMUTABLE;

-- the coordinator's tables, predictions_now, shard_symbol() (src/shard/shard.sql)
CREATE FUNCTION @extschema@.ohlcv_row(open float8, high float8, low float8, close float8,
                                      volume float8, vwap float8, trades bigint,
                                      open_time timestamptz, close_time timestamptz,
                                      open_seq bigint, close_seq bigint, sums bytea)
RETURNS @extschema@.ohlcv AS 'MODULE_PATHNAME', 'ohlcv_row'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.ohlcv_row(float8, float8, float8, float8, float8, float8, bigint, timestamptz, timestamptz, bigint, bigint, bytea) IS
'a stored candle''s columns as one ohlcv value (= ROW(...)::ohlcv); IMMUTABLE C, so postgres_fdw ships rollup(ohlcv_row(...)) to a data node where ROW(...)::ohlcv would not be';

CREATE TABLE triggerstock.cluster_trades (
    exchange    text NOT NULL,
    instrument  text NOT NULL,
    symbol      text NOT NULL,
    trade_id    bigint NOT NULL,
    ts          timestamptz NOT NULL,
    price       float8 NOT NULL,
    qty         float8 NOT NULL,
    side        text,
    received_at timestamptz NOT NULL,
    market      text NOT NULL
) PARTITION BY LIST (symbol);
COMMENT ON TABLE triggerstock.cluster_trades IS
'coordinator: the trades of every data node, one foreign partition per server (LIST by symbol, made by shard_symbol()) over that node''s triggerstock.trades; empty on a server that is no coordinator';

CREATE TABLE triggerstock.cluster_candles (
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
    origin      text NOT NULL
) PARTITION BY LIST (symbol);
COMMENT ON TABLE triggerstock.cluster_candles IS
'coordinator: the 1-minute candles of every data node, one foreign partition per server (LIST by symbol, made by shard_symbol()) over that node''s triggerstock.candles; empty on a server that is no coordinator';

CREATE VIEW triggerstock.predictions_now AS
SELECT d.symbol, (e.j OPERATOR(pg_catalog.->>) 'probability')::float8 AS probability, e.j AS explain
FROM triggerstock.deployed d CROSS JOIN LATERAL @extschema@.predict_explain(d.symbol) AS e(j);
COMMENT ON VIEW triggerstock.predictions_now IS
'predict_explain() of each deployed symbol, computed when read (a filter on symbol computes only that symbol''s): what the coordinator''s cluster_predictions reads on each data node';

CREATE TABLE triggerstock.cluster_predictions (
    symbol      text NOT NULL,
    probability float8,
    explain     jsonb
) PARTITION BY LIST (symbol);
COMMENT ON TABLE triggerstock.cluster_predictions IS
'coordinator: predictions_now of every data node, one foreign partition per server (LIST by symbol): SELECT probability FROM triggerstock.cluster_predictions WHERE symbol = ''BTC'' runs predict(''BTC'') on the node that holds BTC';

CREATE TABLE triggerstock.shards (
    symbol      text PRIMARY KEY,
    server      name NOT NULL,
    sharded_at  timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE triggerstock.shards IS
'coordinator: the data node (postgres_fdw server) of each sharded symbol, written by shard_symbol()';
SELECT pg_catalog.pg_extension_config_dump('triggerstock.shards', '');

CREATE FUNCTION @extschema@.shard_symbol(symbol text, server name)
RETURNS integer
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    holder name;
    bound text;
    n integer;
    part record;
    rel text;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_foreign_server s
                   JOIN pg_catalog.pg_foreign_data_wrapper w ON w.oid OPERATOR(pg_catalog.=) s.srvfdw
                   WHERE s.srvname OPERATOR(pg_catalog.=) shard_symbol.server
                     AND w.fdwname OPERATOR(pg_catalog.=) 'postgres_fdw') THEN
        RAISE EXCEPTION 'server "%" is not a postgres_fdw server', server
            USING ERRCODE = 'undefined_object',
                  HINT = 'Run CREATE EXTENSION postgres_fdw, CREATE SERVER ... FOREIGN DATA WRAPPER postgres_fdw OPTIONS (host ..., dbname ..., extensions ''triggerstock'') and CREATE USER MAPPING first.';
    END IF;
    IF symbol IS NULL OR symbol OPERATOR(pg_catalog.=) '' THEN
        RAISE EXCEPTION 'symbol must not be empty' USING ERRCODE = 'invalid_parameter_value',
            HINT = 'Give the canonical symbol, for example ''BTC''.';
    END IF;
    SELECT s.server INTO holder FROM triggerstock.shards s WHERE s.symbol OPERATOR(pg_catalog.=) shard_symbol.symbol;
    IF holder IS NOT NULL AND holder OPERATOR(pg_catalog.<>) server THEN
        RAISE EXCEPTION 'symbol "%" is already on server "%"', symbol, holder
            USING ERRCODE = 'object_in_use',
                  HINT = 'Moving a symbol means copying its rows to the other node first; shard_symbol() does not move data.';
    END IF;
    IF holder IS NULL THEN
        INSERT INTO triggerstock.shards (symbol, server) VALUES (shard_symbol.symbol, shard_symbol.server);
    END IF;
    SELECT pg_catalog.string_agg(pg_catalog.quote_literal(s.symbol), ', ' ORDER BY s.symbol), pg_catalog.count(*)
      INTO bound, n
      FROM triggerstock.shards s WHERE s.server OPERATOR(pg_catalog.=) shard_symbol.server;
    FOR part IN SELECT * FROM (VALUES ('cluster_trades', 'trades'), ('cluster_candles', 'candles'),
                                      ('cluster_predictions', 'predictions_now')) v(parent, remote)
    LOOP
        rel := pg_catalog.format('triggerstock.%I', part.parent OPERATOR(pg_catalog.||) '_' OPERATOR(pg_catalog.||) server);
        IF pg_catalog.to_regclass(rel) IS NOT NULL THEN
            -- a LIST bound cannot be altered: detach, attach with the new list
            EXECUTE pg_catalog.format('ALTER TABLE triggerstock.%I DETACH PARTITION %s', part.parent, rel);
            EXECUTE pg_catalog.format('ALTER TABLE triggerstock.%I ATTACH PARTITION %s FOR VALUES IN (%s)',
                                      part.parent, rel, bound);
        ELSE
            EXECUTE pg_catalog.format('CREATE FOREIGN TABLE %s PARTITION OF triggerstock.%I FOR VALUES IN (%s) '
                                      'SERVER %I OPTIONS (schema_name %L, table_name %L)',
                                      rel, part.parent, bound, server, 'triggerstock', part.remote);
        END IF;
    END LOOP;
    RETURN n;
END
$$;
COMMENT ON FUNCTION @extschema@.shard_symbol(text, name) IS
'coordinator: record that symbol lives on postgres_fdw server server and (re)make that server''s foreign partitions of cluster_trades, cluster_candles and cluster_predictions FOR VALUES IN (its symbols); returns how many symbols the server holds; moves no data';

-- beyond one server (issue 18): the coordinator's tables and the node's
-- predictions_now are read like the local data (through postgres_fdw the
-- reader also needs a user mapping); shard_symbol() creates foreign
-- partitions of the extension's tables, which only their owner may
GRANT SELECT ON triggerstock.cluster_trades, triggerstock.cluster_candles,
    triggerstock.cluster_predictions, triggerstock.predictions_now, triggerstock.shards
    TO triggerstock_reader;
REVOKE EXECUTE ON FUNCTION @extschema@.shard_symbol(text, name) FROM PUBLIC;
-- end of issue 18

-- Issue 15, decisions and signals, begin
-- signal_rules, signals, signals_record() (the predictor's hook) and
-- backtest() (src/models/signals.sql)
CREATE TABLE triggerstock.signal_rules (
    id          bigserial PRIMARY KEY,
    symbol      text NOT NULL,
    target      text NOT NULL DEFAULT 'direction',
    long_above  float8 NOT NULL,
    short_below float8 NOT NULL,
    cooldown    interval NOT NULL DEFAULT '0',
    models_only boolean NOT NULL DEFAULT true,
    enabled     boolean NOT NULL DEFAULT true,
    created_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT signal_rules_symbol_valid CHECK (octet_length(symbol) BETWEEN 1 AND 63),
    CONSTRAINT signal_rules_target_valid CHECK (target IN ('direction', 'return')),
    -- NaN sorts above Infinity in PostgreSQL: these refuse NaN and both infinities
    CONSTRAINT signal_rules_thresholds_finite
        CHECK (long_above > '-Infinity' AND long_above < 'Infinity'
               AND short_below > '-Infinity' AND short_below < 'Infinity'),
    CONSTRAINT signal_rules_band_ordered CHECK (short_below <= long_above),
    CONSTRAINT signal_rules_probability_range
        CHECK (target <> 'direction' OR (short_below >= 0 AND long_above <= 1)),
    CONSTRAINT signal_rules_cooldown_valid CHECK (cooldown >= interval '0' AND cooldown <= interval '366 days')
);
CREATE INDEX signal_rules_symbol ON triggerstock.signal_rules (symbol, target) WHERE enabled;
COMMENT ON TABLE triggerstock.signal_rules IS
'decision rules the predictor applies to each score it commits for (symbol, target): long when the answer is above long_above, short when it is below short_below, no trade in the abstain band between them (and at either threshold); no long or short within cooldown (in bucket time) of the rule''s previous long or short';
COMMENT ON COLUMN triggerstock.signal_rules.symbol IS 'the symbol whose deployed model of target is scored (1 to 63 bytes)';
COMMENT ON COLUMN triggerstock.signal_rules.target IS 'direction (default: thresholds on the probability, within [0, 1]) or return (thresholds on the forecast log return); volatility has no direction to trade';
COMMENT ON COLUMN triggerstock.signal_rules.long_above IS 'long when the probability (direction) or forecast log return (return) is strictly above this; finite';
COMMENT ON COLUMN triggerstock.signal_rules.short_below IS 'short when the answer is strictly below this; finite, at most long_above (the band between them abstains)';
COMMENT ON COLUMN triggerstock.signal_rules.cooldown IS 'no long or short within this interval of bucket time after the rule''s previous long or short: the decision is none with reason cooldown (0: no cooldown; at most 366 days)';
COMMENT ON COLUMN triggerstock.signal_rules.models_only IS 'when true (default) an answer of a fallback level (last_score, rules) gives decision none with reason fallback; when false it is decided like a model answer';
COMMENT ON COLUMN triggerstock.signal_rules.enabled IS 'only enabled rules produce signals';
COMMENT ON COLUMN triggerstock.signal_rules.created_at IS 'when the rule was created';
COMMENT ON SEQUENCE triggerstock.signal_rules_id_seq IS 'ids of triggerstock.signal_rules';

CREATE TABLE triggerstock.signals (
    id             bigserial PRIMARY KEY,
    rule_id        bigint REFERENCES triggerstock.signal_rules (id) ON DELETE SET NULL,
    symbol         text NOT NULL,
    target         text NOT NULL,
    width          interval NOT NULL,
    horizon        integer NOT NULL,
    bucket         timestamptz NOT NULL,
    decision       text NOT NULL CONSTRAINT signals_decision_valid CHECK (decision IN ('long', 'short', 'none')),
    reason         text NOT NULL CONSTRAINT signals_reason_valid
                       CHECK (reason IN ('long_above', 'short_below', 'band', 'cooldown', 'fallback', 'no_answer')),
    probability    float8,
    forecast       float8,
    model_id       bigint,
    model_sha256   text,
    fallback_level text NOT NULL CONSTRAINT signals_level_valid
                       CHECK (fallback_level IN ('model', 'last_score', 'rules', 'abstain')),
    created_at     timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT signals_trade_has_reason
        CHECK ((decision = 'long') = (reason = 'long_above') AND (decision = 'short') = (reason = 'short_below')),
    CONSTRAINT signals_one_per_rule_bucket UNIQUE (rule_id, width, horizon, bucket)
);
CREATE INDEX signals_rule_trades ON triggerstock.signals (rule_id, bucket) WHERE decision <> 'none';
CREATE INDEX signals_symbol_created ON triggerstock.signals (symbol, created_at);
COMMENT ON TABLE triggerstock.signals IS
'one row per decision of an enabled signal rule on a prediction the predictor committed (same transaction as the prediction row); each row is sent at commit as NOTIFY triggerstock_signals with the row as JSON (row_to_json) as payload, so a listener sees each committed signal exactly once';
COMMENT ON COLUMN triggerstock.signals.rule_id IS 'the rule that decided (NULL once the rule is deleted)';
COMMENT ON COLUMN triggerstock.signals.symbol IS 'symbol of the prediction decided on';
COMMENT ON COLUMN triggerstock.signals.target IS 'target of the prediction (direction or return)';
COMMENT ON COLUMN triggerstock.signals.width IS 'candle width of the model that was scored';
COMMENT ON COLUMN triggerstock.signals.horizon IS 'horizon, in buckets of width, of the model that was scored';
COMMENT ON COLUMN triggerstock.signals.created_at IS 'when the predictor decided (its transaction''s start)';
COMMENT ON COLUMN triggerstock.signals.bucket IS 'bucket of the prediction (triggerstock.predictions.bucket): the feature row scored';
COMMENT ON COLUMN triggerstock.signals.decision IS 'long, short or none (no trade)';
COMMENT ON COLUMN triggerstock.signals.reason IS 'long_above / short_below (a trade), band (the answer is in the abstain band), cooldown (a trade within the rule''s cooldown of its previous trade), fallback (the answer came from a fallback level and the rule is models_only), no_answer (every fallback level abstained)';
COMMENT ON COLUMN triggerstock.signals.probability IS 'the direction probability decided on (NULL for return)';
COMMENT ON COLUMN triggerstock.signals.forecast IS 'the forecast log return decided on (NULL for direction)';
COMMENT ON COLUMN triggerstock.signals.model_id IS 'the model that answered (NULL for the rules level and abstain)';
COMMENT ON COLUMN triggerstock.signals.model_sha256 IS 'sha256 of that model''s bytes';
COMMENT ON COLUMN triggerstock.signals.fallback_level IS 'the level of predict()''s fallback chain that answered: model, last_score, rules or abstain';
COMMENT ON SEQUENCE triggerstock.signals_id_seq IS 'ids of triggerstock.signals (their order is the commit order within a pass)';
SELECT pg_catalog.pg_extension_config_dump('triggerstock.signal_rules', '');
SELECT pg_catalog.pg_extension_config_dump('triggerstock.signal_rules_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('triggerstock.signals', '');
SELECT pg_catalog.pg_extension_config_dump('triggerstock.signals_id_seq', '');

CREATE FUNCTION @extschema@.signals_record(symbol text, width interval, horizon integer, target text,
                                           bucket timestamptz)
RETURNS integer
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    p    record;
    r    record;
    s    triggerstock.signals;
    v    float8;
    prev timestamptz;
    dec  text;
    why  text;
    n    integer := 0;
BEGIN
    SELECT q.* INTO p FROM triggerstock.predictions q
    WHERE q.symbol = $1 AND q.width = $2 AND q.horizon = $3 AND q.target = $4 AND q.bucket = $5;
    IF NOT FOUND THEN
        RETURN 0;
    END IF;
    -- the CHECKs of signal_rules say every row passes these; a row that
    -- does not (a constraint dropped by the owner) is skipped, never decided on
    FOR r IN SELECT x.id, x.long_above, x.short_below, x.cooldown, x.models_only
             FROM triggerstock.signal_rules x
             WHERE x.symbol = p.symbol AND x.target = p.target AND x.enabled
               AND x.long_above > '-Infinity' AND x.long_above < 'Infinity'
               AND x.short_below > '-Infinity' AND x.short_below < 'Infinity'
               AND x.short_below <= x.long_above AND x.cooldown >= interval '0'
             ORDER BY x.id
    LOOP
        v := CASE WHEN p.target = 'direction' THEN p.probability ELSE p.forecast END;
        IF v IS NULL OR v = 'NaN'::float8 THEN
            dec := 'none'; why := 'no_answer';
        ELSIF r.models_only AND p.fallback_level <> 'model' THEN
            dec := 'none'; why := 'fallback';
        ELSIF v > r.long_above THEN
            dec := 'long'; why := 'long_above';
        ELSIF v < r.short_below THEN
            dec := 'short'; why := 'short_below';
        ELSE
            dec := 'none'; why := 'band';
        END IF;
        IF dec <> 'none' AND r.cooldown > interval '0' THEN
            SELECT g.bucket INTO prev FROM triggerstock.signals g
            WHERE g.rule_id = r.id AND g.decision <> 'none' AND g.bucket < p.bucket
            ORDER BY g.bucket DESC LIMIT 1;
            IF FOUND AND p.bucket - prev < r.cooldown THEN
                dec := 'none'; why := 'cooldown';
            END IF;
        END IF;
        INSERT INTO triggerstock.signals AS g (rule_id, symbol, target, width, horizon, bucket, decision, reason,
                                               probability, forecast, model_id, model_sha256, fallback_level)
        VALUES (r.id, p.symbol, p.target, p.width, p.horizon, p.bucket, dec, why,
                p.probability, p.forecast, p.model_id, p.model_sha256, p.fallback_level)
        ON CONFLICT DO NOTHING
        RETURNING g.* INTO s;
        IF FOUND THEN
            PERFORM pg_catalog.pg_notify('triggerstock_signals', pg_catalog.row_to_json(s)::text);
            n := n + 1;
        END IF;
    END LOOP;
    RETURN n;
END
$$;
COMMENT ON FUNCTION @extschema@.signals_record(text, interval, integer, text, timestamptz) IS
'called by the predictor worker in the transaction of each prediction row it inserts: one triggerstock.signals row per enabled rule of the prediction''s symbol and target (long above long_above, short below short_below, else none: band; none with reason cooldown, fallback or no_answer as the rule says), each announced with pg_notify(''triggerstock_signals'', row_to_json of the row), delivered at commit; returns the number of rows written (a bucket already decided by a rule is not decided again)';

CREATE FUNCTION @extschema@.backtest(model_id bigint, "from" timestamptz, "to" timestamptz,
                                     fee_bps float8 DEFAULT 10, threshold float8 DEFAULT NULL)
RETURNS jsonb AS 'MODULE_PATHNAME', 'model_backtest'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@.backtest(bigint, timestamptz, timestamptz, float8, float8) IS
'backtest of a direction or return model on the complete features() rows of its symbol and width from "from" to "to" (see README, Signals and backtests): every horizon-th row from the first one at or after "from" takes a position held for horizon rows (direction: long when the probability is above threshold (default 0.5, within [0.5, 1)), short when below 1 - threshold, else flat; return: long above threshold (default 0), short below -threshold), earning the log return of the close horizon rows later, less fee_bps (default 10) per unit of position change, entry and final exit included; returns jsonb: for the model, buy_and_hold and the rules baseline (rsi_14 and macd_hist) on the same periods: periods, trades, hits, hit_rate, false_signals, false_signal_rate, gross_pnl, fees, pnl, sharpe (annualised, 365 days), max_drawdown, turnover; and false_signal_rate_vs_rules; ERROR for a range that starts before the model''s test window (it would overlap its training rows or the rows left out after them: look-ahead)';

CREATE FUNCTION @extschema@.backtest(symbol text, "from" timestamptz, "to" timestamptz,
                                     fee_bps float8 DEFAULT 10, threshold float8 DEFAULT NULL,
                                     target text DEFAULT 'direction')
RETURNS jsonb
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    chosen bigint;
BEGIN
    SELECT d.model_id INTO chosen FROM triggerstock.deployed d
    WHERE d.symbol = backtest.symbol AND d.target = backtest.target;
    IF chosen IS NULL THEN
        RAISE EXCEPTION 'no % model is deployed for symbol "%"', coalesce(target, 'NULL'), symbol
            USING ERRCODE = 'no_data_found',
                  HINT = 'Deploy one with deploy(), or backtest a model by its id.';
    END IF;
    RETURN @extschema@.backtest(chosen, "from", "to", fee_bps, threshold);
END
$$;
COMMENT ON FUNCTION @extschema@.backtest(text, timestamptz, timestamptz, float8, float8, text) IS
'backtest(model_id, ...) of the model deployed now for symbol and target (default direction); ERROR when none is';

-- grants (src/privileges.sql)
-- decisions and signals (issue 15): rules and signals are read like the
-- predictions; the admin writes the rules; only the predictor (a
-- superuser) records signals; backtest() reads models and candles
GRANT SELECT ON triggerstock.signal_rules, triggerstock.signals TO triggerstock_reader;
GRANT INSERT, UPDATE, DELETE ON triggerstock.signal_rules TO triggerstock_admin;
GRANT DELETE ON triggerstock.signals TO triggerstock_admin;
GRANT USAGE ON SEQUENCE triggerstock.signal_rules_id_seq TO triggerstock_admin;
REVOKE EXECUTE ON FUNCTION
    @extschema@.signals_record(text, interval, integer, text, timestamptz),
    @extschema@.backtest(bigint, timestamptz, timestamptz, float8, float8),
    @extschema@.backtest(text, timestamptz, timestamptz, float8, float8, text)
    FROM PUBLIC;
GRANT EXECUTE ON FUNCTION
    @extschema@.backtest(bigint, timestamptz, timestamptz, float8, float8),
    @extschema@.backtest(text, timestamptz, timestamptz, float8, float8, text)
    TO triggerstock_reader;
-- end of issue 15, decisions and signals

-- Issue 15, rollouts (shadow and canary candidates, the promotion rule) and training progress begin
-- deployments get a mode (live, shadow, canary, retired), a canary fraction
-- and the figures of an automatic decision; predictions get the mode of the
-- deployment scored, in their key.  Every 0.1 and earlier 0.2 row is live.
-- (Columns added without a default, then filled, as for the targets.)
ALTER TABLE triggerstock.deployments ADD COLUMN mode text, ADD COLUMN fraction float8, ADD COLUMN metrics jsonb;
ALTER TABLE triggerstock.deployments DISABLE TRIGGER deployments_append_only;
UPDATE triggerstock.deployments SET mode = 'live';
ALTER TABLE triggerstock.deployments ENABLE TRIGGER deployments_append_only;
ALTER TABLE triggerstock.deployments ALTER COLUMN mode SET DEFAULT 'live',
    ALTER COLUMN mode SET NOT NULL,
    ADD CONSTRAINT deployments_mode_valid CHECK (mode IN ('live', 'shadow', 'canary', 'retired')),
    ADD CONSTRAINT deployments_fraction_of_canary
        CHECK ((mode = 'canary') = (fraction IS NOT NULL) AND (fraction IS NULL OR (fraction > 0 AND fraction < 1))),
    ADD CONSTRAINT deployments_metrics_object CHECK (jsonb_typeof(metrics) = 'object'),
    DROP CONSTRAINT deployments_strategy_valid,
    ADD CONSTRAINT deployments_strategy_valid
        CHECK (strategy IN ('best_score', 'most_recent', 'rollback', 'model_id', 'promotion', 'retirement'));
ALTER TABLE triggerstock.predictions ADD COLUMN mode text;
UPDATE triggerstock.predictions SET mode = 'live';
ALTER TABLE triggerstock.predictions ALTER COLUMN mode SET DEFAULT 'live',
    ALTER COLUMN mode SET NOT NULL,
    DROP CONSTRAINT predictions_pkey,
    ADD PRIMARY KEY (symbol, width, horizon, target, mode, bucket),
    ADD CONSTRAINT predictions_mode_valid CHECK (mode IN ('live', 'shadow', 'canary'));

-- the live deployment is the latest live row (src/models/models.sql)
CREATE OR REPLACE FUNCTION @extschema@.deploy(symbol text, strategy text, target text)
RETURNS bigint
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    current bigint;
    chosen  bigint;
    why     text;
    ref     record;
    n_same  bigint;
    n_other bigint;
    score_key text := CASE WHEN target = 'direction' THEN 'log_loss' ELSE 'mse' END;
    -- messages about direction models read as before targets existed
    score_name text := CASE WHEN target = 'direction' THEN 'log loss' ELSE 'mse' END;
    kind text := CASE WHEN target = 'direction' THEN '' ELSE target OPERATOR(pg_catalog.||) ' ' END;
BEGIN
    SELECT d.model_id INTO current FROM triggerstock.deployments d
    WHERE d.symbol = deploy.symbol AND d.target = deploy.target AND d.mode = 'live' ORDER BY d.id DESC LIMIT 1;
    IF target IS NULL OR target NOT IN ('direction', 'return', 'volatility') THEN
        RAISE EXCEPTION 'unknown target "%"', target
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Use direction, return or volatility.';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM triggerstock.models m WHERE m.symbol = deploy.symbol AND m.target = deploy.target) THEN
        RAISE EXCEPTION 'no %model for symbol "%"', kind, symbol
            USING ERRCODE = 'no_data_found',
                  HINT = CASE WHEN target = 'direction' THEN pg_catalog.format('Train one first: SELECT train(%L).', symbol)
                              ELSE pg_catalog.format('Train one first: SELECT train(%L, target => %L).', symbol, target) END;
    END IF;
    CASE strategy
    WHEN 'most_recent' THEN
        SELECT m.id INTO chosen FROM triggerstock.models m
        WHERE m.symbol = deploy.symbol AND m.target = deploy.target ORDER BY m.id DESC LIMIT 1;
        why := 'newest model';
    WHEN 'best_score' THEN
        -- log losses are comparable only on the same rows: models of the
        -- width, horizon and test window of the symbol's newest model
        SELECT m.width, m.horizon, m.test_from, m.test_to INTO ref FROM triggerstock.models m
        WHERE m.symbol = deploy.symbol AND m.target = deploy.target ORDER BY m.id DESC LIMIT 1;
        SELECT pg_catalog.count(*) FILTER (WHERE m.width = ref.width AND m.horizon = ref.horizon
                                             AND m.test_from = ref.test_from AND m.test_to = ref.test_to
                                             AND pg_catalog.jsonb_typeof(m.metrics -> score_key) = 'number'),
               pg_catalog.count(*) FILTER (WHERE NOT (m.width = ref.width AND m.horizon = ref.horizon
                                                    AND m.test_from = ref.test_from AND m.test_to = ref.test_to
                                                    AND pg_catalog.jsonb_typeof(m.metrics -> score_key) = 'number'))
        INTO n_same, n_other
        FROM triggerstock.models m WHERE m.symbol = deploy.symbol AND m.target = deploy.target;
        SELECT m.id INTO chosen FROM triggerstock.models m
        WHERE m.symbol = deploy.symbol AND m.target = deploy.target AND m.width = ref.width AND m.horizon = ref.horizon
          AND m.test_from = ref.test_from AND m.test_to = ref.test_to
          AND pg_catalog.jsonb_typeof(m.metrics -> score_key) = 'number'
        ORDER BY (m.metrics ->> score_key)::double precision, m.id DESC LIMIT 1;
        IF chosen IS NULL THEN
            RAISE EXCEPTION 'no %model of "%" with width %, horizon % and test window [%, %] has a test %',
                            kind, symbol, ref.width, ref.horizon, ref.test_from, ref.test_to, score_name
                USING ERRCODE = 'no_data_found',
                      HINT = 'best_score compares models on the test window of the symbol''s newest model.';
        END IF;
        why := pg_catalog.format('lowest test %s of %s %smodels of width %s, horizon %s on the test window [%s, %s]',
                                 score_name, n_same, kind, ref.width, ref.horizon, ref.test_from, ref.test_to);
        RAISE NOTICE 'best_score compared % %model(s) of "%" with width %, horizon % and test window [%, %] (those of its newest model); % other model(s) of "%" have another width, horizon or test window, or no test %, and were not compared',
                     n_same, kind, symbol, ref.width, ref.horizon, ref.test_from, ref.test_to, n_other, symbol, score_name;
    WHEN 'rollback' THEN
        SELECT d.model_id INTO chosen FROM triggerstock.deployments d
        WHERE d.symbol = deploy.symbol AND d.target = deploy.target AND d.model_id IS DISTINCT FROM current AND d.mode = 'live'
        ORDER BY d.id DESC LIMIT 1;
        IF chosen IS NULL THEN
            RAISE EXCEPTION 'nothing to roll back to for %symbol "%"', CASE WHEN target = 'direction' THEN ''
                                                                             ELSE target OPERATOR(pg_catalog.||) ' of ' END, symbol
                USING ERRCODE = 'no_data_found',
                      HINT = 'Rollback needs an earlier deployment of another model.';
        END IF;
        why := pg_catalog.format('rollback from model %s', current);
    ELSE
        RAISE EXCEPTION 'unknown deployment strategy "%"', strategy
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Use best_score, most_recent or rollback, or deploy(model_id).';
    END CASE;
    IF chosen IS NOT DISTINCT FROM current THEN
        RAISE NOTICE 'model % is already deployed for %"%"', chosen, kind, symbol;
        RETURN chosen;
    END IF;
    INSERT INTO triggerstock.deployments (symbol, model_id, strategy, reason, target)
    VALUES (symbol, chosen, strategy, why, target);
    RETURN chosen;
END
$$;

CREATE OR REPLACE VIEW triggerstock.deployed AS
SELECT DISTINCT ON (d.symbol, d.target) d.symbol, d.model_id, m.sha256, d.strategy, d.deployed_at,
       m.width, m.horizon, m.metrics, d.target
FROM triggerstock.deployments d JOIN triggerstock.models m ON m.id = d.model_id
WHERE d.mode = 'live'
ORDER BY d.symbol, d.target, d.id DESC;
COMMENT ON VIEW triggerstock.deployed IS 'the deployed (live) model of each symbol and target (direction, return, volatility) with its test metrics: the latest deployments row of mode live; shadow and canary candidates are in rollout_candidates';

CREATE OR REPLACE VIEW triggerstock.latest_predictions AS
SELECT DISTINCT ON (symbol, width, horizon, target) symbol, width, horizon, bucket, probability, fallback_level,
       model_id, model_sha256, latency_us, predicted_at, target, forecast
FROM triggerstock.predictions
WHERE mode = 'live'
ORDER BY symbol, width, horizon, target, bucket DESC;
COMMENT ON VIEW triggerstock.latest_predictions IS 'the newest row of triggerstock.predictions of the live deployment per (symbol, width, horizon, target) (candidates'' rows: rollout_status)';

CREATE OR REPLACE VIEW triggerstock.model_live_metrics AS
WITH r AS (
    SELECT q.* FROM (
        SELECT p.symbol, p.width, p.horizon, p.target, p.model_id, p.model_sha256, p.bucket, p.probability, p.outcome, p.mode,
               CASE WHEN jsonb_typeof(m.metrics -> 'train_base_rate') = 'number'
                    THEN least(greatest((m.metrics ->> 'train_base_rate')::float8, 1e-15), 1 - 1e-15)
               END AS train_base_rate,
               CASE WHEN jsonb_typeof(m.metrics -> 'ece') = 'number' THEN (m.metrics ->> 'ece')::float8 END AS test_ece,
               row_number() OVER (PARTITION BY p.symbol, p.width, p.horizon, p.target, p.mode ORDER BY p.bucket DESC) AS age
        FROM triggerstock.predictions p
        LEFT JOIN triggerstock.models m ON m.id = p.model_id
        WHERE p.outcome IS NOT NULL AND p.probability IS NOT NULL AND p.fallback_level = 'model'
          AND p.target = 'direction') q
    WHERE q.age <= 1440
), bins AS (
    -- calibration (issue 15): ten equal-width probability bins
    SELECT r.symbol, r.width, r.horizon, r.target, r.model_id, r.model_sha256,
           least(floor(r.probability * 10), 9)::int AS bin,
           count(*) AS n, avg(r.probability) AS mean_probability, avg(r.outcome::int) AS observed_rate, r.mode
    FROM r
    GROUP BY r.symbol, r.width, r.horizon, r.target, r.model_id, r.model_sha256, 7, r.mode
), calibration AS (
    SELECT b.symbol, b.width, b.horizon, b.target, b.model_id, b.model_sha256, b.mode,
           sum(b.n * abs(b.mean_probability - b.observed_rate)) / sum(b.n) AS ece,
           jsonb_agg(jsonb_build_object('bin', b.bin, 'from', b.bin / 10.0, 'to', (b.bin + 1) / 10.0, 'n', b.n,
                                        'mean_probability', b.mean_probability, 'observed_rate', b.observed_rate)
                     ORDER BY b.bin) AS reliability
    FROM bins b
    GROUP BY b.symbol, b.width, b.horizon, b.target, b.model_id, b.model_sha256, b.mode
)
SELECT r.symbol, r.width, r.horizon, r.model_id, r.model_sha256,
       count(*) AS n,
       avg(((r.probability >= 0.5) = r.outcome)::int) AS accuracy,
       -avg(CASE WHEN r.outcome THEN ln(greatest(r.probability, 1e-15))
                 ELSE ln(greatest(1 - r.probability, 1e-15)) END) AS log_loss,
       -avg(CASE WHEN r.outcome THEN ln(r.train_base_rate) ELSE ln(1 - r.train_base_rate) END)
           AS baseline_log_loss,
       -avg(CASE WHEN r.outcome THEN ln(r.train_base_rate) ELSE ln(1 - r.train_base_rate) END)
           + avg(CASE WHEN r.outcome THEN ln(greatest(r.probability, 1e-15))
                      ELSE ln(greatest(1 - r.probability, 1e-15)) END) AS edge_log_loss,
       avg(r.outcome::int) AS base_rate,
       greatest(avg(r.outcome::int), 1 - avg(r.outcome::int)) AS majority_accuracy,
       min(r.bucket) AS since, max(r.bucket) AS until,
       r.target, c.ece, c.reliability, r.mode,
       max(r.test_ece) AS test_ece, c.ece - max(r.test_ece) AS ece_drift,
       count(*) >= 100 AND c.ece - max(r.test_ece)
           > coalesce(nullif(current_setting('triggerstock.calibration_drift_threshold', true), '')::float8, 0.05)
           AS calibration_alert
FROM r
JOIN calibration c ON c.symbol = r.symbol AND c.width = r.width AND c.horizon = r.horizon AND c.target = r.target
                  AND c.model_id = r.model_id AND c.model_sha256 = r.model_sha256 AND c.mode = r.mode
GROUP BY r.symbol, r.width, r.horizon, r.target, r.model_id, r.model_sha256, c.ece, c.reliability, r.mode;
COMMENT ON VIEW triggerstock.model_live_metrics IS
'rolling live quality of the direction models per (symbol, width, horizon) and model over the last 1440 realised model predictions of that width and horizon (outcome: the close horizon buckets of width later against the scored bucket''s close): accuracy and log loss beside the realised base rate, the (hindsight) majority-class accuracy and baseline_log_loss of always predicting the model''s training base rate (edge_log_loss = baseline_log_loss - log_loss); calibration: ece, the expected calibration error over ten equal-width probability bins (sum of n_bin / n * |mean probability - observed rate|), and reliability, those bins as a jsonb array (bin, from, to, n, mean_probability, observed_rate; empty bins left out); target is always direction (the regressions: model_live_regression); mode: live, or shadow / canary for the scores of a rollout candidate (each mode has its own 1440 rows); calibration drift: test_ece, the model''s ece on its test window (models.metrics.ece; NULL for a model trained before it was stored), ece_drift = ece - test_ece, and calibration_alert, true when n >= 100 and ece_drift exceeds triggerstock.calibration_drift_threshold (default 0.05; the ece of few rows is biased upwards)';

CREATE OR REPLACE VIEW triggerstock.model_live_regression AS
SELECT r.symbol, r.width, r.horizon, r.target, r.model_id, r.model_sha256,
       count(*) AS n,
       avg((r.y - r.f) ^ 2) AS mse,
       avg(abs(r.y - r.f)) AS mae,
       avg((r.y - r.train_mean) ^ 2) AS baseline_mse,
       1 - avg((r.y - r.f) ^ 2) / nullif(avg((r.y - r.train_mean) ^ 2), 0) AS r2,
       avg(((r.f > 0) = (r.y > 0))::int) FILTER (WHERE r.target = 'return' AND r.y <> 0) AS directional_accuracy,
       avg(exp(2 * (r.y - r.f)) - 2 * (r.y - r.f) - 1) FILTER (WHERE r.target = 'volatility') AS qlike,
       min(r.bucket) AS since, max(r.bucket) AS until, r.mode
FROM (SELECT p.symbol, p.width, p.horizon, p.target, p.model_id, p.model_sha256, p.bucket, p.mode,
             CASE WHEN p.target = 'volatility' THEN ln(p.forecast) ELSE p.forecast END AS f,
             CASE WHEN p.target = 'volatility' THEN ln(p.outcome_value) ELSE p.outcome_value END AS y,
             CASE WHEN jsonb_typeof(m.metrics -> 'train_mean') = 'number'
                  THEN (m.metrics ->> 'train_mean')::float8 END AS train_mean,
             row_number() OVER (PARTITION BY p.symbol, p.width, p.horizon, p.target, p.mode ORDER BY p.bucket DESC) AS age
      FROM triggerstock.predictions p
      LEFT JOIN triggerstock.models m ON m.id = p.model_id
      WHERE p.target <> 'direction' AND p.fallback_level = 'model'
        AND p.forecast IS NOT NULL AND p.outcome_value IS NOT NULL
        AND (p.target = 'return' OR (p.forecast > 0 AND p.outcome_value > 0))) r
WHERE r.age <= 1440
GROUP BY r.symbol, r.width, r.horizon, r.target, r.model_id, r.model_sha256, r.mode;
COMMENT ON VIEW triggerstock.model_live_regression IS
'rolling live quality of the return and volatility models per (symbol, width, horizon, target) and model over the last 1440 realised model forecasts: mse and mae (on the log return; on ln of the realised volatility), baseline_mse of always forecasting the training mean of the label (metrics.train_mean) and r2 = 1 - mse / baseline_mse, directional_accuracy of a return (sign of forecast and outcome, zero outcomes left out), qlike of a volatility (on the variances: ratio - ln ratio - 1); mode: live, or shadow / canary for the scores of a rollout candidate (each mode has its own 1440 rows)';

-- src/models/rollout.sql
COMMENT ON COLUMN triggerstock.deployments.mode IS
'live (the deployed model of its symbol and target: the latest live row), shadow (a candidate scored by the predictor beside the live model, never served), canary (a candidate that also serves predict() for a share of buckets, see fraction), retired (the end of a candidacy: rollback or retirement)';
COMMENT ON COLUMN triggerstock.deployments.fraction IS
'canary only: the share of scored buckets in (0, 1) whose predict() the candidate serves (those whose rollout_canary_share() is below it)';
COMMENT ON COLUMN triggerstock.deployments.metrics IS
'for the rows of an automatic decision (promotion, rollback, retirement): the figures of rollout_status at the decision and the rule applied; NULL otherwise';
COMMENT ON COLUMN triggerstock.deployments.strategy IS
'best_score, most_recent, rollback, or model_id (deploy(id)); train() deploys with best_score; rollout decisions (rollout_evaluate()): promotion (a live row of the candidate), rollback (mode retired: the candidate was worse than its baseline on live data) and retirement (mode retired: not better than the live model after max_outcomes, or retire())';
COMMENT ON COLUMN triggerstock.predictions.mode IS
'live: the score of the deployed model; shadow or canary: the score of the rollout candidate of that mode (never served by predict() nor used as its last score)';

CREATE TABLE triggerstock.rollout_rules (
    symbol          text NOT NULL,
    target          text NOT NULL DEFAULT 'direction',
    min_outcomes    integer NOT NULL DEFAULT 500,
    max_outcomes    integer,
    min_improvement float8 NOT NULL DEFAULT 0,
    baseline_margin float8 NOT NULL DEFAULT 0,
    enabled         boolean NOT NULL DEFAULT true,
    PRIMARY KEY (symbol, target),
    CONSTRAINT rollout_rules_target_valid CHECK (target IN ('direction', 'return', 'volatility')),
    CONSTRAINT rollout_rules_min_outcomes_valid CHECK (min_outcomes BETWEEN 1 AND 1000000),
    CONSTRAINT rollout_rules_max_outcomes_valid CHECK (max_outcomes IS NULL OR max_outcomes >= min_outcomes),
    CONSTRAINT rollout_rules_min_improvement_valid CHECK (min_improvement >= 0 AND min_improvement < 1),
    CONSTRAINT rollout_rules_baseline_margin_valid CHECK (baseline_margin >= 0 AND baseline_margin <> 'Infinity')
);
COMMENT ON TABLE triggerstock.rollout_rules IS
'the promotion rule of the rollout candidates of (symbol, target); a candidate without a row follows the column defaults (min_outcomes 500, no max_outcomes, min_improvement 0, baseline_margin 0, enabled)';
COMMENT ON COLUMN triggerstock.rollout_rules.min_outcomes IS 'realised candidate scores needed before any decision (and paired with the live model''s before a promotion)';
COMMENT ON COLUMN triggerstock.rollout_rules.max_outcomes IS 'realised candidate scores after which a candidate not promoted is retired (NULL: never)';
COMMENT ON COLUMN triggerstock.rollout_rules.min_improvement IS 'promotion when the candidate''s live loss (log loss; mse for the regressions) on the buckets both scored is below the live model''s times (1 - min_improvement)';
COMMENT ON COLUMN triggerstock.rollout_rules.baseline_margin IS 'rollback when the candidate''s live loss exceeds that of its baseline on the same rows (its training base rate; its training mean) by more than this';
COMMENT ON COLUMN triggerstock.rollout_rules.enabled IS 'false: rollout_evaluate() decides nothing for (symbol, target); the figures stay in rollout_status';
SELECT pg_catalog.pg_extension_config_dump('triggerstock.rollout_rules', '');

CREATE VIEW triggerstock.rollout_candidates AS
SELECT c.id AS deployment_id, c.symbol, c.target, c.model_id, c.mode, c.fraction, c.deployed_at, c.deployed_by,
       m.width, m.horizon, m.sha256
FROM triggerstock.deployments c JOIN triggerstock.models m ON m.id = c.model_id
WHERE c.mode IN ('shadow', 'canary')
  AND NOT EXISTS (SELECT 1 FROM triggerstock.deployments e
                  WHERE e.symbol = c.symbol AND e.target = c.target AND e.id > c.id);
COMMENT ON VIEW triggerstock.rollout_candidates IS
'the active rollout candidate of each symbol and target: a deployments row of mode shadow or canary that is the latest row of its symbol and target (any later deployment ends it: another candidate, a decision, a new live model)';

CREATE FUNCTION @extschema@.rollout_canary_share(symbol text, target text, bucket timestamptz)
RETURNS float8
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp AS $$
    SELECT (('x' OPERATOR(pg_catalog.||) pg_catalog.substr(pg_catalog.md5(
               $1 OPERATOR(pg_catalog.||) ' ' OPERATOR(pg_catalog.||) $2 OPERATOR(pg_catalog.||) ' '
               OPERATOR(pg_catalog.||) pg_catalog.floor(pg_catalog.date_part('epoch', $3))::bigint::text), 1, 8))
            ::bit(32)::bigint)::float8 OPERATOR(pg_catalog./) 4294967296.0::float8
$$;
COMMENT ON FUNCTION @extschema@.rollout_canary_share(text, text, timestamptz) IS
'the canary share of a scored bucket, in [0, 1): the first 32 bits of md5(symbol || '' '' || target || '' '' || Unix epoch seconds of bucket) as an unsigned integer / 2^32; a canary candidate of fraction f serves predict() for the buckets whose share is below f (the same computation in C, src/models/rollout.c), so which model answered a bucket depends on nothing but (symbol, target, bucket)';

CREATE VIEW triggerstock.rollout_status AS
WITH c AS (
    SELECT c.deployment_id, c.symbol, c.target, c.model_id, c.mode, c.fraction, c.deployed_at, c.width, c.horizon,
           l.model_id AS live_model_id,
           coalesce(r.min_outcomes, 500) AS min_outcomes, r.max_outcomes,
           coalesce(r.min_improvement, 0) AS min_improvement, coalesce(r.baseline_margin, 0) AS baseline_margin,
           coalesce(r.enabled, true) AS enabled,
           CASE WHEN c.target = 'direction' AND jsonb_typeof(m.metrics -> 'train_base_rate') = 'number'
                THEN least(greatest((m.metrics ->> 'train_base_rate')::float8, 1e-15), 1 - 1e-15) END AS base_rate,
           CASE WHEN c.target <> 'direction' AND jsonb_typeof(m.metrics -> 'train_mean') = 'number'
                THEN (m.metrics ->> 'train_mean')::float8 END AS train_mean
    FROM triggerstock.rollout_candidates c
    JOIN triggerstock.models m ON m.id = c.model_id
    LEFT JOIN triggerstock.deployed l ON l.symbol = c.symbol AND l.target = c.target
    LEFT JOIN triggerstock.rollout_rules r ON r.symbol = c.symbol AND r.target = c.target
), scored AS (
    -- the candidate's realised model scores since its deployment, each with
    -- the live model's score of the same bucket when there is one
    SELECT c.deployment_id, p.bucket,
           CASE WHEN c.target = 'direction'
                THEN -ln(CASE WHEN p.outcome THEN greatest(p.probability, 1e-15) ELSE greatest(1 - p.probability, 1e-15) END)
                WHEN c.target = 'volatility' THEN (ln(p.outcome_value) - ln(p.forecast)) ^ 2
                ELSE (p.outcome_value - p.forecast) ^ 2 END AS loss,
           CASE WHEN c.target = 'direction'
                THEN -ln(CASE WHEN p.outcome THEN c.base_rate ELSE 1 - c.base_rate END)
                WHEN c.target = 'volatility' THEN (ln(p.outcome_value) - c.train_mean) ^ 2
                ELSE (p.outcome_value - c.train_mean) ^ 2 END AS baseline_loss,
           CASE WHEN q.bucket IS NULL THEN NULL
                WHEN c.target = 'direction'
                THEN -ln(CASE WHEN q.outcome THEN greatest(q.probability, 1e-15) ELSE greatest(1 - q.probability, 1e-15) END)
                WHEN c.target = 'volatility' THEN (ln(q.outcome_value) - ln(q.forecast)) ^ 2
                ELSE (q.outcome_value - q.forecast) ^ 2 END AS live_loss
    FROM c
    JOIN triggerstock.predictions p
      ON p.symbol = c.symbol AND p.width = c.width AND p.horizon = c.horizon AND p.target = c.target
     AND p.mode = c.mode AND p.model_id = c.model_id AND p.fallback_level = 'model'
     AND p.predicted_at >= c.deployed_at
     AND CASE WHEN c.target = 'direction' THEN p.outcome IS NOT NULL AND p.probability IS NOT NULL
              WHEN c.target = 'volatility' THEN p.forecast > 0 AND p.outcome_value > 0
              ELSE p.forecast IS NOT NULL AND p.outcome_value IS NOT NULL END
    LEFT JOIN triggerstock.predictions q
      ON q.symbol = p.symbol AND q.width = p.width AND q.horizon = p.horizon AND q.target = p.target
     AND q.mode = 'live' AND q.bucket = p.bucket AND q.model_id = c.live_model_id AND q.fallback_level = 'model'
     AND CASE WHEN c.target = 'direction' THEN q.outcome IS NOT NULL AND q.probability IS NOT NULL
              WHEN c.target = 'volatility' THEN q.forecast > 0 AND q.outcome_value > 0
              ELSE q.forecast IS NOT NULL AND q.outcome_value IS NOT NULL END
), figures AS (
    SELECT c.*, count(s.bucket) AS n, avg(s.loss) AS loss, avg(s.baseline_loss) AS baseline_loss,
           count(s.live_loss) AS n_paired, avg(s.loss) FILTER (WHERE s.live_loss IS NOT NULL) AS loss_paired,
           avg(s.live_loss) AS live_loss_paired, min(s.bucket) AS since, max(s.bucket) AS until
    FROM c LEFT JOIN scored s ON s.deployment_id = c.deployment_id
    GROUP BY c.deployment_id, c.symbol, c.target, c.model_id, c.mode, c.fraction, c.deployed_at, c.width, c.horizon,
             c.live_model_id, c.min_outcomes, c.max_outcomes, c.min_improvement, c.baseline_margin, c.enabled,
             c.base_rate, c.train_mean
)
SELECT f.deployment_id, f.symbol, f.target, f.mode, f.fraction, f.model_id, f.live_model_id, f.width, f.horizon,
       f.deployed_at, f.n, f.loss, f.baseline_loss, f.n_paired, f.loss_paired, f.live_loss_paired,
       f.since, f.until, f.min_outcomes, f.max_outcomes, f.min_improvement, f.baseline_margin, f.enabled,
       CASE WHEN f.n < f.min_outcomes THEN 'wait'
            WHEN f.baseline_loss IS NULL OR f.loss > f.baseline_loss + f.baseline_margin THEN 'rollback'
            WHEN f.n_paired >= f.min_outcomes AND f.loss_paired < f.live_loss_paired * (1 - f.min_improvement)
                THEN 'promotion'
            WHEN f.n >= f.max_outcomes THEN 'retirement'
            ELSE 'wait' END AS decision
FROM figures f;
COMMENT ON VIEW triggerstock.rollout_status IS
'each active rollout candidate with its live figures and the decision its rule (rollout_rules, else the defaults) takes now: n realised model scores of the candidate since its deployment, loss (mean log loss; mean squared error, of ln for volatility) and baseline_loss on them (the candidate''s training base rate; its training mean), n_paired buckets the live model also scored with its model, loss_paired and live_loss_paired on them; decision: wait (fewer than min_outcomes), rollback (loss > baseline_loss + baseline_margin, or no baseline), promotion (n_paired >= min_outcomes and loss_paired < live_loss_paired * (1 - min_improvement)), retirement (n >= max_outcomes), else wait';

CREATE FUNCTION @extschema@.deploy(model_id bigint, mode text, fraction float8 DEFAULT NULL)
RETURNS bigint
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    m    record;
    live record;
BEGIN
    IF mode IS NULL OR mode NOT IN ('live', 'shadow', 'canary') THEN
        RAISE EXCEPTION 'unknown deployment mode "%"', mode
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Use live, shadow or canary.';
    END IF;
    IF (mode = 'canary') <> (fraction IS NOT NULL) THEN
        RAISE EXCEPTION 'fraction is for mode canary only, and canary needs one'
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'deploy(model_id, mode => ''canary'', fraction => 0.1)';
    END IF;
    IF NOT (fraction > 0 AND fraction < 1) THEN
        RAISE EXCEPTION 'canary fraction % is not between 0 and 1', fraction
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'The share of buckets the candidate serves, e.g. 0.1.';
    END IF;
    IF mode = 'live' THEN
        RETURN @extschema@.deploy(model_id);
    END IF;
    SELECT x.symbol, x.target, x.width, x.horizon INTO m FROM triggerstock.models x WHERE x.id = deploy.model_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'model % does not exist', model_id
            USING ERRCODE = 'no_data_found',
                  HINT = 'Models are listed in triggerstock.models.';
    END IF;
    SELECT d.model_id, d.width, d.horizon INTO live FROM triggerstock.deployed d
    WHERE d.symbol = m.symbol AND d.target = m.target;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'no live % model of "%" to roll model % out beside', m.target, m.symbol, model_id
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = pg_catalog.format('Deploy it live instead: SELECT deploy(%s).', model_id);
    END IF;
    IF live.model_id = model_id THEN
        RAISE EXCEPTION 'model % is the live % model of "%"', model_id, m.target, m.symbol
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'A candidate is another model of the same symbol and target.';
    END IF;
    IF live.width <> m.width OR live.horizon <> m.horizon THEN
        RAISE EXCEPTION 'model % (width %, horizon %) does not answer the question of the live model % (width %, horizon %)',
                        model_id, m.width, m.horizon, live.model_id, live.width, live.horizon
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'A candidate is compared with the live model bucket by bucket: train it with the same width and horizon.';
    END IF;
    INSERT INTO triggerstock.deployments (symbol, model_id, strategy, reason, target, mode, fraction)
    VALUES (m.symbol, model_id, 'model_id',
            pg_catalog.format('deploy(model_id, mode => %s%s) beside live model %s', mode,
                              CASE WHEN mode = 'canary' THEN ', fraction => ' OPERATOR(pg_catalog.||) fraction END,
                              live.model_id),
            m.target, mode, fraction);
    RETURN model_id;
END
$$;
COMMENT ON FUNCTION @extschema@.deploy(bigint, text, double precision) IS
'deploys a model as a rollout candidate beside the live model of its symbol and target (which it must not be, of the same width and horizon): mode shadow (the predictor scores it into predictions with mode shadow; predict() never serves it) or canary with fraction (the predictor scores it with mode canary, and predict() serves it for the buckets whose rollout_canary_share() is below fraction; predict_explain() says deployment_mode canary or live); mode live is deploy(model_id); a new candidate replaces the active one, any later deployment ends it; rollout_evaluate() promotes or retires it by the rule of rollout_rules; returns the model id';

CREATE FUNCTION @extschema@.retire(symbol text, target text DEFAULT 'direction')
RETURNS bigint
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    c record;
BEGIN
    SELECT r.model_id, r.mode INTO c FROM triggerstock.rollout_candidates r
    WHERE r.symbol = retire.symbol AND r.target = retire.target;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'no rollout candidate of "%" for target %', symbol, target
            USING ERRCODE = 'no_data_found',
                  HINT = 'Active candidates are listed in triggerstock.rollout_candidates.';
    END IF;
    INSERT INTO triggerstock.deployments (symbol, model_id, strategy, reason, target, mode)
    VALUES (symbol, c.model_id, 'retirement', pg_catalog.format('retire(): %s candidate ended by hand', c.mode),
            target, 'retired');
    RETURN c.model_id;
END
$$;
COMMENT ON FUNCTION @extschema@.retire(text, text) IS
'ends the active rollout candidate of (symbol, target) by hand (a deployments row of strategy retirement, mode retired); returns its model id';

CREATE FUNCTION @extschema@.rollout_evaluate()
RETURNS TABLE (symbol text, target text, model_id bigint, decision text, deployment_id bigint)
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    s record;
    score text;
    why text;
BEGIN
    -- one evaluation at a time (the predictor each pass, or a caller): a
    -- decision is taken once; a second caller decides nothing now
    IF NOT pg_catalog.pg_try_advisory_xact_lock(pg_catalog.hashtext('triggerstock.rollout_evaluate')) THEN
        RETURN;
    END IF;
    FOR s IN SELECT * FROM triggerstock.rollout_status r WHERE r.enabled AND r.decision <> 'wait'
             ORDER BY r.deployment_id LOOP
        score := CASE WHEN s.target = 'direction' THEN 'log loss' ELSE 'mse' END;
        why := CASE s.decision
            WHEN 'rollback' THEN pg_catalog.format(
                'rollout: %s candidate rolled back: live %s %s on %s outcomes > %s of its baseline + margin %s',
                s.mode, score, s.loss, s.n, s.baseline_loss, s.baseline_margin)
            WHEN 'promotion' THEN pg_catalog.format(
                'rollout: %s candidate promoted over live model %s: live %s %s < %s on the %s buckets both scored (min_improvement %s; baseline %s on %s outcomes)',
                s.mode, s.live_model_id, score, s.loss_paired, s.live_loss_paired, s.n_paired, s.min_improvement,
                s.baseline_loss, s.n)
            ELSE pg_catalog.format(
                'rollout: %s candidate retired after %s outcomes (max_outcomes %s) without beating live model %s: %s %s against %s on %s paired buckets',
                s.mode, s.n, s.max_outcomes, s.live_model_id, score, s.loss_paired, s.live_loss_paired, s.n_paired)
            END;
        INSERT INTO triggerstock.deployments (symbol, model_id, strategy, reason, target, mode, metrics)
        VALUES (s.symbol, s.model_id, s.decision, why, s.target,
                CASE WHEN s.decision = 'promotion' THEN 'live' ELSE 'retired' END,
                pg_catalog.jsonb_build_object(
                    'candidate_deployment_id', s.deployment_id, 'candidate_mode', s.mode,
                    'live_model_id', s.live_model_id, 'loss', score,
                    'n', s.n, 'candidate_loss', s.loss, 'baseline_loss', s.baseline_loss,
                    'n_paired', s.n_paired, 'candidate_loss_paired', s.loss_paired,
                    'live_loss_paired', s.live_loss_paired, 'since', s.since, 'until', s.until,
                    'rule', pg_catalog.jsonb_build_object('min_outcomes', s.min_outcomes, 'max_outcomes', s.max_outcomes,
                                                          'min_improvement', s.min_improvement,
                                                          'baseline_margin', s.baseline_margin)))
        RETURNING id INTO deployment_id;
        RAISE LOG 'triggerstock %', why;
        symbol := s.symbol;
        target := s.target;
        model_id := s.model_id;
        decision := s.decision;
        RETURN NEXT;
    END LOOP;
END
$$;
COMMENT ON FUNCTION @extschema@.rollout_evaluate() IS
'applies the promotion rule to every active rollout candidate whose rollout_status decision is not wait (rules enabled): promotion inserts a live deployments row of the candidate (strategy promotion), rollback and retirement a row of mode retired; each row''s reason and metrics hold the figures and the rule; the predictor worker calls it after each pass; returns the decisions taken';

-- privileges (as src/privileges.sql: reading for the reader, deciding for the admin)
GRANT SELECT ON triggerstock.rollout_rules, triggerstock.rollout_candidates, triggerstock.rollout_status
    TO triggerstock_reader;
GRANT INSERT, UPDATE, DELETE ON triggerstock.rollout_rules TO triggerstock_admin;
REVOKE EXECUTE ON FUNCTION
    @extschema@.deploy(bigint, text, double precision),
    @extschema@.retire(text, text),
    @extschema@.rollout_evaluate()
    FROM PUBLIC;
GRANT EXECUTE ON FUNCTION
    @extschema@.deploy(bigint, text, double precision),
    @extschema@.retire(text, text),
    @extschema@.rollout_evaluate()
    TO triggerstock_admin;

-- training progress (src/models/progress.sql)
CREATE FUNCTION @extschema@.train_progress(
    OUT pid integer, OUT symbol text, OUT target text, OUT phase text, OUT round integer, OUT rounds integer,
    OUT score float8, OUT best_score float8, OUT best_round integer, OUT "rows" bigint,
    OUT started_at timestamptz, OUT phase_started_at timestamptz, OUT updated_at timestamptz)
RETURNS SETOF record AS 'MODULE_PATHNAME', 'train_progress'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@.train_progress() IS
'the running train() calls of every session (shared memory: only when the library is preloaded, else none); see the view triggerstock.train_progress';

CREATE VIEW triggerstock.train_progress AS
SELECT p.pid, p.symbol, p.target, p.phase, p.round, p.rounds, p.score, p.best_score, p.best_round, p."rows",
       p.started_at, p.phase_started_at, p.updated_at
FROM @extschema@.train_progress() p;
COMMENT ON VIEW triggerstock.train_progress IS
'one row per running train() (any session; the library must be preloaded): phase (read, validate: boosting on the fit rows with early stopping on the validation slice, refit: boosting on all training rows, evaluate, store), round (1-based, done in the phase) of rounds (the most it may run), score (the latest validation log loss, rmse for the regressions; NULL in the refit), best_score and best_round so far, rows boosted on (the test window''s in evaluate), started_at, phase_started_at, updated_at; a session asks for NOTICEs with SET triggerstock.train_progress_every = N';

REVOKE EXECUTE ON FUNCTION @extschema@.train_progress() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.train_progress() TO triggerstock_reader;
GRANT SELECT ON triggerstock.train_progress TO triggerstock_reader;
-- end of issue 15, rollouts and training progress

-- issue 13: the shared prediction cache (src/models/predict_cache.sql)
-- The shared prediction cache (src/models/predict_cache.c): predict()'s
-- model answers per (database, symbol, target) in shared memory, valid
-- until a commit changes what they were computed from.  These statement
-- triggers mark what a transaction changes; the counters move at commit.

CREATE FUNCTION @extschema@.predict_cache_rows_changed()
RETURNS trigger AS 'MODULE_PATHNAME', 'predict_cache_rows_changed'
LANGUAGE C;
COMMENT ON FUNCTION @extschema@.predict_cache_rows_changed() IS
'statement trigger of triggerstock.feature_rows, deployments and models: the shared prediction cache forgets the answers of the symbols the statement touched (all for TRUNCATE) when the transaction commits';

CREATE FUNCTION @extschema@.predict_cache_candles_changed()
RETURNS trigger AS 'MODULE_PATHNAME', 'predict_cache_candles_changed'
LANGUAGE C;
COMMENT ON FUNCTION @extschema@.predict_cache_candles_changed() IS
'statement trigger of triggerstock.candles: the shared prediction cache forgets the answers of a symbol whose newest complete bucket the statement may move (a 1-minute candle inserted or deleted, or updated other than its close_time moving inside its own minute), and the writer computes the new answers of its deployed models for the cache at commit';

CREATE TRIGGER candles_predict_cache_insert AFTER INSERT ON triggerstock.candles
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.predict_cache_candles_changed();
CREATE TRIGGER candles_predict_cache_update AFTER UPDATE ON triggerstock.candles
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.predict_cache_candles_changed();
CREATE TRIGGER candles_predict_cache_delete AFTER DELETE ON triggerstock.candles
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.predict_cache_candles_changed();
CREATE TRIGGER candles_predict_cache_truncate AFTER TRUNCATE ON triggerstock.candles
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.predict_cache_candles_changed();

CREATE TRIGGER feature_rows_predict_cache_insert AFTER INSERT ON triggerstock.feature_rows
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.predict_cache_rows_changed();
CREATE TRIGGER feature_rows_predict_cache_update AFTER UPDATE ON triggerstock.feature_rows
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.predict_cache_rows_changed();
CREATE TRIGGER feature_rows_predict_cache_delete AFTER DELETE ON triggerstock.feature_rows
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.predict_cache_rows_changed();
CREATE TRIGGER feature_rows_predict_cache_truncate AFTER TRUNCATE ON triggerstock.feature_rows
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.predict_cache_rows_changed();

CREATE TRIGGER deployments_predict_cache AFTER INSERT ON triggerstock.deployments
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.predict_cache_rows_changed();
CREATE TRIGGER models_predict_cache_delete AFTER DELETE ON triggerstock.models
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.predict_cache_rows_changed();
CREATE TRIGGER models_predict_cache_truncate AFTER TRUNCATE ON triggerstock.models
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.predict_cache_rows_changed();

CREATE FUNCTION @extschema@.predict_cache_reset()
RETURNS void AS 'MODULE_PATHNAME', 'predict_cache_reset'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@.predict_cache_reset() IS
'forgets every answer of the shared prediction cache now: for changes made where the triggers did not fire (session_replication_role = replica, disabled triggers)';

CREATE FUNCTION @extschema@.predict_cache_stats(OUT entries bigint, OUT hits bigint, OUT misses bigint,
                                                OUT installs bigint, OUT generation bigint)
RETURNS record AS 'MODULE_PATHNAME', 'predict_cache_stats'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@.predict_cache_stats() IS
'the shared prediction cache: answers held (all databases), hits, misses and installs since the server started, and the global generation (moved by predict_cache_reset() and TRUNCATE); NULLs when the cache is off (triggerstock not preloaded, or triggerstock.predict_cache_size = 0)';

REVOKE EXECUTE ON FUNCTION @extschema@.predict_cache_reset(), @extschema@.predict_cache_stats() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.predict_cache_reset() TO triggerstock_admin;
GRANT EXECUTE ON FUNCTION @extschema@.predict_cache_stats() TO triggerstock_reader;

-- answers cached under an earlier install of the extension in this database
SELECT @extschema@.predict_cache_reset();
-- end of issue 13's shared prediction cache

------------------------------------------------------------------------------
-- Data step of issue 13, last: every object it writes through exists now.
-- data: each (symbol, model width) deployed in 0.1 is served from now on, as a
-- 0.2 deployment would be (the predictor scores served pairs; this builds
-- their online state from their first candle)
SELECT @extschema@.serve_features(p.symbol, p.width)
FROM (SELECT DISTINCT d.symbol, m.width
      FROM triggerstock.deployments d JOIN triggerstock.models m ON m.id = d.model_id
      ORDER BY 1, 2) p;
