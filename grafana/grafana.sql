------------------------------------------------------------------------------
-- grafana/grafana.sql
-- What the dashboards in grafana/dashboards need in a triggerstock database:
-- schema grafana (two helper relations the extension does not provide) and
-- the read-only login role triggerstock_grafana with exactly the grants the
-- dashboards' queries need.  `make start` runs it; to use the dashboards on
-- your own database run it once as a superuser:
--   psql -v grafana_password="'...'" -f grafana/grafana.sql mydb
-- Idempotent.  Invariants: the role can read what the panels show and
-- nothing else (no trades' secrets table, no dead-letter payloads, no source
-- URLs), cannot write anything (read-only default transaction, no write
-- grant), and its queries stop after 10 s.
------------------------------------------------------------------------------

\set ON_ERROR_STOP on
SET client_min_messages = warning;

CREATE SCHEMA IF NOT EXISTS grafana;
COMMENT ON SCHEMA grafana IS
'helpers of the Grafana dashboards (grafana/grafana.sql): ingest counter snapshots and the training runs of pg_cron';

-- ingest_status counters live in shared memory and restart with each
-- worker; a snapshot per minute (pg_cron job triggerstock-ingest-snapshot)
-- gives the dashboards frames/s, latency, reconnects and states over time.
CREATE TABLE IF NOT EXISTS grafana.ingest_history (
    at             timestamptz NOT NULL,
    source         integer NOT NULL,
    name           text NOT NULL,
    state          text NOT NULL,
    pid            integer,
    frames         bigint NOT NULL,
    trades         bigint NOT NULL,
    dead_letters   bigint NOT NULL,
    reconnects     bigint NOT NULL,
    latency_p50_ms float8,
    latency_p99_ms float8,
    PRIMARY KEY (source, at)
);
COMMENT ON TABLE grafana.ingest_history IS
'one row per source per minute: triggerstock.ingest_status as it was (counters count since the worker''s start, pid tells workers apart); kept 7 days';

CREATE OR REPLACE FUNCTION grafana.snapshot_ingest()
RETURNS integer
LANGUAGE sql SET search_path = pg_catalog, pg_temp AS $$
    DELETE FROM grafana.ingest_history WHERE at < now() - interval '7 days';
    INSERT INTO grafana.ingest_history
    SELECT date_trunc('second', now()), s.source, s.name, s.state, s.pid, s.frames, s.trades,
           s.dead_letters, s.reconnects, s.latency_p50_ms, s.latency_p99_ms
    FROM triggerstock.ingest_status s
    ON CONFLICT DO NOTHING;
    SELECT count(*)::integer FROM triggerstock.ingest_status;
$$;
COMMENT ON FUNCTION grafana.snapshot_ingest() IS
'appends the current triggerstock.ingest_status to grafana.ingest_history and drops rows older than 7 days; returns the number of sources';

-- cron.job_run_details shows each role only its own runs (row-level
-- security); this view, owned by the superuser who runs this file, shows
-- the training runs to the dashboards.
DO $$
BEGIN
    IF to_regclass('cron.job_run_details') IS NOT NULL THEN
        EXECUTE $v$
        CREATE OR REPLACE VIEW grafana.training_runs AS
        SELECT r.runid, j.jobname, substring(r.command FROM 'train\(''([^'']*)''') AS symbol,
               r.command, r.status, r.return_message, r.start_time, r.end_time,
               extract(epoch FROM r.end_time - r.start_time) AS seconds
        FROM cron.job_run_details r
        LEFT JOIN cron.job j ON j.jobid = r.jobid
        WHERE r.command ~ 'train\('
        $v$;
    ELSE
        -- without pg_cron: the same columns, no rows
        EXECUTE $v$
        CREATE OR REPLACE VIEW grafana.training_runs AS
        SELECT NULL::bigint AS runid, NULL::text AS jobname, NULL::text AS symbol, NULL::text AS command,
               NULL::text AS status, NULL::text AS return_message, NULL::timestamptz AS start_time,
               NULL::timestamptz AS end_time, NULL::numeric AS seconds
        WHERE false
        $v$;
    END IF;
END
$$;
COMMENT ON VIEW grafana.training_runs IS
'runs of pg_cron jobs that call train(): symbol, status, message, start, end and duration in seconds';

DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'triggerstock_grafana') THEN
        CREATE ROLE triggerstock_grafana LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION;
    END IF;
END
$$;
COMMENT ON ROLE triggerstock_grafana IS
'read-only login of the Grafana data source (grafana/grafana.sql): SELECT on what the dashboards show, nothing else';
\if :{?grafana_password}
ALTER ROLE triggerstock_grafana PASSWORD :grafana_password;
\endif
ALTER ROLE triggerstock_grafana SET default_transaction_read_only = on;
ALTER ROLE triggerstock_grafana SET statement_timeout = '10s';

-- Start from nothing, then grant exactly what the panels read.
REVOKE ALL ON ALL TABLES IN SCHEMA triggerstock FROM triggerstock_grafana;
REVOKE ALL ON ALL TABLES IN SCHEMA grafana FROM triggerstock_grafana;
GRANT USAGE ON SCHEMA triggerstock, grafana TO triggerstock_grafana;
GRANT SELECT ON triggerstock.candles, triggerstock.news, triggerstock.predictions,
                triggerstock.models, triggerstock.deployments, triggerstock.deployed,
                triggerstock.latest_predictions, triggerstock.model_live_metrics,
                triggerstock.ingest_status,
                grafana.ingest_history, grafana.training_runs
    TO triggerstock_grafana;
-- feature_drift() reads the stored online rows of the served pairs (issue 13)
GRANT SELECT ON triggerstock.feature_state, triggerstock.feature_rows TO triggerstock_grafana;
-- configuration tables: the columns the panels show (no URLs, options or secrets)
GRANT SELECT (id, name, exchange, instruments, symbols, enabled) ON triggerstock.sources TO triggerstock_grafana;
GRANT SELECT (id, poll_interval, enabled, last_polled, last_status, last_error) ON triggerstock.feeds
    TO triggerstock_grafana;
GRANT SELECT (id, source, received_at, payload_bytes, error) ON triggerstock.dead_letters
    TO triggerstock_grafana;
-- ingest_status reads the workers' counters through ingest_stats() and the
-- slots in use through worker_status() (its 'no worker slot' state), neither
-- executable by PUBLIC (issue 12)
GRANT EXECUTE ON FUNCTION ingest_stats(), worker_status() TO triggerstock_grafana;
