/*
 * rest_parse.c
 *	  parsers of the exchanges' REST history answers (triggerstock backfill;
 *	  see rest.h).
 *
 * Answers parsed (facts from ../shared/data/FORMATS.md and the exchanges'
 * documentation):
 *   Binance aggTrades      [{"a","p","q","f","l","T","m","M"}, ...]
 *   Binance historicalTrades [{"id","price","qty","quoteQty","time",
 *                          "isBuyerMaker","isBestMatch"}, ...]
 *   Binance klines         [[openTime, "o","h","l","c","v", closeTime,
 *                          "quoteVolume", trades, "tbv", "tqv", "0"], ...]
 *   Binance errors         {"code": -1121, "msg": "Invalid symbol."}
 *   Coinbase trades        [{"time","trade_id","price","size","side"}, ...]
 *                          newest first, side = maker side
 *   Coinbase candles       [[time_s, low, high, open, close, volume], ...]
 *                          newest first; errors {"message": "..."}
 *   Kraken Trades          {"error":[],"result":{"PAIR":[[price, volume, time_s,
 *                          "b"|"s", "l"|"m", misc, id], ...], "last":"ns"}}
 *   Kraken OHLC            {"error":[],"result":{"PAIR":[[time_s, o, h, l, c,
 *                          vwap, volume, count], ...], "last": time_s}}
 *   generic                the WebSocket generic decoder's field map over the
 *                          body, plus an optional next-cursor path
 *
 * Invariants: see rest.h; cJSON trees are freed before returning; every
 * field goes through the decoders' td_read_* helpers.
 */
#define TD_DECODE_INTERNAL
#include "backfill/rest.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Parse state: the decoders' context plus the page. */
typedef struct bf_parse_ctx
{
	td_ctx		td;
	td_result	res;
	bf_page    *page;
	const bf_job *job;
	int			cap;
} bf_parse_ctx;

static int bf_fail(bf_page *page, const char *fmt,...) __attribute__((format(printf, 2, 3)));

/*
 * bf_fail
 *	  Record an error in the page (printable ASCII) and return -1.
 */
static int
bf_fail(bf_page *page, const char *fmt,...)
{
	va_list		ap;

	va_start(ap, fmt);
	vsnprintf(page->error, sizeof(page->error), fmt, ap);
	va_end(ap);
	for (char *p = page->error; *p; p++)
		if ((unsigned char) *p < 0x20 || (unsigned char) *p > 0x7e)
			*p = '?';
	return -1;
}

/*
 * bf_td_error
 *	  Turn a td_read_* failure into a page error naming the row.
 */
static int
bf_td_error(bf_parse_ctx *p, int row)
{
	return bf_fail(p->page, "row %d: %s", row, p->res.error[0] ? p->res.error : "unreadable");
}

/*
 * bf_error_answer
 *	  The error text of an error answer object, or NULL: Binance
 *	  {"code","msg"}, Coinbase {"message"}, Kraken {"error":[...]}.
 */
static bool
bf_error_answer(bf_page *page, const cJSON *root)
{
	const cJSON *msg = cJSON_GetObjectItemCaseSensitive(root, "msg");
	const cJSON *code = cJSON_GetObjectItemCaseSensitive(root, "code");
	const cJSON *message = cJSON_GetObjectItemCaseSensitive(root, "message");

	if (!cJSON_IsObject(root))
		return false;
	if (cJSON_IsString(msg) && cJSON_IsNumber(code))
	{
		bf_fail(page, "exchange error %d: %.120s", (int) code->valuedouble, msg->valuestring);
		return true;
	}
	if (cJSON_IsString(message))
	{
		bf_fail(page, "exchange error: %.120s", message->valuestring);
		return true;
	}
	return false;
}

/*
 * bf_rows
 *	  The array of rows of an answer, checked against cap and the limit.
 */
static const cJSON *
bf_rows(bf_parse_ctx *p, const cJSON *arr)
{
	int			n;

	if (!cJSON_IsArray(arr))
	{
		bf_fail(p->page, "expected an array of rows");
		return NULL;
	}
	n = cJSON_GetArraySize(arr);
	if (n > p->cap || (p->job->limit > 0 && n > p->job->limit))
	{
		bf_fail(p->page, "page holds %d rows, more than the %d asked for", n,
				p->job->limit > 0 ? p->job->limit : p->cap);
		return NULL;
	}
	return arr;
}

