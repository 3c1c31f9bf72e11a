-- Shared benchmark helpers, loaded by every test/bench/*.sql script.
--
-- bench_best_ms(query, reps): runs query once to warm up, then reps times,
-- and returns the best wall time in milliseconds; every timing is in this
-- session, so ours and the baseline see the same server, cache and settings.
-- Queries must consume their results (e.g. sum() over the output columns):
-- the planner drops subquery outputs nobody reads.
CREATE OR REPLACE FUNCTION pg_temp.bench_best_ms(query text, reps int DEFAULT 3)
RETURNS float8 LANGUAGE plpgsql AS $$
DECLARE
    best float8 := 'Infinity';
    t0   timestamptz;
BEGIN
    EXECUTE query;
    FOR i IN 1..reps LOOP
        t0 := clock_timestamp();
        EXECUTE query;
        best := least(best, extract(epoch FROM clock_timestamp() - t0) * 1000);
    END LOOP;
    RETURN best;
END
$$;

-- bench_result: one row per case, printed by bench_report()
CREATE TEMP TABLE bench_result (
    seq      serial,
    bench    text,
    name     text,
    rows     bigint,
    ours_ms  float8,
    base_ms  float8,
    target   text
);

-- bench_case(bench, name, rows, ours, baseline, target [, reps]): time both
-- (best of reps after a warm-up), record.  target is 'ratio<=X'
-- (ours/baseline at most X) or 'speedup>=X' (baseline/ours at least X).
CREATE OR REPLACE FUNCTION pg_temp.bench_case(bench text, name text, nrows bigint,
                                              ours text, baseline text, target text,
                                              reps int DEFAULT 3)
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO bench_result (bench, name, rows, ours_ms, base_ms, target)
    VALUES (bench, name, nrows, pg_temp.bench_best_ms(ours, reps),
            pg_temp.bench_best_ms(baseline, reps), target);
END
$$;

CREATE OR REPLACE VIEW pg_temp.bench_report AS
SELECT bench, name AS "case", rows, round(ours_ms::numeric, 1) AS ours_ms,
       round(base_ms::numeric, 1) AS baseline_ms,
       round((ours_ms / base_ms)::numeric, 3) AS ratio,
       round((base_ms / ours_ms)::numeric, 1) AS speedup,
       target,
       CASE WHEN target LIKE 'ratio<=%' THEN
                CASE WHEN ours_ms / base_ms <= substr(target, 8)::float8 THEN 'met' ELSE 'MISSED' END
            WHEN target LIKE 'speedup>=%' THEN
                CASE WHEN base_ms / ours_ms >= substr(target, 10)::float8 THEN 'met' ELSE 'MISSED' END
       END AS verdict
FROM bench_result ORDER BY seq;
