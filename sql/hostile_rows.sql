--
-- Hostile rows in the tables the C code reads (issue 11): predictions,
-- models, deployments, candles, sources, feeds (and quote_sources).  Rows
-- that break a stated invariant are refused by a constraint; rows that pass
-- every constraint but are still strange are read by every function that
-- reads the table: each answers or raises an ERROR, never crashes the
-- backend (a crash would end this file's connection: every later statement
-- would fail).  XGBoost's own messages carry a timestamp and a source line,
-- so try() below keeps the SQLSTATE and the message up to them (a truncated
-- model sometimes fails as std::bad_alloc instead: masked the same way).
-- The workers that read these tables are covered by test/t/052_hostile_rows.pl.
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
DELETE FROM triggerstock.candles WHERE symbol = 'BTC';
-- the refused rows' DETAIL would print the clock
\set VERBOSITY terse

CREATE FUNCTION try(q text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    r text;
BEGIN
    EXECUTE q INTO r;
    RETURN 'ok: ' || coalesce(left(r, 100), 'NULL');
EXCEPTION WHEN OTHERS THEN
    RETURN 'ERROR ' || SQLSTATE || ': '
           -- libxgboost's own text varies (a truncated model may also fail
           -- with std::bad_alloc, depending on the bytes cut): keep only that it failed
           || left(regexp_replace(SQLERRM, '(\[\d\d:\d\d:\d\d\].*|std::bad_alloc)$', '<xgboost message>'), 160);
END
$$;

SET client_min_messages = warning;
SELECT train('ETH', params => '{"num_boost_round": 10}') AS good \gset
RESET client_min_messages;

------------------------------------------------------------------------------
-- predictions
------------------------------------------------------------------------------
-- refused: the crash of issue 11 (level model, NULL model_sha256), and others
INSERT INTO triggerstock.predictions (symbol, width, horizon, bucket, probability, model_id, model_sha256, fallback_level)
VALUES ('XRP', '1 minute', 1, now(), 0.5, 1, NULL, 'model');
INSERT INTO triggerstock.predictions (symbol, width, horizon, bucket, probability, model_id, model_sha256, fallback_level)
VALUES ('XRP', '1 minute', 1, now(), 'NaN', 1, 'ab', 'model');
INSERT INTO triggerstock.predictions (symbol, width, horizon, bucket, probability, model_id, model_sha256, fallback_level)
VALUES ('XRP', '1 minute', 1, now(), 1.5, 1, 'ab', 'model');
INSERT INTO triggerstock.predictions (symbol, width, horizon, bucket, probability, fallback_level)
VALUES ('XRP', '1 minute', 1, now(), 0.5, 'abstain');
INSERT INTO triggerstock.predictions (symbol, width, horizon, bucket, probability, fallback_level)
VALUES ('XRP', '30 seconds', 1, now(), 0.5, 'rules');
INSERT INTO triggerstock.predictions (symbol, width, horizon, bucket, probability, fallback_level)
VALUES ('XRP', '1 minute', 0, now(), 0.5, 'rules');
INSERT INTO triggerstock.predictions (symbol, bucket, probability, fallback_level)
VALUES ('XRP', now(), 0.5, 'rules');
-- accepted but strange: NULL model id and hash at level last_score, a 1000-character
-- hash, a model that does not exist, infinite and future buckets, odd JSON
INSERT INTO triggerstock.predictions (symbol, width, horizon, bucket, probability, model_id, model_sha256,
                                      fallback_level, features, latency_us, predicted_at, outcome)
VALUES ('XRP', '1 minute', 1, now(), 0.25, NULL, NULL, 'last_score', '[]', -1, now() + interval '1 hour', NULL),
       ('XRP', '1 minute', 1, 'infinity', 0.5, 999999, repeat('f', 1000), 'model', '"x"', NULL, now(), true),
       ('XRP', '1 minute', 1, '-infinity', 0, -1, '', 'model', NULL, NULL, 'infinity', false),
       ('', '1 minute', 1, now(), 1, 1, 'x', 'model', '{}', 0, now(), NULL),
       ('XRP', '1 day', 10000, '2024-01-01', NULL, NULL, NULL, 'abstain', 'null', 0, now(), NULL);
