/*
 * model_progress.c
 *	  Progress of train() (issue 15): a NOTICE every
 *	  triggerstock.train_progress_every boosting rounds (the validation
 *	  score, the best so far, an ETA of the phase) for the client that asks,
 *	  and a slot in shared memory per running train() that any session reads
 *	  through train_progress() / the view triggerstock.train_progress
 *	  (symbol, target, phase, round, rounds, best score, rows).
 *
 * Invariants:
 *	- the slots exist only when the library is preloaded (shmem_request_hook);
 *	  without them the NOTICEs still work and the view is empty;
 *	- a run holds at most one slot, claimed by tsk_progress_begin and
 *	  released by a reset callback of the run's memory context: at the end
 *	  of the run, and at an ERROR or cancel (the context goes with the
 *	  transaction), so a slot never outlives its run; when every slot is
 *	  taken the run is simply not shown;
 *	- a slot is written only by its own backend, under its spinlock, and
 *	  read under it: a reader sees a consistent row;
 *	- nothing here calls XGBoost or allocates in shared memory.
 */
#include "postgres.h"

#include <math.h>

#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "storage/ipc.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "storage/spin.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"

#include "guc.h"
#include "models/model_progress.h"

/* Concurrent train() runs shown (one train() per symbol at a time). */
#define PROGRESS_SLOTS 32

typedef struct progress_slot
{
	slock_t		mutex;
	int			pid;			/* 0: free */
	char		symbol[NAMEDATALEN];
	char		target[16];
	char		phase[16];
	int32		round;			/* rounds done in the phase */
	int32		rounds;			/* rounds the phase may run */
	double		score;			/* latest validation score, NaN: none */
	double		best_score;		/* NaN: none */
	int32		best_round;
	int64		rows;			/* rows the phase boosts on */
	TimestampTz started_at;
	TimestampTz phase_started_at;
	TimestampTz updated_at;
} progress_slot;

static progress_slot *progress_shared = NULL;
static shmem_request_hook_type progress_prev_shmem_request = NULL;
static shmem_startup_hook_type progress_prev_shmem_startup = NULL;

/* This backend's run: its slot (or -1) and what the NOTICEs need. */
static int	progress_my_slot = -1;
static struct
{
	bool		active;
	char		symbol[NAMEDATALEN];
	char		phase[16];
	int32		rounds;
	int64		rows;
	TimestampTz phase_started_at;
	double		best_score;
	int32		best_round;
} progress_run;

extern PGDLLEXPORT Datum train_progress(PG_FUNCTION_ARGS);
PG_FUNCTION_INFO_V1(train_progress);

/*
 * progress_shmem_request
 *	  shmem_request_hook: reserve the slots.
 */
static void
progress_shmem_request(void)
{
	if (progress_prev_shmem_request)
		progress_prev_shmem_request();
	RequestAddinShmemSpace(mul_size(sizeof(progress_slot), PROGRESS_SLOTS));
}

/*
 * progress_shmem_startup
 *	  shmem_startup_hook: create or attach to the slots.
 */
static void
progress_shmem_startup(void)
{
	bool		found;

	if (progress_prev_shmem_startup)
		progress_prev_shmem_startup();
	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	progress_shared = ShmemInitStruct("triggerstock train progress",
									  mul_size(sizeof(progress_slot), PROGRESS_SLOTS), &found);
	if (!found)
	{
		memset(progress_shared, 0, mul_size(sizeof(progress_slot), PROGRESS_SLOTS));
		for (int i = 0; i < PROGRESS_SLOTS; i++)
			SpinLockInit(&progress_shared[i].mutex);
	}
	LWLockRelease(AddinShmemInitLock);
}

/*
 * tsk_progress_preload
 *	  See model_progress.h.
 */
void
tsk_progress_preload(void)
{
	progress_prev_shmem_request = shmem_request_hook;
	shmem_request_hook = progress_shmem_request;
	progress_prev_shmem_startup = shmem_startup_hook;
	shmem_startup_hook = progress_shmem_startup;
}

/*
 * progress_release
 *	  Memory context reset callback of a run: free its slot.
 */
static void
progress_release(void *arg)
{
	if (progress_shared != NULL && progress_my_slot >= 0)
	{
		progress_slot *s = &progress_shared[progress_my_slot];

		SpinLockAcquire(&s->mutex);
		if (s->pid == MyProcPid)
			s->pid = 0;
		SpinLockRelease(&s->mutex);
	}
	progress_my_slot = -1;
	progress_run.active = false;
}

/*
 * tsk_progress_begin
 *	  See model_progress.h.
 */
void
tsk_progress_begin(MemoryContext cxt, const char *symbol, const char *target)
{
	MemoryContextCallback *cb = MemoryContextAllocZero(cxt, sizeof(MemoryContextCallback));
	TimestampTz now = GetCurrentTimestamp();

	memset(&progress_run, 0, sizeof(progress_run));
	progress_run.active = true;
	strlcpy(progress_run.symbol, symbol, sizeof(progress_run.symbol));
	strlcpy(progress_run.phase, "read", sizeof(progress_run.phase));
	progress_run.best_score = NAN;
	progress_my_slot = -1;
	cb->func = progress_release;
	MemoryContextRegisterResetCallback(cxt, cb);
	if (progress_shared == NULL)
		return;
	for (int i = 0; i < PROGRESS_SLOTS && progress_my_slot < 0; i++)
	{
		progress_slot *s = &progress_shared[i];

		SpinLockAcquire(&s->mutex);
		if (s->pid == 0)
		{
			s->pid = MyProcPid;
			strlcpy(s->symbol, symbol, sizeof(s->symbol));
			strlcpy(s->target, target, sizeof(s->target));
			strlcpy(s->phase, "read", sizeof(s->phase));
			s->round = s->rounds = s->best_round = 0;
			s->score = s->best_score = NAN;
			s->rows = 0;
			s->started_at = s->phase_started_at = s->updated_at = now;
			progress_my_slot = i;
		}
		SpinLockRelease(&s->mutex);
	}
}

