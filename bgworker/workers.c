/*
 * workers.c
 *	  Shared memory of the worker slots, the worker-side attach step, the
 *	  worker_status() SQL function and the config_changed() trigger
 *	  (see workers.h for the design and its invariants).
 */
#include "postgres.h"

#include "access/xact.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/shmem.h"
#include "tcop/tcopprot.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/inval.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/timeout.h"
#include "utils/timestamp.h"

#include "bgworker/workers.h"
#include "guc.h"
#include "schema.h"

shared_state_t *tsk_shared = NULL;
int			tsk_worker_slot_index = -1;

/* Set while tsk_worker_xact runs fn: SIGTERM then cancels it. */
static volatile sig_atomic_t worker_cancel_on_shutdown = false;

/* triggerstock.max_workers: dynamic worker slots reserved in shared memory */

static shmem_request_hook_type workers_prev_shmem_request = NULL;
static shmem_startup_hook_type workers_prev_shmem_startup = NULL;

extern PGDLLEXPORT Datum worker_status(PG_FUNCTION_ARGS);
PG_FUNCTION_INFO_V1(worker_status);
extern PGDLLEXPORT Datum config_changed(PG_FUNCTION_ARGS);
PG_FUNCTION_INFO_V1(config_changed);

/*
 * workers_shmem_size
 *	  Bytes of shared memory for the slots.
 */
static Size
workers_shmem_size(void)
{
	return add_size(offsetof(shared_state_t, slots),
					mul_size(sizeof(worker_slot_t), tsk_max_workers));
}

/*
 * workers_shmem_request
 *	  shmem_request_hook: reserve the slots and one LWLock.
 */
static void
workers_shmem_request(void)
{
	if (workers_prev_shmem_request)
		workers_prev_shmem_request();
	RequestAddinShmemSpace(workers_shmem_size());
	RequestNamedLWLockTranche("triggerstock", 1);
}

/*
 * workers_shmem_startup
 *	  shmem_startup_hook: create or attach to the slots.
 */
static void
workers_shmem_startup(void)
{
	bool		found;

	if (workers_prev_shmem_startup)
		workers_prev_shmem_startup();

	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	tsk_shared = ShmemInitStruct("triggerstock workers", workers_shmem_size(), &found);
	if (!found)
	{
		memset(tsk_shared, 0, workers_shmem_size());
		tsk_shared->lock = &(GetNamedLWLockTranche("triggerstock"))->lock;
		tsk_shared->nslots = tsk_max_workers;
	}
	LWLockRelease(AddinShmemInitLock);
}

/*
 * tsk_workers_preload
 *	  Hook shared memory (slots sized by triggerstock.max_workers); preload only.
 */
void
tsk_workers_preload(void)
{
	workers_prev_shmem_request = shmem_request_hook;
	shmem_request_hook = workers_shmem_request;
	workers_prev_shmem_startup = shmem_startup_hook;
	shmem_startup_hook = workers_shmem_startup;
}

/*
 * tsk_worker_slots
 *	  Number of worker slots.
 */
int
tsk_worker_slots(void)
{
	return tsk_max_workers;
}

/*
 * tsk_require_preload
 *	  Raise an ERROR saying that `what` needs the library preloaded.
 */
void
tsk_require_preload(const char *what)
{
	if (tsk_shared == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("%s needs triggerstock in shared_preload_libraries", what),
				 errhint("Add triggerstock to shared_preload_libraries in postgresql.conf "
						 "and restart the server.")));
}

/*
 * worker_sigterm
 *	  SIGTERM of a dynamic worker: ask the loop to finish (flush, then
 *	  exit) and cancel a transaction in progress, whose wait for a lock or
 *	  a long statement would otherwise delay the exit.
 */
static void
worker_sigterm(SIGNAL_ARGS)
{
	int			save_errno = errno;

	ShutdownRequestPending = true;
	if (worker_cancel_on_shutdown)
	{
		QueryCancelPending = true;
		InterruptPending = true;
	}
	SetLatch(MyLatch);
	errno = save_errno;
}

/*
 * tsk_worker_attach
 *	  Worker-side start: signals, database connection, search_path, id
 *	  from the slot.
 */
int32
tsk_worker_attach(Datum main_arg)
{
	worker_slot_t *slot;
	int32		id;

	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, worker_sigterm);
	BackgroundWorkerUnblockSignals();

	tsk_worker_slot_index = DatumGetInt32(main_arg);
	if (tsk_shared == NULL || tsk_worker_slot_index < 0 ||
		tsk_worker_slot_index >= tsk_shared->nslots)
		elog(FATAL, "triggerstock worker started with invalid slot %d", tsk_worker_slot_index);

	BackgroundWorkerInitializeConnectionByOid(tsk_shared->database, InvalidOid, 0);
	/* workers run as superuser: never resolve a name through a schema others write */
	tsk_search_path_pin_for_life();

	LWLockAcquire(tsk_shared->lock, LW_EXCLUSIVE);
	slot = &tsk_shared->slots[tsk_worker_slot_index];
	slot->pid = MyProcPid;
	slot->started_at = GetCurrentTimestamp();
	id = slot->id;
	LWLockRelease(tsk_shared->lock);

	pgstat_report_appname(MyBgworkerEntry->bgw_name);
	return id;
}

