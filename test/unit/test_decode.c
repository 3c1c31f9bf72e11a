/*
 * test_decode.c -- unit tests for src/decode*.c (no Postgres needed).
 *
 * Usage: test_decode SHARED_DIR   (/work/shared or /work/shared/data)
 *
 * 1. Captures: every file under websocket/{binance,coinbase,kraken,finnhub}
 *    (gzip via `gzip -dc`) is decoded line by line; no line may be TD_ERROR,
 *    and per instrument the trade count, sum of qty, sum of timestamps and
 *    buy/sell counts must equal an independent computation done here with
 *    strstr/sscanf/timegm on the raw text (no cJSON, no decoder helpers).
 * 2. Known frames: side conventions, exact timestamps, ids, snapshot flags.
 * 3. Derived ids: stable across two decodes, distinct across trades.
 * 4. Hostile input: every prefix of sample frames, wrong types, garbage,
 *    empty, NUL bytes, 10 MB frames, NaN/Inf/negative values, overflow guard.
 * 5. Generic map, subscribe messages, canonical symbols.
 * Prints decode throughput for the capture with the most trades, and ends
 * with exactly "N passed, N failed"; exit status 1 on any failure.
 */
#define _GNU_SOURCE
#include "decode.h"

#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

static int	n_pass, n_fail;

#define CHECK(cond, ...) \
	do { \
		if (cond) \
			n_pass++; \
		else \
		{ \
			n_fail++; \
			printf("FAIL %s:%d: ", __FILE__, __LINE__); \
			printf(__VA_ARGS__); \
			printf("\n"); \
		} \
	} while (0)

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

/* Find or add an instrument (sym given as pointer + length). */
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

/* Record one trade. */
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

/* Compare decoder statistics with the independent ones. */
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

typedef struct
{
	char	   *buf;
	char	  **line;
	size_t	   *len;
	int			n;
} lines;

/* Read a file (gunzipped if *.gz) and split it into NUL-terminated lines. */
static int
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

/* Free what load_lines allocated. */
static void
free_lines(lines *L)
{
	free(L->buf);
	free(L->line);
	free(L->len);
}

/* ---- independent reference computation (raw text only) ---------------- */

/* Pointer just after `pat` in s, or NULL. */
static const char *
after(const char *s, const char *pat)
{
	const char *p = s ? strstr(s, pat) : NULL;

	return p ? p + strlen(pat) : NULL;
}

/* Length of a quoted value starting at s (up to the next '"'). */
static size_t
qlen(const char *s)
{
	return strcspn(s, "\"");
}

/* "2021-04-17T16:43:37.089723Z" -> µs, via timegm (independent of decode.c). */
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

/* Trades of one line of a capture, computed from the raw text. */
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

/* Decode one frame, growing the buffer on TD_OVERFLOW. */
static td_kind
decode_grow(td_exchange ex, const td_generic_map *m, const char *f, size_t len, td_result *res)
{
	td_kind		k = td_decode(ex, m, f, len, g_buf, g_cap, res);

	if (k == TD_OVERFLOW)
	{
		g_cap = res->needed;
		g_buf = realloc(g_buf, (size_t) g_cap * sizeof *g_buf);
		k = td_decode(ex, m, f, len, g_buf, g_cap, res);
	}
	return k;
}

/* Derived ids seen so far (for stability and uniqueness checks). */
static int64_t *g_ids;
static size_t g_nids, g_capids;

/* Compare two int64 values for qsort. */
static int
cmp_i64(const void *a, const void *b)
{
	int64_t		x = *(const int64_t *) a, y = *(const int64_t *) b;

	return (x > y) - (x < y);
}

/* Compare two C strings through char ** for qsort. */
static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *) a, *(char *const *) b);
}

/* Decode a whole capture twice and compare with the reference. */
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

			td_decode(ex, NULL, L.line[i], L.len[i], copy, r.ntrades, &r2);
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

/* Run test_capture over websocket/<dir>/ for each exchange. */
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

/* Decode throughput (trades/s) over the capture with the most trades. */
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

/* ---- known frames ------------------------------------------------------ */

/* Frame text with ' turned into " (keeps the literals below readable). */
static const char *
J(const char *s)
{
	static char ring[8][4096];
	static int	next;
	char	   *b = ring[next++ % 8];

	snprintf(b, sizeof ring[0], "%s", s);
	for (char *p = b; *p; p++)
		if (*p == '\'')
			*p = '"';
	return b;
}

/* Decode a single-quoted frame literal. */
static td_kind
D(td_exchange ex, const char *frame, td_trade *out, int cap, td_result *r)
{
	const char *f = J(frame);

	return td_decode(ex, NULL, f, strlen(f), out, cap, r);
}

/* Decode and expect one TD_CONTROL frame. */
static void
expect_control(td_exchange ex, const char *frame)
{
	td_trade	t[4];
	td_result	r;
	td_kind		k = D(ex, frame, t, 4, &r);

	CHECK(k == TD_CONTROL, "%s: expected control, got %s (%s): %s", td_exchange_name(ex),
		  td_kind_name(k), r.error, J(frame));
}

/* Decode and expect TD_ERROR whose message contains `needle`. */
static void
expect_error(td_exchange ex, const char *frame, const char *needle)
{
	td_trade	t[4];
	td_result	r;
	td_kind		k = D(ex, frame, t, 4, &r);

	CHECK(k == TD_ERROR && strstr(r.error, needle) != NULL,
		  "%s: expected error containing '%s', got %s '%s': %.200s", td_exchange_name(ex),
		  needle, td_kind_name(k), r.error, J(frame));
}

/* Expect one trade with the given fields. */
static void
expect_trade(const char *what, const td_trade *t, const char *sym, int64_t id, int derived,
			 int64_t ts, double price, double qty, char side)
{
	CHECK(strcmp(t->instrument, sym) == 0, "%s: instrument '%s'", what, t->instrument);
	CHECK(id < 0 || t->trade_id == id, "%s: id %lld", what, (long long) t->trade_id);
	CHECK(t->id_derived == derived, "%s: id_derived %d", what, t->id_derived);
	CHECK(t->ts_us == ts, "%s: ts %lld != %lld", what, (long long) t->ts_us, (long long) ts);
	CHECK(t->price == price && t->qty == qty, "%s: price %.10g qty %.10g", what, t->price, t->qty);
	CHECK(t->side == side, "%s: side '%c' expected '%c'", what, t->side ? t->side : '0',
		  side ? side : '0');
}

