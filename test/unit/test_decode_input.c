/*
 * test_decode_input.c
 *	  decoder unit tests, second half: output capacity and TD_OVERFLOW, hostile
 *	  input (prefixes, wrong types, garbage, NUL bytes, 10 MB frames, values
 *	  out of range), the generic field map and subscribe messages.  Run from
 *	  test_decode.c's main.
 */
#define _GNU_SOURCE
#include "test_decode.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

/* ---- capacity and hostile input ---------------------------------------- */

/*
 * test_overflow
 *	  Frames larger than cap: TD_OVERFLOW with the needed count, no write past
 *	  cap.
 */
void
test_overflow(void)
{
	const char *f = J("{'type':'trade','data':[{'p':1,'s':'A','t':1,'v':1},{'p':2,'s':'A','t':1,'v':1},"
					  "{'p':3,'s':'A','t':1,'v':1},{'p':4,'s':'A','t':1,'v':1},{'p':5,'s':'A','t':1,'v':1}]}");
	td_trade	t[8];
	td_result	r;
	unsigned char guard[sizeof t];

	memset(t, 0xAB, sizeof t);
	memcpy(guard, t, sizeof t);
	CHECK(tsk_td_decode(TD_FINNHUB, NULL, f, strlen(f), t, 2, &r) == TD_OVERFLOW && r.needed == 5
		  && r.ntrades == 0, "overflow: kind %s needed %d", tsk_td_kind_name(r.kind), r.needed);
	CHECK(memcmp((char *) &t[2], guard + 2 * sizeof *t, 6 * sizeof *t) == 0, "overflow: wrote past cap");
	CHECK(tsk_td_decode(TD_FINNHUB, NULL, f, strlen(f), NULL, 0, &r) == TD_OVERFLOW && r.needed == 5,
		  "overflow with cap 0 / NULL out counts trades");
	CHECK(tsk_td_decode(TD_FINNHUB, NULL, f, strlen(f), t, 5, &r) == TD_TRADES && r.ntrades == 5
		  && t[4].price == 5, "exact capacity");
	CHECK(tsk_td_decode(TD_FINNHUB, NULL, f, strlen(f), t, -1, &r) == TD_ERROR, "negative cap");
	CHECK(tsk_td_decode(TD_FINNHUB, NULL, f, strlen(f), NULL, 3, &r) == TD_ERROR, "NULL out with cap");
	CHECK(tsk_td_decode(TD_FINNHUB, NULL, f, strlen(f), t, 8, NULL) == TD_ERROR, "NULL result");
	CHECK(tsk_td_decode((td_exchange) 99, NULL, f, strlen(f), t, 8, &r) == TD_ERROR, "bad exchange");
}

/*
 * result_sane
 *	  Check result invariants after decoding arbitrary input.
 */
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
 * guarded
 *	  Copy n bytes so they end right before a PROT_NONE page: any read past the
 *	  frame faults, even inside the uninstrumented system libcjson.
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

/*
 * test_malformed
 *	  Truncations, wrong types, garbage, NULs, huge frames, bad numbers.
 */
