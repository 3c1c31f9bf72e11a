------------------------------------------------------------------------------
-- src/models/models.sql
-- Models: training, registry, deployment, serving.
------------------------------------------------------------------------------

CREATE TABLE triggerstock.models (
    id              bigserial PRIMARY KEY,
    symbol          text NOT NULL,
    width           interval NOT NULL,
    horizon         integer NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    model           bytea NOT NULL,
    sha256          text NOT NULL,
    params          jsonb NOT NULL,
    features        text[] NOT NULL,
    best_iteration  integer NOT NULL,
    train_from      timestamptz NOT NULL,
    train_to        timestamptz NOT NULL,
    test_from       timestamptz NOT NULL,
    test_to         timestamptz NOT NULL,
    metrics         jsonb NOT NULL,
    importance      jsonb NOT NULL,
    drift_reference jsonb NOT NULL,
    source          text NOT NULL,
    -- added in 0.2 (issue 15), hence after the 0.1 columns
    target          text NOT NULL DEFAULT 'direction',
    -- the invariants the C code relies on when it reads a row (issue 11)
    CONSTRAINT models_symbol_id UNIQUE (symbol, id),
    CONSTRAINT models_width_valid CHECK (width > interval '0' AND date_part('month', width) = 0
                                         AND date_part('year', width) = 0
                                         AND date_part('epoch', width)::numeric % 60 = 0),
    CONSTRAINT models_horizon_valid CHECK (horizon BETWEEN 1 AND 10000),
    CONSTRAINT models_sha256_of_model CHECK (sha256 = encode(sha256(model), 'hex')),
    CONSTRAINT models_features_valid CHECK (array_ndims(features) = 1 AND cardinality(features) >= 1
                                            AND array_position(features, NULL) IS NULL),
    CONSTRAINT models_best_iteration_valid CHECK (best_iteration >= 0),
    CONSTRAINT models_windows_ordered CHECK (train_from <= train_to AND train_to < test_from AND test_from <= test_to),
    CONSTRAINT models_json_objects CHECK (jsonb_typeof(params) = 'object' AND jsonb_typeof(metrics) = 'object'
                                          AND jsonb_typeof(importance) = 'object'
                                          AND jsonb_typeof(drift_reference) = 'object'),
    CONSTRAINT models_target_valid CHECK (target IN ('direction', 'return', 'volatility')),
    CONSTRAINT models_symbol_target_id UNIQUE (symbol, target, id)
);
COMMENT ON TABLE triggerstock.models IS
'trained XGBoost models, one row per train() call; rows are immutable (UPDATE is refused) so a model id always names the same bytes';
COMMENT ON COLUMN triggerstock.models.model IS 'the booster as saved by XGBoosterSaveModelToBuffer (UBJSON): best_iteration + 1 rounds refit on all training rows; python: xgboost.Booster(model_file=bytearray(model))';
COMMENT ON COLUMN triggerstock.models.sha256 IS 'hex sha256 of model, recorded with every prediction';
COMMENT ON COLUMN triggerstock.models.params IS 'effective training parameters: XGBoost''s (as strings) plus test_fraction, validation_fraction, num_boost_round, early_stopping_rounds';
COMMENT ON COLUMN triggerstock.models.features IS 'feature names in matrix column order: every numeric column of the feature rows except symbol, bucket and close';
COMMENT ON COLUMN triggerstock.models.best_iteration IS 'zero-based boosting round with the lowest log loss on the validation slice (the end of the training rows; the test window chooses nothing), or the last round when early_stopping_rounds = 0; the stored model has best_iteration + 1 rounds';
COMMENT ON COLUMN triggerstock.models.metrics IS 'test-window metrics (accuracy, precision, recall, f1, roc_auc, log_loss, brier), each beside its baseline on the same window (majority_accuracy; baseline_log_loss and baseline_brier of always predicting the training base rate; edge_log_loss = baseline_log_loss - log_loss), n_train, n_fit, n_validation, n_test, validation_log_loss, rounds, time ranges, training_ms; see README';
COMMENT ON COLUMN triggerstock.models.importance IS 'gain importance per feature (0 when unused)';
COMMENT ON COLUMN triggerstock.models.drift_reference IS 'per feature: decile edges of the training rows and the share of training rows in each bin (last bin: missing), for feature_drift()';
COMMENT ON COLUMN triggerstock.models.source IS '''features()'' for train(), else the query given to train_from_query()';

CREATE FUNCTION @extschema@.models_immutable()
RETURNS trigger LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    RAISE EXCEPTION 'triggerstock.% rows cannot be changed', TG_TABLE_NAME
        USING ERRCODE = 'object_not_in_prerequisite_state',
              HINT = CASE TG_TABLE_NAME WHEN 'deployments'
                          THEN 'Deployments are an append-only history: call deploy() to change the deployed model.'
                          ELSE 'Train a new model instead; a model id always names the same bytes.' END;
END
$$;
COMMENT ON FUNCTION @extschema@.models_immutable() IS
'trigger refusing UPDATE of triggerstock.models and UPDATE, DELETE and TRUNCATE of triggerstock.deployments';
CREATE TRIGGER models_immutable BEFORE UPDATE ON triggerstock.models
    FOR EACH ROW EXECUTE FUNCTION @extschema@.models_immutable();

CREATE TABLE triggerstock.deployments (
    id          bigserial PRIMARY KEY,
    symbol      text NOT NULL,
    model_id    bigint NOT NULL,
    strategy    text NOT NULL CONSTRAINT deployments_strategy_valid
                    CHECK (strategy IN ('best_score', 'most_recent', 'rollback', 'model_id', 'promotion', 'retirement')),
    reason      text,
    deployed_at timestamptz NOT NULL DEFAULT now(),
    deployed_by text NOT NULL DEFAULT current_user,
    -- added in 0.2 (issue 15)
    target      text NOT NULL DEFAULT 'direction',
    -- added in 0.2 (issue 15, rollouts: src/models/rollout.sql)
    mode        text NOT NULL DEFAULT 'live',
    fraction    float8,
    metrics     jsonb,
    CONSTRAINT deployments_mode_valid CHECK (mode IN ('live', 'shadow', 'canary', 'retired')),
    CONSTRAINT deployments_fraction_of_canary
        CHECK ((mode = 'canary') = (fraction IS NOT NULL) AND (fraction IS NULL OR (fraction > 0 AND fraction < 1))),
    CONSTRAINT deployments_metrics_object CHECK (jsonb_typeof(metrics) = 'object'),
    -- a deployment serves a model of its own symbol (issue 11)
    CONSTRAINT deployments_model_fkey FOREIGN KEY (symbol, model_id) REFERENCES triggerstock.models (symbol, id),
    -- ... and of its own target (issue 15)
    CONSTRAINT deployments_model_target_fkey FOREIGN KEY (symbol, target, model_id)
        REFERENCES triggerstock.models (symbol, target, id)
);
CREATE INDEX deployments_symbol_id ON triggerstock.deployments (symbol, id);
COMMENT ON TABLE triggerstock.deployments IS
'append-only deployment history; the deployed model of a symbol is that of its latest row; an insert invalidates every backend''s deployment cache at commit';
COMMENT ON COLUMN triggerstock.deployments.strategy IS 'best_score, most_recent, rollback, or model_id (deploy(id)); train() deploys with best_score';
COMMENT ON COLUMN triggerstock.deployments.reason IS 'why this model was deployed (for train(): the log losses compared)';
CREATE TRIGGER deployments_append_only BEFORE UPDATE OR DELETE ON triggerstock.deployments
    FOR EACH ROW EXECUTE FUNCTION @extschema@.models_immutable();
CREATE TRIGGER deployments_no_truncate BEFORE TRUNCATE ON triggerstock.deployments
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.models_immutable();
-- relcache invalidation at commit: backends drop their deployment cache, the
-- launcher re-reads worker_plan (the predictor runs while deployments exist)
CREATE TRIGGER deployments_changed AFTER INSERT ON triggerstock.deployments
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.config_changed();

CREATE TABLE triggerstock.predictions (
    symbol          text NOT NULL,
    bucket          timestamptz NOT NULL,
    probability     float8,
    model_id        bigint,
    model_sha256    text,
    fallback_level  text NOT NULL CONSTRAINT predictions_level_valid
                        CHECK (fallback_level IN ('model', 'last_score', 'rules', 'abstain')),
    features        jsonb,
    latency_us      bigint,
    predicted_at    timestamptz NOT NULL DEFAULT now(),
    outcome         boolean,
    outcome_at      timestamptz,
    -- added in 0.2 (issue 11), hence after the 0.1 columns
    width           interval NOT NULL,
    horizon         integer NOT NULL,
    -- added in 0.2 (issue 15)
    target          text NOT NULL DEFAULT 'direction',
    forecast        float8,
    outcome_value   float8,
    -- added in 0.2 (issue 15, rollouts: src/models/rollout.sql)
    mode            text NOT NULL DEFAULT 'live',
    PRIMARY KEY (symbol, width, horizon, target, mode, bucket),
    CONSTRAINT predictions_mode_valid CHECK (mode IN ('live', 'shadow', 'canary')),
    CONSTRAINT predictions_width_valid CHECK (width > interval '0' AND date_part('month', width) = 0
                                              AND date_part('year', width) = 0
                                              AND date_part('epoch', width)::numeric % 60 = 0),
    CONSTRAINT predictions_horizon_valid CHECK (horizon BETWEEN 1 AND 10000),
    CONSTRAINT predictions_probability_valid CHECK (probability >= 0 AND probability <= 1),
    CONSTRAINT predictions_abstain_only_without_probability
        CHECK ((fallback_level = 'abstain') = (probability IS NULL AND forecast IS NULL)),
    CONSTRAINT predictions_target_valid CHECK (target IN ('direction', 'return', 'volatility')),
    CONSTRAINT predictions_answer_of_target
        CHECK (CASE WHEN target = 'direction' THEN forecast IS NULL ELSE probability IS NULL END),
    CONSTRAINT predictions_model_level_complete
        CHECK (fallback_level <> 'model' OR (model_id IS NOT NULL AND model_sha256 IS NOT NULL))
);
CREATE INDEX predictions_predicted_at ON triggerstock.predictions (symbol, predicted_at);
CREATE INDEX predictions_pending ON triggerstock.predictions (symbol, width, horizon, bucket)
    WHERE outcome IS NULL;
COMMENT ON TABLE triggerstock.predictions IS
'audit of the online predictor: one row per (symbol, width, horizon, complete bucket) scored by the deployed model of that width and horizon, with what produced it and, once the bucket horizon buckets later is complete, the realised outcome';
COMMENT ON COLUMN triggerstock.predictions.bucket IS 'bucket of the feature row scored (the newest complete bucket of width: last_complete_bucket())';
COMMENT ON COLUMN triggerstock.predictions.probability IS 'probability that the close of the bucket horizon buckets of width after this one is higher than this bucket''s close; NULL when every fallback level abstained';
COMMENT ON COLUMN triggerstock.predictions.fallback_level IS 'model, last_score, rules or abstain (see predict_explain())';
COMMENT ON COLUMN triggerstock.predictions.features IS 'snapshot of the feature row scored';
COMMENT ON COLUMN triggerstock.predictions.latency_us IS 'time to score, microseconds (feature row, model, fallbacks)';
COMMENT ON COLUMN triggerstock.predictions.outcome IS 'whether the close of the bucket horizon buckets of width later (bucket_ahead()) is higher than this bucket''s close (bucket_close()); NULL until that bucket is complete';
COMMENT ON COLUMN triggerstock.predictions.width IS 'candle width of the deployed model that was scored';
COMMENT ON COLUMN triggerstock.predictions.horizon IS 'horizon, in buckets of width, of the deployed model that was scored';

COMMENT ON SEQUENCE triggerstock.models_id_seq IS 'ids of triggerstock.models';
COMMENT ON SEQUENCE triggerstock.deployments_id_seq IS 'ids of triggerstock.deployments (their order is the deployment order)';
SELECT pg_catalog.pg_extension_config_dump('triggerstock.models', '');
SELECT pg_catalog.pg_extension_config_dump('triggerstock.models_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('triggerstock.deployments', '');
SELECT pg_catalog.pg_extension_config_dump('triggerstock.deployments_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('triggerstock.predictions', '');

CREATE FUNCTION @extschema@.train(symbol text, width interval DEFAULT '1 minute',
                                  horizon integer DEFAULT 1, params jsonb DEFAULT '{}',
                                  target text DEFAULT 'direction',
                                  since timestamptz DEFAULT NULL, until timestamptz DEFAULT NULL,
                                  "window" interval DEFAULT NULL)
RETURNS bigint AS 'MODULE_PATHNAME', 'model_train'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@.train(text, interval, integer, jsonb, text, timestamptz, timestamptz, interval) IS
'trains an XGBoost model on the complete rows of features(symbol, width) (bucket <= last_complete_bucket(symbol, width)), optionally only those in [since, until] or in the "window" (an interval, written "window" => ''10 days'': WINDOW is a reserved word) ending at until (default: the newest complete bucket); target direction (default): a classifier of close horizon buckets ahead > close now; target return: a regression of ln(close horizon buckets ahead / close now); target volatility: a regression of ln of the realised volatility over the next horizon buckets, sqrt(sum of the squared log returns of buckets +1 .. +horizon), floored at 1e-6 (the model predicts its log; predict() answers exp of it); time-ordered split (newest params.test_fraction, default 0.2, for testing, horizon rows left out before it); early stopping on a validation slice cut from the end of the training rows (params.validation_fraction, default 0.2, horizon rows left out before it; log loss, or rmse for the regressions), then a refit on all training rows with the chosen number of rounds; the test window is scored once, after every choice, beside its baselines (regressions: the training mean, zero return, persistence and a HAR model of the 1-, 5- and 22-bucket realised volatility fitted on the training rows; metrics.beats says which the model beats, by how much, and whether significantly); stores the model and its metrics, deploys it when it beats the deployed model of the same symbol and target (same width and horizon) on the same window; returns the model id, or NULL (with a NOTICE) when the symbol is being trained by another session';

CREATE FUNCTION @extschema@.train_from_query(symbol text, query text, width interval DEFAULT '1 minute',
                                             horizon integer DEFAULT 1, params jsonb DEFAULT '{}')
RETURNS bigint AS 'MODULE_PATHNAME', 'model_train_query'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@.train_from_query(text, text, interval, integer, jsonb) IS
'train() on an explicit feature query: it must return a timestamptz column bucket (strictly increasing), a numeric column close and numeric feature columns (all other numeric columns but symbol)';

CREATE FUNCTION @extschema@.predict(symbol text)
RETURNS float8 AS 'MODULE_PATHNAME', 'model_predict_symbol'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@.predict(text) IS
'probability that the close horizon buckets ahead is higher than the close of the newest complete bucket (width and horizon of the deployed model: for horizon h it is h buckets of that width ahead, not the next bucket): the deployed model on the newest complete feature row (last_complete_bucket()), else the last model score of that width and horizon if younger than triggerstock.last_score_max_age, else the rules baseline, else NULL; predict_explain() says which';

CREATE FUNCTION @extschema@.predict(symbol text, features float8[])
RETURNS float8 AS 'MODULE_PATHNAME', 'model_predict_features'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@.predict(text, float8[]) IS
'probability from the deployed model of symbol on the given features, in the order of triggerstock.models.features (NULL elements are missing values)';

CREATE FUNCTION @extschema@.predict_explain(symbol text)
RETURNS jsonb AS 'MODULE_PATHNAME', 'model_predict_explain'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@.predict_explain(text) IS
'what predict(symbol) answers and why: probability, question (the bucket, width and horizon the probability is about: the close horizon buckets of width after bucket against the close of bucket), width, horizon, watermark, fallback_level (model, last_score, rules, abstain), model_id, sha256, reason for skipped levels, bucket and values of the feature row';

CREATE FUNCTION @extschema@.model_cache_count()
RETURNS integer AS 'MODULE_PATHNAME', 'model_cache_size_now'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@.model_cache_count() IS
'number of boosters loaded in this backend (at most triggerstock.model_cache_size)';

CREATE FUNCTION @extschema@.feature_drift(symbol text, recent integer DEFAULT 1440)
RETURNS TABLE (feature text, psi float8, training_missing float8, recent_missing float8)
AS 'MODULE_PATHNAME', 'model_feature_drift'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@.feature_drift(text, integer) IS
'population stability index of each feature of the deployed model: its training rows (decile bins stored at training) against the last `recent` feature rows; below 0.1 stable, 0.1-0.25 moderate, above 0.25 drifted';

CREATE FUNCTION @extschema@.deploy(model_id bigint)
RETURNS bigint
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    sym text;
    tgt text;
BEGIN
    SELECT m.symbol, m.target INTO sym, tgt FROM triggerstock.models m WHERE m.id = model_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'model % does not exist', model_id
            USING ERRCODE = 'no_data_found',
                  HINT = 'Models are listed in triggerstock.models.';
    END IF;
    INSERT INTO triggerstock.deployments (symbol, model_id, strategy, reason, target)
    VALUES (sym, model_id, 'model_id', 'deploy(model_id)', tgt);
    RETURN model_id;
END
$$;
COMMENT ON FUNCTION @extschema@.deploy(bigint) IS
'deploys the given model for its symbol and target; returns its id; other sessions use it from their next call after commit';

CREATE FUNCTION @extschema@.deploy(symbol text, strategy text, target text)
RETURNS bigint
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    current bigint;
    chosen  bigint;
    why     text;
    ref     record;
    n_same  bigint;
    n_other bigint;
    score_key text := CASE WHEN target = 'direction' THEN 'log_loss' ELSE 'mse' END;
    -- messages about direction models read as before targets existed
    score_name text := CASE WHEN target = 'direction' THEN 'log loss' ELSE 'mse' END;
    kind text := CASE WHEN target = 'direction' THEN '' ELSE target OPERATOR(pg_catalog.||) ' ' END;
BEGIN
    SELECT d.model_id INTO current FROM triggerstock.deployments d
    WHERE d.symbol = deploy.symbol AND d.target = deploy.target AND d.mode = 'live' ORDER BY d.id DESC LIMIT 1;
    IF target IS NULL OR target NOT IN ('direction', 'return', 'volatility') THEN
        RAISE EXCEPTION 'unknown target "%"', target
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Use direction, return or volatility.';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM triggerstock.models m WHERE m.symbol = deploy.symbol AND m.target = deploy.target) THEN
        RAISE EXCEPTION 'no %model for symbol "%"', kind, symbol
            USING ERRCODE = 'no_data_found',
                  HINT = CASE WHEN target = 'direction' THEN pg_catalog.format('Train one first: SELECT train(%L).', symbol)
                              ELSE pg_catalog.format('Train one first: SELECT train(%L, target => %L).', symbol, target) END;
    END IF;
    CASE strategy
    WHEN 'most_recent' THEN
        SELECT m.id INTO chosen FROM triggerstock.models m
        WHERE m.symbol = deploy.symbol AND m.target = deploy.target ORDER BY m.id DESC LIMIT 1;
        why := 'newest model';
    WHEN 'best_score' THEN
        -- log losses are comparable only on the same rows: models of the
        -- width, horizon and test window of the symbol's newest model
        SELECT m.width, m.horizon, m.test_from, m.test_to INTO ref FROM triggerstock.models m
        WHERE m.symbol = deploy.symbol AND m.target = deploy.target ORDER BY m.id DESC LIMIT 1;
        SELECT pg_catalog.count(*) FILTER (WHERE m.width = ref.width AND m.horizon = ref.horizon
                                             AND m.test_from = ref.test_from AND m.test_to = ref.test_to
                                             AND pg_catalog.jsonb_typeof(m.metrics -> score_key) = 'number'),
               pg_catalog.count(*) FILTER (WHERE NOT (m.width = ref.width AND m.horizon = ref.horizon
                                                    AND m.test_from = ref.test_from AND m.test_to = ref.test_to
                                                    AND pg_catalog.jsonb_typeof(m.metrics -> score_key) = 'number'))
        INTO n_same, n_other
        FROM triggerstock.models m WHERE m.symbol = deploy.symbol AND m.target = deploy.target;
        SELECT m.id INTO chosen FROM triggerstock.models m
        WHERE m.symbol = deploy.symbol AND m.target = deploy.target AND m.width = ref.width AND m.horizon = ref.horizon
          AND m.test_from = ref.test_from AND m.test_to = ref.test_to
          AND pg_catalog.jsonb_typeof(m.metrics -> score_key) = 'number'
        ORDER BY (m.metrics ->> score_key)::double precision, m.id DESC LIMIT 1;
        IF chosen IS NULL THEN
            RAISE EXCEPTION 'no %model of "%" with width %, horizon % and test window [%, %] has a test %',
                            kind, symbol, ref.width, ref.horizon, ref.test_from, ref.test_to, score_name
                USING ERRCODE = 'no_data_found',
                      HINT = 'best_score compares models on the test window of the symbol''s newest model.';
        END IF;
        why := pg_catalog.format('lowest test %s of %s %smodels of width %s, horizon %s on the test window [%s, %s]',
                                 score_name, n_same, kind, ref.width, ref.horizon, ref.test_from, ref.test_to);
        RAISE NOTICE 'best_score compared % %model(s) of "%" with width %, horizon % and test window [%, %] (those of its newest model); % other model(s) of "%" have another width, horizon or test window, or no test %, and were not compared',
                     n_same, kind, symbol, ref.width, ref.horizon, ref.test_from, ref.test_to, n_other, symbol, score_name;
    WHEN 'rollback' THEN
        SELECT d.model_id INTO chosen FROM triggerstock.deployments d
        WHERE d.symbol = deploy.symbol AND d.target = deploy.target AND d.model_id IS DISTINCT FROM current AND d.mode = 'live'
        ORDER BY d.id DESC LIMIT 1;
        IF chosen IS NULL THEN
            RAISE EXCEPTION 'nothing to roll back to for %symbol "%"', CASE WHEN target = 'direction' THEN ''
                                                                             ELSE target OPERATOR(pg_catalog.||) ' of ' END, symbol
                USING ERRCODE = 'no_data_found',
                      HINT = 'Rollback needs an earlier deployment of another model.';
        END IF;
        why := pg_catalog.format('rollback from model %s', current);
    ELSE
        RAISE EXCEPTION 'unknown deployment strategy "%"', strategy
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Use best_score, most_recent or rollback, or deploy(model_id).';
    END CASE;
    IF chosen IS NOT DISTINCT FROM current THEN
        RAISE NOTICE 'model % is already deployed for %"%"', chosen, kind, symbol;
        RETURN chosen;
    END IF;
    INSERT INTO triggerstock.deployments (symbol, model_id, strategy, reason, target)
    VALUES (symbol, chosen, strategy, why, target);
    RETURN chosen;
END
$$;
COMMENT ON FUNCTION @extschema@.deploy(text, text, text) IS
'deploys a model of symbol for target (direction, return or volatility; one deployed model per symbol and target): most_recent (newest), best_score (lowest test log loss (regressions: mse) among the models with the width, horizon and test window of the symbol''s newest model, so that the log losses are measured on the same rows; a NOTICE says how many were compared and how many were not), rollback (the model of the latest deployment that is not the current one; twice returns to where it started); returns the model id; a no-op with a NOTICE when it is already deployed';

CREATE FUNCTION @extschema@.deploy(symbol text, strategy text)
RETURNS bigint
LANGUAGE sql
SET search_path = pg_catalog, pg_temp AS $$
    SELECT @extschema@.deploy($1, $2, 'direction')
$$;
COMMENT ON FUNCTION @extschema@.deploy(text, text) IS
'deploy(symbol, strategy, ''direction''): deploys a direction model of symbol: most_recent (newest), best_score (lowest test log loss among the models with the width, horizon and test window of the symbol''s newest model, so that the log losses are measured on the same rows; a NOTICE says how many were compared and how many were not), rollback (the model of the latest deployment that is not the current one; twice returns to where it started); returns the model id; a no-op with a NOTICE when it is already deployed';

CREATE VIEW triggerstock.deployed AS
SELECT DISTINCT ON (d.symbol, d.target) d.symbol, d.model_id, m.sha256, d.strategy, d.deployed_at,
       m.width, m.horizon, m.metrics, d.target
FROM triggerstock.deployments d JOIN triggerstock.models m ON m.id = d.model_id
WHERE d.mode = 'live'
ORDER BY d.symbol, d.target, d.id DESC;
COMMENT ON VIEW triggerstock.deployed IS 'the deployed (live) model of each symbol and target (direction, return, volatility) with its test metrics: the latest deployments row of mode live; shadow and canary candidates are in rollout_candidates';

CREATE VIEW triggerstock.latest_predictions AS
SELECT DISTINCT ON (symbol, width, horizon, target) symbol, width, horizon, bucket, probability, fallback_level,
       model_id, model_sha256, latency_us, predicted_at, target, forecast
FROM triggerstock.predictions
WHERE mode = 'live'
ORDER BY symbol, width, horizon, target, bucket DESC;
COMMENT ON VIEW triggerstock.latest_predictions IS 'the newest row of triggerstock.predictions of the live deployment per (symbol, width, horizon, target) (candidates'' rows: rollout_status)';

CREATE VIEW triggerstock.model_live_metrics AS
WITH r AS (
    SELECT q.* FROM (
        SELECT p.symbol, p.width, p.horizon, p.target, p.model_id, p.model_sha256, p.bucket, p.probability, p.outcome, p.mode,
               CASE WHEN jsonb_typeof(m.metrics -> 'train_base_rate') = 'number'
                    THEN least(greatest((m.metrics ->> 'train_base_rate')::float8, 1e-15), 1 - 1e-15)
               END AS train_base_rate,
               CASE WHEN jsonb_typeof(m.metrics -> 'ece') = 'number' THEN (m.metrics ->> 'ece')::float8 END AS test_ece,
               row_number() OVER (PARTITION BY p.symbol, p.width, p.horizon, p.target, p.mode ORDER BY p.bucket DESC) AS age
        FROM triggerstock.predictions p
        LEFT JOIN triggerstock.models m ON m.id = p.model_id
        WHERE p.outcome IS NOT NULL AND p.probability IS NOT NULL AND p.fallback_level = 'model'
          AND p.target = 'direction') q
    WHERE q.age <= 1440
), bins AS (
    -- calibration (issue 15): ten equal-width probability bins
    SELECT r.symbol, r.width, r.horizon, r.target, r.model_id, r.model_sha256,
           least(floor(r.probability * 10), 9)::int AS bin,
           count(*) AS n, avg(r.probability) AS mean_probability, avg(r.outcome::int) AS observed_rate, r.mode
    FROM r
    GROUP BY r.symbol, r.width, r.horizon, r.target, r.model_id, r.model_sha256, 7, r.mode
), calibration AS (
    SELECT b.symbol, b.width, b.horizon, b.target, b.model_id, b.model_sha256, b.mode,
           sum(b.n * abs(b.mean_probability - b.observed_rate)) / sum(b.n) AS ece,
           jsonb_agg(jsonb_build_object('bin', b.bin, 'from', b.bin / 10.0, 'to', (b.bin + 1) / 10.0, 'n', b.n,
                                        'mean_probability', b.mean_probability, 'observed_rate', b.observed_rate)
                     ORDER BY b.bin) AS reliability
    FROM bins b
    GROUP BY b.symbol, b.width, b.horizon, b.target, b.model_id, b.model_sha256, b.mode
)
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
       min(r.bucket) AS since, max(r.bucket) AS until,
       r.target, c.ece, c.reliability, r.mode,
       max(r.test_ece) AS test_ece, c.ece - max(r.test_ece) AS ece_drift,
       count(*) >= 100 AND c.ece - max(r.test_ece)
           > coalesce(nullif(current_setting('triggerstock.calibration_drift_threshold', true), '')::float8, 0.05)
           AS calibration_alert
FROM r
JOIN calibration c ON c.symbol = r.symbol AND c.width = r.width AND c.horizon = r.horizon AND c.target = r.target
                  AND c.model_id = r.model_id AND c.model_sha256 = r.model_sha256 AND c.mode = r.mode
GROUP BY r.symbol, r.width, r.horizon, r.target, r.model_id, r.model_sha256, c.ece, c.reliability, r.mode;
COMMENT ON VIEW triggerstock.model_live_metrics IS
'rolling live quality of the direction models per (symbol, width, horizon) and model over the last 1440 realised model predictions of that width and horizon (outcome: the close horizon buckets of width later against the scored bucket''s close): accuracy and log loss beside the realised base rate, the (hindsight) majority-class accuracy and baseline_log_loss of always predicting the model''s training base rate (edge_log_loss = baseline_log_loss - log_loss); calibration: ece, the expected calibration error over ten equal-width probability bins (sum of n_bin / n * |mean probability - observed rate|), and reliability, those bins as a jsonb array (bin, from, to, n, mean_probability, observed_rate; empty bins left out); target is always direction (the regressions: model_live_regression); mode: live, or shadow / canary for the scores of a rollout candidate (each mode has its own 1440 rows); calibration drift: test_ece, the model''s ece on its test window (models.metrics.ece; NULL for a model trained before it was stored), ece_drift = ece - test_ece, and calibration_alert, true when n >= 100 and ece_drift exceeds triggerstock.calibration_drift_threshold (default 0.05; the ece of few rows is biased upwards)';

-- Issue 15: targets other than direction.  A model has a target; a symbol
-- has one deployed model per target; predictions carry their target, the
-- forecast of a regression and its realised value.
COMMENT ON COLUMN triggerstock.models.target IS 'what the model predicts: direction (probability that the close horizon buckets ahead is higher), return (ln of close horizon buckets ahead / close) or volatility (ln of the realised volatility over the next horizon buckets; predict() answers exp of it)';
COMMENT ON COLUMN triggerstock.deployments.target IS 'the target of the deployed model: a symbol has one deployed model per target; predict(symbol) serves direction';
COMMENT ON COLUMN triggerstock.predictions.target IS 'target of the deployed model that was scored (direction, return, volatility)';
COMMENT ON COLUMN triggerstock.predictions.forecast IS 'the forecast of a return or volatility model (log return; realised volatility, not its log); NULL for direction, and when every fallback level abstained';
COMMENT ON COLUMN triggerstock.predictions.outcome_value IS 'the realised value the forecast is about (realised_target()); NULL for direction and until the bucket horizon buckets later is complete';

CREATE FUNCTION @extschema@.predict(symbol text, target text)
RETURNS float8 AS 'MODULE_PATHNAME', 'model_predict_symbol'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@.predict(text, text) IS
'predict(symbol) for the deployed model of target: direction gives the probability of predict(symbol); return the forecast log return ln(close horizon buckets ahead / close of the newest complete bucket); volatility the forecast realised volatility over the next horizon buckets (exp of the model''s log forecast); fallback: the model, else its last score if younger than triggerstock.last_score_max_age, else (direction only) the rules baseline, else NULL';

CREATE FUNCTION @extschema@.predict_explain(symbol text, target text)
RETURNS jsonb AS 'MODULE_PATHNAME', 'model_predict_explain'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@.predict_explain(text, text) IS
'what predict(symbol, target) answers and why: as predict_explain(symbol), with target and, for a regression, forecast instead of probability';

CREATE FUNCTION @extschema@.realised_target(symbol text, width interval, bucket timestamptz,
                                            horizon integer, target text)
RETURNS float8
LANGUAGE sql STABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp AS $$
    -- the closes of bucket and of the horizon buckets of width after it that
    -- hold candles (the features() rows train() labels with)
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
    ), closes AS (
        SELECT s.i, @extschema@.bucket_close($1, $2, s.b) AS c FROM step s WHERE s.b IS NOT NULL
    ), steps AS (
        SELECT k.i, k.c, pg_catalog.lag(k.c) OVER (ORDER BY k.i) AS prev FROM closes k
    )
    SELECT CASE
        WHEN pg_catalog.count(*) OPERATOR(pg_catalog.<>) ($4 OPERATOR(pg_catalog.+) 1)
             OR pg_catalog.bool_or(NOT (x.c OPERATOR(pg_catalog.>) 0)) THEN NULL
        WHEN $5 OPERATOR(pg_catalog.=) 'return' THEN
            pg_catalog.ln(pg_catalog.max(x.c) FILTER (WHERE x.i OPERATOR(pg_catalog.=) $4)
                          OPERATOR(pg_catalog./) pg_catalog.max(x.c) FILTER (WHERE x.i OPERATOR(pg_catalog.=) 0))
        WHEN $5 OPERATOR(pg_catalog.=) 'volatility' THEN
            GREATEST(pg_catalog.sqrt(pg_catalog.sum(pg_catalog.ln(x.c OPERATOR(pg_catalog./) x.prev)
                                                    OPERATOR(pg_catalog.^) 2)
                                     FILTER (WHERE x.i OPERATOR(pg_catalog.>) 0 AND x.prev OPERATOR(pg_catalog.>) 0)),
                     1e-6::float8)
        WHEN $5 OPERATOR(pg_catalog.=) 'direction' THEN
            (pg_catalog.max(x.c) FILTER (WHERE x.i OPERATOR(pg_catalog.=) $4)
             OPERATOR(pg_catalog.>) pg_catalog.max(x.c) FILTER (WHERE x.i OPERATOR(pg_catalog.=) 0))::int::float8
        END
    FROM steps x
$$;
COMMENT ON FUNCTION @extschema@.realised_target(text, interval, timestamptz, integer, text) IS
'the realised value of a target for the row of bucket, from the closes of bucket and of the horizon buckets of width after it that hold candles (bucket_close(), bucket_ahead()): return ln(close ahead / close), volatility sqrt(sum of the squared log returns of the horizon steps) floored at 1e-6, direction 1 or 0; NULL while a bucket is missing or a close is not positive; train() computes its labels with the same rule (in C, from the rows it reads)';

CREATE VIEW triggerstock.model_live_regression AS
SELECT r.symbol, r.width, r.horizon, r.target, r.model_id, r.model_sha256,
       count(*) AS n,
       avg((r.y - r.f) ^ 2) AS mse,
       avg(abs(r.y - r.f)) AS mae,
       avg((r.y - r.train_mean) ^ 2) AS baseline_mse,
       1 - avg((r.y - r.f) ^ 2) / nullif(avg((r.y - r.train_mean) ^ 2), 0) AS r2,
       avg(((r.f > 0) = (r.y > 0))::int) FILTER (WHERE r.target = 'return' AND r.y <> 0) AS directional_accuracy,
       avg(exp(2 * (r.y - r.f)) - 2 * (r.y - r.f) - 1) FILTER (WHERE r.target = 'volatility') AS qlike,
       min(r.bucket) AS since, max(r.bucket) AS until, r.mode
FROM (SELECT p.symbol, p.width, p.horizon, p.target, p.model_id, p.model_sha256, p.bucket, p.mode,
             CASE WHEN p.target = 'volatility' THEN ln(p.forecast) ELSE p.forecast END AS f,
             CASE WHEN p.target = 'volatility' THEN ln(p.outcome_value) ELSE p.outcome_value END AS y,
             CASE WHEN jsonb_typeof(m.metrics -> 'train_mean') = 'number'
                  THEN (m.metrics ->> 'train_mean')::float8 END AS train_mean,
             row_number() OVER (PARTITION BY p.symbol, p.width, p.horizon, p.target, p.mode ORDER BY p.bucket DESC) AS age
      FROM triggerstock.predictions p
      LEFT JOIN triggerstock.models m ON m.id = p.model_id
      WHERE p.target <> 'direction' AND p.fallback_level = 'model'
        AND p.forecast IS NOT NULL AND p.outcome_value IS NOT NULL
        AND (p.target = 'return' OR (p.forecast > 0 AND p.outcome_value > 0))) r
WHERE r.age <= 1440
GROUP BY r.symbol, r.width, r.horizon, r.target, r.model_id, r.model_sha256, r.mode;
COMMENT ON VIEW triggerstock.model_live_regression IS
'rolling live quality of the return and volatility models per (symbol, width, horizon, target) and model over the last 1440 realised model forecasts: mse and mae (on the log return; on ln of the realised volatility), baseline_mse of always forecasting the training mean of the label (metrics.train_mean) and r2 = 1 - mse / baseline_mse, directional_accuracy of a return (sign of forecast and outcome, zero outcomes left out), qlike of a volatility (on the variances: ratio - ln ratio - 1); mode: live, or shadow / canary for the scores of a rollout candidate (each mode has its own 1440 rows)';
