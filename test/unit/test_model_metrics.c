/*
 * test_model_metrics.c
 *	  Unit tests of the pure-C model core model_metrics.c, without a server:
 *	  labels and the time-ordered split, metrics against hand-computed
 *	  values, the ROC AUC against a brute-force pair count (ties included),
 *	  XGBoost evaluation strings, PSI bins and values, the rules baseline.
 *
 * Usage: test_model_metrics [shared-dir] (the argument is unused).
 * Last line: "N passed, N failed"; exit status 1 if anything failed.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "models/model_metrics.h"

static int	tm_passed;
static int	tm_failed;

/*
 * tm_check
 *	  Record one check; print it only when it fails.
 */
static void
tm_check(int ok, const char *what)
{
	if (ok)
		tm_passed++;
	else
	{
		tm_failed++;
		printf("FAILED: %s\n", what);
	}
}

/*
 * tm_near
 *	  Doubles equal to 1e-12 (both NaN counts as equal).
 */
static int
tm_near(double a, double b)
{
	return (isnan(a) && isnan(b)) || fabs(a - b) < 1e-12;
}

/*
 * tm_auc_pairs
 *	  Brute-force AUC: share of (positive, negative) pairs ranked right.
 */
static double
tm_auc_pairs(const float *label, const double *prob, size_t n)
{
	double		good = 0,
				pairs = 0;

	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < n; j++)
			if (label[i] > 0.5f && label[j] < 0.5f)
			{
				pairs++;
				good += prob[i] > prob[j] ? 1 : prob[i] == prob[j] ? 0.5 : 0;
			}
	return pairs ? good / pairs : NAN;
}

/*
 * tm_labels_split
 *	  Labels and split.
 */
static void
tm_labels_split(void)
{
	double		close[6] = {10, 11, 11, 9, 12, 12};
	float		label[6];
	size_t		n_train,
				test_begin;

	tm_check(tsk_tsm_labels(close, 6, 1, label) == 5, "5 labels at horizon 1");
	tm_check(label[0] == 1 && label[1] == 0 && label[2] == 0 && label[3] == 1 && label[4] == 0,
			 "labels: higher is 1, equal and lower are 0");
	tm_check(tsk_tsm_labels(close, 6, 2, label) == 4 && label[0] == 1 && label[1] == 0 && label[2] == 1,
			 "labels at horizon 2");
	tm_check(tsk_tsm_labels(close, 2, 2, label) == 0, "no label when n <= horizon");
	tm_check(tsk_tsm_labels(close, 6, 0, label) == 0, "no label at horizon 0");

	tm_check(tsk_tsm_split(100, 0.2, 1, &n_train, &test_begin) == 0 && test_begin == 80 && n_train == 79,
			 "split 100 rows: test 80..99, train 0..78, one row gap");
	tm_check(tsk_tsm_split(10, 0.05, 0, &n_train, &test_begin) == 0 && test_begin == 9 && n_train == 9,
			 "split keeps at least one test row");
	tm_check(tsk_tsm_split(2, 0.5, 1, &n_train, &test_begin) == -1, "split refuses an empty training set");
	tm_check(tsk_tsm_split(10, 1.0, 0, &n_train, &test_begin) == -1, "split refuses test_fraction 1");
	tm_check(tsk_tsm_split(10, 0.0, 0, &n_train, &test_begin) == -1, "split refuses test_fraction 0");

	/* train(): the same split again on the training rows gives the validation slice */
	{
		size_t		n_fit,
					val_begin;

		tm_check(tsk_tsm_split(1000, 0.2, 5, &n_train, &test_begin) == 0 && test_begin == 800 && n_train == 795,
				 "split 1000 rows at horizon 5: test 800..999, train 0..794");
		tm_check(tsk_tsm_split(n_train, 0.2, 5, &n_fit, &val_begin) == 0 && val_begin == 636 && n_fit == 631,
				 "validation 636..794 (159 rows), fit 0..630, 5 rows left out before it and 5 after");
		tm_check(n_fit + 5 == val_begin && n_train + 5 == test_begin,
				 "the validation slice has horizon rows left out on both sides");
	}
}

