/*
 * test_candle.c
 *	  Unit tests of the pure-C cores exactsum.c and candle.c, without a
 *	  server: exact sums against an independent exact computation (integer
 *	  arithmetic on values that are exact binary fractions), order and
 *	  grouping independence under random permutations and splits, and the
 *	  error contract of the add functions.
 *
 * Usage: test_candle [shared-dir] (the argument is accepted and unused).
 * Last line: "N passed, N failed"; exit status 1 if anything failed.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "candles/candle.h"
#include "candles/exactsum.h"

static int	tc_passed;
static int	tc_failed;

/*
 * tc_check
 *	  Record one check; print it only when it fails.
 */
static void
tc_check(int ok, const char *what)
{
	if (ok)
		tc_passed++;
	else
	{
		tc_failed++;
		printf("FAILED: %s\n", what);
	}
}

/* Deterministic xorshift generator so failures reproduce. */
static uint64_t tc_rng = 88172645463325252ULL;

/*
 * tc_next
 *	  The next value of the xorshift generator tc_rng.
 */
static uint64_t
tc_next(void)
{
	tc_rng ^= tc_rng << 13;
	tc_rng ^= tc_rng >> 7;
	tc_rng ^= tc_rng << 17;
	return tc_rng;
}

/*
 * tc_shuffle
 *	  Fisher-Yates shuffle of n doubles.
 */
static void
tc_shuffle(double *v, int n)
{
	for (int i = n - 1; i > 0; i--)
	{
		int			j = (int) (tc_next() % (uint64_t) (i + 1));
		double		t = v[i];

		v[i] = v[j];
		v[j] = t;
	}
}

/*
 * tc_exactsum_matches_integer_sum
 *	  Exactness: values k * 2^-30 with integer k are exact doubles, so their
 *	  exact sum is an integer computed independently in int64.
 */
static void
tc_exactsum_matches_integer_sum(void)
{
	enum { N = 20000 };
	static double v[N];
	int64_t		exact = 0;
	xsum		s;

	for (int i = 0; i < N; i++)
	{
		int64_t		k = (int64_t) (tc_next() % 2000000001ULL) - 1000000000;

		exact += k;
		v[i] = ldexp((double) k, -30);
	}
	int			accepted = 1;

	tsk_xsum_init(&s);
	for (int i = 0; i < N; i++)
		accepted &= tsk_xsum_add(&s, v[i]);
	tc_check(accepted, "tsk_xsum_add accepts normal values");
	tc_check(tsk_xsum_value(&s) == ldexp((double) exact, -30), "xsum equals the exact integer sum");
}

/*
 * tc_exactsum_cancellation
 *	  Cancellation that a plain double sum gets wrong: 1e20 + 1 - 1e20 = 1.
 */
static void
tc_exactsum_cancellation(void)
{
	xsum		s;
	volatile double naive = 1e20;

	naive += 1.0;
	naive -= 1e20;
	tsk_xsum_init(&s);
	tsk_xsum_add(&s, 1e20);
	tsk_xsum_add(&s, 1.0);
	tsk_xsum_add(&s, -1e20);
	tc_check(tsk_xsum_value(&s) == 1.0, "exact sum survives cancellation");
	tc_check(naive != 1.0, "the naive sum indeed loses it (test can fail)");

	tsk_xsum_init(&s);
	tsk_xsum_add(&s, 0.1);
	tsk_xsum_add(&s, -0.1);
	tc_check(tsk_xsum_value(&s) == 0.0 && !signbit(tsk_xsum_value(&s)), "x - x is +0");
	tsk_xsum_add(&s, -2.5);
	tc_check(tsk_xsum_value(&s) == -2.5, "negative totals");
	tsk_xsum_init(&s);
	tsk_xsum_add(&s, 5e-324);
	tc_check(tsk_xsum_value(&s) == 0.0, "below 2^-160 truncates to zero");
	tsk_xsum_add(&s, ldexp(1.0, -160));
	tc_check(tsk_xsum_value(&s) == ldexp(1.0, -160), "2^-160 is representable");
}

/*
 * tc_exactsum_rejects
 *	  Rejected addends leave the sum unchanged.
 */
static void
tc_exactsum_rejects(void)
{
	xsum		s;

	tsk_xsum_init(&s);
	tsk_xsum_add(&s, 3.0);
	tc_check(!tsk_xsum_add(&s, NAN), "NaN rejected");
	tc_check(!tsk_xsum_add(&s, INFINITY), "Infinity rejected");
	tc_check(!tsk_xsum_add(&s, -ldexp(1.0, 96)), "-2^96 rejected");
	tc_check(tsk_xsum_add(&s, nextafter(ldexp(1.0, 96), 0)), "just below 2^96 accepted");
	tc_check(tsk_xsum_value(&s) == nextafter(ldexp(1.0, 96), 0) + 3.0 ||
			 tsk_xsum_value(&s) == nextafter(ldexp(1.0, 96), 0), "sum after rejections");
}

