--
-- Decisions and signals (issue 15): signal_rules and their constraints,
-- the decisions signals_record() takes (abstain band, cooldown, fallback
-- levels, return forecasts, one decision per rule and bucket), and
-- backtest(): its refusals (look-ahead into the training rows), and its
-- figures against an independent recomputation in plain SQL on the real
-- ETH candles of ../shared/data/candles (the model's scores through
-- predict(symbol, features), positions, fees, PnL, Sharpe, drawdown and
-- turnover with window functions).  The NOTIFY of each signal is checked
-- by test/t/055_signals.pl (a second connection listens).
--
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS triggerstock CASCADE;
CREATE EXTENSION triggerstock;
SET TimeZone = 'UTC';
SET client_min_messages = notice;
\getenv abs_srcdir PG_ABS_SRCDIR
\set shared :abs_srcdir '/../shared'
\set QUIET on
\set load_file :abs_srcdir '/test/sql/load_candles.sql'
\i :load_file
\set QUIET off
SELECT symbol, count(*), min(bucket), max(bucket) FROM triggerstock.candles GROUP BY 1 ORDER BY 1;

-- hostile rule rows: each refused by a constraint (terse: the failing row shows created_at)
\set VERBOSITY terse
INSERT INTO triggerstock.signal_rules (symbol, long_above, short_below) VALUES (NULL, 0.6, 0.4);
INSERT INTO triggerstock.signal_rules (symbol, long_above, short_below) VALUES ('', 0.6, 0.4);
INSERT INTO triggerstock.signal_rules (symbol, long_above, short_below) VALUES (repeat('x', 64), 0.6, 0.4);
INSERT INTO triggerstock.signal_rules (symbol, long_above, short_below) VALUES ('SIG', NULL, 0.4);
INSERT INTO triggerstock.signal_rules (symbol, long_above, short_below) VALUES ('SIG', 'NaN', 0.4);
INSERT INTO triggerstock.signal_rules (symbol, long_above, short_below) VALUES ('SIG', 0.6, 'NaN');
INSERT INTO triggerstock.signal_rules (symbol, target, long_above, short_below) VALUES ('SIG', 'return', 'Infinity', 0);
INSERT INTO triggerstock.signal_rules (symbol, target, long_above, short_below) VALUES ('SIG', 'return', 0, '-Infinity');
INSERT INTO triggerstock.signal_rules (symbol, long_above, short_below) VALUES ('SIG', 0.4, 0.6);
INSERT INTO triggerstock.signal_rules (symbol, long_above, short_below) VALUES ('SIG', 1.2, 0.4);
INSERT INTO triggerstock.signal_rules (symbol, long_above, short_below) VALUES ('SIG', 0.6, -0.1);
INSERT INTO triggerstock.signal_rules (symbol, target, long_above, short_below) VALUES ('SIG', 'volatility', 0.6, 0.4);
INSERT INTO triggerstock.signal_rules (symbol, target, long_above, short_below) VALUES ('SIG', NULL, 0.6, 0.4);
INSERT INTO triggerstock.signal_rules (symbol, long_above, short_below, cooldown) VALUES ('SIG', 0.6, 0.4, '-1 minute');
INSERT INTO triggerstock.signal_rules (symbol, long_above, short_below, cooldown) VALUES ('SIG', 0.6, 0.4, '1 day -25 hours');
INSERT INTO triggerstock.signal_rules (symbol, long_above, short_below, cooldown) VALUES ('SIG', 0.6, 0.4, '400 days');
INSERT INTO triggerstock.signal_rules (symbol, long_above, short_below, cooldown) VALUES ('SIG', 0.6, 0.4, NULL);
INSERT INTO triggerstock.signal_rules (symbol, long_above, short_below, enabled) VALUES ('SIG', 0.6, 0.4, NULL);
INSERT INTO triggerstock.signal_rules (symbol, long_above, short_below, models_only) VALUES ('SIG', 0.6, 0.4, NULL);
\set VERBOSITY default
SELECT count(*) AS rules_after_hostile_rows FROM triggerstock.signal_rules;
SELECT setval('triggerstock.signal_rules_id_seq', 1, false) IS NOT NULL AS ids_from_1;

