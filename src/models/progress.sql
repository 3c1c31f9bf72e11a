------------------------------------------------------------------------------
-- src/models/progress.sql
-- Progress of train() (issue 15): the running train() calls of every
-- session, from shared memory (src/models/model_progress.c).  After
-- src/privileges.sql (it grants to the extension's roles).
------------------------------------------------------------------------------

CREATE FUNCTION @extschema@.train_progress(
    OUT pid integer, OUT symbol text, OUT target text, OUT phase text, OUT round integer, OUT rounds integer,
    OUT score float8, OUT best_score float8, OUT best_round integer, OUT "rows" bigint,
    OUT started_at timestamptz, OUT phase_started_at timestamptz, OUT updated_at timestamptz)
RETURNS SETOF record AS 'MODULE_PATHNAME', 'train_progress'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@.train_progress() IS
'the running train() calls of every session (shared memory: only when the library is preloaded, else none); see the view triggerstock.train_progress';

CREATE VIEW triggerstock.train_progress AS
SELECT p.pid, p.symbol, p.target, p.phase, p.round, p.rounds, p.score, p.best_score, p.best_round, p."rows",
       p.started_at, p.phase_started_at, p.updated_at
FROM @extschema@.train_progress() p;
COMMENT ON VIEW triggerstock.train_progress IS
'one row per running train() (any session; the library must be preloaded): phase (read, validate: boosting on the fit rows with early stopping on the validation slice, refit: boosting on all training rows, evaluate, store), round (1-based, done in the phase) of rounds (the most it may run), score (the latest validation log loss, rmse for the regressions; NULL in the refit), best_score and best_round so far, rows boosted on (the test window''s in evaluate), started_at, phase_started_at, updated_at; a session asks for NOTICEs with SET triggerstock.train_progress_every = N';

REVOKE EXECUTE ON FUNCTION @extschema@.train_progress() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.train_progress() TO triggerstock_reader;
GRANT SELECT ON triggerstock.train_progress TO triggerstock_reader;
