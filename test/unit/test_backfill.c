/*
 * test_backfill.c
 *	  unit tests of the REST backfill core (src/backfill/rest*.c)
 *	   against the real REST dumps of ../shared/data, without a server:
 *	     - parsers: every row of Binance aggTrades (the ccxt dump's "info"
 *	       objects, checked against ccxt's own parsed fields), Coinbase trades,
 *	       Kraken Trades and OHLC, compared field by field with an independent
 *	       reading (strtod / own RFC 3339 reader);
 *	     - pagination: a small in-process fake exchange answers the URLs that
 *	       tsk_bf_page_url builds, the way each exchange pages (fromId, after,
 *	       since, time windows); every job must store exactly the rows of its
 *	       range, once, in order;
 *	     - hostile pages: repeated page (no progress), times going backwards,
 *	       more rows than asked, NUL bytes, truncated JSON, error answers;
 *	     - URLs of every endpoint, and the cursor text round trip.
 *
 * Usage: test_backfill SHARED_DIR
 * (test_backfill_more.c holds Coinbase, Kraken, candles, hostile pages, URLs.)
 */
#include "test_backfill.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int			n_pass,
			n_fail;
td_trade	trades[CAP];
bf_candle	candles[CAP];

/*
 * slurp
 *	  A whole file, NUL-terminated (exits on failure).
 */
char *
slurp(const char *path, size_t *len)
{
	FILE	   *f = fopen(path, "rb");
	char	   *buf;
	long		n;

	if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0)
	{
		printf("cannot read %s\n", path);
		exit(2);
	}
	buf = malloc((size_t) n + 1);
	if (buf == NULL || fread(buf, 1, (size_t) n, f) != (size_t) n)
		exit(2);
	buf[n] = '\0';
	fclose(f);
	if (len)
		*len = (size_t) n;
	return buf;
}

/*
 * iso_us
 *	  Independent RFC 3339 reader: "YYYY-MM-DDTHH:MM:SS[.f]Z" to µs.
 */
int64_t
iso_us(const char *s)
{
	struct tm	tm = {0};
	int64_t		us = 0;
	int			digits = 0;
	const char *p;

	sscanf(s, "%d-%d-%dT%d:%d:%d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour, &tm.tm_min,
		   &tm.tm_sec);
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	p = strchr(s, '.');
	if (p)
		for (p++; *p >= '0' && *p <= '9'; p++)
			if (digits++ < 6)
				us = us * 10 + (*p - '0');
	while (digits++ < 6)
		us *= 10;
	return (int64_t) timegm(&tm) * 1000000 + us;
}

/* ---- the fake exchange ------------------------------------------------- */

/*
 * qparam
 *	  The value of query parameter name in url, or def.
 */
long long
qparam(const char *url, const char *name, long long def)
{
	char		key[32];
	const char *p;

	snprintf(key, sizeof(key), "%s=", name);
	for (p = strchr(url, '?'); p != NULL; p = strchr(p + 1, '&'))
		if (strncmp(p + 1, key, strlen(key)) == 0)
			return atoll(p + 1 + strlen(key));
	return def;
}


/*
 * fake_binance
 *	  Answer url from ds like Binance aggTrades / historicalTrades.
 */
char *
fake_binance(const dataset *ds, const char *url)
{
	long long	from_id = qparam(url, "fromId", -1),
				start = qparam(url, "startTime", -1),
				end = qparam(url, "endTime", -1);
	int			limit = (int) qparam(url, "limit", 500);
	size_t		cap = 64;
	char	   *out = malloc(cap);
	size_t		len = 1;
	int			k = 0;

	strcpy(out, "[");
	for (int i = 0; i < ds->n && k < limit; i++)
	{
		if (from_id >= 0 ? ds->id[i] < from_id : (ds->t[i] < start || ds->t[i] > end))
			continue;
		while (len + strlen(ds->json[i]) + 4 > cap)
			out = realloc(out, cap *= 2);
		len += sprintf(out + len, "%s%s", k++ ? "," : "", ds->json[i]);
	}
	strcpy(out + len, "]");
	return out;
}

/*
 * fake_coinbase
 *	  Answer like Coinbase trades: ids below after, newest first.
 */
