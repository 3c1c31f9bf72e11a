/*
 * test_backfill_more.c
 *	  second half of the backfill unit test (see test_backfill.c): Coinbase
 *	  trades, Kraken Trades, candles of the three exchanges, hostile pages and
 *	  the URL of every endpoint.
 */
#include "test_backfill.h"
#include "backfill/idgap.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void test_candles_built(const char *shared);

/*
 * test_coinbase
 *	  Coinbase: the recorded /products/BTC-USD/trades pages, paged by "after".
 */
void
test_coinbase(const char *shared)
{
	char		path[1024];
	char	   *text,
			   *line,
			   *save = NULL;
	dataset		ds = {0};
	td_trade   *all = malloc(sizeof(td_trade) * 2000);
	bf_job		job = {.ep = BF_COINBASE_TRADES, .base_url = "http://x", .instrument = "BTC-USD",
	.limit = 100, .has_range = true};
	int			pages,
				got,
				want = 0,
				mismatch = 0;
	char		err[256];

	snprintf(path, sizeof(path), "%s/data/trades/coinbase_btcusd_rest_trades_2016-05-12.jsonl", shared);
	text = slurp(path, NULL);
	ds.json = malloc(sizeof(char *) * 1300);
	ds.id = malloc(sizeof(long long) * 1300);
	ds.t = malloc(sizeof(long long) * 1300);
	for (line = strtok_r(text, "\n", &save); line && ds.n < 1300; line = strtok_r(NULL, "\n", &save))
	{
		cJSON	   *o = cJSON_Parse(line);

		ds.json[ds.n] = line;
		ds.id[ds.n] = (long long) cJSON_GetObjectItem(o, "trade_id")->valuedouble;
		ds.t[ds.n++] = iso_us(cJSON_GetObjectItem(o, "time")->valuestring);
		cJSON_Delete(o);
	}
	CHECK(ds.n == 1200, "coinbase dump has %d trades", ds.n);
	job.from_us = ds.t[150];
	job.to_us = ds.t[1050];
	got = run_job(&job, &ds, fake_coinbase, all, 2000, &pages, err);
	/* stored newest first: walk the dump backwards */
	for (int i = ds.n - 1; i >= 0; i--)
	{
		cJSON	   *o;

		if (ds.t[i] < job.from_us || ds.t[i] >= job.to_us)
			continue;
		o = cJSON_Parse(ds.json[i]);
		if (want < got &&
			(all[want].trade_id != ds.id[i] || all[want].ts_us != ds.t[i] ||
			 all[want].price != strtod(cJSON_GetObjectItem(o, "price")->valuestring, NULL) ||
			 all[want].qty != strtod(cJSON_GetObjectItem(o, "size")->valuestring, NULL) ||
			 all[want].side != (strcmp(cJSON_GetObjectItem(o, "side")->valuestring, "buy") == 0 ? 's' : 'b')))
			mismatch++;
		cJSON_Delete(o);
		want++;
	}
	CHECK(got == want && mismatch == 0 && want > 800, "coinbase range: %d rows (%s), want %d, %d mismatches",
		  got, err, want, mismatch);
	printf("coinbase trades: %d rows over %d pages (newest first), 0 mismatches\n", got, pages);

	/* a range far behind the newest trade: found by probes, not by paging
	 * down through the 900 newer trades (45 pages of 20) */
	job.limit = 20;
	job.from_us = ds.t[100];
	job.to_us = ds.t[300];
	got = run_job(&job, &ds, fake_coinbase, all, 2000, &pages, err);
	want = 0;
	mismatch = 0;
	for (int i = 299; i >= 0; i--)
		if (ds.t[i] >= job.from_us && ds.t[i] < job.to_us)
			mismatch += want < got && all[want++].trade_id != ds.id[i];
	CHECK(got == want && want == 200 && mismatch == 0 && pages < 30,
		  "coinbase seek: %d rows (want %d, %d mismatches) in %d requests (%s)", got, want, mismatch, pages, err);
	printf("coinbase trades, a range 900 trades behind the newest: %d rows in %d requests\n", got, pages);

	/* id range: the gap 8408500..8408777 */
	job.limit = 100;
	job.has_ids = true;
	job.has_range = false;
	job.from_id = 8408500;
	job.to_id = 8408777;
	got = run_job(&job, &ds, fake_coinbase, all, 2000, &pages, err);
	CHECK(got == 278 && all[0].trade_id == 8408777 && all[277].trade_id == 8408500,
		  "coinbase ids: %d rows over %d pages (%s)", got, pages, err);
	free(ds.json);
	free(ds.id);
	free(ds.t);
	free(text);
	free(all);
}

