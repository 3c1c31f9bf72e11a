/*
 * rest_plan.c
 *	  pagination of the REST backfill (triggerstock; see rest.h): each
 *	  endpoint's URL for a cursor, and the step that applies a parsed page to a
 *	  job (rows kept, next cursor, progress, end, errors).
 *
 * The step itself is in rest_step.c.
 *
 * Pagination per endpoint:
 *   Binance aggTrades      a time window of at most an hour (startTime,
 *                          endTime) until a page has trades, then fromId =
 *                          last id + 1; ends at the first trade at or after
 *                          the range's end, or on an empty page (present).
 *   Binance historicalTrades  one aggTrades page (limit 1) finds the first
 *                          trade id at the start time (the aggregate's "f"),
 *                          then fromId as above.
 *   Binance klines         startTime = next minute, endTime = range end.
 *   Coinbase trades        newest first: after = smallest id seen; ends
 *                          below the range's start.  A time range that
 *                          ends before the newest page is found by probes
 *                          (limit=1): galloping down, then bisection.
 *   Coinbase candles       windows of `limit` minutes (start, end).
 *   Kraken Trades / OHLC   since = the answer's "last".
 *   generic                a URL template; {cursor} = last id + 1, last
 *                          time + 1 ms, last time in s, or a body path.
 * Id ranges (gap repair) start at from_id (Coinbase: after = to_id + 1;
 * Kraken: since = the range's start time) and end once to_id is passed.
 *
 * Invariants: the next cursor never moves backwards; rows already behind
 * the cursor are skipped (a repeated page makes no progress, reported as
 * such, never stored twice by us); times that go backwards inside the
 * stored order, or a page longer than asked, are fatal.
 */
#define TD_DECODE_INTERNAL
#include "backfill/rest.h"

#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BF_HOUR_US INT64_C(3600000000)

static const char *const bf_endpoint_names[BF_ENDPOINT_COUNT] = {
	"binance_aggtrades", "binance_trades", "binance_klines", "coinbase_trades",
	"coinbase_candles", "kraken_trades", "kraken_ohlc", "generic_trades"
};

static const char *const bf_mode_names[] = {"start", "window", "id", "time", "token", "done"};

/*
 * tsk_bf_endpoint_name
 *	  See rest.h.
 */
const char *
tsk_bf_endpoint_name(bf_endpoint ep)
{
	return (unsigned) ep < BF_ENDPOINT_COUNT ? bf_endpoint_names[ep] : "unknown";
}

/*
 * tsk_bf_endpoint_from_name
 *	  See rest.h.
 */
int
tsk_bf_endpoint_from_name(const char *name, bf_endpoint *ep)
{
	for (int i = 0; name != NULL && i < BF_ENDPOINT_COUNT; i++)
		if (strcmp(name, bf_endpoint_names[i]) == 0)
		{
			*ep = (bf_endpoint) i;
			return 0;
		}
	return -1;
}

/*
 * tsk_bf_endpoint_candles
 *	  See rest.h.
 */
bool
tsk_bf_endpoint_candles(bf_endpoint ep)
{
	return ep == BF_BINANCE_KLINES || ep == BF_COINBASE_CANDLES || ep == BF_KRAKEN_OHLC;
}

/*
 * tsk_bf_market_from_name
 *	  See rest.h.
 */
int
tsk_bf_market_from_name(const char *name, bf_market *m)
{
	if (name == NULL || strcmp(name, "spot") == 0)
		*m = BF_SPOT;
	else if (strcmp(name, "usdm") == 0)
		*m = BF_USDM;
	else if (strcmp(name, "coinm") == 0)
		*m = BF_COINM;
	else
		return -1;
	return 0;
}

/*
 * tsk_bf_default_base
 *	  See rest.h.
 */
const char *
tsk_bf_default_base(bf_endpoint ep, bf_market m)
{
	switch (ep)
	{
		case BF_BINANCE_AGGTRADES:
		case BF_BINANCE_TRADES:
		case BF_BINANCE_KLINES:
			return m == BF_USDM ? "https://fapi.binance.com" :
				m == BF_COINM ? "https://dapi.binance.com" : "https://api.binance.com";
		case BF_COINBASE_TRADES:
		case BF_COINBASE_CANDLES:
			return "https://api.exchange.coinbase.com";
		case BF_KRAKEN_TRADES:
		case BF_KRAKEN_OHLC:
			return "https://api.kraken.com";
		default:
			return NULL;
	}
}

