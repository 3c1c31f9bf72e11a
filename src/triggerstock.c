/*
 * triggerstock.c
 *	  Module entry point: defines the triggerstock.* GUCs (guc.c) and, when loaded
 *	  through shared_preload_libraries, registers the launcher worker.
 *
 * Invariants: every GUC is named triggerstock.<name> and the prefix is
 * reserved at the end of _PG_init; the pure SQL functions (aggregates,
 * partition and candle maintenance) work without preloading, and only the
 * background workers and the shared prediction cache need it.
 */
#include "triggerstock.h"
#include "guc.h"
#include "bgworker/workers.h"
#include "bgworker/poll.h"
#include "bgworker/ingest.h"
#include "models/predict_cache.h"
#include "models/model_progress.h"

#include "fmgr.h"
#include "miscadmin.h"
#include "utils/guc.h"

PG_MODULE_MAGIC;

extern PGDLLEXPORT void _PG_init(void);

/*
 * _PG_init
 *	  Define the GUCs; register the launcher when preloading.
 */
void
_PG_init(void)
{
	bool		preloading = process_shared_preload_libraries_in_progress;

	/* GUCs only: no XGBoost call may happen here (postmaster, fork) */
	tsk_guc_define(preloading);

	if (preloading)
	{
		tsk_workers_preload();
		tsk_ingest_preload();
		tsk_predict_cache_preload();
		tsk_progress_preload();
		tsk_register_launcher();
	}

	MarkGUCPrefixReserved("triggerstock");
}
