------------------------------------------------------------------------------
-- src/ingest/ingest.sql
-- Ingestion: exchange WebSocket sources, secrets, dead letters, add_source()
-- and the ingest_status view.
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
    market       text NOT NULL DEFAULT 'spot' CONSTRAINT sources_market_valid
                     CHECK (market ~ '^[a-z][a-z0-9_]{0,31}$'),
    CONSTRAINT sources_symbols_match
        CHECK (cardinality(symbols) = cardinality(instruments) AND array_position(symbols, NULL) IS NULL),
    CONSTRAINT sources_hours_pair CHECK ((active_from IS NULL) = (active_until IS NULL))
);
COMMENT ON TABLE triggerstock.sources IS
'exchange WebSocket feeds: one ingest worker streams each enabled row into triggerstock.trades; INSERT/UPDATE/DELETE reach the workers within a second (config_changed trigger)';
COMMENT ON COLUMN triggerstock.sources.name IS 'unique name of the source';
COMMENT ON COLUMN triggerstock.sources.exchange IS 'decoder: binance, coinbase, kraken, finnhub or generic (options->''map''); stored in trades.exchange';
COMMENT ON COLUMN triggerstock.sources.url IS 'ws:// or wss:// URL (port defaults to 443 for wss, 80 for ws; path to /; its query is kept); for binance a URL without a path gets /stream?streams=<instrument>@trade/...; a token in source_secrets is appended to the query as token=<percent-encoded>, never shown';
COMMENT ON COLUMN triggerstock.sources.instruments IS 'the exchange''s instrument names to subscribe to (BTCUSDT, XBT/USD, BTC-USD, AAPL); frames for other instruments become dead letters';
COMMENT ON COLUMN triggerstock.sources.symbols IS 'canonical symbol of each instrument, same positions (BTC); add_source() fills in canonical_symbol() defaults';
COMMENT ON COLUMN triggerstock.sources.enabled IS 'false stops the source''s worker';
COMMENT ON COLUMN triggerstock.sources.active_days IS 'ISO days of the week (1 = Monday .. 7 = Sunday, UTC) the source streams on; NULL = every day';
COMMENT ON COLUMN triggerstock.sources.active_from IS 'UTC time of day streaming starts (with active_until; from > until wraps past midnight); NULL = all day';
COMMENT ON COLUMN triggerstock.sources.active_until IS 'UTC time of day streaming stops; outside the hours the worker holds no connection';
COMMENT ON COLUMN triggerstock.sources.options IS
'jsonb: feed (binance_trade, binance_aggtrade, coinbase_matches, coinbase_advanced, kraken_v1, kraken_v2, kraken_futures, finnhub), batch_size, flush_ms, tls_skip_hostname_check, subscribe (generic: message sent on connect), map (generic field paths: items, instrument, price, qty, ts, ts_unit s|ms|us|ns|rfc3339, trade_id, side, side_mode taker|maker, match_path, match_value, instrument_const); order books (binance, coinbase, kraken v1 and coinbase_advanced feeds): book (true: subscribe the depth channel and keep a book per instrument), trades (false: depth only), book_levels (levels a side per sample, default 10), book_interval_ms (sampling period, default 1000), book_max_levels (level cap a side, default 5000), book_depth (Kraken subscription depth, default 100), book_rest_url (Binance REST depth endpoint; default from the stream host), book_rest_limit (default 1000)';
COMMENT ON COLUMN triggerstock.sources.created_at IS 'when the source was added';
COMMENT ON COLUMN triggerstock.sources.market IS 'market type at the exchange (spot, usdm, coinm, futures, ...), stored in trades.market: (exchange, market, instrument) names a market and is part of the trade key; add_source() derives it with source_market() unless given';
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

-- Lengths are checked where the configuration enters: the worker copies
-- these into buffers of fixed size (bgworker/ingest_ws.c checks them again).
CREATE FUNCTION @extschema@.sources_check()
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
CREATE TRIGGER sources_check BEFORE INSERT OR UPDATE ON triggerstock.sources
    FOR EACH ROW EXECUTE FUNCTION @extschema@.sources_check();

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

-- The ingest workers' counters (shared memory, one entry per worker slot,
-- bgworker/ingest_stats.c) and the status view over them and the sources.
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