SELECT try($$SELECT predict('XRP')::text$$) AS predict,
       try($$SELECT predict_explain('XRP') ->> 'fallback_level'$$) AS level,
       try($$SELECT predict_explain('XRP') ->> 'sha256'$$) AS sha256,
       try($$SELECT predict_explain('XRP') ->> 'model_id'$$) AS model_id;
SELECT try($$SELECT count(*)::text FROM triggerstock.model_live_metrics$$) AS live,
       try($$SELECT count(*)::text FROM triggerstock.latest_predictions$$) AS latest;
-- and without the constraint, the row of issue 11 itself: the C code checks every column
BEGIN;
ALTER TABLE triggerstock.predictions DROP CONSTRAINT predictions_model_level_complete;
INSERT INTO triggerstock.predictions (symbol, width, horizon, bucket, probability, model_id, model_sha256, fallback_level)
VALUES ('XRP', '1 minute', 1, now() + interval '2 hours', 0.5, 1, NULL, 'model'),
       ('XRP', '1 minute', 1, now() + interval '3 hours', 0.5, NULL, NULL, 'model');
SELECT try($$SELECT predict('XRP')::text$$) AS predict,
       try($$SELECT (predict_explain('XRP') - 'features' - 'question')::text$$) AS explain;
ROLLBACK;

------------------------------------------------------------------------------
-- models
------------------------------------------------------------------------------
-- refused: each invariant the C code relies on
CREATE TEMP TABLE good AS SELECT * FROM triggerstock.models WHERE id = :good;
INSERT INTO triggerstock.models (symbol, width, horizon, model, sha256, params, features, best_iteration,
    train_from, train_to, test_from, test_to, metrics, importance, drift_reference, source)
SELECT symbol, width, horizon, model, repeat('0', 64), params, features, best_iteration,
       train_from, train_to, test_from, test_to, metrics, importance, drift_reference, source FROM good;
INSERT INTO triggerstock.models (symbol, width, horizon, model, sha256, params, features, best_iteration,
    train_from, train_to, test_from, test_to, metrics, importance, drift_reference, source)
SELECT symbol, width, 0, model, sha256, params, features, best_iteration,
       train_from, train_to, test_from, test_to, metrics, importance, drift_reference, source FROM good;
INSERT INTO triggerstock.models (symbol, width, horizon, model, sha256, params, features, best_iteration,
    train_from, train_to, test_from, test_to, metrics, importance, drift_reference, source)
SELECT symbol, '90 seconds', horizon, model, sha256, params, features, best_iteration,
       train_from, train_to, test_from, test_to, metrics, importance, drift_reference, source FROM good;
INSERT INTO triggerstock.models (symbol, width, horizon, model, sha256, params, features, best_iteration,
    train_from, train_to, test_from, test_to, metrics, importance, drift_reference, source)
SELECT symbol, width, horizon, model, sha256, params, '{}', best_iteration,
       train_from, train_to, test_from, test_to, metrics, importance, drift_reference, source FROM good;
INSERT INTO triggerstock.models (symbol, width, horizon, model, sha256, params, features, best_iteration,
    train_from, train_to, test_from, test_to, metrics, importance, drift_reference, source)
SELECT symbol, width, horizon, model, sha256, params, features || NULL::text, best_iteration,
       train_from, train_to, test_from, test_to, metrics, importance, drift_reference, source FROM good;
INSERT INTO triggerstock.models (symbol, width, horizon, model, sha256, params, features, best_iteration,
    train_from, train_to, test_from, test_to, metrics, importance, drift_reference, source)
SELECT symbol, width, horizon, model, sha256, params, '{{a,b},{c,d}}', best_iteration,
       train_from, train_to, test_from, test_to, metrics, importance, drift_reference, source FROM good;
INSERT INTO triggerstock.models (symbol, width, horizon, model, sha256, params, features, best_iteration,
    train_from, train_to, test_from, test_to, metrics, importance, drift_reference, source)
