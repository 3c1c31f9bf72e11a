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
 * 2. Known frames: side conventions, exact timestamps, ids, snapshot flags.
 * 3. Derived ids: stable across two decodes, distinct across trades.
 * 4. (test_decode_input.c) Hostile input: every prefix of sample frames, wrong types, garbage,
 *    empty, NUL bytes, 10 MB frames, NaN/Inf/negative values, overflow guard.
 * 5. Generic map, subscribe messages, canonical symbols.
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

/* ---- known frames ------------------------------------------------------ */

/*
 * J
 *	  Frame text with ' turned into " (keeps the literals below readable).
 */
const char *
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

/*
 * D
 *	  Decode a single-quoted frame literal.
 */
td_kind
D(td_exchange ex, const char *frame, td_trade *out, int cap, td_result *r)
{
	const char *f = J(frame);

	return tsk_td_decode(ex, NULL, f, strlen(f), out, cap, r);
}

/*
 * expect_control
 *	  Decode and expect one TD_CONTROL frame.
 */
void
expect_control(td_exchange ex, const char *frame)
{
	td_trade	t[4];
	td_result	r;
	td_kind		k = D(ex, frame, t, 4, &r);

	CHECK(k == TD_CONTROL, "%s: expected control, got %s (%s): %s", tsk_td_exchange_name(ex),
		  tsk_td_kind_name(k), r.error, J(frame));
}

/*
 * expect_error
 *	  Decode and expect TD_ERROR whose message contains `needle`.
 */
void
expect_error(td_exchange ex, const char *frame, const char *needle)
{
	td_trade	t[4];
	td_result	r;
	td_kind		k = D(ex, frame, t, 4, &r);

	CHECK(k == TD_ERROR && strstr(r.error, needle) != NULL,
		  "%s: expected error containing '%s', got %s '%s': %.200s", tsk_td_exchange_name(ex),
		  needle, tsk_td_kind_name(k), r.error, J(frame));
}

/*
 * expect_trade
 *	  Expect one trade with the given fields.
 */
void
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

/*
 * test_binance
 *	  Binance: trade/aggTrade, spot/futures, side from m, controls, errors.
 */
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

/*
 * test_coinbase
 *	  Coinbase: legacy match (maker side), Advanced Trade, controls, errors.
 */
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

/*
 * test_kraken
 *	  Kraken: v1 arrays (derived ids), v2, futures, controls, errors.
 */
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

/*
 * test_finnhub
 *	  Finnhub: multi-trade frames, no side, derived ids, ping.
 */
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

/*
 * test_canonical
 *	  The default canonical-symbol rule (tsk_td_canonical_symbol) on real
 *	  instrument names of every exchange, and its refusals.
 */
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
		CHECK(tsk_td_canonical_symbol(cases[i][0], out, sizeof out) == 0 && strcmp(out, cases[i][1]) == 0,
			  "canonical %s -> '%s', expected %s", cases[i][0], out, cases[i][1]);
	CHECK(tsk_td_canonical_symbol("", out, sizeof out) == -1 && out[0] == 0, "canonical empty");
	CHECK(tsk_td_canonical_symbol("BTC\xc3\xa9", out, sizeof out) == -1, "canonical non-ASCII");
	CHECK(tsk_td_canonical_symbol("BTCUSDT", out, 3) == -1, "canonical small buffer");
	CHECK(tsk_td_canonical_symbol(NULL, out, sizeof out) == -1, "canonical NULL");
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
