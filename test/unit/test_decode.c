/*
 * test_decode.c
 *	  unit tests for src/ingest/decode*.c (no Postgres needed).
 *
 * Usage: test_decode SHARED_DIR   (/work/shared or /work/shared/data)
 *
 * 1. Captures: every file under websocket/{binance,coinbase,kraken,finnhub}
 *    (gzip via `gzip -dc`) is decoded line by line; no line may be TD_ERROR,
 *    and per instrument the trade count, sum of qty, sum of timestamps and
 *    buy/sell counts must equal an independent computation done here with
 *    strstr/sscanf/timegm on the raw text (no cJSON, no decoder helpers).
 * 2. (test_decode_frames.c) Known frames: side conventions, exact
 *    timestamps, ids, snapshot flags; derived ids stable across two decodes,
 *    distinct across trades; canonical symbols.
 * 4. (test_decode_input.c) Hostile input: every prefix of sample frames, wrong types, garbage,
 *    empty, NUL bytes, 10 MB frames, NaN/Inf/negative values, overflow guard.
 * 5. (test_decode_input.c) Generic map, subscribe messages.
 * Prints decode throughput for the capture with the most trades, and ends
 * with exactly "N passed, N failed"; exit status 1 on any failure.
 */
#define _GNU_SOURCE
#include "test_decode.h"

#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

int			n_pass, n_fail;

/* ---- per-instrument statistics ---------------------------------------- */

typedef struct
{
	char		sym[64];
	long		n, buys, sells;
	double		qty;
	unsigned long long ts_sum;	/* wraps identically on both sides */
} inst_stat;

typedef struct
{
	inst_stat	v[512];
	int			n;
} stats;

/*
 * stat_get
 *	  Find or add an instrument (sym given as pointer + length).
 */
static inst_stat *
stat_get(stats *s, const char *sym, size_t len)
{
	for (int i = 0; i < s->n; i++)
		if (strlen(s->v[i].sym) == len && memcmp(s->v[i].sym, sym, len) == 0)
			return &s->v[i];
	if (s->n == 512 || len >= 64)
		return NULL;
	memcpy(s->v[s->n].sym, sym, len);
	s->v[s->n].sym[len] = '\0';
	return &s->v[s->n++];
}

/*
 * stat_add
 *	  Record one trade.
 */
static void
stat_add(stats *s, const char *sym, size_t len, double qty, long long ts_us, char side)
{
	inst_stat  *st = stat_get(s, sym, len);

	if (st == NULL)
		return;
	st->n++;
	st->qty += qty;
	st->ts_sum += (unsigned long long) ts_us;
	st->buys += side == 'b';
	st->sells += side == 's';
}

/*
 * stat_compare
 *	  Compare decoder statistics with the independent ones.
 */
static void
stat_compare(const char *file, const stats *dec, const stats *ref)
{
	CHECK(dec->n == ref->n, "%s: %d instruments decoded, %d expected", file, dec->n, ref->n);
	for (int i = 0; i < ref->n; i++)
	{
		const inst_stat *r = &ref->v[i];
		const inst_stat *d = stat_get((stats *) dec, r->sym, strlen(r->sym));

		CHECK(d && d->n == r->n, "%s %s: %ld trades, expected %ld", file, r->sym, d ? d->n : -1, r->n);
		CHECK(d && fabs(d->qty - r->qty) <= 1e-9 * fabs(r->qty),
			  "%s %s: qty sum %.10g, expected %.10g", file, r->sym, d ? d->qty : NAN, r->qty);
		CHECK(d && d->ts_sum == r->ts_sum, "%s %s: timestamp sum differs", file, r->sym);
		CHECK(d && d->buys == r->buys && d->sells == r->sells,
			  "%s %s: buys/sells %ld/%ld, expected %ld/%ld", file, r->sym,
			  d ? d->buys : -1, d ? d->sells : -1, r->buys, r->sells);
	}
}

/* ---- file loading ------------------------------------------------------ */


/*
 * load_lines
 *	  Read a file (gunzipped if *.gz) and split it into NUL-terminated lines.
 */
