/*
 * book_bench.c
 *	  order-book updates per second of the pure-C book (src/ingest/book.c)
 *	  against a baseline measured in the same run: the obvious structure, one
 *	  sorted array per side (binary search, memmove on insert and delete, best
 *	  level at index 0).
 *
 * Cases (the same xorshift sequence of updates for both structures; 1 in 8
 * is a delete):
 *   top10:  a book of 1,000 levels a side, its 10 best levels churn: what a
 *           live feed mostly does (4,000,000 updates);
 *   deep:   any of the 1,000 levels churns (4,000,000);
 *   deep5k: a book of 5,000 levels a side (the default cap), any churns
 *           (2,000,000).
 * Times are CPU time of the process (the machine is shared).
 * Prints "case updates ours_Mps baseline_Mps ratio"; exits 1 if the two
 * structures end with different books (a benchmark that checks its work).
 */
#include "ingest/book.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct
{
	uint64_t	px;
	uint64_t	qty;
} arr_level;

typedef struct
{
	arr_level  *lv[2];
	int			n[2];
} arr_book;

/*
 * arr_set
 *	  Sorted-array set: bids descending, asks ascending, best at 0.
 */
static void
arr_set(arr_book *b, int side, uint64_t px, uint64_t qty)
{
	arr_level  *a = b->lv[side];
	int			lo = 0,
				hi = b->n[side];

	while (lo < hi)
	{
		int			mid = (lo + hi) / 2;
		int			before = side == TB_BID ? a[mid].px > px : a[mid].px < px;

		if (a[mid].px == px)
		{
			lo = mid;
			break;
		}
		if (before)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < b->n[side] && a[lo].px == px)
	{
		if (qty == 0)
		{
			memmove(&a[lo], &a[lo + 1], sizeof(arr_level) * (size_t) (b->n[side] - lo - 1));
			b->n[side]--;
		}
		else
			a[lo].qty = qty;
		return;
	}
	if (qty == 0)
		return;
	memmove(&a[lo + 1], &a[lo], sizeof(arr_level) * (size_t) (b->n[side] - lo));
	a[lo].px = px;
	a[lo].qty = qty;
	b->n[side]++;
}

/*
 * rnd
 *	  xorshift64.
 */
static uint64_t
rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/*
 * now_s
 *	  CPU time of the process, in seconds.
 */
static double
now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
	return (double) t.tv_sec + (double) t.tv_nsec / 1e9;
}

/*
 * update
 *	  The i-th update of a case: side, price (cents), quantity.
 */
static void
update(uint64_t *rng, int window, int *side, uint64_t *px, uint64_t *qty)
{
	uint64_t	r = rnd(rng);
	int			lvl = (int) ((r >> 1) % (uint64_t) window);

	*side = (int) (r & 1);
	*px = *side == TB_BID ? 100000000 - 1 - (uint64_t) lvl : 100000000 + (uint64_t) lvl;
	*qty = (r >> 20) % 8 == 0 ? 0 : 1 + (r >> 24) % 1000;
}

/*
 * run
 *	  Run one case; 0 if both books agree at the end.
 */
static int
run(const char *name, int levels, int window, int n)
{
	tb_book		b;
	arr_book	a = {{malloc(sizeof(arr_level) * 16384), malloc(sizeof(arr_level) * 16384)}, {0, 0}};
	uint64_t	rng;
	double		t0,
				ours,
				base;
	int			bad = 0;

	tsk_tb_book_init(&b, 10000);
	for (int i = 0; i < levels; i++)
	{
		tsk_tb_book_set(&b, TB_BID, (tb_dec) {(uint64_t) (100000000 - 1 - i), 2}, (tb_dec) {100, 0}, NULL);
		tsk_tb_book_set(&b, TB_ASK, (tb_dec) {(uint64_t) (100000000 + i), 2}, (tb_dec) {100, 0}, NULL);
		arr_set(&a, TB_BID, (uint64_t) (100000000 - 1 - i), 100);
		arr_set(&a, TB_ASK, (uint64_t) (100000000 + i), 100);
	}
	rng = 88172645463325252ULL;
	t0 = now_s();
	for (int i = 0; i < n; i++)
	{
		int			side;
		uint64_t	px,
					qty;

		update(&rng, window, &side, &px, &qty);
		tsk_tb_book_set(&b, side, (tb_dec) {px, 2}, (tb_dec) {qty, 0}, NULL);
	}
	ours = now_s() - t0;
	rng = 88172645463325252ULL;
	t0 = now_s();
	for (int i = 0; i < n; i++)
	{
		int			side;
		uint64_t	px,
					qty;

		update(&rng, window, &side, &px, &qty);
		arr_set(&a, side, px, qty);
	}
	base = now_s() - t0;
	for (int s = 0; s < 2; s++)
	{
		tb_level   *lv = malloc(sizeof(tb_level) * 16384);
		int			got = tsk_tb_book_top(&b, s, 16384, lv);

		bad |= got != a.n[s];
		for (int i = 0; i < got && !bad; i++)
			bad |= lv[i].price.mant != a.lv[s][i].px || lv[i].qty.mant != a.lv[s][i].qty;
		free(lv);
	}
	printf("%-6s %9d %8.2f %8.2f %6.2f%s\n", name, n, n / ours / 1e6, n / base / 1e6, base / ours,
		   bad ? "  BOOKS DIFFER" : "");
	tsk_tb_book_free(&b);
	free(a.lv[0]);
	free(a.lv[1]);
	return bad;
}

/*
 * main
 *	  Run the three cases; exit 1 if any two books differ.
 */
int
main(void)
{
	int			bad = 0;

	printf("case     updates ours_M/s base_M/s  ratio (baseline time / ours)\n");
	bad |= run("top10", 1000, 10, 4000000);
	bad |= run("deep", 1000, 1000, 4000000);
	bad |= run("deep5k", 5000, 5000, 2000000);
	return bad;
}
