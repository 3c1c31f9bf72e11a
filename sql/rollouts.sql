--
-- Rollouts (issue 15): shadow candidates beside the live model, the
-- promotion rule and its decisions, on models trained on the real ETH
-- candles of ../shared/data/candles/crypto.  No predictor runs in this
-- database: the candidate's scores are written here by hand, so that every
-- figure of a decision is known; test/t/058_rollouts.pl has the predictor
-- score them on real candles fed over time.
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
SET client_min_messages = warning;
SELECT train('ETH', params => '{"num_boost_round": 10, "max_depth": 2}') AS m1 \gset
SELECT train('ETH', params => '{"num_boost_round": 10, "max_depth": 3}') AS m2 \gset
SELECT train('ETH', params => '{"num_boost_round": 10, "max_depth": 4}') AS m3 \gset
SELECT train('ETH', horizon => 5, params => '{"num_boost_round": 10, "max_depth": 2}') AS m5 \gset
SELECT train('ETH', target => 'return', params => '{"num_boost_round": 10, "max_depth": 2}') AS mr \gset
SET client_min_messages = notice;
-- the live model: the latest live row (whatever train() chose: make it m1)
SELECT deploy(:m1) = :m1 AS m1_live;

-- refusals
SELECT deploy(:m2, mode => 'bogus');
SELECT deploy(:m2, mode => NULL);
SELECT deploy(:m2, mode => 'canary');
SELECT deploy(:m2, mode => 'shadow', fraction => 0.5);
SELECT deploy(:m2, mode => 'canary', fraction => 0);
SELECT deploy(:m2, mode => 'canary', fraction => 1);
SELECT deploy(:m2, mode => 'canary', fraction => 'NaN');
SELECT deploy(999999, mode => 'shadow');
SELECT deploy(:m1, mode => 'shadow');
SELECT deploy(:m5, mode => 'shadow');
SELECT retire('ETH');
SELECT retire('ETH', 'volatility');
-- (terse: the rows refused carry ids and times)
\set VERBOSITY terse
INSERT INTO triggerstock.rollout_rules (symbol, min_outcomes) VALUES ('ETH', 0);
INSERT INTO triggerstock.rollout_rules (symbol, min_outcomes, max_outcomes) VALUES ('ETH', 10, 9);
INSERT INTO triggerstock.rollout_rules (symbol, min_improvement) VALUES ('ETH', 1);
INSERT INTO triggerstock.rollout_rules (symbol, baseline_margin) VALUES ('ETH', -0.1);
INSERT INTO triggerstock.rollout_rules (symbol, target) VALUES ('ETH', 'price');
INSERT INTO triggerstock.deployments (symbol, model_id, strategy, mode) VALUES ('ETH', :m2, 'model_id', 'ghost');
INSERT INTO triggerstock.deployments (symbol, model_id, strategy, mode, fraction) VALUES ('ETH', :m2, 'model_id', 'shadow', 0.1);
INSERT INTO triggerstock.deployments (symbol, model_id, strategy, mode) VALUES ('ETH', :m2, 'model_id', 'canary');
INSERT INTO triggerstock.deployments (symbol, model_id, strategy, mode, metrics) VALUES ('ETH', :m2, 'model_id', 'shadow', '[1]');
INSERT INTO triggerstock.predictions (symbol, bucket, probability, fallback_level, width, horizon, mode)
VALUES ('ETH', '2017-09-05', 0.5, 'rules', '1 minute', 1, 'ghost');
\set VERBOSITY default

-- a shadow candidate: beside the live model, never served
SELECT deploy(:m2, mode => 'shadow') = :m2 AS shadow_m2;
SELECT model_id = :m2 AS is_m2, mode, fraction, width, horizon, target FROM triggerstock.rollout_candidates;
SELECT model_id = :m1 AS live_is_m1 FROM triggerstock.deployed WHERE symbol = 'ETH' AND target = 'direction';
SELECT (predict_explain('ETH') ->> 'model_id')::bigint = :m1 AS serves_m1;
SELECT n, loss, n_paired, decision, min_outcomes, max_outcomes, min_improvement, baseline_margin, enabled
FROM triggerstock.rollout_status;
-- a second candidate replaces the first; retire() ends it; then none
SELECT deploy(:m3, mode => 'shadow') = :m3 AS shadow_m3;
SELECT model_id = :m3 AS is_m3 FROM triggerstock.rollout_candidates;
SELECT retire('ETH') = :m3 AS retired_m3;
SELECT count(*) FROM triggerstock.rollout_candidates;
SELECT retire('ETH');
-- deploying the candidate live by hand ends its candidacy
SELECT deploy(:m2, mode => 'shadow') = :m2 AS shadow_m2;
SELECT deploy(:m2, mode => 'live') = :m2 AS live_m2;
SELECT count(*) FROM triggerstock.rollout_candidates;
-- deploy(symbol, 'rollback') goes back to the previous live model, never a
-- candidate row; a new live deployment ends the candidacy (a candidate is
-- judged against the live model it was deployed beside)
SELECT deploy(:m3, mode => 'shadow') = :m3 AS shadow_m3;
SELECT deploy('ETH', 'rollback') = :m1 AS rolled_back_to_m1;
SELECT count(*) FROM triggerstock.rollout_candidates;
SELECT (predict_explain('ETH') ->> 'model_id')::bigint = :m1 AS serves_m1;
SELECT deploy(:m3, mode => 'shadow') = :m3 AS shadow_m3;
-- a regression candidate of the return target is another (symbol, target)
SELECT deploy(:mr, mode => 'shadow');

