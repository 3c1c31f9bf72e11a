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

#include "models/model_metrics.h"

/* Probability clipping of the log loss, as scikit-learn and XGBoost do. */
#define TSM_EPS 1e-15

/* Floor of a PSI bin fraction. */
#define TSM_PSI_FLOOR 1e-4

/*
 * tsk_tsm_labels
 *	  label[i] = close[i + horizon] > close[i] for the rows that have one.
 */
size_t
tsk_tsm_labels(const double *close, size_t n, int horizon, float *label)
{
	size_t		h = (size_t) horizon;

	if (horizon < 1 || n <= h)
		return 0;
	for (size_t i = 0; i + h < n; i++)
		label[i] = close[i + h] > close[i] ? 1.0f : 0.0f;
	return n - h;
}

/*
 * tsk_tsm_split
 *	  Train on [0, n_train), leave out `gap` rows, test on [test_begin, n).
 */
int
tsk_tsm_split(size_t n, double test_fraction, size_t gap, size_t *n_train, size_t *test_begin)
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

/*
 * tsk_tsm_constant_scores
 *	  Log loss and Brier score of always answering p.
 */
void
tsk_tsm_constant_scores(const float *label, size_t n, double p, double *log_loss, double *brier)
{
	double		pc = p < TSM_EPS ? TSM_EPS : p > 1 - TSM_EPS ? 1 - TSM_EPS : p;
	double		ll = 0,
				br = 0;

	if (n == 0)
	{
		*log_loss = *brier = NAN;
		return;
	}
	for (size_t i = 0; i < n; i++)
	{
		int			y = label[i] > 0.5f;

		ll -= y ? log(pc) : log(1 - pc);
		br += (p - y) * (p - y);
	}
	*log_loss = ll / (double) n;
	*brier = br / (double) n;
}

/*
 * tsm_cmp_prob
 *	  qsort_r comparator: indices by ascending probability.
 */
static int
tsm_cmp_prob(const void *a, const void *b, void *arg)
{
	const double *prob = arg;
	double		pa = prob[*(const size_t *) a];
	double		pb = prob[*(const size_t *) b];

	return (pa > pb) - (pa < pb);
}

/*
 * tsk_tsm_roc_auc
 *	  Mann-Whitney U / (positives * negatives), tied probabilities sharing
 *	  their average rank.
 */
double
tsk_tsm_roc_auc(const float *label, const double *prob, size_t n, size_t *scratch)
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
 * tsk_tsm_compute_metrics
 *	  Every metric of one window; see tsm_metrics for the definitions.
 */
void
tsk_tsm_compute_metrics(const float *label, const double *prob, size_t n,
					int majority_class, size_t *scratch, tsm_metrics *out)
{
	double		tp = 0,
				fp = 0,
				tn = 0,
				fn = 0,
				ll = 0,
				brier = 0;
	double		bin_p[TSM_ECE_BINS] = {0},
				bin_y[TSM_ECE_BINS] = {0};

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
		if (p >= 0 && p <= 1)
		{
			int			b = (int) floor(p * TSM_ECE_BINS);

			b = b > TSM_ECE_BINS - 1 ? TSM_ECE_BINS - 1 : b;
			bin_p[b] += p;
			bin_y[b] += y;
		}
		else
			bin_p[0] = NAN;		/* not a probability: no calibration */
	}
	if (n == 0)
	{
		out->accuracy = out->precision = out->recall = out->f1 = out->roc_auc = NAN;
		out->log_loss = out->brier = out->base_rate = out->majority_accuracy = out->ece = NAN;
		return;
	}
	for (int b = 0; b < TSM_ECE_BINS; b++)
		out->ece += fabs(bin_p[b] - bin_y[b]);
	out->ece /= (double) n;
	out->accuracy = (tp + tn) / (double) n;
	out->precision = (tp + fp) > 0 ? tp / (tp + fp) : NAN;
	out->recall = (tp + fn) > 0 ? tp / (tp + fn) : NAN;
	out->f1 = (isnan(out->precision) || isnan(out->recall) || out->precision + out->recall == 0)
		? NAN : 2 * out->precision * out->recall / (out->precision + out->recall);
	out->log_loss = ll / (double) n;
	out->brier = brier / (double) n;
	out->base_rate = (double) out->positives / (double) n;
	out->majority_accuracy = majority_class ? out->base_rate : 1.0 - out->base_rate;
	/* the AUC needs a sort: skipped (NaN) when the caller gives no scratch */
	out->roc_auc = scratch ? tsk_tsm_roc_auc(label, prob, n, scratch) : NAN;
}

