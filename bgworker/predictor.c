/*
 * predictor.c
 *	  The online predictor: one dynamic worker (kind "predictor", planned
 *	  by triggerstock.worker_plan while any deployment exists).  For each
 *	  deployed model, of any width, horizon and target (one per symbol and
 *	  target), it scores the newest complete bucket of the model's width
 *	  once, writing an audit row of triggerstock.predictions keyed by
 *	  (symbol, width, horizon, target, mode, bucket); it scores the active
 *	  rollout candidate of each (symbol, target) too (rollout_candidates:
 *	  mode shadow or canary, the model level only), and after each pass
 *	  applies the promotion rule (rollout_evaluate()); it fills a row's outcome
 *	  once the bucket `horizon` buckets of that width later is complete,
 *	  comparing the closes of that width, and for a return or volatility
 *	  model its realised value (realised_target(), the rule of the labels).
 *
 * Invariants:
 *	- completeness is the extension's one rule, last_complete_bucket()
 *	  (by the symbol's watermark, not by the clock), the same that train()
 *	  learns from and predict() serves; the "already scored" check and the
 *	  row it stores use the same (symbol, width, horizon, bucket);
 *	- the outcome of a row is close(bucket_ahead(bucket, horizon)) >
 *	  close(bucket) at the row's width, the label train() used, filled only
 *	  when that later bucket is complete; pending rows are found through
 *	  the partial index predictions_pending;
 *	- each pass runs in its own short transaction; nothing is held open
 *	  while sleeping; an ERROR in a pass is logged, the pass is retried on
 *	  the next wake-up and the worker stays up;
 *	- a (symbol, width, horizon, target, mode, bucket) is scored at most
 *	  once (primary key, ON CONFLICT DO NOTHING); a candidate's row is the
 *	  score of the candidate model or abstain, never a fallback; the row
 *	  records the fallback level,
 *	  model sha256, feature snapshot and the scoring latency;
 *	- scoring uses tsk_predict_symbol, the very code behind predict();
 *	- a prediction row it inserts is decided on by the enabled signal rules
 *	  of its symbol and target in the same subtransaction (signals.c):
 *	  both commit, with their NOTIFY, or neither;
 *	- every column read is checked for NULL; a deployment that cannot be
 *	  scored (a models row that cannot be served) fails in its own
 *	  subtransaction with a WARNING (at most one a minute) and never stops
 *	  the others; JIT is off for the worker's life (its queries are small
 *	  and repeated);
 *	- it wakes once a second (WL_EXIT_ON_PM_DEATH) and exits on SIGTERM
 *	  (a pass in progress is cancelled), or when the extension is dropped.
 */
#include "postgres.h"

#include "utils/guc.h"

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "portability/instr_time.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "models/model.h"
#include "models/signals.h"
#include "triggerstock.h"
#include "bgworker/workers.h"
#include "subxact.h"

/* A deployment whose newest complete bucket has no prediction yet. */
typedef struct predictor_due
{
	char	   *symbol;
	Interval	width;
	int32		horizon;
	int			target;			/* tsm_target */
	const char *mode;			/* live, shadow or canary */
	int64		model_id;		/* the candidate's model (mode not live) */
} predictor_due;

/* Whether the database has the rollouts' columns (0.2; not a 0.1 one
 * served before ALTER EXTENSION UPDATE), asked once per pass. */
static bool predictor_rollouts = false;
/* The extension schema, quoted, during a pass (predictor_score_cb). */
static const char *predictor_pass_ext = NULL;

/*
 * predictor_due_list
 *	  The deployed (symbol, width, horizon, target) and active rollout
 *	  candidates whose newest complete bucket is not scored yet, in
 *	  CurTransactionContext.
 */