-- the rule on known scores: live m1 and shadow m3, ten realised buckets
-- each (the predictions key has the mode: the same bucket twice)
INSERT INTO triggerstock.rollout_rules (symbol, min_outcomes, max_outcomes, min_improvement, baseline_margin)
VALUES ('ETH', 10, 20, 0.1, 0.02);
CREATE TEMP TABLE scores AS
SELECT timestamptz '2017-09-05 00:00' + i * interval '1 minute' AS bucket, i % 3 = 0 AS outcome,
       0.4 AS live_p, CASE WHEN i % 3 = 0 THEN 0.2 ELSE 0.7 END AS shadow_p
FROM generate_series(1, 10) i;
INSERT INTO triggerstock.predictions (symbol, bucket, probability, model_id, model_sha256, fallback_level,
                                      width, horizon, mode, outcome, outcome_at, predicted_at)
SELECT 'ETH', s.bucket, v.p, m.id, m.sha256, 'model', '1 minute', 1, v.mode,
       CASE WHEN s.bucket < '2017-09-05 00:10' THEN s.outcome END, now(), now()
FROM scores s
CROSS JOIN LATERAL (VALUES ('live', s.live_p, :m1), ('shadow', s.shadow_p, :m3)) v(mode, p, id)
JOIN triggerstock.models m ON m.id = v.id;
-- nine realised: wait
SELECT n, n_paired, decision FROM triggerstock.rollout_status;
SELECT * FROM rollout_evaluate();
-- the predictions key has the mode; the last score is the live one's
SELECT mode, count(*) FROM triggerstock.predictions GROUP BY 1 ORDER BY 1;
SELECT model_id = :m1 AS is_m1, probability FROM triggerstock.latest_predictions;
SELECT mode, n, round(log_loss::numeric, 12) AS log_loss FROM triggerstock.model_live_metrics ORDER BY mode;
UPDATE triggerstock.predictions SET outcome = false WHERE bucket = '2017-09-05 00:10';
-- ten: the shadow is worse than its baseline (training base rate) by more than 0.02: rollback
SELECT n, round(loss::numeric, 12) AS loss,
       round(loss::numeric, 12) = round((-(3 * ln(0.2) + 7 * ln(0.3)) / 10)::numeric, 12) AS loss_by_hand,
       round(baseline_loss::numeric, 12) = (SELECT round((-(3 * ln(br) + 7 * ln(1 - br)) / 10)::numeric, 12)
                                            FROM (SELECT (metrics ->> 'train_base_rate')::float8 AS br
                                                  FROM triggerstock.models WHERE id = :m3) b) AS baseline_by_hand,
       n_paired, round(live_loss_paired::numeric, 12) = round((-(3 * ln(0.4) + 7 * ln(0.6)) / 10)::numeric, 12)
           AS live_by_hand,
       decision
FROM triggerstock.rollout_status;
-- disabled: the figures stay, nothing is decided
UPDATE triggerstock.rollout_rules SET enabled = false;
SELECT decision, enabled FROM triggerstock.rollout_status;
SELECT * FROM rollout_evaluate();
UPDATE triggerstock.rollout_rules SET enabled = true;
SELECT loss AS status_loss, baseline_loss AS status_baseline FROM triggerstock.rollout_status \gset
SELECT symbol, target, model_id = :m3 AS is_m3, decision FROM rollout_evaluate();
SELECT * FROM rollout_evaluate();
SELECT count(*) FROM triggerstock.rollout_candidates;
SELECT model_id = :m3 AS is_m3, strategy, mode, reason LIKE 'rollout: shadow candidate rolled back: live log loss %' AS reason,
       metrics ->> 'n' AS n, metrics ->> 'candidate_mode' AS candidate_mode,
       (metrics ->> 'live_model_id')::bigint = :m1 AS live_m1, metrics -> 'rule' AS rule,
       (metrics ->> 'candidate_loss')::float8 = :status_loss AS same_loss,
       (metrics ->> 'baseline_loss')::float8 = :status_baseline AS same_baseline