/*
 * bf_trade_init
 *	  A trade of the job's instrument.
 */
static void
bf_trade_init(const bf_job *job, td_trade *t)
{
	memset(t, 0, sizeof(*t));
	snprintf(t->instrument, sizeof(t->instrument), "%s", job->instrument);
}

/*
 * bf_read_native_id
 *	  A trade id that must be a native integer (the endpoints page by it).
 */
static bool
bf_read_native_id(bf_parse_ctx *p, const cJSON *it, const char *name, int64_t *out)
{
	uint8_t		derived = 0;

	if (!tsk_td_read_id(&p->td, it, name, out, &derived))
		return false;
	if (derived)
		return tsk_td_reject(&p->td, "field \"%s\": not an integer id", name);
	return true;
}

/*
 * bf_binance_trades
 *	  aggTrades or historicalTrades.
 */
static int
bf_binance_trades(bf_parse_ctx *p, const cJSON *root, td_trade *out, bool agg, bool seek)
{
	const cJSON *rows = bf_rows(p, root);
	const cJSON *it;
	int			i = 0;

	if (rows == NULL)
		return -1;
	cJSON_ArrayForEach(it, rows)
	{
		td_trade	t;
		const cJSON *m = cJSON_GetObjectItemCaseSensitive(it, agg ? "m" : "isBuyerMaker");

		bf_trade_init(p->job, &t);
		if (!cJSON_IsObject(it))
			return bf_fail(p->page, "row %d: expected an object", i);
		if (!bf_read_native_id(p, tsk_td_get(it, agg ? "a" : "id"), agg ? "a" : "id", &t.trade_id) ||
			!tsk_td_read_number(&p->td, tsk_td_get(it, agg ? "p" : "price"), agg ? "p" : "price",
								TD_NUM_POSITIVE, &t.price) ||
			!tsk_td_read_number(&p->td, tsk_td_get(it, agg ? "q" : "qty"), agg ? "q" : "qty",
								TD_NUM_NONNEG, &t.qty) ||
			!tsk_td_read_ts(&p->td, tsk_td_get(it, agg ? "T" : "time"), agg ? "T" : "time",
							TD_TS_MS, &t.ts_us))
			return bf_td_error(p, i);
		if (!cJSON_IsBool(m))
			return bf_fail(p->page, "row %d: field \"%s\": expected a boolean", i,
						   agg ? "m" : "isBuyerMaker");
		t.side = cJSON_IsTrue(m) ? 's' : 'b';	/* buyer is maker: taker sold */
		if (seek && !bf_read_native_id(p, tsk_td_get(it, "f"), "f", &t.trade_id))
			return bf_td_error(p, i);
		out[i++] = t;
	}
	p->page->n = i;
	return 0;
}

/*
 * bf_candle_check
 *	  A candle's invariants (see rest.h); 0 or -1 with the page error.
 */
static int
bf_candle_check(bf_parse_ctx *p, const bf_candle *c, int row)
{
	if (c->open_us < 0 || c->open_us > TD_MAX_TS_US || c->open_us % BF_CANDLE_US != 0)
		return bf_fail(p->page, "row %d: open time not a whole minute in range", row);
	if (!(c->low <= c->open && c->low <= c->close && c->high >= c->open &&
		  c->high >= c->close && c->low > 0 && isfinite(c->high)))
		return bf_fail(p->page, "row %d: prices not ordered low <= open, close <= high", row);
	if (!(c->volume >= 0) || !isfinite(c->volume))
		return bf_fail(p->page, "row %d: volume negative or not finite", row);
	if (!isnan(c->vwap) && (!isfinite(c->vwap) || c->vwap < 0))
		return bf_fail(p->page, "row %d: vwap not finite", row);
	return 0;
}

/*
 * bf_read_prices
 *	  Array elements at idx[0..4) into open, high, low, close, volume.
 */
