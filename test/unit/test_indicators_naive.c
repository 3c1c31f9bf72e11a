/*
 * test_indicators_naive.c
 *	  Indicator unit tests, second part: lookbacks, flat series, and the
 *	  comparisons of the streaming states with naive recomputations (VWAP
 *	  cumulative and rolling, zero volume, the Williams %R channel).  Called
 *	  from test_indicators.c's main.
 */
#include "test_indicators.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * test_close_enough
 *	  Checks value against a naive result within relative TEST_TOLERANCE.
 */
static bool
test_close_enough(double value, double expected)
{
	return fabs(value - expected) <= TEST_TOLERANCE * fmax(fabs(expected), 1.0);
}

/*
 * test_vwap_rolling_naive
 *	  Rolling VWAP(n) on the candles vs a from-scratch sum for every row.
 */
void
test_vwap_rolling_naive(const test_row *rows, int nrows, int n)
{
	ind_vwap_rolling_state *s = test_alloc(tsk_ind_vwap_rolling_size(n));
	int			bad = 0;
	double		worst = 0.0;

	tsk_ind_vwap_rolling_init(s, n);
	for (int i = 0; i < nrows; i++)
	{
		double		value = NAN;
		bool		has = tsk_ind_vwap_rolling_push(s, rows[i].close, rows[i].volume, &value);
		double		pv = 0.0;
		double		v = 0.0;

		for (int j = i - n + 1; j <= i; j++)
		{
			if (j < 0)
				continue;
			pv += rows[j].close * rows[j].volume;
			v += rows[j].volume;
		}
		if (has != (i >= n - 1 && v != 0.0))
			bad++;
		else if (has)
		{
			double		err = fabs(value - pv / v) / fmax(fabs(pv / v), 1.0);

			worst = fmax(worst, err);
			if (!test_close_enough(value, pv / v))
				bad++;
		}
	}
	printf("vwap_roll%-4d %8d rows, worst_rel %.6e\n", n, nrows, worst);
	test_check(bad == 0, "vwap_rolling(%d): %d rows differ from naive", n, bad);
	free(s);
}

/*
 * test_vwap_cumulative_naive
 *	  Cumulative VWAP on the candles vs a from-scratch sum every 97th row.
 */
void
test_vwap_cumulative_naive(const test_row *rows, int nrows)
{
	ind_vwap_state *s = test_alloc(tsk_ind_vwap_size());
	int			bad = 0;
	double		worst = 0.0;

	tsk_ind_vwap_init(s);
	for (int i = 0; i < nrows; i++)
	{
		double		value = NAN;
		bool		has = tsk_ind_vwap_push(s, rows[i].close, rows[i].volume, &value);
		double		pv = 0.0;
		double		v = 0.0;

		if (i % 97 != 0 && i != nrows - 1)
			continue;
		for (int j = 0; j <= i; j++)
		{
			pv += rows[j].close * rows[j].volume;
			v += rows[j].volume;
		}
		if (!has || !test_close_enough(value, pv / v))
			bad++;
		worst = fmax(worst, fabs(value - pv / v) / fabs(pv / v));
	}
	printf("vwap_cum     %8d rows, worst_rel %.6e\n", nrows, worst);
	test_check(bad == 0, "cumulative vwap: %d sampled rows differ from naive", bad);
	free(s);
}

/*
 * test_vwap_zero_volume
 *	  Zero-volume windows give no value, and no residue leaks afterwards.
 */
void
test_vwap_zero_volume(void)
{
	static const double prices[] = {10.1, 20.3, 30.7, 40.0, 50.0, 60.0, 70.0};
	static const double volumes[] = {1.1, 2.2, 0.3, 0.0, 0.0, 0.0, 5.0};
	/* Expected rolling(3) presence per row. */
	static const bool rolling_has[] = {false, false, true, true, true, false, true};
	ind_vwap_rolling_state *rolling = test_alloc(tsk_ind_vwap_rolling_size(3));
	ind_vwap_state *cumulative = test_alloc(tsk_ind_vwap_size());
	double		value = NAN;

	tsk_ind_vwap_rolling_init(rolling, 3);
	tsk_ind_vwap_init(cumulative);
	for (int i = 0; i < 7; i++)
	{
		bool		has = tsk_ind_vwap_rolling_push(rolling, prices[i], volumes[i], &value);

		test_check(has == rolling_has[i], "vwap_rolling(3) zero-volume row %d: has=%d",
				   i, has);
	}
	test_check(value == 70.0, "vwap_rolling(3) after a zero window: %.17g", value);
	test_check(!tsk_ind_vwap_push(cumulative, 5.0, 0.0, &value),
			   "cumulative vwap with only zero volume must have no value");
	test_check(tsk_ind_vwap_push(cumulative, 7.0, 2.0, &value) && value == 7.0,
			   "cumulative vwap after first volume: %.17g", value);
	free(rolling);
	free(cumulative);
}

