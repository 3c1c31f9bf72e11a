/*
 * model_train.c
 *	  train(symbol, width, horizon, params) and train_from_query(...): read
 *	  feature rows, label them, split them in time order, boost with
 *	  libxgboost under early stopping, measure, store the model and deploy
 *	  it when it beats the deployed one on the same test window.
 *
 * Invariants:
 *	- rows are read in time order (model_fetch.c); the feature columns
 *	  are discovered from the result: every numeric column except the
 *	  identifiers symbol, bucket and close;
 *	- the split is never shuffled: train on the oldest rows, leave out
 *	  `horizon` rows, test on the newest test_fraction;
 *	- CHECK_FOR_INTERRUPTS() runs between boosting rounds; XGBoost runs
 *	  with every signal blocked so that its threads never run a handler;
 *	- DMatrix and booster handles belong to the train memory context (a
 *	  child of the caller's context), freed by its callbacks on success,
 *	  ERROR or cancel alike;
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
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "models/model.h"
#include "models/model_metrics.h"
#include "models/model_rows.h"
#include "models/model_settings.h"
#include "guc.h"
#include "schema.h"

extern PGDLLEXPORT Datum model_train(PG_FUNCTION_ARGS);
PG_FUNCTION_INFO_V1(model_train);
extern PGDLLEXPORT Datum model_train_query(PG_FUNCTION_ARGS);
PG_FUNCTION_INFO_V1(model_train_query);

/* Smallest training set and test window train() accepts. */
#define TRAIN_MIN_TRAIN_ROWS 100
#define TRAIN_MIN_TEST_ROWS 20

/*
 * Training rows behind the drift reference (evenly spaced) and behind the
 * training log loss and accuracy (the latest ones).
 */
#define TRAIN_PSI_SAMPLE 65536

/*
 * train_needed_rows
 *	  Smallest number of labelled rows that gives the minimum training set
 *	  and test window at this test_fraction and horizon.
 */
static size_t
train_needed_rows(double test_fraction, int horizon)
{
	for (size_t n = 1;; n++)
	{
		size_t		n_train,
					test_begin;

		if (tsk_tsm_split(n, test_fraction, horizon, &n_train, &test_begin) == 0 &&
			n_train >= TRAIN_MIN_TRAIN_ROWS && n - test_begin >= TRAIN_MIN_TEST_ROWS)
			return n;
	}
}

/*
 * train_metrics_json
 *	  Append "key": value pairs of metrics m to buf (prefix for the keys).
 */
static void
train_metrics_json(StringInfo buf, const tsm_metrics *m)
{
	appendStringInfo(buf, "\"n_test\": %zu, \"accuracy\": ", m->n);
	tsk_json_double(buf, m->accuracy);
	appendStringInfoString(buf, ", \"precision\": ");
	tsk_json_double(buf, m->precision);
	appendStringInfoString(buf, ", \"recall\": ");
	tsk_json_double(buf, m->recall);
	appendStringInfoString(buf, ", \"f1\": ");
	tsk_json_double(buf, m->f1);
	appendStringInfoString(buf, ", \"roc_auc\": ");
	tsk_json_double(buf, m->roc_auc);
	appendStringInfoString(buf, ", \"log_loss\": ");
	tsk_json_double(buf, m->log_loss);
	appendStringInfoString(buf, ", \"brier\": ");
	tsk_json_double(buf, m->brier);
	appendStringInfoString(buf, ", \"base_rate\": ");
	tsk_json_double(buf, m->base_rate);
	appendStringInfoString(buf, ", \"majority_accuracy\": ");
	tsk_json_double(buf, m->majority_accuracy);
}

/*
 * train_json_string
 *	  Append a JSON string literal.
 */
static void
train_json_string(StringInfo buf, const char *s)
{
	escape_json(buf, s);
}

/*
 * train_boost
 *	  Boost on the training rows with early stopping on the test window;
 *	  returns the booster sliced to the best iteration (owned by cxt) and
 *	  sets *best_iteration, *rounds and *best_eval.
 */