SELECT symbol, width, horizon, model, sha256, params, features, -1,
       train_from, train_to, test_from, test_to, metrics, importance, drift_reference, source FROM good;
INSERT INTO triggerstock.models (symbol, width, horizon, model, sha256, params, features, best_iteration,
    train_from, train_to, test_from, test_to, metrics, importance, drift_reference, source)
SELECT symbol, width, horizon, model, sha256, params, features, best_iteration,
       train_from, test_to, test_from, test_to, metrics, importance, drift_reference, source FROM good;
INSERT INTO triggerstock.models (symbol, width, horizon, model, sha256, params, features, best_iteration,
    train_from, train_to, test_from, test_to, metrics, importance, drift_reference, source)
SELECT symbol, width, horizon, model, sha256, params, features, best_iteration,
       train_from, train_to, test_from, test_to, '[]', importance, drift_reference, source FROM good;

-- accepted but strange, each one deployed for its own symbol and read by every function
CREATE FUNCTION hostile_model(sym text, bytes bytea, names text[], metrics jsonb DEFAULT NULL,
                              drift jsonb DEFAULT NULL) RETURNS bigint LANGUAGE sql AS $$
    INSERT INTO triggerstock.models (symbol, width, horizon, model, sha256, params, features, best_iteration,
        train_from, train_to, test_from, test_to, metrics, importance, drift_reference, source)
    SELECT sym, width, horizon, bytes, encode(sha256(bytes), 'hex'), params, names, best_iteration,
           train_from, train_to, test_from, test_to, coalesce($4, good.metrics), importance,
           coalesce(drift, drift_reference), source
    FROM good
    RETURNING id
$$;
-- symbols with the ETH candles, so that there are feature rows to score
INSERT INTO triggerstock.candles (symbol, width, bucket, open, high, low, close, volume, vwap, trades, open_time, close_time)
SELECT s, width, bucket, open, high, low, close, volume, vwap, trades, open_time, close_time
FROM triggerstock.candles, unnest(ARRAY['M_FEW', 'M_EMPTY', 'M_JUNK', 'M_HALF', 'M_JSON', 'M_TINY', 'M_REG',
                                        'M_IDX', 'M_500', 'M_NAMES', 'M_DRIFT']) s
WHERE symbol = 'ETH';
SELECT deploy(hostile_model('M_FEW', model, features[1:2])) > 0 AS few_names,
       deploy(hostile_model('M_EMPTY', '', features)) > 0 AS empty_bytes,
       deploy(hostile_model('M_JUNK', '\xdeadbeef00ff', features)) > 0 AS junk_bytes,
       deploy(hostile_model('M_HALF', substr(model, 1, length(model) / 2), features)) > 0 AS half_bytes,
       deploy(hostile_model('M_JSON', convert_to('{"learner": {"attributes": 1}}', 'UTF8'), features)) > 0 AS bad_json,
       deploy(hostile_model('M_NAMES', model, ARRAY['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j', 'k', 'l', 'm',
                                                    'n', 'o', 'p', 'q', 'r', 's', 't', 'u'])) > 0 AS unknown_names,
       deploy(hostile_model('M_DRIFT', model, features, '{"log_loss": "abc", "train_base_rate": [1]}',
                            '{"ret_1": {"edges": ["x"], "fractions": [1, 2, 3]}, "rsi_14": {"edges": [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12], "fractions": []}, "atr_pct": 5}')) > 0
           AS odd_metrics_and_drift
