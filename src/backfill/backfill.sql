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