FROM triggerstock.deployments ORDER BY id DESC LIMIT 1;
SELECT model_id = :m1 AS live_is_m1 FROM triggerstock.deployed WHERE symbol = 'ETH' AND target = 'direction';

-- a better candidate is promoted: m2 in shadow, better than m1 by more than 10 %
SELECT deploy(:m2, mode => 'shadow') = :m2 AS shadow_m2;
DELETE FROM triggerstock.predictions;
INSERT INTO triggerstock.predictions (symbol, bucket, probability, model_id, model_sha256, fallback_level,
                                      width, horizon, mode, outcome, outcome_at, predicted_at)
SELECT 'ETH', s.bucket, v.p, m.id, m.sha256, 'model', '1 minute', 1, v.mode, s.outcome, now(), now()
FROM scores s
CROSS JOIN LATERAL (VALUES ('live', CASE WHEN s.outcome THEN 0.3 ELSE 0.7 END, :m1),
                           ('shadow', CASE WHEN s.outcome THEN 0.5 ELSE 0.4 END, :m2)) v(mode, p, id)
JOIN triggerstock.models m ON m.id = v.id;
SELECT n, n_paired, round(loss_paired::numeric, 12) = round((-(3 * ln(0.5) + 7 * ln(0.6)) / 10)::numeric, 12) AS cand,
       round(live_loss_paired::numeric, 12) = round((-(3 * ln(0.3) + 7 * ln(0.3)) / 10)::numeric, 12) AS live,
       decision
FROM triggerstock.rollout_status;
SELECT symbol, target, model_id = :m2 AS is_m2, decision FROM rollout_evaluate();
SELECT model_id = :m2 AS is_m2, strategy, mode, reason LIKE 'rollout: shadow candidate promoted over live model %' AS reason,
       metrics ->> 'n_paired' AS n_paired
FROM triggerstock.deployments ORDER BY id DESC LIMIT 1;
SELECT model_id = :m2 AS live_is_m2 FROM triggerstock.deployed WHERE symbol = 'ETH' AND target = 'direction';
SELECT (predict_explain('ETH') ->> 'model_id')::bigint = :m2 AS serves_m2;
SELECT count(*) FROM triggerstock.rollout_candidates;

-- a candidate that never beats the live model is retired after max_outcomes
SELECT deploy(:m3, mode => 'shadow') = :m3 AS shadow_m3;
UPDATE triggerstock.rollout_rules SET min_outcomes = 5, max_outcomes = 10, baseline_margin = 10;
DELETE FROM triggerstock.predictions;
INSERT INTO triggerstock.predictions (symbol, bucket, probability, model_id, model_sha256, fallback_level,
                                      width, horizon, mode, outcome, outcome_at, predicted_at)
SELECT 'ETH', s.bucket, 0.5, m.id, m.sha256, 'model', '1 minute', 1, v.mode, s.outcome, now(), now()
FROM scores s
CROSS JOIN LATERAL (VALUES ('live', :m2), ('shadow', :m3)) v(mode, id)
JOIN triggerstock.models m ON m.id = v.id;
SELECT decision FROM triggerstock.rollout_status;
SELECT symbol, target, model_id = :m3 AS is_m3, decision FROM rollout_evaluate();
SELECT strategy, mode, reason LIKE 'rollout: shadow candidate retired after 10 outcomes (max_outcomes 10)%' AS reason
FROM triggerstock.deployments ORDER BY id DESC LIMIT 1;

-- the history: every row, in order
SELECT row_number() OVER (ORDER BY id) AS n, strategy, mode, fraction,
       model_id = :m1 AS m1, model_id = :m2 AS m2, model_id = :m3 AS m3, metrics IS NOT NULL AS figures
FROM triggerstock.deployments WHERE symbol = 'ETH' AND target = 'direction' AND id > (SELECT min(id) FROM triggerstock.deployments WHERE model_id = :m1 AND strategy = 'model_id')
ORDER BY id;
-- still append-only
UPDATE triggerstock.deployments SET mode = 'live';

-- canary: the share of a bucket is md5(symbol target epoch), its first 32 bits / 2^32
SELECT rollout_canary_share('ETH', 'direction', '2017-09-04 23:59:00+00') AS share,
       ('x' || substr(md5('ETH direction 1504569540'), 1, 8))::bit(32)::bigint / 4294967296.0 AS by_hand,
       rollout_canary_share('ETH', 'return', '2017-09-04 23:59:00+00') AS other_target,
       rollout_canary_share('BTC', 'direction', '2017-09-04 23:59:00+00') AS other_symbol;