static bool
bf_read_prices(bf_parse_ctx *p, const cJSON *row, const int idx[5], bf_candle *c)
{
	static const char *const names[5] = {"open", "high", "low", "close", "volume"};
	double	   *dst[5] = {&c->open, &c->high, &c->low, &c->close, &c->volume};

	for (int k = 0; k < 5; k++)
		if (!tsk_td_read_number(&p->td, cJSON_GetArrayItem(row, idx[k]), names[k],
								k < 4 ? TD_NUM_POSITIVE : TD_NUM_NONNEG, dst[k]))
			return false;
	return true;
}

/*
 * bf_read_count
 *	  A non-negative integer count (JSON number or decimal string).
 */
static bool
bf_read_count(bf_parse_ctx *p, const cJSON *it, const char *name, int64_t *out)
{
	double		d;

	if (!tsk_td_read_number(&p->td, it, name, TD_NUM_NONNEG, &d))
		return false;
	if (d != floor(d) || d > 9007199254740992.0)
		return tsk_td_reject(&p->td, "field \"%s\": not an integer count", name);
	*out = (int64_t) d;
	return true;
}

/*
 * bf_binance_klines
 *	  Klines: vwap = quote volume / volume (spot and USD-M; COIN-M volumes
 *	  are contracts, so its vwap is unknown).
 */
static int
bf_binance_klines(bf_parse_ctx *p, const cJSON *root, bf_candle *out)
{
	static const int idx[5] = {1, 2, 3, 4, 5};
	const cJSON *rows = bf_rows(p, root);
	const cJSON *it;
	int			i = 0;

	if (rows == NULL)
		return -1;
	cJSON_ArrayForEach(it, rows)
	{
		bf_candle	c = {0};
		double		quote = 0;

		if (!cJSON_IsArray(it) || cJSON_GetArraySize(it) < 9)
			return bf_fail(p->page, "row %d: expected an array of at least 9 fields", i);
		if (!tsk_td_read_ts(&p->td, cJSON_GetArrayItem(it, 0), "openTime", TD_TS_MS, &c.open_us) ||
			!bf_read_prices(p, it, idx, &c) ||
			!tsk_td_read_number(&p->td, cJSON_GetArrayItem(it, 7), "quoteVolume", TD_NUM_NONNEG, &quote) ||
			!bf_read_count(p, cJSON_GetArrayItem(it, 8), "trades", &c.trades))
			return bf_td_error(p, i);
		c.vwap = (p->job->market != BF_COINM && c.volume > 0) ? quote / c.volume : NAN;
		if (bf_candle_check(p, &c, i) != 0)
			return -1;
		out[i++] = c;
	}
	p->page->n = i;
	return 0;
}

/*
 * bf_coinbase_trades
 *	  Coinbase Exchange trades (side is the maker's).
 */
static int
bf_coinbase_trades(bf_parse_ctx *p, const cJSON *root, td_trade *out)
{
	const cJSON *rows = bf_rows(p, root);
	const cJSON *it;
	int			i = 0;

	if (rows == NULL)
		return -1;
	cJSON_ArrayForEach(it, rows)
	{
		td_trade	t;

		bf_trade_init(p->job, &t);
		if (!cJSON_IsObject(it))
			return bf_fail(p->page, "row %d: expected an object", i);
		if (!bf_read_native_id(p, tsk_td_get(it, "trade_id"), "trade_id", &t.trade_id) ||
			!tsk_td_read_number(&p->td, tsk_td_get(it, "price"), "price", TD_NUM_POSITIVE, &t.price) ||
			!tsk_td_read_number(&p->td, tsk_td_get(it, "size"), "size", TD_NUM_NONNEG, &t.qty) ||
			!tsk_td_read_ts(&p->td, tsk_td_get(it, "time"), "time", TD_TS_RFC3339, &t.ts_us) ||
			!tsk_td_read_side(&p->td, tsk_td_get(it, "side"), "side", TD_SIDE_MAKER, &t.side))
			return bf_td_error(p, i);
		out[i++] = t;
	}
	p->page->n = i;
	return 0;
}

/*
 * bf_coinbase_candles
 *	  [time, low, high, open, close, volume]; no vwap, no trade count.
 */
