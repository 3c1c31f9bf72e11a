/*
 * model_store.c
 *	  The last phases of a train() run (model_train.h): the reference data
 *	  stored with the model (its bytes, gain importance, the drift
 *	  reference), the deployment decision, the models row and the
 *	  deployment.
 *
 * Invariants:
 *	- every metric is stored beside its baseline on the same test window
 *	  (metrics JSON, documented in the README: accuracy / majority_accuracy,
 *	  log_loss / baseline_log_loss, brier / baseline_brier, roc_auc / 0.5);
 *	- automatic deployment compares only models of the same symbol, width,
 *	  horizon and features, on this run's test window, and only when the
 *	  deployed model never learned from a row of that window; the NOTICE and
 *	  the stored reason say what was compared;
 *	- called with SPI connected, in the run's memory context.
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/json.h"
#include "utils/datetime.h"
#include "utils/timestamp.h"

#include "models/model.h"
#include "models/model_train.h"
#include "subxact.h"

/* Training rows behind the drift reference (evenly spaced). */
#define STORE_PSI_SAMPLE 65536

/*
 * store_interval_text
 *	  An interval as text ("00:05:00").
 */
static char *
store_interval_text(const Interval *width)
{
	return DatumGetCString(DirectFunctionCall1(interval_out, IntervalPGetDatum(width)));
}

/*
 * store_importance
 *	  Gain importance per feature (0 when unused) as a JSON object.
 */
static void
store_importance(train_state *t)
{
	bst_ulong	nf,
				dim;
	const char **fnames;
	const bst_ulong *shape;
	const float *scores;

	/* a linear model has no gain: its importance is its coefficient */
	tsk_xgb_check(XGBoosterFeatureScore(t->booster, t->s.gblinear ? "{\"importance_type\": \"weight\"}"
									   : "{\"importance_type\": \"gain\"}",
									   &nf, &fnames, &dim, &shape, &scores),
				 "XGBoosterFeatureScore");
	initStringInfo(&t->importance);
	appendStringInfoChar(&t->importance, '{');
	for (int j = 0; j < t->r.nfeat; j++)
	{
		double		gain = 0;

		for (bst_ulong k = 0; k < nf; k++)
			if (strcmp(fnames[k], t->r.names[j]) == 0)
				gain = scores[k];
		if (j > 0)
			appendStringInfoString(&t->importance, ", ");
		escape_json(&t->importance, t->r.names[j]);
		appendStringInfoString(&t->importance, ": ");
		tsk_json_double(&t->importance, gain);
	}
	appendStringInfoChar(&t->importance, '}');
}

/*
 * store_drift
 *	  PSI reference: decile edges and bin fractions of each feature over
 *	  evenly spaced training rows (at most STORE_PSI_SAMPLE).
 */
static void
store_drift(train_state *t)
{
	size_t		stride = (t->n_train + STORE_PSI_SAMPLE - 1) / STORE_PSI_SAMPLE;
	double	   *col = palloc(sizeof(double) * t->n_train);
	double		edges[TSM_PSI_BINS];
	double		frac[TSM_PSI_BINS + 1];
	StringInfo	drift = &t->drift;

	initStringInfo(drift);
	appendStringInfoChar(drift, '{');
	for (int j = 0; j < t->r.nfeat; j++)
	{
		int			ne;
		size_t		m = 0;

		for (size_t i = 0; i < t->n_train; i += stride)
			col[m++] = t->r.x[i * t->r.nfeat + j];
		ne = tsk_tsm_psi_edges(col, m, edges);
		tsk_tsm_psi_fractions(col, m, edges, ne, frac);
		if (j > 0)
			appendStringInfoString(drift, ", ");
		escape_json(drift, t->r.names[j]);
		appendStringInfoString(drift, ": {\"edges\": [");
		for (int b = 0; b < ne; b++)
		{
			if (b > 0)
				appendStringInfoString(drift, ", ");
			tsk_json_double(drift, edges[b]);
		}
		appendStringInfoString(drift, "], \"fractions\": [");
		for (int b = 0; b < ne + 2; b++)
		{
			if (b > 0)
				appendStringInfoString(drift, ", ");
			tsk_json_double(drift, frac[b]);
		}
		appendStringInfoString(drift, "]}");
	}
	appendStringInfoChar(drift, '}');
}

/*
 * tsk_train_reference
 *	  The model's bytes (UBJSON), its importance and drift reference.
 */