/* Binance: trade/aggTrade, spot/futures, side from m, controls, errors. */
static void
test_binance(void)
{
	td_trade	t[4];
	td_result	r;

	CHECK(D(TD_BINANCE, "{'stream':'btcusdt@trade','data':{'e':'trade','E':1723161255343,'s':'BTCUSDT',"
			"'t':3735683259,'p':'61837.63000000','q':'0.02000000','T':1723161255342,'m':true,'M':false}}",
			t, 4, &r) == TD_TRADES && r.ntrades == 1, "binance spot trade: %s", r.error);
	expect_trade("binance spot", &t[0], "BTCUSDT", 3735683259, 0, 1723161255342000, 61837.63, 0.02, 's');
	CHECK(D(TD_BINANCE, "{'stream':'btcusdt@trade','data':{'e':'trade','E':1723161256322,'T':1723161256322,"
			"'s':'BTCUSDT','t':5266583935,'p':'61800.30','q':'0.006','X':'MARKET','m':false}}",
			t, 4, &r) == TD_TRADES, "binance usdm trade: %s", r.error);
	expect_trade("binance usdm", &t[0], "BTCUSDT", 5266583935, 0, 1723161256322000, 61800.30, 0.006, 'b');
	CHECK(D(TD_BINANCE, "{'stream':'bchusd_perp@aggTrade','data':{'e':'aggTrade','E':1626916404006,"
			"'a':11285749,'s':'BCHUSD_PERP','p':'427.91','q':'3','f':16034449,'l':16034449,"
			"'T':1626916403852,'m':true}}", t, 4, &r) == TD_TRADES, "binance aggTrade: %s", r.error);
	expect_trade("binance coinm aggTrade", &t[0], "BCHUSD_PERP", 11285749, 0, 1626916403852000, 427.91, 3, 's');
	CHECK(D(TD_BINANCE, "{'e':'trade','E':1,'s':'FOOBARBAZ','t':7,'p':'1.5','q':'2','T':1000,'m':false}",
			t, 4, &r) == TD_TRADES, "binance raw stream / unknown instrument: %s", r.error);
	expect_trade("binance raw", &t[0], "FOOBARBAZ", 7, 0, 1000000, 1.5, 2, 'b');

	expect_control(TD_BINANCE, "{'stream':'btcusdt@depth@100ms','data':{'e':'depthUpdate','E':1,'s':'BTCUSDT','U':1,'u':2,'b':[],'a':[]}}");
	expect_control(TD_BINANCE, "{'stream':'sushiusdt@bookTicker','data':{'u':1,'s':'SUSHIUSDT','b':'1','B':'2','a':'3','A':'4'}}");
	expect_control(TD_BINANCE, "{'stream':'btcusdt@kline_1m','data':{'e':'kline','E':1,'s':'BTCUSDT','k':{}}}");
	expect_control(TD_BINANCE, "{'result':null,'id':1}");
	expect_control(TD_BINANCE, "{'stream':'!miniTicker@arr','data':[]}");
	expect_error(TD_BINANCE, "{'error':{'code':2,'msg':'Invalid request: unknown stream'},'id':1}", "Invalid request");
	expect_error(TD_BINANCE, "{'stream':'btcusdt@trade','data':{'s':'BTCUSDT'}}", "\"e\"");
	expect_error(TD_BINANCE, "{'foo':1}", "unrecognised");
	expect_error(TD_BINANCE, "[1,2]", "object");
}

/* Coinbase: legacy match (maker side), Advanced Trade, controls, errors. */
static void
test_coinbase(void)
{
	td_trade	t[4];
	td_result	r;

	CHECK(D(TD_COINBASE, "{'type':'match','trade_id':280232,'maker_order_id':'a','taker_order_id':'b',"
			"'side':'sell','size':'985','price':'0.00001305','product_id':'SKL-BTC','sequence':177100030,"
			"'time':'2021-04-17T16:43:37.089723Z'}", t, 4, &r) == TD_TRADES && !r.snapshot,
		  "coinbase match: %s", r.error);
	expect_trade("coinbase match (maker sell)", &t[0], "SKL-BTC", 280232, 0, 1618677817089723, 0.00001305, 985, 'b');
	CHECK(D(TD_COINBASE, "{'type':'last_match','trade_id':82007,'side':'buy','size':'1008.2','price':'0.5752',"
			"'product_id':'SKL-GBP','time':'2021-04-17T16:43:29.571587Z'}", t, 4, &r) == TD_TRADES
		  && r.snapshot == 1, "coinbase last_match: %s", r.error);
	CHECK(t[0].side == 's', "coinbase maker buy => taker sold");
	CHECK(D(TD_COINBASE, "{'channel':'market_trades','client_id':'','timestamp':'2026-08-09T21:05:48.228568804Z',"
			"'sequence_num':0,'events':[{'type':'snapshot','trades':[{'product_id':'BTC-USD','trade_id':'1068572090',"
			"'price':'65083.67','size':'0.002186','time':'2026-08-09T21:05:42.514318Z','side':'SELL'},"
			"{'product_id':'BTC-USD','trade_id':'1068572088','price':'65083.66','size':'0.00007299',"
			"'time':'2026-08-09T21:05:38.50436Z','side':'BUY'}]}]}", t, 4, &r) == TD_TRADES
		  && r.ntrades == 2 && r.snapshot == 1, "coinbase advanced: %s", r.error);
	expect_trade("coinbase adv SELL", &t[0], "BTC-USD", 1068572090, 0, 1786309542514318, 65083.67, 0.002186, 'b');
	expect_trade("coinbase adv BUY", &t[1], "BTC-USD", 1068572088, 0, 1786309538504360, 65083.66, 0.00007299, 's');
	CHECK(D(TD_COINBASE, "{'channel':'market_trades','events':[{'type':'update','trades':[{'product_id':'BTC-PERP-INTX',"
			"'trade_id':'7c1d2f3a-uuid','price':'1','size':'1','time':'2026-08-09T21:05:42Z','side':'BUY'}]}]}",
			t, 4, &r) == TD_TRADES && t[0].id_derived == 1 && t[0].trade_id >= 0 && !r.snapshot,
		  "coinbase non-numeric trade_id => derived id: %s", r.error);
	CHECK(D(TD_COINBASE, "{'channel':'market_trades','events':[{'type':'update','trades':[]}]}", t, 4, &r)
		  == TD_TRADES && r.ntrades == 0, "coinbase empty update: %s", r.error);

	expect_control(TD_COINBASE, "{'type':'subscriptions','channels':[{'name':'matches','product_ids':['BTC-USD']}]}");
	expect_control(TD_COINBASE, "{'type':'l2update','product_id':'BTC-USD','changes':[['buy','1','2']],'time':'x'}");
	expect_control(TD_COINBASE, "{'type':'ticker','product_id':'BTC-USD','price':'1','side':'buy'}");
	expect_control(TD_COINBASE, "{'type':'heartbeat','sequence':1}");
	expect_control(TD_COINBASE, "{'channel':'heartbeats','events':[{'current_time':'x','heartbeat_counter':3}]}");
	expect_control(TD_COINBASE, "{'channel':'l2_data','events':[]}");
	expect_control(TD_COINBASE, "{'channel':'subscriptions','events':[{'subscriptions':{'market_trades':['BTC-USD']}}]}");
	expect_error(TD_COINBASE, "{'type':'error','message':'Failed to subscribe','reason':'bad product'}", "Failed to subscribe");
	expect_error(TD_COINBASE, "{'type':'error','message':'caf\\u00e9\\n\\u0007.'}", "exchange error: caf????.");
	CHECK(D(TD_COINBASE, "{'type':'ti\\u00e9ker'}", t, 4, &r) == TD_CONTROL && strcmp(r.detail, "ti??ker") == 0,
		  "control detail sanitised: '%s'", r.detail);
	CHECK(D(TD_COINBASE, "{'type':'match','trade_id':'12345678901234567890','side':'sell','size':'1','price':'1',"
			"'product_id':'X','time':'2021-04-17T16:43:37Z'}", t, 4, &r) == TD_TRADES && t[0].id_derived,
		  "20-digit string id does not fit int64 => derived: %s", r.error);
	expect_error(TD_COINBASE, "{'type':'match','trade_id':1,'side':'sell','size':'1','price':'1','product_id':'X','time':'2021-02-30T00:00:00Z'}", "\"time\"");
	expect_error(TD_COINBASE, "{'type':'match','trade_id':1,'side':'sell','size':'1','price':'1','product_id':'X','time':'2021-02-01T00:00:00'}", "\"time\"");
	expect_error(TD_COINBASE, "{'type':'match','trade_id':1,'size':'1','price':'1','product_id':'X','time':'2021-02-01T00:00:00Z'}", "\"side\": missing");
	expect_error(TD_COINBASE, "{'channel':'market_trades','events':{}}", "\"events\"");
}