static BoosterHandle
train_boost(MemoryContext cxt, const train_rows *r, const float *label,
			size_t n_train, size_t test_begin, size_t n_test,
			const train_settings *s, int *best_iteration, int *rounds, double *best_eval)
{
	DMatrixHandle dm[2];
	BoosterHandle booster,
				sliced;
	const char *evnames[1] = {"test"};
	double		best = INFINITY;
	int			best_iter = 0;
	int			iter;
	sigset_t	saved;
	int			rc;

	/* the threaded constructor, as python-xgboost's numpy path uses */
	tsk_xgb_check(XGDMatrixCreateFromMat_omp(r->x, n_train, r->nfeat, NAN, &dm[0], tsk_train_threads),
				 "XGDMatrixCreateFromMat_omp");
	tsk_xgb_own_dmatrix(cxt, dm[0]);
	tsk_xgb_check(XGDMatrixCreateFromMat_omp(r->x + test_begin * r->nfeat, n_test, r->nfeat, NAN, &dm[1],
											tsk_train_threads),
				 "XGDMatrixCreateFromMat_omp");
	tsk_xgb_own_dmatrix(cxt, dm[1]);
	tsk_xgb_check(XGDMatrixSetFloatInfo(dm[0], "label", label, n_train), "XGDMatrixSetFloatInfo");
	tsk_xgb_check(XGDMatrixSetFloatInfo(dm[1], "label", label + test_begin, n_test), "XGDMatrixSetFloatInfo");
	for (int i = 0; i < 2; i++)
		tsk_xgb_check(XGDMatrixSetStrFeatureInfo(dm[i], "feature_name", (const char **) r->names, r->nfeat),
					 "XGDMatrixSetStrFeatureInfo");

	tsk_xgb_check(XGBoosterCreate(dm, 2, &booster), "XGBoosterCreate");
	tsk_xgb_own_booster(cxt, booster);
	for (int i = 0; i < s->nparams; i++)
	{
		if (XGBoosterSetParam(booster, s->keys[i], s->values[i]) != 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("invalid xgboost parameter %s = %s: %s", s->keys[i], s->values[i], XGBGetLastError()),
					 errhint("See the XGBoost 1.7 parameter documentation.")));
	}

	tsk_xgb_log_clear();
	for (iter = 0; iter < s->num_boost_round; iter++)
	{
		const char *eval = NULL;
		double		ll;

		CHECK_FOR_INTERRUPTS();
		tsk_xgb_block_signals(&saved);
		rc = XGBoosterUpdateOneIter(booster, iter, dm[0]);
		if (rc == 0)
			rc = XGBoosterEvalOneIter(booster, iter, &dm[1], evnames, 1, &eval);
		tsk_xgb_restore_signals(&saved);
		if (rc != 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("xgboost training failed: %s", XGBGetLastError()),
					 errhint("The message is XGBoost's own; check the parameters given in params.")));
		if (iter == 0 && (strstr(tsk_xgb_log_text(), "are not used") != NULL ||
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
		if (tsk_tsm_parse_eval(eval, "test-logloss", &ll) != 0)
			elog(ERROR, "unexpected xgboost evaluation output: %s", eval);
		if (ll < best)
		{
			best = ll;
			best_iter = iter;
		}
		else if (s->early_stopping_rounds > 0 && iter - best_iter >= s->early_stopping_rounds)
		{
			iter++;
			break;
		}
	}
	*rounds = iter;
	*best_iteration = best_iter;
	*best_eval = best;

	tsk_xgb_check(XGBoosterSlice(booster, 0, best_iter + 1, 1, &sliced), "XGBoosterSlice");
	tsk_xgb_own_booster(cxt, sliced);
	/* names travel with the model (python sees booster.feature_names) */
	tsk_xgb_check(XGBoosterSetStrFeatureInfo(sliced, "feature_name", (const char **) r->names, r->nfeat),
				 "XGBoosterSetStrFeatureInfo");
	return sliced;
}

/*
 * train_run_state
 *	  Everything one training run carries from phase to phase (train_run);
 *	  each group of fields is filled by the phase named beside it.
 */
typedef struct train_run_state
{
	/* the call */
	const char *symbol;
	Interval   *width;
	int			horizon;
	const char *source;			/* train_from_query's query, NULL for features() */
	TimestampTz started;
	MemoryContext cxt;			/* owns everything below, handles included */
	train_settings s;
	size_t		needed;			/* fewest rows that make a model */
	/* train_read */
	train_rows	r;
	/* train_split */
	float	   *label;
	size_t		nl,
				n_train,
				test_begin,
				n_test,
				positives;
	int			majority;
	/* train_boost (fit) */
	BoosterHandle booster;
	int			best_iteration,
				rounds;
	double		best_eval;
	/* train_evaluate */
	double	   *prob;
	size_t	   *scratch;
	tsm_metrics tm,
				trm;
	/* train_reference */
	StringInfoData importance,
				drift;
	/* train_compare_deployed */
	int64		deployed_id;
	bool		deploy;
	char	   *deploy_reason;
	/* train_store */
	int64		model_id;
} train_run_state;