/*
 * Runs PUSH_EXPR (a bool push of row `r` into an already initialised state)
 * over all rows and checks that exactly the first EXPECTED rows give no value.
 */
#define TEST_LOOKBACK(label, expected, push_expr) \
	do { \
		int			first_value = -1; \
		int			gaps = 0; \
		for (int i = 0; i < nrows; i++) \
		{ \
			const test_row *r = &rows[i]; \
			bool		has = (push_expr); \
			if (has && first_value < 0) \
				first_value = i; \
			else if (!has && first_value >= 0) \
				gaps++; \
		} \
		test_check(first_value == (expected) && gaps == 0, \
				   "%s: first value at row %d (expected %d), %d later gaps", \
				   label, first_value, (expected), gaps); \
	} while (0)

/*
 * test_lookbacks
 *	  Lookbacks for non-default parameters (the golden file pins the defaults),
 *	  and the degenerate period 1.
 */
void
test_lookbacks(const test_row *rows, int nrows)
{
	void	   *mem = &test_block;
	double		v;
	ind_macd_out macd;
	ind_stoch_out stoch;
	ind_bbands_out bands;

	/* Degenerate period 1: sma(1) and ema(1) are the input itself. */
	tsk_ind_sma_init(mem, 1);
	TEST_LOOKBACK("sma(1)", 0, tsk_ind_sma_push(mem, r->close, &v) && v == r->close);
	tsk_ind_ema_init(mem, 1);
	TEST_LOOKBACK("ema(1)", 0, tsk_ind_ema_push(mem, r->close, &v) && v == r->close);
	tsk_ind_macd_init(mem, 5, 35, 5);
	TEST_LOOKBACK("macd(5,35,5)", 38, tsk_ind_macd_push(mem, r->close, &macd));
	tsk_ind_macd_init(mem, 1, 2, 1);
	TEST_LOOKBACK("macd(1,2,1)", 1, tsk_ind_macd_push(mem, r->close, &macd));
	tsk_ind_stoch_init(mem, 5, 1, 1);
	TEST_LOOKBACK("stoch(5,1,1)", 4, tsk_ind_stoch_push(mem, r->high, r->low, r->close, &stoch));
	tsk_ind_stoch_init(mem, 9, 4, 2);
	TEST_LOOKBACK("stoch(9,4,2)", 12, tsk_ind_stoch_push(mem, r->high, r->low, r->close, &stoch));
	tsk_ind_adx_init(mem, 3);
	TEST_LOOKBACK("adx(3)", 5, tsk_ind_adx_push(mem, r->high, r->low, r->close, &v));
	tsk_ind_adx_init(mem, 1);
	TEST_LOOKBACK("adx(1)", 1, tsk_ind_adx_push(mem, r->high, r->low, r->close, &v));
	tsk_ind_rsi_init(mem, 1);
	TEST_LOOKBACK("rsi(1)", 1, tsk_ind_rsi_push(mem, r->close, &v));
	tsk_ind_atr_init(mem, 1);
	TEST_LOOKBACK("atr(1)", 1, tsk_ind_atr_push(mem, r->high, r->low, r->close, &v));
	tsk_ind_cci_init(mem, 1);
	TEST_LOOKBACK("cci(1)", 0, tsk_ind_cci_push(mem, r->high, r->low, r->close, &v));
	tsk_ind_mfi_init(mem, 2);
	TEST_LOOKBACK("mfi(2)", 2, tsk_ind_mfi_push(mem, r->high, r->low, r->close, r->volume, &v));
	tsk_ind_bbands_init(mem, 1, 2.0);
	TEST_LOOKBACK("bbands(1)", 0, tsk_ind_bbands_push(mem, r->close, &bands));
	tsk_ind_roc_init(mem, 1);
	TEST_LOOKBACK("roc(1)", 1, tsk_ind_roc_push(mem, r->close, &v));
	tsk_ind_vwap_rolling_init(mem, 5);
	TEST_LOOKBACK("vwap_rolling(5)", 4, tsk_ind_vwap_rolling_push(mem, r->close, r->volume, &v));
}

