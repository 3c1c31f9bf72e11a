/*
 * model_train_regress.c
 *	  The evaluate phase of a train() run for the regression targets
 *	  return and volatility (issue 15): the test window scored once with
 *	  the final model, beside its baselines on the same rows, and the
 *	  metrics keys that say which baseline the model beats, by how much and
 *	  whether significantly.
 *
 * Baselines (each a forecast of the label of every test row):
 *	 train_mean   the mean label of the training rows (R^2's reference);
 *	 zero         (return) no move: ln return 0, the random walk;
 *	 persistence  (volatility) the realised volatility of the horizon
 *	              buckets up to the row: ln rv of the past h buckets;
 *	 har          (volatility) OLS of the label on ln rv of the last 1, 5
 *	              and 22 buckets (scaled to h), fitted on the training rows
 *	              only, rows whose regressors are all defined.
 * Significance: the Diebold-Mariano statistic of the squared-error loss
 * (and, for volatility, of the QLIKE loss) of the model against the
 * baseline, with a Newey-West variance over horizon - 1 lags (the labels
 * of neighbouring rows overlap); |DM| > 1.96 is significant at 5 %.
 *
 * Invariants: the test window is read here for the first time and chooses
 * nothing; every regressor of a row reads only closes up to that row
 * (model_regress.h); in the run's memory context.
 */
#include "postgres.h"

#include <math.h>

#include "utils/json.h"

#include "models/model.h"
#include "models/model_train.h"

/* Training rows behind the training MSE (the latest ones). */
#define REGRESS_TRAIN_SAMPLE 65536

/*
 * regress_key
 *	  Append , "key": value (null when not finite).
 */
static void
regress_key(StringInfo buf, const char *key, double v)
{
	appendStringInfo(buf, ", \"%s\": ", key);
	tsk_json_double(buf, v);
}

/*
 * regress_losses
 *	  Per-row squared error and QLIKE losses of forecasts f.
 */
static void
regress_losses(const float *y, const double *f, size_t n, double *se, double *ql)
{
	for (size_t i = 0; i < n; i++)
	{
		double		e = (double) y[i] - f[i];

		se[i] = e * e;
		ql[i] = exp(2 * e) - 2 * e - 1;
	}
}

/*
 * regress_baseline
 *	  The JSON object of one baseline: its metrics on the window, the
 *	  model's edge over it (baseline - model: positive is better) and its
 *	  Diebold-Mariano statistics.  Returns whether the model beats it on
 *	  MSE (*significant: and |DM| > 1.96 with DM > 0).
 */
static bool
regress_baseline(train_state *t, StringInfo buf, const char *name, const double *fb,
				 const double *ref, const double *se_model, const double *ql_model,
				 double *se, double *ql, bool *significant)
{
	const float *y = t->label + t->test_begin;
	bool		vol = t->target == TSM_TARGET_VOLATILITY;
	tsm_regression bm;
	double		dm_mse,
				dm_qlike = NAN;

	tsk_tsm_regression_metrics(y, fb, t->n_test, t->train_mean, ref, vol, &bm);
	regress_losses(y, fb, t->n_test, se, ql);
	dm_mse = tsk_tsm_diebold_mariano(se_model, se, t->n_test, t->horizon - 1);
	if (vol)
		dm_qlike = tsk_tsm_diebold_mariano(ql_model, ql, t->n_test, t->horizon - 1);
	appendStringInfo(buf, "%s", buf->data[buf->len - 1] == '{' ? "" : ", ");
	escape_json(buf, name);
	appendStringInfo(buf, ": {\"n\": %zu", bm.n);
	regress_key(buf, "mse", bm.mse);
	regress_key(buf, "mae", bm.mae);
	regress_key(buf, "r2_oos", bm.r2);
	regress_key(buf, "directional_accuracy", bm.directional_accuracy);
	regress_key(buf, "edge_mse", bm.mse - t->rm.mse);
	regress_key(buf, "edge_mse_pct", 100.0 * (bm.mse - t->rm.mse) / bm.mse);
	regress_key(buf, "edge_mae", bm.mae - t->rm.mae);
	regress_key(buf, "dm_mse", dm_mse);
	if (vol)
	{
		regress_key(buf, "qlike", bm.qlike);
		regress_key(buf, "edge_qlike", bm.qlike - t->rm.qlike);
		regress_key(buf, "dm_qlike", dm_qlike);
	}
	*significant = t->rm.mse < bm.mse && dm_mse > 1.96;
	appendStringInfo(buf, ", \"beaten\": %s, \"significant\": %s}",
					 t->rm.mse < bm.mse ? "true" : "false", *significant ? "true" : "false");
	return t->rm.mse < bm.mse;
}