/*
 * tsk_bf_max_limit
 *	  See rest.h.
 */
int
tsk_bf_max_limit(bf_endpoint ep, bf_market m)
{
	switch (ep)
	{
		case BF_BINANCE_KLINES:
			return m == BF_SPOT ? 1000 : 1500;
		case BF_COINBASE_CANDLES:
			return 300;
		case BF_KRAKEN_OHLC:
			return 720;
		default:
			return 1000;
	}
}

static int bf_err(char *err, size_t errsz, const char *fmt,...) __attribute__((format(printf, 3, 4)));

/*
 * bf_err
 *	  snprintf into an error buffer; returns -1.
 */
static int
bf_err(char *err, size_t errsz, const char *fmt,...)
{
	va_list		ap;

	va_start(ap, fmt);
	vsnprintf(err, errsz, fmt, ap);
	va_end(ap);
	return -1;
}

/*
 * bf_instrument_ok
 *	  The instrument's characters are safe in this endpoint's URL.
 */
static bool
bf_instrument_ok(const bf_job *job)
{
	const char *s = job->instrument;

	if (!tsk_td_symbol_ok(s, false))
		return false;
	for (; *s; s++)
	{
		unsigned char ch = (unsigned char) *s;

		if (job->ep == BF_GENERIC_TRADES)
			continue;			/* percent-encoded */
		if (!isalnum(ch) && ch != '-' && ch != '_' && ch != '.' &&
			!(ch == '/' && (job->ep == BF_KRAKEN_TRADES || job->ep == BF_KRAKEN_OHLC)))
			return false;
	}
	return true;
}

/*
 * tsk_bf_job_check
 *	  See rest.h.
 */
int
tsk_bf_job_check(const bf_job *job, char *err, size_t errsz)
{
	const char *b = job->base_url;
	bool		candles = tsk_bf_endpoint_candles(job->ep);

	if ((unsigned) job->ep >= BF_ENDPOINT_COUNT)
		return bf_err(err, errsz, "unknown endpoint");
	if (job->instrument == NULL || !bf_instrument_ok(job))
		return bf_err(err, errsz, "instrument is empty, longer than 63 bytes or has characters "
					  "this exchange's URLs do not allow");
	if (job->ep != BF_GENERIC_TRADES &&
		(b == NULL || (strncmp(b, "http://", 7) != 0 && strncmp(b, "https://", 8) != 0) ||
		 strlen(b) > 512 || strpbrk(b, " \t\r\n?#") != NULL || b[strlen(b) - 1] == '/'))
		return bf_err(err, errsz, "base URL must be http:// or https://, without query or trailing slash");
	if (!job->has_range && !job->has_ids)
		return bf_err(err, errsz, "a job needs a time range or an id range");
	if (job->has_range && !(job->from_us >= 0 && job->from_us < job->to_us && job->to_us <= TD_MAX_TS_US))
		return bf_err(err, errsz, "time range is empty or out of bounds");
	if (job->has_ids && !(job->from_id >= 0 && job->from_id <= job->to_id))
		return bf_err(err, errsz, "id range is empty or negative");
	if (job->has_ids && candles)
		return bf_err(err, errsz, "candles are fetched by time, not by id");
	if (job->has_ids && job->ep == BF_KRAKEN_TRADES && !job->has_range)
		return bf_err(err, errsz, "Kraken pages by time: an id range needs the time to start from");
	if (job->limit < 1 || job->limit > BF_MAX_LIMIT)
		return bf_err(err, errsz, "limit must be between 1 and %d", BF_MAX_LIMIT);
	if (job->ep == BF_GENERIC_TRADES)
	{
		const bf_generic *g = job->generic;
		char		merr[160];

		if (g == NULL || g->url == NULL ||
			(strncmp(g->url, "http://", 7) != 0 && strncmp(g->url, "https://", 8) != 0))
			return bf_err(err, errsz, "generic: options->'url' must be an http:// or https:// template");
		if (tsk_td_generic_map_check(&g->map, merr, sizeof(merr)) != 0)
			return bf_err(err, errsz, "generic: %s", merr);
		if (g->cursor == BF_GCUR_PATH && (g->next_path == NULL || !g->next_path[0]))
			return bf_err(err, errsz, "generic: cursor 'path' needs next_path");
		if (g->cursor == BF_GCUR_ID && (g->map.trade_id == NULL || !g->map.trade_id[0]))
			return bf_err(err, errsz, "generic: cursor 'id' needs map.trade_id");
	}
	return 0;
}

