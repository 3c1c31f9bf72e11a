/*
 * fuzz_book.c
 *	  libFuzzer target for the order-book structure (src/ingest/book.c) against
 *	  a reference kept here (sorted arrays with the same cap rule, linear
 *	  search: nothing shared with the AVL code).
 *
 * Input: byte 0 = the cap a side (1..64); then 5-byte operations:
 *   op & 7 = 0..4 set a level: side = op >> 3 & 1, price mantissa = the
 *            next two bytes (0 = invalid price), written with op >> 4 & 3
 *            extra decimals (one level, several spellings), quantity =
 *            byte 4 with byte 3 & 7 decimals (0 = delete);
 *   5        truncate to byte 1 & 31 levels;
 *   6        clear;
 *   7        compare the first byte 1 & 15 levels, the best levels and the
 *            checksum's inputs with the reference.
 * After every operation the book must pass tsk_tb_book_check; at the end
 * both sides must equal the reference exactly.
 */
#include "ingest/book.h"

#include <stdlib.h>
#include <string.h>

typedef struct
{
	tb_level	lv[2][65];
	int			n[2];
} tb_fuzz_ref;

/*
 * tb_fuzz_cmp
 *	  a < b exactly, via mant * 10^(other's dec)
 */
static int
tb_fuzz_cmp(tb_dec a, tb_dec b)
{
	unsigned __int128 x = a.mant,
				y = b.mant;

	for (int i = 0; i < b.dec; i++)
		x *= 10;
	for (int i = 0; i < a.dec; i++)
		y *= 10;
	return x < y ? -1 : x > y;
}

/*
 * tb_fuzz_set
 *	  The reference's set under book.h's cap rule.
 */
static void
tb_fuzz_set(tb_fuzz_ref *r, int cap, int side, tb_dec p, tb_dec q)
{
	int			i = 0,
				n = r->n[side];

	while (i < n)
	{
		int			c = tb_fuzz_cmp(r->lv[side][i].price, p);

		if (c == 0 || (side == TB_ASK ? c > 0 : c < 0))
			break;
		i++;
	}
	if (i < n && tb_fuzz_cmp(r->lv[side][i].price, p) == 0)
	{
		if (q.mant == 0)
		{
			memmove(&r->lv[side][i], &r->lv[side][i + 1], sizeof(tb_level) * (size_t) (n - i - 1));
			r->n[side]--;
		}
		else
			r->lv[side][i] = (tb_level) {p, q};
		return;
	}
	if (q.mant == 0)
		return;
	if (n >= cap)
	{
		if (i >= n)
			return;
		n = --r->n[side];
	}
	memmove(&r->lv[side][i + 1], &r->lv[side][i], sizeof(tb_level) * (size_t) (n - i));
	r->lv[side][i] = (tb_level) {p, q};
	r->n[side]++;
}

/*
 * tb_fuzz_compare
 *	  Abort unless the first k levels of each side equal the reference.
 */
static void
tb_fuzz_compare(const tb_book *b, const tb_fuzz_ref *r, int k)
{
	tb_level	lv[65];

	for (int s = 0; s < 2; s++)
	{
		int			want = k < 0 || k > r->n[s] ? r->n[s] : k;
		int			got = tsk_tb_book_top(b, s, want, lv);

		if (got != want || (k < 0 && tsk_tb_book_count(b, s) != r->n[s]))
			abort();
		for (int i = 0; i < want; i++)
			if (memcmp(&lv[i].price, &r->lv[s][i].price, sizeof(uint64_t)) != 0 ||
				lv[i].price.dec != r->lv[s][i].price.dec || lv[i].qty.mant != r->lv[s][i].qty.mant ||
				lv[i].qty.dec != r->lv[s][i].qty.dec)
				abort();
		if (r->n[s] > 0)
		{
			tb_level	best;

			if (!tsk_tb_book_best(b, s, &best) || best.price.mant != r->lv[s][0].price.mant)
				abort();
		}
	}
}

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/*
 * LLVMFuzzerTestOneInput
 *	  libFuzzer entry point.
 */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	tb_book		b;
	tb_fuzz_ref r;
	int			cap;

	if (size < 1)
		return 0;
	cap = 1 + (data[0] & 63);
	tsk_tb_book_init(&b, cap);
	memset(&r, 0, sizeof r);
	for (size_t pos = 1; pos + 5 <= size; pos += 5)
	{
		const uint8_t *o = data + pos;
		int			op = o[0] & 7;

		if (op <= 4)
		{
			int			side = (o[0] >> 3) & 1,
						extra = (o[0] >> 4) & 3;
			tb_dec		p = {(uint64_t) (o[1] | (o[2] << 8)), (uint8_t) extra},
						q = {o[4], (uint8_t) (o[3] & 7)};
			tb_level	ev;
			tb_set		rc;

			for (int i = 0; i < extra; i++)
				p.mant *= 10;
			rc = tsk_tb_book_set(&b, side, p, q, &ev);
			if (p.mant == 0)
			{
				if (rc != TB_SET_INVALID)
					abort();
			}
			else
				tb_fuzz_set(&r, cap, side, p, q);
		}
		else if (op == 5)
		{
			int			depth = o[1] & 31;

			tsk_tb_book_truncate(&b, depth);
			for (int s = 0; s < 2; s++)
				if (r.n[s] > depth)
					r.n[s] = depth;
		}
		else if (op == 6)
		{
			tsk_tb_book_clear(&b);
			r.n[0] = r.n[1] = 0;
		}
		else
		{
			tb_fuzz_compare(&b, &r, o[1] & 15);
			(void) tsk_tb_kraken_checksum(&b);
		}
		if (tsk_tb_book_check(&b) != NULL)
			abort();
	}
	tb_fuzz_compare(&b, &r, -1);
	tsk_tb_book_free(&b);
	return 0;
}