/*
 * test_kraken
 *	  Kraken: the recorded /0/public/Trades answer, paged by "last".
 */
void
test_kraken(const char *shared)
{
	char		path[1024];
	char	   *text;
	cJSON	   *root,
			   *rows;
	dataset		ds = {0};
	td_trade   *all = malloc(sizeof(td_trade) * 1000);
	bf_job		job = {.ep = BF_KRAKEN_TRADES, .base_url = "http://x", .instrument = "XBT/USDT",
	.limit = 128, .has_range = true};
	int			pages,
				got,
				want = 0,
				mismatch = 0;
	char		err[256];

	snprintf(path, sizeof(path), "%s/data/trades/kraken_xbtusdt_rest_trades_2025-11-10.json", shared);
	text = slurp(path, NULL);
	root = cJSON_Parse(text);
	rows = cJSON_GetObjectItem(cJSON_GetObjectItem(root, "result"), "XBTUSDT");
	ds.n = cJSON_GetArraySize(rows);
	CHECK(ds.n == 800, "kraken dump has %d trades", ds.n);
	ds.json = malloc(sizeof(char *) * ds.n);
	ds.id = malloc(sizeof(long long) * ds.n);
	ds.t = malloc(sizeof(long long) * ds.n);
	for (int i = 0; i < ds.n; i++)
	{
		cJSON	   *r = cJSON_GetArrayItem(rows, i);

		ds.json[i] = cJSON_PrintUnformatted(r);
		ds.id[i] = (long long) cJSON_GetArrayItem(r, 6)->valuedouble;
		ds.t[i] = llround(cJSON_GetArrayItem(r, 2)->valuedouble * 1e6) * 1000;	/* ns */
	}
	job.from_us = ds.t[100] / 1000;
	job.to_us = ds.t[700] / 1000;
	got = run_job(&job, &ds, fake_kraken, all, 1000, &pages, err);
	for (int i = 0; i < ds.n; i++)
	{
		cJSON	   *r = cJSON_GetArrayItem(rows, i);

		if (ds.t[i] / 1000 < job.from_us || ds.t[i] / 1000 >= job.to_us)
			continue;
		if (want < got &&
			(all[want].trade_id != ds.id[i] || all[want].ts_us != ds.t[i] / 1000 ||
			 all[want].price != strtod(cJSON_GetArrayItem(r, 0)->valuestring, NULL) ||
			 all[want].qty != strtod(cJSON_GetArrayItem(r, 1)->valuestring, NULL) ||
			 all[want].side != cJSON_GetArrayItem(r, 3)->valuestring[0]))
			mismatch++;
		want++;
	}
	CHECK(got == want && want == 607 && mismatch == 0, "kraken range: %d rows (%s), want %d, %d mismatches",
		  got, err, want, mismatch);
	printf("kraken trades: %d rows over %d pages, 0 mismatches\n", got, pages);

	/* id range with a start time to seek from (Kraken v2 gap repair) */
	job.has_ids = true;
	job.from_id = ds.id[300];
	job.to_id = ds.id[420];
	job.from_us = ds.t[299] / 1000;
	got = run_job(&job, &ds, fake_kraken, all, 1000, &pages, err);
	CHECK(got == 121 && all[0].trade_id == ds.id[300] && all[120].trade_id == ds.id[420],
		  "kraken ids: %d rows (%s)", got, err);
	for (int i = 0; i < ds.n; i++)
		cJSON_free(ds.json[i]);
	free(ds.json);
	free(ds.id);
	free(ds.t);
	cJSON_Delete(root);
	free(text);
	free(all);
}

/*
 * test_candles
 *	  Candles: Kraken OHLC (real answer), Binance klines and Coinbase candles
 *	  answers built from real 1-minute files, each paged to the end.
 */
