-- test/stack/status.sql - the stack's one-line live status (make status and
-- the progress line of make start): trades/s over the last 10 s, 1-minute
-- candles stored, per symbol its latest close and latest prediction with
-- the fallback level, news items, and the ingest workers' states.
-- Cheap at any history length: index probes per symbol only.
WITH syms AS (
    SELECT DISTINCT sym FROM triggerstock.sources s, unnest(s.symbols) sym WHERE s.enabled
), per AS (
    SELECT y.sym,
           (SELECT count(*) FROM triggerstock.trades t
             WHERE t.symbol = y.sym AND t.ts > now() - interval '10 seconds') AS recent,
           (SELECT c.close FROM triggerstock.candles c
             WHERE c.symbol = y.sym AND c.width = interval '1 minute'
             ORDER BY c.bucket DESC LIMIT 1) AS close,
           (SELECT p FROM triggerstock.predictions p
             WHERE p.symbol = y.sym ORDER BY p.bucket DESC LIMIT 1) AS p
    FROM syms y
)
SELECT format('%s trades/s | %s candles | %s | %s news | ingest %s',
              to_char(coalesce((SELECT sum(recent) FROM per), 0) / 10.0, 'FM999990.0'),
              (SELECT count(*) FROM triggerstock.candles WHERE width = interval '1 minute'),
              coalesce((SELECT string_agg(format('%s %s p(up)=%s [%s]', sym,
                                                 coalesce(to_char(close, 'FM9999999990.00'), '-'),
                                                 coalesce(to_char((p).probability, 'FM0.000'), '-'),
                                                 coalesce((p).fallback_level, 'none yet')),
                                          ' | ' ORDER BY sym) FROM per), 'no sources'),
              (SELECT count(*) FROM triggerstock.news),
              coalesce((SELECT string_agg(state || ' ' || n, ', ')
                          FROM (SELECT state, count(*) AS n FROM triggerstock.ingest_status
                                 GROUP BY state ORDER BY state) st), 'no sources'));
