/*
 * supervisor.c
 *	  The static triggerstock background worker: registered at preload,
 *	  restarted by the postmaster if it dies, connected to no database.  It
 *	  keeps one dynamic "triggerstock launcher" (launcher.c) running in the
 *	  database named by triggerstock.database, for as long as that database
 *	  exists.
 *
 * Why two processes: a background worker connects to one database once, for
 * its whole life, and fails with a FATAL when that database does not exist.
 * A static launcher connected to a dropped database would fail (and be
 * logged) every bgw_restart_time, forever.  The supervisor looks the
 * database up in the shared catalog instead: while it is missing it waits
 * quietly (one LOG line), and it starts the launcher again as soon as the
 * database exists.
 *
 * Invariants:
 *	- it never connects to a database, so it never blocks DROP DATABASE;
 *	- at most one launcher runs: a launcher left over by a previous
 *	  supervisor (dynamic workers outlive who registered them) is stopped
 *	  first, and a stopped launcher is started again after a pause of
 *	  SUPERVISOR_RESTART_MS (SUPERVISOR_CRASH_MS if it lived less than that);
 *	- it never runs on a hot standby: registered with
 *	  BgWorkerStart_RecoveryFinished, it is started by the postmaster once
 *	  recovery ends (on a primary, or at promotion), and so are the launcher
 *	  and the workers it starts (README "Beyond one server");
 *	- it sleeps on its latch with WL_EXIT_ON_PM_DEATH, wakes at least every
 *	  second, reloads the configuration on SIGHUP and on SIGTERM stops its
 *	  launcher, then exits.
 */
#include "postgres.h"

#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/pg_database.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/proc.h"
#include "storage/procarray.h"
#include "tcop/tcopprot.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "triggerstock.h"
#include "bgworker/workers.h"
#include "guc.h"

/* Pause before starting a stopped launcher again (its database may be on
 * its way out: DROP DATABASE terminates it first). */
#define SUPERVISOR_RESTART_MS 3000
/* ... and after one that lived less than this (it keeps failing). */
#define SUPERVISOR_CRASH_MS 10000
/* How often a missing database is looked up again. */
#define SUPERVISOR_DB_POLL_MS 2000

PGDLLEXPORT void triggerstock_supervisor_main(Datum main_arg);

/*
 * tsk_register_launcher
 *	  Register the static supervisor; called from _PG_init while preloading.
 */
void
tsk_register_launcher(void)
{
	BackgroundWorker worker;

	memset(&worker, 0, sizeof(worker));
	worker.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	worker.bgw_start_time = BgWorkerStart_RecoveryFinished;
	worker.bgw_restart_time = 10;
	snprintf(worker.bgw_library_name, BGW_MAXLEN, "triggerstock");
	snprintf(worker.bgw_function_name, BGW_MAXLEN, "triggerstock_supervisor_main");
	snprintf(worker.bgw_name, BGW_MAXLEN, "triggerstock supervisor");
	snprintf(worker.bgw_type, BGW_MAXLEN, "triggerstock supervisor");
	RegisterBackgroundWorker(&worker);
}

/*
 * supervisor_database_oid
 *	  The OID of triggerstock.database, InvalidOid if it does not exist.
 *
 * pg_database is a shared catalog, readable without a database connection,
 * but only by a heap scan (as autovacuum's get_database_list() does): its
 * indexes are not among the relcache entries a process without a database
 * can build before the shared relcache init file exists (right after a
 * restart get_database_oid() fails with "cannot read pg_class without
 * having selected a database").
 */
static Oid
supervisor_database_oid(void)
{
	Oid			oid = InvalidOid;
	Relation	rel;
	TableScanDesc scan;
	HeapTuple	tup;

	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	PushActiveSnapshot(GetTransactionSnapshot());
	rel = table_open(DatabaseRelationId, AccessShareLock);
	scan = table_beginscan_catalog(rel, 0, NULL);
	while (HeapTupleIsValid(tup = heap_getnext(scan, ForwardScanDirection)))
	{
		Form_pg_database db = (Form_pg_database) GETSTRUCT(tup);

		if (strcmp(NameStr(db->datname), tsk_database) == 0)
		{
			oid = db->oid;
			break;
		}
	}
	table_endscan(scan);
	table_close(rel, AccessShareLock);
	PopActiveSnapshot();
	CommitTransactionCommand();
	return oid;
}