void
test_candles(const char *shared)
{
	char		path[1024];
	char	   *text;
	cJSON	   *root,
			   *rows;
	bf_job		job = {.ep = BF_KRAKEN_OHLC, .base_url = "http://x", .instrument = "XBTUSDT",
	.limit = 720, .has_range = true};
	bf_cursor	cur;
	bf_page		page;
	bf_step_result res;
	int			n,
				traded = 0,
				mismatch = 0;

	snprintf(path, sizeof(path), "%s/data/candles/crypto/kraken_xbtusdt_rest_ohlc_1m_2025-11-10.json", shared);
	text = slurp(path, NULL);
	root = cJSON_Parse(text);
	rows = cJSON_GetObjectItem(cJSON_GetObjectItem(root, "result"), "XBTUSDT");
	n = cJSON_GetArraySize(rows);
	tsk_bf_cursor_parse("", &cur);
	job.from_us = (int64_t) cJSON_GetArrayItem(cJSON_GetArrayItem(rows, 0), 0)->valuedouble * 1000000;
	job.to_us = job.from_us + (int64_t) 1000 * 60000000;
	CHECK(tsk_bf_parse(&job, &cur, text, strlen(text), NULL, candles, CAP, &page) == 0 && page.n == n,
		  "kraken ohlc parse: %d of %d (%s)", page.n, n, page.error);
	CHECK(page.has_next && strcmp(page.next, "1762820160") == 0, "kraken ohlc last %s", page.next);
	for (int i = 0; i < n && i < page.n; i++)
	{
		cJSON	   *r = cJSON_GetArrayItem(rows, i);
		const bf_candle *c = &candles[i];
		double		vol = strtod(cJSON_GetArrayItem(r, 6)->valuestring, NULL);

		if (c->open_us != (int64_t) cJSON_GetArrayItem(r, 0)->valuedouble * 1000000 ||
			c->open != strtod(cJSON_GetArrayItem(r, 1)->valuestring, NULL) ||
			c->high != strtod(cJSON_GetArrayItem(r, 2)->valuestring, NULL) ||
			c->low != strtod(cJSON_GetArrayItem(r, 3)->valuestring, NULL) ||
			c->close != strtod(cJSON_GetArrayItem(r, 4)->valuestring, NULL) ||
			c->volume != vol ||
			(vol > 0 ? c->vwap != strtod(cJSON_GetArrayItem(r, 5)->valuestring, NULL) : !isnan(c->vwap)) ||
			c->trades != (int64_t) cJSON_GetArrayItem(r, 7)->valuedouble)
			mismatch++;
		traded += cJSON_GetArrayItem(r, 7)->valuedouble > 0;
	}
	CHECK(mismatch == 0, "kraken ohlc fields: %d mismatches", mismatch);
	tsk_bf_step(&job, &cur, &page, NULL, candles, INT64_MAX, &res);
	CHECK(res.nkeep == traded && traded == 407 && !res.done && res.next.mode == BF_CUR_TOKEN,
		  "kraken ohlc step keeps the %d traded minutes (kept %d)", traded, res.nkeep);
	/* the same answer again: nothing new, the job ends (Kraken keeps 720 minutes) */
	cur = res.next;
	tsk_bf_parse(&job, &cur, text, strlen(text), NULL, candles, CAP, &page);
	tsk_bf_step(&job, &cur, &page, NULL, candles, INT64_MAX, &res);
	CHECK(res.done && res.nkeep == 0, "kraken ohlc: a repeated answer ends the job");
	/* not closed yet: a candle whose minute has not ended is not stored */
	tsk_bf_cursor_parse("", &cur);
	tsk_bf_parse(&job, &cur, text, strlen(text), NULL, candles, CAP, &page);
	tsk_bf_step(&job, &cur, &page, NULL, candles, job.from_us + 30 * 60000000LL + 30000000, &res);
	CHECK(res.done && res.nkeep < traded, "kraken ohlc: the open minute ends the job");
	cJSON_Delete(root);
	free(text);
	printf("kraken ohlc: %d candles parsed, %d with trades kept, 0 mismatches\n", n, traded);

	test_candles_built(shared);
}

