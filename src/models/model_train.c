/*
 * model_train.c
 *	  train(symbol, width, horizon, params) and train_from_query(...): one
 *	  run in phases - read the feature rows, split them, fit under early
 *	  stopping on a validation slice then refit, evaluate on the test window
 *	  - followed by reference, store and deploy (model_store.c).  The rule
 *	  is drawn in model_train.h.
 *
 * Invariants:
 *	- rows are read in time order (model_fetch.c); train() reads only the
 *	  complete buckets (bucket <= last_complete_bucket(symbol, width), the
 *	  one completeness rule of the extension); the feature columns are
 *	  discovered from the result: every numeric column except the
 *	  identifiers symbol, bucket and close;
 *	- the split is never shuffled; the test window chooses nothing: the
 *	  number of rounds is chosen on the validation slice, and the test
 *	  window is scored once, by train_evaluate, after the model is final;
 *	- CHECK_FOR_INTERRUPTS() runs between boosting rounds; XGBoost runs
 *	  with every signal blocked so that its threads never run a handler;
 *	- DMatrix and booster handles belong to the train memory context (a
 *	  child of the caller's context), freed by its callbacks on success,
 *	  ERROR or cancel alike;
 *	- internal queries run without JIT (tsk_guc_internal_begin);
 *	- one train() per symbol at a time: a transaction-level advisory lock,
 *	  a second caller returns NULL at once with a NOTICE.
 */
#include "postgres.h"

#include <math.h>

#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "candles/complete.h"
#include "models/model.h"
#include "models/model_train.h"
#include "models/model_progress.h"
#include "guc.h"
#include "schema.h"

extern PGDLLEXPORT Datum model_train(PG_FUNCTION_ARGS);
PG_FUNCTION_INFO_V1(model_train);
extern PGDLLEXPORT Datum model_train_query(PG_FUNCTION_ARGS);
PG_FUNCTION_INFO_V1(model_train_query);

/* Smallest fit set, validation slice and test window train() accepts. */
#define TRAIN_MIN_FIT_ROWS 100
#define TRAIN_MIN_VALIDATION_ROWS 20
#define TRAIN_MIN_TEST_ROWS 20

/* Training rows behind the training log loss and accuracy (the latest ones). */
#define TRAIN_METRIC_SAMPLE 65536


/*
 * train_layout
 *	  The split of nl labelled rows (see model_train.h); false when a part
 *	  would be smaller than its minimum.
 */
static bool
train_layout(size_t nl, const train_settings *s, int horizon, size_t *n_fit, size_t *val_begin,
			 size_t *n_train, size_t *test_begin)
{
	if (tsk_tsm_split(nl, s->test_fraction, horizon, n_train, test_begin) != 0 ||
		nl - *test_begin < TRAIN_MIN_TEST_ROWS)
		return false;
	if (s->early_stopping_rounds == 0)
	{
		*n_fit = *val_begin = *n_train;
		return *n_fit >= TRAIN_MIN_FIT_ROWS;
	}
	return tsk_tsm_split(*n_train, s->validation_fraction, horizon, n_fit, val_begin) == 0 &&
		*n_fit >= TRAIN_MIN_FIT_ROWS && *n_train - *val_begin >= TRAIN_MIN_VALIDATION_ROWS;
}

/*
 * train_needed_rows
 *	  Smallest number of labelled rows that gives every part its minimum.
 */
static size_t
train_needed_rows(const train_settings *s, int horizon)
{
	for (size_t n = 1;; n++)
	{
		size_t		a, b, c, d;

		if (train_layout(n, s, horizon, &a, &b, &c, &d))
			return n;
	}
}

/*
 * train_read
 *	  Take the symbol's training lock (false: another session holds it),
 *	  check the symbol exists, read the feature rows.
 */