-- the rules of the decisions below
INSERT INTO triggerstock.signal_rules (symbol, long_above, short_below, cooldown)
VALUES ('SIG', 0.6, 0.4, '3 minutes');                                      -- A: band, cooldown
INSERT INTO triggerstock.signal_rules (symbol, long_above, short_below, models_only)
VALUES ('SIG', 0.55, 0.45, false);                                          -- B: decides on fallbacks too
INSERT INTO triggerstock.signal_rules (symbol, long_above, short_below, enabled)
VALUES ('SIG', 0.5, 0.5, false);                                            -- C: disabled
INSERT INTO triggerstock.signal_rules (symbol, target, long_above, short_below)
VALUES ('SIG', 'return', 0.001, -0.001);                                    -- D: return forecasts
SELECT id, symbol, target, long_above, short_below, cooldown, models_only, enabled
FROM triggerstock.signal_rules ORDER BY id;
-- an UPDATE is held to the same constraints
\set VERBOSITY terse
UPDATE triggerstock.signal_rules SET long_above = 'NaN' WHERE id = 1;
UPDATE triggerstock.signal_rules SET short_below = 0.9 WHERE id = 1;
UPDATE triggerstock.signal_rules SET cooldown = '-1 second' WHERE id = 1;
\set VERBOSITY default

-- predictions as the predictor writes them (SIG has no deployment: no worker touches it)
INSERT INTO triggerstock.predictions (symbol, width, horizon, target, bucket, probability, forecast,
                                      model_id, model_sha256, fallback_level)
VALUES ('SIG', '1 minute', 1, 'direction', '2024-01-01 00:00+00', 0.70, NULL, 7, 'aa', 'model'),
       ('SIG', '1 minute', 1, 'direction', '2024-01-01 00:01+00', 0.65, NULL, 7, 'aa', 'model'),
       ('SIG', '1 minute', 1, 'direction', '2024-01-01 00:02+00', 0.50, NULL, 7, 'aa', 'model'),
       ('SIG', '1 minute', 1, 'direction', '2024-01-01 00:03+00', 0.30, NULL, 7, 'aa', 'model'),
       ('SIG', '1 minute', 1, 'direction', '2024-01-01 00:04+00', 0.35, NULL, NULL, NULL, 'rules'),
       ('SIG', '1 minute', 1, 'direction', '2024-01-01 00:05+00', NULL, NULL, NULL, NULL, 'abstain'),
       ('SIG', '1 minute', 1, 'direction', '2024-01-01 00:06+00', 0.60, NULL, 7, 'aa', 'model'),
       ('SIG', '1 minute', 1, 'direction', '2024-01-01 00:07+00', 0.10, NULL, 7, 'aa', 'model'),
       ('SIG', '1 minute', 5, 'return', '2024-01-01 00:00+00', NULL, 0.002, 8, 'bb', 'model'),
       ('SIG', '1 minute', 5, 'return', '2024-01-01 00:01+00', NULL, -0.0005, 8, 'bb', 'model'),
       ('SIG', '1 minute', 5, 'return', '2024-01-01 00:02+00', NULL, -0.003, NULL, NULL, 'last_score');
SELECT p.bucket, p.target, signals_record('SIG', p.width, p.horizon, p.target, p.bucket) AS recorded
FROM triggerstock.predictions p WHERE p.symbol = 'SIG' ORDER BY p.target, p.bucket;
-- A: long, then none (cooldown: 1 minute after its long), band, short (3 minutes after
-- the long: the cooldown is over), fallback (rules level), no_answer, band (0.60 is not
-- above 0.60), short (4 minutes after its short: the cooldown is over); B: decides
-- on every level but abstain;
-- C: nothing; D: long, band, fallback
SELECT rule_id, bucket, target, decision, reason, probability, forecast, model_id, model_sha256, fallback_level,
       width, horizon
FROM triggerstock.signals ORDER BY rule_id, bucket;
-- a bucket is decided once per rule: again, nothing
SELECT signals_record('SIG', '1 minute', 1, 'direction', '2024-01-01 00:00+00') AS again,
       signals_record('SIG', '1 minute', 1, 'direction', '2030-01-01 00:00+00') AS no_prediction;