/* A candle file's rows: open time (µs) and the five numbers. */
typedef struct
{
	int			n;
	int64_t    *t;
	double	   *v[5];			/* open, high, low, close, volume */
} candle_file;

/*
 * read_candle_file
 *	  Reads a CSV of 1-minute candles: btc_perp (header, naive UTC) or Lean
 *	  (ms).
 */
static void
read_candle_file(const char *path, int64_t day_us, candle_file *cf)
{
	FILE	   *f = fopen(path, "r");
	char		line[512];

	memset(cf, 0, sizeof(*cf));
	cf->t = malloc(sizeof(int64_t) * 40000);
	for (int k = 0; k < 5; k++)
		cf->v[k] = malloc(sizeof(double) * 40000);
	while (f && fgets(line, sizeof(line), f) && cf->n < 40000)
	{
		struct tm	tm = {0};
		char	   *p = line;

		if (day_us < 0)
		{
			if (sscanf(line, "%d-%d-%d %d:%d:%d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
					   &tm.tm_min, &tm.tm_sec) != 6)
				continue;		/* header */
			tm.tm_year -= 1900;
			tm.tm_mon -= 1;
			cf->t[cf->n] = (int64_t) timegm(&tm) * 1000000;
		}
		else
			cf->t[cf->n] = day_us + strtoll(line, NULL, 10) * 1000;
		for (int k = 0; k < 5; k++)
		{
			p = strchr(p, ',');
			cf->v[k][cf->n] = strtod(++p, NULL);
		}
		cf->n++;
	}
	if (f)
		fclose(f);
}

/*
 * fake_candles
 *	  Answers klines (ascending) or Coinbase candles (newest first) from cf.
 */
static char *
fake_candles(const candle_file *cf, bf_endpoint ep, const char *url)
{
	size_t		cap = 1 << 20,
				len = 1;
	char	   *out = malloc(cap);
	int64_t		lo,
				hi;
	int			limit = (int) qparam(url, "limit", 300),
				k = 0;

	if (ep == BF_BINANCE_KLINES)
	{
		lo = qparam(url, "startTime", 0) * 1000;
		hi = qparam(url, "endTime", 0) * 1000;
	}
	else
	{
		lo = iso_us(strstr(url, "start=") + 6);
		hi = iso_us(strstr(url, "end=") + 4);
	}
	strcpy(out, "[");
	for (int j = 0; j < cf->n && k < limit; j++)
	{
		int			i = ep == BF_BINANCE_KLINES ? j : cf->n - 1 - j;

		if (cf->t[i] < lo || cf->t[i] > hi)
			continue;
		if (ep == BF_BINANCE_KLINES)	/* quote volume and trade count are not in the file */
			len += sprintf(out + len, "%s[%lld,\"%.17g\",\"%.17g\",\"%.17g\",\"%.17g\",\"%.17g\",%lld,"
						   "\"%.17g\",%d,\"0\",\"0\",\"0\"]", k++ ? "," : "",
						   (long long) (cf->t[i] / 1000), cf->v[0][i], cf->v[1][i], cf->v[2][i],
						   cf->v[3][i], cf->v[4][i], (long long) (cf->t[i] / 1000 + 59999),
						   cf->v[4][i] * 2, i % 7 + 1);
		else
			len += sprintf(out + len, "%s[%lld,%.17g,%.17g,%.17g,%.17g,%.17g]", k++ ? "," : "",
						   (long long) (cf->t[i] / 1000000), cf->v[2][i], cf->v[1][i], cf->v[0][i],
						   cf->v[3][i], cf->v[4][i]);
	}
	strcpy(out + len, "]");
	return out;
}

/*
 * run_candles
 *	  Pages a candle job to its end; checks every stored candle against cf.
 */
