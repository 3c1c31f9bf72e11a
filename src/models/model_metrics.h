/*
 * model_metrics.h
 *	  Pure computation of the model subsystem, free of Postgres headers so
 *	  that the unit tests (test/unit/test_model_metrics.c) run it without a
 *	  server: labels, the time-ordered split, classification metrics,
 *	  parsing XGBoost's evaluation strings, population stability index and
 *	  the rules baseline used when no model can answer.
 *
 * Invariants: no function allocates memory (callers pass scratch space),
 * none keeps state between calls, undefined results are NaN (never a
 * made-up number), and none reads anything but its arguments.
 */
#ifndef TRIGGERSTOCK_MODEL_METRICS_H
#define TRIGGERSTOCK_MODEL_METRICS_H

#include <stddef.h>

/* Bins of the population stability index, not counting the missing bin. */
#define TSM_PSI_BINS 10

/* Binary classification metrics on a test window (threshold 0.5). */
typedef struct tsm_metrics
{
	size_t		n;				/* rows */
	size_t		positives;		/* rows labelled 1 */
	double		accuracy;
	double		precision;		/* NaN when nothing was predicted positive */
	double		recall;			/* NaN when no row is positive */
	double		f1;				/* NaN when precision or recall is NaN or both 0 */
	double		roc_auc;		/* NaN when the window holds one class only */
	double		log_loss;		/* probabilities clipped to [1e-15, 1 - 1e-15] */
	double		brier;
	double		base_rate;		/* positives / n */
	double		majority_accuracy;	/* accuracy of always answering majority_class */
	double		ece;			/* expected calibration error over TSM_ECE_BINS
								 * equal-width bins: sum over bins of |sum of
								 * p - sum of labels| / n (issue 15) */
} tsm_metrics;

/* Equal-width probability bins of the expected calibration error; bin b
 * holds b / 10 <= p < (b + 1) / 10, p = 1 in the last (as the view
 * model_live_metrics bins: least(floor(p * 10), 9)). */
#define TSM_ECE_BINS 10

/*
 * Labels for a horizon: label[i] = 1 when close[i + horizon] > close[i],
 * else 0, for i < n - horizon.  Returns the number of labelled rows
 * (0 when n <= horizon or horizon < 1).
 */
extern size_t tsk_tsm_labels(const double *close, size_t n, int horizon, float *label);

/*
 * Time-ordered split of n labelled rows: the last test_fraction of them
 * (rounded down, at least 1) are the test window; the `gap` rows before it
 * are left out so that no training label looks into the test window (gap =
 * horizon).  Sets *n_train and *test_begin (the test window is
 * [test_begin, n)); returns 0, or -1 when there are not enough rows for a
 * non-empty training set.  train() applies it twice: to all labelled rows
 * (training rows | gap | test window), then to the training rows with the
 * validation fraction (fit rows | gap | validation slice), so the
 * validation slice has `gap` rows left out on both sides.
 */
extern int	tsk_tsm_split(size_t n, double test_fraction, size_t gap,
					  size_t *n_train, size_t *test_begin);

/*
 * Metrics of probabilities prob[i] against labels label[i] (0 or 1).
 * majority_class is the class that was the majority in the training data
 * (the honest "always say the same thing" baseline).  scratch must hold n
 * size_t values (used to rank the probabilities for the ROC AUC); with
 * scratch NULL the AUC, which needs that sort, is skipped (NaN).
 */
extern void tsk_tsm_compute_metrics(const float *label, const double *prob, size_t n,
								int majority_class, size_t *scratch, tsm_metrics *out);

/*
 * Log loss (probability clipped as in tsm_metrics) and Brier score of the
 * constant prediction p on n labels: the baseline that always answers the
 * training base rate.  NaN when n is 0.
 */
extern void tsk_tsm_constant_scores(const float *label, size_t n, double p,
									double *log_loss, double *brier);

/* ROC AUC with ties counted as half (Mann-Whitney U); NaN for one class. */
extern double tsk_tsm_roc_auc(const float *label, const double *prob, size_t n, size_t *scratch);

/*
 * Parse one value out of an XGBoost evaluation string such as
 * "[12]\ttest-logloss:0.6912": the number after "<key>:".  Returns 0 and
 * sets *value, or -1 when the key is absent or not followed by a number.
 */
extern int	tsk_tsm_parse_eval(const char *text, const char *key, double *value);

/*
 * Bin edges of a feature for the PSI: values (n of them, NaN allowed and
 * ignored) are sorted in place; up to TSM_PSI_BINS - 1 distinct deciles
 * are written to edges.  Returns the number of edges (0 when fewer than two
 * distinct finite values).
 */
extern int	tsk_tsm_psi_edges(double *values, size_t n, double *edges);	/* reorders values */

/*
 * Fractions of values falling in each bin: bin b < nedges + 1 holds the
 * values v with edges[b-1] < v <= edges[b] (open ends), bin nedges + 1
 * holds NaN.  fractions must hold nedges + 2 entries.  Returns the number
 * of values counted (n).
 */
extern size_t tsk_tsm_psi_fractions(const double *values, size_t n, const double *edges,
								int nedges, double *fractions);

/*
 * Population stability index sum((a - e) * ln(a / e)) over nbins bins of
 * expected (training) and actual (recent) fractions, each floored at 1e-4
 * so that empty bins do not give infinities.
 */
extern double tsk_tsm_psi(const double *expected, const double *actual, int nbins);

/*
 * The rules baseline: a weak hand-written prior from RSI(14) mean
 * reversion and MACD histogram momentum (histogram divided by the close):
 *	 p = 0.5 + 0.05 tanh((50 - rsi) / 10) + 0.05 tanh(macd_hist / 0.0005)
 * so p is within (0.4, 0.6).  NaN when either input is NaN.
 */
extern double tsk_tsm_rules_probability(double rsi, double macd_hist);

#endif							/* TRIGGERSTOCK_MODEL_METRICS_H */
