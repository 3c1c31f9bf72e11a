/*
 * launcher.c
 *	  The static triggerstock launcher: one background worker, registered
 *	  at preload and restarted by the postmaster if it dies, connected to
 *	  triggerstock.database.
 *
 * Today it runs the periodic maintenance pass (maintain(): daily trade
 * partitions created ahead, stray rows moved out of the default partition);
 * the per-source ingest workers will be started from here as well.
 *
 * Invariants:
 *	- it never holds a transaction open while sleeping;
 *	- an ERROR in a pass is logged and the pass retried after the naptime,
 *	  the worker itself stays up;
 *	- it sleeps on its latch with WL_EXIT_ON_PM_DEATH, reloads the
 *	  configuration on SIGHUP and exits on SIGTERM (die); SIGUSR1 keeps the
 *	  default procsignal handler so DROP DATABASE barriers are served;
 *	- where the extension is not installed, a pass does nothing.
 */
#include "postgres.h"

#include "access/xact.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "tcop/tcopprot.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "triggerstock.h"

/*
 * triggerstock_register_launcher
 *	  Register the static launcher; called from _PG_init while preloading.
 */
void
triggerstock_register_launcher(void)
{
	BackgroundWorker worker;

	memset(&worker, 0, sizeof(worker));
	worker.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	worker.bgw_start_time = BgWorkerStart_RecoveryFinished;
	worker.bgw_restart_time = 10;
	snprintf(worker.bgw_library_name, BGW_MAXLEN, "triggerstock");
	snprintf(worker.bgw_function_name, BGW_MAXLEN, "triggerstock_launcher_main");
	snprintf(worker.bgw_name, BGW_MAXLEN, "triggerstock launcher");
	snprintf(worker.bgw_type, BGW_MAXLEN, "triggerstock launcher");
	RegisterBackgroundWorker(&worker);
}

/*
 * launcher_maintain_once
 *	  One maintenance pass in its own short transaction: if the extension
 *	  is installed here, call its maintain() function.
 */
static void
launcher_maintain_once(void)
{
	int			ret;

	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	SPI_connect();
	PushActiveSnapshot(GetTransactionSnapshot());
	pgstat_report_activity(STATE_RUNNING, "triggerstock maintenance");

	ret = SPI_execute("SELECT n.nspname FROM pg_catalog.pg_extension e "
					  "JOIN pg_catalog.pg_namespace n ON n.oid = e.extnamespace "
					  "WHERE e.extname = 'triggerstock'", true, 1);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "SPI_execute failed: %s", SPI_result_code_string(ret));

	if (SPI_processed == 1)
	{
		char	   *schema = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
		char	   *query = psprintf("SELECT %s.maintain()", quote_identifier(schema));

		ret = SPI_execute("SET LOCAL lock_timeout = '5s'", false, 0);
		if (ret != SPI_OK_UTILITY)
			elog(ERROR, "SPI_execute failed: %s", SPI_result_code_string(ret));
		ret = SPI_execute(query, false, 0);
		if (ret != SPI_OK_SELECT)
			elog(ERROR, "SPI_execute failed: %s", SPI_result_code_string(ret));
	}

	SPI_finish();
	PopActiveSnapshot();
	CommitTransactionCommand();
	pgstat_report_stat(false);
	pgstat_report_activity(STATE_IDLE, NULL);
}

/*
 * launcher_maintain
 *	  Run a pass; on ERROR, log it, roll back and carry on.
 */
static void
launcher_maintain(void)
{
	PG_TRY();
	{
		launcher_maintain_once();
	}
	PG_CATCH();
	{
		EmitErrorReport();
		AbortCurrentTransaction();
		FlushErrorState();
		pgstat_report_activity(STATE_IDLE, NULL);
	}
	PG_END_TRY();
}

/*
 * triggerstock_launcher_main
 *	  Entry point of the launcher worker.
 */
void
triggerstock_launcher_main(Datum main_arg)
{
	TimestampTz next_pass = 0;

	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();

	BackgroundWorkerInitializeConnection(triggerstock_database, NULL, 0);
	pgstat_report_appname("triggerstock launcher");
	ereport(LOG,
			(errmsg("triggerstock launcher started in database \"%s\"",
					triggerstock_database)));

	for (;;)
	{
		TimestampTz now = GetCurrentTimestamp();
		long		sleep_ms;

		if (now >= next_pass)
		{
			launcher_maintain();
			now = GetCurrentTimestamp();
			next_pass = TimestampTzPlusMilliseconds(now,
													triggerstock_maintenance_naptime * 1000L);
		}

		sleep_ms = TimestampDifferenceMilliseconds(now, next_pass);
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 sleep_ms, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();

		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
			/* a shorter naptime takes effect now, not after the old one */
			next_pass = 0;
		}
	}
}