static bool
train_read(train_state *t, const char *query, int nargs, Oid *argtypes, Datum *args)
{
	Oid			types[1] = {TEXTOID};
	Datum		values[1] = {CStringGetTextDatum(t->symbol)};
	bool		isnull;
	int			ret;

	ret = SPI_execute_with_args("SELECT pg_catalog.pg_try_advisory_xact_lock(29811, pg_catalog.hashtext($1))",
								1, types, values, NULL, false, 1);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "SPI_execute failed: %s", SPI_result_code_string(ret));
	if (!DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull)))
	{
		ereport(NOTICE,
				(errmsg("a model for symbol \"%s\" is already being trained, skipping", t->symbol),
				 errhint("The other train() call stores its model when it finishes.")));
		return false;
	}
	if (t->source == NULL)
	{
		ret = SPI_execute_with_args("SELECT 1 FROM triggerstock.candles c "
									"WHERE c.symbol OPERATOR(pg_catalog.=) $1 LIMIT 1",
									1, types, values, NULL, true, 1);
		if (ret != SPI_OK_SELECT)
			elog(ERROR, "SPI_execute failed: %s", SPI_result_code_string(ret));
		if (SPI_processed == 0)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_OBJECT),
					 errmsg("unknown symbol \"%s\"", t->symbol),
					 errhint("triggerstock.candles has no candle for it; training needs at least %zu candles "
							 "at the training width.", train_needed_rows(&t->s, t->horizon) + t->horizon)));
	}
	tsk_train_fetch(query, nargs, argtypes, args, t->cxt, &t->r);
	/* features() of a symbol without order books: its models stay as they were */
	if (t->source == NULL)
		(void) tsk_train_drop_empty(&t->r, "book_");
	elog(DEBUG1, "train %s: %zu rows read in %ld ms", t->symbol, t->r.n,
		 TimestampDifferenceMilliseconds(t->started, GetCurrentTimestamp()));
	return true;
}

/*
 * train_split
 *	  Labels and the time-ordered layout; the training base rate and
 *	  majority class.
 */
static void
train_split(train_state *t)
{
	size_t		needed = train_needed_rows(&t->s, t->horizon);

	t->label = palloc(sizeof(float) * Max(t->r.n, 1));
	if (t->target == TSM_TARGET_DIRECTION)
		t->nl = tsk_tsm_labels(t->r.close, t->r.n, t->horizon, t->label);
	else
	{
		size_t		bad = 0;
		long		nl = tsk_tsm_regression_labels(t->r.close, t->r.n, t->horizon, t->target, t->label, &bad);

		if (nl < 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("close %g of \"%s\" at %s is not a positive number", t->r.close[bad], t->symbol,
							timestamptz_to_str(t->r.bucket[bad])),
					 errhint("The %s target takes logarithms of closes; train on rows whose closes are positive.",
							 tsk_tsm_target_name(t->target))));
		t->nl = (size_t) nl;
	}
	if (t->nl < needed ||
		!train_layout(t->nl, &t->s, t->horizon, &t->n_fit, &t->val_begin, &t->n_train, &t->test_begin))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_RESOURCES),
				 errmsg("too few rows to train a model for \"%s\": %zu feature rows", t->symbol, t->r.n),
				 errhint("Training needs at least %zu complete rows at horizon %d, test_fraction %g and "
						 "validation_fraction %g (%d rows to fit, %d validation rows unless early_stopping_rounds "
						 "is 0, %d test rows, and horizon = %d rows left out before the validation and before the test rows).",
						 needed + t->horizon, t->horizon, t->s.test_fraction, t->s.validation_fraction,
						 TRAIN_MIN_FIT_ROWS, TRAIN_MIN_VALIDATION_ROWS, TRAIN_MIN_TEST_ROWS, t->horizon)));
	t->n_test = t->nl - t->test_begin;
	if (t->target != TSM_TARGET_DIRECTION)
	{
		double		sum = 0;

		for (size_t i = 0; i < t->n_train; i++)
			sum += t->label[i];
		t->train_mean = sum / (double) t->n_train;
		/*
		 * the boosting starts from the mean label of the rows it learns from
		 * (fit rows under early stopping, all training rows for the refit:
		 * train_fit) unless params say otherwise
		 */
		t->auto_base_score = tsk_train_settings_get(&t->s, "base_score") == NULL;
		return;
	}
	for (size_t i = 0; i < t->n_train; i++)
		t->positives += t->label[i] > 0.5f;
	if (t->positives == 0 || t->positives == t->n_train)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the training labels of \"%s\" are all %d", t->symbol, t->positives ? 1 : 0),
				 errhint("Both outcomes (close higher and not higher %d buckets ahead) must occur in the %zu training rows; "
						 "load more data.", t->horizon, t->n_train)));
	t->majority = t->positives * 2 > t->n_train ? 1 : 0;
	t->train_base_rate = (double) t->positives / (double) t->n_train;
}

