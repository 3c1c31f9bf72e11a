------------------------------------------------------------------------------
-- src/models/signals.sql
-- Decisions and signals (issue 15): rules that turn the predictor's scores
-- into long / short / no-trade decisions with an abstain band and a
-- cooldown, the signals they produce (written by the predictor worker in the
-- transaction of the prediction, announced with NOTIFY triggerstock_signals
-- at its commit), and backtest() of a model on test-window or live rows.
------------------------------------------------------------------------------

CREATE TABLE triggerstock.signal_rules (
    id          bigserial PRIMARY KEY,
    symbol      text NOT NULL,
    target      text NOT NULL DEFAULT 'direction',
    long_above  float8 NOT NULL,
    short_below float8 NOT NULL,
    cooldown    interval NOT NULL DEFAULT '0',
    models_only boolean NOT NULL DEFAULT true,
    enabled     boolean NOT NULL DEFAULT true,
    created_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT signal_rules_symbol_valid CHECK (octet_length(symbol) BETWEEN 1 AND 63),
    CONSTRAINT signal_rules_target_valid CHECK (target IN ('direction', 'return')),
    -- NaN sorts above Infinity in PostgreSQL: these refuse NaN and both infinities
    CONSTRAINT signal_rules_thresholds_finite
        CHECK (long_above > '-Infinity' AND long_above < 'Infinity'
               AND short_below > '-Infinity' AND short_below < 'Infinity'),
    CONSTRAINT signal_rules_band_ordered CHECK (short_below <= long_above),
    CONSTRAINT signal_rules_probability_range
        CHECK (target <> 'direction' OR (short_below >= 0 AND long_above <= 1)),
    CONSTRAINT signal_rules_cooldown_valid CHECK (cooldown >= interval '0' AND cooldown <= interval '366 days')
);
CREATE INDEX signal_rules_symbol ON triggerstock.signal_rules (symbol, target) WHERE enabled;
COMMENT ON TABLE triggerstock.signal_rules IS
'decision rules the predictor applies to each score it commits for (symbol, target): long when the answer is above long_above, short when it is below short_below, no trade in the abstain band between them (and at either threshold); no long or short within cooldown (in bucket time) of the rule''s previous long or short';
COMMENT ON COLUMN triggerstock.signal_rules.symbol IS 'the symbol whose deployed model of target is scored (1 to 63 bytes)';
COMMENT ON COLUMN triggerstock.signal_rules.target IS 'direction (default: thresholds on the probability, within [0, 1]) or return (thresholds on the forecast log return); volatility has no direction to trade';
COMMENT ON COLUMN triggerstock.signal_rules.long_above IS 'long when the probability (direction) or forecast log return (return) is strictly above this; finite';
COMMENT ON COLUMN triggerstock.signal_rules.short_below IS 'short when the answer is strictly below this; finite, at most long_above (the band between them abstains)';
COMMENT ON COLUMN triggerstock.signal_rules.cooldown IS 'no long or short within this interval of bucket time after the rule''s previous long or short: the decision is none with reason cooldown (0: no cooldown; at most 366 days)';
COMMENT ON COLUMN triggerstock.signal_rules.models_only IS 'when true (default) an answer of a fallback level (last_score, rules) gives decision none with reason fallback; when false it is decided like a model answer';
COMMENT ON COLUMN triggerstock.signal_rules.enabled IS 'only enabled rules produce signals';
COMMENT ON COLUMN triggerstock.signal_rules.created_at IS 'when the rule was created';
COMMENT ON SEQUENCE triggerstock.signal_rules_id_seq IS 'ids of triggerstock.signal_rules';