void
tsk_train_reference(train_state *t)
{
	bst_ulong	len;
	const char *raw;

	tsk_xgb_check(XGBoosterSaveModelToBuffer(t->booster, "{\"format\": \"ubj\"}", &len, &raw),
				 "XGBoosterSaveModelToBuffer");
	t->model_bytes = palloc(VARHDRSZ + len);
	SET_VARSIZE(t->model_bytes, VARHDRSZ + len);
	memcpy(VARDATA(t->model_bytes), raw, len);
	store_importance(t);
	store_drift(t);
	elog(DEBUG1, "train %s: model saved, importance and drift reference, %ld ms since start", t->symbol,
		 TimestampDifferenceMilliseconds(t->started, GetCurrentTimestamp()));
}

/*
 * store_deployed_test_from
 *	  Start of the test window of model id (every label it learned from
 *	  lies before it).
 */
static TimestampTz
store_deployed_test_from(int64 id)
{
	Oid			types[1] = {INT8OID};
	Datum		values[1] = {Int64GetDatum(id)};
	bool		isnull = true;
	Datum		d = 0;
	int			ret;

	ret = SPI_execute_with_args("SELECT test_from FROM triggerstock.models WHERE id OPERATOR(pg_catalog.=) $1",
								1, types, values, NULL, true, 1);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "SPI_execute failed: %s", SPI_result_code_string(ret));
	if (SPI_processed == 1)
		d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	if (isnull)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("model %lld has no test window", (long long) id)));
	return DatumGetTimestampTz(d);
}

/* store_load_deployed's call of tsk_model_get in a subtransaction. */
typedef struct store_load_arg
{
	int64		id;
	model_t    *model;
} store_load_arg;

/*
 * store_load_cb
 *	  tsk_subxact_try callback: load the model of arg->id.
 */
static void
store_load_cb(void *arg)
{
	store_load_arg *a = arg;

	a->model = tsk_model_get(a->id);
}

/*
 * store_load_deployed
 *	  The deployed model, or NULL (with the reason in *why) when its row
 *	  cannot be served: then the new model replaces it.  The load runs in a
 *	  subtransaction so that a broken row never blocks training.
 */
static model_t *
store_load_deployed(int64 id, char **why)
{
	store_load_arg a = {id, NULL};
	ErrorData  *edata = tsk_subxact_try(store_load_cb, &a);

	if (edata == NULL)
		return a.model;
	*why = psprintf("deployed model %lld cannot be served (%s)", (long long) id, edata->message);
	FreeErrorData(edata);
	return NULL;
}

/*
 * tsk_train_decide
 *	  Whether this model replaces the deployed one: the first model of a
 *	  symbol deploys itself; otherwise both are scored on this run's test
 *	  window and the lower log loss wins, provided the deployed model has
 *	  the same width, horizon and features and never learned from a row of
 *	  the window (its own test window starts no later).
 */
