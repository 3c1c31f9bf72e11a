------------------------------------------------------------------------------
-- src/features/features.sql
-- Online features: the feature rows of served (symbol, width) pairs, kept
-- current in O(1) per closed candle by a statement trigger on
-- triggerstock.candles (src/features/online*.c); predict() reads them with
-- one index probe, feature_drift() reads them instead of recomputing.
------------------------------------------------------------------------------

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
    book_spread          float8,
    book_microprice_dist float8,
    book_imbalance_1     float8,
    book_imbalance_5     float8,
    book_imbalance_10    float8,
    book_ofi             float8,
    book_updates         bigint,
    PRIMARY KEY (symbol, width, bucket)
);
COMMENT ON TABLE triggerstock.feature_rows IS
'the online feature rows of served (symbol, width) pairs, one per complete bucket (the last triggerstock.feature_rows_keep), equal to the rows of features(symbol, width) for the same buckets; predict() reads the newest with one index probe';
COMMENT ON COLUMN triggerstock.feature_rows.sentiment_1h IS 'as in features(); recomputed when news of the hour up to the bucket''s close change';
COMMENT ON COLUMN triggerstock.feature_rows.book_spread IS 'as in features() (book_spread ... book_updates: the order-book samples of the bucket, NULL without any); recomputed when samples of the bucket are stored or deleted after the row was written';

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
