/*
 * test_book.c
 *	  unit tests for the pure-C order book (src/ingest/book*.c), no server
 *	  needed.
 *
 * Usage: test_book SHARED_DIR   (/work/shared or /work/shared/data)
 *
 * 1. Decimals: parsing (accepted and refused texts), formatting round trip,
 *    correct rounding to double (against strtod), exact ordering.
 * 2. The book against a reference (sorted arrays, test_book.h): 200,000
 *    random operations with a small cap (evictions and refusals), every
 *    invariant checked after each one, whole books compared; truncation.
 * 3. CRC-32 of the standard check string; OFI on a hand-made sequence of
 *    best levels, each e_n worked out by hand from the definition.
 * 4. Decoder input: every prefix of sample frames of each source, garbage,
 *    wrong types, overflow; the invariants of book_decode.h on each result.
 * 5. (test_book_feeds.c) the real captures: Kraken checksums, Coinbase
 *    level2 reconstruction, Binance diffs with a derived REST snapshot and
 *    a dropped diff.
 * Prints book updates per second for a 10-level churn (no assertion on
 * it), and ends with "N passed, N failed"; exit status 1 on any failure.
 */
#define _GNU_SOURCE
#include "test_book.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int			n_pass, n_fail;

/* ---- shared helpers ---------------------------------------------------- */

/*
 * book_load_lines
 *	  Read a file (gunzipped if *.gz) and split it into NUL-terminated lines.
 */
int
book_load_lines(const char *path, book_lines *L)
{
	char		cmd[4200];
	FILE	   *f;
	size_t		cap = 1 << 20,
				used = 0,
				k;
	int			gz = strlen(path) > 3 && strcmp(path + strlen(path) - 3, ".gz") == 0;

	memset(L, 0, sizeof *L);
	snprintf(cmd, sizeof cmd, "gzip -dc '%s'", path);
	f = gz ? popen(cmd, "r") : fopen(path, "rb");
	if (f == NULL)
		return -1;
	L->buf = malloc(cap + 1);
	while ((k = fread(L->buf + used, 1, cap - used, f)) > 0)
		if ((used += k) == cap)
			L->buf = realloc(L->buf, (cap *= 2) + 1);
	if (gz)
		pclose(f);
	else
		fclose(f);
	L->buf[used] = '\0';
	for (size_t i = 0; i < used; i++)
		L->n += L->buf[i] == '\n';
	L->line = calloc((size_t) L->n + 1, sizeof *L->line);
	L->len = calloc((size_t) L->n + 1, sizeof *L->len);
	L->n = 0;
	for (char *p = L->buf; p < L->buf + used;)
	{
		char	   *nl = memchr(p, '\n', (size_t) (L->buf + used - p));

		if (nl == NULL)
			nl = L->buf + used;
		*nl = '\0';
		if (nl > p)
		{
			L->line[L->n] = p;
			L->len[L->n++] = (size_t) (nl - p);
		}
		p = nl + 1;
	}
	return 0;
}

/*
 * book_free_lines
 *	  Free what book_load_lines allocated.
 */
void
book_free_lines(book_lines *L)
{
	free(L->buf);
	free(L->line);
	free(L->len);
}

/*
 * ref_cmp
 *	  Exact comparison of two decimals by cross-multiplication: a.mant *
 *	  10^b.dec against b.mant * 10^a.dec (< 10^37 in 128 bits).
 */
static int
ref_cmp(tb_dec a, tb_dec b)
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
 * ref_find
 *	  Position of price in side (found: *hit = 1), by binary search over the
 *	  side's order (asks ascending, bids descending).
 */