void
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

		CHECK(tsk_td_decode(samples[s].ex, NULL, f, len, t, 8, &r) == TD_TRADES, "sample %zu: %s", s, r.error);
		for (size_t n = 0; n < len; n++)
		{
			td_kind		k = tsk_td_decode(samples[s].ex, NULL, guarded(f, n), n, t, 8, &r);

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
		k = tsk_td_decode((td_exchange) (i % TD_EXCHANGE_COUNT), NULL, guarded(buf, n), n, t, 8, &r);
		bad += !result_sane(k, &r, t, 8);
	}
	CHECK(bad == 0, "%d garbage inputs broke result invariants", bad);

	CHECK(tsk_td_decode(TD_BINANCE, NULL, "", 0, t, 8, &r) == TD_ERROR && strstr(r.error, "empty"), "empty frame");
	CHECK(tsk_td_decode(TD_BINANCE, NULL, NULL, 0, t, 8, &r) == TD_ERROR, "NULL frame");
	CHECK(tsk_td_decode(TD_BINANCE, NULL, NULL, 5, t, 8, &r) == TD_ERROR, "NULL frame with length");
	CHECK(tsk_td_decode(TD_FINNHUB, NULL, "{\"type\":\"ping\"}\0", 16, t, 8, &r) == TD_ERROR
		  && strstr(r.error, "NUL"), "NUL byte");
	CHECK(tsk_td_decode(TD_FINNHUB, NULL, "{\"type\":\"ping\"} x", 17, t, 8, &r) == TD_ERROR
		  && strstr(r.error, "trailing"), "trailing garbage");
	CHECK(tsk_td_decode(TD_FINNHUB, NULL, "{\"type\":\"ping\"}\r\n", 17, t, 8, &r) == TD_CONTROL, "trailing newline");
	CHECK(tsk_td_decode(TD_FINNHUB, NULL, "{\"type\":\"ping\"", 14, t, 8, &r) == TD_ERROR
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
		CHECK(tsk_td_decode(TD_FINNHUB, NULL, big, n, t, 8, &r) == TD_OVERFLOW && r.needed == ntr,
			  "10 MB frame: %s needed %d of %d", tsk_td_kind_name(r.kind), r.needed, ntr);
		many = malloc((size_t) ntr * sizeof *many);
		CHECK(tsk_td_decode(TD_FINNHUB, NULL, big, n, many, ntr, &r) == TD_TRADES && r.ntrades == ntr
			  && many[ntr - 1].qty == 2 && many[ntr - 1].price == (ntr - 1) % 1000 + 1.25,
			  "10 MB frame decoded after retry: %s", r.error);
		free(many);
		memset(big, '[', 10u << 20);
		CHECK(tsk_td_decode(TD_KRAKEN, NULL, big, 10u << 20, t, 8, &r) == TD_ERROR, "10 MB of '['");
		n = (size_t) sprintf(big, "{\"e\":\"trade\",\"s\":\"");
		memset(big + n, 'A', 10u << 20);
		n += 10u << 20;
		n += (size_t) sprintf(big + n, "\",\"t\":1,\"p\":\"1\",\"q\":\"1\",\"T\":1,\"m\":true}");
		CHECK(tsk_td_decode(TD_BINANCE, NULL, big, n, t, 8, &r) == TD_ERROR && strstr(r.error, "\"s\""),
			  "10 MB symbol: %s", r.error);
		free(big);
		big = malloc(TD_MAX_FRAME_LEN + 1u);
		memset(big, ' ', TD_MAX_FRAME_LEN + 1u);
		CHECK(tsk_td_decode(TD_BINANCE, NULL, big, TD_MAX_FRAME_LEN + 1u, t, 8, &r) == TD_ERROR
			  && strstr(r.error, "too large"), "frame above TD_MAX_FRAME_LEN");
		free(big);
	}
}

/* ---- generic map -------------------------------------------------------- */

/*
 * G
 *	  Decode one single-quoted frame with a generic map.
 */
static td_kind
G(const td_generic_map *m, const char *frame, td_trade *t, int cap, td_result *r)
{
	const char *f = J(frame);

	return tsk_td_decode(TD_GENERIC, m, f, strlen(f), t, cap, r);
}

/*
 * generic_ts
 *	  Timestamp of {'s':'X','p':'1','q':'1','ts':<value>} read with `unit`; -1
 *	  on error.
 */
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

/*
 * test_generic
 *	  Generic decoder: Binance-equivalent map over a capture, units, ids,
 *	  sides.
 */