/*
 * train_matrix
 *	  A DMatrix of rows [from, from + n) with their labels and the feature
 *	  names, owned by the run's context (the threaded constructor, as
 *	  python-xgboost's numpy path uses).
 */
static DMatrixHandle
train_matrix(train_state *t, size_t from, size_t n)
{
	DMatrixHandle dm;

	tsk_xgb_check(XGDMatrixCreateFromMat_omp(t->r.x + from * t->r.nfeat, n, t->r.nfeat, NAN, &dm,
											tsk_train_threads),
				 "XGDMatrixCreateFromMat_omp");
	tsk_xgb_own_dmatrix(t->cxt, dm);
	tsk_xgb_check(XGDMatrixSetFloatInfo(dm, "label", t->label + from, n), "XGDMatrixSetFloatInfo");
	tsk_xgb_check(XGDMatrixSetStrFeatureInfo(dm, "feature_name", (const char **) t->r.names, t->r.nfeat),
				 "XGDMatrixSetStrFeatureInfo");
	return dm;
}

/*
 * train_booster
 *	  A booster over the given matrices (the first one trains) with the
 *	  run's parameters, owned by the run's context.
 */
static BoosterHandle
train_booster(train_state *t, DMatrixHandle *dms, int ndms)
{
	BoosterHandle booster;

	tsk_xgb_check(XGBoosterCreate(dms, ndms, &booster), "XGBoosterCreate");
	tsk_xgb_own_booster(t->cxt, booster);
	for (int i = 0; i < t->s.nparams; i++)
	{
		if (XGBoosterSetParam(booster, t->s.keys[i], t->s.values[i]) != 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("invalid xgboost parameter %s = %s: %s", t->s.keys[i], t->s.values[i], XGBGetLastError()),
					 errhint("See the XGBoost 1.7 parameter documentation.")));
	}
	return booster;
}

/*
 * train_round
 *	  One boosting round on dtrain, then (with deval) XGBoost's evaluation
 *	  string of deval named "validation".  The first round of a run checks
 *	  XGBoost's log for unknown parameters.
 */
static const char *
train_round(BoosterHandle booster, int iter, DMatrixHandle dtrain, DMatrixHandle deval, bool first)
{
	const char *evnames[1] = {"validation"};
	const char *eval = NULL;
	sigset_t	saved;
	int			rc;

	CHECK_FOR_INTERRUPTS();
	if (first)
		tsk_xgb_log_clear();
	tsk_xgb_block_signals(&saved);
	rc = XGBoosterUpdateOneIter(booster, iter, dtrain);
	if (rc == 0 && deval != NULL)
		rc = XGBoosterEvalOneIter(booster, iter, &deval, evnames, 1, &eval);
	tsk_xgb_restore_signals(&saved);
	if (rc != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("xgboost training failed: %s", XGBGetLastError()),
				 errhint("The message is XGBoost's own; check the parameters given in params.")));
	if (first && (strstr(tsk_xgb_log_text(), "are not used") != NULL ||
				  strstr(tsk_xgb_log_text(), "might not be used") != NULL))
	{
		char	   *msg = pstrdup(strstr(tsk_xgb_log_text(), "Parameters:") ?
								  strstr(tsk_xgb_log_text(), "Parameters:") : tsk_xgb_log_text());
		char	   *nl = strchr(msg, '\n');

		if (nl)
			*nl = '\0';
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("unknown xgboost parameter: %s", msg),
				 errhint("XGBoost does not know this parameter; see the XGBoost 1.7 parameter documentation.")));
	}
	return eval;
}

/*
 * train_set_base_score
 *	  base_score = the mean label of rows [0, n) (a regression), as text
 *	  that reads back to the same float.
 */
static void
train_set_base_score(train_state *t, size_t n)
{
	double		sum = 0;

	for (size_t i = 0; i < n; i++)
		sum += t->label[i];
	tsk_train_settings_set(&t->s, "base_score", psprintf("%.17g", sum / (double) n));
}

/*
 * train_fit
 *	  Choose the number of rounds on the validation slice (early stopping
 *	  on its log loss, XGBoost's rule: stop after early_stopping_rounds
 *	  rounds without a strictly lower value, keep the first best round),
 *	  then refit on all training rows with that many rounds.
 *
 *	  Why refit rather than keep the early-stopped booster: the validation
 *	  slice is the newest fifth of the training rows, the rows nearest to
 *	  the test window and to live serving; a model that never learns from
 *	  them is older than it needs to be.  The number of rounds transfers to
 *	  a training set 25 % larger well enough (the usual practice after a
 *	  time-series CV), and the test window judges the refit model, so any
 *	  loss from the transfer shows in the stored metrics.
 */
