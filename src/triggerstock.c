/*
 * triggerstock.c
 *	  Module entry point: defines the triggerstock.* GUCs and, when loaded
 *	  through shared_preload_libraries, registers the launcher worker.
 *
 * Invariants: every GUC is named triggerstock.<name> and the prefix is
 * reserved at the end of _PG_init; the pure SQL functions (aggregates,
 * partition and candle maintenance) work without preloading, and only the
 * background workers need it.
 */
#include "triggerstock.h"
#include "workers.h"
#include "poll.h"
#include "ingest.h"

#include "fmgr.h"
#include "miscadmin.h"
#include "utils/guc.h"

PG_MODULE_MAGIC;

/* Database the launcher connects to. */
char	   *triggerstock_database = NULL;

/* Seconds between two maintenance passes of the launcher. */
int			triggerstock_maintenance_naptime = 600;

/* Days of daily trade partitions kept created ahead of now. */
int			triggerstock_partitions_ahead = 7;

void		_PG_init(void);

/*
 * _PG_init
 *	  Define the GUCs; register the launcher when preloading.
 */
void
_PG_init(void)
{
	/*
	 * A PGC_POSTMASTER variable can only be defined while preloading; loaded
	 * later (pure SQL use) there is no launcher and no need for it.
	 */
	if (process_shared_preload_libraries_in_progress)
		DefineCustomStringVariable("triggerstock.database",
								   "Database in which the triggerstock launcher runs.",
								   "The extension must be created in this database for "
								   "its background work to happen.",
								   &triggerstock_database,
								   "postgres",
								   PGC_POSTMASTER,
								   0,
								   NULL, NULL, NULL);

	DefineCustomIntVariable("triggerstock.maintenance_naptime",
							"Time between two maintenance passes of the launcher.",
							"Each pass creates the daily trade partitions ahead and "
							"moves stray rows out of the default partition.",
							&triggerstock_maintenance_naptime,
							600, 1, 86400,
							PGC_SIGHUP,
							GUC_UNIT_S,
							NULL, NULL, NULL);

	DefineCustomIntVariable("triggerstock.partitions_ahead",
							"Days of daily trade partitions created ahead of now.",
							NULL,
							&triggerstock_partitions_ahead,
							7, 1, 366,
							PGC_SIGHUP,
							0,
							NULL, NULL, NULL);

	ts_poll_define_gucs();
	ts_ingest_define_gucs();
	/* GUCs only: no XGBoost call may happen here (postmaster, fork) */
	ts_model_define_gucs();

	if (process_shared_preload_libraries_in_progress)
	{
		ts_workers_preload();
		ts_ingest_preload();
		triggerstock_register_launcher();
	}

	MarkGUCPrefixReserved("triggerstock");
}