char *
fake_coinbase(const dataset *ds, const char *url)
{
	long long	after = qparam(url, "after", -1);
	int			limit = (int) qparam(url, "limit", 100);
	size_t		cap = 64,
				len = 1;
	char	   *out = malloc(cap);
	int			k = 0;

	strcpy(out, "[");
	for (int i = ds->n - 1; i >= 0 && k < limit; i--)
	{
		if (after >= 0 && ds->id[i] >= after)
			continue;
		while (len + strlen(ds->json[i]) + 4 > cap)
			out = realloc(out, cap *= 2);
		len += sprintf(out + len, "%s%s", k++ ? "," : "", ds->json[i]);
	}
	strcpy(out + len, "]");
	return out;
}

/*
 * fake_kraken
 *	  Answer like Kraken Trades: rows at or after since (s or ns), "last" in
 *	  ns.
 */
char *
fake_kraken(const dataset *ds, const char *url)
{
	long long	since = qparam(url, "since", 0);
	int			limit = (int) qparam(url, "count", 1000);
	size_t		cap = 128,
				len;
	char	   *out = malloc(cap);
	int			k = 0;
	long long	last = since;

	if (since < 100000000000LL)
		since *= 1000000000LL;
	len = (size_t) sprintf(out, "{\"error\":[],\"result\":{\"XBTUSDT\":[");
	for (int i = 0; i < ds->n && k < limit; i++)
	{
		if (ds->t[i] < since)
			continue;
		while (len + strlen(ds->json[i]) + 64 > cap)
			out = realloc(out, cap *= 2);
		len += sprintf(out + len, "%s%s", k++ ? "," : "", ds->json[i]);
		last = ds->t[i];
	}
	sprintf(out + len, "],\"last\":\"%lld\"}}", last);
	return out;
}

/*
 * run_job
 *	  Runs a job to the end against a fake; returns rows kept (into trades[]).
 */
int
run_job(const bf_job *job, const dataset *ds, char *(*fake) (const dataset *, const char *),
		td_trade *all, int allcap, int *pages, char *err)
{
	bf_cursor	cur;
	int			total = 0;

	tsk_bf_cursor_parse("", &cur);
	err[0] = '\0';
	for (*pages = 0; *pages < 10000; (*pages)++)
	{
		char		url[BF_URL_MAX];
		bf_page		page;
		bf_step_result res;
		char	   *body;
		char		ctext[BF_CURSOR_MAX * 2];
		bf_cursor	back;

		if (cur.mode == BF_CUR_DONE)
			return total;
		if (tsk_bf_page_url(job, &cur, url, sizeof(url)) <= 0)
		{
			strcpy(err, "no url");
			return -1;
		}
		body = fake(ds, url);
		if (tsk_bf_parse(job, &cur, body, strlen(body), trades, NULL, CAP, &page) != 0)
		{
			snprintf(err, 200, "parse: %.180s", page.error);
			free(body);
			return -1;
		}
		free(body);
		tsk_bf_step(job, &cur, &page, trades, NULL, INT64_MAX, &res);
		if (res.error[0] || res.no_progress)
		{
			snprintf(err, 200, "step: %.180s", res.error[0] ? res.error : "no progress");
			return -1;
		}
		for (int i = 0; i < res.nkeep && total < allcap; i++)
			all[total++] = trades[i];
		/* the cursor survives its text form (what the table stores) */
		tsk_bf_cursor_format(&res.next, ctext, sizeof(ctext));
		if (tsk_bf_cursor_parse(ctext, &back) != 0 || memcmp(&back.value, &res.next.value, 24) != 0)
		{
			snprintf(err, 200, "cursor round trip failed: %.150s", ctext);
			return -1;
		}
		cur = res.next;
	}
	strcpy(err, "too many pages");
	return -1;
}

/* ---- Binance ----------------------------------------------------------- */

/*
 * test_binance
 *	  aggTrades: a time range and an id range paged through the fake
 *	  exchange, every row checked against ccxt's own parse of the dump.
 */
