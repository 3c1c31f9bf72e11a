-- test/stack/setup.sql - the stack's database objects (make start), run as
-- the superuser on every start; idempotent.  psql variables: retention (the
-- trade retention interval), grafana_password (quoted literal).
--   extensions pg_cron and triggerstock (updated to the installed version),
--   grafana/grafana.sql (the dashboards' helpers and read-only role),
--   pg_cron jobs: retrain BTC and ETH every 20 minutes, snapshot the ingest
--   counters every minute for Grafana, daily trade retention and pruning
--   of pg_cron's own run history.
\set ON_ERROR_STOP on
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_cron;
CREATE EXTENSION IF NOT EXISTS triggerstock;
ALTER EXTENSION triggerstock UPDATE;
\ir ../../grafana/grafana.sql

-- cron.schedule(name, ...) replaces a job of the same name: re-running is safe
SELECT count(cron.schedule('triggerstock-train-' || s, '*/20 * * * *', format('SELECT train(%L)', s))) AS train_jobs
FROM unnest(ARRAY['BTC', 'ETH']) s;
SELECT cron.schedule('triggerstock-ingest-snapshot', '* * * * *', 'SELECT grafana.snapshot_ingest()') AS snapshot_job;
SELECT cron.schedule('triggerstock-retention', '17 3 * * *',
                     format('SELECT count(*) FROM retention(%L)', :'retention')) AS retention_job;
SELECT cron.schedule('triggerstock-cron-history', '23 3 * * *',
                     $$DELETE FROM cron.job_run_details WHERE end_time < now() - interval '7 days'$$) AS history_job;
