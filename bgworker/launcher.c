/*
 * launcher.c
 *	  The triggerstock launcher: one dynamic background worker, kept running
 *	  by the static supervisor (supervisor.c) while triggerstock.database
 *	  exists, connected to that database.
 *
 * It keeps the dynamic workers listed in triggerstock.worker_plan running
 * (see workers.h), and runs the periodic maintenance pass (maintain():
 * daily trade partitions created ahead, stray rows moved out of the
 * default partition).
 *
 * Invariants:
 *	- it never holds a transaction open while sleeping;
 *	- it wakes at least once a second, accepts invalidation messages and
 *	  re-reads the plan after a configuration table changed; a worker that
 *	  stopped is restarted after a backoff of 1, 2, 4 ... 60 seconds;
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
#include "storage/proc.h"
#include "storage/procarray.h"
#include "tcop/tcopprot.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/inval.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "triggerstock.h"
#include "bgworker/workers.h"
#include "guc.h"
#include "schema.h"

/* Longest pause between two starts of a worker that keeps stopping. */
#define LAUNCHER_MAX_BACKOFF_MS 60000
/* At most one WARNING this often about workers that could not start. */
#define LAUNCHER_WARN_MS 60000

/* One planned worker, as read from triggerstock.worker_plan. */
typedef struct launcher_planned
{
	char		kind[TS_WORKER_KIND_LEN];
	int32		id;
} launcher_planned;

/* Launcher-local per slot: the handle and when it may start again. */
typedef struct launcher_slot_local
{
	BackgroundWorkerHandle *handle;
	TimestampTz next_start;
	bool		stopping;		/* terminated because it left the plan */
	int			failures;		/* failed starts in a row (no bgworker slot) */
} launcher_slot_local;

static launcher_slot_local *launcher_local = NULL;

/* The rate limit of launcher_warn_no_slot. */
static TimestampTz launcher_warned_at = 0;
static int	launcher_suppressed = 0;

/* Set by the relcache callback: the plan must be read again. */
static volatile bool launcher_plan_dirty = true;

/*
 * launcher_maintain_in_xact
 *	  The maintenance pass: call maintain() if the extension is installed.
 */
static void
launcher_maintain_in_xact(void *arg)
{
	char	   *schema = tsk_extension_schema();
	int			ret;

	if (schema == NULL)
		return;
	ret = SPI_execute("SET LOCAL lock_timeout = '5s'", false, 0);
	if (ret != SPI_OK_UTILITY)
		elog(ERROR, "SPI_execute failed: %s", SPI_result_code_string(ret));
	ret = SPI_execute(psprintf("SELECT %s.maintain()", schema), false, 0);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "SPI_execute failed: %s", SPI_result_code_string(ret));
}

/*
 * launcher_read_plan_in_xact
 *	  Read triggerstock.worker_plan into the List **arg (launcher_planned
 *	  entries in TopMemoryContext); an empty plan if not installed.
 */
static void
launcher_read_plan_in_xact(void *arg)
{
	List	  **plan = (List **) arg;
	int			ret;

	if (!OidIsValid(tsk_extension_namespace()))
		return;
	ret = SPI_execute("SELECT p.kind, p.id FROM triggerstock.worker_plan p "
					  "WHERE p.kind IS NOT NULL AND p.id IS NOT NULL", true, 0);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "SPI_execute failed: %s", SPI_result_code_string(ret));
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		char	   *kind = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1);
		bool		isnull;
		Datum		id = SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 2, &isnull);
		MemoryContext spicontext;
		launcher_planned *entry;

		/* the list must outlive SPI_finish(), which frees SPI's memory */
		spicontext = MemoryContextSwitchTo(TopMemoryContext);
		entry = palloc0(sizeof(launcher_planned));
		strlcpy(entry->kind, kind, TS_WORKER_KIND_LEN);
		entry->id = DatumGetInt32(id);
		*plan = lappend(*plan, entry);
		MemoryContextSwitchTo(spicontext);
	}
}

/*
 * launcher_valid_kind
 *	  A kind names an exported triggerstock_<kind>_main: lower-case letters,
 *	  digits and underscores only, and the function must exist.
 */
