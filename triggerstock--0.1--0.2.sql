/* triggerstock--0.1--0.2.sql: upgrade a 0.1 database to 0.2 */

\echo Use "ALTER EXTENSION triggerstock UPDATE TO '0.2'" to load this file. \quit

-- Every SQL change of 0.2 is made here and in the pieces of the 0.2 install
-- script (SQL_PIECES in the Makefile); test/t/002_upgrade.pl checks that a
-- 0.1 database updated with this file equals a fresh 0.2 install.

-- Issue 9 (layout): the schema's comment names all it holds.
COMMENT ON SCHEMA triggerstock IS
'triggerstock data: trades, candles, news, sources, models and their configuration, status and views';

------------------------------------------------------------------------------
-- Issue 11: honest model evaluation, live scoring for every width and
-- horizon, no crash on rows the extension reads.  (Generated from the
-- pieces; keep in step with src/candles/candles.sql and src/models/models.sql.)
------------------------------------------------------------------------------

-- completeness by data (src/candles/candles.sql)
CREATE FUNCTION @extschema@.watermark(symbol text)
RETURNS timestamptz AS 'MODULE_PATHNAME', 'candle_watermark'
LANGUAGE C STABLE STRICT;
COMMENT ON FUNCTION @extschema@.watermark(text) IS
'the newest time for which the data of symbol is known: close_time (last trade) of its newest 1-minute candle, capped at now(); NULL without candles; a bucket is complete when bucket + width <= watermark (last_complete_bucket)';

CREATE FUNCTION @extschema@.last_complete_bucket(symbol text, width interval)
RETURNS timestamptz AS 'MODULE_PATHNAME', 'candle_last_complete_bucket'
LANGUAGE C STABLE STRICT;
COMMENT ON FUNCTION @extschema@.last_complete_bucket(text, interval) IS
'start of the newest complete bucket of this width that holds a candle of symbol: the newest b with b + width <= watermark(symbol) (buckets aligned to the Unix epoch, as candles(width)); train() learns and predict() and the predictor worker score only buckets up to it; NULL when there is none';

CREATE FUNCTION @extschema@.bucket_close(symbol text, width interval, bucket timestamptz)
RETURNS float8
LANGUAGE sql STABLE STRICT PARALLEL SAFE AS $$
    SELECT (@extschema@.rollup(ROW(k.open, k.high, k.low, k.close, k.volume, k.vwap, k.trades,
                                   k.open_time, k.close_time)::@extschema@.ohlcv)).close
    FROM triggerstock.candles k
    WHERE k.symbol OPERATOR(pg_catalog.=) $1
      AND k.width OPERATOR(pg_catalog.=) pg_catalog.interval '1 minute'
      AND k.bucket OPERATOR(pg_catalog.>=) $3
      AND k.bucket OPERATOR(pg_catalog.<) ($3 OPERATOR(pg_catalog.+) @extschema@.candle_width($2))
$$;
COMMENT ON FUNCTION @extschema@.bucket_close(text, interval, timestamptz) IS
'close of the candle of symbol at this width starting at bucket (as candles(width) gives it: rollup() of its 1-minute candles); NULL when it holds none';

CREATE FUNCTION @extschema@.bucket_ahead(symbol text, width interval, bucket timestamptz, n integer)
RETURNS timestamptz
LANGUAGE sql STABLE STRICT PARALLEL SAFE AS $$
    -- n index probes: each step jumps to the next bucket of this width
    -- holding a 1-minute candle (buckets without candles are no rows of
    -- features(), so they are skipped exactly as the training labels skip them)
    WITH RECURSIVE step(i, b) AS (
        SELECT 0, pg_catalog.date_bin(@extschema@.candle_width($2), $3, pg_catalog.timestamptz 'epoch')
        UNION ALL
        SELECT s.i OPERATOR(pg_catalog.+) 1,
               (SELECT pg_catalog.date_bin(@extschema@.candle_width($2), c.bucket, pg_catalog.timestamptz 'epoch')
                FROM triggerstock.candles c
                WHERE c.symbol OPERATOR(pg_catalog.=) $1
                  AND c.width OPERATOR(pg_catalog.=) pg_catalog.interval '1 minute'
                  AND c.bucket OPERATOR(pg_catalog.>=) (s.b OPERATOR(pg_catalog.+) $2)
                ORDER BY c.bucket LIMIT 1)
        FROM step s
        WHERE s.i OPERATOR(pg_catalog.<) $4 AND s.b IS NOT NULL
    )
    SELECT s.b FROM step s WHERE s.i OPERATOR(pg_catalog.=) $4
