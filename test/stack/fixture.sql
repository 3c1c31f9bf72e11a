-- test/stack/fixture.sql - what a stack has after an hour of running, for
-- the dashboard test and benchmark (test-stack.sh, test/bench/run-dashboards.sh):
-- the predictor scores each new minute, pg_cron snapshots the ingest
-- counters every minute and retrains every 20.  Adds realised model
-- predictions (features {"fixture": true}) for the 90 minutes before the
-- first live prediction, two snapshots 2 s apart (the function pg_cron
-- runs), and one recorded run of the BTC training job.
DO $$
DECLARE
    extra text := '';
    vals text := '';
BEGIN
    IF EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = 'triggerstock.predictions'::regclass
               AND attname = 'width' AND NOT attisdropped) THEN
        extra := ', width, horizon';
        vals := ', interval ''1 minute'', 1';
    END IF;
    EXECUTE format($f$
        INSERT INTO triggerstock.predictions (symbol, bucket, probability, model_id, model_sha256,
               fallback_level, features, latency_us, predicted_at, outcome, outcome_at %s)
        SELECT d.symbol, c.bucket, 0.5 + 0.05 * sin(extract(epoch FROM c.bucket) / 600), d.model_id, d.sha256,
               'model', '{"fixture": true}', 900, c.bucket + interval '61 seconds', n.close > c.close,
               c.bucket + interval '121 seconds' %s
        FROM triggerstock.deployed d
        JOIN LATERAL (SELECT * FROM triggerstock.candles k WHERE k.symbol = d.symbol AND k.width = '1 minute'
                      AND k.bucket < (SELECT min(bucket) FROM triggerstock.predictions p WHERE p.symbol = d.symbol)
                      ORDER BY k.bucket DESC LIMIT 90) c ON true
        JOIN triggerstock.candles n ON n.symbol = c.symbol AND n.width = c.width AND n.bucket = c.bucket + interval '1 minute'
        ON CONFLICT DO NOTHING$f$, extra, vals);
END
$$;
SELECT grafana.snapshot_ingest();
SELECT pg_sleep(2);
SELECT grafana.snapshot_ingest();
INSERT INTO cron.job_run_details (jobid, runid, job_pid, database, username, command, status,
                                  return_message, start_time, end_time)
SELECT j.jobid, nextval('cron.runid_seq'), 0, j.database, j.username, j.command, 'succeeded', '1 row',
       now() - interval '5 minutes', now() - interval '5 minutes' + interval '1.7 seconds'
FROM cron.job j WHERE j.jobname = 'triggerstock-train-BTC';