SELECT count(*) AS signals FROM triggerstock.signals;
-- a rule row past its constraints (dropped by the owner) is skipped, never decided on
BEGIN;
ALTER TABLE triggerstock.signal_rules DROP CONSTRAINT signal_rules_band_ordered;
UPDATE triggerstock.signal_rules SET long_above = 0.2, short_below = 0.8 WHERE id = 1;
INSERT INTO triggerstock.predictions (symbol, width, horizon, target, bucket, probability, model_id, model_sha256, fallback_level)
VALUES ('SIG', '1 minute', 1, 'direction', '2024-01-01 00:30+00', 0.5, 7, 'aa', 'model');
SELECT signals_record('SIG', '1 minute', 1, 'direction', '2024-01-01 00:30+00') AS recorded_by_b_only;
SELECT rule_id, decision, reason FROM triggerstock.signals WHERE bucket = '2024-01-01 00:30+00';
ROLLBACK;
-- a deleted rule leaves its signals, without a rule
DELETE FROM triggerstock.signal_rules WHERE id = 2;
SELECT rule_id, count(*) FROM triggerstock.signals GROUP BY 1 ORDER BY 1;
-- who may do what
SELECT has_function_privilege('triggerstock_reader', 'signals_record(text, interval, integer, text, timestamptz)', 'EXECUTE') AS reader_records,
       has_function_privilege('triggerstock_reader', 'backtest(bigint, timestamptz, timestamptz, float8, float8)', 'EXECUTE') AS reader_backtests,
       has_table_privilege('triggerstock_admin', 'triggerstock.signal_rules', 'INSERT') AS admin_writes_rules,
       has_table_privilege('triggerstock_admin', 'triggerstock.signals', 'INSERT') AS admin_writes_signals,
       has_table_privilege('triggerstock_reader', 'triggerstock.signals', 'SELECT') AS reader_reads_signals;
DELETE FROM triggerstock.predictions;
DELETE FROM triggerstock.signals;

-- backtest: models on the ETH candles (direction horizon 1 and 5, return, volatility)
SET client_min_messages = warning;
SELECT train('ETH', params => '{"num_boost_round": 30, "max_depth": 3}') AS m1 \gset
SELECT train('ETH', horizon => 5, params => '{"num_boost_round": 30, "max_depth": 3}') AS m5 \gset
SELECT train('ETH', target => 'return', params => '{"num_boost_round": 30, "max_depth": 3}') AS mr \gset
SELECT train('ETH', target => 'volatility', params => '{"num_boost_round": 10, "max_depth": 2}') AS mv \gset
RESET client_min_messages;
SELECT id = :m1 AS m1, horizon, target, train_from, train_to, test_from, test_to
FROM triggerstock.models WHERE id IN (:m1, :m5) ORDER BY id;
SELECT test_from AS t_from, test_to AS t_to, train_to AS tr_to, train_from AS tr_from
FROM triggerstock.models WHERE id = :m1 \gset

-- refusals: look-ahead (a range overlapping the training rows), before the test
-- window, an empty range, NULLs, a fee or threshold out of range, a volatility model,
-- no such model, no deployment
SELECT backtest(:m1, :'tr_from', :'t_to');
SELECT backtest(:m1, :'tr_to', :'t_to');
SELECT backtest(:m1, :'t_from'::timestamptz - interval '1 minute', :'t_to');
SELECT backtest(:m1, '2017-09-01', '2017-09-02');
SELECT backtest(:m1, :'t_to', :'t_from');
SELECT backtest(:m1, :'t_from', 'infinity');
SELECT backtest(NULL::bigint, :'t_from', :'t_to');
SELECT backtest(:m1, NULL, :'t_to');
SELECT backtest(:m1, :'t_from', :'t_to', fee_bps => NULL);
SELECT backtest(:m1, :'t_from', :'t_to', fee_bps => -1);
SELECT backtest(:m1, :'t_from', :'t_to', fee_bps => 'NaN');
SELECT backtest(:m1, :'t_from', :'t_to', threshold => 0.4);
SELECT backtest(:m1, :'t_from', :'t_to', threshold => 1);
SELECT backtest(:m1, :'t_from', :'t_to', threshold => 'NaN');
SELECT backtest(:mr, :'t_from', :'t_to', threshold => -0.1);
SELECT backtest(:mv, :'t_from', :'t_to');
SELECT backtest(999999, :'t_from', :'t_to');
SELECT backtest('NOPE', :'t_from', :'t_to');
SELECT backtest('ETH', :'t_from', :'t_to', target => 'volatility');

