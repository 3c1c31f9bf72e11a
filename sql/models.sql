--
-- Models: train() on the real candles of ../shared/data/candles/crypto,
-- the error cases with their messages, deployment strategies and their
-- history, predict() levels, the booster cache bound, immutability.
-- Metric values are not printed here (they depend on features()); the TAP
-- test test/t/050_models.pl checks them against python3-xgboost.
--
-- a clean extension whatever the earlier suites left in the database
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

-- predict and friends are never IMMUTABLE (nor STABLE: they read the clock and caches)
SELECT p.oid::regprocedure, p.provolatile FROM pg_proc p
WHERE p.proname IN ('predict', 'predict_explain', 'train', 'train_from_query', 'feature_drift')
ORDER BY p.oid::regprocedure::text COLLATE "C";

-- error cases
SELECT train('NOPE');
SELECT train(NULL);
SELECT train('ETH', horizon => 0);
SELECT train('ETH', params => '[1, 2]');
SELECT train('ETH', params => '{"nthread": 4}');
SELECT train('ETH', params => '{"objective": "reg:squarederror"}');
SELECT train('ETH', params => '{"test_fraction": 1.5}');
SELECT train('ETH', params => '{"validation_fraction": 0}');
SELECT train('ETH', width => '30 seconds');
SELECT train('ETH', width => '1 month');
SELECT train('ETH', params => '{"num_boost_round": 0}');
SELECT train('ETH', params => '{"max_depth": {"a": 1}}');
SELECT train('ETH', params => '{"max_depth": -1}');
SELECT train('ETH', params => '{"no_such_parameter": 1}');
-- an over-long unknown name (its XGBoost warning would not fit the log buffer)
SELECT train('ETH', params => jsonb_build_object(repeat('x', 5000), 1));
-- too few rows: 60 candles
INSERT INTO triggerstock.candles (symbol, width, bucket, open, high, low, close, volume, trades, open_time, close_time)
SELECT 'TINY', '1 minute', bucket, close, close, close, close, 1, 1, bucket, bucket
FROM (SELECT '2024-01-01'::timestamptz + i * interval '1 minute' AS bucket, 100 + i % 7 AS close
      FROM generate_series(1, 60) i) s;
SELECT train('TINY');
-- a single-class label: the close never rises
INSERT INTO triggerstock.candles (symbol, width, bucket, open, high, low, close, volume, trades, open_time, close_time)
SELECT 'FALL', '1 minute', bucket, close, close, close, close, 1, 1, bucket, bucket
FROM (SELECT '2024-01-01'::timestamptz + i * interval '1 minute' AS bucket, 1000 - i AS close
      FROM generate_series(1, 500) i) s;
SELECT train('FALL');
SELECT count(*) AS models_after_errors FROM triggerstock.models;

-- before any model: no deployment, the rules baseline answers from rsi_14 and macd_hist
SELECT predict('ETH') BETWEEN 0.4 AND 0.6 AS rules_in_range,
       predict_explain('ETH') ->> 'fallback_level' AS level,
       predict_explain('ETH') ->> 'reason' AS reason;
-- a recent model score of the same width and horizon stands in (level 2) ...
INSERT INTO triggerstock.predictions (symbol, width, horizon, bucket, probability, model_id, model_sha256, fallback_level)
VALUES ('ETH', '1 minute', 1, '2017-09-04 23:57+00', 0.4242, 42, 'feedbeef', 'model'),
       ('ETH', '5 minutes', 1, '2017-09-04 23:50+00', 0.9, 43, 'feedbeef', 'model'),
       ('ETH', '1 minute', 5, '2017-09-04 23:56+00', 0.1, 44, 'feedbeef', 'model');
SELECT predict('ETH'), predict_explain('ETH') ->> 'fallback_level' AS level,
       predict_explain('ETH') ->> 'model_id' AS model_id;
-- ... unless it is older than triggerstock.last_score_max_age
SET triggerstock.last_score_max_age = 0;
SELECT predict_explain('ETH') ->> 'fallback_level' AS level;
RESET triggerstock.last_score_max_age;
DELETE FROM triggerstock.predictions;
-- nothing known at all: abstain
SELECT predict('NOPE') IS NULL AS abstains, predict_explain('NOPE') ->> 'fallback_level' AS level;
SELECT predict('NOPE', ARRAY[1.0]);
SELECT predict('');