/*
 * tc_exactsum_order_free
 *	  Order and grouping independence on realistic prices and quantities: any
 *	  permutation, and any split into partial sums merged in any order, gives
 *	  the same bits; and the result is the correctly rounded sum (compared with
 *	  a long double Kahan sum, which is far more precise than needed here).
 */
static void
tc_exactsum_order_free(void)
{
	enum { N = 5000 };
	static double v[N];
	double		first = 0;
	int			same = 1;
	long double ref = 0;

	for (int i = 0; i < N; i++)
		v[i] = (double) (tc_next() % 100000000ULL) / 1e8 * 61234.56;
	for (int i = 0; i < N; i++)
		ref += v[i];

	for (int round = 0; round < 50; round++)
	{
		xsum		parts[4];
		xsum		total;
		double		value;

		tc_shuffle(v, N);
		for (int p = 0; p < 4; p++)
			tsk_xsum_init(&parts[p]);
		for (int i = 0; i < N; i++)
			tsk_xsum_add(&parts[tc_next() % 4], v[i]);
		tsk_xsum_init(&total);
		for (int p = 3; p >= 0; p--)
			tsk_xsum_merge(&total, &parts[p]);
		value = tsk_xsum_value(&total);
		if (round == 0)
			first = value;
		else if (memcmp(&value, &first, sizeof(double)) != 0)
			same = 0;
	}
	tc_check(same, "sum identical under 50 permutations and splits");
	tc_check(fabsl((long double) first - ref) <= fabsl(ref) * 1e-15L, "sum close to long double sum");
}

/*
 * tc_candle_basics
 *	  The candle state: OHLC by (ts, seq), exact volume, order-free results.
 */
static void
tc_candle_basics(void)
{
	candle_state st;
	candle_summary out;
	double		rejected = 0;

	tsk_candle_init(&st);
	tc_check(!tsk_candle_result(&st, &out), "empty candle has no result");
	tc_check(tsk_candle_add_trade(&st, 2000, 7, 10.0, 1.0, &rejected) == CANDLE_OK, "add trade");
	tc_check(tsk_candle_add_trade(&st, 1000, 9, 11.0, 2.0, &rejected) == CANDLE_OK, "add earlier trade");
	tc_check(tsk_candle_add_trade(&st, 1000, 3, 12.0, 0.5, &rejected) == CANDLE_OK, "add tie on ts");
	tc_check(tsk_candle_add_trade(&st, 2000, 8, 9.0, 1.5, &rejected) == CANDLE_OK, "add tie at close");
	tc_check(tsk_candle_result(&st, &out), "result exists");
	tc_check(out.open == 12.0 && out.open_time == 1000, "open is smallest (ts, seq)");
	tc_check(out.close == 9.0 && out.close_time == 2000, "close is largest (ts, seq)");
	tc_check(out.high == 12.0 && out.low == 9.0, "high and low");
	tc_check(out.volume == 5.0 && out.trades == 4, "volume and trades");
	tc_check(out.has_vwap && out.vwap == (10.0 + 22.0 + 6.0 + 13.5) / 5.0, "vwap");

	tc_check(tsk_candle_add_trade(&st, 3000, 1, NAN, 1.0, &rejected) == CANDLE_BAD_PRICE &&
			 isnan(rejected), "NaN price rejected and reported");
	tc_check(tsk_candle_add_trade(&st, 3000, 1, 1.0, -2.0, &rejected) == CANDLE_BAD_QTY &&
			 rejected == -2.0, "negative qty rejected and reported");
	tc_check(tsk_candle_add_trade(&st, 3000, 1, 1e300, 1e10, &rejected) == CANDLE_OUT_OF_RANGE,
			 "huge turnover rejected");
	tc_check(tsk_candle_result(&st, &out) && out.trades == 4 && out.close_time == 2000,
			 "rejections leave the state unchanged");

	tsk_candle_init(&st);
	tsk_candle_add_trade(&st, 1, 1, 5.0, 0.0, &rejected);
	tc_check(tsk_candle_result(&st, &out) && out.volume == 0 && !out.has_vwap, "zero volume: no vwap");
	tsk_candle_add_trade(&st, 1, 1, -0.0, 1.0, &rejected);
	tc_check(tsk_candle_result(&st, &out) && !signbit(out.low), "-0.0 price normalised");
}