$$;
COMMENT ON FUNCTION @extschema@.bucket_ahead(text, interval, timestamptz, integer) IS
'start of the n-th bucket of this width after bucket that holds a candle of symbol, i.e. the features() row n rows later (the row whose close labels a horizon-n model); NULL when there is none yet';

-- models: the invariants the C code relies on (src/models/models.sql)
DROP INDEX triggerstock.models_symbol_id;
ALTER TABLE triggerstock.models
    ADD CONSTRAINT models_symbol_id UNIQUE (symbol, id),
    ADD CONSTRAINT models_width_valid CHECK (width > interval '0' AND date_part('month', width) = 0
                                         AND date_part('year', width) = 0
                                         AND date_part('epoch', width)::numeric % 60 = 0),
    ADD CONSTRAINT models_horizon_valid CHECK (horizon BETWEEN 1 AND 10000),
    ADD CONSTRAINT models_sha256_of_model CHECK (sha256 = encode(sha256(model), 'hex')),
    ADD CONSTRAINT models_features_valid CHECK (array_ndims(features) = 1 AND cardinality(features) >= 1
                                            AND array_position(features, NULL) IS NULL),
    ADD CONSTRAINT models_best_iteration_valid CHECK (best_iteration >= 0),
    ADD CONSTRAINT models_windows_ordered CHECK (train_from <= train_to AND train_to < test_from AND test_from <= test_to),
    ADD CONSTRAINT models_json_objects CHECK (jsonb_typeof(params) = 'object' AND jsonb_typeof(metrics) = 'object'
                                          AND jsonb_typeof(importance) = 'object'
                                          AND jsonb_typeof(drift_reference) = 'object');
-- a deployment serves a model of its own symbol
ALTER TABLE triggerstock.deployments
    DROP CONSTRAINT deployments_model_id_fkey,
    ADD CONSTRAINT deployments_model_fkey FOREIGN KEY (symbol, model_id) REFERENCES triggerstock.models (symbol, id);

-- predictions: one row per (symbol, width, horizon, bucket).  0.1 rows take
-- the width and horizon of their model (else of the model deployed when they
-- were made, else 1 minute and 1); 0.1 judged every row on the next 1-minute
-- candle, so the outcomes of other widths and horizons are cleared and
-- filled again by the predictor with the right rule.
ALTER TABLE triggerstock.predictions ADD COLUMN width interval, ADD COLUMN horizon integer;
UPDATE triggerstock.predictions p
SET width = coalesce(m.width, '1 minute'), horizon = coalesce(m.horizon, 1)
FROM (SELECT q.symbol AS s, q.bucket AS b,
             coalesce((SELECT mm.id FROM triggerstock.models mm WHERE mm.id = q.model_id),
                      (SELECT d.model_id FROM triggerstock.deployments d
                       WHERE d.symbol = q.symbol AND d.deployed_at <= q.predicted_at
                       ORDER BY d.id DESC LIMIT 1)) AS model_id
      FROM triggerstock.predictions q) k
LEFT JOIN triggerstock.models m ON m.id = k.model_id
WHERE p.symbol = k.s AND p.bucket = k.b;
UPDATE triggerstock.predictions SET outcome = NULL, outcome_at = NULL
WHERE width <> interval '1 minute' OR horizon <> 1;
ALTER TABLE triggerstock.predictions
    ALTER COLUMN width SET NOT NULL,
    ALTER COLUMN horizon SET NOT NULL,
    DROP CONSTRAINT predictions_pkey,
    ADD PRIMARY KEY (symbol, width, horizon, bucket),
    ADD CONSTRAINT predictions_width_valid CHECK (width > interval '0' AND date_part('month', width) = 0
                                              AND date_part('year', width) = 0
                                              AND date_part('epoch', width)::numeric % 60 = 0),
    ADD CONSTRAINT predictions_horizon_valid CHECK (horizon BETWEEN 1 AND 10000),
    ADD CONSTRAINT predictions_probability_valid CHECK (probability >= 0 AND probability <= 1),
    ADD CONSTRAINT predictions_abstain_only_without_probability
        CHECK ((fallback_level = 'abstain') = (probability IS NULL)),
    ADD CONSTRAINT predictions_model_level_complete
        CHECK (fallback_level <> 'model' OR (model_id IS NOT NULL AND model_sha256 IS NOT NULL));
