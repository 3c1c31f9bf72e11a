------------------------------------------------------------------------------
-- src/shard/shard.sql
-- Beyond one server (issue 18): the coordinator's view of symbols sharded
-- over data nodes with postgres_fdw (README "Beyond one server").
--   triggerstock.cluster_trades, cluster_candles, cluster_predictions:
--     parents partitioned by LIST (symbol) with the columns of
--     triggerstock.trades, triggerstock.candles and predictions_now; empty
--     on every server until shard_symbol() gives them foreign partitions.
--   triggerstock.shards: which server holds which symbol.
--   shard_symbol(symbol, server): one foreign partition per (parent,
--     server), FOR VALUES IN (that server's symbols).
--   triggerstock.predictions_now: predict_explain() of every deployed
--     symbol, on each node: predict() routed through the coordinator.
--   ohlcv_row(...): a candle's columns as one ohlcv, shippable.
-- Invariants: a symbol lives on one server (its rows are read there only,
-- so a partition never returns another node's symbol twice); the parents
-- never hold rows of their own (LIST partitions only, no default); nothing
-- here is used unless shard_symbol() is called on a coordinator with
-- postgres_fdw installed.
------------------------------------------------------------------------------

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