FROM good;
-- a one-tree JSON model on the 21 features (written by python3-xgboost 1.7.4), then
-- turned into a regression model, given a tree that splits on feature 500, and given
-- 500 features
\set tiny_json '{"learner":{"attributes":{"best_iteration":"0","best_ntree_limit":"1"},"feature_names":["ret_1","ret_5","ret_15","rsi_14","macd_hist","bb_pct_b","bb_width","atr_pct","stoch_k","stoch_d","willr_14","cci_14","mfi_14","adx_14","volume_z","vwap_dist","rv_30","tod_sin","tod_cos","sentiment_1h","news_1h"],"feature_types":[],"gradient_booster":{"model":{"gbtree_model_param":{"num_parallel_tree":"1","num_trees":"1","size_leaf_vector":"0"},"tree_info":[0],"trees":[{"base_weights":[-0.0,-0.5769231,0.5769231],"categories":[],"categories_nodes":[],"categories_segments":[],"categories_sizes":[],"default_left":[0,0,0],"id":0,"left_children":[1,-1,-1],"loss_changes":[192.3077,0.0,0.0],"parents":[2147483647,0,0],"right_children":[2,-1,-1],"split_conditions":[0.0016063824,-0.5769231,0.5769231],"split_indices":[0,0,0],"split_type":[0,0,0],"sum_hessian":[50.0,25.0,25.0],"tree_param":{"num_deleted":"0","num_feature":"21","num_nodes":"3","size_leaf_vector":"0"}}]},"name":"gbtree"},"learner_model_param":{"base_score":"5E-1","boost_from_average":"1","num_class":"0","num_feature":"21","num_target":"1"},"objective":{"name":"binary:logistic","reg_loss_param":{"scale_pos_weight":"1"}}},"version":[1,7,4]}'
SELECT deploy(hostile_model('M_TINY', convert_to(:'tiny_json', 'UTF8'), features)) > 0 AS tiny_json,
       deploy(hostile_model('M_REG', convert_to(replace(:'tiny_json', '"binary:logistic"', '"reg:squarederror"'), 'UTF8'),
                            features)) > 0 AS regression,
       deploy(hostile_model('M_IDX', convert_to(replace(:'tiny_json', '"split_indices":[0,0,0]', '"split_indices":[500,0,0]'), 'UTF8'),
                            features)) > 0 AS split_on_feature_500,
       deploy(hostile_model('M_500', convert_to(replace(:'tiny_json', '"num_feature":"21"', '"num_feature":"500"'), 'UTF8'),
                            features)) > 0 AS takes_500
FROM good;
SELECT s AS symbol,
       try(format('SELECT predict(%L)::text', s)) AS predict,
       try(format($$SELECT (predict_explain(%L) ->> 'fallback_level') || ': ' || coalesce(predict_explain(%L) ->> 'reason', '')$$, s, s)) AS explain
FROM unnest(ARRAY['M_FEW', 'M_EMPTY', 'M_JUNK', 'M_HALF', 'M_JSON', 'M_TINY', 'M_REG', 'M_IDX', 'M_500', 'M_NAMES',
                   'M_DRIFT']) s
ORDER BY 1;
-- (train() replaces each deployed model that cannot be served: its NOTICE quotes XGBoost)
SET client_min_messages = warning;
SELECT s AS symbol,
       try(format('SELECT predict(%L, (SELECT array_fill(0.5::float8, ARRAY[21])))::text', s)) AS predict_given,
       try(format('SELECT count(*)::text FROM feature_drift(%L)', s)) AS drift
FROM unnest(ARRAY['M_FEW', 'M_EMPTY', 'M_JUNK', 'M_JSON', 'M_TINY', 'M_REG', 'M_IDX', 'M_500', 'M_NAMES',
                   'M_DRIFT']) s
ORDER BY 1;
SELECT s AS symbol, try(format($$SELECT train(%L, params => '{"num_boost_round": 3}')::text$$, s)) AS train
FROM unnest(ARRAY['M_JUNK', 'M_IDX', 'M_REG', 'M_DRIFT']) s
ORDER BY 1;
SELECT DISTINCT ON (symbol) symbol, left(reason, 64) AS deployed_because
FROM triggerstock.deployments WHERE symbol IN ('M_JUNK', 'M_IDX', 'M_REG', 'M_DRIFT')
ORDER BY symbol, id DESC;
RESET client_min_messages;
SELECT try($$SELECT deploy('M_DRIFT', 'best_score')::text$$) AS best_score_without_log_loss;
SELECT try($$SELECT count(*)::text FROM triggerstock.deployed$$) AS deployed;