/* ---- URLs ---------------------------------------------------------------- */

/* Output accumulator, snprintf semantics. */
typedef struct bf_out
{
	char	   *p;
	size_t		sz;
	size_t		len;
} bf_out;

static void bf_put(bf_out *o, const char *fmt,...) __attribute__((format(printf, 2, 3)));

/*
 * bf_put
 *	  Append formatted text.
 */
static void
bf_put(bf_out *o, const char *fmt,...)
{
	va_list		ap;
	int			n;

	va_start(ap, fmt);
	n = vsnprintf(o->len < o->sz ? o->p + o->len : NULL, o->len < o->sz ? o->sz - o->len : 0, fmt, ap);
	va_end(ap);
	if (n > 0)
		o->len += (size_t) n;
}

/*
 * bf_put_encoded
 *	  Append a string percent-encoded (RFC 3986 unreserved kept); with
 *	  drop_slash, '/' is left out (Kraken pairs).
 */
static void
bf_put_encoded(bf_out *o, const char *s, bool drop_slash)
{
	for (; *s; s++)
	{
		unsigned char ch = (unsigned char) *s;

		if (ch == '/' && drop_slash)
			continue;
		if (isalnum(ch) || ch == '-' || ch == '_' || ch == '.' || ch == '~')
			bf_put(o, "%c", ch);
		else
			bf_put(o, "%%%02X", ch);
	}
}

/*
 * bf_floor_div
 *	  Floor division for non-negative divisors.
 */
static int64_t
bf_floor_div(int64_t a, int64_t b)
{
	return a >= 0 ? a / b : -((-a + b - 1) / b);
}

/*
 * bf_ceil_minute
 *	  The first whole minute at or after t (µs).
 */
static int64_t
bf_ceil_minute(int64_t t)
{
	return bf_floor_div(t + BF_CANDLE_US - 1, BF_CANDLE_US) * BF_CANDLE_US;
}

/*
 * bf_put_iso
 *	  Append a UTC time (µs, whole seconds) as YYYY-MM-DDTHH:MM:SSZ.
 */
static void
bf_put_iso(bf_out *o, int64_t us)
{
	int64_t		s = bf_floor_div(us, 1000000);
	int64_t		days = bf_floor_div(s, 86400);
	int64_t		rem = s - days * 86400;
	/* civil from days (H. Hinnant) */
	int64_t		z = days + 719468;
	int64_t		era = bf_floor_div(z, 146097);
	int64_t		doe = z - era * 146097;
	int64_t		yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t		doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64_t		mp = (5 * doy + 2) / 153;
	int64_t		d = doy - (153 * mp + 2) / 5 + 1;
	int64_t		m = mp < 10 ? mp + 3 : mp - 9;
	int64_t		y = yoe + era * 400 + (m <= 2);

	bf_put(o, "%04lld-%02lld-%02lldT%02lld:%02lld:%02lldZ", (long long) y, (long long) m,
		   (long long) d, (long long) (rem / 3600), (long long) (rem % 3600 / 60),
		   (long long) (rem % 60));
}

/*
 * bf_binance_prefix
 *	  Path prefix of a Binance market's REST API.
 */
static const char *
bf_binance_prefix(bf_market m)
{
	return m == BF_USDM ? "/fapi/v1" : m == BF_COINM ? "/dapi/v1" : "/api/v3";
}

/*
 * bf_window_url
 *	  Binance aggTrades for a time window starting at w (µs), at most an
 *	  hour, never past the range's end.
 */
static void
bf_window_url(bf_out *o, const bf_job *job, int64_t w, int limit)
{
	int64_t		start_ms = bf_floor_div(w, 1000);
	int64_t		end_ms = bf_floor_div(job->to_us - 1, 1000);

	if (end_ms > start_ms + 3600000 - 1)
		end_ms = start_ms + 3600000 - 1;
	bf_put(o, "%s%s/aggTrades?symbol=", job->base_url, bf_binance_prefix(job->market));
	bf_put_encoded(o, job->instrument, false);
	bf_put(o, "&startTime=%lld&endTime=%lld&limit=%d", (long long) start_ms, (long long) end_ms, limit);
}

/*
 * bf_template
 *	  Expand a generic URL template.
 */