/* Kraken: v1 arrays (derived ids), v2, futures, controls, errors. */
static void
test_kraken(void)
{
	td_trade	t[4], u[4];
	td_result	r;

	CHECK(D(TD_KRAKEN, "[993,[['354.11000000','0.89594024','1618678142.557535','s','l','']],'trade','XMR/USD']",
			t, 4, &r) == TD_TRADES && r.ntrades == 1, "kraken v1: %s", r.error);
	expect_trade("kraken v1", &t[0], "XMR/USD", -1, 1, 1618678142557535, 354.11, 0.89594024, 's');
	/* derived ids: stable, channelID-independent, index- and field-sensitive */
	D(TD_KRAKEN, "[993,[['1.0','2.0','1618678150.826417','b','m',''],['1.0','2.0','1618678150.826417','b','m','']],'trade','XMR/USD']", t, 4, &r);
	D(TD_KRAKEN, "[42,[['1.0','2.0','1618678150.826417','b','m',''],['1.0','2.0','1618678150.826417','b','m','']],'trade','XMR/USD']", u, 4, &r);
	CHECK(r.ntrades == 2 && t[0].trade_id == u[0].trade_id && t[1].trade_id == u[1].trade_id,
		  "kraken v1 ids stable across channelID");
	CHECK(t[0].trade_id != t[1].trade_id, "kraken v1 identical trades in one frame get distinct ids");
	D(TD_KRAKEN, "[42,[['1.0','2.0','1618678150.826417','b','m',''],['1.00','2.0','1618678150.826417','b','m','']],'trade','XMR/USD']", u, 4, &r);
	CHECK(t[0].trade_id == u[0].trade_id && t[1].trade_id != u[1].trade_id, "kraken v1 id depends on price text");
	CHECK(D(TD_KRAKEN, "[1,[['1.5','2','1618678150.5','b','m','',123456]],'trade','XBT/USD']", t, 4, &r)
		  == TD_TRADES && t[0].trade_id == 123456 && t[0].id_derived == 0 && t[0].ts_us == 1618678150500000,
		  "kraken v1 with REST-style 7th element id: %s", r.error);
	CHECK(D(TD_KRAKEN, "{'channel':'trade','type':'update','data':[{'symbol':'BTC/USD','side':'buy','price':105944.2,"
			"'qty':0.00027625,'ord_type':'limit','trade_id':10218208,'timestamp':'2025-11-10T17:23:53.971745Z'}]}",
			t, 4, &r) == TD_TRADES && !r.snapshot, "kraken v2: %s", r.error);
	expect_trade("kraken v2", &t[0], "BTC/USD", 10218208, 0, 1762795433971745, 105944.2, 0.00027625, 'b');
	CHECK(D(TD_KRAKEN, "{'channel':'trade','type':'snapshot','data':[]}", t, 4, &r) == TD_TRADES && r.snapshot,
		  "kraken v2 snapshot flag");
	CHECK(D(TD_KRAKEN, "{'feed':'trade','product_id':'PI_LTCUSD','uid':'e2429e31-8b9d-4195-900e-fd42be2dec89',"
			"'side':'buy','type':'fill','seq':5956,'time':1626994929946,'qty':320.0,'price':119.44}",
			t, 4, &r) == TD_TRADES, "kraken futures: %s", r.error);
	expect_trade("kraken futures", &t[0], "PI_LTCUSD", -1, 1, 1626994929946000, 119.44, 320, 'b');
	CHECK(D(TD_KRAKEN, "{'feed':'trade_snapshot','product_id':'PI_LTCUSD','trades':[{'feed':'trade',"
			"'uid':'e2429e31-8b9d-4195-900e-fd42be2dec89','side':'sell','type':'fill','seq':5956,"
			"'time':1626994929946,'qty':320.0,'price':119.44}]}", u, 4, &r) == TD_TRADES && r.snapshot
		  && strcmp(u[0].instrument, "PI_LTCUSD") == 0 && u[0].trade_id == t[0].trade_id && u[0].side == 's',
		  "kraken futures snapshot: envelope product_id, uid-derived id stable: %s", r.error);

	expect_control(TD_KRAKEN, "{'event':'heartbeat'}");
	expect_control(TD_KRAKEN, "{'connectionID':18239578009413566319,'event':'systemStatus','status':'online','version':'1.8.3'}");
	expect_control(TD_KRAKEN, "{'channelID':993,'channelName':'trade','event':'subscriptionStatus','pair':'XMR/USD','status':'subscribed','subscription':{'name':'trade'}}");
	expect_control(TD_KRAKEN, "[1664,{'as':[['1','2','3']],'bs':[]},'book-1000','WAVES/EUR']");
	expect_control(TD_KRAKEN, "[1,{'a':[['1','2','3']]},{'b':[['1','2','3']],'c':'4105471083'},'book-1000','XBT/USD']");
	expect_control(TD_KRAKEN, "{'event':'subscribed','feed':'trade','product_ids':['PI_XRPUSD']}");
	expect_control(TD_KRAKEN, "{'event':'info','version':1}");
	expect_control(TD_KRAKEN, "{'feed':'book','product_id':'PI_XBTUSD','side':'buy','seq':1,'price':1,'qty':0,'timestamp':1}");
	expect_control(TD_KRAKEN, "{'channel':'heartbeat'}");
	expect_control(TD_KRAKEN, "{'method':'subscribe','result':{'channel':'trade','symbol':'BTC/USD'},'success':true}");
	expect_error(TD_KRAKEN, "{'event':'subscriptionStatus','status':'error','errorMessage':'Currency pair not supported','pair':'FOO/BAR'}", "Currency pair");
	expect_error(TD_KRAKEN, "{'event':'error','message':'Invalid product id'}", "Invalid product id");
	expect_error(TD_KRAKEN, "{'method':'subscribe','success':false,'error':'Currency pair not supported'}", "Currency pair");
	expect_error(TD_KRAKEN, "[993,[['354.1','0.8','abc','s','l','']],'trade','XMR/USD']", "\"time\"");
	expect_error(TD_KRAKEN, "[993,[['354.1','0.8','1.5','x','l','']],'trade','XMR/USD']", "\"side\"");
	expect_error(TD_KRAKEN, "[993,[['354.1']],'trade','XMR/USD']", "\"volume\": missing");
	expect_error(TD_KRAKEN, "[993,'trade','XMR/USD']", ">= 4");
	expect_error(TD_KRAKEN, "{'feed':'trade','product_id':'PI_X','side':'buy','time':1,'qty':1,'price':1}", "\"uid\"");
}