------------------------------------------------------------------------------
-- deployments
------------------------------------------------------------------------------
-- refused: a deployment of another symbol's model, of no model, of an unknown strategy
INSERT INTO triggerstock.deployments (symbol, model_id, strategy) VALUES ('BTC', :good, 'model_id');
INSERT INTO triggerstock.deployments (symbol, model_id, strategy) VALUES ('ETH', 999999, 'model_id');
INSERT INTO triggerstock.deployments (symbol, model_id, strategy) VALUES ('ETH', :good, 'magic');
-- accepted but strange: no reason, a far future date, another user
INSERT INTO triggerstock.deployments (symbol, model_id, strategy, reason, deployed_at, deployed_by)
VALUES ('ETH', :good, 'rollback', NULL, 'infinity', '');
SELECT try($$SELECT predict('ETH')::text$$) IS NOT NULL AS predict,
       try($$SELECT deploy('ETH', 'rollback')::text$$) AS rollback,
       try($$SELECT deploy('ETH', 'most_recent')::text$$) ~ '^ok' AS most_recent;

------------------------------------------------------------------------------
-- candles
------------------------------------------------------------------------------
-- every column is NOT NULL: a NULL close is refused
INSERT INTO triggerstock.candles (symbol, width, bucket, open, high, low, close, volume, trades, open_time, close_time)
VALUES ('C_BAD', '1 minute', '2024-01-01', 1, 1, 1, NULL, 1, 1, '2024-01-01', '2024-01-01');
-- accepted but strange: NaN and infinite prices, zero and negative prices and volumes,
-- high below low, unaligned buckets, a far future close_time, infinite buckets,
-- other widths in the 1-minute table, enough of them to train on
INSERT INTO triggerstock.candles (symbol, width, bucket, open, high, low, close, volume, vwap, trades, open_time, close_time)
SELECT 'C_BAD', '1 minute', b,
       CASE i % 7 WHEN 0 THEN 'NaN'::float8 WHEN 1 THEN 'Infinity' WHEN 2 THEN 0 WHEN 3 THEN -5 ELSE 100 + i % 13 END,
       CASE i % 5 WHEN 0 THEN '-Infinity'::float8 ELSE 90 END,
       CASE i % 5 WHEN 0 THEN 'Infinity'::float8 ELSE 110 END,
       CASE i % 11 WHEN 0 THEN 'NaN'::float8 WHEN 1 THEN '-Infinity' WHEN 2 THEN 0 WHEN 3 THEN -1e308 ELSE 100 + i % 17 END,
       CASE i % 3 WHEN 0 THEN -1 WHEN 1 THEN 'NaN'::float8 ELSE 1e308 END,
       CASE i % 4 WHEN 0 THEN 'NaN'::float8 END,
       -i, b + interval '1 hour', b - interval '1 year'
FROM (SELECT i, '2024-01-01'::timestamptz + i * interval '1 minute' + (i % 2) * interval '17 seconds' AS b
      FROM generate_series(1, 400) i) s;
INSERT INTO triggerstock.candles (symbol, width, bucket, open, high, low, close, volume, vwap, trades, open_time, close_time)
VALUES ('C_BAD', '1 minute', 'infinity', 1, 1, 1, 1, 1, 1, 1, 'infinity', 'infinity'),
       ('C_BAD', '1 minute', '-infinity', 1, 1, 1, 1, 1, 1, 1, '-infinity', '-infinity'),
       ('C_BAD', '1 minute', '2024-01-02', 1, 1, 1, 1, 1, 1, 1, '2024-01-02', '294276-01-01'),
       ('C_BAD', '5 minutes', '2024-01-01', 1, 1, 1, 1, 1, 1, 1, '2024-01-01', '2024-01-01'),
       ('C_BAD', '30 seconds', '2024-01-01', 1, 1, 1, 1, 1, 1, 1, '2024-01-01', '2024-01-01');
SELECT try($$SELECT (watermark('C_BAD') = now())::text$$) AS watermark_capped_at_now,
       try($$SELECT last_complete_bucket('C_BAD', '1 minute')::text$$) AS last_1m,
       try($$SELECT last_complete_bucket('C_BAD', '1 day')::text$$) AS last_1d,
       try($$SELECT bucket_close('C_BAD', '5 minutes', '2024-01-01 00:05')::text$$) AS close_5m,
       try($$SELECT bucket_ahead('C_BAD', '1 hour', '-infinity', 3)::text$$) AS ahead;