static void
train_fit(train_state *t)
{
	DMatrixHandle all;
	int			rounds;

	t->validation_log_loss = NAN;
	if (t->s.early_stopping_rounds > 0)
	{
		DMatrixHandle dms[2];
		BoosterHandle es;
		double		best = INFINITY;
		int			best_iter = 0,
					iter;

		if (t->auto_base_score)
			train_set_base_score(t, t->n_fit);
		dms[0] = train_matrix(t, 0, t->n_fit);
		dms[1] = train_matrix(t, t->val_begin, t->n_train - t->val_begin);
		es = train_booster(t, dms, 2);
		tsk_progress_phase("validate", t->s.num_boost_round, (int64) t->n_fit);
		for (iter = 0; iter < t->s.num_boost_round; iter++)
		{
			const char *eval = train_round(es, iter, dms[0], dms[1], iter == 0);
			double		ll;

			if (tsk_tsm_parse_eval(eval, t->target == TSM_TARGET_DIRECTION ? "validation-logloss"
								   : "validation-rmse", &ll) != 0)
				elog(ERROR, "unexpected xgboost evaluation output: %s", eval);
			if (ll < best)
			{
				best = ll;
				best_iter = iter;
			}
			tsk_progress_round(iter + 1, ll, best, best_iter + 1);
			if (iter != best_iter && iter - best_iter >= t->s.early_stopping_rounds)
			{
				iter++;
				break;
			}
		}
		t->rounds_boosted = iter;
		t->best_iteration = best_iter;
		t->validation_log_loss = best;
		rounds = best_iter + 1;
		elog(DEBUG1, "train %s: early stopping chose %d of %d rounds, %ld ms since start", t->symbol,
			 rounds, iter, TimestampDifferenceMilliseconds(t->started, GetCurrentTimestamp()));
	}
	else
	{
		rounds = t->s.num_boost_round;
		t->best_iteration = rounds - 1;
	}

	if (t->auto_base_score)
		train_set_base_score(t, t->n_train);
	all = train_matrix(t, 0, t->n_train);
	t->booster = train_booster(t, &all, 1);
	tsk_progress_phase("refit", rounds, (int64) t->n_train);
	for (int iter = 0; iter < rounds; iter++)
	{
		(void) train_round(t->booster, iter, all, NULL, iter == 0 && t->s.early_stopping_rounds == 0);
		tsk_progress_round(iter + 1, NAN, t->validation_log_loss, t->best_iteration + 1);
	}
	/* names travel with the model (python sees booster.feature_names) */
	tsk_xgb_check(XGBoosterSetStrFeatureInfo(t->booster, "feature_name", (const char **) t->r.names, t->r.nfeat),
				 "XGBoosterSetStrFeatureInfo");
	elog(DEBUG1, "train %s: refit %d rounds on %zu rows, %ld ms since start", t->symbol, rounds, t->n_train,
		 TimestampDifferenceMilliseconds(t->started, GetCurrentTimestamp()));
}

/*
 * train_evaluate
 *	  The test window, scored once with the final model, beside the
 *	  baselines on the same rows: always the training base rate (log loss,
 *	  Brier) and always the training majority class (accuracy).  Also the
 *	  training log loss and accuracy over the latest training rows.
 */
static void
train_evaluate(train_state *t)
{
	size_t		first = t->n_train > TRAIN_METRIC_SAMPLE ? t->n_train - TRAIN_METRIC_SAMPLE : 0;
	size_t		nmax = Max(t->n_train, t->n_test);

	t->prob = palloc(sizeof(double) * nmax);
	t->scratch = palloc(sizeof(size_t) * nmax);
	if (t->target != TSM_TARGET_DIRECTION)
	{
		tsk_train_evaluate_regression(t);
		return;
	}
	tsk_xgb_predict(t->booster, t->r.x + first * t->r.nfeat, t->n_train - first, t->r.nfeat, t->prob);
	tsk_tsm_compute_metrics(t->label + first, t->prob, t->n_train - first, t->majority, NULL, &t->trm);

	tsk_xgb_predict(t->booster, t->r.x + t->test_begin * t->r.nfeat, t->n_test, t->r.nfeat, t->prob);
	tsk_tsm_compute_metrics(t->label + t->test_begin, t->prob, t->n_test, t->majority, t->scratch, &t->tm);
	tsk_tsm_constant_scores(t->label + t->test_begin, t->n_test, t->train_base_rate,
							&t->baseline_log_loss, &t->baseline_brier);
	elog(DEBUG1, "train %s: test window scored, %ld ms since start", t->symbol,
		 TimestampDifferenceMilliseconds(t->started, GetCurrentTimestamp()));
}