CREATE INDEX predictions_pending ON triggerstock.predictions (symbol, width, horizon, bucket)
    WHERE outcome IS NULL;
COMMENT ON TABLE triggerstock.predictions IS
'audit of the online predictor: one row per (symbol, width, horizon, complete bucket) scored by the deployed model of that width and horizon, with what produced it and, once the bucket horizon buckets later is complete, the realised outcome';
COMMENT ON COLUMN triggerstock.predictions.bucket IS 'bucket of the feature row scored (the newest complete bucket of width: last_complete_bucket())';
COMMENT ON COLUMN triggerstock.predictions.probability IS 'probability that the close of the bucket horizon buckets of width after this one is higher than this bucket''s close; NULL when every fallback level abstained';
COMMENT ON COLUMN triggerstock.predictions.outcome IS 'whether the close of the bucket horizon buckets of width later (bucket_ahead()) is higher than this bucket''s close (bucket_close()); NULL until that bucket is complete';
COMMENT ON COLUMN triggerstock.predictions.width IS 'candle width of the deployed model that was scored';
COMMENT ON COLUMN triggerstock.predictions.horizon IS 'horizon, in buckets of width, of the deployed model that was scored';

-- per (symbol, width, horizon) views
DROP VIEW triggerstock.latest_predictions;
DROP VIEW triggerstock.model_live_metrics;
CREATE VIEW triggerstock.latest_predictions AS
SELECT DISTINCT ON (symbol, width, horizon) symbol, width, horizon, bucket, probability, fallback_level,
       model_id, model_sha256, latency_us, predicted_at
FROM triggerstock.predictions
ORDER BY symbol, width, horizon, bucket DESC;
COMMENT ON VIEW triggerstock.latest_predictions IS 'the newest row of triggerstock.predictions per (symbol, width, horizon)';

CREATE VIEW triggerstock.model_live_metrics AS
SELECT r.symbol, r.width, r.horizon, r.model_id, r.model_sha256,
       count(*) AS n,
       avg(((r.probability >= 0.5) = r.outcome)::int) AS accuracy,
       -avg(CASE WHEN r.outcome THEN ln(greatest(r.probability, 1e-15))
                 ELSE ln(greatest(1 - r.probability, 1e-15)) END) AS log_loss,
       -avg(CASE WHEN r.outcome THEN ln(r.train_base_rate) ELSE ln(1 - r.train_base_rate) END)
           AS baseline_log_loss,
       -avg(CASE WHEN r.outcome THEN ln(r.train_base_rate) ELSE ln(1 - r.train_base_rate) END)
           + avg(CASE WHEN r.outcome THEN ln(greatest(r.probability, 1e-15))
                      ELSE ln(greatest(1 - r.probability, 1e-15)) END) AS edge_log_loss,
       avg(r.outcome::int) AS base_rate,
       greatest(avg(r.outcome::int), 1 - avg(r.outcome::int)) AS majority_accuracy,
       min(r.bucket) AS since, max(r.bucket) AS until
FROM (SELECT p.symbol, p.width, p.horizon, p.model_id, p.model_sha256, p.bucket, p.probability, p.outcome,
             CASE WHEN jsonb_typeof(m.metrics -> 'train_base_rate') = 'number'
                  THEN least(greatest((m.metrics ->> 'train_base_rate')::float8, 1e-15), 1 - 1e-15)
             END AS train_base_rate,
             row_number() OVER (PARTITION BY p.symbol, p.width, p.horizon ORDER BY p.bucket DESC) AS age
      FROM triggerstock.predictions p
      LEFT JOIN triggerstock.models m ON m.id = p.model_id
      WHERE p.outcome IS NOT NULL AND p.probability IS NOT NULL AND p.fallback_level = 'model') r