/*
 * train_try_lock
 *	  One training per symbol at a time: a transaction-level advisory lock;
 *	  false (after a NOTICE) when another session holds it.
 */
static bool
train_try_lock(const char *symbol)
{
	Oid			lock_types[1] = {TEXTOID};
	Datum		lock_args[1] = {CStringGetTextDatum(symbol)};
	bool		isnull;
	int			ret;

	ret = SPI_execute_with_args("SELECT pg_catalog.pg_try_advisory_xact_lock(29811, pg_catalog.hashtext($1))",
								1, lock_types, lock_args, NULL, false, 1);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "SPI_execute failed: %s", SPI_result_code_string(ret));
	if (!DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull)))
	{
		ereport(NOTICE,
				(errmsg("a model for symbol \"%s\" is already being trained, skipping", symbol),
				 errhint("The other train() call stores its model when it finishes.")));
		return false;
	}
	return true;
}

/*
 * train_read
 *	  Phase read: check that train() knows the symbol, then read the feature
 *	  rows in time order (model_fetch.c) into st->r.
 */
static void
train_read(train_run_state *st, const char *query, int nargs, Oid *argtypes, Datum *args)
{
	Oid			types[1] = {TEXTOID};
	Datum		values[1] = {CStringGetTextDatum(st->symbol)};
	int			ret;

	if (st->source == NULL)
	{
		ret = SPI_execute_with_args("SELECT 1 FROM triggerstock.candles c WHERE c.symbol = $1 LIMIT 1",
									1, types, values, NULL, true, 1);
		if (ret != SPI_OK_SELECT)
			elog(ERROR, "SPI_execute failed: %s", SPI_result_code_string(ret));
		if (SPI_processed == 0)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_OBJECT),
					 errmsg("unknown symbol \"%s\"", st->symbol),
					 errhint("triggerstock.candles has no candle for it; training needs at least %zu candles "
							 "at the training width.", st->needed)));
	}

	tsk_train_fetch(query, nargs, argtypes, args, st->cxt, &st->r);
	elog(DEBUG1, "train %s: %zu rows read in %ld ms", st->symbol, st->r.n,
		 TimestampDifferenceMilliseconds(st->started, GetCurrentTimestamp()));
}

/*
 * train_split
 *	  Phase split: label the rows (close horizon buckets ahead is higher),
 *	  split them in time order (training rows, horizon left out, test
 *	  window), and refuse too few rows or a single-class training set.
 */
static void
train_split(train_run_state *st)
{
	const train_rows *r = &st->r;
	int			horizon = st->horizon;

	st->label = palloc(sizeof(float) * Max(r->n, 1));
	st->nl = tsk_tsm_labels(r->close, r->n, horizon, st->label);
	if (st->nl < st->needed - horizon ||
		tsk_tsm_split(st->nl, st->s.test_fraction, horizon, &st->n_train, &st->test_begin) != 0 ||
		st->n_train < TRAIN_MIN_TRAIN_ROWS || st->nl - st->test_begin < TRAIN_MIN_TEST_ROWS)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_RESOURCES),
				 errmsg("too few rows to train a model for \"%s\": %zu feature rows", st->symbol, r->n),
				 errhint("Training needs at least %zu rows at horizon %d and test_fraction %g "
						 "(%d training rows, %d test rows and %d left out between them).",
						 st->needed, horizon, st->s.test_fraction, TRAIN_MIN_TRAIN_ROWS,
						 TRAIN_MIN_TEST_ROWS, horizon)));
	st->n_test = st->nl - st->test_begin;
	st->positives = 0;
	for (size_t i = 0; i < st->n_train; i++)
		st->positives += st->label[i] > 0.5f;
	if (st->positives == 0 || st->positives == st->n_train)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the training labels of \"%s\" are all %d", st->symbol, st->positives ? 1 : 0),
				 errhint("Both outcomes (close higher and not higher %d buckets ahead) must occur in the %zu training rows; "
						 "load more data.", horizon, st->n_train)));
	st->majority = st->positives * 2 > st->n_train ? 1 : 0;
}