void
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
			td_kind		k1 = tsk_td_decode(TD_GENERIC, &bm, L.line[i], L.len[i], t, 4, &r);
			td_kind		k2 = tsk_td_decode(TD_BINANCE, NULL, L.line[i], L.len[i], u, 4, &r2);

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

		CHECK(tsk_td_generic_map_check(&m, err, sizeof err) == 0, "valid map: %s", err);
		CHECK(tsk_td_generic_map_check(NULL, err, sizeof err) == -1, "NULL map");
		CHECK(tsk_td_decode(TD_GENERIC, NULL, "{}", 2, t, 4, &r) == TD_ERROR && strstr(r.error, "map"), "generic without map");
		m.price = "a..b";
		CHECK(tsk_td_generic_map_check(&m, err, sizeof err) == -1, "malformed path");
		m.price = NULL;
		CHECK(tsk_td_generic_map_check(&m, err, sizeof err) == -1 && strstr(err, "required"), "missing price path");
		m.price = "p";
		m.match_path = "type";
		CHECK(tsk_td_generic_map_check(&m, err, sizeof err) == -1, "match_path without value");
		m.match_path = NULL;
		m.ts_unit = (td_ts_unit) 9;
		CHECK(tsk_td_generic_map_check(&m, err, sizeof err) == -1, "bad ts unit");
	}
}

/* ---- subscriptions and symbols ------------------------------------------ */

/*
 * expect_sub
 *	  Expect tsk_td_subscribe_message output.
 */
static void
expect_sub(td_feed feed, const char *const *ins, int n, const char *expected)
{
	char		out[512];
	int			len = tsk_td_subscribe_message(feed, ins, n, out, sizeof out);

	CHECK(len == (int) strlen(J(expected)) && strcmp(out, J(expected)) == 0,
		  "subscribe %s: got %d '%s'", tsk_td_feed_name(feed), len, out);
}

/*
 * test_subscribe
 *	  Subscribe messages, Binance stream paths, names, canonical symbols.
 */
void
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
	CHECK(tsk_td_subscribe_message(TD_FEED_KRAKEN_V1, quote, 1, out, sizeof out) > 0 && strstr(out, "A\\\"B"),
		  "quotes are JSON-escaped: %s", out);
	CHECK(tsk_td_subscribe_message(TD_FEED_FINNHUB, fh, 2, small, sizeof small) > (int) sizeof small && small[0] == 0,
		  "too-small buffer: needed length, empty output");
	CHECK(tsk_td_subscribe_message(TD_FEED_FINNHUB, fh, 2, NULL, 0) == tsk_td_subscribe_message(TD_FEED_FINNHUB, fh, 2, out, sizeof out)
		  && strlen(out) == 84, "length query with NULL buffer");
	CHECK(tsk_td_subscribe_message(TD_FEED_FINNHUB, fh, 0, out, sizeof out) == -1, "no symbols");
	CHECK(tsk_td_subscribe_message(TD_FEED_FINNHUB, bad, 1, out, sizeof out) == -1, "control char in symbol");
	CHECK(tsk_td_subscribe_message((td_feed) 42, fh, 1, out, sizeof out) == -1, "bad feed");
	CHECK(tsk_td_binance_stream_path(TD_FEED_BINANCE_AGGTRADE, bn, 2, out, sizeof out) == 49
		  && strcmp(out, "/stream?streams=btcusdt@aggTrade/ethusdt@aggTrade") == 0, "stream path: %s", out);
	CHECK(tsk_td_binance_stream_path(TD_FEED_BINANCE_TRADE, kr, 1, out, sizeof out) == -1, "stream path rejects '/'");
	CHECK(tsk_td_binance_stream_path(TD_FEED_KRAKEN_V1, bn, 1, out, sizeof out) == -1, "stream path needs a Binance feed");
	CHECK(tsk_td_feed_from_name("KRAKEN_V2", &feed) == 0 && feed == TD_FEED_KRAKEN_V2
		  && tsk_td_feed_exchange(feed) == TD_KRAKEN && tsk_td_feed_from_name("nope", &feed) == -1, "feed names");
	CHECK(tsk_td_exchange_from_name("Coinbase", &ex) == 0 && ex == TD_COINBASE
		  && strcmp(tsk_td_exchange_name(TD_GENERIC), "generic") == 0 && tsk_td_exchange_from_name("x", &ex) == -1,
		  "exchange names");
}

/* Default canonical symbol rule. */
