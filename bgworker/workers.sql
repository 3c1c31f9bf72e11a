------------------------------------------------------------------------------
-- bgworker/workers.sql
-- Background workers: the configuration trigger that wakes the launcher and
-- workers, and worker_status().  worker_plan is defined last (worker_plan.sql)
-- because it reads the tables of every kind of worker.
------------------------------------------------------------------------------

CREATE FUNCTION @extschema@.config_changed()
RETURNS trigger AS 'MODULE_PATHNAME', 'config_changed'
LANGUAGE C;
COMMENT ON FUNCTION @extschema@.config_changed() IS
'statement trigger of configuration tables: sends a relcache invalidation at commit so that the launcher and workers re-read their configuration';


CREATE FUNCTION @extschema@.worker_status()
RETURNS TABLE (kind text, id integer, pid integer, state text, state_since timestamptz,
               started_at timestamptz, starts integer)
AS 'MODULE_PATHNAME', 'worker_status'
LANGUAGE C STRICT VOLATILE;
COMMENT ON FUNCTION @extschema@.worker_status() IS
'the launcher''s dynamic workers: kind, id, pid (NULL while stopped), state, when it entered it, last start and number of starts; needs shared_preload_libraries';