/*
 * train_run
 *	  The whole training run; returns the model id or 0 when another
 *	  session is training the symbol.
 */
static int64
train_run(const char *symbol, const char *query, int nargs, Oid *argtypes, Datum *args,
		  Interval *width, int horizon, Jsonb *params, const char *source, tsm_target target,
		  const train_window *window)
{
	MemoryContext cxt = AllocSetContextCreate(CurrentMemoryContext, "triggerstock train",
											  ALLOCSET_DEFAULT_SIZES);
	MemoryContext old = MemoryContextSwitchTo(cxt);
	train_state *t = palloc0(sizeof(train_state));
	int			guc_level;
	int			spi;
	int64		model_id = 0;

	t->started = GetCurrentTimestamp();
	t->cxt = cxt;
	t->symbol = symbol;
	t->width = width;
	t->horizon = horizon;
	t->target = target;
	t->source = source;
	if (window != NULL)
		t->window = *window;
	if (horizon < 1 || horizon > 10000)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("horizon must be between 1 and 10000 buckets, got %d", horizon),
				 errhint("The label is whether the close horizon buckets ahead is higher than the close now.")));
	tsk_candle_check_width(width);
	tsk_train_settings_parse(params, target, &t->s);
	/* progress (issue 15): the slot goes with cxt, at the end or an ERROR */
	tsk_progress_begin(cxt, symbol, tsk_tsm_target_name(target));

	guc_level = tsk_guc_internal_begin();
	/* a feature query given by the user runs under the user's search_path */
	tsk_train_fetch_search_path(source != NULL ? pstrdup(namespace_search_path) : NULL);
	spi = tsk_spi_connect();
	if (train_read(t, query, nargs, argtypes, args))
	{
		train_split(t);
		train_fit(t);
		tsk_progress_phase("evaluate", 0, (int64) t->n_test);
		train_evaluate(t);
		tsk_train_reference(t);
		tsk_train_decide(t);
		tsk_progress_phase("store", 0, 0);
		tsk_train_store(t);
		tsk_train_deploy(t);
		model_id = t->model_id;
	}
	tsk_spi_finish(spi);
	tsk_train_fetch_search_path(NULL);
	tsk_guc_internal_end(guc_level);
	MemoryContextSwitchTo(old);
	MemoryContextDelete(cxt);	/* frees the DMatrix and booster handles */
	return model_id;
}

/*
 * model_train
 *	  train(symbol, width, horizon, params, target, since, until, "window")
 *	  -> bigint on the complete rows of features(symbol, width), in the
 *	  training window when one is given.
 */