static void
run_candles(const bf_job *job, const candle_file *cf, const char *what)
{
	bf_cursor	cur;
	int			pages = 0,
				stored = 0,
				want = 0,
				mismatch = 0,
				i = 0;

	tsk_bf_cursor_parse("", &cur);
	while (cur.mode != BF_CUR_DONE && pages < 1000)
	{
		char		url[BF_URL_MAX];
		char	   *body;
		bf_page		page;
		bf_step_result res;

		tsk_bf_page_url(job, &cur, url, sizeof(url));
		body = fake_candles(cf, job->ep, url);
		if (tsk_bf_parse(job, &cur, body, strlen(body), NULL, candles, CAP, &page) != 0)
		{
			CHECK(0, "%s: parse: %s", what, page.error);
			free(body);
			return;
		}
		free(body);
		tsk_bf_step(job, &cur, &page, NULL, candles, INT64_MAX, &res);
		if (res.error[0] || res.no_progress)
		{
			CHECK(0, "%s: step: %s", what, res.error);
			return;
		}
		for (int k = 0; k < res.nkeep; k++, stored++)
		{
			const bf_candle *c = &candles[k];

			while (i < cf->n && (cf->t[i] < job->from_us || cf->v[4][i] == 0))
				i++;
			if (i >= cf->n || cf->t[i] >= job->to_us || c->open_us != cf->t[i] ||
				c->open != cf->v[0][i] || c->high != cf->v[1][i] || c->low != cf->v[2][i] ||
				c->close != cf->v[3][i] || c->volume != cf->v[4][i] ||
				(job->ep == BF_BINANCE_KLINES ? (c->vwap != 2 || c->trades != i % 7 + 1)
				 : (!isnan(c->vwap) || c->trades != -1)))
				mismatch++;
			i++;
		}
		cur = res.next;
		pages++;
	}
	for (int j = 0; j < cf->n; j++)
		want += cf->t[j] >= job->from_us && cf->t[j] < job->to_us && cf->v[4][j] > 0;
	CHECK(stored == want && mismatch == 0 && cur.mode == BF_CUR_DONE,
		  "%s: %d candles stored, want %d, %d mismatches", what, stored, want, mismatch);
	printf("%s: %d candles over %d pages, 0 mismatches\n", what, stored, pages);
}

/*
 * test_candles_built
 *	  Binance klines from the BTC perpetual file, Coinbase candles from Lean.
 */
static void
test_candles_built(const char *shared)
{
	char		path[1024];
	candle_file cf;
	bf_job		job = {.ep = BF_BINANCE_KLINES, .market = BF_USDM, .base_url = "http://x",
	.instrument = "BTCUSDT", .limit = 1500, .has_range = true};

	snprintf(path, sizeof(path), "%s/data/candles/crypto/btc_perp_1m_2021-12-31_2022-02-01.csv", shared);
	read_candle_file(path, -1, &cf);
	CHECK(cf.n == 36025, "btc perp file has %d candles", cf.n);
	job.from_us = cf.t[10] - 30000000;	/* mid-minute: the first whole one is t[10] */
	job.to_us = cf.t[9000] + 1;
	run_candles(&job, &cf, "binance klines");
	for (int k = 0; k < 5; k++)
		free(cf.v[k]);
	free(cf.t);

	snprintf(path, sizeof(path), "%s/data/candles/crypto/coinbase_btcusd_1m_lean/20161007_btcusd_minute_trade.csv",
			 shared);
	read_candle_file(path, INT64_C(1475798400000000), &cf);
	CHECK(cf.n == 1419, "lean file has %d candles", cf.n);
	job.ep = BF_COINBASE_CANDLES;
	job.instrument = "BTC-USD";
	job.limit = 300;
	job.from_us = INT64_C(1475798400000000) + 3600 * INT64_C(1000000);
	job.to_us = INT64_C(1475798400000000) + 20 * 3600 * INT64_C(1000000) + 7;
	run_candles(&job, &cf, "coinbase candles");
	for (int k = 0; k < 5; k++)
		free(cf.v[k]);
	free(cf.t);
}

/*
 * P
 *	  Parses body at cursor text ctext; returns the page (rows in trades).
 */
static int
P(const bf_job *job, const char *ctext, const char *body, bf_page *page, bf_step_result *res)
{
	bf_cursor	cur;
	int			rc;

	tsk_bf_cursor_parse(ctext, &cur);
	rc = tsk_bf_parse(job, &cur, body, strlen(body), trades, candles, CAP, page);
	if (rc == 0)
		tsk_bf_step(job, &cur, page, trades, candles, INT64_MAX, res);
	return rc;
}