static bool
launcher_valid_kind(const char *kind)
{
	char		function[BGW_MAXLEN];

	if (kind[0] == '\0' || strspn(kind, "abcdefghijklmnopqrstuvwxyz0123456789_") != strlen(kind))
		return false;
	snprintf(function, sizeof(function), "triggerstock_%s_main", kind);
	return load_external_function("triggerstock", function, false, NULL) != NULL;
}

/*
 * launcher_warn_no_slot
 *	  One WARNING per LAUNCHER_WARN_MS that workers could not start for
 *	  want of a slot (the others are counted and reported with the next);
 *	  their state says "no worker slot" meanwhile.
 */
static void
launcher_warn_no_slot(const char *kind, int32 id, const char *which)
{
	TimestampTz now = GetCurrentTimestamp();

	if (launcher_warned_at != 0 && !TimestampDifferenceExceeds(launcher_warned_at, now, LAUNCHER_WARN_MS))
	{
		launcher_suppressed++;
		return;
	}
	ereport(WARNING,
			(errmsg("could not start triggerstock %s worker %d: no %s slot free", kind, id, which),
			 launcher_suppressed > 0
			 ? errdetail("%d more failed starts since the last such warning.", launcher_suppressed) : 0,
			 errhint("Raise max_worker_processes (currently %d) and triggerstock.max_workers (currently %d): "
					 "each ingest source, the poll worker and the predictor need one of each, besides the "
					 "triggerstock supervisor and launcher, pg_cron and parallel query; "
					 "the worker state is \"no worker slot\" meanwhile.",
					 max_worker_processes, tsk_shared->nslots)));
	launcher_warned_at = now;
	launcher_suppressed = 0;
}

/*
 * launcher_start_slot
 *	  Register the dynamic worker of slot i; false if no bgworker slot was
 *	  free (the state says so; it is retried after the backoff).
 */
static bool
launcher_start_slot(int i)
{
	worker_slot_t *slot = &tsk_shared->slots[i];
	BackgroundWorker worker;

	memset(&worker, 0, sizeof(worker));
	worker.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	worker.bgw_start_time = BgWorkerStart_RecoveryFinished;
	worker.bgw_restart_time = BGW_NEVER_RESTART;
	snprintf(worker.bgw_library_name, BGW_MAXLEN, "triggerstock");
	snprintf(worker.bgw_function_name, BGW_MAXLEN, "triggerstock_%s_main", slot->kind);
	snprintf(worker.bgw_name, BGW_MAXLEN, "triggerstock %s %d", slot->kind, slot->id);
	snprintf(worker.bgw_type, BGW_MAXLEN, "triggerstock %s", slot->kind);
	worker.bgw_main_arg = Int32GetDatum(i);
	worker.bgw_notify_pid = MyProcPid;

	/* before registering: the new worker may set its state at once */
	LWLockAcquire(tsk_shared->lock, LW_EXCLUSIVE);
	slot->state[0] = '\0';
	slot->state_since = 0;
	LWLockRelease(tsk_shared->lock);

	if (!RegisterDynamicBackgroundWorker(&worker, &launcher_local[i].handle))
	{
		launcher_local[i].handle = NULL;
		launcher_local[i].failures++;
		LWLockAcquire(tsk_shared->lock, LW_EXCLUSIVE);
		strlcpy(slot->state, TS_WORKER_STATE_NO_SLOT, TS_WORKER_STATE_LEN);
		slot->state_since = GetCurrentTimestamp();
		LWLockRelease(tsk_shared->lock);
		launcher_warn_no_slot(slot->kind, slot->id, "background worker (max_worker_processes)");
		return false;
	}
	launcher_local[i].failures = 0;
	LWLockAcquire(tsk_shared->lock, LW_EXCLUSIVE);
	slot->starts++;
	LWLockRelease(tsk_shared->lock);
	return true;
}

/*
 * launcher_slot_running
 *	  True while the worker of slot i has not stopped; keeps its pid in the
 *	  slot up to date.
 */