/*
 * tsk_train_regression_mse
 *	  MSE of a booster's forecasts on this run's test window (used to
 *	  compare with the deployed model).
 */
double
tsk_train_regression_mse(train_state *t, BoosterHandle booster)
{
	tsm_regression m;

	tsk_xgb_predict(booster, t->r.x + t->test_begin * t->r.nfeat, t->n_test, t->r.nfeat, t->prob);
	tsk_tsm_regression_metrics(t->label + t->test_begin, t->prob, t->n_test, t->train_mean, NULL, 0, &m);
	return m.mse;
}

/*
 * tsk_train_evaluate_regression
 *	  Score the test window once (t->prob keeps the model's forecasts),
 *	  the baselines beside it, and the metrics JSON keys (t->regress_json,
 *	  appended to the models row's metrics by model_store.c).
 */
void
tsk_train_evaluate_regression(train_state *t)
{
	size_t		n = t->n_test;
	size_t		tb = t->test_begin;
	size_t		first = t->n_train > REGRESS_TRAIN_SAMPLE ? t->n_train - REGRESS_TRAIN_SAMPLE : 0;
	bool		vol = t->target == TSM_TARGET_VOLATILITY;
	const float *y = t->label + tb;
	double	   *f = t->prob;
	double	   *fb = palloc(sizeof(double) * n);
	double	   *ref = NULL;
	double	   *se_model = palloc(sizeof(double) * n);
	double	   *ql_model = palloc(sizeof(double) * n);
	double	   *se = palloc(sizeof(double) * n);
	double	   *ql = palloc(sizeof(double) * n);
	StringInfo	buf = &t->regress_json;
	StringInfoData base;
	StringInfoData beats,
				sig;
	tsm_regression trm;
	bool		significant;

	/* the training rows (latest ones) */
	tsk_xgb_predict(t->booster, t->r.x + first * t->r.nfeat, t->n_train - first, t->r.nfeat, t->prob);
	tsk_tsm_regression_metrics(t->label + first, t->prob, t->n_train - first, t->train_mean, NULL, 0, &trm);
	t->train_mse = trm.mse;

	/* the test window, once */
	tsk_xgb_predict(t->booster, t->r.x + tb * t->r.nfeat, n, t->r.nfeat, f);
	if (vol)
	{
		/* persistence: the volatility of the horizon buckets up to the row */
		ref = palloc(sizeof(double) * n);
		for (size_t i = 0; i < n; i++)
			ref[i] = tsk_tsm_log_rv_past(t->r.close, tb + i, t->horizon, t->horizon);
	}
	tsk_tsm_regression_metrics(y, f, n, t->train_mean, ref, vol, &t->rm);
	regress_losses(y, f, n, se_model, ql_model);

	initStringInfo(buf);
	appendStringInfo(buf, ", \"label\": \"%s\"",
					 vol ? "ln(max(sqrt(sum_{k=1..h} ln(close[t+k]/close[t+k-1])^2), 1e-6))"
					 : "ln(close[t+h]/close[t])");
	regress_key(buf, "mse", t->rm.mse);
	regress_key(buf, "mae", t->rm.mae);
	regress_key(buf, "r2_oos", t->rm.r2);
	regress_key(buf, "directional_accuracy", t->rm.directional_accuracy);
	if (vol)
		regress_key(buf, "qlike", t->rm.qlike);
	regress_key(buf, "train_mean", t->train_mean);
	regress_key(buf, "train_mse", t->train_mse);

	initStringInfo(&base);
	initStringInfo(&beats);
	initStringInfo(&sig);
	appendStringInfoChar(&base, '{');

	/* the training mean */
	for (size_t i = 0; i < n; i++)
		fb[i] = t->train_mean;
	if (regress_baseline(t, &base, "train_mean", fb, ref, se_model, ql_model, se, ql, &significant))
		appendStringInfo(&beats, "%s\"train_mean\"", beats.len ? ", " : "");
	if (significant)
		appendStringInfo(&sig, "%s\"train_mean\"", sig.len ? ", " : "");

	if (!vol)
	{
		/* no move */
		for (size_t i = 0; i < n; i++)
			fb[i] = 0;
		if (regress_baseline(t, &base, "zero", fb, ref, se_model, ql_model, se, ql, &significant))
			appendStringInfo(&beats, "%s\"zero\"", beats.len ? ", " : "");
		if (significant)
			appendStringInfo(&sig, "%s\"zero\"", sig.len ? ", " : "");
	}
	else
	{
		size_t		nx = t->n_train;
		double	   *x = palloc(sizeof(double) * TSM_HAR_TERMS * Max(nx, n));
		double	   *yt = palloc(sizeof(double) * nx);
		double		beta[TSM_HAR_TERMS + 1];
		size_t		used;

		/* persistence */
		if (regress_baseline(t, &base, "persistence", ref, ref, se_model, ql_model, se, ql, &significant))
			appendStringInfo(&beats, "%s\"persistence\"", beats.len ? ", " : "");
		if (significant)
			appendStringInfo(&sig, "%s\"persistence\"", sig.len ? ", " : "");

		/* HAR on the training rows only */
		for (size_t i = 0; i < nx; i++)
		{
			for (int k = 0; k < TSM_HAR_TERMS; k++)
				x[i * TSM_HAR_TERMS + k] = tsk_tsm_log_rv_past(t->r.close, i, tsk_tsm_har_lags[k], t->horizon);
			yt[i] = t->label[i];
		}
		used = tsk_tsm_ols(x, yt, nx, TSM_HAR_TERMS, beta);
		if (used == 0)
			ereport(ERROR,
					(errcode(ERRCODE_INSUFFICIENT_RESOURCES),
					 errmsg("the HAR baseline of \"%s\" cannot be fitted on its training rows", t->symbol),
					 errhint("Its regressors (realised volatility of the last 1, 5 and 22 buckets) are collinear or "
							 "undefined; load more data.")));
		for (size_t i = 0; i < n; i++)
		{
			fb[i] = beta[0];
			for (int k = 0; k < TSM_HAR_TERMS; k++)
				fb[i] += beta[k + 1] * tsk_tsm_log_rv_past(t->r.close, tb + i, tsk_tsm_har_lags[k], t->horizon);
		}
		if (regress_baseline(t, &base, "har", fb, ref, se_model, ql_model, se, ql, &significant))
			appendStringInfo(&beats, "%s\"har\"", beats.len ? ", " : "");
		if (significant)
			appendStringInfo(&sig, "%s\"har\"", sig.len ? ", " : "");
		appendStringInfo(buf, ", \"har\": {\"rows\": %zu, \"lags\": [%d, %d, %d], \"beta\": [", used,
						 tsk_tsm_har_lags[0], tsk_tsm_har_lags[1], tsk_tsm_har_lags[2]);
		for (int k = 0; k <= TSM_HAR_TERMS; k++)
		{
			if (k > 0)
				appendStringInfoString(buf, ", ");
			tsk_json_double(buf, beta[k]);
		}
		appendStringInfoString(buf, "]}");
	}
	appendStringInfoChar(&base, '}');
	appendStringInfo(buf, ", \"baselines\": %s, \"beats\": [%s], \"beats_significantly\": [%s], "
					 "\"significance\": \"Diebold-Mariano on squared errors, Newey-West lag horizon - 1, |DM| > 1.96\"",
					 base.data, beats.data, sig.data);
	/* the model's forecasts stay in t->prob for nothing else: decide reuses it as scratch */
	elog(DEBUG1, "train %s: test window scored (%s), %zu rows", t->symbol, tsk_tsm_target_name(t->target), n);
}