/*
 * test_hostile
 *	  Hostile or broken pages.
 */
void
test_hostile(void)
{
	bf_job		job = {.ep = BF_BINANCE_AGGTRADES, .base_url = "http://x", .instrument = "XRPETH",
	.limit = 2, .has_range = true, .from_us = 0, .to_us = INT64_C(4000000000000000)};
	const char *a1 = "{\"a\":10,\"p\":\"1.5\",\"q\":\"2\",\"f\":1,\"l\":1,\"T\":1000,\"m\":true}";
	const char *a2 = "{\"a\":11,\"p\":\"1.6\",\"q\":\"3\",\"f\":2,\"l\":2,\"T\":999,\"m\":false}";
	const char *a3 = "{\"a\":11,\"p\":\"1.6\",\"q\":\"3\",\"f\":2,\"l\":2,\"T\":1001,\"m\":false}";
	char		body[1024];
	bf_page		page;
	bf_step_result res;

	snprintf(body, sizeof(body), "[%s,%s]", a1, a3);
	CHECK(P(&job, "id:10:1000000:10", body, &page, &res) == 0 && res.nkeep == 1 && !res.no_progress &&
		  res.next.value == 12, "a page overlapping the cursor keeps the new row only");
	snprintf(body, sizeof(body), "[%s]", a1);
	CHECK(P(&job, "id:11:1000000:10", body, &page, &res) == 0 && res.no_progress && res.nkeep == 0,
		  "a repeated page makes no progress");
	snprintf(body, sizeof(body), "[%s,%s]", a1, a2);
	CHECK(P(&job, "", body, &page, &res) == 0 && strstr(res.error, "backwards") != NULL,
		  "times going backwards are fatal: %s", res.error);
	snprintf(body, sizeof(body), "[%s,%s,%s]", a1, a3, a3);
	CHECK(P(&job, "", body, &page, &res) == -1 && strstr(page.error, "more than the 2 asked") != NULL,
		  "a page longer than asked is fatal: %s", page.error);
	CHECK(P(&job, "", "[{\"a\":1,\"p\":\"1\"", &page, &res) == -1 &&
		  strstr(page.error, "truncated") != NULL, "truncated body: %s", page.error);
	memcpy(body, "[ \0 ]", 6);
	CHECK(tsk_bf_parse(&job, &(bf_cursor) {0}, body, 5, trades, NULL, CAP, &page) == -1 &&
		  strstr(page.error, "NUL") != NULL, "NUL byte: %s", page.error);
	CHECK(P(&job, "", "{\"code\":-1121,\"msg\":\"Invalid symbol.\"}", &page, &res) == -1 &&
		  strcmp(page.error, "exchange error -1121: Invalid symbol.") == 0, "binance error: %s", page.error);
	CHECK(P(&job, "", "[]", &page, &res) == 0 && !res.done && res.next.mode == BF_CUR_WINDOW &&
		  res.next.value == INT64_C(3600000000), "an empty window moves to the next hour");
	CHECK(P(&job, "id:12:1000000:11", "[]", &page, &res) == 0 && res.done,
		  "an empty page after the start: caught up");
	job.has_ids = true;
	job.from_id = 10;
	job.to_id = 20;
	CHECK(P(&job, "id:12:1000000:11", "[]", &page, &res) == 0 && !res.done && res.no_progress,
		  "an empty page inside an id range: no progress");

	job.ep = BF_KRAKEN_TRADES;
	job.has_ids = false;
	CHECK(P(&job, "", "{\"error\":[\"EGeneral:Too many requests\"]}", &page, &res) == -1 &&
		  page.rate_limited, "kraken rate limit answer: %s", page.error);
	CHECK(P(&job, "", "{\"error\":[\"EQuery:Unknown asset pair\"]}", &page, &res) == -1 &&
		  !page.rate_limited && strstr(page.error, "Unknown asset pair"), "kraken error: %s", page.error);

	job.ep = BF_COINBASE_TRADES;
	job.limit = 10;
	CHECK(P(&job, "", "[{\"time\":\"2016-05-12T15:00:01Z\",\"trade_id\":5,\"price\":\"1\",\"size\":\"1\",\"side\":\"buy\"},"
			"{\"time\":\"2016-05-12T15:00:02Z\",\"trade_id\":4,\"price\":\"1\",\"size\":\"1\",\"side\":\"buy\"}]",
			&page, &res) == 0 && strstr(res.error, "backwards") != NULL, "coinbase times backwards: %s", res.error);

	job.ep = BF_BINANCE_KLINES;
	CHECK(P(&job, "", "[[60000,\"2\",\"3\",\"2.5\",\"2\",\"1\",119999,\"2\",1,\"0\",\"0\",\"0\"]]",
			&page, &res) == -1 && strstr(page.error, "low <= open") != NULL, "candle low above open: %s", page.error);
	CHECK(P(&job, "", "[[60001,\"2\",\"3\",\"1\",\"2\",\"1\",119999,\"2\",1,\"0\",\"0\",\"0\"]]",
			&page, &res) == -1 && strstr(page.error, "whole minute") != NULL, "candle not on a minute: %s", page.error);
}

