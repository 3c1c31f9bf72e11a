/*
 * model_metrics.c
 *	  Pure-C computation of the model subsystem (see model_metrics.h):
 *	  labels, time-ordered split, metrics, evaluation-string parsing, PSI
 *	  and the rules baseline.
 *
 * Invariants: no allocation, no global state, no Postgres headers; NaN
 * marks an undefined value.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "model_metrics.h"

/* Probability clipping of the log loss, as scikit-learn and XGBoost do. */
#define TSM_EPS 1e-15

/* Floor of a PSI bin fraction. */
#define TSM_PSI_FLOOR 1e-4

/*
 * tsm_labels
 *	  label[i] = close[i + horizon] > close[i] for the rows that have one.
 */
size_t
tsm_labels(const double *close, size_t n, int horizon, float *label)
{
	size_t		h = (size_t) horizon;

	if (horizon < 1 || n <= h)
		return 0;
	for (size_t i = 0; i + h < n; i++)
		label[i] = close[i + h] > close[i] ? 1.0f : 0.0f;
	return n - h;
}

/*
 * tsm_split
 *	  Train on [0, n_train), leave out `gap` rows, test on [test_begin, n).
 */
int
tsm_split(size_t n, double test_fraction, size_t gap, size_t *n_train, size_t *test_begin)
{
	size_t		n_test;

	if (!(test_fraction > 0.0 && test_fraction < 1.0))
		return -1;
	n_test = (size_t) floor((double) n * test_fraction);
	if (n_test < 1)
		n_test = 1;
	if (n < n_test + gap + 1)
		return -1;
	*test_begin = n - n_test;
	*n_train = n - n_test - gap;
	return 0;
}

/* qsort_r comparator: indices by ascending probability. */
static int
tsm_cmp_prob(const void *a, const void *b, void *arg)
{
	const double *prob = arg;
	double		pa = prob[*(const size_t *) a];
	double		pb = prob[*(const size_t *) b];

	return (pa > pb) - (pa < pb);
}

/*
 * tsm_roc_auc
 *	  Mann-Whitney U / (positives * negatives), tied probabilities sharing
 *	  their average rank.
 */
double
tsm_roc_auc(const float *label, const double *prob, size_t n, size_t *scratch)
{
	double		pos = 0,
				neg = 0,
				rank_sum = 0;
	size_t		i = 0;

	for (size_t k = 0; k < n; k++)
	{
		scratch[k] = k;
		if (label[k] > 0.5f)
			pos++;
		else
			neg++;
	}
	if (pos == 0 || neg == 0)
		return NAN;
	qsort_r(scratch, n, sizeof(size_t), tsm_cmp_prob, (void *) prob);
	while (i < n)
	{
		size_t		j = i;
		double		avg_rank;

		while (j + 1 < n && prob[scratch[j + 1]] == prob[scratch[i]])
			j++;
		avg_rank = ((double) i + (double) j) / 2.0 + 1.0;
		for (size_t k = i; k <= j; k++)
			if (label[scratch[k]] > 0.5f)
				rank_sum += avg_rank;
		i = j + 1;
	}
	return (rank_sum - pos * (pos + 1) / 2.0) / (pos * neg);
}

/*
 * tsm_compute_metrics
 *	  Every metric of one window; see tsm_metrics for the definitions.
 */
void
tsm_compute_metrics(const float *label, const double *prob, size_t n,
					int majority_class, size_t *scratch, tsm_metrics *out)
{
	double		tp = 0,
				fp = 0,
				tn = 0,
				fn = 0,
				ll = 0,
				brier = 0;

	memset(out, 0, sizeof(*out));
	out->n = n;
	for (size_t i = 0; i < n; i++)
	{
		int			y = label[i] > 0.5f;
		double		p = prob[i];
		double		pc = p < TSM_EPS ? TSM_EPS : p > 1 - TSM_EPS ? 1 - TSM_EPS : p;

		if (p >= 0.5)
			y ? tp++ : fp++;
		else
			y ? fn++ : tn++;
		ll -= y ? log(pc) : log(1 - pc);
		brier += (p - y) * (p - y);
		out->positives += y;
	}
	if (n == 0)
	{
		out->accuracy = out->precision = out->recall = out->f1 = out->roc_auc = NAN;
		out->log_loss = out->brier = out->base_rate = out->majority_accuracy = NAN;
		return;
	}
	out->accuracy = (tp + tn) / (double) n;
	out->precision = (tp + fp) > 0 ? tp / (tp + fp) : NAN;
	out->recall = (tp + fn) > 0 ? tp / (tp + fn) : NAN;
	out->f1 = (isnan(out->precision) || isnan(out->recall) || out->precision + out->recall == 0)
		? NAN : 2 * out->precision * out->recall / (out->precision + out->recall);
	out->log_loss = ll / (double) n;
	out->brier = brier / (double) n;
	out->base_rate = (double) out->positives / (double) n;
	out->majority_accuracy = majority_class ? out->base_rate : 1.0 - out->base_rate;
	out->roc_auc = tsm_roc_auc(label, prob, n, scratch);
}