/*
 * tsk_worker_set_state
 *	  Publish the current worker's state in its slot.
 */
void
tsk_worker_set_state(const char *state)
{
	worker_slot_t *slot;

	if (tsk_worker_slot_index < 0)
		return;
	slot = &tsk_shared->slots[tsk_worker_slot_index];
	LWLockAcquire(tsk_shared->lock, LW_EXCLUSIVE);
	if (strncmp(slot->state, state, TS_WORKER_STATE_LEN) != 0)
	{
		strlcpy(slot->state, state, TS_WORKER_STATE_LEN);
		slot->state_since = GetCurrentTimestamp();
	}
	LWLockRelease(tsk_shared->lock);
}

/*
 * tsk_worker_xact
 *	  See workers.h.
 */
ErrorData *
tsk_worker_xact(void (*fn) (void *), void *arg, const char *activity, int flags)
{
	MemoryContext oldcontext = CurrentMemoryContext;
	ErrorData  *volatile error = NULL;

	PG_TRY();
	{
		SetCurrentStatementStartTimestamp();
		StartTransactionCommand();
		PushActiveSnapshot(GetTransactionSnapshot());
		if ((flags & TSK_XACT_SPI) && SPI_connect() != SPI_OK_CONNECT)
			elog(ERROR, "SPI_connect failed");
		pgstat_report_activity(STATE_RUNNING, activity);
		worker_cancel_on_shutdown = !ShutdownRequestPending;
		fn(arg);
		worker_cancel_on_shutdown = false;
		if ((flags & TSK_XACT_SPI) && SPI_finish() != SPI_OK_FINISH)
			elog(ERROR, "SPI_finish failed");
		PopActiveSnapshot();
		CommitTransactionCommand();
	}
	PG_CATCH();
	{
		worker_cancel_on_shutdown = false;
		MemoryContextSwitchTo(oldcontext);
		error = CopyErrorData();
		/* a shutdown's cancel is no error worth a log line */
		if (!(flags & TSK_XACT_QUIET) &&
			!(ShutdownRequestPending && error->sqlerrcode == ERRCODE_QUERY_CANCELED))
			EmitErrorReport();
		FlushErrorState();
		AbortCurrentTransaction();
	}
	PG_END_TRY();
	/* a cancel that arrived after fn returned must not hit the loop */
	HOLD_INTERRUPTS();
	QueryCancelPending = false;
	RESUME_INTERRUPTS();
	MemoryContextSwitchTo(oldcontext);
	pgstat_report_stat(false);
	pgstat_report_activity(STATE_IDLE, NULL);
	return error;
}

/*
 * tsk_worker_run_in_xact
 *	  See workers.h.
 */
bool
tsk_worker_run_in_xact(void (*fn) (void *), void *arg, const char *activity)
{
	ErrorData  *error = tsk_worker_xact(fn, arg, activity, TSK_XACT_SPI);

	if (error == NULL)
		return true;
	FreeErrorData(error);
	return false;
}

/*
 * tsk_worker_xact_bounded
 *	  See workers.h.
 */
ErrorData *
tsk_worker_xact_bounded(void (*fn) (void *), void *arg, const char *activity, int flags,
						int timeout_ms)
{
	ErrorData  *error;

	enable_timeout_after(STATEMENT_TIMEOUT, Max(timeout_ms, 1));
	error = tsk_worker_xact(fn, arg, activity, flags);
	disable_timeout(STATEMENT_TIMEOUT, false);
	HOLD_INTERRUPTS();
	QueryCancelPending = false;
	RESUME_INTERRUPTS();
	return error;
}

/*
 * worker_extension_exists_in_xact
 *	  tsk_worker_xact callback: is the extension installed?
 */
static void
worker_extension_exists_in_xact(void *arg)
{
	*(bool *) arg = OidIsValid(tsk_extension_namespace());
}

/*
 * tsk_worker_extension_exists
 *	  See workers.h.  An ERROR reading the catalog counts as "exists": the
 *	  caller retries rather than exits on a transient failure.
 */
bool
tsk_worker_extension_exists(void)
{
	bool		exists = true;
	ErrorData  *error = tsk_worker_xact(worker_extension_exists_in_xact, &exists,
										"triggerstock: looking for the extension", 0);

	if (error != NULL)
		FreeErrorData(error);
	return exists;
}

/*
 * tsk_worker_slot_state
 *	  See workers.h.
 */
