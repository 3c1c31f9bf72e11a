/*
 * model_xgb.c
 *	  Thin glue around the libxgboost C API: error reporting, capture of
 *	  XGBoost's log, signal masking around calls that may start OpenMP
 *	  threads, handle ownership through memory-context callbacks, loading
 *	  and predicting.
 *
 * Invariants:
 *	- every XGBoost return code is checked; the ERROR is raised after the
 *	  call returned, with XGBGetLastError() in its message;
 *	- the log callback may run on any thread: it only copies into a fixed
 *	  static buffer under a pthread mutex (no palloc, no ereport);
 *	- a handle is registered with a memory context right after creation,
 *	  before anything that can raise an ERROR, so it is freed exactly once
 *	  when that context is reset or deleted;
 *	- nothing here runs in the postmaster: the first XGBoost call of a
 *	  process happens in a backend or worker.
 */
#include "postgres.h"

#include <math.h>
#include <pthread.h>
#include <signal.h>

#include "utils/memutils.h"

/* libgomp (XGBoost's OpenMP runtime); declared here to need no omp.h */
extern int	omp_get_max_threads(void);
extern void omp_set_num_threads(int n);

#include "models/model.h"
#include "guc.h"

/* Captured XGBoost log: the last few kilobytes since tsk_xgb_log_clear. */
#define XGB_LOG_SIZE 4096
static char xgb_log[XGB_LOG_SIZE];
static size_t xgb_log_len = 0;
static pthread_mutex_t xgb_log_mutex = PTHREAD_MUTEX_INITIALIZER;
static bool xgb_log_registered = false;

/* A handle owned by a memory context. */
typedef struct xgb_owned
{
	MemoryContextCallback cb;
	void	   *handle;
	bool		is_booster;
} xgb_owned;

/*
 * xgb_log_callback
 *	  XGBoost's log sink: append to the static buffer (any thread).
 */
static void
xgb_log_callback(const char *msg)
{
	size_t		len = strlen(msg);

	pthread_mutex_lock(&xgb_log_mutex);
	/* keep what fits (a message is never dropped whole) */
	if (xgb_log_len + 2 < XGB_LOG_SIZE)
	{
		len = Min(len, XGB_LOG_SIZE - 2 - xgb_log_len);
		memcpy(xgb_log + xgb_log_len, msg, len);
		xgb_log_len += len;
		xgb_log[xgb_log_len++] = '\n';
		xgb_log[xgb_log_len] = '\0';
	}
	pthread_mutex_unlock(&xgb_log_mutex);
}

/*
 * tsk_xgb_log_clear
 *	  Forget captured messages; registers the callback on first use.
 */
void
tsk_xgb_log_clear(void)
{
	if (!xgb_log_registered)
	{
		tsk_xgb_check(XGBRegisterLogCallback(xgb_log_callback), "XGBRegisterLogCallback");
		xgb_log_registered = true;
	}
	pthread_mutex_lock(&xgb_log_mutex);
	xgb_log_len = 0;
	xgb_log[0] = '\0';
	pthread_mutex_unlock(&xgb_log_mutex);
}

/*
 * tsk_xgb_log_text
 *	  The messages captured since the last clear (static buffer).
 */
const char *
tsk_xgb_log_text(void)
{
	return xgb_log;
}

/*
 * tsk_xgb_check
 *	  Report a failed XGBoost call with XGBoost's own message.
 */
void
tsk_xgb_check(int rc, const char *what)
{
	if (rc != 0)
	{
		const char *msg = XGBGetLastError();
		/* its first line: XGBoost appends a stack trace of addresses */
		size_t		len = msg ? strcspn(msg, "\n") : 0;

		ereport(ERROR,
				(errcode(ERRCODE_EXTERNAL_ROUTINE_EXCEPTION),
				 errmsg("xgboost %s failed: %.*s", what, (int) len, msg ? msg : ""),
				 errhint("The message above is XGBoost's own; check the parameters given in params.")));
	}
}

/*
 * tsk_xgb_block_signals
 *	  Block every signal (saving the old mask).
 */
void
tsk_xgb_block_signals(sigset_t *saved)
{
	sigset_t	all;

	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, saved);
}

/*
 * tsk_xgb_restore_signals
 *	  Restore the mask saved by tsk_xgb_block_signals.
 */
void
tsk_xgb_restore_signals(const sigset_t *saved)
{
	pthread_sigmask(SIG_SETMASK, saved, NULL);
}

/*
 * xgb_free_owned
 *	  Memory context callback: free the handle.
 */
static void
xgb_free_owned(void *arg)
{
	xgb_owned  *owned = arg;

	if (owned->handle == NULL)
		return;
	if (owned->is_booster)
		(void) XGBoosterFree(owned->handle);
	else
		(void) XGDMatrixFree(owned->handle);
	owned->handle = NULL;
}

/*
 * xgb_own
 *	  Register handle with cxt; on allocation failure free it first.
 */
static void
xgb_own(MemoryContext cxt, void *handle, bool is_booster)
{
	xgb_owned  *owned = MemoryContextAllocExtended(cxt, sizeof(xgb_owned), MCXT_ALLOC_NO_OOM);

	if (owned == NULL)
	{
		if (is_booster)
			(void) XGBoosterFree(handle);
		else
			(void) XGDMatrixFree(handle);
		ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("out of memory")));
	}
	owned->handle = handle;
	owned->is_booster = is_booster;
	owned->cb.func = xgb_free_owned;
	owned->cb.arg = owned;
	MemoryContextRegisterResetCallback(cxt, &owned->cb);
}