static bool
launcher_slot_running(int i)
{
	pid_t		pid = 0;
	BgwHandleStatus status;

	if (launcher_local[i].handle == NULL)
		return false;
	status = GetBackgroundWorkerPid(launcher_local[i].handle, &pid);
	if (status == BGWH_STOPPED || status == BGWH_POSTMASTER_DIED)
	{
		pfree(launcher_local[i].handle);
		launcher_local[i].handle = NULL;
		pid = 0;
	}
	LWLockAcquire(tsk_shared->lock, LW_EXCLUSIVE);
	tsk_shared->slots[i].pid = (status == BGWH_STARTED) ? pid : 0;
	LWLockRelease(tsk_shared->lock);
	return launcher_local[i].handle != NULL;
}

/*
 * launcher_planned_index
 *	  Position of (kind, id) in the plan, or -1.
 */
static int
launcher_planned_index(List *plan, const char *kind, int32 id)
{
	ListCell   *lc;

	foreach(lc, plan)
	{
		launcher_planned *entry = lfirst(lc);

		if (entry->id == id && strcmp(entry->kind, kind) == 0)
			return foreach_current_index(lc);
	}
	return -1;
}

/*
 * launcher_apply_plan
 *	  Make the slots match the plan: free the slots of workers that left it
 *	  (terminating them first), allocate slots for new entries.
 */
static void
launcher_apply_plan(List *plan)
{
	int			nslots = tsk_shared->nslots;
	bool	   *planned_has_slot = palloc0(sizeof(bool) * (list_length(plan) + 1));
	ListCell   *lc;
	int			nunplaced = 0;
	worker_unplaced_t unplaced[TS_MAX_UNPLACED];

	for (int i = 0; i < nslots; i++)
	{
		worker_slot_t *slot = &tsk_shared->slots[i];
		int			pos;

		if (!slot->in_use)
			continue;
		pos = launcher_planned_index(plan, slot->kind, slot->id);
		if (pos >= 0)
		{
			planned_has_slot[pos] = true;
			launcher_local[i].stopping = false;
			continue;
		}
		/* out of the plan: stop it; launcher_keep_running frees the slot */
		if (launcher_slot_running(i) && !launcher_local[i].stopping)
			TerminateBackgroundWorker(launcher_local[i].handle);
		launcher_local[i].stopping = true;
	}

	foreach(lc, plan)
	{
		launcher_planned *entry = lfirst(lc);
		int			free_slot = -1;

		if (planned_has_slot[foreach_current_index(lc)])
			continue;
		if (!launcher_valid_kind(entry->kind))
		{
			ereport(WARNING,
					(errmsg("triggerstock.worker_plan names unknown worker kind \"%s\"", entry->kind)));
			continue;
		}
		for (int i = 0; i < nslots && free_slot < 0; i++)
			if (!tsk_shared->slots[i].in_use)
				free_slot = i;
		if (free_slot < 0)
		{
			/* listed as "no worker slot" by worker_status() and ingest_status */
			if (nunplaced < TS_MAX_UNPLACED)
			{
				strlcpy(unplaced[nunplaced].kind, entry->kind, TS_WORKER_KIND_LEN);
				unplaced[nunplaced++].id = entry->id;
			}
			launcher_warn_no_slot(entry->kind, entry->id, "triggerstock (triggerstock.max_workers)");
			continue;
		}
		LWLockAcquire(tsk_shared->lock, LW_EXCLUSIVE);
		tsk_shared->slots[free_slot].in_use = true;
		strlcpy(tsk_shared->slots[free_slot].kind, entry->kind, TS_WORKER_KIND_LEN);
		tsk_shared->slots[free_slot].id = entry->id;
		LWLockRelease(tsk_shared->lock);
		launcher_local[free_slot].next_start = 0;
		launcher_local[free_slot].failures = 0;
	}
	LWLockAcquire(tsk_shared->lock, LW_EXCLUSIVE);
	memcpy(tsk_shared->unplaced, unplaced, sizeof(worker_unplaced_t) * nunplaced);
	tsk_shared->nunplaced = nunplaced;
	LWLockRelease(tsk_shared->lock);
	pfree(planned_has_slot);
}

/*
 * launcher_keep_running
 *	  Free the slots of stopped workers that left the plan; start every
 *	  other allocated slot whose worker is not running and whose backoff
 *	  has passed, doubling the backoff at each start.
 */