static List *
predictor_due_list(const char *ext)
{
	List	   *due = NIL;
	int			ret;

	ret = SPI_execute(psprintf("SELECT d.symbol, d.width, d.horizon, d.target, d.mode, d.model_id "
							   "FROM (SELECT l.symbol, l.width, l.horizon, l.target, 'live' AS mode, l.model_id "
							   "      FROM triggerstock.deployed l%s) d "
							   "CROSS JOIN LATERAL (SELECT %s.last_complete_bucket(d.symbol, d.width) AS b) c "
							   "WHERE c.b IS NOT NULL AND NOT EXISTS ("
							   "  SELECT 1 FROM triggerstock.predictions p "
							   "  WHERE p.symbol OPERATOR(pg_catalog.=) d.symbol "
							   "    AND p.width OPERATOR(pg_catalog.=) d.width "
							   "    AND p.horizon OPERATOR(pg_catalog.=) d.horizon "
							   "    AND p.target OPERATOR(pg_catalog.=) d.target "
							   "    %s"
							   "    AND p.bucket OPERATOR(pg_catalog.=) c.b)",
							   predictor_rollouts ?
							   " UNION ALL SELECT r.symbol, r.width, r.horizon, r.target, r.mode, r.model_id "
							   "FROM triggerstock.rollout_candidates r" : "",
							   ext,
							   predictor_rollouts ? "AND p.mode OPERATOR(pg_catalog.=) d.mode " : ""),
					  true, 0);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "SPI_execute failed: %s", SPI_result_code_string(ret));
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		bool		n1,
					n2,
					n3,
					n4,
					n5,
					n6;
		Datum		symbol = SPI_getbinval(tup, desc, 1, &n1);
		Datum		width = SPI_getbinval(tup, desc, 2, &n2);
		Datum		horizon = SPI_getbinval(tup, desc, 3, &n3);
		Datum		target = SPI_getbinval(tup, desc, 4, &n4);
		Datum		mode = SPI_getbinval(tup, desc, 5, &n5);
		Datum		model_id = SPI_getbinval(tup, desc, 6, &n6);
		int			t;
		char	   *m;
		MemoryContext old;
		predictor_due *d;

		if (n1 || n2 || n3 || n4 || n5 || n6)
			continue;			/* NOT NULL columns; never trusted */
		m = TextDatumGetCString(mode);
		if (strcmp(m, "live") != 0 && strcmp(m, "shadow") != 0 && strcmp(m, "canary") != 0)
			continue;			/* rollout_candidates says it cannot be */
		t = tsk_tsm_target_parse(TextDatumGetCString(target));
		if (t < 0)
			continue;			/* the CHECK of deployments.target says it cannot be */
		old = MemoryContextSwitchTo(CurTransactionContext);
		d = palloc(sizeof(predictor_due));
		d->symbol = TextDatumGetCString(symbol);
		d->width = *DatumGetIntervalP(width);
		d->horizon = DatumGetInt32(horizon);
		d->target = t;
		d->mode = pstrdup(m);
		d->model_id = DatumGetInt64(model_id);
		due = lappend(due, d);
		MemoryContextSwitchTo(old);
	}
	return due;
}

/*
 * predictor_score
 *	  Score one deployment with predict()'s code and store the audit row
 *	  under the width and horizon of the model that answered for it.
 */