/*
 * train_evaluate
 *	  Phase evaluate: metrics of the sliced booster through the serving
 *	  path, on the latest TRAIN_PSI_SAMPLE training rows (log loss and
 *	  accuracy, no AUC sort) and on the test window.
 */
static void
train_evaluate(train_run_state *st)
{
	const train_rows *r = &st->r;
	size_t		first = st->n_train > TRAIN_PSI_SAMPLE ? st->n_train - TRAIN_PSI_SAMPLE : 0;

	st->prob = palloc(sizeof(double) * Max(st->n_train, st->n_test));
	st->scratch = palloc(sizeof(size_t) * Max(st->n_train, st->n_test));
	tsk_xgb_predict(st->booster, r->x + first * r->nfeat, st->n_train - first, r->nfeat, st->prob);
	tsk_tsm_compute_metrics(st->label + first, st->prob, st->n_train - first, st->majority, NULL, &st->trm);
	tsk_xgb_predict(st->booster, r->x + st->test_begin * r->nfeat, st->n_test, r->nfeat, st->prob);
	tsk_tsm_compute_metrics(st->label + st->test_begin, st->prob, st->n_test, st->majority,
							st->scratch, &st->tm);
	elog(DEBUG1, "train %s: train and test metrics, %ld ms since start", st->symbol,
		 TimestampDifferenceMilliseconds(st->started, GetCurrentTimestamp()));
}

/*
 * train_reference
 *	  Phase reference: what is stored beside the model for later analysis:
 *	  the feature importance (gain; unused features score 0) and the PSI
 *	  drift reference (decile edges and fractions of each training column,
 *	  over at most TRAIN_PSI_SAMPLE evenly spaced training rows).
 */
static void
train_reference(train_run_state *st)
{
	const train_rows *r = &st->r;
	bst_ulong	nf,
				dim;
	const char **fnames;
	const bst_ulong *shape;
	const float *scores;
	size_t		stride = (st->n_train + TRAIN_PSI_SAMPLE - 1) / TRAIN_PSI_SAMPLE;
	double	   *col = palloc(sizeof(double) * st->n_train);
	double		edges[TSM_PSI_BINS];
	double		frac[TSM_PSI_BINS + 1];

	tsk_xgb_check(XGBoosterFeatureScore(st->booster, "{\"importance_type\": \"gain\"}",
									   &nf, &fnames, &dim, &shape, &scores),
				 "XGBoosterFeatureScore");
	initStringInfo(&st->importance);
	appendStringInfoChar(&st->importance, '{');
	for (int j = 0; j < r->nfeat; j++)
	{
		double		gain = 0;

		for (bst_ulong k = 0; k < nf; k++)
			if (strcmp(fnames[k], r->names[j]) == 0)
				gain = scores[k];
		if (j > 0)
			appendStringInfoString(&st->importance, ", ");
		train_json_string(&st->importance, r->names[j]);
		appendStringInfoString(&st->importance, ": ");
		tsk_json_double(&st->importance, gain);
	}
	appendStringInfoChar(&st->importance, '}');

	initStringInfo(&st->drift);
	appendStringInfoChar(&st->drift, '{');
	for (int j = 0; j < r->nfeat; j++)
	{
		int			ne;
		size_t		m = 0;

		for (size_t i = 0; i < st->n_train; i += stride)
			col[m++] = r->x[i * r->nfeat + j];
		ne = tsk_tsm_psi_edges(col, m, edges);
		tsk_tsm_psi_fractions(col, m, edges, ne, frac);
		if (j > 0)
			appendStringInfoString(&st->drift, ", ");
		train_json_string(&st->drift, r->names[j]);
		appendStringInfoString(&st->drift, ": {\"edges\": [");
		for (int b = 0; b < ne; b++)
		{
			if (b > 0)
				appendStringInfoString(&st->drift, ", ");
			tsk_json_double(&st->drift, edges[b]);
		}
		appendStringInfoString(&st->drift, "], \"fractions\": [");
		for (int b = 0; b < ne + 2; b++)
		{
			if (b > 0)
				appendStringInfoString(&st->drift, ", ");
			tsk_json_double(&st->drift, frac[b]);
		}
		appendStringInfoString(&st->drift, "]}");
	}
	appendStringInfoChar(&st->drift, '}');

	elog(DEBUG1, "train %s: metrics, importance and drift reference done, %ld ms since start",
		 st->symbol, TimestampDifferenceMilliseconds(st->started, GetCurrentTimestamp()));
}

