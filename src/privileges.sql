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
    triggerstock.model_live_regression,
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
    @extschema@.train(text, interval, integer, jsonb, text, timestamptz, timestamptz, interval),
    @extschema@.train_from_query(text, text, interval, integer, jsonb),
    @extschema@.deploy(bigint),
    @extschema@.deploy(text, text),
    @extschema@.deploy(text, text, text),
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
    @extschema@.train(text, interval, integer, jsonb, text, timestamptz, timestamptz, interval),
    @extschema@.train_from_query(text, text, interval, integer, jsonb),
    @extschema@.deploy(bigint),
    @extschema@.deploy(text, text),
    @extschema@.deploy(text, text, text),
    @extschema@.retention(interval),
    @extschema@.dead_letters_retention(interval),
    @extschema@.refresh_candles(timestamptz),
    @extschema@.refresh_candle_buckets(text[], timestamptz[]),
    @extschema@.store_candles(text[], timestamptz[], @extschema@.ohlcv[], boolean)
    TO triggerstock_admin;

-- what the workers are doing is not PUBLIC's business either
REVOKE EXECUTE ON FUNCTION @extschema@.worker_status(), @extschema@.ingest_stats() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.worker_status(), @extschema@.ingest_stats() TO triggerstock_reader;

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

-- beyond one server (issue 18): the coordinator's tables and the node's
-- predictions_now are read like the local data (through postgres_fdw the
-- reader also needs a user mapping); shard_symbol() creates foreign
-- partitions of the extension's tables, which only their owner may
GRANT SELECT ON triggerstock.cluster_trades, triggerstock.cluster_candles,
    triggerstock.cluster_predictions, triggerstock.predictions_now, triggerstock.shards
    TO triggerstock_reader;
REVOKE EXECUTE ON FUNCTION @extschema@.shard_symbol(text, name) FROM PUBLIC;

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