static void
predictor_score(const predictor_due *d, const char *ext)
{
	prediction_t p;
	instr_time	start,
				elapsed;
	StringInfoData json;
	Oid			types[13] = {TEXTOID, TIMESTAMPTZOID, FLOAT8OID, INT8OID, TEXTOID, TEXTOID, TEXTOID,
	INT8OID, INTERVALOID, INT4OID, TEXTOID, FLOAT8OID, TEXTOID};
	Datum		values[13];
	char		nulls[13];
	bool		regression = d->target != TSM_TARGET_DIRECTION;
	bool		live = strcmp(d->mode, "live") == 0;
	int			ret;

	INSTR_TIME_SET_CURRENT(start);
	if (live)
		tsk_predict_symbol(d->symbol, d->target, &p);
	else
		tsk_predict_model(d->symbol, d->target, d->model_id, &p);
	INSTR_TIME_SET_CURRENT(elapsed);
	INSTR_TIME_SUBTRACT(elapsed, start);
	if (!p.has_bucket)
		return;
	initStringInfo(&json);
	tsk_prediction_json(d->symbol, &p, &json);
	memset(nulls, ' ', sizeof(nulls));
	values[0] = CStringGetTextDatum(d->symbol);
	values[1] = TimestampTzGetDatum(p.bucket);
	values[2] = Float8GetDatum(p.probability);
	nulls[2] = p.has_probability && !regression ? ' ' : 'n';
	values[3] = Int64GetDatum(p.model_id);
	nulls[3] = p.model_id ? ' ' : 'n';
	values[4] = CStringGetTextDatum(p.sha256);
	nulls[4] = p.model_id && p.sha256[0] ? ' ' : 'n';
	values[5] = CStringGetTextDatum(tsk_fallback_name(p.level));
	values[6] = CStringGetTextDatum(json.data);
	values[7] = Int64GetDatum(INSTR_TIME_GET_MICROSEC(elapsed));
	/* the deployment may have changed since the due list was read: p says which answered */
	values[8] = IntervalPGetDatum(&p.width);
	values[9] = Int32GetDatum(p.horizon);
	values[10] = CStringGetTextDatum(tsk_tsm_target_name((tsm_target) d->target));
	values[11] = Float8GetDatum(p.probability);
	nulls[11] = p.has_probability && regression ? ' ' : 'n';
	values[12] = CStringGetTextDatum(d->mode);
	ret = SPI_execute_with_args(predictor_rollouts ?
								"INSERT INTO triggerstock.predictions "
								"(symbol, bucket, probability, model_id, model_sha256, fallback_level, "
								" features, latency_us, width, horizon, target, forecast, mode) "
								"VALUES ($1, $2, $3, $4, $5, $6, ($7::pg_catalog.jsonb) OPERATOR(pg_catalog.->) 'features', "
								" $8, $9, $10, $11, $12, $13) "
								"ON CONFLICT DO NOTHING" :
								"INSERT INTO triggerstock.predictions "
								"(symbol, bucket, probability, model_id, model_sha256, fallback_level, "
								" features, latency_us, width, horizon, target, forecast) "
								"VALUES ($1, $2, $3, $4, $5, $6, ($7::pg_catalog.jsonb) OPERATOR(pg_catalog.->) 'features', "
								" $8, $9, $10, $11, $12) "
								"ON CONFLICT DO NOTHING",
								predictor_rollouts ? 13 : 12, types, values, nulls, false, 0);
	if (ret != SPI_OK_INSERT)
		elog(ERROR, "SPI_execute failed: %s", SPI_result_code_string(ret));
	/* issue 15: the signal rules decide on the live row, in its transaction */
	if (SPI_processed == 1 && live)
		tsk_signals_record(ext, d->symbol, &p.width, p.horizon, d->target, p.bucket);
}

/*
 * predictor_outcomes
 *	  Fill the outcome of each pending row whose bucket `horizon` buckets
 *	  later is complete.  A row cannot be due before bucket + horizon *
 *	  width <= last complete bucket (buckets without candles only push the
 *	  target later), which keeps the bucket_ahead() probes to the rows that
 *	  may be due.
 */
static void
predictor_outcomes(const char *ext)
{
	int			ret;

	ret = SPI_execute(psprintf("WITH pending AS ("
							   "  SELECT p.symbol, p.width, p.horizon, p.target AS kind, p.bucket, %s AS mode "
							   "  FROM triggerstock.predictions p "
							   "  WHERE p.outcome IS NULL"
							   "), complete AS ("
							   "  SELECT s.symbol, s.width, %s.last_complete_bucket(s.symbol, s.width) AS lc "
							   "  FROM (SELECT DISTINCT q.symbol, q.width FROM pending q) s"
							   "), due AS ("
							   "  SELECT q.symbol, q.width, q.horizon, q.kind, q.bucket, q.mode, c.lc, "
							   "         %s.bucket_ahead(q.symbol, q.width, q.bucket, q.horizon) AS target "
							   "  FROM pending q JOIN complete c "
							   "    ON c.symbol OPERATOR(pg_catalog.=) q.symbol AND c.width OPERATOR(pg_catalog.=) q.width "
							   "  WHERE (q.bucket OPERATOR(pg_catalog.+) (q.width OPERATOR(pg_catalog.*) q.horizon)) "
							   "        OPERATOR(pg_catalog.<=) c.lc"
							   ") "
							   "UPDATE triggerstock.predictions p "
							   "SET outcome = (%s.bucket_close(d.symbol, d.width, d.target) OPERATOR(pg_catalog.>) "
							   "               %s.bucket_close(d.symbol, d.width, d.bucket)), "
							   "    outcome_value = CASE WHEN d.kind OPERATOR(pg_catalog.<>) 'direction' THEN "
							   "        %s.realised_target(d.symbol, d.width, d.bucket, d.horizon, d.kind) END, "
							   "    outcome_at = pg_catalog.now() "
							   "FROM due d "
							   "WHERE d.target OPERATOR(pg_catalog.<=) d.lc "
							   "  AND p.symbol OPERATOR(pg_catalog.=) d.symbol AND p.width OPERATOR(pg_catalog.=) d.width "
							   "  AND p.horizon OPERATOR(pg_catalog.=) d.horizon AND p.target OPERATOR(pg_catalog.=) d.kind "
							   "  AND p.bucket OPERATOR(pg_catalog.=) d.bucket%s",
							   predictor_rollouts ? "p.mode" : "'live'::pg_catalog.text",
							   ext, ext, ext, ext, ext,
							   predictor_rollouts ? " AND p.mode OPERATOR(pg_catalog.=) d.mode" : ""),
					  false, 0);
	if (ret != SPI_OK_UPDATE)
		elog(ERROR, "SPI_execute failed: %s", SPI_result_code_string(ret));
}