/*
 * supervisor_start_launcher
 *	  Register the dynamic launcher for database dboid; NULL if no
 *	  background worker slot was free.
 */
static BackgroundWorkerHandle *
supervisor_start_launcher(Oid dboid)
{
	BackgroundWorker worker;
	BackgroundWorkerHandle *handle;

	memset(&worker, 0, sizeof(worker));
	worker.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	worker.bgw_start_time = BgWorkerStart_RecoveryFinished;
	worker.bgw_restart_time = BGW_NEVER_RESTART;
	snprintf(worker.bgw_library_name, BGW_MAXLEN, "triggerstock");
	snprintf(worker.bgw_function_name, BGW_MAXLEN, "triggerstock_launcher_main");
	snprintf(worker.bgw_name, BGW_MAXLEN, "triggerstock launcher");
	snprintf(worker.bgw_type, BGW_MAXLEN, "triggerstock launcher");
	worker.bgw_main_arg = ObjectIdGetDatum(dboid);
	worker.bgw_notify_pid = MyProcPid;
	if (!RegisterDynamicBackgroundWorker(&worker, &handle))
		return NULL;
	return handle;
}

/*
 * supervisor_stop_leftover
 *	  Stop a launcher that a previous supervisor started.
 */
static void
supervisor_stop_leftover(void)
{
	int			pid;

	LWLockAcquire(tsk_shared->lock, LW_EXCLUSIVE);
	pid = tsk_shared->launcher_pid;
	tsk_shared->launcher_pid = 0;
	LWLockRelease(tsk_shared->lock);
	if (pid != 0 && pid != MyProcPid && BackendPidGetProc(pid) != NULL)
		(void) kill(pid, SIGTERM);
}

/*
 * triggerstock_supervisor_main
 *	  Entry point of the static supervisor.
 */
void
triggerstock_supervisor_main(Datum main_arg)
{
	BackgroundWorkerHandle *launcher = NULL;
	TimestampTz started_at = 0;
	TimestampTz next_start = 0;
	bool		waiting_logged = false;
	bool		no_slot_logged = false;

	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, SignalHandlerForShutdownRequest);
	BackgroundWorkerUnblockSignals();
	BackgroundWorkerInitializeConnection(NULL, NULL, 0);
	pgstat_report_appname("triggerstock supervisor");
	supervisor_stop_leftover();

	while (!ShutdownRequestPending)
	{
		TimestampTz now = GetCurrentTimestamp();
		pid_t		pid;

		if (launcher != NULL && GetBackgroundWorkerPid(launcher, &pid) == BGWH_STOPPED)
		{
			pfree(launcher);
			launcher = NULL;
			next_start = TimestampTzPlusMilliseconds(now,
													 TimestampDifferenceExceeds(started_at, now, SUPERVISOR_CRASH_MS)
													 ? SUPERVISOR_RESTART_MS : SUPERVISOR_CRASH_MS);
		}
		if (launcher == NULL && now >= next_start)
		{
			Oid			dboid = supervisor_database_oid();

			if (!OidIsValid(dboid))
			{
				if (!waiting_logged)
					ereport(LOG,
							(errmsg("triggerstock waits for database \"%s\" (triggerstock.database) to exist",
									tsk_database)));
				waiting_logged = true;
				next_start = TimestampTzPlusMilliseconds(now, SUPERVISOR_DB_POLL_MS);
			}
			else if ((launcher = supervisor_start_launcher(dboid)) == NULL)
			{
				if (!no_slot_logged)
					ereport(WARNING,
							(errmsg("could not start the triggerstock launcher: no background worker slot free"),
							 errhint("Raise max_worker_processes: triggerstock needs two for itself, "
									 "plus one per ingest source and one for polling.")));
				no_slot_logged = true;
				next_start = TimestampTzPlusMilliseconds(now, SUPERVISOR_CRASH_MS);
			}
			else
			{
				waiting_logged = no_slot_logged = false;
				started_at = now;
			}
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
	if (launcher != NULL)
		TerminateBackgroundWorker(launcher);
	proc_exit(0);
}