static int
ref_find(const ref_book *r, int side, tb_dec price, int *hit)
{
	int			lo = 0,
				hi = r->n[side];

	while (lo < hi)
	{
		int			mid = (lo + hi) / 2;
		int			c = ref_cmp(r->lv[side][mid].price, price);

		if (c == 0)
		{
			*hit = 1;
			return mid;
		}
		if (side == TB_ASK ? c < 0 : c > 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*hit = 0;
	return lo;
}

/*
 * ref_set
 *	  The reference's set, with book.h's cap rule when r->cap[side] > 0.
 */
void
ref_set(ref_book *r, int side, tb_dec price, tb_dec qty)
{
	int			hit,
				i = ref_find(r, side, price, &hit);

	if (qty.mant == 0)
	{
		if (hit)
		{
			memmove(&r->lv[side][i], &r->lv[side][i + 1], sizeof(tb_level) * (size_t) (r->n[side] - i - 1));
			r->n[side]--;
		}
		return;
	}
	if (hit)
	{
		r->lv[side][i].price = price;
		r->lv[side][i].qty = qty;
		return;
	}
	if (r->cap[side] > 0 && r->n[side] >= r->cap[side])
	{
		if (i >= r->n[side])
			return;				/* worse than the worst: refused */
		r->n[side]--;			/* evict the worst */
	}
	r->lv[side] = realloc(r->lv[side], sizeof(tb_level) * (size_t) (r->n[side] + 1));
	memmove(&r->lv[side][i + 1], &r->lv[side][i], sizeof(tb_level) * (size_t) (r->n[side] - i));
	r->lv[side][i].price = price;
	r->lv[side][i].qty = qty;
	r->n[side]++;
}

/*
 * ref_clear
 *	  Empty the reference.
 */
void
ref_clear(ref_book *r)
{
	r->n[0] = r->n[1] = 0;
}

/*
 * ref_free
 *	  Free the reference.
 */
void
ref_free(ref_book *r)
{
	free(r->lv[0]);
	free(r->lv[1]);
	memset(r, 0, sizeof *r);
}

/*
 * ref_truncate
 *	  Keep depth levels a side.
 */
void
ref_truncate(ref_book *r, int depth)
{
	for (int s = 0; s < 2; s++)
		if (r->n[s] > depth)
			r->n[s] = depth;
}

/*
 * ref_equal
 *	  Compare the first k levels (all if k < 0) of both sides, exactly.
 */
int
ref_equal(const ref_book *r, const tb_book *b, int k, char *why, size_t whysz)
{
	for (int s = 0; s < 2; s++)
	{
		int			want = k < 0 || k > r->n[s] ? r->n[s] : k;
		int			have = tsk_tb_book_count(b, s);
		tb_level   *lv = malloc(sizeof(tb_level) * (size_t) (have + 1));
		int			got = tsk_tb_book_top(b, s, have, lv);

		if ((k < 0 && have != r->n[s]) || got < want)
		{
			snprintf(why, whysz, "%s: %d levels, reference %d", s ? "asks" : "bids", have, r->n[s]);
			free(lv);
			return 0;
		}
		for (int i = 0; i < want; i++)
			if (lv[i].price.mant != r->lv[s][i].price.mant || lv[i].price.dec != r->lv[s][i].price.dec ||
				lv[i].qty.mant != r->lv[s][i].qty.mant || lv[i].qty.dec != r->lv[s][i].qty.dec)
			{
				char		p1[TB_DEC_TEXT],
							p2[TB_DEC_TEXT],
							q1[TB_DEC_TEXT],
							q2[TB_DEC_TEXT];

				tsk_tb_dec_format(lv[i].price, p1);
				tsk_tb_dec_format(lv[i].qty, q1);
				tsk_tb_dec_format(r->lv[s][i].price, p2);
				tsk_tb_dec_format(r->lv[s][i].qty, q2);
				snprintf(why, whysz, "%s level %d: %s x %s, reference %s x %s",
						 s ? "ask" : "bid", i, p1, q1, p2, q2);
				free(lv);
				return 0;
			}
		free(lv);
	}
	return 1;
}

/* ---- 1. decimals ------------------------------------------------------- */

/*
 * P
 *	  Parse a C string.
 */
static int
P(const char *s, tb_dec *d)
{
	return tsk_tb_dec_parse(s, strlen(s), d);
}

/*
 * test_decimals
 *	  Decimal parsing, formatting, rounding and order.
 */
static void
test_decimals(void)
{
	static const char *good[] = {"0", "0.00000000", "354.11000000", ".5", "5.", "0.000000000000000001",
	"9999999999999999999", "000000000000000000000000000123.4500", "1234567890.123456789"};
	static const char *bad[] = {"", ".", "-1", "+1", "1e5", " 1", "1 ", "1..2", "1.2.3", "0x10",
		"10000000000000000000", "0.0000000000000000001", "12345678901.123456789", "nan", "1,5"};
	tb_dec		d,
				e;
	char		buf[TB_DEC_TEXT];
	uint64_t	rng = 88172645463325252ULL;

	for (size_t i = 0; i < sizeof good / sizeof *good; i++)
		CHECK(P(good[i], &d) == 0, "parse \"%s\"", good[i]);
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
		CHECK(P(bad[i], &d) != 0, "refuse \"%s\"", bad[i]);
	P("0.00756500", &d);
	CHECK(d.mant == 756500 && d.dec == 8, "0.00756500 -> %llu/%d", (unsigned long long) d.mant, d.dec);
	tsk_tb_dec_format(d, buf);
	CHECK(strcmp(buf, "0.00756500") == 0, "format %s", buf);
	P("61737.63000000", &d);
	tsk_tb_dec_format(d, buf);
	CHECK(strcmp(buf, "61737.63000000") == 0, "format %s", buf);
	P("354.1", &d);
	P("354.10000000", &e);
	CHECK(tsk_tb_dec_cmp(d, e) == 0 && tsk_tb_dec_key(d) == tsk_tb_dec_key(e), "354.1 == 354.10000000");
	P("354.09999999", &e);
	CHECK(tsk_tb_dec_cmp(e, d) < 0, "354.09999999 < 354.1");
	/* doubles: correctly rounded, like strtod, on random decimals */
	for (int i = 0; i < 100000; i++)
	{
		char		text[64];
		int			dec;
		double		want;

		rng ^= rng << 13;
		rng ^= rng >> 7;
		rng ^= rng << 17;
		d.mant = rng % (i % 2 ? 10000000000000000000ULL : 100000000000ULL);
		dec = (int) ((rng >> 40) % 19);
		d.dec = (uint8_t) dec;
		tsk_tb_dec_format(d, text);
		want = strtod(text, NULL);
		if (tsk_tb_dec_double(d) != want)
		{
			CHECK(0, "double of %s: %.17g, strtod %.17g", text, tsk_tb_dec_double(d), want);
			break;
		}
		CHECK(tsk_tb_dec_parse(text, strlen(text), &e) == 0 && e.mant == d.mant && e.dec == d.dec,
			  "round trip %s", text);
	}
}

/* ---- 2. the book against the reference --------------------------------- */

/*
 * rnd
 *	  xorshift64
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
 * test_book_random
 *	  Random operations, cap 40, compared with the reference.
 */
static void
test_book_random(void)
{
	tb_book		b;
	ref_book	r;

	memset(&r, 0, sizeof r);
	uint64_t	rng = 0x9e3779b97f4a7c15ULL;
	char		why[200];
	int			bad = 0,
				evicted = 0,
				refused = 0;
	const char *inv;

	tsk_tb_book_init(&b, 40);
	r.cap[0] = r.cap[1] = 40;
	for (int i = 0; i < 200000 && !bad; i++)
	{
		int			side = (int) (rnd(&rng) & 1);
		tb_dec		price,
					qty;
		tb_level	ev;
		tb_set		rc;
		int			dec = (int) (rnd(&rng) % 3);

		/* prices 0.01 .. 1.50 written with 2..4 decimals: one level, several spellings */
		price.mant = (1 + rnd(&rng) % 150);
		for (int k = 0; k < dec; k++)
			price.mant *= 10;
		price.dec = (uint8_t) (2 + dec);
		qty.mant = rnd(&rng) % 4 == 0 ? 0 : 1 + rnd(&rng) % 1000;
		qty.dec = (uint8_t) (rnd(&rng) % 9);
		rc = tsk_tb_book_set(&b, side, price, qty, &ev);
		ref_set(&r, side, price, qty);
		evicted += rc == TB_SET_EVICTED;
		refused += rc == TB_SET_REFUSED;
		if ((inv = tsk_tb_book_check(&b)) != NULL)
		{
			CHECK(0, "op %d: invariant: %s", i, inv);
			bad = 1;
		}
		else if (i % 97 == 0 && !ref_equal(&r, &b, -1, why, sizeof why))
		{
			CHECK(0, "op %d: %s", i, why);
			bad = 1;
		}
	}
	CHECK(!bad && ref_equal(&r, &b, -1, why, sizeof why), "200000 random operations equal the reference");
	CHECK(evicted > 100 && refused > 100, "cap exercised: %d evicted, %d refused", evicted, refused);
	CHECK(tsk_tb_book_count(&b, TB_BID) <= 40 && tsk_tb_book_count(&b, TB_ASK) <= 40, "cap held");
	tsk_tb_book_truncate(&b, 7);
	ref_truncate(&r, 7);
	CHECK(ref_equal(&r, &b, -1, why, sizeof why) && tsk_tb_book_check(&b) == NULL, "truncate to 7");
	tsk_tb_book_clear(&b);
	CHECK(tsk_tb_book_count(&b, 0) == 0 && tsk_tb_book_count(&b, 1) == 0 && tsk_tb_book_check(&b) == NULL,
		  "clear");
	{
		tb_dec		p = {0, 2},
					q = {5, 0};

		CHECK(tsk_tb_book_set(&b, TB_BID, p, q, NULL) == TB_SET_INVALID, "price 0 refused");
		p.mant = 5;
		CHECK(tsk_tb_book_set(&b, 7, p, q, NULL) == TB_SET_INVALID, "bad side refused");
		q.mant = 0;
		CHECK(tsk_tb_book_set(&b, TB_ASK, p, q, NULL) == TB_SET_ABSENT, "delete of a missing level");
	}
	tsk_tb_book_free(&b);
	ref_free(&r);
}

/*
 * test_book_basics
 *	  Best levels, crossing, get.
 */
static void
test_book_basics(void)
{
	tb_book		b;
	tb_dec		p,
				q;
	tb_level	lv[3];

	tsk_tb_book_init(&b, 1000);
	CHECK(!tsk_tb_book_best(&b, TB_BID, lv), "empty book has no best bid");
	P("100.5", &p);
	P("2", &q);
	tsk_tb_book_set(&b, TB_BID, p, q, NULL);
	P("100.25", &p);
	tsk_tb_book_set(&b, TB_BID, p, q, NULL);
	P("101", &p);
	tsk_tb_book_set(&b, TB_ASK, p, q, NULL);
	P("100.75", &p);
	P("3.5", &q);
	tsk_tb_book_set(&b, TB_ASK, p, q, NULL);
	CHECK(tsk_tb_book_top(&b, TB_BID, 3, lv) == 2 && lv[0].price.mant == 1005 && lv[1].price.mant == 10025,
		  "bids best first");
	CHECK(tsk_tb_book_top(&b, TB_ASK, 3, lv) == 2 && lv[0].price.mant == 10075 && lv[1].price.mant == 101,
		  "asks best first");
	CHECK(!tsk_tb_book_crossed(&b), "not crossed");
	P("100.75", &p);
	CHECK(tsk_tb_book_get(&b, TB_ASK, p, &q) && q.mant == 35 && q.dec == 1, "get 100.75");
	P("100.80", &p);
	P("1", &q);
	tsk_tb_book_set(&b, TB_BID, p, q, NULL);
	CHECK(tsk_tb_book_crossed(&b), "crossed");
	tsk_tb_book_free(&b);
}

/* ---- 3. checksum and OFI ----------------------------------------------- */

/*
 * book_best
 *	  Set the book's only levels to the given best bid/ask (NULL = empty side).
 */
static void
book_best(tb_book *b, const char *bp, const char *bq, const char *ap, const char *aq)
{
	tb_dec		p,
				q;

	tsk_tb_book_clear(b);
	if (bp)
	{
		P(bp, &p);
		P(bq, &q);
		tsk_tb_book_set(b, TB_BID, p, q, NULL);
		P("1", &p);				/* a deeper level that must not matter */
		tsk_tb_book_set(b, TB_BID, p, q, NULL);
	}
	if (ap)
	{
		P(ap, &p);
		P(aq, &q);
		tsk_tb_book_set(b, TB_ASK, p, q, NULL);
		P("1000", &p);
		tsk_tb_book_set(b, TB_ASK, p, q, NULL);
	}
}

/*
 * test_checksum_ofi
 *	  CRC-32 check value; OFI by hand.
 */
static void
test_checksum_ofi(void)
{
	tb_book		b;
	tb_ofi		o;
	double		e[6],
				sum = 0;
	/* e_n worked out by hand from eq. (2) of Cont, Kukanov, Stoikov (2014) */
	static const double want[6] = {
		0,						/* first observation */
		7 - 5 - 4 + 4,			/* bid 100: 5 -> 7; ask 101 x 4 unchanged */
		1 - 3 + 4,				/* bid up to 100.5 x 1; ask 101: 4 -> 3 */
		-1 - 2,					/* bid down to 100 x 6: -prev 1; ask down to 100.8 x 2: -2 */
		-5 + 2,					/* bid side empty: 0; ask 100.8: 2 -> 5 */
		5						/* bid back (prev empty): 0; ask up to 101.2: +prev 5 */
	};

	CHECK(tsk_tb_crc32(0, "123456789", 9) == 0xCBF43926u, "crc32 check value");
	CHECK(tsk_tb_crc32(0, "", 0) == 0, "crc32 of nothing");
	tsk_tb_book_init(&b, 100);
	tsk_tb_ofi_reset(&o);
	book_best(&b, "100", "5", "101", "4");
	e[0] = tsk_tb_ofi_step(&o, &b);
	book_best(&b, "100", "7", "101", "4");
	e[1] = tsk_tb_ofi_step(&o, &b);
	book_best(&b, "100.5", "1", "101", "3");
	e[2] = tsk_tb_ofi_step(&o, &b);
	book_best(&b, "100", "6", "100.8", "2");
	e[3] = tsk_tb_ofi_step(&o, &b);
	book_best(&b, NULL, NULL, "100.8", "5");
	e[4] = tsk_tb_ofi_step(&o, &b);
	book_best(&b, "99", "3", "101.2", "1");
	e[5] = tsk_tb_ofi_step(&o, &b);
	for (int i = 0; i < 6; i++)
	{
		CHECK(e[i] == want[i], "OFI e_%d = %g, by hand %g", i, e[i], want[i]);
		sum += e[i];
	}
	CHECK(sum == 3, "OFI over the sequence = %g, by hand 3", sum);
	tsk_tb_ofi_reset(&o);
	CHECK(tsk_tb_ofi_step(&o, &b) == 0, "no e_n across a reset");
	tsk_tb_book_free(&b);
}

/* ---- 4. decoder input -------------------------------------------------- */

/*
 * decode_ok
 *	  Abort-free check of book_decode.h's promises on one result.
 */
static int
decode_ok(tb_kind k, const tb_msg *m, const tb_change *out, int cap)
{
	int			next = 0;

	if (k != m->kind || (unsigned) k > TB_OVERFLOW || !memchr(m->error, 0, sizeof m->error) ||
		!memchr(m->detail, 0, sizeof m->detail) || (k == TB_ERROR && !m->error[0]) ||
		(k == TB_OVERFLOW && m->needed <= cap) || m->nchanges > cap || m->ngroups > TB_MAX_GROUPS)
		return 0;
	for (const char *p = m->error; *p; p++)
		if (*p < 0x20 || *p > 0x7e)
			return 0;
	if (k != TB_BOOK)
		return 1;
	for (int g = 0; g < m->ngroups; g++)
	{
		if (m->groups[g].first != next || m->groups[g].n < 0 ||
			!memchr(m->groups[g].instrument, 0, TB_INSTRUMENT_MAX))
			return 0;
		next += m->groups[g].n;
	}
	if (next != m->nchanges)
		return 0;
	for (int i = 0; i < m->nchanges; i++)
		if (out[i].side > 1 || out[i].group >= m->ngroups || out[i].price.mant == 0 ||
			out[i].price.dec > TB_MAX_DEC || out[i].qty.dec > TB_MAX_DEC)
			return 0;
	return 1;
}

/*
 * test_decode_input
 *	  Prefixes, garbage, wrong types, overflow.
 */
static void
test_decode_input(void)
{
	static const struct
	{
		tb_source	src;
		const char *frame;
		tb_kind		kind;
		int			n;
	}			cases[] = {
		{TB_SRC_BINANCE, "{\"stream\":\"btcusdt@depth@100ms\",\"data\":{\"e\":\"depthUpdate\",\"E\":1723161255308,\"s\":\"BTCUSDT\",\"U\":50093239203,\"u\":50093239207,\"b\":[[\"55653.87000000\",\"0.00000000\"]],\"a\":[[\"61838.04000000\",\"0.32332000\"],[\"61844.30000000\",\"0.40163000\"]]}}", TB_BOOK, 3},
		{TB_SRC_BINANCE, "{\"e\":\"depthUpdate\",\"E\":1,\"T\":1,\"s\":\"SUSHIUSDT\",\"U\":10,\"u\":12,\"pu\":9,\"b\":[[\"7.5040\",\"813\"]],\"a\":[]}", TB_BOOK, 1},
		{TB_SRC_BINANCE, "{\"stream\":\"btcusdt@trade\",\"data\":{\"e\":\"trade\",\"s\":\"BTCUSDT\"}}", TB_CONTROL, 0},
		{TB_SRC_BINANCE, "{\"result\":null,\"id\":1}", TB_CONTROL, 0},
		{TB_SRC_BINANCE, "{\"code\":-1121,\"msg\":\"Invalid symbol.\"}", TB_ERROR, 0},
		{TB_SRC_BINANCE, "{\"e\":\"depthUpdate\",\"s\":\"X\",\"U\":5,\"u\":4,\"b\":[],\"a\":[]}", TB_ERROR, 0},
		{TB_SRC_BINANCE, "{\"e\":\"depthUpdate\",\"s\":\"X\",\"U\":1,\"u\":4,\"b\":[[\"-1\",\"1\"]],\"a\":[]}", TB_ERROR, 0},
		{TB_SRC_BINANCE, "{\"e\":\"depthUpdate\",\"s\":\"X\",\"U\":1,\"u\":4,\"b\":[[\"1\",1.5]],\"a\":[]}", TB_ERROR, 0},
		{TB_SRC_BINANCE_REST, "{\"lastUpdateId\":1027024,\"bids\":[[\"4.00000000\",\"431.00000000\"]],\"asks\":[[\"4.00000200\",\"12.00000000\"]]}", TB_BOOK, 2},
		{TB_SRC_BINANCE_REST, "{\"lastUpdateId\":\"x\",\"bids\":[],\"asks\":[]}", TB_ERROR, 0},
		{TB_SRC_COINBASE, "{\"type\":\"l2update\",\"product_id\":\"SKL-BTC\",\"changes\":[[\"sell\",\"0.00001306\",\"660.5\"],[\"buy\",\"0.00001300\",\"0\"]],\"time\":\"2021-04-17T16:43:37.075687Z\"}", TB_BOOK, 2},
		{TB_SRC_COINBASE, "{\"type\":\"snapshot\",\"product_id\":\"BAND-GBP\",\"asks\":[[\"14.8024\",\"12.77\"]],\"bids\":[[\"14.70\",\"1\"],[\"14.60\",\"2\"]]}", TB_BOOK, 3},
		{TB_SRC_COINBASE, "{\"type\":\"l2update\",\"product_id\":\"SKL-BTC\",\"changes\":[[\"hold\",\"1\",\"1\"]]}", TB_ERROR, 0},
		{TB_SRC_COINBASE, "{\"type\":\"match\",\"product_id\":\"SKL-BTC\"}", TB_CONTROL, 0},
		{TB_SRC_COINBASE, "{\"type\":\"error\",\"message\":\"Failed to subscribe\",\"reason\":\"bad product\"}", TB_ERROR, 0},
		{TB_SRC_COINBASE, "{\"channel\":\"l2_data\",\"sequence_num\":14,\"events\":[{\"type\":\"update\",\"product_id\":\"BTC-USD\",\"updates\":[{\"side\":\"bid\",\"event_time\":\"2026-08-09T21:05:48.210883Z\",\"price_level\":\"65000.01\",\"new_quantity\":\"0.5\"}]},{\"type\":\"snapshot\",\"product_id\":\"ETH-USD\",\"updates\":[{\"side\":\"offer\",\"event_time\":\"2026-08-09T21:05:48Z\",\"price_level\":\"3000\",\"new_quantity\":\"2\"}]}]}", TB_BOOK, 2},
		{TB_SRC_COINBASE, "{\"channel\":\"market_trades\",\"events\":[]}", TB_CONTROL, 0},
		{TB_SRC_KRAKEN, "[992,{\"b\":[[\"354.15000000\",\"5.00000000\",\"1618678133.365913\"]],\"c\":\"2583817756\"},\"book-1000\",\"XMR/USD\"]", TB_BOOK, 1},
		{TB_SRC_KRAKEN, "[992,{\"a\":[[\"354.8\",\"1.4\",\"1618678133.1\",\"r\"]]},{\"b\":[[\"354.1\",\"0.00000000\",\"1618678133.2\"]],\"c\":\"12\"},\"book-10\",\"XMR/USD\"]", TB_BOOK, 2},
		{TB_SRC_KRAKEN, "[992,{\"as\":[[\"354.8\",\"1.4\",\"1618678133.1\"]],\"bs\":[]},\"book-10\",\"XMR/USD\"]", TB_BOOK, 1},
		{TB_SRC_KRAKEN, "[993,[[\"354.11\",\"0.89\",\"1618678142.557535\",\"s\",\"l\",\"\"]],\"trade\",\"XMR/USD\"]", TB_CONTROL, 0},
		{TB_SRC_KRAKEN, "{\"event\":\"heartbeat\"}", TB_CONTROL, 0},
		{TB_SRC_KRAKEN, "{\"event\":\"subscriptionStatus\",\"status\":\"error\",\"errorMessage\":\"Currency pair not supported\"}", TB_ERROR, 0},
		{TB_SRC_KRAKEN, "[992,{\"b\":[[\"354.15\",\"5\",\"1\"]],\"c\":\"99999999999\"},\"book-1000\",\"XMR/USD\"]", TB_ERROR, 0},
		{TB_SRC_KRAKEN, "[992,{\"b\":[[\"354.15\",\"5\"]],\"c\":\"1\"},\"book-1000\",\"XMR/USD\"]", TB_ERROR, 0},
		{TB_SRC_KRAKEN, "[992,{\"b\":[]},\"book-x\",\"XMR/USD\"]", TB_ERROR, 0},
	};
	tb_change	out[8];
	tb_msg		m;
	int			bad = 0;

	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
	{
		const char *f = cases[i].frame;
		size_t		len = strlen(f);
		tb_kind		k = tsk_tb_decode(cases[i].src, f, len, out, 8, &m);

		CHECK(k == cases[i].kind && (k != TB_BOOK || m.nchanges == cases[i].n) && decode_ok(k, &m, out, 8),
			  "case %zu: %s (%s%s), expected %s with %d changes", i, tsk_tb_kind_name(k), m.error, m.detail,
			  tsk_tb_kind_name(cases[i].kind), cases[i].n);
		if (cases[i].kind == TB_BOOK)
		{
			k = tsk_tb_decode(cases[i].src, f, len, out, 0, &m);
			CHECK(k == TB_OVERFLOW && m.needed == cases[i].n && m.nchanges == 0, "case %zu: overflow at cap 0", i);
		}
		/* every prefix: a verdict honouring the invariants, never a crash */
		for (size_t p = 0; p < len; p++)
		{
			char	   *copy = malloc(p + 1);

			memcpy(copy, f, p);
			k = tsk_tb_decode(cases[i].src, copy, p, out, 8, &m);
			if (!decode_ok(k, &m, out, 8) || k == TB_BOOK)
				bad++;
			free(copy);
		}
	}
	CHECK(bad == 0, "%d prefixes broke an invariant or decoded as a book", bad);
	CHECK(tsk_tb_decode(TB_SRC_KRAKEN, "[1,\0]", 5, out, 8, &m) == TB_ERROR, "NUL byte");
	CHECK(tsk_tb_decode(TB_SRC_KRAKEN, "{} {}", 5, out, 8, &m) == TB_ERROR, "trailing JSON");
	CHECK(tsk_tb_decode(TB_SRC_COUNT, "{}", 2, out, 8, &m) == TB_ERROR, "unknown source");
	{
		char		buf[256];
		const char *ins[] = {"BTCUSDT", "ethusdt"};
		const char *badins[] = {"BTC USDT"};

		CHECK(tsk_tb_binance_streams(ins, 2, buf, sizeof buf) > 0 &&
			  strcmp(buf, "btcusdt@depth@100ms/ethusdt@depth@100ms") == 0, "binance streams: %s", buf);
		CHECK(tsk_tb_binance_streams(badins, 1, buf, sizeof buf) == -1, "binance streams refuse a space");
		CHECK(tsk_tb_binance_subscribe(ins, 2, 17, buf, sizeof buf) > 0 &&
			  strcmp(buf, "{\"method\":\"SUBSCRIBE\",\"params\":[\"btcusdt@depth@100ms\",\"ethusdt@depth@100ms\"],\"id\":17}") == 0,
			  "binance subscribe: %s", buf);
		CHECK(tsk_tb_binance_streams(ins, 2, buf, 10) == 39 && buf[0] == '\0', "binance streams: too small");
		CHECK(tsk_tb_kraken_subscribe(ins, 1, 1000, true, buf, sizeof buf) > 0 &&
			  strcmp(buf, "{\"event\":\"subscribe\",\"pair\":[\"BTCUSDT\"],\"subscription\":{\"name\":\"book\",\"depth\":1000}}") == 0,
			  "kraken subscribe: %s", buf);
		CHECK(tsk_tb_coinbase_subscribe(ins, 1, false, true, buf, sizeof buf) > 0 &&
			  strcmp(buf, "{\"type\":\"subscribe\",\"product_ids\":[\"BTCUSDT\"],\"channels\":[\"level2\"]}") == 0,
			  "coinbase subscribe: %s", buf);
	}
}

/* ---- speed ------------------------------------------------------------- */

/*
 * bench_churn
 *	  Updates per second of a 10-level churn around a mid price (printed).
 */
static void
bench_churn(void)
{
	tb_book		b;
	uint64_t	rng = 12345;
	struct timespec t0,
				t1;
	const int	n = 2000000;
	double		secs;
	volatile uint64_t sink = 0;

	tsk_tb_book_init(&b, 5000);
	for (int i = 0; i < 1000; i++)	/* a deep book: 1000 levels a side */
	{
		tb_dec		p = {(uint64_t) (1000000 - 1 - i), 2},
					q = {100, 0};

		tsk_tb_book_set(&b, TB_BID, p, q, NULL);
		p.mant = (uint64_t) (1000000 + i);
		tsk_tb_book_set(&b, TB_ASK, p, q, NULL);
	}
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t0);
	for (int i = 0; i < n; i++)
	{
		uint64_t	r = rnd(&rng);
		int			side = (int) (r & 1);
		int			lvl = (int) ((r >> 1) % 10);
		tb_dec		p = {side == TB_BID ? (uint64_t) (1000000 - 1 - lvl) : (uint64_t) (1000000 + lvl), 2},
					q = {(r >> 8) % 8 == 0 ? 0 : (r >> 16) % 1000, 0};

		sink += tsk_tb_book_set(&b, side, p, q, NULL);
	}
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t1);
	secs = (double) (t1.tv_sec - t0.tv_sec) + (double) (t1.tv_nsec - t0.tv_nsec) / 1e9;
	printf("book churn: %d updates of the 10 best levels (1000-level book) in %.3f s of CPU = %.2f M updates/s\n",
		   n, secs, n / secs / 1e6);
	CHECK(tsk_tb_book_check(&b) == NULL, "book valid after the churn");
	tsk_tb_book_free(&b);
	(void) sink;
}

/*
 * main
 *	  Run every group; the shared directory holds the captures.
 */
int
main(int argc, char **argv)
{
	const char *shared = argc > 1 ? argv[1] : "../shared";

	test_decimals();
	test_book_basics();
	test_book_random();
	test_checksum_ofi();
	test_decode_input();
	test_kraken_capture(shared);
	test_coinbase_capture(shared);
	test_binance_capture(shared);
	test_coinbase_advanced_capture(shared);
	bench_churn();
	printf("%d passed, %d failed\n", n_pass, n_fail);
	return n_fail ? 1 : 0;
}