/*
 * predictor_evaluate
 *	  Apply the rollout rules (rollout_evaluate(): promotions, rollbacks,
 *	  retirements, each a deployments row with its figures).
 */
static void
predictor_evaluate(void *arg)
{
	const char *ext = arg;
	int			ret;

	ret = SPI_execute(psprintf("SELECT 1 FROM %s.rollout_evaluate()", ext), false, 0);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "SPI_execute failed: %s", SPI_result_code_string(ret));
}

/*
 * predictor_score_cb
 *	  predictor_guarded callback: score one due deployment.
 */
static void
predictor_score_cb(void *arg)
{
	predictor_score(arg, predictor_pass_ext);
}

/*
 * predictor_guarded
 *	  fn(arg) in a subtransaction: an ERROR is logged as a WARNING "could
 *	  not <what>" (at most one a minute) and rolled back; the pass goes on.
 */
static void
predictor_guarded(void (*fn) (void *), void *arg, const char *what)
{
	static TimestampTz last_warning = 0;
	ErrorData  *edata = tsk_subxact_try(fn, arg);

	if (edata == NULL)
		return;
	if (TimestampDifferenceExceeds(last_warning, GetCurrentTimestamp(), 60 * 1000))
	{
		last_warning = GetCurrentTimestamp();
		ereport(WARNING,
				(errmsg("predictor could not %s: %s", what, edata->message),
				 errhint("The other deployments are scored; this WARNING is repeated at most once a minute.")));
	}
	FreeErrorData(edata);
}

/*
 * predictor_pass
 *	  Score each due deployment; fill realised outcomes.  Inside a
 *	  transaction.
 */
static void
predictor_pass(void)
{
	const char *ext;
	List	   *due;
	ListCell   *lc;

	/* SPI is connected by tsk_worker_run_in_xact */
	ext = quote_identifier(get_namespace_name(tsk_model_extension_namespace()));
	predictor_pass_ext = ext;
	predictor_rollouts = tsk_model_has_column("predictions", "mode");
	due = predictor_due_list(ext);
	foreach(lc, due)
	{
		predictor_due *d = lfirst(lc);

		predictor_guarded(predictor_score_cb, d,
						  strcmp(d->mode, "live") == 0 ? psprintf("score \"%s\"", d->symbol)
						  : psprintf("score \"%s\" (%s candidate %lld)", d->symbol, d->mode,
									 (long long) d->model_id));
	}
	predictor_outcomes(ext);
	if (predictor_rollouts)
		predictor_guarded(predictor_evaluate, unconstify(char *, ext), "apply the rollout rules");
}

/*
 * predictor_pass_cb
 *	  tsk_worker_run_in_xact callback: one scoring pass.
 */
static void
predictor_pass_cb(void *arg)
{
	predictor_pass();
}

/*
 * triggerstock_predictor_main
 *	  Entry point of the predictor worker.
 */
void
triggerstock_predictor_main(Datum main_arg)
{
	(void) tsk_worker_attach(main_arg);
	/* score each complete bucket on its own features, never a cached row */
	SetConfigOption("triggerstock.feature_cache_ttl", "0", PGC_SUSET, PGC_S_OVERRIDE);
	/* small repeated queries: JIT compilation would cost more than it saves */
	SetConfigOption("jit", "off", PGC_SUSET, PGC_S_OVERRIDE);
	tsk_worker_set_state("scoring");

	while (!ShutdownRequestPending)
	{
		if (!tsk_worker_run_in_xact(predictor_pass_cb, NULL, "triggerstock predictor") &&
			!ShutdownRequestPending && !tsk_worker_extension_exists())
		{
			ereport(LOG, (errmsg("triggerstock predictor exits: the extension was dropped")));
			proc_exit(0);
		}
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 1000L, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
		}
	}
	proc_exit(0);
}
