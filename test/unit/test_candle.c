/*
 * test_candle.c
 *	  Unit tests of the pure-C cores exactsum.c and candle.c, without a
 *	  server: exact sums against an independent exact computation (integer
 *	  arithmetic on values that are exact binary fractions), order and
 *	  grouping independence under random permutations and splits, the
 *	  canonical byte form of the sums (round trip, canonical, refusals),
 *	  rollups that equal direct aggregation bit for bit (time buckets, and
 *	  candles of the same trades split at random, merged through their byte
 *	  form as store_candles() does), and the error contract of the add
 *	  functions.
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
		a->open_time == b->open_time && a->close_time == b->close_time &&
		a->open_seq == b->open_seq && a->close_seq == b->close_seq;
}

/*
 * tc_same_sums
 *	  The sums fields of two summaries have the same bytes.
 */
static int
tc_same_sums(const candle_summary *a, const candle_summary *b)
{
	uint8_t		x[CANDLE_SUMS_MAX],
				y[CANDLE_SUMS_MAX];
	int			nx = tsk_candle_sums_encode(a, x),
				ny = tsk_candle_sums_encode(b, y);

	return nx == ny && memcmp(x, y, nx) == 0;
}

/*
 * tc_through_bytes
 *	  A summary as it comes back from SQL: the sums through their bytes.
 */
static candle_summary
tc_through_bytes(const candle_summary *c)
{
	candle_summary out = *c;
	uint8_t		bytes[CANDLE_SUMS_MAX];
	int			n = tsk_candle_sums_encode(c, bytes);

	memset(&out.volume_sum, 0xff, sizeof(out.volume_sum));
	memset(&out.turnover_sum, 0xff, sizeof(out.turnover_sum));
	out.has_sums = false;
	tc_check(tsk_candle_sums_decode(bytes, n, &out), "sums decode");
	return out;
}

/*
 * tc_exactsum_encoding
 *	  The canonical byte form: round trips, equal values give equal bytes
 *	  whatever the adding order, and malformed or non-canonical forms are
 *	  refused.
 */