SELECT w AS width,
       try(format($$SELECT count(*) || ' rows, ' || count(rsi_14) || ' RSI' FROM features('C_BAD', %L)$$, w)) AS features,
       try(format($$SELECT count(close)::text FROM candles(%L) WHERE symbol = 'C_BAD'$$, w)) AS candles
FROM unnest(ARRAY['1 minute', '5 minutes', '1 day']::interval[]) w;
SELECT try($$SELECT train('C_BAD', params => '{"num_boost_round": 3}')::text$$) AS train,
       try($$SELECT predict('C_BAD')::text$$) AS predict,
       try($$SELECT (predict_explain('C_BAD') ->> 'fallback_level')$$) AS explain,
       try($$SELECT count(*)::text FROM feature_drift('C_BAD')$$) AS drift;
SELECT try($$SELECT count(*)::text FROM triggerstock.candles_5m$$) AS candles_5m,
       try($$SELECT count(*)::text FROM triggerstock.candles_1d$$) AS candles_1d;

------------------------------------------------------------------------------
-- sources, feeds, quote sources: what SQL reads of them (the workers: 052_hostile_rows.pl)
------------------------------------------------------------------------------
INSERT INTO triggerstock.sources (name, exchange, url, instruments, symbols, enabled) VALUES
    ('nulls', 'binance', 'ws://127.0.0.1:1', ARRAY[NULL]::text[], ARRAY['X'], false);
INSERT INTO triggerstock.sources (name, exchange, url, instruments, symbols, enabled) VALUES
    ('no instruments', 'binance', 'ws://127.0.0.1:1', '{}', '{}', false);
INSERT INTO triggerstock.sources (name, exchange, url, instruments, symbols, enabled) VALUES
    ('http', 'generic', 'http://127.0.0.1:1', ARRAY['X'], ARRAY['X'], false);
-- sources_check (issue 12) refuses these names now; rows stored before it
-- (a 0.1 database) or with the trigger off must still never crash a reader
ALTER TABLE triggerstock.sources DISABLE TRIGGER sources_check;
INSERT INTO triggerstock.sources (name, exchange, url, instruments, symbols, enabled, active_days, active_from,
                                  active_until, options) VALUES
    ('odd', 'generic', 'ws://127.0.0.1:1/' || repeat('p', 200), ARRAY['', repeat('i', 300)], ARRAY['', ''], false,
     '{}', '00:00', '00:00', '{"batch_size": "many", "map": [1], "subscribe": {"a": 1}, "flush_ms": -5}'),
    ('emoji', 'kraken', 'wss://127.0.0.1:1', ARRAY['🚀/USD'], ARRAY['🚀'], false, ARRAY[7], NULL, NULL, '{"feed": 42}');
ALTER TABLE triggerstock.sources ENABLE TRIGGER sources_check;
INSERT INTO triggerstock.feeds (url, poll_interval, enabled, etag, last_modified, last_polled, last_status, last_error)
VALUES ('', '1 second', false, repeat('e', 10000), '', 'infinity', -1, repeat('x', 100000)),
       ('ftp://127.0.0.1/' || repeat('a', 5000), '10000 years', false, NULL, NULL, '4713-01-01 BC', 999999, NULL);
INSERT INTO triggerstock.quote_sources (url, symbol, options, poll_interval, enabled, last_price, last_ts)
VALUES ('', '', '[1, 2]', '1 second', false, 'NaN', '294276-12-31');
SELECT name, state, frames FROM triggerstock.ingest_status ORDER BY source;
SELECT try($$SELECT count(*)::text FROM triggerstock.worker_plan$$) AS plan,
       try($$SELECT add_feed('')::text$$) ~ '^(ok|ERROR)' AS add_feed,
       try($$SELECT count(*)::text FROM triggerstock.feeds$$) AS feeds;

-- still the same backend, still answering
SELECT predict('ETH') BETWEEN 0 AND 1 AS alive;