/*
 * U
 *	  Checks the URL of job at cursor ctext.
 */
static void
U(const bf_job *job, const char *ctext, const char *want)
{
	char		url[BF_URL_MAX];
	bf_cursor	cur;

	tsk_bf_cursor_parse(ctext, &cur);
	tsk_bf_page_url(job, &cur, url, sizeof(url));
	CHECK(strcmp(url, want) == 0, "%s at '%s':\n  got  %s\n  want %s", tsk_bf_endpoint_name(job->ep),
		  ctext, url, want);
}

/*
 * test_urls
 *	  The URL of every endpoint.
 */
void
test_urls(void)
{
	bf_job		j = {.ep = BF_BINANCE_AGGTRADES, .base_url = "https://api.binance.com", .instrument = "BTCUSDT",
	.limit = 1000, .has_range = true, .from_us = INT64_C(1570752011620500), .to_us = INT64_C(1570760000000000)};
	bf_generic	g = {.url = "http://h/t?s={instrument}&from={from_ms}&n={limit}",
	.next_url = "http://h/t?s={instrument}&id={cursor}", .cursor = BF_GCUR_ID};
	bf_cursor	c = {.mode = BF_CUR_TOKEN, .value = 5, .last_us = 6, .last_id = 7, .token = "17628"};
	bf_cursor	back;
	char		text[200];

	U(&j, "", "https://api.binance.com/api/v3/aggTrades?symbol=BTCUSDT&startTime=1570752011620&endTime=1570755611619&limit=1000");
	U(&j, "id:42:0:41", "https://api.binance.com/api/v3/aggTrades?symbol=BTCUSDT&fromId=42&limit=1000");
	j.ep = BF_BINANCE_TRADES;
	j.market = BF_USDM;
	j.base_url = "https://fapi.binance.com";
	U(&j, "", "https://fapi.binance.com/fapi/v1/aggTrades?symbol=BTCUSDT&startTime=1570752011620&endTime=1570755611619&limit=1");
	U(&j, "id:42:0:41", "https://fapi.binance.com/fapi/v1/historicalTrades?symbol=BTCUSDT&fromId=42&limit=1000");
	j.ep = BF_BINANCE_KLINES;
	j.market = BF_COINM;
	j.base_url = "https://dapi.binance.com";
	j.instrument = "BTCUSD_PERP";
	U(&j, "", "https://dapi.binance.com/dapi/v1/klines?symbol=BTCUSD_PERP&interval=1m&startTime=1570752060000&endTime=1570759999999&limit=1000");
	j.ep = BF_COINBASE_TRADES;
	j.base_url = "https://api.exchange.coinbase.com";
	j.instrument = "BTC-USD";
	U(&j, "", "https://api.exchange.coinbase.com/products/BTC-USD/trades?limit=1000");
	U(&j, "id:8408100:0:8408100", "https://api.exchange.coinbase.com/products/BTC-USD/trades?limit=1000&after=8408100");
	j.ep = BF_COINBASE_CANDLES;
	j.limit = 300;
	U(&j, "", "https://api.exchange.coinbase.com/products/BTC-USD/candles?granularity=60&start=2019-10-11T00:01:00Z&end=2019-10-11T02:13:00Z");
	j.ep = BF_KRAKEN_TRADES;
	j.base_url = "https://api.kraken.com";
	j.instrument = "XBT/USDT";
	U(&j, "", "https://api.kraken.com/0/public/Trades?pair=XBTUSDT&since=1570752010&count=300");
	U(&j, "token:0:5:-1:1762795433971744500", "https://api.kraken.com/0/public/Trades?pair=XBTUSDT&since=1762795433971744500&count=300");
	j.ep = BF_KRAKEN_OHLC;
	U(&j, "", "https://api.kraken.com/0/public/OHLC?pair=XBTUSDT&interval=1&since=1570752000");
	j.ep = BF_GENERIC_TRADES;
	j.generic = &g;
	j.instrument = "BTC/USD x";
	U(&j, "", "http://h/t?s=BTC%2FUSD%20x&from=1570752011620&n=300");
	U(&j, "id:99:0:98", "http://h/t?s=BTC%2FUSD%20x&id=99");

	tsk_bf_cursor_format(&c, text, sizeof(text));
	CHECK(strcmp(text, "token:5:6:7:17628") == 0, "cursor text %s", text);
	CHECK(tsk_bf_cursor_parse(text, &back) == 0 && back.mode == BF_CUR_TOKEN && back.value == 5 &&
		  back.last_us == 6 && back.last_id == 7 && strcmp(back.token, "17628") == 0, "cursor round trip");
	CHECK(tsk_bf_cursor_parse("id:1:2", &back) == -1 && tsk_bf_cursor_parse("bogus:1:2:3", &back) == -1 &&
		  tsk_bf_cursor_parse("token:1:2:3", &back) == -1, "bad cursor texts are refused");
}