/* Finnhub: multi-trade frames, no side, derived ids, ping. */
static void
test_finnhub(void)
{
	const char *f = "{'data':[{'c':['1','8'],'p':122.1,'s':'TSLA','t':1672348887195,'v':1},"
		"{'c':null,'p':122.1,'s':'TSLA','t':1672348887195,'v':1},{'p':16500.5,'s':'BINANCE:BTCUSDT',"
		"'t':1672348887196,'v':0}],'type':'trade'}";
	td_trade	t[8], u[8];
	td_result	r;

	CHECK(D(TD_FINNHUB, f, t, 8, &r) == TD_TRADES && r.ntrades == 3, "finnhub: %s", r.error);
	expect_trade("finnhub", &t[0], "TSLA", -1, 1, 1672348887195000, 122.1, 1, 0);
	expect_trade("finnhub v=0", &t[2], "BINANCE:BTCUSDT", -1, 1, 1672348887196000, 16500.5, 0, 0);
	CHECK(t[0].trade_id != t[1].trade_id && t[1].trade_id != t[2].trade_id, "finnhub ids distinct");
	D(TD_FINNHUB, f, u, 8, &r);
	CHECK(memcmp(t, u, 3 * sizeof *t) == 0, "finnhub decode is deterministic");
	expect_control(TD_FINNHUB, "{'type':'ping'}");
	expect_control(TD_FINNHUB, "{'type':'news','data':[]}");
	expect_error(TD_FINNHUB, "{'type':'error','msg':'Subscribing to too many symbols'}", "too many");
	expect_error(TD_FINNHUB, "{'type':'trade','data':[{'p':1e999,'s':'X','t':1,'v':1}]}", "finite");
	expect_error(TD_FINNHUB, "{'type':'trade','data':[{'p':1,'s':'X','t':-1,'v':1}]}", "\"t\"");
	expect_error(TD_FINNHUB, "{'data':[]}", "\"type\"");
}

/* ---- capacity and hostile input ---------------------------------------- */

/* Frames larger than cap: TD_OVERFLOW with the needed count, no write past cap. */
static void
test_overflow(void)
{
	const char *f = J("{'type':'trade','data':[{'p':1,'s':'A','t':1,'v':1},{'p':2,'s':'A','t':1,'v':1},"
					  "{'p':3,'s':'A','t':1,'v':1},{'p':4,'s':'A','t':1,'v':1},{'p':5,'s':'A','t':1,'v':1}]}");
	td_trade	t[8];
	td_result	r;
	unsigned char guard[sizeof t];

	memset(t, 0xAB, sizeof t);
	memcpy(guard, t, sizeof t);
	CHECK(td_decode(TD_FINNHUB, NULL, f, strlen(f), t, 2, &r) == TD_OVERFLOW && r.needed == 5
		  && r.ntrades == 0, "overflow: kind %s needed %d", td_kind_name(r.kind), r.needed);
	CHECK(memcmp((char *) &t[2], guard + 2 * sizeof *t, 6 * sizeof *t) == 0, "overflow: wrote past cap");
	CHECK(td_decode(TD_FINNHUB, NULL, f, strlen(f), NULL, 0, &r) == TD_OVERFLOW && r.needed == 5,
		  "overflow with cap 0 / NULL out counts trades");
	CHECK(td_decode(TD_FINNHUB, NULL, f, strlen(f), t, 5, &r) == TD_TRADES && r.ntrades == 5
		  && t[4].price == 5, "exact capacity");
	CHECK(td_decode(TD_FINNHUB, NULL, f, strlen(f), t, -1, &r) == TD_ERROR, "negative cap");
	CHECK(td_decode(TD_FINNHUB, NULL, f, strlen(f), NULL, 3, &r) == TD_ERROR, "NULL out with cap");
	CHECK(td_decode(TD_FINNHUB, NULL, f, strlen(f), t, 8, NULL) == TD_ERROR, "NULL result");
	CHECK(td_decode((td_exchange) 99, NULL, f, strlen(f), t, 8, &r) == TD_ERROR, "bad exchange");
}

/* Check result invariants after decoding arbitrary input. */
static int
result_sane(td_kind k, const td_result *r, const td_trade *t, int cap)
{
	int			ok = (unsigned) k <= TD_OVERFLOW && k == r->kind && r->ntrades >= 0 && r->ntrades <= cap
		&& memchr(r->error, 0, sizeof r->error) && memchr(r->detail, 0, sizeof r->detail)
		&& (k != TD_ERROR || r->error[0] != '\0');

	for (const char *p = r->error; ok && *p; p++)
		ok = *p >= 0x20 && *p <= 0x7e;
	for (int i = 0; ok && k == TD_TRADES && i < r->ntrades; i++)
		ok = memchr(t[i].instrument, 0, sizeof t[i].instrument) && t[i].instrument[0]
			&& isfinite(t[i].price) && t[i].price > 0 && isfinite(t[i].qty) && t[i].qty >= 0
			&& t[i].ts_us >= 0 && t[i].ts_us <= TD_MAX_TS_US && t[i].trade_id >= 0
			&& (t[i].side == 0 || t[i].side == 'b' || t[i].side == 's');
	return ok;
}

/*
 * Copy n bytes so they end right before a PROT_NONE page: any read past the
 * frame faults, even inside the uninstrumented system libcjson.
 */