int
load_lines(const char *path, lines *L)
{
	char		cmd[4200];
	FILE	   *f;
	size_t		cap = 1 << 20, used = 0, k;
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
 * free_lines
 *	  Free what load_lines allocated.
 */
void
free_lines(lines *L)
{
	free(L->buf);
	free(L->line);
	free(L->len);
}

/* ---- independent reference computation (raw text only) ---------------- */

/*
 * after
 *	  Pointer just after `pat` in s, or NULL.
 */
static const char *
after(const char *s, const char *pat)
{
	const char *p = s ? strstr(s, pat) : NULL;

	return p ? p + strlen(pat) : NULL;
}

/*
 * qlen
 *	  Length of a quoted value starting at s (up to the next '"').
 */
static size_t
qlen(const char *s)
{
	return strcspn(s, "\"");
}

/*
 * ref_rfc3339
 *	  "2021-04-17T16:43:37.089723Z" -> µs, via timegm (independent of
 *	  the decoders' parser in decode_util.c).
 */
static long long
ref_rfc3339(const char *s)
{
	struct tm	tm = {0};
	char		frac[16] = "";
	long long	us;

	sscanf(s, "%d-%d-%dT%d:%d:%d.%15[0-9]", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
		   &tm.tm_hour, &tm.tm_min, &tm.tm_sec, frac);
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	us = (long long) timegm(&tm) * 1000000;
	for (int i = 0; i < 6; i++)
		us += (long long) ((frac[i] >= '0' && frac[i] <= '9') ? frac[i] - '0' : 0) *
			(long long) pow(10, 5 - i);
	return us;
}

/*
 * ref_line
 *	  Trades of one line of a capture, computed from the raw text.
 */
static void
ref_line(td_exchange ex, const char *l, stats *s)
{
	const char *p;

	if (ex == TD_BINANCE && (strstr(l, "\"e\":\"trade\"") || strstr(l, "\"e\":\"aggTrade\"")))
	{
		const char *sym = after(l, "\"s\":\"");

		stat_add(s, sym, qlen(sym), strtod(after(l, "\"q\":\""), NULL),
				 atoll(after(l, "\"T\":")) * 1000, strstr(l, "\"m\":true") ? 's' : 'b');
	}
	else if (ex == TD_COINBASE && (strstr(l, "\"type\":\"match\"") || strstr(l, "\"type\":\"last_match\"")))
	{
		const char *sym = after(l, "\"product_id\":\"");

		stat_add(s, sym, qlen(sym), strtod(after(l, "\"size\":\""), NULL),
				 ref_rfc3339(after(l, "\"time\":\"")),
				 *after(l, "\"side\":\"") == 's' ? 'b' : 's');
	}
	else if (ex == TD_COINBASE && strstr(l, "\"channel\":\"market_trades\""))
		for (p = l; (p = after(p, "{\"product_id\":\"")) != NULL;)
			stat_add(s, p, qlen(p), strtod(after(p, "\"size\":\""), NULL),
					 ref_rfc3339(after(p, "\"time\":\"")),
					 *after(p, "\"side\":\"") == 'S' ? 'b' : 's');
	else if (ex == TD_KRAKEN && l[0] == '[' && strstr(l, ",\"trade\",\""))
	{
		const char *pair = after(l, ",\"trade\",\"");

		for (p = l; (p = strstr(p, "[\"")) != NULL; p++)
		{
			double		vol;
			long long	sec;
			char		frac[8] = "", side = 0;

			sscanf(p, "[\"%*[^\"]\",\"%lf\",\"%lld.%6[0-9]\",\"%c\"", &vol, &sec, frac, &side);
			stat_add(s, pair, qlen(pair), vol, sec * 1000000 + atoll(frac), side);
		}
	}
	else if (ex == TD_KRAKEN && l[0] == '{' && strstr(l, "\"feed\":\"trade") && !strstr(l, "\"event\""))
		for (p = l; (p = after(p, "\"uid\":\"")) != NULL;)
		{
			const char *prod = NULL;

			for (const char *q = l; (q = after(q, "\"product_id\":\"")) != NULL && q < p;)
				prod = q;
			stat_add(s, prod, qlen(prod), strtod(after(p, "\"qty\":"), NULL),
					 atoll(after(p, "\"time\":")) * 1000,
					 *after(p, "\"side\":\"") == 'b' ? 'b' : 's');
		}
	else if (ex == TD_FINNHUB && strstr(l, "\"type\":\"trade\""))
		for (p = l; (p = after(p, "\"s\":\"")) != NULL;)
			stat_add(s, p, qlen(p), strtod(after(p, "\"v\":"), NULL),
					 atoll(after(p, "\"t\":")) * 1000, 0);
}

/* ---- capture tests ----------------------------------------------------- */

static td_trade *g_buf;
static int	g_cap;
static long best_trades;
static char best_file[4200];
static td_exchange best_ex;

/*
 * decode_grow
 *	  Decode one frame, growing the buffer on TD_OVERFLOW.
 */
static td_kind
decode_grow(td_exchange ex, const td_generic_map *m, const char *f, size_t len, td_result *res)
{
	td_kind		k = tsk_td_decode(ex, m, f, len, g_buf, g_cap, res);

	if (k == TD_OVERFLOW)
	{
		g_cap = res->needed;
		g_buf = realloc(g_buf, (size_t) g_cap * sizeof *g_buf);
		k = tsk_td_decode(ex, m, f, len, g_buf, g_cap, res);
	}
	return k;
}

/* Derived ids seen so far (for stability and uniqueness checks). */
static int64_t *g_ids;
static size_t g_nids, g_capids;

/*
 * cmp_i64
 *	  Compare two int64 values for qsort.
 */
static int
cmp_i64(const void *a, const void *b)
{
	int64_t		x = *(const int64_t *) a, y = *(const int64_t *) b;

	return (x > y) - (x < y);
}

/*
 * cmp_str
 *	  Compare two C strings through char ** for qsort.
 */
static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *) a, *(char *const *) b);
}