static void
test_binance(const char *shared)
{
	char		path[1024];
	char	   *text;
	cJSON	   *root;
	int			n;
	dataset		ds;
	td_trade   *all = malloc(sizeof(td_trade) * 12000);
	bf_job		job = {.ep = BF_BINANCE_AGGTRADES, .base_url = "http://x", .instrument = "XRPETH",
	.limit = 1000};
	int			pages,
				got,
				want = 0,
				first = -1;
	char		err[256];
	int			mismatch = 0;

	snprintf(path, sizeof(path), "%s/data/trades/binance_xrpeth_aggtrades_ccxt_2019-10-11.json", shared);
	text = slurp(path, NULL);
	root = cJSON_Parse(text);
	n = cJSON_GetArraySize(root);
	CHECK(n == 9982, "ccxt dump has %d trades", n);
	ds.n = n;
	ds.json = malloc(sizeof(char *) * n);
	ds.id = malloc(sizeof(long long) * n);
	ds.t = malloc(sizeof(long long) * n);
	for (int i = 0; i < n; i++)
	{
		cJSON	   *info = cJSON_GetObjectItem(cJSON_GetArrayItem(root, i), "info");

		ds.json[i] = cJSON_PrintUnformatted(info);
		ds.id[i] = (long long) cJSON_GetObjectItem(info, "a")->valuedouble;
		ds.t[i] = (long long) cJSON_GetObjectItem(info, "T")->valuedouble;
	}
	/* a range inside the dump: 2019-10-11 06:00 .. 2019-10-12 03:30:00.5 UTC */
	job.has_range = true;
	job.from_us = INT64_C(1570773600000000);
	job.to_us = INT64_C(1570851000500000);
	CHECK(tsk_bf_job_check(&job, err, sizeof(err)) == 0, "job check: %s", err);
	got = run_job(&job, &ds, fake_binance, all, 12000, &pages, err);
	for (int i = 0; i < n; i++)
	{
		cJSON	   *tr = cJSON_GetArrayItem(root, i);
		long long	ts = (long long) cJSON_GetObjectItem(tr, "timestamp")->valuedouble;

		if (ts * 1000 < job.from_us || ts * 1000 >= job.to_us)
			continue;
		if (first < 0)
			first = i;
		if (want < got)
		{
			const td_trade *t = &all[want];

			/* ccxt's own parse of the same row is the reference */
			if (t->trade_id != atoll(cJSON_GetObjectItem(tr, "id")->valuestring) ||
				t->ts_us != ts * 1000 ||
				t->price != cJSON_GetObjectItem(tr, "price")->valuedouble ||
				t->qty != cJSON_GetObjectItem(tr, "amount")->valuedouble ||
				t->side != cJSON_GetObjectItem(tr, "side")->valuestring[0] ||
				strcmp(t->instrument, "XRPETH") != 0)
				mismatch++;
		}
		want++;
	}
	CHECK(got == want && mismatch == 0, "aggTrades range: %d rows stored (%s), want %d, %d mismatches, %d pages",
		  got, err, want, mismatch, pages);
	CHECK(pages >= want / 1000 + 1, "aggTrades pages by limit (%d pages)", pages);
	printf("binance aggTrades: %d of %d dump rows in range stored over %d pages, 0 mismatches\n",
		   got, n, pages);

	/* id range (gap repair): exactly ids 13520000..13520999 */
	job.has_range = false;
	job.has_ids = true;
	job.from_id = 13520000;
	job.to_id = 13520999;
	job.limit = 300;
	got = run_job(&job, &ds, fake_binance, all, 12000, &pages, err);
	CHECK(got == 1000 && all[0].trade_id == 13520000 && all[999].trade_id == 13520999 && pages == 4,
		  "aggTrades ids: %d rows, %d pages (%s)", got, pages, err);
	for (int i = 1; i < got; i++)
		if (all[i].trade_id != all[i - 1].trade_id + 1)
			mismatch++;
	CHECK(mismatch == 0, "aggTrades ids consecutive");
	for (int i = 0; i < n; i++)
		cJSON_free(ds.json[i]);
	free(ds.json);
	free(ds.id);
	free(ds.t);
	cJSON_Delete(root);
	free(text);
	free(all);
}

/*
 * test_binance_trades
 *	  historicalTrades from the spot WebSocket capture (t, p, q, T, m).
 */
