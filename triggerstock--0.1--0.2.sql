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
    IF range_to - range_from > interval '3660 days' THEN
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

------------------------------------------------------------------------------
-- Issue 17: order books
-- (src/ingest/book.sql; maintain() and retention() of src/candles/candles.sql;
-- ingest_status and sources.options of src/ingest/ingest.sql; the grants of
-- src/privileges.sql).  No 0.1 data to migrate: every object is new.  Runs
-- under the search_path issue 12 set; after issues 10 and 12, so what it
-- replaces is their final version plus the books.
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
    IF (range_to OPERATOR(pg_catalog.-) range_from) OPERATOR(pg_catalog.>) interval '3660 days' THEN
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
COMMENT ON COLUMN triggerstock.book_status.gaps IS 'sequence gaps detected (Binance U/u/pu)';
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
                                          since timestamptz DEFAULT NULL)
RETURNS TABLE (bucket timestamptz, spread float8, mid float8, microprice float8,
               imbalance_1 float8, imbalance_5 float8, imbalance_10 float8,
               ofi float8, updates bigint, resyncs bigint, snapshots bigint)
LANGUAGE sql STABLE PARALLEL SAFE
BEGIN ATOMIC
    -- BEGIN ATOMIC: every name is bound when the extension is created, so no
    -- caller's search_path can change what it calls, and it is still inlined.
    SELECT v.bucket,
           pg_catalog.sum(v.w OPERATOR(pg_catalog.*) v.spread) FILTER (WHERE v.spread IS NOT NULL)
             OPERATOR(pg_catalog./) NULLIF(pg_catalog.sum(v.w) FILTER (WHERE v.spread IS NOT NULL), 0),
           pg_catalog.sum(v.w OPERATOR(pg_catalog.*) v.mid) FILTER (WHERE v.mid IS NOT NULL)
             OPERATOR(pg_catalog./) NULLIF(pg_catalog.sum(v.w) FILTER (WHERE v.mid IS NOT NULL), 0),
           pg_catalog.sum(v.w OPERATOR(pg_catalog.*) v.micro) FILTER (WHERE v.micro IS NOT NULL)
             OPERATOR(pg_catalog./) NULLIF(pg_catalog.sum(v.w) FILTER (WHERE v.micro IS NOT NULL), 0),
           pg_catalog.sum(v.w OPERATOR(pg_catalog.*) v.imb1) FILTER (WHERE v.imb1 IS NOT NULL)
             OPERATOR(pg_catalog./) NULLIF(pg_catalog.sum(v.w) FILTER (WHERE v.imb1 IS NOT NULL), 0),
           pg_catalog.sum(v.w OPERATOR(pg_catalog.*) v.imb5) FILTER (WHERE v.imb5 IS NOT NULL)
             OPERATOR(pg_catalog./) NULLIF(pg_catalog.sum(v.w) FILTER (WHERE v.imb5 IS NOT NULL), 0),
           pg_catalog.sum(v.w OPERATOR(pg_catalog.*) v.imb10) FILTER (WHERE v.imb10 IS NOT NULL)
             OPERATOR(pg_catalog./) NULLIF(pg_catalog.sum(v.w) FILTER (WHERE v.imb10 IS NOT NULL), 0),
           pg_catalog.sum(v.ofi), pg_catalog.sum(v.updates)::bigint, pg_catalog.sum(v.resyncs)::bigint,
           pg_catalog.count(*)
    FROM (
        SELECT r.bucket, r.ofi, r.updates, r.resyncs,
               -- time-weighted: a sample holds until the next one or the bucket's end
               pg_catalog.date_part('epoch',
                   LEAST(r.next_ts, r.bucket OPERATOR(pg_catalog.+) $2) OPERATOR(pg_catalog.-) r.ts) AS w,
               r.a1 OPERATOR(pg_catalog.-) r.b1 AS spread,
               (r.a1 OPERATOR(pg_catalog.+) r.b1) OPERATOR(pg_catalog./) 2 AS mid,
               ((r.a1 OPERATOR(pg_catalog.*) r.bq1) OPERATOR(pg_catalog.+) (r.b1 OPERATOR(pg_catalog.*) r.aq1))
                 OPERATOR(pg_catalog./) NULLIF(r.bq1 OPERATOR(pg_catalog.+) r.aq1, 0) AS micro,
               (r.sb1 OPERATOR(pg_catalog.-) r.sa1) OPERATOR(pg_catalog./) NULLIF(r.sb1 OPERATOR(pg_catalog.+) r.sa1, 0) AS imb1,
               (r.sb5 OPERATOR(pg_catalog.-) r.sa5) OPERATOR(pg_catalog./) NULLIF(r.sb5 OPERATOR(pg_catalog.+) r.sa5, 0) AS imb5,
               (r.sb10 OPERATOR(pg_catalog.-) r.sa10) OPERATOR(pg_catalog./) NULLIF(r.sb10 OPERATOR(pg_catalog.+) r.sa10, 0) AS imb10
        FROM (
            SELECT pg_catalog.date_bin($2, b.ts, TIMESTAMPTZ 'epoch') AS bucket, b.ts,
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
        ) r
    ) v
    GROUP BY v.bucket
    ORDER BY v.bucket;
END;
COMMENT ON FUNCTION @extschema@.book_features(text, interval, timestamptz) IS
$c$microstructure features per bucket of `width` from the stored samples of triggerstock.book_snapshots of `symbol`, oldest first, from the bucket holding `since` on. Each sample holds until the next sample of its instrument or the end of its bucket, whichever comes first; the time-weighted averages use that duration as weight and skip samples where the value is undefined.
spread: time-weighted best ask - best bid.
mid: time-weighted (best ask + best bid) / 2.
microprice: time-weighted (ask * bid_qty + bid * ask_qty) / (bid_qty + ask_qty) at the best levels.
imbalance_1, imbalance_5, imbalance_10: time-weighted (bid depth - ask depth) / (bid depth + ask depth) over the first 1, 5, 10 levels (fewer where the book is thinner).
ofi: sum of the samples' order-flow imbalance (Cont, Kukanov and Stoikov 2014, every applied message).
updates, resyncs: book messages applied and books rebuilt, summed over the samples.
snapshots: samples in the bucket.$c$;

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
       bk.books, bk.books_synced, bk.book_resyncs, bk.book_gaps, bk.book_checksum_failures
FROM triggerstock.sources s
LEFT JOIN @extschema@.ingest_stats() st ON st.source = s.id
LEFT JOIN LATERAL (
    SELECT pg_catalog.count(*) AS books, pg_catalog.count(*) FILTER (WHERE b.state = 'synced') AS books_synced,
           pg_catalog.sum(b.resyncs)::bigint AS book_resyncs, pg_catalog.sum(b.gaps)::bigint AS book_gaps,
           pg_catalog.sum(b.checksum_failures)::bigint AS book_checksum_failures
    FROM triggerstock.book_status b
    WHERE b.source = s.id
    HAVING pg_catalog.count(*) > 0
) bk ON true;
COMMENT ON VIEW triggerstock.ingest_status IS
'per source: worker state (starting, connecting, streaming, backoff, outside-hours, stopped, disabled, no worker slot: triggerstock.max_workers or max_worker_processes used up), connected since, frames, trades stored, duplicates skipped, dead letters, reconnects, last trade time, feed-to-commit latency p50/p99 in ms (frame arrival to commit), bad frames counted but not stored (dead_letters_dropped: over triggerstock.dead_letters_per_minute); for sources keeping order books (options book), books held and synced, resyncs, sequence gaps and checksum failures (details per instrument in triggerstock.book_status; NULL without books)';

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