static void
tc_exactsum_encoding(void)
{
	static const double values[] = {0.0, 1.0, -1.0, 0.006, -0.006, 1e-30, -3e20, 61712.6 * 0.119,
		ldexp(1.0, -160), -ldexp(1.0, -160), ldexp(1.0, 95), -ldexp(1.0, 95), 4294967296.0, -4294967296.0};
	int			n = (int) (sizeof(values) / sizeof(values[0]));
	int			ok = 1;

	for (int i = 0; i < n; i++)
		for (int j = 0; j < n; j++)
		{
			xsum		a, b, c;
			uint8_t		ba[XSUM_ENCODED_MAX], bb[XSUM_ENCODED_MAX];
			int			la, lb;

			tsk_xsum_init(&a);
			tsk_xsum_add(&a, values[i]);
			tsk_xsum_add(&a, values[j]);
			tsk_xsum_init(&b);
			tsk_xsum_add(&b, values[j]);
			tsk_xsum_add(&b, values[i]);
			tsk_xsum_add(&b, 1.0);
			tsk_xsum_add(&b, -1.0);
			la = tsk_xsum_encode(&a, ba);
			lb = tsk_xsum_encode(&b, bb);
			if (la != lb || memcmp(ba, bb, la) != 0)
				ok = 0;
			if (tsk_xsum_decode(ba, la, &c) != la || tsk_xsum_value(&c) != tsk_xsum_value(&a))
				ok = 0;
			/* a decoded sum keeps adding exactly */
			tsk_xsum_add(&c, values[i]);
			tsk_xsum_add(&a, values[i]);
			if (tsk_xsum_value(&c) != tsk_xsum_value(&a))
				ok = 0;
		}
	tc_check(ok, "xsum encoding round trips and is canonical");

	{
		static const uint8_t zero[] = {0, 0};
		static const uint8_t bad_low[] = {1, 0};	/* zero must be 0, 0 */
		static const uint8_t too_long[] = {9, 2, 0, 0, 0, 1, 0, 0, 0, 1};
		static const uint8_t low_zero[] = {0, 1, 0, 0, 0, 0};	/* lowest word 0 */
		static const uint8_t sign_pad[] = {0, 2, 0, 0, 0, 0, 0, 0, 0, 1};	/* word order: low word first */
		static const uint8_t redundant[] = {0, 2, 0, 0, 0, 1, 0, 0, 0, 0};
		static const uint8_t huge[] = {9, 1, 0x40, 0, 0, 0};
		static const uint8_t short_words[] = {0, 2, 0, 0, 0, 1};
		xsum		x;

		tc_check(tsk_xsum_decode(zero, 2, &x) == 2 && tsk_xsum_value(&x) == 0.0, "zero decodes");
		tc_check(tsk_xsum_decode(bad_low, 2, &x) == -1, "zero with an offset refused");
		tc_check(tsk_xsum_decode(too_long, sizeof(too_long), &x) == -1, "words beyond the top refused");
		tc_check(tsk_xsum_decode(low_zero, sizeof(low_zero), &x) == -1, "zero lowest word refused");
		tc_check(tsk_xsum_decode(sign_pad, sizeof(sign_pad), &x) == -1, "zero lowest word refused (2)");
		tc_check(tsk_xsum_decode(redundant, sizeof(redundant), &x) == -1, "redundant sign word refused");
		tc_check(tsk_xsum_decode(huge, sizeof(huge), &x) == -1, "2^158 refused");
		tc_check(tsk_xsum_decode(short_words, sizeof(short_words), &x) == -1, "truncated bytes refused");
		tc_check(tsk_xsum_decode(zero, 1, &x) == -1, "one byte refused");
	}
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
		{
			c = tc_through_bytes(&c);
			tc_check(tsk_candle_add_candle(&rolled, &c, &rejected) == CANDLE_OK, "rollup accepts candle");
		}
	}
	tsk_candle_result(&rolled, &r);
	tc_check(tc_same_summary(&r, &a) && tc_same_sums(&r, &a),
			 "rollup of time buckets equals direct aggregation bit for bit");

	/*
	 * Rollup of candles of the same trades split at random (the ingest
	 * merge: a stored candle plus the candle of a flush), the candles
	 * passing through their byte form, merged two at a time in random
	 * order: equal to direct aggregation in every field, open and close
	 * decided by seq on tied timestamps.
	 */
	same = 1;
	for (int round = 0; round < 30; round++)
	{
		candle_summary part[PARTS];
		int			have[PARTS] = {0};
		candle_state acc;

		for (int p = 0; p < PARTS; p++)
			tsk_candle_init(&parts[p]);
		for (int i = 0; i < N; i++)
			tsk_candle_add_trade(&parts[tc_next() % PARTS], ts[i], seq[i], price[i], qty[i], &rejected);
		for (int p = 0; p < PARTS; p++)
			if ((have[p] = tsk_candle_result(&parts[p], &part[p])))
				part[p] = tc_through_bytes(&part[p]);
		tsk_candle_init(&acc);
		for (int k = 0; k < PARTS; k++)
		{
			int			p = (k + round) % PARTS;
			candle_state step;
			candle_summary stored;

			if (!have[p])
				continue;
			/* stored = rollup(stored, part) as store_candles() does it */
			tsk_candle_init(&step);
			if (tsk_candle_result(&acc, &stored))
			{
				stored = tc_through_bytes(&stored);
				tsk_candle_add_candle(&step, &stored, &rejected);
			}
			tsk_candle_add_candle(&step, &part[p], &rejected);
			acc = step;
		}
		tsk_candle_result(&acc, &b);
		if (!tc_same_summary(&a, &b) || !tc_same_sums(&a, &b))
			same = 0;
	}
	tc_check(same, "stored-candle merges of random splits equal direct aggregation bit for bit");

	/* a candle whose sums do not give its volume is refused */
	{
		candle_summary c = tc_through_bytes(&a);
		candle_state st;

		c.volume = nextafter(c.volume, 0.0);
		tsk_candle_init(&st);
		tc_check(tsk_candle_add_candle(&st, &c, &rejected) == CANDLE_BAD_SUMS, "stale sums refused");
		c = tc_through_bytes(&a);
		c.has_sums = false;
		tc_check(tsk_candle_add_candle(&st, &c, &rejected) == CANDLE_OK, "a candle without sums is taken");
		tsk_candle_result(&st, &b);
		tc_check(b.volume == a.volume && fabs(b.vwap - a.vwap) <= 1e-12 * a.vwap,
				 "a candle without sums keeps its volume and vwap");
	}
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
	tc_exactsum_encoding();
	tc_candle_basics();
	tc_candle_order_free();
	printf("%d passed, %d failed\n", tc_passed, tc_failed);
	return tc_failed ? 1 : 0;
}
