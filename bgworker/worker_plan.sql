------------------------------------------------------------------------------
-- bgworker/worker_plan.sql
-- The workers the launcher runs, now that every kind's tables exist.
------------------------------------------------------------------------------

-- The poll worker while a feed or quote source is enabled or a backfill job
-- is queued or running, one ingest worker
-- per enabled source, and the predictor while any deployment exists.  Each
-- kind is a C entry point triggerstock_<kind>_main.
CREATE VIEW triggerstock.worker_plan AS
SELECT 'poll'::text AS kind, 0 AS id
WHERE EXISTS (SELECT 1 FROM triggerstock.feeds WHERE enabled)
   OR EXISTS (SELECT 1 FROM triggerstock.quote_sources WHERE enabled)
   OR EXISTS (SELECT 1 FROM triggerstock.backfills WHERE state IN ('queued', 'running'))
UNION ALL
SELECT 'ingest', s.id FROM triggerstock.sources s WHERE s.enabled
UNION ALL
SELECT 'predictor', 1
WHERE EXISTS (SELECT 1 FROM triggerstock.deployments);
COMMENT ON VIEW triggerstock.worker_plan IS
'the dynamic background workers the launcher keeps running, one per (kind, id)';