-- train: the first model deploys itself
SELECT train('ETH') AS m1 \gset
-- the same parameters again: same model, not better, not deployed (NOTICE hidden: it prints log losses)
SET client_min_messages = warning;
SELECT train('ETH') > :m1 AS trained_again;
RESET client_min_messages;
SELECT reason LIKE 'train(): first model%' AS first_reason FROM triggerstock.deployments ORDER BY id;
SELECT metrics ->> 'auto_deploy' LIKE 'test log loss % >= % of deployed model % on the same window [%] (same symbol, width % and horizon 1)' AS compared
FROM triggerstock.models ORDER BY id DESC LIMIT 1;
SELECT id, symbol, width, horizon, best_iteration >= 0 AS has_best,
       metrics ->> 'n_train' AS n_train, metrics ->> 'n_fit' AS n_fit, metrics ->> 'n_validation' AS n_val,
       metrics ->> 'n_test' AS n_test, metrics ->> 'n_gap' AS gap,
       train_to < test_from AS time_ordered,
       (metrics ?& ARRAY['accuracy', 'precision', 'recall', 'f1', 'roc_auc', 'log_loss', 'brier',
                         'base_rate', 'majority_accuracy', 'train_from', 'test_to', 'training_ms',
                         'baseline_log_loss', 'baseline_brier', 'edge_log_loss', 'edge_brier', 'edge_accuracy',
                         'baseline_roc_auc', 'validation_log_loss', 'rounds', 'rounds_boosted']) AS all_metrics,
       (metrics ->> 'edge_log_loss')::float8 = (metrics ->> 'baseline_log_loss')::float8 - (metrics ->> 'log_loss')::float8
           AS edge_is_difference,
       (metrics ->> 'rounds')::int = best_iteration + 1 AS rounds_are_best_plus_one,
       sha256 = encode(sha256(model), 'hex') AS sha_ok,
       cardinality(features) = (SELECT count(*) FROM jsonb_object_keys(importance)) AS importance_per_feature,
       features @> ARRAY['ret_1', 'rsi_14'] AS named_features
FROM triggerstock.models ORDER BY id;
SELECT symbol, model_id = :m1 AS is_m1, strategy, reason FROM triggerstock.deployments ORDER BY id;
SELECT predict_explain('ETH') ->> 'fallback_level' AS level,
       (predict_explain('ETH') ->> 'model_id')::bigint = :m1 AS is_m1,
       predict_explain('ETH') ->> 'sha256' = (SELECT sha256 FROM triggerstock.models WHERE id = :m1) AS sha_ok,
       predict('ETH') BETWEEN 0 AND 1 AS probability;
-- predict(symbol, features) on the explained row gives the same probability
SELECT abs(predict('ETH', (SELECT array_agg((predict_explain('ETH') -> 'features' ->> f)::float8 ORDER BY o)
                            FROM triggerstock.models, unnest(features) WITH ORDINALITY u(f, o)
                            WHERE id = :m1)) - predict('ETH')) < 1e-12 AS same;
SELECT predict('ETH', ARRAY[1, 2, 3]::float8[]);

-- a second model with other parameters: deployed only if it beats the first on its window
-- (its NOTICE says what was compared: same symbol, width and horizon on the same window)
SELECT train('ETH', params => '{"max_depth": 2, "eta": 0.3, "early_stopping_rounds": 0, "num_boost_round": 5}') AS m2 \gset
SELECT count(*) AS models FROM triggerstock.models;
-- early_stopping_rounds = 0 keeps every round and needs no validation slice
SELECT metrics ->> 'rounds' AS rounds, metrics ->> 'n_validation' AS n_val,
       metrics ->> 'validation_log_loss' AS val_ll, (metrics ->> 'n_fit') = (metrics ->> 'n_train') AS fit_on_all
FROM triggerstock.models WHERE id = :m2;
-- deployment strategies: most_recent, rollback (twice goes back and forth), deploy(id), best_score
SELECT deploy('ETH', 'most_recent') = :m2 AS most_recent_is_m2;
SELECT deploy('ETH', 'rollback') = :m1 AS rolled_back_to_m1;
SELECT deploy('ETH', 'rollback') = :m2 AS rolled_back_to_m2;
SELECT deploy(:m1) = :m1 AS deployed_m1;
SELECT deploy('ETH', 'best_score') = (SELECT id FROM triggerstock.models ORDER BY (metrics ->> 'log_loss')::float8 LIMIT 1) AS best;
-- other widths and horizons: best_score compares only the models of the newest one's width,
-- horizon and test window, and says so
SELECT train('ETH', '5 minutes') AS m5 \gset
SELECT train('ETH', horizon => 5) AS h5 \gset
SELECT id = :h5 AS is_h5, horizon, (metrics ->> 'n_fit')::int + 5 + (metrics ->> 'n_validation')::int = (metrics ->> 'n_train')::int
           AS five_left_out_before_validation,
       (metrics ->> 'n_gap')::int AS gap_before_test
FROM triggerstock.models WHERE id = :h5;
SELECT deploy('ETH', 'best_score') = :h5 AS best_of_horizon_5;
SELECT predict_explain('ETH') ->> 'width' AS width, predict_explain('ETH') ->> 'horizon' AS horizon,
       predict_explain('ETH') ->> 'question' AS question;