-- the figures against an independent recomputation: the model's scores through
-- predict(symbol, features) (the deployed model on the row's features as float32),
-- positions, returns, fees and statistics with window functions
CREATE FUNCTION pg_temp.recompute(m bigint, f timestamptz, t timestamptz, fee_bps float8, thr float8)
RETURNS TABLE (strategy text, periods bigint, trades bigint, hits bigint, false_signals bigint,
               hit_rate float8, false_signal_rate float8, gross_pnl float8, fees float8, pnl float8,
               sharpe float8, max_drawdown float8, turnover float8)
LANGUAGE sql AS $$
WITH mdl AS (
    SELECT id, symbol, width, horizon, features FROM triggerstock.models WHERE id = m
), rows AS (
    SELECT row_number() OVER (ORDER BY r.bucket) - 1 AS i, r.bucket, r.close, to_jsonb(r) AS j
    FROM mdl, features(mdl.symbol, mdl.width, f) r
    WHERE r.bucket >= f AND r.bucket <= last_complete_bucket(mdl.symbol, mdl.width)
), scored AS (
    SELECT x.i, x.bucket, x.close,
           lead(x.close, mdl.horizon) OVER (ORDER BY x.i) AS close_ahead,
           predict(mdl.symbol, ARRAY(SELECT (x.j ->> n)::real::float8
                                     FROM unnest(mdl.features) WITH ORDINALITY u(n, k) ORDER BY k)) AS p,
           0.5 + 0.05 * tanh((50 - (x.j ->> 'rsi_14')::real::float8) / 10)
               + 0.05 * tanh((x.j ->> 'macd_hist')::real::float8 / 0.0005) AS rules,
           mdl.horizon
    FROM rows x, mdl
), periods AS (
    SELECT s.bucket, ln(s.close_ahead / s.close) AS r, s.p, s.rules, s.horizon
    FROM scored s
    WHERE s.i % s.horizon = 0 AND s.bucket <= t AND s.close_ahead IS NOT NULL
), positions AS (
    SELECT v.strategy, q.bucket, q.r, v.pos, q.horizon
    FROM periods q,
         LATERAL (VALUES ('model', CASE WHEN q.p > thr THEN 1 WHEN q.p < 1 - thr THEN -1 ELSE 0 END),
                         ('buy_and_hold', 1),
                         ('rules', CASE WHEN q.rules > thr THEN 1 WHEN q.rules < 1 - thr THEN -1 ELSE 0 END)) v(strategy, pos)
), steps AS (
    SELECT z.*, z.pos * z.r AS g,
           abs(z.pos - coalesce(lag(z.pos) OVER w, 0))
             + CASE WHEN z.bucket = max(z.bucket) OVER (PARTITION BY z.strategy) THEN abs(z.pos) ELSE 0 END AS change
    FROM positions z WINDOW w AS (PARTITION BY z.strategy ORDER BY z.bucket)
), curve AS (
    SELECT y.*, y.g - fee_bps / 10000 * y.change AS p,
           sum(y.g - fee_bps / 10000 * y.change) OVER w AS cum
    FROM steps y WINDOW w AS (PARTITION BY y.strategy ORDER BY y.bucket)
), dd AS (
    SELECT c.*, greatest(0, max(c.cum) OVER (PARTITION BY c.strategy ORDER BY c.bucket)) - c.cum AS drawdown
    FROM curve c
)
SELECT d.strategy, count(*), count(*) FILTER (WHERE d.pos <> 0), count(*) FILTER (WHERE d.g > 0),
       count(*) FILTER (WHERE d.g < 0),
       count(*) FILTER (WHERE d.g > 0)::float8 / nullif(count(*) FILTER (WHERE d.pos <> 0), 0),
       count(*) FILTER (WHERE d.g < 0)::float8 / nullif(count(*) FILTER (WHERE d.pos <> 0), 0),
       sum(d.g), sum(fee_bps / 10000 * d.change), sum(d.p),
       avg(d.p) / nullif(stddev_samp(d.p), 0) * sqrt(365 * 1440 / max(d.horizon)::float8),
       max(d.drawdown), sum(d.change)
FROM dd d GROUP BY d.strategy
$$;
-- every field of every strategy, backtest() beside the recomputation: mismatches listed
CREATE FUNCTION pg_temp.compare(b jsonb, m bigint, f timestamptz, t timestamptz, fee_bps float8, thr float8)
RETURNS TABLE (strategy text, field text, backtest float8, recomputed float8)
LANGUAGE sql AS $$
SELECT r.strategy, k.key, (b -> r.strategy ->> k.key)::float8, (to_jsonb(r) ->> k.key)::float8
FROM pg_temp.recompute(m, f, t, fee_bps, thr) r,
     LATERAL jsonb_each(to_jsonb(r) - 'strategy') k
WHERE NOT (abs((b -> r.strategy ->> k.key)::float8 - (to_jsonb(r) ->> k.key)::float8)
               <= 1e-9 * greatest(1, abs((to_jsonb(r) ->> k.key)::float8))
           OR (b -> r.strategy ->> k.key) IS NULL AND (to_jsonb(r) ->> k.key) IS NULL)
   OR (b -> r.strategy ->> k.key) IS NULL <> ((to_jsonb(r) ->> k.key) IS NULL)
ORDER BY 1, 2
$$;

-- horizon 1 on the test window, default fee and threshold (0.5)
SELECT backtest(:m1, :'t_from', :'t_to') AS b1 \gset
SELECT :'b1'::jsonb - ARRAY['model', 'buy_and_hold', 'rules', 'false_signal_rate_vs_rules'] AS header;
SELECT s AS strategy, (:'b1'::jsonb -> s ->> 'periods')::int > 400 AS many_periods,
       (:'b1'::jsonb -> s ->> 'trades')::int > 0 AS trades
FROM unnest(ARRAY['model', 'buy_and_hold', 'rules']) s;
SELECT count(*) AS fields_compared FROM pg_temp.recompute(:m1, :'t_from', :'t_to', 10, 0.5) r,
       jsonb_each(to_jsonb(r) - 'strategy');
SELECT * FROM pg_temp.compare(:'b1', :m1, :'t_from', :'t_to', 10, 0.5);
SELECT abs((:'b1'::jsonb ->> 'false_signal_rate_vs_rules')::float8
           - ((:'b1'::jsonb -> 'model' ->> 'false_signal_rate')::float8
              - (:'b1'::jsonb -> 'rules' ->> 'false_signal_rate')::float8)) < 1e-12 AS vs_rules_is_difference;
-- the check can fail: the same figures against a recomputation with another fee
SELECT strategy, field FROM pg_temp.compare(:'b1', :m1, :'t_from', :'t_to', 5, 0.5);
-- a band (threshold 0.52), no fee, the second half of the test window only
SELECT (:'t_from'::timestamptz + (:'t_to'::timestamptz - :'t_from'::timestamptz) / 2) AS half \gset
SELECT backtest(:m1, :'half', :'t_to', 0, 0.52) AS b2 \gset
SELECT * FROM pg_temp.compare(:'b2', :m1, :'half', :'t_to', 0, 0.52);
SELECT (:'b2'::jsonb -> 'model' ->> 'trades')::int < (:'b2'::jsonb -> 'model' ->> 'periods')::int AS band_abstains,
       (:'b2'::jsonb -> 'model' ->> 'fees')::float8 = 0 AS no_fees;
-- horizon 5: periods of five rows (deploy it: predict(symbol, features) scores the deployed model)
SELECT test_from AS t5_from, test_to AS t5_to FROM triggerstock.models WHERE id = :m5 \gset
SELECT deploy(:m5) = :m5 AS deployed_m5;
SELECT backtest(:m5, :'t5_from', :'t5_to', 2.5, 0.5) AS b5 \gset
SELECT * FROM pg_temp.compare(:'b5', :m5, :'t5_from', :'t5_to', 2.5, 0.5);
SELECT (:'b5'::jsonb -> 'buy_and_hold' ->> 'periods')::int * 5 <= (SELECT count(*) FROM features('ETH', '1 minute', :'t5_from') f
                                                                  WHERE f.bucket >= :'t5_from') AS five_rows_each;
-- the overload taking a symbol backtests its deployed model (now m5)
SELECT backtest('ETH', :'t5_from', :'t5_to', 2.5, 0.5) = :'b5'::jsonb AS same_as_deployed;
-- a return model: long above the threshold, short below its negative; same periods as
-- buy-and-hold
SELECT test_from AS tr_from2, test_to AS tr_to2 FROM triggerstock.models WHERE id = :mr \gset
SELECT backtest(:mr, :'tr_from2', :'tr_to2', 10, 0.0001) AS br \gset
SELECT :'br'::jsonb ->> 'target' AS target, :'br'::jsonb ->> 'threshold' AS threshold,
       :'br'::jsonb ->> 'rules_threshold' AS rules_threshold,
       (:'br'::jsonb -> 'model' ->> 'periods') = (:'br'::jsonb -> 'buy_and_hold' ->> 'periods') AS same_periods,
       (:'br'::jsonb -> 'model' ->> 'trades')::int <= (:'br'::jsonb -> 'model' ->> 'periods')::int AS trades_bounded;
-- its buy-and-hold and rules baseline (threshold 0.5 for a return model) recomputed
SELECT * FROM pg_temp.compare(:'br', :mr, :'tr_from2', :'tr_to2', 10, 0.5) WHERE strategy <> 'model';
-- a range after the data: no periods, figures null or zero
SELECT backtest(:m1, '2030-01-01', '2030-01-02') -> 'model' AS empty;