static void
test_binance_trades(const char *shared)
{
	char		path[1024];
	FILE	   *f;
	char		line[4096];
	dataset		ds = {0};
	td_trade   *all = malloc(sizeof(td_trade) * 20000);
	bf_job		job = {.ep = BF_BINANCE_TRADES, .base_url = "http://x", .instrument = "BTCUSDT",
	.limit = 1000, .has_range = true};
	int			pages,
				got,
				want = 0,
				mismatch = 0;
	char		err[256];

	snprintf(path, sizeof(path), "%s/data/websocket/binance/spot_btcusdt_trade_2024-08-08T2354Z_0005Z.jsonl",
			 shared);
	f = fopen(path, "r");
	ds.json = malloc(sizeof(char *) * 16000);
	ds.id = malloc(sizeof(long long) * 16000);
	ds.t = malloc(sizeof(long long) * 16000);
	while (f && fgets(line, sizeof(line), f) && ds.n < 16000)
	{
		cJSON	   *frame = cJSON_Parse(line);
		cJSON	   *d = cJSON_GetObjectItem(frame, "data");
		char		buf[512];
		long long	id = (long long) cJSON_GetObjectItem(d, "t")->valuedouble;

		/* historicalTrades item; as its own aggregate it also answers the seek */
		snprintf(buf, sizeof(buf), "{\"id\":%lld,\"price\":\"%s\",\"qty\":\"%s\",\"time\":%lld,"
				 "\"isBuyerMaker\":%s,\"isBestMatch\":true,\"a\":%lld,\"p\":\"%s\",\"q\":\"%s\","
				 "\"f\":%lld,\"l\":%lld,\"T\":%lld,\"m\":%s}", id,
				 cJSON_GetObjectItem(d, "p")->valuestring, cJSON_GetObjectItem(d, "q")->valuestring,
				 (long long) cJSON_GetObjectItem(d, "T")->valuedouble,
				 cJSON_IsTrue(cJSON_GetObjectItem(d, "m")) ? "true" : "false", id,
				 cJSON_GetObjectItem(d, "p")->valuestring, cJSON_GetObjectItem(d, "q")->valuestring,
				 id, id, (long long) cJSON_GetObjectItem(d, "T")->valuedouble,
				 cJSON_IsTrue(cJSON_GetObjectItem(d, "m")) ? "true" : "false");
		ds.json[ds.n] = strdup(buf);
		ds.id[ds.n] = id;
		ds.t[ds.n++] = (long long) cJSON_GetObjectItem(d, "T")->valuedouble;
		cJSON_Delete(frame);
	}
	if (f)
		fclose(f);
	CHECK(ds.n == 15923, "capture has %d trades", ds.n);
	job.from_us = ds.t[1000] * 1000 + 1;
	job.to_us = ds.t[9000] * 1000;
	got = run_job(&job, &ds, fake_binance, all, 20000, &pages, err);
	for (int i = 0; i < ds.n; i++)
		if (ds.t[i] * 1000 >= job.from_us && ds.t[i] * 1000 < job.to_us)
		{
			if (want < got && (all[want].trade_id != ds.id[i] || all[want].ts_us != ds.t[i] * 1000))
				mismatch++;
			want++;
		}
	CHECK(got == want && mismatch == 0, "historicalTrades range: %d rows (%s), want %d, %d mismatches",
		  got, err, want, mismatch);
	printf("binance historicalTrades: %d rows over %d pages (1 seek page), 0 mismatches\n", got, pages);
	for (int i = 0; i < ds.n; i++)
		free(ds.json[i]);
	free(ds.json);
	free(ds.id);
	free(ds.t);
	free(all);
}

/* ---- main ---------------------------------------------------------------- */

/*
 * main
 *	  Runs every group; argv[1] is the shared directory.
 */
int
main(int argc, char **argv)
{
	const char *shared = argc > 1 ? argv[1] : "../shared";

	test_binance(shared);
	test_binance_trades(shared);
	test_coinbase(shared);
	test_kraken(shared);
	test_candles(shared);
	test_hostile();
	test_urls();
	test_idgap();
	printf("test_backfill: %d passed, %d failed\n", n_pass, n_fail);
	return n_fail ? 1 : 0;
}