SELECT deploy(:m5) = :m5 AS deployed_m5;
SELECT predict_explain('ETH') ->> 'width' AS width, predict_explain('ETH') ->> 'bucket' AS bucket,
       predict_explain('ETH') ->> 'watermark' AS watermark;
SELECT deploy(:m1) = :m1 AS deployed_m1_again;
SELECT (predict_explain('ETH') ->> 'model_id')::bigint = (SELECT model_id FROM triggerstock.deployed WHERE symbol = 'ETH') AS serves_deployed;
SELECT strategy, count(*) FROM triggerstock.deployments GROUP BY 1 ORDER BY 1;
SELECT deploy('ETH', 'sideways');
SELECT deploy('BTC', 'most_recent');
SELECT deploy(999999);

-- completeness by data (one rule for train(), predict() and the predictor): a bucket is
-- complete when its end is at or before the watermark, the newest candle's close_time
SELECT watermark('ETH'), last_complete_bucket('ETH', '1 minute') AS last_1m,
       last_complete_bucket('ETH', '5 minutes') AS last_5m, last_complete_bucket('ETH', '1 day') AS last_1d;
SELECT (predict_explain('ETH') ->> 'bucket')::timestamptz = last_complete_bucket('ETH', '1 minute') AS serves_last_complete;
-- train() learned from the complete rows only: the last labelled row is one before the last complete one
SELECT test_to = last_complete_bucket('ETH', '1 minute') - interval '1 minute' AS last_label_complete
FROM triggerstock.models WHERE id = :m1;
-- a 5-minute bucket holding 2 of its 5 minutes is not complete, whatever the clock says
INSERT INTO triggerstock.candles (symbol, width, bucket, open, high, low, close, volume, trades, open_time, close_time)
SELECT 'PART', '1 minute', b, 10 + i, 10 + i, 10 + i, 10 + i, 1, 1, b, b + interval '59.999 seconds'
FROM (SELECT i, '2024-01-01 00:00+00'::timestamptz + i * interval '1 minute' AS b FROM generate_series(0, 6) i) s;
SELECT watermark('PART'), last_complete_bucket('PART', '1 minute') AS last_1m,
       last_complete_bucket('PART', '5 minutes') AS last_5m,
       bucket_close('PART', '5 minutes', '2024-01-01 00:00+00') AS close_00,
       bucket_ahead('PART', '5 minutes', '2024-01-01 00:00+00', 1) AS next_5m,
       bucket_ahead('PART', '5 minutes', '2024-01-01 00:00+00', 2) AS second_5m;
-- a trade at 00:10 completes the 00:05 bucket (the minutes 00:07 to 00:09 never had a candle)
INSERT INTO triggerstock.candles (symbol, width, bucket, open, high, low, close, volume, trades, open_time, close_time)
VALUES ('PART', '1 minute', '2024-01-01 00:10+00', 20, 20, 20, 20, 1, 1, '2024-01-01 00:10+00', '2024-01-01 00:10:05+00');
SELECT watermark('PART'), last_complete_bucket('PART', '5 minutes') AS last_5m,
       bucket_close('PART', '5 minutes', '2024-01-01 00:05+00') AS close_05,
       bucket_ahead('PART', '5 minutes', '2024-01-01 00:00+00', 2) AS second_5m;
SELECT watermark('NOPE') IS NULL AS no_watermark, last_complete_bucket('NOPE', '1 minute') IS NULL AS none;
SELECT last_complete_bucket('PART', '30 seconds');

-- history and models are immutable
UPDATE triggerstock.models SET horizon = 2;
DELETE FROM triggerstock.deployments;
TRUNCATE triggerstock.deployments;

-- the booster cache is bounded
SET triggerstock.model_cache_size = 1;
SELECT deploy(:m1) IS NOT NULL AS d1, predict('ETH') IS NOT NULL AS p1, model_cache_count();
SELECT deploy(:m2) IS NOT NULL AS d2, predict('ETH') IS NOT NULL AS p2, model_cache_count();
RESET triggerstock.model_cache_size;

-- train_from_query: an explicit feature matrix
SELECT train_from_query('ETHQ', $$SELECT bucket, close, ret_1, rsi_14 FROM features('ETH') ORDER BY bucket$$) IS NOT NULL AS trained;
SELECT features, source LIKE 'SELECT bucket%' AS has_query FROM triggerstock.models WHERE symbol = 'ETHQ';
SELECT deploy('ETHQ', 'rollback');
SELECT train_from_query('ETHQ', $$SELECT bucket, close, ret_1 FROM features('ETH') ORDER BY bucket DESC$$);
SELECT train_from_query('ETHQ', $$SELECT 1 AS x$$);

-- drift of the deployed model's features: one row per feature
SELECT count(*) = (SELECT cardinality(features) FROM triggerstock.models WHERE id = :m2) AS one_per_feature,
       bool_and(psi >= 0) AS non_negative
FROM feature_drift('ETH', 600);
SELECT * FROM feature_drift('ETH', 5);
