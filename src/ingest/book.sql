------------------------------------------------------------------------------
-- src/ingest/book.sql
-- Order books (issue 17): sampled L2 snapshots (daily partitions, the trades'
-- retention), the per-instrument book state of the ingest workers, and the
-- per-bucket microstructure features computed from the stored snapshots.
------------------------------------------------------------------------------

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