static void
launcher_keep_running(void)
{
	TimestampTz now = GetCurrentTimestamp();

	for (int i = 0; i < tsk_shared->nslots; i++)
	{
		worker_slot_t *slot = &tsk_shared->slots[i];
		int			backoff_ms;

		if (!slot->in_use || launcher_slot_running(i))
			continue;
		if (launcher_local[i].stopping)
		{
			LWLockAcquire(tsk_shared->lock, LW_EXCLUSIVE);
			memset(slot, 0, sizeof(*slot));
			LWLockRelease(tsk_shared->lock);
			launcher_local[i].stopping = false;
			launcher_local[i].next_start = 0;
			continue;
		}
		if (now < launcher_local[i].next_start)
			continue;
		if (slot->starts > 0 && launcher_local[i].failures == 0)
			ereport(LOG, (errmsg("restarting triggerstock %s worker %d", slot->kind, slot->id)));
		/* doubles with every start and every failed start, up to a minute */
		backoff_ms = 1000 << Min(slot->starts + launcher_local[i].failures, 6);
		launcher_local[i].next_start =
			TimestampTzPlusMilliseconds(now, Min(backoff_ms, LAUNCHER_MAX_BACKOFF_MS));
		(void) launcher_start_slot(i);
	}
}

/*
 * launcher_relcache_callback
 *	  Any relcache invalidation may be a configuration change: re-read the
 *	  plan (one small query) on the next wake-up.
 */
static void
launcher_relcache_callback(Datum arg, Oid relid)
{
	launcher_plan_dirty = true;
}

/*
 * launcher_reconcile
 *	  Re-read the plan if it may have changed, then keep its workers running.
 */
static void
launcher_reconcile(void)
{
	AcceptInvalidationMessages();
	if (launcher_plan_dirty)
	{
		List	   *plan = NIL;

		launcher_plan_dirty = false;
		if (tsk_worker_run_in_xact(launcher_read_plan_in_xact, &plan, "triggerstock plan"))
			launcher_apply_plan(plan);
		else
			launcher_plan_dirty = true;
		list_free_deep(plan);
	}
	launcher_keep_running();
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

	/* the supervisor found this database by OID: a racing DROP is one FATAL */
	BackgroundWorkerInitializeConnectionByOid(DatumGetObjectId(main_arg), InvalidOid, 0);
	/* it runs as superuser: never resolve a name through a schema others write */
	tsk_search_path_pin_for_life();
	pgstat_report_appname("triggerstock launcher");
	ereport(LOG,
			(errmsg("triggerstock launcher started in database \"%s\"",
					tsk_database)));

	launcher_local = MemoryContextAllocZero(TopMemoryContext,
											sizeof(launcher_slot_local) * tsk_shared->nslots);
	LWLockAcquire(tsk_shared->lock, LW_EXCLUSIVE);
	tsk_shared->launcher_pid = MyProcPid;
	tsk_shared->database = MyDatabaseId;
	/*
	 * Workers of a previous launcher outlive it (dynamic workers are not tied
	 * to the process that registered them) and this launcher has no handles
	 * for them: stop them, their slots stay allocated and start afresh.
	 */
	for (int i = 0; i < tsk_shared->nslots; i++)
	{
		worker_slot_t *slot = &tsk_shared->slots[i];

		if (slot->pid != 0 && BackendPidGetProc(slot->pid) != NULL)
			(void) kill(slot->pid, SIGTERM);
		slot->pid = 0;
		slot->starts = 0;
	}
	LWLockRelease(tsk_shared->lock);
	CacheRegisterRelcacheCallback(launcher_relcache_callback, (Datum) 0);

	for (;;)
	{
		TimestampTz now = GetCurrentTimestamp();

		launcher_reconcile();
		if (now >= next_pass)
		{
			(void) tsk_worker_run_in_xact(launcher_maintain_in_xact, NULL, "triggerstock maintenance");
			next_pass = TimestampTzPlusMilliseconds(GetCurrentTimestamp(),
													tsk_maintenance_naptime * 1000L);
		}

		/* at least once a second: invalidations and stopped workers */
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 1000L, PG_WAIT_EXTENSION);
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
