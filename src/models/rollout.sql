------------------------------------------------------------------------------
-- src/models/rollout.sql
-- Rollouts (issue 15): shadow and canary candidates beside the live model,
-- the promotion rule, its automatic decisions.  After src/privileges.sql
-- (it grants to the extension's roles).
--
-- Invariants:
--  - deployments stay append-only: a candidate is a deployments row of mode
--    shadow or canary, active while it is the latest row of its symbol and
--    target: any later row ends it (another candidate, a retirement, its
--    promotion, or any new live deployment: a candidate is judged against
--    the live model it was deployed beside); so at most one candidate per
--    (symbol, target) is active (rollout_candidates), and predict()'s
--    backward index scan to the live row passes over it (model_cache.c);
--  - a canary serves the buckets whose rollout_canary_share() is below its
--    fraction, a pure function of (symbol, target, bucket) (rollout.c);
--  - the live model of (symbol, target) is that of its latest live row
--    (triggerstock.deployed, predict()): a candidate row is never served;
--  - a candidate answers the live model's question: same width and horizon,
--    so its scores and the live model's are paired bucket by bucket;
--  - every automatic decision is a deployments row (strategy promotion,
--    rollback or retirement) whose metrics hold the figures and the rule
--    behind it; the figures are those of rollout_status, read under the
--    decision's advisory lock.
------------------------------------------------------------------------------

COMMENT ON COLUMN triggerstock.deployments.mode IS
'live (the deployed model of its symbol and target: the latest live row), shadow (a candidate scored by the predictor beside the live model, never served), canary (a candidate that also serves predict() for a share of buckets, see fraction), retired (the end of a candidacy: rollback or retirement)';
COMMENT ON COLUMN triggerstock.deployments.fraction IS
'canary only: the share of scored buckets in (0, 1) whose predict() the candidate serves (those whose rollout_canary_share() is below it)';
COMMENT ON COLUMN triggerstock.deployments.metrics IS
'for the rows of an automatic decision (promotion, rollback, retirement): the figures of rollout_status at the decision and the rule applied; NULL otherwise';
COMMENT ON COLUMN triggerstock.deployments.strategy IS
'best_score, most_recent, rollback, or model_id (deploy(id)); train() deploys with best_score; rollout decisions (rollout_evaluate()): promotion (a live row of the candidate), rollback (mode retired: the candidate was worse than its baseline on live data) and retirement (mode retired: not better than the live model after max_outcomes, or retire())';
COMMENT ON COLUMN triggerstock.predictions.mode IS
'live: the score of the deployed model; shadow or canary: the score of the rollout candidate of that mode (never served by predict() nor used as its last score)';

CREATE TABLE triggerstock.rollout_rules (
    symbol          text NOT NULL,
    target          text NOT NULL DEFAULT 'direction',
    min_outcomes    integer NOT NULL DEFAULT 500,
    max_outcomes    integer,
    min_improvement float8 NOT NULL DEFAULT 0,
    baseline_margin float8 NOT NULL DEFAULT 0,
    enabled         boolean NOT NULL DEFAULT true,
    PRIMARY KEY (symbol, target),
    CONSTRAINT rollout_rules_target_valid CHECK (target IN ('direction', 'return', 'volatility')),
    CONSTRAINT rollout_rules_min_outcomes_valid CHECK (min_outcomes BETWEEN 1 AND 1000000),
    CONSTRAINT rollout_rules_max_outcomes_valid CHECK (max_outcomes IS NULL OR max_outcomes >= min_outcomes),
    CONSTRAINT rollout_rules_min_improvement_valid CHECK (min_improvement >= 0 AND min_improvement < 1),
    CONSTRAINT rollout_rules_baseline_margin_valid CHECK (baseline_margin >= 0 AND baseline_margin <> 'Infinity')
);
COMMENT ON TABLE triggerstock.rollout_rules IS
'the promotion rule of the rollout candidates of (symbol, target); a candidate without a row follows the column defaults (min_outcomes 500, no max_outcomes, min_improvement 0, baseline_margin 0, enabled)';
COMMENT ON COLUMN triggerstock.rollout_rules.min_outcomes IS 'realised candidate scores needed before any decision (and paired with the live model''s before a promotion)';
COMMENT ON COLUMN triggerstock.rollout_rules.max_outcomes IS 'realised candidate scores after which a candidate not promoted is retired (NULL: never)';
COMMENT ON COLUMN triggerstock.rollout_rules.min_improvement IS 'promotion when the candidate''s live loss (log loss; mse for the regressions) on the buckets both scored is below the live model''s times (1 - min_improvement)';
COMMENT ON COLUMN triggerstock.rollout_rules.baseline_margin IS 'rollback when the candidate''s live loss exceeds that of its baseline on the same rows (its training base rate; its training mean) by more than this';
COMMENT ON COLUMN triggerstock.rollout_rules.enabled IS 'false: rollout_evaluate() decides nothing for (symbol, target); the figures stay in rollout_status';
SELECT pg_catalog.pg_extension_config_dump('triggerstock.rollout_rules', '');

CREATE VIEW triggerstock.rollout_candidates AS
SELECT c.id AS deployment_id, c.symbol, c.target, c.model_id, c.mode, c.fraction, c.deployed_at, c.deployed_by,
       m.width, m.horizon, m.sha256
FROM triggerstock.deployments c JOIN triggerstock.models m ON m.id = c.model_id
WHERE c.mode IN ('shadow', 'canary')
  AND NOT EXISTS (SELECT 1 FROM triggerstock.deployments e
                  WHERE e.symbol = c.symbol AND e.target = c.target AND e.id > c.id);
COMMENT ON VIEW triggerstock.rollout_candidates IS
'the active rollout candidate of each symbol and target: a deployments row of mode shadow or canary that is the latest row of its symbol and target (any later deployment ends it: another candidate, a decision, a new live model)';

CREATE FUNCTION @extschema@.rollout_canary_share(symbol text, target text, bucket timestamptz)
RETURNS float8
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp AS $$
    SELECT (('x' OPERATOR(pg_catalog.||) pg_catalog.substr(pg_catalog.md5(
               $1 OPERATOR(pg_catalog.||) ' ' OPERATOR(pg_catalog.||) $2 OPERATOR(pg_catalog.||) ' '
               OPERATOR(pg_catalog.||) pg_catalog.floor(pg_catalog.date_part('epoch', $3))::bigint::text), 1, 8))
            ::bit(32)::bigint)::float8 OPERATOR(pg_catalog./) 4294967296.0::float8
$$;
COMMENT ON FUNCTION @extschema@.rollout_canary_share(text, text, timestamptz) IS
'the canary share of a scored bucket, in [0, 1): the first 32 bits of md5(symbol || '' '' || target || '' '' || Unix epoch seconds of bucket) as an unsigned integer / 2^32; a canary candidate of fraction f serves predict() for the buckets whose share is below f (the same computation in C, src/models/rollout.c), so which model answered a bucket depends on nothing but (symbol, target, bucket)';

CREATE VIEW triggerstock.rollout_status AS
WITH c AS (
    SELECT c.deployment_id, c.symbol, c.target, c.model_id, c.mode, c.fraction, c.deployed_at, c.width, c.horizon,
           l.model_id AS live_model_id,
           coalesce(r.min_outcomes, 500) AS min_outcomes, r.max_outcomes,
           coalesce(r.min_improvement, 0) AS min_improvement, coalesce(r.baseline_margin, 0) AS baseline_margin,
           coalesce(r.enabled, true) AS enabled,
           CASE WHEN c.target = 'direction' AND jsonb_typeof(m.metrics -> 'train_base_rate') = 'number'
                THEN least(greatest((m.metrics ->> 'train_base_rate')::float8, 1e-15), 1 - 1e-15) END AS base_rate,
           CASE WHEN c.target <> 'direction' AND jsonb_typeof(m.metrics -> 'train_mean') = 'number'
                THEN (m.metrics ->> 'train_mean')::float8 END AS train_mean
    FROM triggerstock.rollout_candidates c
    JOIN triggerstock.models m ON m.id = c.model_id
    LEFT JOIN triggerstock.deployed l ON l.symbol = c.symbol AND l.target = c.target
    LEFT JOIN triggerstock.rollout_rules r ON r.symbol = c.symbol AND r.target = c.target
), scored AS (
    -- the candidate's realised model scores since its deployment, each with
    -- the live model's score of the same bucket when there is one
    SELECT c.deployment_id, p.bucket,
           CASE WHEN c.target = 'direction'
                THEN -ln(CASE WHEN p.outcome THEN greatest(p.probability, 1e-15) ELSE greatest(1 - p.probability, 1e-15) END)
                WHEN c.target = 'volatility' THEN (ln(p.outcome_value) - ln(p.forecast)) ^ 2
                ELSE (p.outcome_value - p.forecast) ^ 2 END AS loss,
           CASE WHEN c.target = 'direction'
                THEN -ln(CASE WHEN p.outcome THEN c.base_rate ELSE 1 - c.base_rate END)
                WHEN c.target = 'volatility' THEN (ln(p.outcome_value) - c.train_mean) ^ 2
                ELSE (p.outcome_value - c.train_mean) ^ 2 END AS baseline_loss,
           CASE WHEN q.bucket IS NULL THEN NULL
                WHEN c.target = 'direction'
                THEN -ln(CASE WHEN q.outcome THEN greatest(q.probability, 1e-15) ELSE greatest(1 - q.probability, 1e-15) END)
                WHEN c.target = 'volatility' THEN (ln(q.outcome_value) - ln(q.forecast)) ^ 2
                ELSE (q.outcome_value - q.forecast) ^ 2 END AS live_loss
    FROM c
    JOIN triggerstock.predictions p
      ON p.symbol = c.symbol AND p.width = c.width AND p.horizon = c.horizon AND p.target = c.target
     AND p.mode = c.mode AND p.model_id = c.model_id AND p.fallback_level = 'model'
     AND p.predicted_at >= c.deployed_at
     AND CASE WHEN c.target = 'direction' THEN p.outcome IS NOT NULL AND p.probability IS NOT NULL
              WHEN c.target = 'volatility' THEN p.forecast > 0 AND p.outcome_value > 0
              ELSE p.forecast IS NOT NULL AND p.outcome_value IS NOT NULL END
    LEFT JOIN triggerstock.predictions q
      ON q.symbol = p.symbol AND q.width = p.width AND q.horizon = p.horizon AND q.target = p.target
     AND q.mode = 'live' AND q.bucket = p.bucket AND q.model_id = c.live_model_id AND q.fallback_level = 'model'
     AND CASE WHEN c.target = 'direction' THEN q.outcome IS NOT NULL AND q.probability IS NOT NULL
              WHEN c.target = 'volatility' THEN q.forecast > 0 AND q.outcome_value > 0
              ELSE q.forecast IS NOT NULL AND q.outcome_value IS NOT NULL END
), figures AS (
    SELECT c.*, count(s.bucket) AS n, avg(s.loss) AS loss, avg(s.baseline_loss) AS baseline_loss,
           count(s.live_loss) AS n_paired, avg(s.loss) FILTER (WHERE s.live_loss IS NOT NULL) AS loss_paired,
           avg(s.live_loss) AS live_loss_paired, min(s.bucket) AS since, max(s.bucket) AS until
    FROM c LEFT JOIN scored s ON s.deployment_id = c.deployment_id
    GROUP BY c.deployment_id, c.symbol, c.target, c.model_id, c.mode, c.fraction, c.deployed_at, c.width, c.horizon,
             c.live_model_id, c.min_outcomes, c.max_outcomes, c.min_improvement, c.baseline_margin, c.enabled,
             c.base_rate, c.train_mean
)
SELECT f.deployment_id, f.symbol, f.target, f.mode, f.fraction, f.model_id, f.live_model_id, f.width, f.horizon,
       f.deployed_at, f.n, f.loss, f.baseline_loss, f.n_paired, f.loss_paired, f.live_loss_paired,
       f.since, f.until, f.min_outcomes, f.max_outcomes, f.min_improvement, f.baseline_margin, f.enabled,
       CASE WHEN f.n < f.min_outcomes THEN 'wait'
            WHEN f.baseline_loss IS NULL OR f.loss > f.baseline_loss + f.baseline_margin THEN 'rollback'
            WHEN f.n_paired >= f.min_outcomes AND f.loss_paired < f.live_loss_paired * (1 - f.min_improvement)
                THEN 'promotion'
            WHEN f.n >= f.max_outcomes THEN 'retirement'
            ELSE 'wait' END AS decision
FROM figures f;
COMMENT ON VIEW triggerstock.rollout_status IS
'each active rollout candidate with its live figures and the decision its rule (rollout_rules, else the defaults) takes now: n realised model scores of the candidate since its deployment, loss (mean log loss; mean squared error, of ln for volatility) and baseline_loss on them (the candidate''s training base rate; its training mean), n_paired buckets the live model also scored with its model, loss_paired and live_loss_paired on them; decision: wait (fewer than min_outcomes), rollback (loss > baseline_loss + baseline_margin, or no baseline), promotion (n_paired >= min_outcomes and loss_paired < live_loss_paired * (1 - min_improvement)), retirement (n >= max_outcomes), else wait';

CREATE FUNCTION @extschema@.deploy(model_id bigint, mode text, fraction float8 DEFAULT NULL)
RETURNS bigint
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    m    record;
    live record;
BEGIN
    IF mode IS NULL OR mode NOT IN ('live', 'shadow', 'canary') THEN
        RAISE EXCEPTION 'unknown deployment mode "%"', mode
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Use live, shadow or canary.';
    END IF;
    IF (mode = 'canary') <> (fraction IS NOT NULL) THEN
        RAISE EXCEPTION 'fraction is for mode canary only, and canary needs one'
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'deploy(model_id, mode => ''canary'', fraction => 0.1)';
    END IF;
    IF NOT (fraction > 0 AND fraction < 1) THEN
        RAISE EXCEPTION 'canary fraction % is not between 0 and 1', fraction
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'The share of buckets the candidate serves, e.g. 0.1.';
    END IF;
    IF mode = 'live' THEN
        RETURN @extschema@.deploy(model_id);
    END IF;
    SELECT x.symbol, x.target, x.width, x.horizon INTO m FROM triggerstock.models x WHERE x.id = deploy.model_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'model % does not exist', model_id
            USING ERRCODE = 'no_data_found',
                  HINT = 'Models are listed in triggerstock.models.';
    END IF;
    SELECT d.model_id, d.width, d.horizon INTO live FROM triggerstock.deployed d
    WHERE d.symbol = m.symbol AND d.target = m.target;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'no live % model of "%" to roll model % out beside', m.target, m.symbol, model_id
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = pg_catalog.format('Deploy it live instead: SELECT deploy(%s).', model_id);
    END IF;
    IF live.model_id = model_id THEN
        RAISE EXCEPTION 'model % is the live % model of "%"', model_id, m.target, m.symbol
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'A candidate is another model of the same symbol and target.';
    END IF;
    IF live.width <> m.width OR live.horizon <> m.horizon THEN
        RAISE EXCEPTION 'model % (width %, horizon %) does not answer the question of the live model % (width %, horizon %)',
                        model_id, m.width, m.horizon, live.model_id, live.width, live.horizon
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'A candidate is compared with the live model bucket by bucket: train it with the same width and horizon.';
    END IF;
    INSERT INTO triggerstock.deployments (symbol, model_id, strategy, reason, target, mode, fraction)
    VALUES (m.symbol, model_id, 'model_id',
            pg_catalog.format('deploy(model_id, mode => %s%s) beside live model %s', mode,
                              CASE WHEN mode = 'canary' THEN ', fraction => ' OPERATOR(pg_catalog.||) fraction END,
                              live.model_id),
            m.target, mode, fraction);
    RETURN model_id;
END
$$;
COMMENT ON FUNCTION @extschema@.deploy(bigint, text, double precision) IS
'deploys a model as a rollout candidate beside the live model of its symbol and target (which it must not be, of the same width and horizon): mode shadow (the predictor scores it into predictions with mode shadow; predict() never serves it) or canary with fraction (the predictor scores it with mode canary, and predict() serves it for the buckets whose rollout_canary_share() is below fraction; predict_explain() says deployment_mode canary or live); mode live is deploy(model_id); a new candidate replaces the active one, any later deployment ends it; rollout_evaluate() promotes or retires it by the rule of rollout_rules; returns the model id';

CREATE FUNCTION @extschema@.retire(symbol text, target text DEFAULT 'direction')
RETURNS bigint
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    c record;
BEGIN
    SELECT r.model_id, r.mode INTO c FROM triggerstock.rollout_candidates r
    WHERE r.symbol = retire.symbol AND r.target = retire.target;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'no rollout candidate of "%" for target %', symbol, target
            USING ERRCODE = 'no_data_found',
                  HINT = 'Active candidates are listed in triggerstock.rollout_candidates.';
    END IF;
    INSERT INTO triggerstock.deployments (symbol, model_id, strategy, reason, target, mode)
    VALUES (symbol, c.model_id, 'retirement', pg_catalog.format('retire(): %s candidate ended by hand', c.mode),
            target, 'retired');
    RETURN c.model_id;
END
$$;
COMMENT ON FUNCTION @extschema@.retire(text, text) IS
'ends the active rollout candidate of (symbol, target) by hand (a deployments row of strategy retirement, mode retired); returns its model id';

CREATE FUNCTION @extschema@.rollout_evaluate()
RETURNS TABLE (symbol text, target text, model_id bigint, decision text, deployment_id bigint)
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    s record;
    score text;
    why text;
BEGIN
    -- one evaluation at a time (the predictor each pass, or a caller): a
    -- decision is taken once; a second caller decides nothing now
    IF NOT pg_catalog.pg_try_advisory_xact_lock(pg_catalog.hashtext('triggerstock.rollout_evaluate')) THEN
        RETURN;
    END IF;
    FOR s IN SELECT * FROM triggerstock.rollout_status r WHERE r.enabled AND r.decision <> 'wait'
             ORDER BY r.deployment_id LOOP
        score := CASE WHEN s.target = 'direction' THEN 'log loss' ELSE 'mse' END;
        why := CASE s.decision
            WHEN 'rollback' THEN pg_catalog.format(
                'rollout: %s candidate rolled back: live %s %s on %s outcomes > %s of its baseline + margin %s',
                s.mode, score, s.loss, s.n, s.baseline_loss, s.baseline_margin)
            WHEN 'promotion' THEN pg_catalog.format(
                'rollout: %s candidate promoted over live model %s: live %s %s < %s on the %s buckets both scored (min_improvement %s; baseline %s on %s outcomes)',
                s.mode, s.live_model_id, score, s.loss_paired, s.live_loss_paired, s.n_paired, s.min_improvement,
                s.baseline_loss, s.n)
            ELSE pg_catalog.format(
                'rollout: %s candidate retired after %s outcomes (max_outcomes %s) without beating live model %s: %s %s against %s on %s paired buckets',
                s.mode, s.n, s.max_outcomes, s.live_model_id, score, s.loss_paired, s.live_loss_paired, s.n_paired)
            END;
        INSERT INTO triggerstock.deployments (symbol, model_id, strategy, reason, target, mode, metrics)
        VALUES (s.symbol, s.model_id, s.decision, why, s.target,
                CASE WHEN s.decision = 'promotion' THEN 'live' ELSE 'retired' END,
                pg_catalog.jsonb_build_object(
                    'candidate_deployment_id', s.deployment_id, 'candidate_mode', s.mode,
                    'live_model_id', s.live_model_id, 'loss', score,
                    'n', s.n, 'candidate_loss', s.loss, 'baseline_loss', s.baseline_loss,
                    'n_paired', s.n_paired, 'candidate_loss_paired', s.loss_paired,
                    'live_loss_paired', s.live_loss_paired, 'since', s.since, 'until', s.until,
                    'rule', pg_catalog.jsonb_build_object('min_outcomes', s.min_outcomes, 'max_outcomes', s.max_outcomes,
                                                          'min_improvement', s.min_improvement,
                                                          'baseline_margin', s.baseline_margin)))
        RETURNING id INTO deployment_id;
        RAISE LOG 'triggerstock %', why;
        symbol := s.symbol;
        target := s.target;
        model_id := s.model_id;
        decision := s.decision;
        RETURN NEXT;
    END LOOP;
END
$$;
COMMENT ON FUNCTION @extschema@.rollout_evaluate() IS
'applies the promotion rule to every active rollout candidate whose rollout_status decision is not wait (rules enabled): promotion inserts a live deployments row of the candidate (strategy promotion), rollback and retirement a row of mode retired; each row''s reason and metrics hold the figures and the rule; the predictor worker calls it after each pass; returns the decisions taken';

-- privileges (as src/privileges.sql: reading for the reader, deciding for the admin)
GRANT SELECT ON triggerstock.rollout_rules, triggerstock.rollout_candidates, triggerstock.rollout_status
    TO triggerstock_reader;
GRANT INSERT, UPDATE, DELETE ON triggerstock.rollout_rules TO triggerstock_admin;
REVOKE EXECUTE ON FUNCTION
    @extschema@.deploy(bigint, text, double precision),
    @extschema@.retire(text, text),
    @extschema@.rollout_evaluate()
    FROM PUBLIC;
GRANT EXECUTE ON FUNCTION
    @extschema@.deploy(bigint, text, double precision),
    @extschema@.retire(text, text),
    @extschema@.rollout_evaluate()
    TO triggerstock_admin;