WHERE r.age <= 1440
GROUP BY r.symbol, r.width, r.horizon, r.model_id, r.model_sha256;
COMMENT ON VIEW triggerstock.model_live_metrics IS
'rolling live quality per (symbol, width, horizon) and model over the last 1440 realised model predictions of that width and horizon (outcome: the close horizon buckets of width later against the scored bucket''s close): accuracy and log loss beside the realised base rate, the (hindsight) majority-class accuracy and baseline_log_loss of always predicting the model''s training base rate (edge_log_loss = baseline_log_loss - log_loss)';

-- deploy('best_score') compares models on the same window; new comments
CREATE OR REPLACE FUNCTION @extschema@.deploy(symbol text, strategy text)
RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    current bigint;
    chosen  bigint;
    why     text;
    ref     record;
    n_same  bigint;
    n_other bigint;
BEGIN
    SELECT d.model_id INTO current FROM triggerstock.deployments d
    WHERE d.symbol = deploy.symbol ORDER BY d.id DESC LIMIT 1;
    IF NOT EXISTS (SELECT 1 FROM triggerstock.models m WHERE m.symbol = deploy.symbol) THEN
        RAISE EXCEPTION 'no model for symbol "%"', symbol
            USING ERRCODE = 'no_data_found',
                  HINT = format('Train one first: SELECT train(%L).', symbol);
    END IF;
    CASE strategy
    WHEN 'most_recent' THEN
        SELECT m.id INTO chosen FROM triggerstock.models m
        WHERE m.symbol = deploy.symbol ORDER BY m.id DESC LIMIT 1;
        why := 'newest model';
    WHEN 'best_score' THEN
        -- log losses are comparable only on the same rows: models of the
        -- width, horizon and test window of the symbol's newest model
        SELECT m.width, m.horizon, m.test_from, m.test_to INTO ref FROM triggerstock.models m
        WHERE m.symbol = deploy.symbol ORDER BY m.id DESC LIMIT 1;
        SELECT pg_catalog.count(*) FILTER (WHERE m.width = ref.width AND m.horizon = ref.horizon
                                             AND m.test_from = ref.test_from AND m.test_to = ref.test_to
                                             AND pg_catalog.jsonb_typeof(m.metrics -> 'log_loss') = 'number'),
               pg_catalog.count(*) FILTER (WHERE NOT (m.width = ref.width AND m.horizon = ref.horizon
                                                    AND m.test_from = ref.test_from AND m.test_to = ref.test_to
                                                    AND pg_catalog.jsonb_typeof(m.metrics -> 'log_loss') = 'number'))
        INTO n_same, n_other
        FROM triggerstock.models m WHERE m.symbol = deploy.symbol;
        SELECT m.id INTO chosen FROM triggerstock.models m
        WHERE m.symbol = deploy.symbol AND m.width = ref.width AND m.horizon = ref.horizon
          AND m.test_from = ref.test_from AND m.test_to = ref.test_to
          AND pg_catalog.jsonb_typeof(m.metrics -> 'log_loss') = 'number'
        ORDER BY (m.metrics ->> 'log_loss')::float8, m.id DESC LIMIT 1;
        IF chosen IS NULL THEN
            RAISE EXCEPTION 'no model of "%" with width %, horizon % and test window [%, %] has a test log loss',
                            symbol, ref.width, ref.horizon, ref.test_from, ref.test_to
                USING ERRCODE = 'no_data_found',
                      HINT = 'best_score compares models on the test window of the symbol''s newest model.';
        END IF;
        why := pg_catalog.format('lowest test log loss of %s models of width %s, horizon %s on the test window [%s, %s]',
                                 n_same, ref.width, ref.horizon, ref.test_from, ref.test_to);
        RAISE NOTICE 'best_score compared % model(s) of "%" with width %, horizon % and test window [%, %] (those of its newest model); % other model(s) of "%" have another width, horizon or test window, or no test log loss, and were not compared',
                     n_same, symbol, ref.width, ref.horizon, ref.test_from, ref.test_to, n_other, symbol;
    WHEN 'rollback' THEN
        SELECT d.model_id INTO chosen FROM triggerstock.deployments d
        WHERE d.symbol = deploy.symbol AND d.model_id IS DISTINCT FROM current
        ORDER BY d.id DESC LIMIT 1;
        IF chosen IS NULL THEN
            RAISE EXCEPTION 'nothing to roll back to for symbol "%"', symbol
                USING ERRCODE = 'no_data_found',
                      HINT = 'Rollback needs an earlier deployment of another model.';
        END IF;
        why := format('rollback from model %s', current);
    ELSE
        RAISE EXCEPTION 'unknown deployment strategy "%"', strategy
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Use best_score, most_recent or rollback, or deploy(model_id).';
    END CASE;
    IF chosen IS NOT DISTINCT FROM current THEN
        RAISE NOTICE 'model % is already deployed for "%"', chosen, symbol;
        RETURN chosen;
    END IF;
    INSERT INTO triggerstock.deployments (symbol, model_id, strategy, reason)
    VALUES (symbol, chosen, strategy, why);
    RETURN chosen;