/*
 * test_capture
 *	  Decode a whole capture twice and compare with the reference.
 */
static long
test_capture(td_exchange ex, const char *path)
{
	lines		L;
	stats	   *dec = calloc(1, sizeof *dec), *ref = calloc(1, sizeof *ref);
	long		errors = 0, trades = 0, unstable = 0;
	const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;

	if (load_lines(path, &L) != 0)
	{
		CHECK(0, "cannot read %s", path);
		return 0;
	}
	for (int i = 0; i < L.n; i++)
	{
		td_result	r, r2;
		td_kind		k = decode_grow(ex, NULL, L.line[i], L.len[i], &r);

		ref_line(ex, L.line[i], ref);
		if (k == TD_ERROR && errors++ < 3)
			printf("  %s line %d: %s\n", base, i + 1, r.error);
		for (int j = 0; k == TD_TRADES && j < r.ntrades; j++)
		{
			td_trade   *t = &g_buf[j];

			stat_add(dec, t->instrument, strlen(t->instrument), t->qty, t->ts_us, t->side);
			if (t->id_derived)
			{
				if (g_nids == g_capids)
					g_ids = realloc(g_ids, (g_capids = g_capids * 2 + 1024) * sizeof *g_ids);
				g_ids[g_nids++] = t->trade_id;
			}
		}
		trades += k == TD_TRADES ? r.ntrades : 0;
		/* second decode of the same frame must give identical trades */
		if (k == TD_TRADES && r.ntrades > 0)
		{
			td_trade   *copy = malloc((size_t) r.ntrades * sizeof *copy);

			tsk_td_decode(ex, NULL, L.line[i], L.len[i], copy, r.ntrades, &r2);
			unstable += r2.ntrades != r.ntrades ||
				memcmp(copy, g_buf, (size_t) r.ntrades * sizeof *copy) != 0;
			free(copy);
		}
	}
	CHECK(errors == 0, "%s: %ld frames decoded as TD_ERROR", base, errors);
	CHECK(unstable == 0, "%s: %ld frames decode differently the second time", base, unstable);
	stat_compare(base, dec, ref);
	printf("  %-58s %6d frames %7ld trades %3d instruments\n", base, L.n, trades, dec->n);
	if (trades > best_trades)
	{
		best_trades = trades;
		best_ex = ex;
		snprintf(best_file, sizeof best_file, "%s", path);
	}
	free_lines(&L);
	free(dec);
	free(ref);
	return trades;
}

/*
 * test_captures
 *	  Run test_capture over websocket/<dir>/ for each exchange.
 */