SELECT min(s) >= 0 AND max(s) < 1 AS in_range, round(avg((s < 0.1)::int), 2) AS share_below_01
FROM (SELECT rollout_canary_share('ETH', 'direction', timestamptz '2017-09-03' + i * interval '1 minute') AS s
      FROM generate_series(0, 99999) i) x;
-- predict() serves the canary for a bucket whose share is below its fraction, else the live model
SELECT model_id = :m2 AS live_is_m2 FROM triggerstock.deployed WHERE symbol = 'ETH' AND target = 'direction';
SELECT rollout_canary_share('ETH', 'direction', (predict_explain('ETH') ->> 'bucket')::timestamptz) AS share \gset
SELECT deploy(:m3, mode => 'canary', fraction => :share / 2) = :m3 AS canary_m3;
SELECT mode, fraction = :share / 2 AS fraction FROM triggerstock.rollout_candidates;
SELECT e ->> 'deployment_mode' AS mode, (e ->> 'model_id')::bigint = :m2 AS served_m2,
       (e -> 'canary' ->> 'model_id')::bigint = :m3 AS canary_m3, (e -> 'canary' ->> 'share')::float8 = :share AS same_share
FROM predict_explain('ETH') e;
SELECT deploy(:m3, mode => 'canary', fraction => (1 + :share) / 2) = :m3 AS canary_m3;
SELECT e ->> 'deployment_mode' AS mode, (e ->> 'model_id')::bigint = :m3 AS served_m3,
       e ->> 'sha256' = (SELECT sha256 FROM triggerstock.models WHERE id = :m3) AS sha_m3,
       e ->> 'fallback_level' AS level
FROM predict_explain('ETH') e;
SELECT predict('ETH') = (predict_explain('ETH') ->> 'probability')::float8 AS predict_agrees;
-- the canary is judged on the buckets the live model answered (the others it served)
SELECT n, n_paired, decision FROM triggerstock.rollout_status;
-- a shadow in its place: the live model again
SELECT deploy(:m3, mode => 'shadow') = :m3 AS shadow_m3;
SELECT predict_explain('ETH') ->> 'deployment_mode' AS mode, (predict_explain('ETH') ->> 'model_id')::bigint = :m2 AS served_m2;
SELECT retire('ETH') = :m3 AS retired;

-- calibration: the test-window ece of a direction model is stored; the live
-- one against it raises calibration_alert (120 scores of 0.95, all wrong)
SELECT jsonb_typeof(metrics -> 'ece') AS ece_type, (metrics ->> 'ece')::float8 BETWEEN 0 AND 1 AS ece_range
FROM triggerstock.models WHERE id = :m2;
SELECT metrics ? 'ece' AS regression_has_ece FROM triggerstock.models WHERE id = :mr;
DELETE FROM triggerstock.predictions;
INSERT INTO triggerstock.predictions (symbol, bucket, probability, model_id, model_sha256, fallback_level,
                                      width, horizon, mode, outcome, outcome_at)
SELECT 'ETH', timestamptz '2017-09-05' + i * interval '1 minute', 0.95, m.id, m.sha256, 'model', '1 minute', 1,
       'live', i > 110, now()
FROM generate_series(1, 120) i, triggerstock.models m WHERE m.id = :m2;
SELECT n, round(ece::numeric, 12) AS ece, round(test_ece::numeric, 12) = round(((SELECT metrics ->> 'ece' FROM triggerstock.models WHERE id = :m2))::numeric, 12) AS test_ece_stored,
       round(ece_drift::numeric, 12) = round((ece - test_ece)::numeric, 12) AS drift, calibration_alert, reliability
FROM triggerstock.model_live_metrics;
SET triggerstock.calibration_drift_threshold = 0.99;
SELECT calibration_alert FROM triggerstock.model_live_metrics;
RESET triggerstock.calibration_drift_threshold;
DELETE FROM triggerstock.predictions WHERE bucket > '2017-09-05 01:39';
SELECT n, calibration_alert FROM triggerstock.model_live_metrics;
DELETE FROM triggerstock.predictions;

-- training progress: no train() runs now; the NOTICE interval is a GUC
-- (test/t/057_train_progress.pl follows a run from another session)
SELECT count(*) FROM triggerstock.train_progress;
SET triggerstock.train_progress_every = -1;
SET triggerstock.train_progress_every = 10;
SHOW triggerstock.train_progress_every;
RESET triggerstock.train_progress_every;