/*
 * tsm_parse_eval
 *	  The number after "<key>:" in an XGBoost evaluation string.
 */
int
tsm_parse_eval(const char *text, const char *key, double *value)
{
	size_t		keylen = strlen(key);
	const char *p = text;

	if (text == NULL || keylen == 0)
		return -1;
	while ((p = strstr(p, key)) != NULL)
	{
		/* the key must start a token: after a tab, space or the start */
		if ((p == text || p[-1] == '\t' || p[-1] == ' ') && p[keylen] == ':')
		{
			char	   *end;
			double		v = strtod(p + keylen + 1, &end);

			if (end == p + keylen + 1)
				return -1;
			*value = v;
			return 0;
		}
		p += keylen;
	}
	return -1;
}

/* qsort comparator of doubles, NaN last. */
static int
tsm_cmp_double(const void *a, const void *b)
{
	double		x = *(const double *) a;
	double		y = *(const double *) b;

	if (isnan(x) || isnan(y))
		return isnan(x) - isnan(y);
	return (x > y) - (x < y);
}

/*
 * tsm_psi_edges
 *	  Distinct deciles of the finite values (sorted in place).
 */
int
tsm_psi_edges(double *values, size_t n, double *edges)
{
	size_t		finite = 0;
	int			nedges = 0;

	qsort(values, n, sizeof(double), tsm_cmp_double);
	while (finite < n && !isnan(values[finite]))
		finite++;
	if (finite < 2 || values[0] == values[finite - 1])
		return 0;
	for (int b = 1; b < TSM_PSI_BINS; b++)
	{
		double		e = values[(size_t) ((double) finite * b / TSM_PSI_BINS)];

		/* the last value is never an edge: its bin would be empty */
		if (e >= values[finite - 1])
			break;
		if (nedges == 0 || e > edges[nedges - 1])
			edges[nedges++] = e;
	}
	if (nedges == 0)
		edges[nedges++] = values[0];
	return nedges;
}

/*
 * tsm_psi_fractions
 *	  Share of the values in each bin (nedges + 1 value bins, then NaN).
 */
size_t
tsm_psi_fractions(const double *values, size_t n, const double *edges, int nedges,
				  double *fractions)
{
	for (int b = 0; b < nedges + 2; b++)
		fractions[b] = 0;
	if (n == 0)
		return 0;
	for (size_t i = 0; i < n; i++)
	{
		double		v = values[i];
		int			lo = 0,
					hi = nedges;

		if (isnan(v))
		{
			fractions[nedges + 1] += 1;
			continue;
		}
		/* first edge >= v, by bisection: that is v's bin */
		while (lo < hi)
		{
			int			mid = (lo + hi) / 2;

			if (edges[mid] >= v)
				hi = mid;
			else
				lo = mid + 1;
		}
		fractions[lo] += 1;
	}
	for (int b = 0; b < nedges + 2; b++)
		fractions[b] /= (double) n;
	return n;
}

/*
 * tsm_psi
 *	  Population stability index with floored fractions.
 */
double
tsm_psi(const double *expected, const double *actual, int nbins)
{
	double		psi = 0;

	for (int b = 0; b < nbins; b++)
	{
		double		e = expected[b] < TSM_PSI_FLOOR ? TSM_PSI_FLOOR : expected[b];
		double		a = actual[b] < TSM_PSI_FLOOR ? TSM_PSI_FLOOR : actual[b];

		psi += (a - e) * log(a / e);
	}
	return psi;
}

/*
 * tsm_rules_probability
 *	  RSI mean reversion plus MACD momentum, within (0.4, 0.6).
 */
double
tsm_rules_probability(double rsi, double macd_hist)
{
	if (isnan(rsi) || isnan(macd_hist))
		return NAN;
	return 0.5 + 0.05 * tanh((50.0 - rsi) / 10.0) + 0.05 * tanh(macd_hist / 0.0005);
}