void
tsk_train_decide(train_state *t)
{
	model_t    *dm;
	bool		same;
	TimestampTz window_from = t->r.bucket[t->test_begin];
	TimestampTz window_to = t->r.bucket[t->nl - 1];
	TimestampTz dm_test_from;
	tsm_metrics dtm;

	t->deployed_id = tsk_model_deployed(t->symbol, t->target);
	if (t->deployed_id == 0)
	{
		t->deploy = true;
		t->deploy_reason = t->target == TSM_TARGET_DIRECTION ? "first model of the symbol"
			: psprintf("first %s model of the symbol", tsk_tsm_target_name(t->target));
		return;
	}
	dm = store_load_deployed(t->deployed_id, &t->deploy_reason);
	if (dm == NULL)
	{
		t->deploy = true;
		return;
	}
	same = dm->nfeatures == t->r.nfeat && dm->horizon == t->horizon && dm->target == (int) t->target &&
		memcmp(&dm->width, t->width, sizeof(Interval)) == 0;
	for (int j = 0; same && j < t->r.nfeat; j++)
		same = strcmp(dm->features[j], t->r.names[j]) == 0;
	if (!same)
	{
		t->deploy_reason = psprintf("deployed model %lld (width %s, horizon %d) is not compared with a model of "
									"width %s, horizon %d or other features",
									(long long) t->deployed_id, store_interval_text(&dm->width), dm->horizon,
									store_interval_text(t->width), t->horizon);
		return;
	}
	dm_test_from = store_deployed_test_from(t->deployed_id);
	if (dm_test_from > window_from)
	{
		t->deploy_reason = psprintf("deployed model %lld learned from rows of this test window "
									"(its own test window starts at %s, after %s): not compared",
									(long long) t->deployed_id, pstrdup(timestamptz_to_str(dm_test_from)),
									pstrdup(timestamptz_to_str(window_from)));
		return;
	}
	if (t->target != TSM_TARGET_DIRECTION)
	{
		double		dmse = tsk_train_regression_mse(t, dm->booster);

		t->compared = true;
		t->deploy = t->rm.mse < dmse;
		t->deploy_reason = psprintf("test mse %.9g %s %.9g of deployed %s model %lld on the same window [%s, %s] "
									"(same symbol, width %s and horizon %d)",
									t->rm.mse, t->deploy ? "<" : ">=", dmse, tsk_tsm_target_name(t->target),
									(long long) t->deployed_id, pstrdup(timestamptz_to_str(window_from)),
									pstrdup(timestamptz_to_str(window_to)), store_interval_text(t->width), t->horizon);
		return;
	}
	tsk_xgb_predict(dm->booster, t->r.x + t->test_begin * t->r.nfeat, t->n_test, t->r.nfeat, t->prob);
	tsk_tsm_compute_metrics(t->label + t->test_begin, t->prob, t->n_test, t->majority, NULL, &dtm);
	t->compared = true;
	t->deploy = t->tm.log_loss < dtm.log_loss;
	/* timestamptz_to_str() answers in a static buffer: one copy per use */
	t->deploy_reason = psprintf("test log loss %.6f %s %.6f of deployed model %lld on the same window [%s, %s] "
								"(same symbol, width %s and horizon %d)",
								t->tm.log_loss, t->deploy ? "<" : ">=", dtm.log_loss,
								(long long) t->deployed_id, pstrdup(timestamptz_to_str(window_from)),
								pstrdup(timestamptz_to_str(window_to)), store_interval_text(t->width), t->horizon);
}

/*
 * store_key_double
 *	  Append , "key": value (null when not finite).
 */
static void
store_key_double(StringInfo buf, const char *key, double v)
{
	appendStringInfo(buf, ", \"%s\": ", key);
	tsk_json_double(buf, v);
}

/*
 * store_metrics_json
 *	  The metrics object (see the README's list of keys).
 */
static void
store_metrics_json(train_state *t, StringInfo buf)
{
	const tsm_metrics *m = &t->tm;

	initStringInfo(buf);
	if (t->target != TSM_TARGET_DIRECTION)
	{
		appendStringInfo(buf, "{\"n_test\": %zu, \"n_train\": %zu, \"n_fit\": %zu, \"n_validation\": %zu, "
						 "\"n_gap\": %d, \"target\": \"%s\"%s",
						 t->n_test, t->n_train, t->n_fit, t->n_train - t->val_begin, t->horizon,
						 tsk_tsm_target_name(t->target), t->regress_json.data);
		appendStringInfo(buf, ", \"rounds\": %d, \"best_iteration\": %d, \"rounds_boosted\": %d, "
						 "\"refit\": true",
						 t->best_iteration + 1, t->best_iteration, t->rounds_boosted);
		store_key_double(buf, "validation_rmse", t->validation_log_loss);
		appendStringInfo(buf, ", \"deployed_model_id\": %lld, \"auto_deploy\": ", (long long) t->deployed_id);
		escape_json(buf, t->deploy_reason);
		appendStringInfoChar(buf, '}');
		return;
	}
	appendStringInfo(buf, "{\"n_test\": %zu, \"n_train\": %zu, \"n_fit\": %zu, \"n_validation\": %zu, "
					 "\"n_gap\": %d, \"majority_class\": %d",
					 t->n_test, t->n_train, t->n_fit, t->n_train - t->val_begin, t->horizon, t->majority);
	/* the test window, each metric beside its baseline */
	store_key_double(buf, "accuracy", m->accuracy);
	store_key_double(buf, "majority_accuracy", m->majority_accuracy);
	store_key_double(buf, "edge_accuracy", m->accuracy - m->majority_accuracy);
	store_key_double(buf, "log_loss", m->log_loss);
	store_key_double(buf, "baseline_log_loss", t->baseline_log_loss);
	store_key_double(buf, "edge_log_loss", t->baseline_log_loss - m->log_loss);
	store_key_double(buf, "brier", m->brier);
	store_key_double(buf, "baseline_brier", t->baseline_brier);
	store_key_double(buf, "edge_brier", t->baseline_brier - m->brier);
	store_key_double(buf, "roc_auc", m->roc_auc);
	store_key_double(buf, "baseline_roc_auc", 0.5);
	store_key_double(buf, "precision", m->precision);
	store_key_double(buf, "recall", m->recall);
	store_key_double(buf, "f1", m->f1);
	store_key_double(buf, "base_rate", m->base_rate);
	/* calibration (issue 15): model_live_metrics compares the live ece with it */
	store_key_double(buf, "ece", m->ece);
	/* the training rows */
	store_key_double(buf, "train_base_rate", t->train_base_rate);
	store_key_double(buf, "train_log_loss", t->trm.log_loss);
	store_key_double(buf, "train_accuracy", t->trm.accuracy);
	/* the choice of rounds */
	appendStringInfo(buf, ", \"rounds\": %d, \"best_iteration\": %d, \"rounds_boosted\": %d, "
					 "\"refit\": true",
					 t->best_iteration + 1, t->best_iteration, t->rounds_boosted);
	store_key_double(buf, "validation_log_loss", t->validation_log_loss);
	appendStringInfo(buf, ", \"deployed_model_id\": %lld, \"auto_deploy\": ", (long long) t->deployed_id);
	escape_json(buf, t->deploy_reason);
	appendStringInfoChar(buf, '}');
}