CREATE TABLE triggerstock.signals (
    id             bigserial PRIMARY KEY,
    rule_id        bigint REFERENCES triggerstock.signal_rules (id) ON DELETE SET NULL,
    symbol         text NOT NULL,
    target         text NOT NULL,
    width          interval NOT NULL,
    horizon        integer NOT NULL,
    bucket         timestamptz NOT NULL,
    decision       text NOT NULL CONSTRAINT signals_decision_valid CHECK (decision IN ('long', 'short', 'none')),
    reason         text NOT NULL CONSTRAINT signals_reason_valid
                       CHECK (reason IN ('long_above', 'short_below', 'band', 'cooldown', 'fallback', 'no_answer')),
    probability    float8,
    forecast       float8,
    model_id       bigint,
    model_sha256   text,
    fallback_level text NOT NULL CONSTRAINT signals_level_valid
                       CHECK (fallback_level IN ('model', 'last_score', 'rules', 'abstain')),
    created_at     timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT signals_trade_has_reason
        CHECK ((decision = 'long') = (reason = 'long_above') AND (decision = 'short') = (reason = 'short_below')),
    CONSTRAINT signals_one_per_rule_bucket UNIQUE (rule_id, width, horizon, bucket)
);
CREATE INDEX signals_rule_trades ON triggerstock.signals (rule_id, bucket) WHERE decision <> 'none';
CREATE INDEX signals_symbol_created ON triggerstock.signals (symbol, created_at);
COMMENT ON TABLE triggerstock.signals IS
'one row per decision of an enabled signal rule on a prediction the predictor committed (same transaction as the prediction row); each row is sent at commit as NOTIFY triggerstock_signals with the row as JSON (row_to_json) as payload, so a listener sees each committed signal exactly once';
COMMENT ON COLUMN triggerstock.signals.rule_id IS 'the rule that decided (NULL once the rule is deleted)';
COMMENT ON COLUMN triggerstock.signals.symbol IS 'symbol of the prediction decided on';
COMMENT ON COLUMN triggerstock.signals.target IS 'target of the prediction (direction or return)';
COMMENT ON COLUMN triggerstock.signals.width IS 'candle width of the model that was scored';
COMMENT ON COLUMN triggerstock.signals.horizon IS 'horizon, in buckets of width, of the model that was scored';
COMMENT ON COLUMN triggerstock.signals.created_at IS 'when the predictor decided (its transaction''s start)';
COMMENT ON COLUMN triggerstock.signals.bucket IS 'bucket of the prediction (triggerstock.predictions.bucket): the feature row scored';
COMMENT ON COLUMN triggerstock.signals.decision IS 'long, short or none (no trade)';
COMMENT ON COLUMN triggerstock.signals.reason IS 'long_above / short_below (a trade), band (the answer is in the abstain band), cooldown (a trade within the rule''s cooldown of its previous trade), fallback (the answer came from a fallback level and the rule is models_only), no_answer (every fallback level abstained)';
COMMENT ON COLUMN triggerstock.signals.probability IS 'the direction probability decided on (NULL for return)';
COMMENT ON COLUMN triggerstock.signals.forecast IS 'the forecast log return decided on (NULL for direction)';
COMMENT ON COLUMN triggerstock.signals.model_id IS 'the model that answered (NULL for the rules level and abstain)';
COMMENT ON COLUMN triggerstock.signals.model_sha256 IS 'sha256 of that model''s bytes';
COMMENT ON COLUMN triggerstock.signals.fallback_level IS 'the level of predict()''s fallback chain that answered: model, last_score, rules or abstain';
COMMENT ON SEQUENCE triggerstock.signals_id_seq IS 'ids of triggerstock.signals (their order is the commit order within a pass)';
SELECT pg_catalog.pg_extension_config_dump('triggerstock.signal_rules', '');
SELECT pg_catalog.pg_extension_config_dump('triggerstock.signal_rules_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('triggerstock.signals', '');
SELECT pg_catalog.pg_extension_config_dump('triggerstock.signals_id_seq', '');

CREATE FUNCTION @extschema@.signals_record(symbol text, width interval, horizon integer, target text,
                                           bucket timestamptz)
RETURNS integer
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    p    record;
    r    record;
    s    triggerstock.signals;
    v    float8;
    prev timestamptz;
    dec  text;
    why  text;
    n    integer := 0;
BEGIN
    SELECT q.* INTO p FROM triggerstock.predictions q
    WHERE q.symbol = $1 AND q.width = $2 AND q.horizon = $3 AND q.target = $4 AND q.bucket = $5;
    IF NOT FOUND THEN
        RETURN 0;
    END IF;
    -- the CHECKs of signal_rules say every row passes these; a row that
    -- does not (a constraint dropped by the owner) is skipped, never decided on
    FOR r IN SELECT x.id, x.long_above, x.short_below, x.cooldown, x.models_only
             FROM triggerstock.signal_rules x
             WHERE x.symbol = p.symbol AND x.target = p.target AND x.enabled
               AND x.long_above > '-Infinity' AND x.long_above < 'Infinity'
               AND x.short_below > '-Infinity' AND x.short_below < 'Infinity'
               AND x.short_below <= x.long_above AND x.cooldown >= interval '0'
             ORDER BY x.id
    LOOP
        v := CASE WHEN p.target = 'direction' THEN p.probability ELSE p.forecast END;
        IF v IS NULL OR v = 'NaN'::float8 THEN
            dec := 'none'; why := 'no_answer';
        ELSIF r.models_only AND p.fallback_level <> 'model' THEN
            dec := 'none'; why := 'fallback';
        ELSIF v > r.long_above THEN
            dec := 'long'; why := 'long_above';
        ELSIF v < r.short_below THEN
            dec := 'short'; why := 'short_below';
        ELSE
            dec := 'none'; why := 'band';
        END IF;
        IF dec <> 'none' AND r.cooldown > interval '0' THEN
            SELECT g.bucket INTO prev FROM triggerstock.signals g
            WHERE g.rule_id = r.id AND g.decision <> 'none' AND g.bucket < p.bucket
            ORDER BY g.bucket DESC LIMIT 1;
            IF FOUND AND p.bucket - prev < r.cooldown THEN
                dec := 'none'; why := 'cooldown';
            END IF;
        END IF;
        INSERT INTO triggerstock.signals AS g (rule_id, symbol, target, width, horizon, bucket, decision, reason,
                                               probability, forecast, model_id, model_sha256, fallback_level)
        VALUES (r.id, p.symbol, p.target, p.width, p.horizon, p.bucket, dec, why,
                p.probability, p.forecast, p.model_id, p.model_sha256, p.fallback_level)
        ON CONFLICT DO NOTHING
        RETURNING g.* INTO s;
        IF FOUND THEN
            PERFORM pg_catalog.pg_notify('triggerstock_signals', pg_catalog.row_to_json(s)::text);
            n := n + 1;
        END IF;
    END LOOP;
    RETURN n;
END
$$;
COMMENT ON FUNCTION @extschema@.signals_record(text, interval, integer, text, timestamptz) IS
'called by the predictor worker in the transaction of each prediction row it inserts: one triggerstock.signals row per enabled rule of the prediction''s symbol and target (long above long_above, short below short_below, else none: band; none with reason cooldown, fallback or no_answer as the rule says), each announced with pg_notify(''triggerstock_signals'', row_to_json of the row), delivered at commit; returns the number of rows written (a bucket already decided by a rule is not decided again)';

CREATE FUNCTION @extschema@.backtest(model_id bigint, "from" timestamptz, "to" timestamptz,
                                     fee_bps float8 DEFAULT 10, threshold float8 DEFAULT NULL)
RETURNS jsonb AS 'MODULE_PATHNAME', 'model_backtest'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@.backtest(bigint, timestamptz, timestamptz, float8, float8) IS
'backtest of a direction or return model on the complete features() rows of its symbol and width from "from" to "to" (see README, Signals and backtests): every horizon-th row from the first one at or after "from" takes a position held for horizon rows (direction: long when the probability is above threshold (default 0.5, within [0.5, 1)), short when below 1 - threshold, else flat; return: long above threshold (default 0), short below -threshold), earning the log return of the close horizon rows later, less fee_bps (default 10) per unit of position change, entry and final exit included; returns jsonb: for the model, buy_and_hold and the rules baseline (rsi_14 and macd_hist) on the same periods: periods, trades, hits, hit_rate, false_signals, false_signal_rate, gross_pnl, fees, pnl, sharpe (annualised, 365 days), max_drawdown, turnover; and false_signal_rate_vs_rules; ERROR for a range that starts before the model''s test window (it would overlap its training rows or the rows left out after them: look-ahead)';

CREATE FUNCTION @extschema@.backtest(symbol text, "from" timestamptz, "to" timestamptz,
                                     fee_bps float8 DEFAULT 10, threshold float8 DEFAULT NULL,
                                     target text DEFAULT 'direction')
RETURNS jsonb
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    chosen bigint;
BEGIN
    SELECT d.model_id INTO chosen FROM triggerstock.deployed d
    WHERE d.symbol = backtest.symbol AND d.target = backtest.target;
    IF chosen IS NULL THEN
        RAISE EXCEPTION 'no % model is deployed for symbol "%"', coalesce(target, 'NULL'), symbol
            USING ERRCODE = 'no_data_found',
                  HINT = 'Deploy one with deploy(), or backtest a model by its id.';
    END IF;
    RETURN @extschema@.backtest(chosen, "from", "to", fee_bps, threshold);
END
$$;
COMMENT ON FUNCTION @extschema@.backtest(text, timestamptz, timestamptz, float8, float8, text) IS
'backtest(model_id, ...) of the model deployed now for symbol and target (default direction); ERROR when none is';