/*
 * tsk_progress_phase
 *	  See model_progress.h.
 */
void
tsk_progress_phase(const char *phase, int32 rounds, int64 rows)
{
	TimestampTz now = GetCurrentTimestamp();

	if (!progress_run.active)
		return;
	strlcpy(progress_run.phase, phase, sizeof(progress_run.phase));
	progress_run.rounds = rounds;
	progress_run.rows = rows;
	progress_run.phase_started_at = now;
	if (progress_shared != NULL && progress_my_slot >= 0)
	{
		progress_slot *s = &progress_shared[progress_my_slot];

		SpinLockAcquire(&s->mutex);
		strlcpy(s->phase, phase, sizeof(s->phase));
		s->round = 0;
		s->score = NAN;			/* a phase's own; the best stays */
		s->rounds = rounds;
		s->rows = rows;
		s->phase_started_at = s->updated_at = now;
		SpinLockRelease(&s->mutex);
	}
}

/*
 * tsk_progress_round
 *	  See model_progress.h.
 */
void
tsk_progress_round(int32 round, double score, double best_score, int32 best_round)
{
	TimestampTz now = GetCurrentTimestamp();
	int			every = tsk_train_progress_every;

	if (!progress_run.active)
		return;
	progress_run.best_score = best_score;
	progress_run.best_round = best_round;
	if (progress_shared != NULL && progress_my_slot >= 0)
	{
		progress_slot *s = &progress_shared[progress_my_slot];

		SpinLockAcquire(&s->mutex);
		s->round = round;
		s->score = score;
		s->best_score = best_score;
		s->best_round = best_round;
		s->updated_at = now;
		SpinLockRelease(&s->mutex);
	}
	if (every > 0 && round > 0 && (round % every == 0 || round == progress_run.rounds))
	{
		double		elapsed = (double) (now - progress_run.phase_started_at) / USECS_PER_SEC;
		double		eta = elapsed / round * (progress_run.rounds - round);

		if (isnan(score) && isnan(best_score))
			ereport(NOTICE,
					(errmsg("train \"%s\": %s round %d of %d on %lld rows, %.1f s, ETA of the phase %.1f s",
							progress_run.symbol, progress_run.phase, round, progress_run.rounds,
							(long long) progress_run.rows, elapsed, eta)));
		else if (isnan(score))
			ereport(NOTICE,
					(errmsg("train \"%s\": %s round %d of %d on %lld rows (validation best %.6f at round %d), %.1f s, ETA of the phase %.1f s",
							progress_run.symbol, progress_run.phase, round, progress_run.rounds,
							(long long) progress_run.rows, best_score, best_round, elapsed, eta)));
		else
			ereport(NOTICE,
					(errmsg("train \"%s\": %s round %d of %d on %lld rows, validation score %.6f (best %.6f at round %d), %.1f s, ETA of the phase %.1f s at most",
							progress_run.symbol, progress_run.phase, round, progress_run.rounds,
							(long long) progress_run.rows, score, best_score, best_round,
							elapsed, eta)));
	}
}

/*
 * train_progress
 *	  train_progress() -> setof (pid, symbol, target, phase, round, rounds,
 *	  score, best_score, best_round, rows, started_at, phase_started_at,
 *	  updated_at): the running train() calls of every session.
 */
Datum
train_progress(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;

	InitMaterializedSRF(fcinfo, 0);
	if (progress_shared == NULL)
		PG_RETURN_VOID();
	for (int i = 0; i < PROGRESS_SLOTS; i++)
	{
		progress_slot *s = &progress_shared[i];
		progress_slot copy;
		Datum		values[13];
		bool		nulls[13] = {0};

		SpinLockAcquire(&s->mutex);
		copy = *s;
		SpinLockRelease(&s->mutex);
		if (copy.pid == 0)
			continue;
		values[0] = Int32GetDatum(copy.pid);
		values[1] = CStringGetTextDatum(copy.symbol);
		values[2] = CStringGetTextDatum(copy.target);
		values[3] = CStringGetTextDatum(copy.phase);
		values[4] = Int32GetDatum(copy.round);
		values[5] = Int32GetDatum(copy.rounds);
		values[6] = Float8GetDatum(copy.score);
		nulls[6] = isnan(copy.score);
		values[7] = Float8GetDatum(copy.best_score);
		nulls[7] = isnan(copy.best_score);
		values[8] = Int32GetDatum(copy.best_round);
		nulls[8] = isnan(copy.best_score);
		values[9] = Int64GetDatum(copy.rows);
		values[10] = TimestampTzGetDatum(copy.started_at);
		values[11] = TimestampTzGetDatum(copy.phase_started_at);
		values[12] = TimestampTzGetDatum(copy.updated_at);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	PG_RETURN_VOID();
}