static int
bf_template(bf_out *o, const bf_job *job, const char *tpl, const char *cursor)
{
	while (*tpl)
	{
		const char *close;
		char		name[16];
		size_t		n;

		if (*tpl != '{' || (close = strchr(tpl, '}')) == NULL || (n = close - tpl - 1) >= sizeof(name))
		{
			bf_put(o, "%c", *tpl++);
			continue;
		}
		memcpy(name, tpl + 1, n);
		name[n] = '\0';
		tpl = close + 1;
		if (strcmp(name, "instrument") == 0)
			bf_put_encoded(o, job->instrument, false);
		else if (strcmp(name, "cursor") == 0 && cursor != NULL)
			bf_put_encoded(o, cursor, false);
		else if (strcmp(name, "limit") == 0)
			bf_put(o, "%d", job->limit);
		else if (strcmp(name, "from_ms") == 0 && job->has_range)
			bf_put(o, "%lld", (long long) bf_floor_div(job->from_us, 1000));
		else if (strcmp(name, "to_ms") == 0 && job->has_range)
			bf_put(o, "%lld", (long long) bf_floor_div(job->to_us - 1, 1000));
		else if (strcmp(name, "from_s") == 0 && job->has_range)
			bf_put(o, "%lld", (long long) bf_floor_div(job->from_us, 1000000));
		else if (strcmp(name, "to_s") == 0 && job->has_range)
			bf_put(o, "%lld", (long long) bf_floor_div(job->to_us - 1, 1000000));
		else if (strcmp(name, "from_id") == 0 && job->has_ids)
			bf_put(o, "%lld", (long long) job->from_id);
		else if (strcmp(name, "to_id") == 0 && job->has_ids)
			bf_put(o, "%lld", (long long) job->to_id);
		else
			return -1;			/* unknown or unavailable placeholder */
	}
	return 0;
}

/*
 * tsk_bf_seeking
 *	  See rest.h.
 */
bool
tsk_bf_seeking(const bf_job *job, const bf_cursor *cur)
{
	return job->ep == BF_BINANCE_TRADES && !job->has_ids &&
		(cur->mode == BF_CUR_START || cur->mode == BF_CUR_WINDOW);
}

/*
 * tsk_bf_page_url
 *	  See rest.h.
 */