static char *
guarded(const char *src, size_t n)
{
	static char *region;
	static const size_t size = 1u << 16;
	size_t		page = (size_t) sysconf(_SC_PAGESIZE);

	if (region == NULL)
	{
		region = mmap(NULL, size + page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (region == MAP_FAILED || mprotect(region + size, page, PROT_NONE) != 0)
			abort();
	}
	if (n > size)
		abort();
	memcpy(region + size - n, src, n);
	return region + size - n;
}

/* Truncations, wrong types, garbage, NULs, huge frames, bad numbers. */
static void
test_malformed(void)
{
	static const struct
	{
		td_exchange ex;
		const char *f;
	}			samples[] = {
		{TD_BINANCE, "{'stream':'btcusdt@trade','data':{'e':'trade','E':1,'s':'BTCUSDT','t':1,'p':'1.5','q':'2','T':1,'m':true}}"},
		{TD_COINBASE, "{'type':'match','trade_id':1,'side':'sell','size':'1','price':'1','product_id':'X','time':'2021-04-17T16:43:37.089723Z'}"},
		{TD_COINBASE, "{'channel':'market_trades','events':[{'type':'update','trades':[{'product_id':'B','trade_id':'1','price':'1','size':'1','time':'2026-08-09T21:05:42.514318Z','side':'SELL'}]}]}"},
		{TD_KRAKEN, "[993,[['354.11000000','0.89594024','1618678142.557535','s','l','']],'trade','XMR/USD']"},
		{TD_KRAKEN, "{'feed':'trade','product_id':'PI_LTCUSD','uid':'u','side':'buy','time':1,'qty':320.0,'price':119.44}"},
		{TD_FINNHUB, "{'data':[{'c':['1'],'p':122.1,'s':'TSLA','t':1672348887195,'v':1}],'type':'trade'}"},
	};
	td_trade	t[8];
	td_result	r;
	int			bad = 0;
	unsigned	seed = 12345;

	for (size_t s = 0; s < sizeof samples / sizeof samples[0]; s++)
	{
		const char *f = J(samples[s].f);
		size_t		len = strlen(f);

		CHECK(td_decode(samples[s].ex, NULL, f, len, t, 8, &r) == TD_TRADES, "sample %zu: %s", s, r.error);
		for (size_t n = 0; n < len; n++)
		{
			td_kind		k = td_decode(samples[s].ex, NULL, guarded(f, n), n, t, 8, &r);

			bad += k != TD_ERROR || !result_sane(k, &r, t, 8);
		}
	}
	CHECK(bad == 0, "%d truncated frames were not TD_ERROR", bad);

	/* random bytes and random JSON-ish text, every exchange */
	bad = 0;
	for (int i = 0; i < 40000; i++)
	{
		static const char alpha[] = "{}[]\":,0123456789.-eEtruefalsnl' \\u";
		char		buf[256];
		size_t		n = (seed = seed * 1103515245 + 12345) % sizeof buf;
		td_kind		k;

		for (size_t j = 0; j < n; j++)
		{
			seed = seed * 1103515245 + 12345;
			buf[j] = (i & 1) ? (char) (seed >> 16) : alpha[(seed >> 16) % (sizeof alpha - 1)];
		}
		k = td_decode((td_exchange) (i % TD_EXCHANGE_COUNT), NULL, guarded(buf, n), n, t, 8, &r);
		bad += !result_sane(k, &r, t, 8);
	}
	CHECK(bad == 0, "%d garbage inputs broke result invariants", bad);

	CHECK(td_decode(TD_BINANCE, NULL, "", 0, t, 8, &r) == TD_ERROR && strstr(r.error, "empty"), "empty frame");
	CHECK(td_decode(TD_BINANCE, NULL, NULL, 0, t, 8, &r) == TD_ERROR, "NULL frame");
	CHECK(td_decode(TD_BINANCE, NULL, NULL, 5, t, 8, &r) == TD_ERROR, "NULL frame with length");
	CHECK(td_decode(TD_FINNHUB, NULL, "{\"type\":\"ping\"}\0", 16, t, 8, &r) == TD_ERROR
		  && strstr(r.error, "NUL"), "NUL byte");
	CHECK(td_decode(TD_FINNHUB, NULL, "{\"type\":\"ping\"} x", 17, t, 8, &r) == TD_ERROR
		  && strstr(r.error, "trailing"), "trailing garbage");
	CHECK(td_decode(TD_FINNHUB, NULL, "{\"type\":\"ping\"}\r\n", 17, t, 8, &r) == TD_CONTROL, "trailing newline");
	CHECK(td_decode(TD_FINNHUB, NULL, "{\"type\":\"ping\"", 14, t, 8, &r) == TD_ERROR
		  && strstr(r.error, "invalid JSON"), "truncated JSON message: %s", r.error);

	/* wrong types and bad values name the field */
#define BN(fields) "{'stream':'btcusdt@trade','data':{'e':'trade','E':1," fields "}}"
	expect_error(TD_BINANCE, BN("'s':'BTCUSDT','t':1,'p':true,'q':'2','T':1,'m':true"), "\"p\"");
	expect_error(TD_BINANCE, BN("'s':'BTCUSDT','t':1,'p':'NaN','q':'2','T':1,'m':true"), "\"p\"");
	expect_error(TD_BINANCE, BN("'s':'BTCUSDT','t':1,'p':'nan','q':'2','T':1,'m':true"), "\"p\"");
	expect_error(TD_BINANCE, BN("'s':'BTCUSDT','t':1,'p':'inf','q':'2','T':1,'m':true"), "\"p\"");
	expect_error(TD_BINANCE, BN("'s':'BTCUSDT','t':1,'p':'1e999','q':'2','T':1,'m':true"), "not a finite");
	expect_error(TD_BINANCE, BN("'s':'BTCUSDT','t':1,'p':'0','q':'2','T':1,'m':true"), "> 0");
	expect_error(TD_BINANCE, BN("'s':'BTCUSDT','t':1,'p':' 1','q':'2','T':1,'m':true"), "\"p\"");
	expect_error(TD_BINANCE, BN("'s':'BTCUSDT','t':1,'p':'0x10','q':'2','T':1,'m':true"), "\"p\"");
	expect_error(TD_BINANCE, BN("'s':'BTCUSDT','t':1,'p':'1','q':'-1','T':1,'m':true"), "\"q\": negative");
	expect_error(TD_BINANCE, BN("'s':'BTCUSDT','t':1,'p':'1','q':'abc','T':1,'m':true"), "\"q\"");
	expect_error(TD_BINANCE, BN("'s':'BTCUSDT','t':1,'p':'1','T':1,'m':true"), "\"q\": missing");
	expect_error(TD_BINANCE, BN("'s':'BTCUSDT','t':1,'p':'1','q':'1','T':'x','m':true"), "\"T\"");
	expect_error(TD_BINANCE, BN("'s':'BTCUSDT','t':1,'p':'1','q':'1','T':1,'m':'true'"), "\"m\"");
	expect_error(TD_BINANCE, BN("'s':'BTCUSDT','t':-5,'p':'1','q':'1','T':1,'m':true"), "\"t\"");
	expect_error(TD_BINANCE, BN("'s':'BTCUSDT','t':1.5,'p':'1','q':'1','T':1,'m':true"), "\"t\"");
	expect_error(TD_BINANCE, BN("'s':'BTCUSDT','t':1e300,'p':'1','q':'1','T':1,'m':true"), "\"t\"");
	expect_error(TD_BINANCE, BN("'s':5,'t':1,'p':'1','q':'1','T':1,'m':true"), "\"s\"");
	expect_error(TD_BINANCE, BN("'s':'','t':1,'p':'1','q':'1','T':1,'m':true"), "\"s\"");
	expect_error(TD_BINANCE, BN("'s':'BTC\\u0001USDT','t':1,'p':'1','q':'1','T':1,'m':true"), "\"s\"");
	expect_error(TD_BINANCE, BN("'s':'BTC\\u00e9','t':1,'p':'1','q':'1','T':1,'m':true"), "\"s\"");
	expect_error(TD_BINANCE, BN("'s':'A123456789012345678901234567890123456789012345678901234567890123','t':1,'p':'1','q':'1','T':1,'m':true"), "\"s\"");
	expect_error(TD_BINANCE, BN("'s':'BTCUSDT','t':1,'p':'1','q':'1','T':1e300,'m':true"), "\"T\"");
	expect_error(TD_BINANCE, "{'stream':'btcusdt@trade','data':5}", "\"data\"");
#undef BN

	/* 10 MB frames */
	{
		size_t		cap = 11u << 20, n = 0;
		char	   *big = malloc(cap);
		int			ntr = 0;
		td_trade   *many;

		n += (size_t) sprintf(big, "{\"type\":\"trade\",\"data\":[");
		while (n < (10u << 20))
			n += (size_t) sprintf(big + n, "%s{\"p\":%d.25,\"s\":\"SYM%d\",\"t\":1672348887195,\"v\":2}",
								  ntr ? "," : "", ntr % 1000 + 1, ntr % 7), ntr++;
		n += (size_t) sprintf(big + n, "]}");
		CHECK(td_decode(TD_FINNHUB, NULL, big, n, t, 8, &r) == TD_OVERFLOW && r.needed == ntr,
			  "10 MB frame: %s needed %d of %d", td_kind_name(r.kind), r.needed, ntr);
		many = malloc((size_t) ntr * sizeof *many);
		CHECK(td_decode(TD_FINNHUB, NULL, big, n, many, ntr, &r) == TD_TRADES && r.ntrades == ntr
			  && many[ntr - 1].qty == 2 && many[ntr - 1].price == (ntr - 1) % 1000 + 1.25,
			  "10 MB frame decoded after retry: %s", r.error);
		free(many);
		memset(big, '[', 10u << 20);
		CHECK(td_decode(TD_KRAKEN, NULL, big, 10u << 20, t, 8, &r) == TD_ERROR, "10 MB of '['");
		n = (size_t) sprintf(big, "{\"e\":\"trade\",\"s\":\"");
		memset(big + n, 'A', 10u << 20);
		n += 10u << 20;
		n += (size_t) sprintf(big + n, "\",\"t\":1,\"p\":\"1\",\"q\":\"1\",\"T\":1,\"m\":true}");
		CHECK(td_decode(TD_BINANCE, NULL, big, n, t, 8, &r) == TD_ERROR && strstr(r.error, "\"s\""),
			  "10 MB symbol: %s", r.error);
		free(big);
		big = malloc(TD_MAX_FRAME_LEN + 1u);
		memset(big, ' ', TD_MAX_FRAME_LEN + 1u);
		CHECK(td_decode(TD_BINANCE, NULL, big, TD_MAX_FRAME_LEN + 1u, t, 8, &r) == TD_ERROR
			  && strstr(r.error, "too large"), "frame above TD_MAX_FRAME_LEN");
		free(big);
	}
}

/* ---- generic map -------------------------------------------------------- */

/* Decode one single-quoted frame with a generic map. */
static td_kind
G(const td_generic_map *m, const char *frame, td_trade *t, int cap, td_result *r)
{
	const char *f = J(frame);

	return td_decode(TD_GENERIC, m, f, strlen(f), t, cap, r);
}

/* Timestamp of {'s':'X','p':'1','q':'1','ts':<value>} read with `unit`; -1 on error. */
static long long
generic_ts(td_ts_unit unit, const char *value)
{
	td_generic_map m = {.instrument = "s", .price = "p", .qty = "q", .ts = "ts", .ts_unit = unit};
	char		f[256];
	td_trade	t[1];
	td_result	r;

	snprintf(f, sizeof f, "{'s':'X','p':'1','q':'1','ts':%s}", value);
	return G(&m, f, t, 1, &r) == TD_TRADES ? (long long) t[0].ts_us : -1;
}

/* Generic decoder: Binance-equivalent map over a capture, units, ids, sides. */
static void
test_generic(const char *shared)
{
	td_generic_map bm = {.match_path = "data.e", .match_value = "trade", .instrument = "data.s",
		.price = "data.p", .qty = "data.q", .ts = "data.T", .ts_unit = TD_TS_MS, .trade_id = "data.t",
	.side = "data.m", .side_mode = TD_SIDE_MAKER};
	td_generic_map km = {.items = "1", .instrument = "$.3", .price = "0", .qty = "1", .ts = "2",
	.ts_unit = TD_TS_S, .side = "3"};
	char		path[4200], err[TD_ERROR_MAX];
	lines		L;
	td_trade	t[4], u[4];
	td_result	r, r2;
	int			same = 0, frames = 0;
	struct tm	tm = {.tm_year = 124, .tm_mon = 1, .tm_mday = 29, .tm_hour = 23, .tm_min = 59, .tm_sec = 59};

	snprintf(path, sizeof path, "%s/websocket/binance/spot_ethusdt_trade_2024-08-08T2354Z_0005Z.jsonl", shared);
	if (load_lines(path, &L) == 0)
	{
		for (int i = 0; i < L.n; i++)
		{
			td_kind		k1 = td_decode(TD_GENERIC, &bm, L.line[i], L.len[i], t, 4, &r);
			td_kind		k2 = td_decode(TD_BINANCE, NULL, L.line[i], L.len[i], u, 4, &r2);

			frames += k2 == TD_TRADES;
			same += k1 == k2 && r.ntrades == r2.ntrades && memcmp(t, u, (size_t) r.ntrades * sizeof *t) == 0;
		}
		CHECK(frames > 1000 && same == L.n, "generic Binance map: %d/%d frames identical", same, L.n);
		free_lines(&L);
	}
	else
		CHECK(0, "cannot read %s", path);
	CHECK(G(&bm, "{'stream':'x@depth','data':{'e':'depthUpdate'}}", t, 4, &r) == TD_CONTROL, "generic no match");
	CHECK(G(&km, "[993,[['354.11','0.8','1618678142.557535','s','l',''],['1','2','1618678142.000001','b','m','']],'trade','XMR/USD']",
			t, 4, &r) == TD_TRADES && r.ntrades == 2, "generic array items: %s", r.error);
	expect_trade("generic kraken-like", &t[1], "XMR/USD", -1, 1, 1618678142000001, 1, 2, 'b');
	CHECK(t[0].trade_id != t[1].trade_id, "generic derived ids distinct");
	CHECK(G(&km, "{'event':'heartbeat'}", t, 4, &r) == TD_CONTROL, "generic: items path absent => control");

	/* timestamp units */
	CHECK(generic_ts(TD_TS_S, "'1618678142.557535'") == 1618678142557535LL, "ts s string exact");
	CHECK(generic_ts(TD_TS_S, "1618678142.557535") == 1618678142557535LL, "ts s number rounded to us");
	CHECK(generic_ts(TD_TS_S, "'1618678142.5575359999'") == 1618678142557535LL, "ts s string truncated");
	CHECK(generic_ts(TD_TS_MS, "1723161255342") == 1723161255342000LL, "ts ms number");
	CHECK(generic_ts(TD_TS_MS, "'1723161255342.5'") == 1723161255342500LL, "ts ms string");
	CHECK(generic_ts(TD_TS_US, "1723161255342123") == 1723161255342123LL, "ts us number");
	CHECK(generic_ts(TD_TS_NS, "'1723161255342123456'") == 1723161255342123LL, "ts ns string");
	CHECK(generic_ts(TD_TS_RFC3339, "'2026-08-09T21:05:48.228568804Z'") == 1786309548228568LL, "rfc3339 9 digits truncated");
	CHECK(generic_ts(TD_TS_RFC3339, "'2026-08-09t21:05:48z'") == 1786309548000000LL, "rfc3339 lower case");
	CHECK(generic_ts(TD_TS_RFC3339, "'2024-02-29T23:59:59.999999+01:00'") == (long long) (timegm(&tm) - 3600) * 1000000 + 999999,
		  "rfc3339 leap day with offset");
	CHECK(generic_ts(TD_TS_RFC3339, "'2023-02-29T00:00:00Z'") == -1, "rfc3339 Feb 29 of a common year");
	CHECK(generic_ts(TD_TS_RFC3339, "'1969-12-31T23:59:59Z'") == -1, "rfc3339 before 1970");
	CHECK(generic_ts(TD_TS_RFC3339, "'2024-01-01T00:00:00.Z'") == -1, "rfc3339 empty fraction");
	CHECK(generic_ts(TD_TS_RFC3339, "'2024-01-01T00:00:00Z '") == -1, "rfc3339 trailing space");
	CHECK(generic_ts(TD_TS_RFC3339, "1700000000") == -1, "rfc3339 given a number");
	CHECK(generic_ts(TD_TS_S, "'-1'") == -1 && generic_ts(TD_TS_S, "'1e5'") == -1 && generic_ts(TD_TS_S, "'1.'") == -1,
		  "bad decimal timestamps");
	CHECK(generic_ts(TD_TS_S, "'99999999999999999999'") == -1 && generic_ts(TD_TS_MS, "1e300") == -1,
		  "out-of-range timestamps");

	/* ids and sides */
	{
		td_generic_map m = {.instrument_const = "CONST", .price = "p", .qty = "q", .ts = "t",
		.ts_unit = TD_TS_MS, .trade_id = "id", .side = "sd"};
		static const char *const sides[][2] = {{"'BUY'", "b"}, {"'Sell'", "s"}, {"'bid'", "b"}, {"'offer'", "s"},
		{"true", "b"}, {"false", "s"}, {"null", ""}};

		CHECK(G(&m, "{'p':'1','q':'1','t':1,'id':'abc','sd':'b'}", t, 4, &r) == TD_TRADES
			  && t[0].id_derived && strcmp(t[0].instrument, "CONST") == 0, "generic string id / instrument_const");
		CHECK(G(&m, "{'p':'1','q':'1','t':1,'id':9007199254740994,'sd':'b'}", t, 4, &r) == TD_ERROR
			  && strstr(r.error, "\"id\""), "id above 2^53");
		CHECK(G(&m, "{'p':'1','q':'1','t':1,'id':'9223372036854775807','sd':'b'}", t, 4, &r) == TD_TRADES
			  && t[0].trade_id == INT64_MAX && !t[0].id_derived, "INT64_MAX string id");
		for (size_t i = 0; i < sizeof sides / sizeof sides[0]; i++)
		{
			char		f[128];

			snprintf(f, sizeof f, "{'p':'1','q':'1','t':1,'id':1,'sd':%s}", sides[i][0]);
			CHECK(G(&m, f, t, 4, &r) == TD_TRADES && t[0].side == sides[i][1][0], "side %s", sides[i][0]);
		}
		CHECK(G(&m, "{'p':'1','q':'1','t':1,'id':1,'sd':'up'}", t, 4, &r) == TD_ERROR, "unknown side");
		CHECK(G(&m, "{'p':'1','q':'1','t':1,'id':1}", t, 4, &r) == TD_ERROR && strstr(r.error, "missing"),
			  "mapped side missing");
		m.side_mode = TD_SIDE_MAKER;
		CHECK(G(&m, "{'p':'1','q':'1','t':1,'id':1,'sd':'BUY'}", t, 4, &r) == TD_TRADES && t[0].side == 's',
			  "maker side inverted");
	}

	/* map validation */
	{
		td_generic_map m = {.instrument = "s", .price = "p", .qty = "q", .ts = "t"};

		CHECK(td_generic_map_check(&m, err, sizeof err) == 0, "valid map: %s", err);
		CHECK(td_generic_map_check(NULL, err, sizeof err) == -1, "NULL map");
		CHECK(td_decode(TD_GENERIC, NULL, "{}", 2, t, 4, &r) == TD_ERROR && strstr(r.error, "map"), "generic without map");
		m.price = "a..b";
		CHECK(td_generic_map_check(&m, err, sizeof err) == -1, "malformed path");
		m.price = NULL;
		CHECK(td_generic_map_check(&m, err, sizeof err) == -1 && strstr(err, "required"), "missing price path");
		m.price = "p";
		m.match_path = "type";
		CHECK(td_generic_map_check(&m, err, sizeof err) == -1, "match_path without value");
		m.match_path = NULL;
		m.ts_unit = (td_ts_unit) 9;
		CHECK(td_generic_map_check(&m, err, sizeof err) == -1, "bad ts unit");
	}
}

/* ---- subscriptions and symbols ------------------------------------------ */

/* Expect td_subscribe_message output. */
static void
expect_sub(td_feed feed, const char *const *ins, int n, const char *expected)
{
	char		out[512];
	int			len = td_subscribe_message(feed, ins, n, out, sizeof out);

	CHECK(len == (int) strlen(J(expected)) && strcmp(out, J(expected)) == 0,
		  "subscribe %s: got %d '%s'", td_feed_name(feed), len, out);
}

/* Subscribe messages, Binance stream paths, names, canonical symbols. */
static void
test_subscribe(void)
{
	const char *const bn[] = {"BTCUSDT", "ethusdt"};
	const char *const cb[] = {"BTC-USD", "ETH-USD"};
	const char *const kr[] = {"XBT/USD", "ETH/USD"};
	const char *const fh[] = {"AAPL", "BINANCE:BTCUSDT"};
	const char *const bad[] = {"BTC\x01USD"};
	const char *const quote[] = {"A\"B"};
	char		out[512], small[10];
	td_feed		feed;
	td_exchange ex;

	expect_sub(TD_FEED_BINANCE_TRADE, bn, 2, "{'method':'SUBSCRIBE','params':['btcusdt@trade','ethusdt@trade'],'id':1}");
	expect_sub(TD_FEED_BINANCE_AGGTRADE, bn, 1, "{'method':'SUBSCRIBE','params':['btcusdt@aggTrade'],'id':1}");
	expect_sub(TD_FEED_COINBASE_MATCHES, cb, 2, "{'type':'subscribe','product_ids':['BTC-USD','ETH-USD'],'channels':['matches']}");
	expect_sub(TD_FEED_COINBASE_ADVANCED, cb, 1, "{'type':'subscribe','product_ids':['BTC-USD'],'channel':'market_trades'}\n"
			   "{'type':'subscribe','channel':'heartbeats'}");
	expect_sub(TD_FEED_KRAKEN_V1, kr, 2, "{'event':'subscribe','pair':['XBT/USD','ETH/USD'],'subscription':{'name':'trade'}}");
	expect_sub(TD_FEED_KRAKEN_V2, kr + 1, 1, "{'method':'subscribe','params':{'channel':'trade','symbol':['ETH/USD']}}");
	expect_sub(TD_FEED_KRAKEN_FUTURES, (const char *const[]) {"PI_XBTUSD"}, 1,
			   "{'event':'subscribe','feed':'trade','product_ids':['PI_XBTUSD']}");
	expect_sub(TD_FEED_FINNHUB, fh, 2, "{'type':'subscribe','symbol':'AAPL'}\n{'type':'subscribe','symbol':'BINANCE:BTCUSDT'}");
	CHECK(td_subscribe_message(TD_FEED_KRAKEN_V1, quote, 1, out, sizeof out) > 0 && strstr(out, "A\\\"B"),
		  "quotes are JSON-escaped: %s", out);
	CHECK(td_subscribe_message(TD_FEED_FINNHUB, fh, 2, small, sizeof small) > (int) sizeof small && small[0] == 0,
		  "too-small buffer: needed length, empty output");
	CHECK(td_subscribe_message(TD_FEED_FINNHUB, fh, 2, NULL, 0) == td_subscribe_message(TD_FEED_FINNHUB, fh, 2, out, sizeof out)
		  && strlen(out) == 84, "length query with NULL buffer");
	CHECK(td_subscribe_message(TD_FEED_FINNHUB, fh, 0, out, sizeof out) == -1, "no symbols");
	CHECK(td_subscribe_message(TD_FEED_FINNHUB, bad, 1, out, sizeof out) == -1, "control char in symbol");
	CHECK(td_subscribe_message((td_feed) 42, fh, 1, out, sizeof out) == -1, "bad feed");
	CHECK(td_binance_stream_path(TD_FEED_BINANCE_AGGTRADE, bn, 2, out, sizeof out) == 49
		  && strcmp(out, "/stream?streams=btcusdt@aggTrade/ethusdt@aggTrade") == 0, "stream path: %s", out);
	CHECK(td_binance_stream_path(TD_FEED_BINANCE_TRADE, kr, 1, out, sizeof out) == -1, "stream path rejects '/'");
	CHECK(td_binance_stream_path(TD_FEED_KRAKEN_V1, bn, 1, out, sizeof out) == -1, "stream path needs a Binance feed");
	CHECK(td_feed_from_name("KRAKEN_V2", &feed) == 0 && feed == TD_FEED_KRAKEN_V2
		  && td_feed_exchange(feed) == TD_KRAKEN && td_feed_from_name("nope", &feed) == -1, "feed names");
	CHECK(td_exchange_from_name("Coinbase", &ex) == 0 && ex == TD_COINBASE
		  && strcmp(td_exchange_name(TD_GENERIC), "generic") == 0 && td_exchange_from_name("x", &ex) == -1,
		  "exchange names");
}

/* Default canonical symbol rule. */
static void
test_canonical(void)
{
	static const char *const cases[][2] = {
		{"BTCUSDT", "BTC"}, {"btcusdt", "BTC"}, {"XBT/USD", "BTC"}, {"BTC-USD", "BTC"},
		{"BINANCE:BTCUSDT", "BTC"}, {"PI_XBTUSD", "BTC"}, {"FI_XBTUSD_210924", "BTC"},
		{"BCHUSD_PERP", "BCH"}, {"ETHUSD_210924", "ETH"}, {"ETHBTC", "ETH"}, {"LRCBTC", "LRC"},
		{"OMGBUSD", "OMG"}, {"BTCUSDC", "BTC"}, {"USDCUSDT", "USDC"}, {"XDG/EUR", "DOGE"},
		{"SKL-GBP", "SKL"}, {"TSLA", "TSLA"}, {"AAPL", "AAPL"}, {"OANDA:EUR_USD", "EUR"},
		{"1000SHIBUSDT", "1000SHIB"}, {"USD", "USD"}, {"XETH", "XETH"}, {"PF_SOLUSD", "SOL"},
		{"BNBUSD", "BNB"}, {"PF_DOTUSD", "DOT"}, {"BTCBUSD", "BTC"}, {"OPUSDT", "OP"}, {"ETHTUSD", "ETH"},
	};
	char		out[64];

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
		CHECK(td_canonical_symbol(cases[i][0], out, sizeof out) == 0 && strcmp(out, cases[i][1]) == 0,
			  "canonical %s -> '%s', expected %s", cases[i][0], out, cases[i][1]);
	CHECK(td_canonical_symbol("", out, sizeof out) == -1 && out[0] == 0, "canonical empty");
	CHECK(td_canonical_symbol("BTC\xc3\xa9", out, sizeof out) == -1, "canonical non-ASCII");
	CHECK(td_canonical_symbol("BTCUSDT", out, 3) == -1, "canonical small buffer");
	CHECK(td_canonical_symbol(NULL, out, sizeof out) == -1, "canonical NULL");
}

/* ---- main --------------------------------------------------------------- */

/* Run every test group; exit 1 if any check failed. */
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