static int
bf_coinbase_candles(bf_parse_ctx *p, const cJSON *root, bf_candle *out)
{
	static const int idx[5] = {3, 2, 1, 4, 5};
	const cJSON *rows = bf_rows(p, root);
	const cJSON *it;
	int			i = 0;

	if (rows == NULL)
		return -1;
	cJSON_ArrayForEach(it, rows)
	{
		bf_candle	c = {0};

		if (!cJSON_IsArray(it) || cJSON_GetArraySize(it) < 6)
			return bf_fail(p->page, "row %d: expected an array of 6 fields", i);
		if (!tsk_td_read_ts(&p->td, cJSON_GetArrayItem(it, 0), "time", TD_TS_S, &c.open_us) ||
			!bf_read_prices(p, it, idx, &c))
			return bf_td_error(p, i);
		c.vwap = NAN;
		c.trades = -1;
		if (bf_candle_check(p, &c, i) != 0)
			return -1;
		out[i++] = c;
	}
	p->page->n = i;
	return 0;
}

/*
 * bf_kraken_result
 *	  Kraken's envelope: checks "error", finds the pair's rows (the one
 *	  array member of "result"; its key may be the exchange's altname) and
 *	  the "last" cursor.
 */
static const cJSON *
bf_kraken_result(bf_parse_ctx *p, const cJSON *root)
{
	const cJSON *err = cJSON_GetObjectItemCaseSensitive(root, "error");
	const cJSON *result = cJSON_GetObjectItemCaseSensitive(root, "result");
	const cJSON *it;
	const cJSON *rows = NULL;
	const cJSON *last;

	if (!cJSON_IsObject(root))
	{
		bf_fail(p->page, "expected a JSON object");
		return NULL;
	}
	if (cJSON_IsArray(err) && cJSON_GetArraySize(err) > 0)
	{
		const cJSON *first = cJSON_GetArrayItem(err, 0);
		const char *msg = cJSON_IsString(first) ? first->valuestring : "(not a string)";

		p->page->rate_limited = strstr(msg, "Too many requests") != NULL ||
			strstr(msg, "Rate limit") != NULL;
		bf_fail(p->page, "exchange error: %.120s", msg);
		return NULL;
	}
	if (!cJSON_IsObject(result))
	{
		bf_fail(p->page, "no \"result\" object");
		return NULL;
	}
	cJSON_ArrayForEach(it, result)
	{
		if (it->string == NULL || strcmp(it->string, "last") == 0)
			continue;
		if (rows != NULL)
		{
			bf_fail(p->page, "\"result\" holds more than one pair");
			return NULL;
		}
		rows = it;
	}
	last = cJSON_GetObjectItemCaseSensitive(result, "last");
	if (cJSON_IsString(last) && strlen(last->valuestring) < BF_CURSOR_MAX &&
		strspn(last->valuestring, "0123456789") == strlen(last->valuestring) && last->valuestring[0])
	{
		snprintf(p->page->next, sizeof(p->page->next), "%s", last->valuestring);
		p->page->has_next = true;
	}
	else if (cJSON_IsNumber(last) && last->valuedouble >= 0 && last->valuedouble < 1e18 &&
			 last->valuedouble == floor(last->valuedouble))
	{
		snprintf(p->page->next, sizeof(p->page->next), "%lld", (long long) last->valuedouble);
		p->page->has_next = true;
	}
	else if (last != NULL)
	{
		bf_fail(p->page, "field \"last\": not a decimal cursor");
		return NULL;
	}
	if (rows == NULL)
	{
		static const cJSON empty = {.type = cJSON_Array};

		return &empty;			/* no pair: no rows */
	}
	return bf_rows(p, rows);
}

/*
 * bf_kraken_trades
 *	  [price, volume, time, side (taker), ordertype, misc, id].
 */