/*
 * train_compare_deployed
 *	  Phase deploy, the decision: the first model of a symbol deploys
 *	  itself; a later one only when its test log loss beats the deployed
 *	  model's on the same test window (same features, width and horizon).
 */
static void
train_compare_deployed(train_run_state *st)
{
	const train_rows *r = &st->r;

	st->deploy = false;
	st->deploy_reason = NULL;
	st->deployed_id = tsk_model_deployed(st->symbol);
	if (st->deployed_id == 0)
	{
		st->deploy = true;
		st->deploy_reason = "first model of the symbol";
	}
	else
	{
		model_t    *dm = tsk_model_get(st->deployed_id);
		bool		same = dm->nfeatures == r->nfeat && dm->horizon == st->horizon &&
			memcmp(&dm->width, st->width, sizeof(Interval)) == 0;

		for (int j = 0; same && j < r->nfeat; j++)
			same = strcmp(dm->features[j], r->names[j]) == 0;
		if (!same)
			st->deploy_reason = psprintf("deployed model %lld has other features, width or horizon",
										 (long long) st->deployed_id);
		else
		{
			tsm_metrics dtm;

			tsk_xgb_predict(dm->booster, r->x + st->test_begin * r->nfeat, st->n_test, r->nfeat, st->prob);
			tsk_tsm_compute_metrics(st->label + st->test_begin, st->prob, st->n_test, st->majority,
									st->scratch, &dtm);
			st->deploy = st->tm.log_loss < dtm.log_loss;
			st->deploy_reason = psprintf("test log loss %.6f %s %.6f of deployed model %lld on the same window",
										 st->tm.log_loss, st->deploy ? "<" : ">=", dtm.log_loss,
										 (long long) st->deployed_id);
		}
	}
}

/*
 * train_store
 *	  Phase store: the model bytes (UBJSON), its parameters, metrics,
 *	  importance and drift reference go into one triggerstock.models row;
 *	  sets st->model_id.
 */