int
tsk_bf_page_url(const bf_job *job, const bf_cursor *cur, char *out, size_t outsz)
{
	bf_out		o = {out, outsz, 0};
	bool		start = cur->mode == BF_CUR_START;

	if (outsz > 0)
		out[0] = '\0';
	if (cur->mode == BF_CUR_DONE)
		return -1;
	switch (job->ep)
	{
		case BF_BINANCE_AGGTRADES:
		case BF_BINANCE_TRADES:
			if ((start || cur->mode == BF_CUR_WINDOW) && !job->has_ids)
				bf_window_url(&o, job, start ? job->from_us : cur->value,
							  job->ep == BF_BINANCE_TRADES ? 1 : job->limit);
			else
			{
				bf_put(&o, "%s%s/%s?symbol=", job->base_url, bf_binance_prefix(job->market),
					   job->ep == BF_BINANCE_TRADES ? "historicalTrades" : "aggTrades");
				bf_put_encoded(&o, job->instrument, false);
				bf_put(&o, "&fromId=%lld&limit=%d", (long long) (start ? job->from_id : cur->value),
					   job->limit);
			}
			break;
		case BF_BINANCE_KLINES:
			bf_put(&o, "%s%s/klines?symbol=", job->base_url, bf_binance_prefix(job->market));
			bf_put_encoded(&o, job->instrument, false);
			bf_put(&o, "&interval=1m&startTime=%lld&endTime=%lld&limit=%d",
				   (long long) bf_floor_div(start ? bf_ceil_minute(job->from_us) : cur->value, 1000),
				   (long long) bf_floor_div(job->to_us - 1, 1000), job->limit);
			break;
		case BF_COINBASE_TRADES:
			bf_put(&o, "%s/products/", job->base_url);
			bf_put_encoded(&o, job->instrument, false);
			if (cur->mode == BF_CUR_WINDOW)
			{
				/* a probe of the search: one trade at or below probe */
				int64_t		hi = cur->value,
							lo = cur->last_id,
							step = cur->last_us;
				int64_t		probe = lo < 0 ? (hi - step > 0 ? hi - step : 0) : lo + (hi - lo) / 2;

				bf_put(&o, "/trades?limit=1&after=%lld", (long long) probe + 1);
				break;
			}
			bf_put(&o, "/trades?limit=%d", job->limit);
			if (!start)
				bf_put(&o, "&after=%lld", (long long) cur->value);
			else if (job->has_ids)
				bf_put(&o, "&after=%lld", (long long) (job->to_id + 1));
			break;
		case BF_COINBASE_CANDLES:
			{
				int64_t		w = start ? bf_ceil_minute(job->from_us) : cur->value;
				int64_t		e = w + (int64_t) job->limit * BF_CANDLE_US;

				if (e > bf_ceil_minute(job->to_us))
					e = bf_ceil_minute(job->to_us);
				bf_put(&o, "%s/products/", job->base_url);
				bf_put_encoded(&o, job->instrument, false);
				bf_put(&o, "/candles?granularity=60&start=");
				bf_put_iso(&o, w);
				bf_put(&o, "&end=");
				bf_put_iso(&o, e - BF_CANDLE_US);
				break;
			}
		case BF_KRAKEN_TRADES:
		case BF_KRAKEN_OHLC:
			bf_put(&o, "%s/0/public/%s?pair=", job->base_url,
				   job->ep == BF_KRAKEN_TRADES ? "Trades" : "OHLC");
			bf_put_encoded(&o, job->instrument, true);
			if (job->ep == BF_KRAKEN_OHLC)
				bf_put(&o, "&interval=1");
			if (start)
				bf_put(&o, "&since=%lld", (long long) (bf_floor_div(job->ep == BF_KRAKEN_OHLC ?
													  bf_ceil_minute(job->from_us) : job->from_us,
													  1000000) - (job->ep == BF_KRAKEN_OHLC ? 60 : 1)));
			else
				bf_put(&o, "&since=%s", cur->token);
			if (job->ep == BF_KRAKEN_TRADES)
				bf_put(&o, "&count=%d", job->limit);
			break;
		case BF_GENERIC_TRADES:
			{
				const bf_generic *g = job->generic;
				char		c[BF_CURSOR_MAX];

				if (start || g->cursor == BF_GCUR_PATH)
					snprintf(c, sizeof(c), "%s", start ? "" : cur->token);
				else
					snprintf(c, sizeof(c), "%lld", (long long) cur->value);
				if (bf_template(&o, job, start || g->next_url == NULL ? g->url : g->next_url,
								start ? NULL : c) != 0)
					return -1;
				break;
			}
		default:
			return -1;
	}
	return o.len > (size_t) INT32_MAX ? -1 : (int) o.len;
}

/* ---- cursor text ---------------------------------------------------------- */

/*
 * tsk_bf_cursor_format
 *	  See rest.h.
 */
int
tsk_bf_cursor_format(const bf_cursor *cur, char *out, size_t outsz)
{
	if ((unsigned) cur->mode > BF_CUR_DONE)
		return -1;
	return snprintf(out, outsz, "%s:%lld:%lld:%lld%s%s", bf_mode_names[cur->mode],
					(long long) cur->value, (long long) cur->last_us, (long long) cur->last_id,
					cur->mode == BF_CUR_TOKEN ? ":" : "", cur->mode == BF_CUR_TOKEN ? cur->token : "");
}

/*
 * tsk_bf_cursor_parse
 *	  See rest.h.
 */
int
tsk_bf_cursor_parse(const char *text, bf_cursor *cur)
{
	char		mode[16];
	long long	v,
				lu,
				li;
	int			used = 0;

	memset(cur, 0, sizeof(*cur));
	cur->last_us = cur->last_id = -1;
	if (text == NULL || *text == '\0')
		return 0;				/* START */
	if (sscanf(text, "%15[a-z]:%lld:%lld:%lld%n", mode, &v, &lu, &li, &used) != 4)
		return -1;
	for (int m = 0; m <= BF_CUR_DONE; m++)
		if (strcmp(mode, bf_mode_names[m]) == 0)
		{
			cur->mode = (bf_cursor_mode) m;
			cur->value = v;
			cur->last_us = lu;
			cur->last_id = li;
			if (m == BF_CUR_TOKEN)
			{
				if (text[used] != ':' || strlen(text + used + 1) >= BF_CURSOR_MAX ||
					text[used + 1] == '\0')
					return -1;
				strcpy(cur->token, text + used + 1);
			}
			else if (text[used] != '\0')
				return -1;
			return 0;
		}
	return -1;
}