static int
bf_kraken_trades(bf_parse_ctx *p, const cJSON *root, td_trade *out)
{
	const cJSON *rows = bf_kraken_result(p, root);
	const cJSON *it;
	int			i = 0;

	if (rows == NULL)
		return -1;
	cJSON_ArrayForEach(it, rows)
	{
		td_trade	t;

		bf_trade_init(p->job, &t);
		if (!cJSON_IsArray(it) || cJSON_GetArraySize(it) < 7)
			return bf_fail(p->page, "row %d: expected an array of 7 fields", i);
		if (!tsk_td_read_number(&p->td, cJSON_GetArrayItem(it, 0), "price", TD_NUM_POSITIVE, &t.price) ||
			!tsk_td_read_number(&p->td, cJSON_GetArrayItem(it, 1), "volume", TD_NUM_NONNEG, &t.qty) ||
			!tsk_td_read_ts(&p->td, cJSON_GetArrayItem(it, 2), "time", TD_TS_S, &t.ts_us) ||
			!tsk_td_read_side(&p->td, cJSON_GetArrayItem(it, 3), "side", TD_SIDE_TAKER, &t.side) ||
			!bf_read_native_id(p, cJSON_GetArrayItem(it, 6), "trade_id", &t.trade_id))
			return bf_td_error(p, i);
		out[i++] = t;
	}
	p->page->n = i;
	return 0;
}

/*
 * bf_kraken_ohlc
 *	  [time, open, high, low, close, vwap, volume, count].
 */
static int
bf_kraken_ohlc(bf_parse_ctx *p, const cJSON *root, bf_candle *out)
{
	static const int idx[5] = {1, 2, 3, 4, 6};
	const cJSON *rows = bf_kraken_result(p, root);
	const cJSON *it;
	int			i = 0;

	if (rows == NULL)
		return -1;
	cJSON_ArrayForEach(it, rows)
	{
		bf_candle	c = {0};

		if (!cJSON_IsArray(it) || cJSON_GetArraySize(it) < 8)
			return bf_fail(p->page, "row %d: expected an array of 8 fields", i);
		if (!tsk_td_read_ts(&p->td, cJSON_GetArrayItem(it, 0), "time", TD_TS_S, &c.open_us) ||
			!bf_read_prices(p, it, idx, &c) ||
			!tsk_td_read_number(&p->td, cJSON_GetArrayItem(it, 5), "vwap", TD_NUM_NONNEG, &c.vwap) ||
			!bf_read_count(p, cJSON_GetArrayItem(it, 7), "count", &c.trades))
			return bf_td_error(p, i);
		if (c.volume == 0)
			c.vwap = NAN;
		if (bf_candle_check(p, &c, i) != 0)
			return -1;
		out[i++] = c;
	}
	p->page->n = i;
	return 0;
}

/*
 * bf_json_path
 *	  Resolve a dotted path (object keys, array indices) from the root.
 */
static const cJSON *
bf_json_path(const cJSON *root, const char *path)
{
	char		seg[64];
	const cJSON *cur = root;

	while (cur != NULL && *path)
	{
		size_t		n = strcspn(path, ".");

		if (n == 0 || n >= sizeof(seg))
			return NULL;
		memcpy(seg, path, n);
		seg[n] = '\0';
		if (cJSON_IsArray(cur) && strspn(seg, "0123456789") == n)
			cur = cJSON_GetArrayItem(cur, atoi(seg));
		else
			cur = cJSON_IsObject(cur) ? cJSON_GetObjectItemCaseSensitive(cur, seg) : NULL;
		path += n + (path[n] == '.');
	}
	return cur;
}

/*
 * bf_generic_trades
 *	  The generic decoder over the whole body, plus the next-cursor path.
 */
static int
bf_generic_trades(bf_parse_ctx *p, const char *body, size_t len, const cJSON *root, td_trade *out)
{
	const bf_generic *g = p->job->generic;
	td_result	res;
	td_kind		kind;

	kind = tsk_td_decode(TD_GENERIC, &g->map, body, len, out, p->cap, &res);
	if (kind == TD_OVERFLOW)
		return bf_fail(p->page, "page holds %d rows, more than the %d asked for", res.needed, p->cap);
	if (kind == TD_ERROR)
		return bf_fail(p->page, "%s", res.error);
	p->page->n = kind == TD_TRADES ? res.ntrades : 0;
	if (p->job->limit > 0 && p->page->n > p->job->limit)
		return bf_fail(p->page, "page holds %d rows, more than the %d asked for",
					   p->page->n, p->job->limit);
	for (int i = 0; i < p->page->n; i++)
		snprintf(out[i].instrument, sizeof(out[i].instrument), "%s", p->job->instrument);
	if (g->cursor == BF_GCUR_PATH && g->next_path != NULL)
	{
		const cJSON *next = bf_json_path(root, g->next_path);
		char		buf[BF_CURSOR_MAX];

		if (cJSON_IsString(next) && next->valuestring[0] &&
			strlen(next->valuestring) < BF_CURSOR_MAX)
			snprintf(buf, sizeof(buf), "%s", next->valuestring);
		else if (cJSON_IsNumber(next) && fabs(next->valuedouble) < 1e18)
			snprintf(buf, sizeof(buf), "%lld", (long long) next->valuedouble);
		else
			buf[0] = '\0';
		for (const char *c = buf; *c; c++)
			if ((unsigned char) *c <= 0x20 || (unsigned char) *c > 0x7e)
				return bf_fail(p->page, "next cursor is not printable ASCII");
		if (buf[0])
		{
			memcpy(p->page->next, buf, sizeof(buf));
			p->page->has_next = true;
		}
	}
	return 0;
}

