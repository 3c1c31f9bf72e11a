/* triggerstock--0.1--0.2.sql: upgrade a 0.1 database to 0.2 */

\echo Use "ALTER EXTENSION triggerstock UPDATE TO '0.2'" to load this file. \quit

-- Every SQL change of 0.2 is made here and in the pieces of the 0.2 install
-- script (SQL_PIECES in the Makefile); test/t/002_upgrade.pl checks that a
-- 0.1 database updated with this file equals a fresh 0.2 install.

-- Issue 9 (layout): the schema's comment names all it holds.
COMMENT ON SCHEMA triggerstock IS
'triggerstock data: trades, candles, news, sources, models and their configuration, status and views';

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
LANGUAGE plpgsql AS $$
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
LANGUAGE sql AS $$
    WITH touched AS (
        SELECT DISTINCT u.symbol, pg_catalog.date_bin('1 minute', u.bucket, TIMESTAMPTZ 'epoch') AS bucket
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
LANGUAGE sql STABLE AS $$
    SELECT s.symbol, $1, s.bucket, (s.c).open, (s.c).high, (s.c).low, (s.c).close,
           (s.c).volume, (s.c).vwap, (s.c).trades, (s.c).open_time, (s.c).close_time,
           (s.c).open_seq, (s.c).close_seq, (s.c).sums
    FROM (SELECT k.symbol,
                 pg_catalog.date_bin(@extschema@.candle_width($1), k.bucket, TIMESTAMPTZ 'epoch') AS bucket,
                 @extschema@.rollup(ROW(k.open, k.high, k.low, k.close, k.volume, k.vwap,
                                        k.trades, k.open_time, k.close_time,
                                        k.open_seq, k.close_seq, k.sums)::@extschema@.ohlcv) AS c
          FROM triggerstock.candles k
          WHERE k.width OPERATOR(pg_catalog.=) interval '1 minute'
          GROUP BY 1, 2) s
$$;
COMMENT ON FUNCTION @extschema@.candles(interval) IS
'candles of any whole-minute width (buckets aligned to the Unix epoch, so days are UTC days), rolled up from the 1-minute candles with rollup(): every field equals ohlcv() over the trades of the bucket when the 1-minute candles carry their sums';

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
LANGUAGE plpgsql AS $$
DECLARE
    name text := (SELECT relname FROM pg_catalog.pg_class WHERE oid = partition);
BEGIN
    EXECUTE format('ALTER TABLE %s ADD CONSTRAINT %I UNIQUE (exchange, market, instrument, trade_id, ts)',
                   partition, name || '_unique');
    EXECUTE format('CREATE INDEX %I ON %s (symbol, ts)', name || '_symbol_ts', partition);
    EXECUTE format('CREATE INDEX %I ON %s USING brin (received_at)', name || '_received_at', partition);
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
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
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
LANGUAGE plpgsql AS $$
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
       st.last_trade_at, st.last_commit_at, st.latency_p50_ms, st.latency_p99_ms
FROM triggerstock.sources s
LEFT JOIN @extschema@.ingest_stats() st ON st.source = s.id;
COMMENT ON VIEW triggerstock.ingest_status IS
'per source: worker state (starting, connecting, streaming, backoff, outside-hours, stopped, disabled, no worker slot: triggerstock.max_workers or max_worker_processes used up), connected since, frames, trades stored, duplicates skipped, dead letters, reconnects, last trade time, feed-to-commit latency p50/p99 in ms (frame arrival to commit)';

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
