/*
 * test_model_regress.c
 *	  Unit tests of src/models/model_regress.c (issue 15): regression
 *	  labels and their refusal of non-positive closes, the past realised
 *	  volatility (never before its row), OLS with skipped rows and a
 *	  singular design, regression metrics, QLIKE and the Diebold-Mariano
 *	  statistic, each against values worked out by hand.
 */
#include <math.h>
#include <stdio.h>

#include "models/model_regress.h"
#include "unit_check.h"

/*
 * close_to
 *	  |a - b| <= tol.
 */
static int
close_to(double a, double b, double tol)
{
	return fabs(a - b) <= tol;
}

/*
 * main
 *	  Run the checks.
 */
int
main(void)
{
	double		close[6] = {100, 101, 99, 99, 102, 103};
	float		label[6];
	size_t		bad = 0;
	double		x[10],
				y[5],
				beta[3];
	float		yf[3] = {1.0f, -1.0f, 2.0f};
	double		f[3] = {0.5, 0.5, 1.0};
	double		ref[3] = {0.0, 0.0, 3.0};
	tsm_regression m;
	double		la[3] = {1, 1, 1},
				lb[3] = {2, 3, 4},
				dm;

	/* labels */
	check(tsk_tsm_regression_labels(close, 6, 2, TSM_TARGET_RETURN, label, &bad) == 4, "return: n - h labels");
	check(close_to(label[0], (float) log(99.0 / 100.0), 1e-7), "return label 0 = ln(close[2] / close[0])");
	check(close_to(label[3], (float) log(103.0 / 99.0), 1e-7), "return label 3 = ln(close[5] / close[3])");
	check(tsk_tsm_regression_labels(close, 6, 2, TSM_TARGET_VOLATILITY, label, &bad) == 4, "volatility: n - h labels");
	check(close_to(label[0], (float) log(sqrt(pow(log(101.0 / 100), 2) + pow(log(99.0 / 101), 2))), 1e-6),
		  "volatility label 0 = ln sqrt of the two squared log returns after it");
	check(close_to(label[1], (float) log(sqrt(pow(log(99.0 / 101), 2))), 1e-6),
		  "volatility label 1: a flat step adds nothing");
	{
		double		flat[3] = {5, 5, 5};

		check(tsk_tsm_regression_labels(flat, 3, 1, TSM_TARGET_VOLATILITY, label, &bad) == 2 &&
			  close_to(label[0], (float) log(TSM_RV_FLOOR), 1e-6), "no move: the floor, not -infinity");
	}
	close[3] = 0;
	check(tsk_tsm_regression_labels(close, 6, 2, TSM_TARGET_RETURN, label, &bad) == -1 && bad == 3,
		  "a zero close is refused and named");
	close[3] = 99;
	check(tsk_tsm_regression_labels(close, 2, 2, TSM_TARGET_RETURN, label, &bad) == 0, "n <= h: no label");

	/* past realised volatility reads only closes up to its row */
	check(isnan(tsk_tsm_log_rv_past(close, 1, 2, 2)), "k buckets need k returns before the row");
	check(close_to(tsk_tsm_log_rv_past(close, 2, 2, 2),
				   log(sqrt(pow(log(101.0 / 100), 2) + pow(log(99.0 / 101), 2))), 1e-12),
		  "rv of the 2 buckets up to row 2 (scaled to h = k: unscaled)");
	check(close_to(tsk_tsm_log_rv_past(close, 2, 1, 4), log(sqrt(4 * pow(log(99.0 / 101), 2))), 1e-12),
		  "rv of 1 bucket scaled to 4");

	/* OLS: y = 1 + 2 x1 - 3 x2 exactly, one row with a NaN skipped */
	{
		double		xs[5][2] = {{0, 0}, {1, 0}, {0, 1}, {2, 3}, {NAN, 1}};

		for (int i = 0; i < 5; i++)
		{
			x[2 * i] = xs[i][0];
			x[2 * i + 1] = xs[i][1];
			y[i] = 1 + 2 * xs[i][0] - 3 * xs[i][1];
		}
		check(tsk_tsm_ols(x, y, 5, 2, beta) == 4, "OLS uses the 4 complete rows");
		check(close_to(beta[0], 1, 1e-12) && close_to(beta[1], 2, 1e-12) && close_to(beta[2], -3, 1e-12),
			  "OLS recovers 1, 2, -3");
		for (int i = 0; i < 5; i++)
			x[2 * i + 1] = 2 * x[2 * i];
		check(tsk_tsm_ols(x, y, 5, 2, beta) == 0, "collinear regressors: singular, 0");
	}

	/* metrics: errors 0.5, -1.5, 1.0 */
	tsk_tsm_regression_metrics(yf, f, 3, 0.0, NULL, 1, &m);
	check(close_to(m.mse, (0.25 + 2.25 + 1.0) / 3, 1e-12), "mse");
	check(close_to(m.mae, (0.5 + 1.5 + 1.0) / 3, 1e-12), "mae");
	check(close_to(m.r2, 1 - 3.5 / 6.0, 1e-12), "out-of-sample r2 against the training mean 0");
	check(close_to(m.directional_accuracy, 2.0 / 3, 1e-12), "direction: signs of 2 of 3 moves");
	check(close_to(m.qlike, ((exp(1.0) - 1 - 1) + (exp(-3.0) + 3 - 1) + (exp(2.0) - 2 - 1)) / 3, 1e-12),
		  "qlike on the variances");
	tsk_tsm_regression_metrics(yf, f, 3, 0.0, ref, 1, &m);
	check(close_to(m.directional_accuracy, 2.0 / 3, 1e-12), "direction against a reference forecast");
	tsk_tsm_regression_metrics(yf, ref, 3, 0.0, ref, 1, &m);
	check(isnan(m.directional_accuracy), "the reference itself has no direction");

	/* Diebold-Mariano: d = 1, 2, 3; mean 2; variance 2/3; no lag */
	dm = tsk_tsm_diebold_mariano(la, lb, 3, 0);
	check(close_to(dm, 2 / sqrt((2.0 / 3) / 3), 1e-12), "DM = mean / sqrt(var / n)");
	dm = tsk_tsm_diebold_mariano(la, lb, 3, 1);
	check(close_to(dm, 2 / sqrt((2.0 / 3 + 2 * 0.5 * (((-1) * 0 + 0 * 1) / 3.0)) / 3), 1e-12),
		  "DM with one Bartlett lag");
	check(isnan(tsk_tsm_diebold_mariano(la, la, 3, 0)), "equal losses: no variance, NaN");
	return unit_summary("test_model_regress");
}