/*
 * test_idgap
 *	  The trade-id gap tracker: jumps, replays, overlaps, seeds, a full list.
 */
void
test_idgap(void)
{
	tsk_idgap_tracker t;

	CHECK(tsk_idgap_init(&t, 2, 3), "tracker init");
	CHECK(!tsk_idgap_observe(&t, 0, 100, 1000), "first trade: no gap");
	CHECK(!tsk_idgap_observe(&t, 0, 101, 1001) && !tsk_idgap_observe(&t, 0, 101, 1001),
		  "next id and a replay of it: no gap");
	CHECK(tsk_idgap_observe(&t, 0, 105, 1005) && t.ngaps == 1 && t.gaps[0].first_id == 102 &&
		  t.gaps[0].last_id == 104 && t.gaps[0].after_us == 1001 && t.gaps[0].before_us == 1005 &&
		  t.gaps[0].instrument == 0, "a jump: ids 102..104 with the times around them");
	CHECK(!tsk_idgap_observe(&t, 0, 103, 1003) && t.high_id[0] == 105,
		  "an older id (overlap) is no gap and keeps the highest id");
	CHECK(!tsk_idgap_observe(&t, 1, 7, 9) && t.ngaps == 1, "another instrument has its own ids");
	tsk_idgap_seed(&t, 1, 5, 8);
	CHECK(t.high_id[1] == 7, "a seed below the highest id changes nothing");
	CHECK(tsk_idgap_observe(&t, 1, 9, 10) && tsk_idgap_observe(&t, 0, 200, 2000) && t.ngaps == 3,
		  "three gaps queued");
	CHECK(tsk_idgap_observe(&t, 0, 300, 3000) && t.ngaps == 3 && t.dropped == 1 && t.high_id[0] == 300,
		  "a full list drops the gap but keeps the highest id");
	tsk_idgap_take(&t, 1);
	CHECK(t.ngaps == 2 && t.gaps[0].instrument == 1 && t.gaps[0].first_id == 8 && t.gaps[0].last_id == 8,
		  "taking the first gap leaves the others, in order");
	CHECK(!tsk_idgap_observe(&t, 5, 1, 1) && !tsk_idgap_observe(&t, -1, 1, 1) && !tsk_idgap_observe(&t, 0, -3, 1),
		  "bad instrument or id: ignored");
	tsk_idgap_free(&t);
}