static void
test_captures(const char *shared)
{
	static const struct
	{
		const char *dir;
		td_exchange ex;
	}			dirs[] = {{"binance", TD_BINANCE}, {"coinbase", TD_COINBASE},
	{"kraken", TD_KRAKEN}, {"finnhub", TD_FINNHUB}};

	for (int d = 0; d < 4; d++)
	{
		char		path[4096];
		DIR		   *dir;
		struct dirent *e;
		long		trades = 0;
		char	  **names = NULL;
		int			nn = 0;

		snprintf(path, sizeof path, "%s/websocket/%s", shared, dirs[d].dir);
		if ((dir = opendir(path)) == NULL)
		{
			CHECK(0, "cannot open %s", path);
			continue;
		}
		while ((e = readdir(dir)) != NULL)
			if (e->d_name[0] != '.')
			{
				names = realloc(names, (size_t) (nn + 1) * sizeof *names);
				names[nn++] = strdup(e->d_name);
			}
		closedir(dir);
		qsort(names, (size_t) nn, sizeof *names, cmp_str);
		for (int i = 0; i < nn; i++)
		{
			char		file[4200];

			snprintf(file, sizeof file, "%s/%s", path, names[i]);
			trades += test_capture(dirs[d].ex, file);
			free(names[i]);
		}
		free(names);
		CHECK(trades > 0, "%s: no trades decoded at all", dirs[d].dir);
	}
	/* derived ids: unique across all captures (stability checked per frame) */
	qsort(g_ids, g_nids, sizeof *g_ids, cmp_i64);
	{
		size_t		dups = 0;

		for (size_t i = 1; i < g_nids; i++)
			dups += g_ids[i] == g_ids[i - 1];
		CHECK(g_nids > 1000 && dups == 0, "derived ids: %zu ids, %zu duplicates", g_nids, dups);
	}
}

/*
 * test_throughput
 *	  Decode throughput (trades/s) over the capture with the most trades.
 */
static void
test_throughput(void)
{
	lines		L;
	long		trades = 0;
	int			rounds = 0;
	struct timespec t0, t1;
	double		secs;

	if (best_file[0] == '\0' || load_lines(best_file, &L) != 0)
		return;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	do
	{
		for (int i = 0; i < L.n; i++)
		{
			td_result	r;

			if (decode_grow(best_ex, NULL, L.line[i], L.len[i], &r) == TD_TRADES)
				trades += r.ntrades;
		}
		rounds++;
		clock_gettime(CLOCK_MONOTONIC, &t1);
		secs = (double) (t1.tv_sec - t0.tv_sec) + (double) (t1.tv_nsec - t0.tv_nsec) / 1e9;
	} while (secs < 1.0);
	printf("throughput: %.0f trades/s, %.0f frames/s (%s, %d rounds of %d frames)\n",
		   (double) trades / secs, (double) rounds * L.n / secs,
		   strrchr(best_file, '/') + 1, rounds, L.n);
	free_lines(&L);
}

/* ---- main --------------------------------------------------------------- */

/*
 * main
 *	  Run every test group; exit 1 if any check failed.
 */
int
main(int argc, char **argv)
{
	char		dir[4096];
	DIR		   *probe;

	if (argc < 2)
	{
		fprintf(stderr, "usage: %s SHARED_DIR (the shared/ dir or its data/ subdir)\n", argv[0]);
		return 2;
	}
	/* accept both .../shared and .../shared/data */
	snprintf(dir, sizeof dir, "%s/data/websocket", argv[1]);
	if ((probe = opendir(dir)) != NULL)
	{
		closedir(probe);
		snprintf(dir, sizeof dir, "%s/data", argv[1]);
	}
	else
		snprintf(dir, sizeof dir, "%s", argv[1]);
	argv[1] = dir;
	g_buf = malloc(16 * sizeof *g_buf);
	g_cap = 16;
	printf("captures:\n");
	test_captures(argv[1]);
	test_binance();
	test_coinbase();
	test_kraken();
	test_finnhub();
	test_overflow();
	test_malformed();
	test_generic(argv[1]);
	test_subscribe();
	test_canonical();
	test_throughput();
	free(g_buf);
	free(g_ids);
	printf("%d passed, %d failed\n", n_pass, n_fail);
	return n_fail ? 1 : 0;
}