static void
train_store(train_run_state *st)
{
	const train_rows *r = &st->r;
	const train_settings *s = &st->s;
	bst_ulong	len;
	const char *raw;
	bytea	   *model_bytes;
	StringInfoData metrics,
				pjson;
	Oid			types[13] = {TEXTOID, INTERVALOID, INT4OID, BYTEAOID, TEXTOID, TEXTARRAYOID,
	INT4OID, TIMESTAMPTZOID, TIMESTAMPTZOID, TIMESTAMPTZOID, TIMESTAMPTZOID, TEXTOID, TEXTOID};
	Datum		values[13];
	Datum	   *names = palloc(sizeof(Datum) * r->nfeat);
	char		nulls[13];
	char	   *sql;
	bool		isnull;
	int			ret;

	tsk_xgb_check(XGBoosterSaveModelToBuffer(st->booster, "{\"format\": \"ubj\"}", &len, &raw),
				 "XGBoosterSaveModelToBuffer");
	model_bytes = palloc(VARHDRSZ + len);
	SET_VARSIZE(model_bytes, VARHDRSZ + len);
	memcpy(VARDATA(model_bytes), raw, len);

	initStringInfo(&metrics);
	appendStringInfoChar(&metrics, '{');
	train_metrics_json(&metrics, &st->tm);
	appendStringInfo(&metrics, ", \"n_train\": %zu, \"n_gap\": %d, \"majority_class\": %d, \"train_base_rate\": ",
					 st->n_train, st->horizon, st->majority);
	tsk_json_double(&metrics, (double) st->positives / (double) st->n_train);
	appendStringInfoString(&metrics, ", \"train_log_loss\": ");
	tsk_json_double(&metrics, st->trm.log_loss);
	appendStringInfoString(&metrics, ", \"train_accuracy\": ");
	tsk_json_double(&metrics, st->trm.accuracy);
	appendStringInfo(&metrics, ", \"rounds\": %d, \"best_iteration\": %d, \"xgboost_best_test_logloss\": ",
					 st->rounds, st->best_iteration);
	tsk_json_double(&metrics, st->best_eval);
	appendStringInfo(&metrics, ", \"deployed_model_id\": %lld, \"auto_deploy\": ", (long long) st->deployed_id);
	train_json_string(&metrics, st->deploy_reason);
	appendStringInfoChar(&metrics, '}');

	initStringInfo(&pjson);
	appendStringInfo(&pjson, "{\"test_fraction\": %.17g, \"num_boost_round\": %d, \"early_stopping_rounds\": %d",
					 s->test_fraction, s->num_boost_round, s->early_stopping_rounds);
	for (int i = 0; i < s->nparams; i++)
	{
		if (strcmp(s->keys[i], "nthread") == 0)
			continue;			/* a GUC, not a model property */
		appendStringInfoString(&pjson, ", ");
		train_json_string(&pjson, s->keys[i]);
		appendStringInfoString(&pjson, ": ");
		train_json_string(&pjson, s->values[i]);
	}
	appendStringInfoChar(&pjson, '}');

	memset(nulls, ' ', sizeof(nulls));
	for (int j = 0; j < r->nfeat; j++)
		names[j] = CStringGetTextDatum(r->names[j]);
	values[0] = CStringGetTextDatum(st->symbol);
	values[1] = IntervalPGetDatum(st->width);
	values[2] = Int32GetDatum(st->horizon);
	values[3] = PointerGetDatum(model_bytes);
	values[4] = CStringGetTextDatum(pjson.data);
	values[5] = PointerGetDatum(construct_array(names, r->nfeat, TEXTOID, -1, false, TYPALIGN_INT));
	values[6] = Int32GetDatum(st->best_iteration);
	values[7] = TimestampTzGetDatum(r->bucket[0]);
	values[8] = TimestampTzGetDatum(r->bucket[st->n_train - 1]);
	values[9] = TimestampTzGetDatum(r->bucket[st->test_begin]);
	values[10] = TimestampTzGetDatum(r->bucket[st->nl - 1]);
	values[11] = CStringGetTextDatum(metrics.data);
	values[12] = CStringGetTextDatum(st->importance.data);
	sql = psprintf("INSERT INTO triggerstock.models (symbol, width, horizon, model, sha256, params, features, "
				   "best_iteration, train_from, train_to, test_from, test_to, metrics, importance, "
				   "drift_reference, source) "
				   "VALUES ($1, $2, $3, $4, pg_catalog.encode(pg_catalog.sha256($4), 'hex'), $5::pg_catalog.jsonb, $6, "
				   "$7, $8, $9, $10, $11, $12::pg_catalog.jsonb || pg_catalog.jsonb_build_object("
				   "'train_from', $8, 'train_to', $9, 'test_from', $10, 'test_to', $11, "
				   "'training_ms', pg_catalog.round(extract(epoch FROM pg_catalog.clock_timestamp() - "
				   "%s::timestamp with time zone) * 1000, 1)), "
				   "$13::pg_catalog.jsonb, %s::pg_catalog.jsonb, %s) RETURNING id",
				   quote_literal_cstr(timestamptz_to_str(st->started)),
				   quote_literal_cstr(st->drift.data),
				   st->source ? quote_literal_cstr(st->source) : "'features()'");
	ret = SPI_execute_with_args(sql, 13, types, values, nulls, false, 1);
	if (ret != SPI_OK_INSERT_RETURNING)
		elog(ERROR, "SPI_execute failed: %s", SPI_result_code_string(ret));
	st->model_id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
}

/*
 * train_deploy
 *	  Phase deploy, the action: a deployments row for a model that won
 *	  (train_compare_deployed), else a NOTICE saying how to deploy it.
 */
static void
train_deploy(const train_run_state *st)
{
	int			ret;

	if (st->deploy)
	{
		Oid			types[3] = {TEXTOID, INT8OID, TEXTOID};
		Datum		values[3] = {CStringGetTextDatum(st->symbol), Int64GetDatum(st->model_id),
		CStringGetTextDatum(st->deploy_reason)};

		ret = SPI_execute_with_args("INSERT INTO triggerstock.deployments (symbol, model_id, strategy, reason) "
									"VALUES ($1, $2, 'best_score', 'train(): ' OPERATOR(pg_catalog.||) $3)",
									3, types, values, NULL, false, 0);
		if (ret != SPI_OK_INSERT)
			elog(ERROR, "SPI_execute failed: %s", SPI_result_code_string(ret));
	}
	else
		ereport(NOTICE,
				(errmsg("model %lld for \"%s\" stored but not deployed: %s",
						(long long) st->model_id, st->symbol, st->deploy_reason),
				 errhint("Deploy it anyway with SELECT deploy(%lld).", (long long) st->model_id)));
}