END
$$;
COMMENT ON COLUMN triggerstock.models.model IS 'the booster as saved by XGBoosterSaveModelToBuffer (UBJSON): best_iteration + 1 rounds refit on all training rows; python: xgboost.Booster(model_file=bytearray(model))';
COMMENT ON COLUMN triggerstock.models.params IS 'effective training parameters: XGBoost''s (as strings) plus test_fraction, validation_fraction, num_boost_round, early_stopping_rounds';
COMMENT ON COLUMN triggerstock.models.best_iteration IS 'zero-based boosting round with the lowest log loss on the validation slice (the end of the training rows; the test window chooses nothing), or the last round when early_stopping_rounds = 0; the stored model has best_iteration + 1 rounds';
COMMENT ON COLUMN triggerstock.models.metrics IS 'test-window metrics (accuracy, precision, recall, f1, roc_auc, log_loss, brier), each beside its baseline on the same window (majority_accuracy; baseline_log_loss and baseline_brier of always predicting the training base rate; edge_log_loss = baseline_log_loss - log_loss), n_train, n_fit, n_validation, n_test, validation_log_loss, rounds, time ranges, training_ms; see README';
COMMENT ON FUNCTION @extschema@.train(text, interval, integer, jsonb) IS
'trains an XGBoost classifier on the complete rows of features(symbol, width) (bucket <= last_complete_bucket(symbol, width)): label = close horizon buckets ahead > close now; time-ordered split (newest params.test_fraction, default 0.2, for testing, horizon rows left out before it); early stopping on a validation slice cut from the end of the training rows (params.validation_fraction, default 0.2, horizon rows left out before it), then a refit on all training rows with the chosen number of rounds; the test window is scored once, after every choice, beside its baselines; stores the model and its metrics, deploys it when its test log loss beats the deployed model''s of the same symbol, width and horizon on the same window; returns the model id, or NULL (with a NOTICE) when the symbol is being trained by another session';
COMMENT ON FUNCTION @extschema@.predict(text) IS
'probability that the close horizon buckets ahead is higher than the close of the newest complete bucket (width and horizon of the deployed model: for horizon h it is h buckets of that width ahead, not the next bucket): the deployed model on the newest complete feature row (last_complete_bucket()), else the last model score of that width and horizon if younger than triggerstock.last_score_max_age, else the rules baseline, else NULL; predict_explain() says which';
COMMENT ON FUNCTION @extschema@.predict_explain(text) IS
'what predict(symbol) answers and why: probability, question (the bucket, width and horizon the probability is about: the close horizon buckets of width after bucket against the close of bucket), width, horizon, watermark, fallback_level (model, last_score, rules, abstain), model_id, sha256, reason for skipped levels, bucket and values of the feature row';
COMMENT ON FUNCTION @extschema@.deploy(text, text) IS
'deploys a model of symbol: most_recent (newest), best_score (lowest test log loss among the models with the width, horizon and test window of the symbol''s newest model, so that the log losses are measured on the same rows; a NOTICE says how many were compared and how many were not), rollback (the model of the latest deployment that is not the current one; twice returns to where it started); returns the model id; a no-op with a NOTICE when it is already deployed';