Datum
model_train(PG_FUNCTION_ARGS)
{
	char	   *symbol;
	const char *nsp;
	char	   *query;
	char	   *target_name;
	int			target;
	Oid			argtypes[4] = {TEXTOID, INTERVALOID, TIMESTAMPTZOID, TIMESTAMPTZOID};
	Datum		args[4];
	candle_completeness complete;
	TimestampTz until;
	TimestampTz since = DT_NOBEGIN;
	train_window win = {0};
	int64		id;

	/* a 0.1 database (not yet updated) calls the four-argument train() */
	bool		v02 = PG_NARGS() >= 8;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1) || PG_ARGISNULL(2) || PG_ARGISNULL(3) || (v02 && PG_ARGISNULL(4)))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("train() arguments must not be NULL"),
				 errhint("Call train('BTC'), or give width, horizon, params and target explicitly; "
						 "only since, until and \"window\" may be NULL.")));
	symbol = text_to_cstring(PG_GETARG_TEXT_PP(0));
	target_name = v02 ? text_to_cstring(PG_GETARG_TEXT_PP(4)) : "direction";
	target = tsk_tsm_target_parse(target_name);
	if (target < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("unknown target \"%s\"", target_name),
				 errhint("Use direction (the default), return or volatility.")));
	args[0] = PG_GETARG_DATUM(0);
	args[1] = PG_GETARG_DATUM(1);
	/* the complete buckets only: the extension's one rule (candles/complete.h) */
	tsk_candle_completeness(symbol, PG_GETARG_INTERVAL_P(1), &complete);
	until = complete.has_bucket ? complete.bucket : DT_NOBEGIN;
	/* the training window: [since, until], or the "window" ending at until */
	if (v02 && !PG_ARGISNULL(6))
	{
		win.has_until = true;
		win.until = PG_GETARG_TIMESTAMPTZ(6);
		if (win.until < until)
			until = win.until;
	}
	if (v02 && !PG_ARGISNULL(5) && !PG_ARGISNULL(7))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("since and \"window\" cannot both be given"),
				 errhint("\"window\" is the interval ending at until (or at the newest complete bucket).")));
	if (v02 && !PG_ARGISNULL(5))
		since = PG_GETARG_TIMESTAMPTZ(5);
	if (v02 && !PG_ARGISNULL(7))
	{
		Interval   *w = PG_GETARG_INTERVAL_P(7);
		Interval	zero = {0};

		if (DatumGetInt32(DirectFunctionCall2(interval_cmp, IntervalPGetDatum(w), IntervalPGetDatum(&zero))) <= 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("\"window\" must be a positive interval"),
					 errhint("For example \"window\" => '10 days'.")));
		win.window = DatumGetCString(DirectFunctionCall1(interval_out, IntervalPGetDatum(w)));
		if (!TIMESTAMP_NOT_FINITE(until))
			since = DatumGetTimestampTz(DirectFunctionCall2(timestamptz_mi_interval, TimestampTzGetDatum(until),
															IntervalPGetDatum(w)));
	}
	win.has_since = !TIMESTAMP_NOT_FINITE(since);
	win.since = since;
	if (!TIMESTAMP_NOT_FINITE(since) && !TIMESTAMP_NOT_FINITE(until) && since > until)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the training window of \"%s\" is empty: since %s is after %s", symbol,
						pstrdup(timestamptz_to_str(since)), pstrdup(timestamptz_to_str(until))),
				 errhint("until is capped at the newest complete bucket.")));
	args[2] = TimestampTzGetDatum(until);
	args[3] = TimestampTzGetDatum(since);
	nsp = quote_identifier(get_namespace_name(get_func_namespace(fcinfo->flinfo->fn_oid)));
	/* features() from since computes its bounded warm-up before it */
	if (TIMESTAMP_NOT_FINITE(since))
		query = psprintf("SELECT * FROM %s.features($1, $2) WHERE bucket OPERATOR(pg_catalog.<=) $3", nsp);
	else
		query = psprintf("SELECT * FROM %s.features($1, $2, $4) WHERE bucket OPERATOR(pg_catalog.<=) $3 "
						 "AND bucket OPERATOR(pg_catalog.>=) $4", nsp);
	id = train_run(symbol, query, 4, argtypes, args, PG_GETARG_INTERVAL_P(1), PG_GETARG_INT32(2),
				   PG_GETARG_JSONB_P(3), NULL, (tsm_target) target, &win);
	if (id == 0)
		PG_RETURN_NULL();
	PG_RETURN_INT64(id);
}

/*
 * model_train_query
 *	  train_from_query(symbol, query, width, horizon, params) -> bigint on
 *	  the rows of an explicit feature query (bucket, close, features...);
 *	  the query decides which rows are complete.
 */
Datum
model_train_query(PG_FUNCTION_ARGS)
{
	int64		id;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1) || PG_ARGISNULL(2) || PG_ARGISNULL(3) || PG_ARGISNULL(4))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("train_from_query() arguments must not be NULL"),
				 errhint("Give a symbol and a query returning bucket, close and feature columns.")));
	id = train_run(text_to_cstring(PG_GETARG_TEXT_PP(0)), text_to_cstring(PG_GETARG_TEXT_PP(1)),
				   0, NULL, NULL, PG_GETARG_INTERVAL_P(2), PG_GETARG_INT32(3), PG_GETARG_JSONB_P(4),
				   text_to_cstring(PG_GETARG_TEXT_PP(1)), TSM_TARGET_DIRECTION, NULL);
	if (id == 0)
		PG_RETURN_NULL();
	PG_RETURN_INT64(id);
}