/*
 * tsk_bf_parse
 *	  See rest.h.
 */
int
tsk_bf_parse(const bf_job *job, const bf_cursor *cur, const char *body, size_t len,
			 td_trade *trades, bf_candle *candles, int cap, bf_page *page)
{
	bf_parse_ctx p;
	cJSON	   *root;
	const char *end = NULL;
	int			rc;
	bool		want_candles;

	memset(page, 0, sizeof(*page));
	if (job == NULL || cur == NULL || (unsigned) job->ep >= BF_ENDPOINT_COUNT || cap < 0)
		return bf_fail(page, "invalid arguments");
	want_candles = tsk_bf_endpoint_candles(job->ep);
	if ((want_candles ? (void *) candles : (void *) trades) == NULL && cap > 0)
		return bf_fail(page, "invalid arguments");
	if (job->ep == BF_GENERIC_TRADES && job->generic == NULL)
		return bf_fail(page, "generic endpoint without a field map");
	if (body == NULL || len == 0)
		return bf_fail(page, "empty body");
	if (len > TD_MAX_FRAME_LEN)
		return bf_fail(page, "body too large (%zu bytes)", len);
	if (memchr(body, '\0', len) != NULL)
		return bf_fail(page, "body contains a NUL byte");
	root = cJSON_ParseWithLengthOpts(body, len, &end, 0);
	if (root == NULL)
		return bf_fail(page, "invalid or truncated JSON near byte %ld of %zu",
					   (end >= body && end <= body + len) ? (long) (end - body) : -1L, len);
	while (end < body + len && *end && strchr(" \t\r\n", *end))
		end++;
	if (end != body + len)
	{
		cJSON_Delete(root);
		return bf_fail(page, "trailing data after the JSON value at byte %ld", (long) (end - body));
	}
	memset(&p, 0, sizeof(p));
	p.td.res = &p.res;
	p.td.index = -1;
	p.td.root = root;
	p.page = page;
	p.job = job;
	p.cap = cap;
	if (bf_error_answer(page, root))
		rc = -1;
	else
	{
		switch (job->ep)
		{
			case BF_BINANCE_AGGTRADES:
				rc = bf_binance_trades(&p, root, trades, true, false);
				break;
			case BF_BINANCE_TRADES:
				rc = tsk_bf_seeking(job, cur) ?
					bf_binance_trades(&p, root, trades, true, true) :
					bf_binance_trades(&p, root, trades, false, false);
				break;
			case BF_BINANCE_KLINES:
				rc = bf_binance_klines(&p, root, candles);
				break;
			case BF_COINBASE_TRADES:
				rc = bf_coinbase_trades(&p, root, trades);
				break;
			case BF_COINBASE_CANDLES:
				rc = bf_coinbase_candles(&p, root, candles);
				break;
			case BF_KRAKEN_TRADES:
				rc = bf_kraken_trades(&p, root, trades);
				break;
			case BF_KRAKEN_OHLC:
				rc = bf_kraken_ohlc(&p, root, candles);
				break;
			case BF_GENERIC_TRADES:
				rc = bf_generic_trades(&p, body, len, root, trades);
				break;
			default:
				rc = bf_fail(page, "unknown endpoint");
		}
	}
	cJSON_Delete(root);
	if (rc != 0)
		page->n = 0;
	return rc;
}