/*
 * tm_constant_scores
 *	  The constant baseline: log loss and Brier of always answering p.
 */
static void
tm_constant_scores(void)
{
	float		label[4] = {1, 0, 0, 1};
	double		ll,
				brier;
	double		prob[4] = {0.3, 0.3, 0.3, 0.3};
	tsm_metrics m;

	tsk_tsm_constant_scores(label, 4, 0.3, &ll, &brier);
	tm_check(tm_near(ll, -(2 * log(0.3) + 2 * log(0.7)) / 4), "constant log loss");
	tm_check(tm_near(brier, (2 * 0.49 + 2 * 0.09) / 4), "constant brier");
	tsk_tsm_compute_metrics(label, prob, 4, 0, NULL, &m);
	tm_check(tm_near(ll, m.log_loss) && tm_near(brier, m.brier), "equal to the metrics of a constant prediction");
	tsk_tsm_constant_scores(label, 4, 1.0, &ll, &brier);
	tm_check(isfinite(ll), "p = 1 is clipped");
	tsk_tsm_constant_scores(label, 0, 0.5, &ll, &brier);
	tm_check(isnan(ll) && isnan(brier), "no rows: NaN");
}

/*
 * tm_metrics_small
 *	  Metrics of a small hand-checked window.
 */
static void
tm_metrics_small(void)
{
	float		label[6] = {1, 0, 1, 1, 0, 0};
	double		prob[6] = {0.9, 0.6, 0.4, 0.7, 0.2, 0.5};
	size_t		scratch[6];
	tsm_metrics m;
	double		ll = -(log(0.9) + log(0.4) + log(0.4) + log(0.7) + log(0.8) + log(0.5)) / 6;
	double		brier = (0.01 + 0.36 + 0.36 + 0.09 + 0.04 + 0.25) / 6;

	tsk_tsm_compute_metrics(label, prob, 6, 0, scratch, &m);
	/* predicted 1: 0.9 (tp) 0.6 (fp) 0.7 (tp) 0.5 (fp); predicted 0: 0.4 (fn) 0.2 (tn) */
	tm_check(m.n == 6 && m.positives == 3, "counts");
	tm_check(tm_near(m.accuracy, 3.0 / 6), "accuracy");
	tm_check(tm_near(m.precision, 2.0 / 4), "precision");
	tm_check(tm_near(m.recall, 2.0 / 3), "recall");
	tm_check(tm_near(m.f1, 2 * 0.5 * (2.0 / 3) / (0.5 + 2.0 / 3)), "f1");
	tm_check(tm_near(m.log_loss, ll), "log loss");
	tm_check(tm_near(m.brier, brier), "brier");
	tm_check(tm_near(m.base_rate, 0.5) && tm_near(m.majority_accuracy, 0.5), "base rate and majority");
	tm_check(tm_near(m.roc_auc, tm_auc_pairs(label, prob, 6)), "auc equals the pair count");
	tm_check(tm_near(m.roc_auc, 7.0 / 9), "auc 7/9");
	/* one row per bin: |p - y| each */
	tm_check(tm_near(m.ece, (0.1 + 0.6 + 0.6 + 0.3 + 0.2 + 0.5) / 6), "ece of one row per bin");
	{
		float		l3[3] = {1, 0, 1};
		double		p3[3] = {0.31, 0.39, 1.0};

		/* bin 3: |0.70 - 1|; p = 1 in the last bin: |1 - 1| */
		tsk_tsm_compute_metrics(l3, p3, 3, 0, NULL, &m);
		tm_check(tm_near(m.ece, 0.3 / 3), "ece: two rows in a bin, p = 1 in the last");
	}

	/* one class: auc and recall undefined, never a number */
	{
		float		zeros[3] = {0, 0, 0};
		double		p3[3] = {0.1, 0.2, 0.7};

		tsk_tsm_compute_metrics(zeros, p3, 3, 0, scratch, &m);
		tm_check(isnan(m.roc_auc) && isnan(m.recall) && isnan(m.f1), "one class: auc, recall, f1 NaN");
		tm_check(tm_near(m.majority_accuracy, 1.0) && tm_near(m.base_rate, 0.0), "one class: majority 1");
		tm_check(tm_near(m.precision, 0.0), "one class: precision 0 (one false positive)");
	}
	/* probabilities 0 and 1 are clipped, the log loss stays finite */
	{
		float		l2[2] = {1, 0};
		double		p2[2] = {0.0, 1.0};

		tsk_tsm_compute_metrics(l2, p2, 2, 1, scratch, &m);
		tm_check(isfinite(m.log_loss) && fabs(m.log_loss + log(1e-15)) < 0.1, "log loss clipped");
		tm_check(tm_near(m.roc_auc, 0.0), "auc 0 when every pair is wrong");
	}
}

