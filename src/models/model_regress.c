/*
 * model_regress.c
 *	  Pure-C computation of the regression targets (see model_regress.h):
 *	  labels, past realised volatility, OLS, metrics, QLIKE and the
 *	  Diebold-Mariano statistic.
 *
 * Invariants: no allocation, no global state but constant tables, no
 * Postgres headers; NaN marks an undefined value; a label or regressor
 * never reads a close beyond what model_regress.h states.
 */
#include <math.h>
#include <string.h>

#include "models/model_regress.h"

const int	tsk_tsm_har_lags[TSM_HAR_TERMS] = {1, 5, 22};

static const char *const regress_target_names[] = {"direction", "return", "volatility"};

/*
 * tsk_tsm_target_parse
 *	  The target of a name, or -1.
 */
int
tsk_tsm_target_parse(const char *name)
{
	for (int i = 0; i < 3; i++)
		if (strcmp(name, regress_target_names[i]) == 0)
			return i;
	return -1;
}

/*
 * tsk_tsm_target_name
 *	  The name of a target.
 */
const char *
tsk_tsm_target_name(tsm_target target)
{
	return regress_target_names[target];
}

/*
 * regress_positive
 *	  True for a finite close above zero.
 */
static int
regress_positive(double c)
{
	return isfinite(c) && c > 0;
}

/*
 * tsk_tsm_regression_labels
 *	  Return or log realised volatility labels (see model_regress.h).
 */
long
tsk_tsm_regression_labels(const double *close, size_t n, int horizon, tsm_target target,
						  float *label, size_t *bad)
{
	size_t		h = (size_t) horizon;

	if (horizon < 1 || n <= h)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!regress_positive(close[i]))
		{
			*bad = i;
			return -1;
		}
	for (size_t i = 0; i + h < n; i++)
	{
		if (target == TSM_TARGET_RETURN)
			label[i] = (float) log(close[i + h] / close[i]);
		else
		{
			double		ss = 0;

			for (size_t k = 1; k <= h; k++)
			{
				double		r = log(close[i + k] / close[i + k - 1]);

				ss += r * r;
			}
			label[i] = (float) log(fmax(sqrt(ss), TSM_RV_FLOOR));
		}
	}
	return (long) (n - h);
}

/*
 * tsk_tsm_log_rv_past
 *	  ln realised volatility of the k buckets ending at row i, scaled to h.
 */
double
tsk_tsm_log_rv_past(const double *close, size_t i, int k, int h)
{
	double		ss = 0;

	if (k < 1 || i < (size_t) k)
		return NAN;
	for (size_t j = 0; j < (size_t) k; j++)
	{
		double		r = log(close[i - j] / close[i - j - 1]);

		ss += r * r;
	}
	return log(fmax(sqrt(ss * (double) h / (double) k), TSM_RV_FLOOR));
}

/*
 * tsk_tsm_ols
 *	  Normal equations (X'X) beta = X'y with an intercept, solved by
 *	  Gaussian elimination with partial pivoting.
 */
size_t
tsk_tsm_ols(const double *x, const double *y, size_t n, int k, double *beta)
{
	double		a[8][9];
	int			m = k + 1;
	size_t		used = 0;

	if (k < 1 || k > 7)
		return 0;
	memset(a, 0, sizeof(a));
	for (size_t i = 0; i < n; i++)
	{
		double		row[8];
		int			ok = isfinite(y[i]);

		row[0] = 1;
		for (int j = 0; j < k; j++)
		{
			row[j + 1] = x[i * k + j];
			ok = ok && isfinite(row[j + 1]);
		}
		if (!ok)
			continue;
		used++;
		for (int r = 0; r < m; r++)
		{
			for (int c = 0; c < m; c++)
				a[r][c] += row[r] * row[c];
			a[r][m] += row[r] * y[i];
		}
	}
	for (int c = 0; c < m; c++)
	{
		int			p = c;

		for (int r = c + 1; r < m; r++)
			if (fabs(a[r][c]) > fabs(a[p][c]))
				p = r;
		if (!(fabs(a[p][c]) > 1e-300))
			return 0;
		if (p != c)
			for (int j = 0; j <= m; j++)
			{
				double		t = a[c][j];

				a[c][j] = a[p][j];
				a[p][j] = t;
			}
		for (int r = 0; r < m; r++)
		{
			double		f;

			if (r == c)
				continue;
			f = a[r][c] / a[c][c];
			for (int j = c; j <= m; j++)
				a[r][j] -= f * a[c][j];
		}
	}
	for (int c = 0; c < m; c++)
		beta[c] = a[c][m] / a[c][c];
	return used;
}

/*
 * tsk_tsm_regression_metrics
 *	  MSE, MAE, out-of-sample R^2, directional accuracy, QLIKE.
 */
void
tsk_tsm_regression_metrics(const float *y, const double *f, size_t n, double train_mean,
						   const double *ref, int volatility, tsm_regression *out)
{
	double		sse = 0,
				sae = 0,
				sst = 0,
				ql = 0,
				hits = 0,
				moves = 0;
	int			informative = 0;

	memset(out, 0, sizeof(*out));
	out->n = n;
	if (n == 0)
	{
		out->mse = out->mae = out->r2 = out->directional_accuracy = out->qlike = NAN;
		return;
	}
	for (size_t i = 0; i < n; i++)
	{
		double		yi = y[i];
		double		e = yi - f[i];
		double		r0 = ref ? ref[i] : 0;

		sse += e * e;
		sae += fabs(e);
		sst += (yi - train_mean) * (yi - train_mean);
		if (volatility)
			ql += exp(2 * e) - 2 * e - 1;
		if (f[i] != r0)
			informative = 1;
		if (yi != r0)
		{
			moves++;
			hits += (f[i] > r0) == (yi > r0);
		}
	}
	out->mse = sse / (double) n;
	out->mae = sae / (double) n;
	out->r2 = sst > 0 ? 1 - sse / sst : NAN;
	out->directional_accuracy = moves > 0 && informative ? hits / moves : NAN;
	out->qlike = volatility ? ql / (double) n : NAN;
}

/*
 * tsk_tsm_diebold_mariano
 *	  DM statistic with a Bartlett-weighted long-run variance.
 */
double
tsk_tsm_diebold_mariano(const double *loss_a, const double *loss_b, size_t n, int lag)
{
	double		mean = 0,
				lrv;

	if (n < 2)
		return NAN;
	for (size_t i = 0; i < n; i++)
		mean += loss_b[i] - loss_a[i];
	mean /= (double) n;
	lrv = 0;
	for (int l = 0; l <= lag && (size_t) l < n; l++)
	{
		double		g = 0;

		for (size_t i = (size_t) l; i < n; i++)
			g += (loss_b[i] - loss_a[i] - mean) * (loss_b[i - l] - loss_a[i - l] - mean);
		g /= (double) n;
		lrv += l == 0 ? g : 2 * (1 - (double) l / (double) (lag + 1)) * g;
	}
	if (!(lrv > 0))
		return NAN;
	return mean / sqrt(lrv / (double) n);
}