const char *
tsk_worker_slot_state(const worker_slot_t *slot)
{
	if (slot->pid != 0)
		return slot->state[0] ? slot->state : "starting";
	if (strcmp(slot->state, TS_WORKER_STATE_NO_SLOT) == 0)
		return TS_WORKER_STATE_NO_SLOT;
	return "stopped";
}

/*
 * tsk_worker_keep_plan
 *	  SPI_prepare_cursor + SPI_keepplan, or ERROR.
 */
SPIPlanPtr
tsk_worker_keep_plan(const char *sql, int nargs, Oid *types, int cursor_options)
{
	SPIPlanPtr	plan = SPI_prepare_cursor(sql, nargs, types, cursor_options);

	if (plan == NULL)
		elog(ERROR, "SPI_prepare_cursor failed: %s", SPI_result_code_string(SPI_result));
	if (SPI_keepplan(plan) != 0)
		elog(ERROR, "SPI_keepplan failed");
	return plan;
}

/*
 * worker_status() -> setof (kind, id, pid, state, state_since, started_at, starts)
 *	  The launcher's worker slots in use, then the planned workers that
 *	  got no slot (state "no worker slot").
 */
Datum
worker_status(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;

	tsk_require_preload("worker_status()");
	InitMaterializedSRF(fcinfo, 0);

	LWLockAcquire(tsk_shared->lock, LW_SHARED);
	for (int i = 0; i < tsk_shared->nslots; i++)
	{
		worker_slot_t *slot = &tsk_shared->slots[i];
		Datum		values[7];
		bool		nulls[7] = {false};

		if (!slot->in_use)
			continue;
		values[0] = CStringGetTextDatum(slot->kind);
		values[1] = Int32GetDatum(slot->id);
		values[2] = Int32GetDatum(slot->pid);
		nulls[2] = slot->pid == 0;
		values[3] = CStringGetTextDatum(tsk_worker_slot_state(slot));
		values[4] = TimestampTzGetDatum(slot->state_since);
		nulls[4] = slot->state_since == 0;
		values[5] = TimestampTzGetDatum(slot->started_at);
		nulls[5] = slot->started_at == 0;
		values[6] = Int32GetDatum(slot->starts);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	for (int i = 0; i < tsk_shared->nunplaced; i++)
	{
		Datum		values[7];
		bool		nulls[7] = {false, false, true, false, true, true, false};

		values[0] = CStringGetTextDatum(tsk_shared->unplaced[i].kind);
		values[1] = Int32GetDatum(tsk_shared->unplaced[i].id);
		values[3] = CStringGetTextDatum(TS_WORKER_STATE_NO_SLOT);
		values[6] = Int32GetDatum(0);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	LWLockRelease(tsk_shared->lock);
	return (Datum) 0;
}

/*
 * config_changed() -> trigger
 *	  Statement-level AFTER trigger on configuration tables: a relcache
 *	  invalidation of the table, sent at commit, tells the launcher and the
 *	  workers to re-read their configuration (no polling of the table).
 */
Datum
config_changed(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;

	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("config_changed() must be called as a trigger")));
	CacheInvalidateRelcacheByRelid(RelationGetRelid(trigdata->tg_relation));
	return PointerGetDatum(NULL);
}

/*
 * tsk_worker_error_text
 *	  "message: detail" of an error returned by tsk_worker_xact, in the
 *	  current memory context; frees edata.
 */
char *
tsk_worker_error_text(ErrorData *edata)
{
	char	   *text = edata->detail ? psprintf("%s: %s", edata->message, edata->detail)
		: pstrdup(edata->message);

	FreeErrorData(edata);
	return text;
}

/*
 * tsk_worker_exec
 *	  Run one statement inside SPI; ERROR unless SPI returns expect.
 */
void
tsk_worker_exec(const char *what, const char *sql, int nargs, Oid *types,
				Datum *values, const char *nulls, int expect)
{
	int			ret = SPI_execute_with_args(sql, nargs, types, values, nulls, false, 0);

	if (ret != expect)
		elog(ERROR, "%s statement failed: %s", what, SPI_result_code_string(ret));
}

/*
 * tsk_worker_array
 *	  See workers.h (the statements' array arguments: the ingest flush, its
 *	  COPY probe, the backfill store).
 */
Datum
tsk_worker_array(Datum *values, bool *nulls, int n, Oid type, int typlen, bool byval, char align)
{
	int			dims[1] = {n};
	int			lbs[1] = {1};

	return PointerGetDatum(construct_md_array(values, nulls, 1, dims, lbs, type, typlen, byval, align));
}

/*
 * tsk_worker_getstr
 *	  Column col of row of SPI_tuptable as a string copied into cxt, or NULL.
 */
char *
tsk_worker_getstr(uint64 row, int col, MemoryContext cxt)
{
	char	   *v = SPI_getvalue(SPI_tuptable->vals[row], SPI_tuptable->tupdesc, col);

	return v != NULL ? MemoryContextStrdup(cxt, v) : NULL;
}