/*
 * store_params_json
 *	  The effective parameters (the thread count is a GUC, not stored).
 */
static void
store_params_json(train_state *t, StringInfo buf)
{
	char		ts[MAXDATELEN + 1];

	initStringInfo(buf);
	appendStringInfo(buf, "{\"test_fraction\": %.17g, \"validation_fraction\": %.17g, "
					 "\"num_boost_round\": %d, \"early_stopping_rounds\": %d",
					 t->s.test_fraction, t->s.validation_fraction, t->s.num_boost_round,
					 t->s.early_stopping_rounds);
	for (int i = 0; i < t->s.nparams; i++)
	{
		if (strcmp(t->s.keys[i], "nthread") == 0)
			continue;
		appendStringInfoString(buf, ", ");
		escape_json(buf, t->s.keys[i]);
		appendStringInfoString(buf, ": ");
		escape_json(buf, t->s.values[i]);
	}
	/* the training window (issue 15): what rows the model may have learned from */
	if (t->window.has_since)
		appendStringInfo(buf, ", \"since\": \"%s\"",
						 JsonEncodeDateTime(ts, TimestampTzGetDatum(t->window.since), TIMESTAMPTZOID, NULL));
	if (t->window.has_until)
		appendStringInfo(buf, ", \"until\": \"%s\"",
						 JsonEncodeDateTime(ts, TimestampTzGetDatum(t->window.until), TIMESTAMPTZOID, NULL));
	if (t->window.window)
	{
		appendStringInfoString(buf, ", \"window\": ");
		escape_json(buf, t->window.window);
	}
	appendStringInfoChar(buf, '}');
}

/*
 * tsk_train_store
 *	  Insert the models row; sets t->model_id.
 */