/*
 * tm_auc_random
 *	  AUC against the pair count on random windows with many ties.
 */
static void
tm_auc_random(void)
{
	enum
	{
		N = 300
	};
	float		label[N];
	double		prob[N];
	size_t		scratch[N];
	unsigned	seed = 12345;
	int			ok = 1;

	for (int round = 0; round < 50; round++)
	{
		for (int i = 0; i < N; i++)
		{
			seed = seed * 1103515245 + 12345;
			label[i] = (seed >> 16) % 3 == 0;
			seed = seed * 1103515245 + 12345;
			prob[i] = ((seed >> 16) % 20) / 20.0;	/* 20 levels: many ties */
		}
		if (fabs(tsk_tsm_roc_auc(label, prob, N, scratch) - tm_auc_pairs(label, prob, N)) > 1e-12)
			ok = 0;
	}
	tm_check(ok, "auc equals the brute-force pair count on 50 random windows");
}

/*
 * tm_parse
 *	  XGBoost evaluation strings.
 */
static void
tm_parse(void)
{
	double		v = 0;

	tm_check(tsk_tsm_parse_eval("[12]\ttest-logloss:0.69123", "test-logloss", &v) == 0 && v == 0.69123,
			 "parse test-logloss");
	tm_check(tsk_tsm_parse_eval("[0]\ttrain-logloss:0.5\ttest-logloss:0.7", "test-logloss", &v) == 0 && v == 0.7,
			 "parse the second metric");
	tm_check(tsk_tsm_parse_eval("[0]\txtest-logloss:0.5", "test-logloss", &v) == -1, "key must start a token");
	tm_check(tsk_tsm_parse_eval("[0]\ttest-logloss:abc", "test-logloss", &v) == -1, "value must be a number");
	tm_check(tsk_tsm_parse_eval("[0]\ttest-auc:0.5", "test-logloss", &v) == -1, "absent key");
	tm_check(tsk_tsm_parse_eval("[0]\ttest-logloss:nan", "test-logloss", &v) == 0 && isnan(v), "nan parses");
}

/*
 * tm_psi
 *	  PSI edges, fractions and values.
 */
static void
tm_psi(void)
{
	double		values[1000];
	double		edges[TSM_PSI_BINS];
	double		expected[TSM_PSI_BINS + 1];
	double		actual[TSM_PSI_BINS + 1];
	double		shifted[1000];
	int			nedges;

	for (int i = 0; i < 1000; i++)
		values[i] = (i * 7919) % 1000;	/* 0..999 shuffled */
	nedges = tsk_tsm_psi_edges(values, 1000, edges);
	tm_check(nedges == 9 && edges[0] == 100 && edges[8] == 900, "deciles of 0..999");
	tsk_tsm_psi_fractions(values, 1000, edges, nedges, expected);
	tm_check(tm_near(expected[0], 0.101) && tm_near(expected[9], 0.099) && expected[10] == 0,
			 "fractions: (-inf,100] holds 101 values, (900,inf) 99, no NaN");
	tm_check(tm_near(tsk_tsm_psi(expected, expected, nedges + 2), 0), "PSI of a distribution with itself is 0");
	for (int i = 0; i < 1000; i++)
		shifted[i] = i < 500 ? NAN : values[i];
	tsk_tsm_psi_fractions(shifted, 1000, edges, nedges, actual);
	tm_check(tm_near(actual[nedges + 1], 0.5), "NaN values have their own bin");
	tm_check(tsk_tsm_psi(expected, actual, nedges + 2) > 0.25, "a large shift gives PSI > 0.25");

	{
		double		constant[5] = {3, 3, 3, NAN, 3};

		tm_check(tsk_tsm_psi_edges(constant, 5, edges) == 0, "no edges for a constant feature");
	}
	{
		double		two[6] = {1, 1, 1, 1, 1, 2};

		nedges = tsk_tsm_psi_edges(two, 6, edges);
		tm_check(nedges == 1 && edges[0] == 1, "two values: one edge between them");
	}
}