/*
 * train_run
 *	  The whole training run, phase by phase (read, split, fit, evaluate,
 *	  reference, deploy decision, store, deploy); returns the model id or 0
 *	  when another session is training the symbol.
 */
static int64
train_run(const char *symbol, const char *query, int nargs, Oid *argtypes, Datum *args,
		  Interval *width, int horizon, Jsonb *params, const char *source)
{
	TimestampTz started = GetCurrentTimestamp();
	MemoryContext cxt = AllocSetContextCreate(CurrentMemoryContext, "triggerstock train",
											  ALLOCSET_DEFAULT_SIZES);
	MemoryContext old = MemoryContextSwitchTo(cxt);
	train_run_state *st = palloc0(sizeof(train_run_state));
	int64		model_id;
	int			spi;

	st->symbol = symbol;
	st->width = width;
	st->horizon = horizon;
	st->source = source;
	st->started = started;
	st->cxt = cxt;
	if (horizon < 1 || horizon > 10000)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("horizon must be between 1 and 10000 buckets, got %d", horizon),
				 errhint("The label is whether the close horizon buckets ahead is higher than the close now.")));
	tsk_train_settings_parse(params, &st->s);

	/* a feature query given by the user runs under the user's search_path */
	tsk_train_fetch_search_path(source != NULL ? pstrdup(namespace_search_path) : NULL);
	spi = tsk_spi_connect();
	if (!train_try_lock(symbol))
	{
		tsk_spi_finish(spi);
		MemoryContextSwitchTo(old);
		MemoryContextDelete(cxt);
		return 0;
	}
	st->needed = train_needed_rows(st->s.test_fraction, horizon) + horizon;

	train_read(st, query, nargs, argtypes, args);
	train_split(st);
	/* fit */
	st->booster = train_boost(cxt, &st->r, st->label, st->n_train, st->test_begin, st->n_test, &st->s,
							  &st->best_iteration, &st->rounds, &st->best_eval);
	elog(DEBUG1, "train %s: boosted %d rounds, %ld ms since start", symbol, st->rounds,
		 TimestampDifferenceMilliseconds(started, GetCurrentTimestamp()));
	train_evaluate(st);
	train_reference(st);
	train_compare_deployed(st);
	train_store(st);
	train_deploy(st);
	model_id = st->model_id;

	tsk_spi_finish(spi);
	tsk_train_fetch_search_path(NULL);
	MemoryContextSwitchTo(old);
	MemoryContextDelete(cxt);	/* frees the DMatrix and booster handles */
	return model_id;
}

/*
 * model_train
 *	  train(symbol text, width interval, horizon int, params jsonb) -> bigint
 *	  on the rows of features(symbol, width).
 */
Datum
model_train(PG_FUNCTION_ARGS)
{
	char	   *symbol;
	Oid			nsp = get_func_namespace(fcinfo->flinfo->fn_oid);
	char	   *query;
	Oid			argtypes[2] = {TEXTOID, INTERVALOID};
	Datum		args[2];
	int64		id;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1) || PG_ARGISNULL(2) || PG_ARGISNULL(3))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("train() arguments must not be NULL"),
				 errhint("Call train('BTC'), or give width, horizon and params explicitly.")));
	symbol = text_to_cstring(PG_GETARG_TEXT_PP(0));
	args[0] = PG_GETARG_DATUM(0);
	args[1] = PG_GETARG_DATUM(1);
	query = psprintf("SELECT * FROM %s.features($1, $2)",
					 quote_identifier(get_namespace_name(nsp)));
	id = train_run(symbol, query, 2, argtypes, args, PG_GETARG_INTERVAL_P(1), PG_GETARG_INT32(2),
				   PG_GETARG_JSONB_P(3), NULL);
	if (id == 0)
		PG_RETURN_NULL();
	PG_RETURN_INT64(id);
}

/*
 * model_train_query
 *	  train_from_query(symbol, query, width, horizon, params) -> bigint on
 *	  the rows of an explicit feature query (bucket, close, features...).
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
				   text_to_cstring(PG_GETARG_TEXT_PP(1)));
	if (id == 0)
		PG_RETURN_NULL();
	PG_RETURN_INT64(id);
}
