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
