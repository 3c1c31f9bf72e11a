/*
 * predictor.c
 *	  The online predictor: one dynamic worker (kind "predictor", planned
 *	  by triggerstock.worker_plan while any deployment exists) that scores
 *	  every symbol with a deployed model each time a 1-minute candle closes
 *	  and writes the audit rows of triggerstock.predictions, then fills the
 *	  realised outcome of earlier rows once the next candle has closed.
 *
 * Invariants:
 *	- each pass runs in its own short transaction; nothing is held open
 *	  while sleeping; an ERROR in a pass is logged, the pass is retried on
 *	  the next wake-up and the worker stays up;
 *	- a (symbol, bucket) is scored at most once (primary key, ON CONFLICT
 *	  DO NOTHING); the row records the fallback level, model sha256,
 *	  feature snapshot and the scoring latency in microseconds;
 *	- scoring uses tsk_predict_symbol, the very code behind predict();
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
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "models/model.h"
#include "triggerstock.h"
#include "bgworker/workers.h"

/*
 * predictor_pass
 *	  Score each deployed symbol whose latest complete candle has no prediction
 *	  yet; fill realised outcomes.  Inside a transaction.
 */
static void
predictor_pass(void)
{
	int			ret;
	List	   *symbols = NIL;
	ListCell   *lc;

	ret = SPI_execute("SELECT DISTINCT d.symbol FROM triggerstock.deployments d "
					  "WHERE NOT EXISTS (SELECT 1 FROM triggerstock.predictions p "
					  "  WHERE p.symbol = d.symbol AND p.bucket = "
					  "   (SELECT pg_catalog.max(c.bucket) FROM triggerstock.candles c "
					  "    WHERE c.symbol = d.symbol AND c.width = interval '1 minute' "
					  "      AND c.bucket <= pg_catalog.now() - interval '1 minute')) "
					  "AND EXISTS (SELECT 1 FROM triggerstock.candles c WHERE c.symbol = d.symbol "
					  "  AND c.width = interval '1 minute' AND c.bucket <= pg_catalog.now() - interval '1 minute')",
					  true, 0);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "SPI_execute failed: %s", SPI_result_code_string(ret));
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		MemoryContext old = MemoryContextSwitchTo(CurTransactionContext);

		symbols = lappend(symbols, pstrdup(SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1)));
		MemoryContextSwitchTo(old);
	}

	foreach(lc, symbols)
	{
		const char *symbol = lfirst(lc);
		prediction_t p;
		instr_time	start,
					elapsed;
		StringInfoData json;
		Oid			types[8] = {TEXTOID, TIMESTAMPTZOID, FLOAT8OID, INT8OID, TEXTOID, TEXTOID, TEXTOID, INT8OID};
		Datum		values[8];
		char		nulls[8];

		INSTR_TIME_SET_CURRENT(start);
		tsk_predict_symbol(symbol, &p);
		INSTR_TIME_SET_CURRENT(elapsed);
		INSTR_TIME_SUBTRACT(elapsed, start);
		if (!p.has_bucket)
			continue;
		initStringInfo(&json);
		tsk_prediction_json(symbol, &p, &json);
		memset(nulls, ' ', sizeof(nulls));
		values[0] = CStringGetTextDatum(symbol);
		values[1] = TimestampTzGetDatum(p.bucket);
		values[2] = Float8GetDatum(p.probability);
		nulls[2] = p.has_probability ? ' ' : 'n';
		values[3] = Int64GetDatum(p.model_id);
		nulls[3] = p.model_id ? ' ' : 'n';
		values[4] = CStringGetTextDatum(p.sha256);
		nulls[4] = p.model_id ? ' ' : 'n';
		values[5] = CStringGetTextDatum(tsk_fallback_name(p.level));
		values[6] = CStringGetTextDatum(json.data);
		values[7] = Int64GetDatum(INSTR_TIME_GET_MICROSEC(elapsed));
		ret = SPI_execute_with_args("INSERT INTO triggerstock.predictions "
									"(symbol, bucket, probability, model_id, model_sha256, fallback_level, "
									" features, latency_us) "
									"VALUES ($1, $2, $3, $4, $5, $6, ($7::pg_catalog.jsonb) -> 'features', $8) "
									"ON CONFLICT DO NOTHING",
									8, types, values, nulls, false, 0);
		if (ret != SPI_OK_INSERT)
			elog(ERROR, "SPI_execute failed: %s", SPI_result_code_string(ret));
	}

	/* realised outcomes: the next 1-minute candle has closed */
	ret = SPI_execute("UPDATE triggerstock.predictions p "
					  "SET outcome = n.close > c.close, outcome_at = pg_catalog.now() "
					  "FROM triggerstock.candles c, triggerstock.candles n "
					  "WHERE p.outcome IS NULL "
					  "  AND c.symbol = p.symbol AND c.width = interval '1 minute' AND c.bucket = p.bucket "
					  "  AND n.symbol = p.symbol AND n.width = interval '1 minute' "
					  "  AND n.bucket = p.bucket + interval '1 minute' "
					  "  AND n.bucket <= pg_catalog.now() - interval '1 minute'",
					  false, 0);
	if (ret != SPI_OK_UPDATE)
		elog(ERROR, "SPI_execute failed: %s", SPI_result_code_string(ret));
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
	/* score each closed candle on its own features, never a cached row */
	SetConfigOption("triggerstock.feature_cache_ttl", "0", PGC_SUSET, PGC_S_OVERRIDE);
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