/*
 * test_channel_naive
 *	  Williams %R(n) vs a naive rescan of the window: checks the min/max deque.
 */
void
test_channel_naive(const test_row *rows, int nrows)
{
	static const int periods[] = {1, 2, 7, 60};

	for (size_t p = 0; p < sizeof(periods) / sizeof(periods[0]); p++)
	{
		int			n = periods[p];
		ind_willr_state *s = test_alloc(tsk_ind_willr_size(n));
		int			bad = 0;

		tsk_ind_willr_init(s, n);
		for (int i = 0; i < nrows; i++)
		{
			double		value = NAN;
			bool		has = tsk_ind_willr_push(s, rows[i].high, rows[i].low, rows[i].close, &value);
			double		highest = -INFINITY;
			double		lowest = INFINITY;
			double		scale;

			if (has != (i >= n - 1))
			{
				bad++;
				continue;
			}
			if (!has)
				continue;
			for (int j = i - n + 1; j <= i; j++)
			{
				highest = fmax(highest, rows[j].high);
				lowest = fmin(lowest, rows[j].low);
			}
			scale = (highest - lowest) / (-100.0);
			if (value != (scale != 0.0 ? (highest - rows[i].close) / scale : 0.0))
				bad++;
		}
		test_check(bad == 0, "willr(%d): %d rows differ from a naive rescan", n, bad);
		free(s);
	}
}

/*
 * test_flat_series
 *	  A flat series: TA-Lib's zero-division guards give 0 (bands collapse).
 */
void
test_flat_series(void)
{
	void	   *mem = &test_block;
	double		v = NAN;
	ind_stoch_out stoch = {NAN, NAN};
	ind_bbands_out bands = {NAN, NAN, NAN};
	const int	rows = 40;

#define TEST_FLAT(label, init_expr, push_expr, ok_expr) \
	do { \
		bool		has = false; \
		init_expr; \
		for (int i = 0; i < rows; i++) \
			has = (push_expr); \
		test_check(has && (ok_expr), "flat %s: has=%d", label, has); \
	} while (0)

	TEST_FLAT("rsi", tsk_ind_rsi_init(mem, 14), tsk_ind_rsi_push(mem, 100.0, &v), v == 0.0);
	TEST_FLAT("willr", tsk_ind_willr_init(mem, 14), tsk_ind_willr_push(mem, 100.0, 100.0, 100.0, &v), v == 0.0);
	TEST_FLAT("cci", tsk_ind_cci_init(mem, 14), tsk_ind_cci_push(mem, 100.0, 100.0, 100.0, &v), v == 0.0);
	TEST_FLAT("atr", tsk_ind_atr_init(mem, 14), tsk_ind_atr_push(mem, 100.0, 100.0, 100.0, &v), v == 0.0);
	TEST_FLAT("adx", tsk_ind_adx_init(mem, 14), tsk_ind_adx_push(mem, 100.0, 100.0, 100.0, &v), v == 0.0);
	TEST_FLAT("mfi", tsk_ind_mfi_init(mem, 14), tsk_ind_mfi_push(mem, 100.0, 100.0, 100.0, 5.0, &v), v == 0.0);
	TEST_FLAT("roc", tsk_ind_roc_init(mem, 10), tsk_ind_roc_push(mem, 100.0, &v), v == 0.0);
	TEST_FLAT("stoch", tsk_ind_stoch_init(mem, 14, 3, 3),
			  tsk_ind_stoch_push(mem, 100.0, 100.0, 100.0, &stoch), stoch.k == 0.0 && stoch.d == 0.0);
	TEST_FLAT("bbands", tsk_ind_bbands_init(mem, 20, 2.0), tsk_ind_bbands_push(mem, 100.0, &bands),
			  bands.upper == 100.0 && bands.middle == 100.0 && bands.lower == 100.0);
#undef TEST_FLAT
}
