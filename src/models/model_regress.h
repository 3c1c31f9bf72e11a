/*
 * model_regress.h
 *	  Pure computation of the regression targets of train() (issue 15),
 *	  free of Postgres headers so that it runs without a server: the labels
 *	  of the return and volatility targets, the realised volatility of the
 *	  buckets behind a row (persistence and HAR regressors), a small OLS,
 *	  the regression metrics, QLIKE and the Diebold-Mariano statistic that
 *	  says whether an edge over a baseline is significant.
 *
 * Invariants: no function allocates memory (callers pass scratch space),
 * none keeps state, undefined results are NaN; every label and regressor
 * of row i reads only close[0 .. i + horizon] (the label) or close[0 .. i]
 * (the regressors): no regressor looks ahead of its row.
 */
#ifndef TRIGGERSTOCK_MODEL_REGRESS_H
#define TRIGGERSTOCK_MODEL_REGRESS_H

#include <stddef.h>

/* What a model predicts. */
typedef enum tsm_target
{
	TSM_TARGET_DIRECTION,
	TSM_TARGET_RETURN,
	TSM_TARGET_VOLATILITY
} tsm_target;

/* Floor of a realised volatility before its log (zero moves happen). */
#define TSM_RV_FLOOR 1e-6

/* HAR regressors: realised volatility over the last 1, 5 and 22 buckets. */
#define TSM_HAR_TERMS 3
extern const int tsk_tsm_har_lags[TSM_HAR_TERMS];

/* "direction", "return", "volatility" -> target; -1 when unknown. */
extern int	tsk_tsm_target_parse(const char *name);
extern const char *tsk_tsm_target_name(tsm_target target);

/*
 * Labels of a regression target for rows i < n - horizon:
 *	 return      ln(close[i + h] / close[i])
 *	 volatility  ln(max(sqrt(sum_{k=1..h} ln(close[i+k] / close[i+k-1])^2), TSM_RV_FLOOR))
 * Returns the number of labelled rows (n - h), 0 when n <= h, or -1 (with
 * *bad set to the row) when a close needed is not a positive number.
 */
extern long tsk_tsm_regression_labels(const double *close, size_t n, int horizon,
									  tsm_target target, float *label, size_t *bad);

/*
 * ln of the realised volatility of the k buckets ending at row i, scaled
 * to a horizon of h buckets: ln(max(sqrt(h / k * sum_{j=0..k-1}
 * ln(close[i-j] / close[i-j-1])^2), TSM_RV_FLOOR)); NaN when i < k.
 * With k = h it is the persistence forecast of the volatility label.
 */
extern double tsk_tsm_log_rv_past(const double *close, size_t i, int k, int h);

/*
 * Ordinary least squares y ~ 1 + x (x row-major, n rows of k < 8
 * regressors, rows with a NaN skipped): beta[0] is the intercept.
 * Returns the rows used, or 0 when the normal equations are singular.
 */
extern size_t tsk_tsm_ols(const double *x, const double *y, size_t n, int k, double *beta);

/* Regression metrics of forecasts f against labels y. */
typedef struct tsm_regression
{
	size_t		n;
	double		mse;
	double		mae;
	double		r2;				/* 1 - SSE / sum (y - train_mean)^2: out of sample */
	double		directional_accuracy;	/* see tsk_tsm_regression_metrics */
	double		qlike;			/* volatility only, else NaN */
} tsm_regression;

/*
 * Metrics of f against y (n rows).  train_mean is the mean label of the
 * training rows (R^2's reference).  Directional accuracy: with ref NULL,
 * the share of rows with y != 0 where f > 0 equals y > 0 (a return); with
 * ref (a volatility: the persistence log volatility of each row), the
 * share of rows with y != ref where f > ref equals y > ref (NaN when f
 * equals ref on every row, as for persistence itself).  With volatility
 * set, QLIKE on the variances exp(2 y) and exp(2 f):
 * mean(exp(2 (y - f)) - 2 (y - f) - 1).
 */
extern void tsk_tsm_regression_metrics(const float *y, const double *f, size_t n, double train_mean,
									   const double *ref, int volatility, tsm_regression *out);

/*
 * Diebold-Mariano statistic of the loss differential d_i = loss_b[i] -
 * loss_a[i] (positive: a is better), with a Newey-West (Bartlett) long-run
 * variance over `lag` lags (horizon - 1 for overlapping h-step labels):
 * mean(d) / sqrt(lrv / n).  NaN when the variance is not positive.
 * |DM| > 1.96: the difference is significant at 5 % (two-sided).
 */
extern double tsk_tsm_diebold_mariano(const double *loss_a, const double *loss_b, size_t n, int lag);

#endif							/* TRIGGERSTOCK_MODEL_REGRESS_H */