void
tsk_train_store(train_state *t)
{
	Oid			types[14] = {TEXTOID, INTERVALOID, INT4OID, BYTEAOID, TEXTOID, TEXTARRAYOID,
	INT4OID, TIMESTAMPTZOID, TIMESTAMPTZOID, TIMESTAMPTZOID, TIMESTAMPTZOID, TEXTOID, TEXTOID, TEXTOID};
	Datum		values[14];
	Datum	   *names = palloc(sizeof(Datum) * t->r.nfeat);
	StringInfoData metrics,
				params;
	char	   *sql;
	bool		isnull;
	bool		has_target;
	int			ret;

	store_metrics_json(t, &metrics);
	store_params_json(t, &params);
	for (int j = 0; j < t->r.nfeat; j++)
		names[j] = CStringGetTextDatum(t->r.names[j]);
	values[0] = CStringGetTextDatum(t->symbol);
	values[1] = IntervalPGetDatum(t->width);
	values[2] = Int32GetDatum(t->horizon);
	values[3] = PointerGetDatum(t->model_bytes);
	values[4] = CStringGetTextDatum(params.data);
	values[5] = PointerGetDatum(construct_array(names, t->r.nfeat, TEXTOID, -1, false, TYPALIGN_INT));
	values[6] = Int32GetDatum(t->best_iteration);
	values[7] = TimestampTzGetDatum(t->r.bucket[0]);
	values[8] = TimestampTzGetDatum(t->r.bucket[t->n_train - 1]);
	values[9] = TimestampTzGetDatum(t->r.bucket[t->test_begin]);
	values[10] = TimestampTzGetDatum(t->r.bucket[t->nl - 1]);
	values[11] = CStringGetTextDatum(metrics.data);
	values[12] = CStringGetTextDatum(t->importance.data);
	values[13] = CStringGetTextDatum(tsk_tsm_target_name(t->target));
	/* a 0.1 database (not yet updated) has no target column: direction only */
	has_target = tsk_model_has_target("models");
	if (!has_target && t->target != TSM_TARGET_DIRECTION)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("a %s model needs triggerstock 0.2", tsk_tsm_target_name(t->target)),
				 errhint("Run ALTER EXTENSION triggerstock UPDATE.")));
	sql = psprintf("INSERT INTO triggerstock.models (symbol, width, horizon, model, sha256, params, features, "
				   "best_iteration, train_from, train_to, test_from, test_to, metrics, importance, "
				   "drift_reference, source%s) "
				   "VALUES ($1, $2, $3, $4, pg_catalog.encode(pg_catalog.sha256($4), 'hex'), $5::pg_catalog.jsonb, $6, "
				   "$7, $8, $9, $10, $11, $12::pg_catalog.jsonb OPERATOR(pg_catalog.||) pg_catalog.jsonb_build_object("
				   "'train_from', $8, 'train_to', $9, 'test_from', $10, 'test_to', $11, "
				   "'training_ms', pg_catalog.round(pg_catalog.date_part('epoch', pg_catalog.clock_timestamp() "
				   "OPERATOR(pg_catalog.-) %s::pg_catalog.timestamptz)::pg_catalog.numeric "
				   "OPERATOR(pg_catalog.*) 1000, 1)), "
				   "$13::pg_catalog.jsonb, %s::pg_catalog.jsonb, %s%s) RETURNING id",
				   has_target ? ", target" : "",
				   quote_literal_cstr(timestamptz_to_str(t->started)),
				   quote_literal_cstr(t->drift.data),
				   t->source ? quote_literal_cstr(t->source) : "'features()'", has_target ? ", $14" : "");
	ret = SPI_execute_with_args(sql, has_target ? 14 : 13, types, values, NULL, false, 1);
	if (ret != SPI_OK_INSERT_RETURNING)
		elog(ERROR, "SPI_execute failed: %s", SPI_result_code_string(ret));
	t->model_id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
}

/*
 * tsk_train_deploy
 *	  Deploy the stored model if tsk_train_decide chose it; a NOTICE says
 *	  what was compared, or why nothing was (no NOTICE for the first model
 *	  of a symbol).
 */
void
tsk_train_deploy(train_state *t)
{
	if (t->deploy)
	{
		Oid			types[4] = {TEXTOID, INT8OID, TEXTOID, TEXTOID};
		Datum		values[4] = {CStringGetTextDatum(t->symbol), Int64GetDatum(t->model_id),
			CStringGetTextDatum(t->deploy_reason), CStringGetTextDatum(tsk_tsm_target_name(t->target))};
		int			ret;

		if (tsk_model_has_target("deployments"))
			ret = SPI_execute_with_args("INSERT INTO triggerstock.deployments (symbol, model_id, strategy, reason, target) "
										"VALUES ($1, $2, 'best_score', 'train(): ' OPERATOR(pg_catalog.||) $3, $4)",
										4, types, values, NULL, false, 0);
		else
			ret = SPI_execute_with_args("INSERT INTO triggerstock.deployments (symbol, model_id, strategy, reason) "
										"VALUES ($1, $2, 'best_score', 'train(): ' OPERATOR(pg_catalog.||) $3)",
										3, types, values, NULL, false, 0);
		if (ret != SPI_OK_INSERT)
			elog(ERROR, "SPI_execute failed: %s", SPI_result_code_string(ret));
		if (t->deployed_id != 0)
			ereport(NOTICE,
					(errmsg("model %lld for \"%s\" deployed: %s", (long long) t->model_id, t->symbol,
							t->deploy_reason)));
	}
	else
		ereport(NOTICE,
				(errmsg("model %lld for \"%s\" stored but not deployed: %s",
						(long long) t->model_id, t->symbol, t->deploy_reason),
				 errhint("Deploy it anyway with SELECT deploy(%lld).", (long long) t->model_id)));
}