/*
 * tsk_xgb_own_booster
 *	  Own a booster (see model.h).
 */
void
tsk_xgb_own_booster(MemoryContext cxt, BoosterHandle booster)
{
	xgb_own(cxt, booster, true);
}

/*
 * tsk_xgb_own_dmatrix
 *	  Own a DMatrix (see model.h).
 */
void
tsk_xgb_own_dmatrix(MemoryContext cxt, DMatrixHandle dmatrix)
{
	xgb_own(cxt, dmatrix, false);
}

/*
 * tsk_xgb_load
 *	  Create a booster from model bytes (UBJSON or JSON), owned by cxt.
 */
BoosterHandle
tsk_xgb_load(MemoryContext cxt, const void *bytes, size_t len, int nthread)
{
	BoosterHandle booster = NULL;
	char		threads[16];

	int			omp_saved;
	int			rc;

	tsk_xgb_check(XGBoosterCreate(NULL, 0, &booster), "XGBoosterCreate");
	tsk_xgb_own_booster(cxt, booster);
	/*
	 * The loader runs its parallel loops on OpenMP's default team (every
	 * core), before any nthread parameter applies: on a busy machine the
	 * wait for the other threads cost a fresh backend's first predict()
	 * tens of milliseconds (0.1 ms on one thread).  Load on nthread threads.
	 */
	omp_saved = omp_get_max_threads();
	omp_set_num_threads(Max(nthread, 1));
	rc = XGBoosterLoadModelFromBuffer(booster, bytes, (bst_ulong) len);
	omp_set_num_threads(omp_saved);
	tsk_xgb_check(rc, "XGBoosterLoadModelFromBuffer");
	snprintf(threads, sizeof(threads), "%d", nthread);
	tsk_xgb_check(XGBoosterSetParam(booster, "nthread", threads), "XGBoosterSetParam(nthread)");
	return booster;
}

/*
 * xgb_free_forest
 *	  Memory context reset callback: free a tree evaluator.
 */
static void
xgb_free_forest(void *arg)
{
	tsk_tsm_forest_free((tsm_forest *) arg);
}

/*
 * tsk_xgb_forest
 *	  See model.h.
 */
tsm_forest *
tsk_xgb_forest(MemoryContext cxt, BoosterHandle booster, int nfeatures)
{
	MemoryContextCallback *cb = MemoryContextAlloc(cxt, sizeof(MemoryContextCallback));
	bst_ulong	len = 0;
	const char *json = NULL;
	char		err[128];
	tsm_forest *forest;
	sigset_t	saved;
	int			rc;

	tsk_xgb_block_signals(&saved);
	rc = XGBoosterSaveModelToBuffer(booster, "{\"format\": \"json\"}", &len, &json);
	tsk_xgb_restore_signals(&saved);
	tsk_xgb_check(rc, "XGBoosterSaveModelToBuffer");

	/* libxgboost walks whatever trees it loaded: never serve one that leaves the row */
	if (tsk_tsm_trees_check(json, (size_t) len, nfeatures, err, sizeof(err)) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("model cannot be served: %s", err),
				 errhint("Deploy another model: this one's trees do not fit its %d features.", nfeatures)));
	forest = tsk_tsm_forest_from_json(json, (size_t) len, nfeatures, err, sizeof(err));
	if (forest == NULL)
	{
		elog(DEBUG1, "serving the model through libxgboost: %s", err);
		pfree(cb);
		return NULL;
	}
	cb->func = xgb_free_forest;
	cb->arg = forest;
	MemoryContextRegisterResetCallback(cxt, cb);
	return forest;
}

/*
 * tsk_xgb_predict
 *	  Probabilities of a row-major float matrix; the temporary DMatrix is
 *	  freed before any error is raised.
 */
void
tsk_xgb_predict(BoosterHandle booster, const float *x, size_t nrow, size_t ncol, double *out)
{
	DMatrixHandle dmat = NULL;
	const bst_ulong *shape;
	bst_ulong	dim;
	const float *result;
	sigset_t	saved;
	int			rc;

	tsk_xgb_block_signals(&saved);
	/* many rows (training metrics): build the DMatrix with the training threads */
	rc = XGDMatrixCreateFromMat_omp(x, (bst_ulong) nrow, (bst_ulong) ncol, NAN, &dmat,
									nrow >= 10000 ? tsk_train_threads : 1);
	if (rc == 0)
	{
		rc = XGBoosterPredictFromDMatrix(booster, dmat,
										 "{\"type\": 0, \"training\": false, \"iteration_begin\": 0, "
										 "\"iteration_end\": 0, \"strict_shape\": false}",
										 &shape, &dim, &result);
		if (rc == 0)
			for (size_t i = 0; i < nrow; i++)
				out[i] = result[i];
	}
	tsk_xgb_restore_signals(&saved);
	if (dmat != NULL)
		(void) XGDMatrixFree(dmat);
	tsk_xgb_check(rc, "prediction");
}