/*
 * tm_rules
 *	  The rules baseline.
 */
static void
tm_rules(void)
{
	tm_check(tm_near(tsk_tsm_rules_probability(50, 0), 0.5), "neutral inputs give 0.5");
	tm_check(tsk_tsm_rules_probability(20, 0) > 0.5 && tsk_tsm_rules_probability(80, 0) < 0.5,
			 "oversold leans up, overbought leans down");
	tm_check(tsk_tsm_rules_probability(50, 0.001) > 0.5 && tsk_tsm_rules_probability(50, -0.001) < 0.5,
			 "positive MACD histogram leans up");
	tm_check(tsk_tsm_rules_probability(0, 1) < 0.6 && tsk_tsm_rules_probability(100, -1) > 0.4,
			 "within (0.4, 0.6)");
	tm_check(isnan(tsk_tsm_rules_probability(NAN, 0)) && isnan(tsk_tsm_rules_probability(50, NAN)),
			 "missing input abstains");
}

/*
 * tm_cmp
 *	  Sorting comparator for the reference deciles (NaN last).
 */
static int
tm_cmp(const void *a, const void *b)
{
	double		x = *(const double *) a,
				y = *(const double *) b;

	if (isnan(x) || isnan(y))
		return isnan(x) - isnan(y);
	return (x > y) - (x < y);
}

/*
 * tm_psi_edges_match_sort
 *	  Decile edges by selection equal the edges read off a full sort, on random
 *	  columns with many duplicates and some NaNs.
 */
static void
tm_psi_edges_match_sort(void)
{
	static double values[20011], sorted[20011];
	unsigned int seed = 12345;
	int			all_equal = 1;

	for (int round = 0; round < 40; round++)
	{
		size_t		n = 1 + (size_t) (round * 499) % 20011;
		size_t		finite = 0;
		double		edges[TSM_PSI_BINS], ref[TSM_PSI_BINS];
		int			ne, nref = 0;

		for (size_t i = 0; i < n; i++)
		{
			seed = seed * 1103515245u + 12345u;
			values[i] = (seed >> 16) % 11 == 0 ? NAN : (double) ((seed >> 8) % (round % 7 == 0 ? 3 : 1000));
		}
		memcpy(sorted, values, n * sizeof(double));
		qsort(sorted, n, sizeof(double), tm_cmp);
		while (finite < n && !isnan(sorted[finite]))
			finite++;
		if (finite >= 2 && sorted[0] != sorted[finite - 1])
		{
			for (int b = 1; b < TSM_PSI_BINS; b++)
			{
				double		e = sorted[(size_t) ((double) finite * b / TSM_PSI_BINS)];

				if (e >= sorted[finite - 1])
					break;
				if (nref == 0 || e > ref[nref - 1])
					ref[nref++] = e;
			}
			if (nref == 0)
				ref[nref++] = sorted[0];
		}
		ne = tsk_tsm_psi_edges(values, n, edges);
		if (ne != nref || memcmp(edges, ref, sizeof(double) * ne) != 0)
			all_equal = 0;
	}
	tm_check(all_equal, "psi edges by selection equal the edges of a full sort (40 random columns)");
}

/*
 * main
 *	  Runs every test; exit status 1 on any failure.
 */
int
main(void)
{
	tm_psi_edges_match_sort();
	tm_labels_split();
	tm_constant_scores();
	tm_metrics_small();
	tm_auc_random();
	tm_parse();
	tm_psi();
	tm_rules();
	printf("%d passed, %d failed\n", tm_passed, tm_failed);
	return tm_failed ? 1 : 0;
}