/*
 * tsk_tsm_parse_eval
 *	  The number after "<key>:" in an XGBoost evaluation string.
 */
int
tsk_tsm_parse_eval(const char *text, const char *key, double *value)
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

/*
 * tsm_cmp_double
 *	  qsort comparator of doubles, NaN last.
 */
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
 * tsm_swap
 *	  Exchange two doubles.
 */
static void
tsm_swap(double *a, double *b)
{
	double		t = *a;

	*a = *b;
	*b = t;
}

/*
 * tsm_select
 *	  Reorder the NaN-free values[lo..hi) so that values[k] is the value a
 *	  sort would put there, with no larger value before it and no smaller one
 *	  after (quickselect: median-of-three pivot, three-way partition so runs
 *	  of equal values cost one pass; a range that keeps failing to shrink is
 *	  simply sorted).  Expected O(hi - lo).
 */
static void
tsm_select(double *values, size_t lo, size_t hi, size_t k)
{
	for (int rounds = 0; hi - lo > 1; rounds++)
	{
		size_t		mid = lo + (hi - lo) / 2;
		double		a = values[lo],
					b = values[mid],
					c = values[hi - 1];
		double		pivot = a < b ? (b < c ? b : (a < c ? c : a)) : (a < c ? a : (b < c ? c : b));
		size_t		lt = lo,
					i = lo,
					gt = hi;

		if (rounds > 64)
		{
			qsort(values + lo, hi - lo, sizeof(double), tsm_cmp_double);
			return;
		}
		while (i < gt)
		{
			if (values[i] < pivot)
				tsm_swap(&values[lt++], &values[i++]);
			else if (values[i] > pivot)
				tsm_swap(&values[i], &values[--gt]);
			else
				i++;
		}
		if (k < lt)
			hi = lt;
		else if (k >= gt)
			lo = gt;
		else
			return;				/* values[k] equals the pivot: in place */
	}
}

/*
 * tsk_tsm_psi_edges
 *	  Distinct deciles of the finite values (values are reordered in place;
 *	  the deciles are exact order statistics, as from a sort, found by
 *	  selection in expected linear time).
 */
int
tsk_tsm_psi_edges(double *values, size_t n, double *edges)
{
	size_t		finite = 0;
	size_t		from = 0;
	double		min,
				max;
	int			nedges = 0;

	for (size_t i = 0; i < n; i++)
		if (!isnan(values[i]))
			tsm_swap(&values[finite++], &values[i]);
	if (finite < 2)
		return 0;
	min = max = values[0];
	for (size_t i = 1; i < finite; i++)
	{
		if (values[i] < min)
			min = values[i];
		if (values[i] > max)
			max = values[i];
	}
	if (min == max)
		return 0;
	for (int b = 1; b < TSM_PSI_BINS; b++)
	{
		size_t		pos = (size_t) ((double) finite * b / TSM_PSI_BINS);
		double		e;

		/* positions increase: select within what lies at or after the last */
		tsm_select(values, from, finite, pos);
		from = pos;
		e = values[pos];
		/* the last value is never an edge: its bin would be empty */
		if (e >= max)
			break;
		if (nedges == 0 || e > edges[nedges - 1])
			edges[nedges++] = e;
	}
	if (nedges == 0)
		edges[nedges++] = min;
	return nedges;
}

/*
 * tsk_tsm_psi_fractions
 *	  Share of the values in each bin (nedges + 1 value bins, then NaN).
 */
size_t
tsk_tsm_psi_fractions(const double *values, size_t n, const double *edges, int nedges,
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
 * tsk_tsm_psi
 *	  Population stability index with floored fractions.
 */
double
tsk_tsm_psi(const double *expected, const double *actual, int nbins)
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
 * tsk_tsm_rules_probability
 *	  RSI mean reversion plus MACD momentum, within (0.4, 0.6).
 */
double
tsk_tsm_rules_probability(double rsi, double macd_hist)
{
	if (isnan(rsi) || isnan(macd_hist))
		return NAN;
	return 0.5 + 0.05 * tanh((50.0 - rsi) / 10.0) + 0.05 * tanh(macd_hist / 0.0005);
}