/*
 * tc_same_summary
 *	  Two summaries equal field by field, doubles compared bit for bit.
 */
static int
tc_same_summary(const candle_summary *a, const candle_summary *b)
{
	return memcmp(&a->open, &b->open, sizeof(double)) == 0 &&
		memcmp(&a->high, &b->high, sizeof(double)) == 0 &&
		memcmp(&a->low, &b->low, sizeof(double)) == 0 &&
		memcmp(&a->close, &b->close, sizeof(double)) == 0 &&
		memcmp(&a->volume, &b->volume, sizeof(double)) == 0 &&
		memcmp(&a->vwap, &b->vwap, sizeof(double)) == 0 &&
		a->has_vwap == b->has_vwap && a->trades == b->trades &&
		a->open_time == b->open_time && a->close_time == b->close_time;
}

/*
 * tc_candle_order_free
 *	  Merging candles built from random splits of the same trades, in random
 *	  order, equals one candle over all of them, byte for byte; and a rollup of
 *	  per-bucket candles equals direct aggregation in all but the last bits of
 *	  vwap.
 */
static void
tc_candle_order_free(void)
{
	enum { N = 3000, PARTS = 3 };
	static int64_t ts[N], seq[N];
	static double price[N], qty[N];
	static int order[N];
	candle_state whole, parts[PARTS], merged, rolled;
	candle_summary a, b, r;
	double		rejected;
	int			same = 1;

	for (int i = 0; i < N; i++)
	{
		ts[i] = (int64_t) (tc_next() % 600) * 100000;	/* many ties on ts */
		seq[i] = (int64_t) (tc_next() % 50);			/* and some on (ts, seq) */
		price[i] = 60000.0 + (double) (tc_next() % 100000) / 100.0;
		qty[i] = (double) (tc_next() % 100000000ULL) / 1e8;
		order[i] = i;
	}
	tsk_candle_init(&whole);
	for (int i = 0; i < N; i++)
		tsk_candle_add_trade(&whole, ts[i], seq[i], price[i], qty[i], &rejected);
	tsk_candle_result(&whole, &a);

	for (int round = 0; round < 30; round++)
	{
		for (int i = N - 1; i > 0; i--)
		{
			int			j = (int) (tc_next() % (uint64_t) (i + 1));
			int			t = order[i];

			order[i] = order[j];
			order[j] = t;
		}
		for (int p = 0; p < PARTS; p++)
			tsk_candle_init(&parts[p]);
		for (int i = 0; i < N; i++)
		{
			int			k = order[i];

			tsk_candle_add_trade(&parts[tc_next() % PARTS], ts[k], seq[k], price[k], qty[k], &rejected);
		}
		tsk_candle_init(&merged);
		for (int p = PARTS - 1; p >= 0; p--)
			tsk_candle_merge(&merged, &parts[p]);
		tsk_candle_result(&merged, &b);
		if (!tc_same_summary(&a, &b))
			same = 0;
	}
	tc_check(same, "candle identical under 30 permutations and parallel splits");

	/* rollup of ten time buckets */
	tsk_candle_init(&rolled);
	for (int bucket = 0; bucket < 10; bucket++)
	{
		candle_state one;
		candle_summary c;

		tsk_candle_init(&one);
		for (int i = 0; i < N; i++)
			if (ts[i] / 6000000 == bucket)
				tsk_candle_add_trade(&one, ts[i], seq[i], price[i], qty[i], &rejected);
		if (tsk_candle_result(&one, &c))
			tc_check(tsk_candle_add_candle(&rolled, &c, &rejected) == CANDLE_OK, "rollup accepts candle");
	}
	tsk_candle_result(&rolled, &r);
	tc_check(r.open == a.open && r.close == a.close && r.high == a.high && r.low == a.low &&
			 r.trades == a.trades && r.open_time == a.open_time && r.close_time == a.close_time,
			 "rollup OHLC/trades/times equal direct aggregation");
	tc_check(fabs(r.volume - a.volume) <= 1e-12 * a.volume, "rollup volume");
	tc_check(fabs(r.vwap - a.vwap) <= 1e-12 * a.vwap, "rollup vwap");
}

/*
 * main
 *	  Runs every test; exit status 1 on any failure.
 */
int
main(int argc, char **argv)
{
	(void) argc;
	(void) argv;
	tc_exactsum_matches_integer_sum();
	tc_exactsum_cancellation();
	tc_exactsum_rejects();
	tc_exactsum_order_free();
	tc_candle_basics();
	tc_candle_order_free();
	printf("%d passed, %d failed\n", tc_passed, tc_failed);
	return tc_failed ? 1 : 0;
}
