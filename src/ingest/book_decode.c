/*
 * book_decode.c -- the exchange-independent half of the book decoders
 * (book_decode.h): frame checks and parsing, the dispatcher, the change
 * accumulator, small readers (integers, timestamps, sanitised text) and
 * the depth-channel subscribe texts.  The per-exchange halves live in
 * book_decode_{binance,coinbase,kraken}.c.
 *
 * Invariants: see book_decode.h.  cJSON_ParseWithLengthOpts never reads
 * past len; cJSON's nesting limit bounds its recursion and ours does not
 * recurse.  Text copied from a frame into msg->error or msg->detail goes
 * through tsk_tb_sanitize.
 */
#define TB_DECODE_INTERNAL
#include "ingest/book_decode.h"

#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* ---- helpers shared by the exchange halves ----------------------------- */

/*
 * tsk_tb_sanitize
 *	  Copy src as printable ASCII ('?' for anything else), truncated.
 */
void
tsk_tb_sanitize(char *dst, size_t dstsz, const char *src)
{
	size_t		i = 0;

	if (dstsz == 0)
		return;
	for (; src && src[i] && i + 1 < dstsz; i++)
		dst[i] = (src[i] >= 0x20 && src[i] <= 0x7e) ? src[i] : '?';
	dst[i] = '\0';
}

/*
 * tsk_tb_fail
 *	  Record an error (formatted, sanitised) and return TB_ERROR.
 */
tb_kind
tsk_tb_fail(tb_ctx *c, const char *fmt,...)
{
	char		buf[TB_ERROR_MAX];
	va_list		ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	tsk_tb_sanitize(c->msg->error, sizeof c->msg->error, buf);
	return c->msg->kind = TB_ERROR;
}

/*
 * tsk_tb_control
 *	  Not a book frame: say what it was.
 */
tb_kind
tsk_tb_control(tb_ctx *c, const char *detail)
{
	tsk_tb_sanitize(c->msg->detail, sizeof c->msg->detail, detail);
	return c->msg->kind = TB_CONTROL;
}

/*
 * tsk_tb_group_open
 *	  Start a group for an instrument; NULL (with the error set) if the
 *	  instrument is unusable or there are too many groups.
 */
tb_group *
tsk_tb_group_open(tb_ctx *c, const char *instrument, bool snapshot)
{
	tb_group   *g;
	size_t		len = instrument ? strnlen(instrument, TB_INSTRUMENT_MAX) : 0;

	if (c->msg->ngroups >= TB_MAX_GROUPS)
	{
		tsk_tb_fail(c, "more than %d instruments in one frame", TB_MAX_GROUPS);
		return NULL;
	}
	if (instrument == NULL || len >= TB_INSTRUMENT_MAX)
	{
		tsk_tb_fail(c, "missing or too long instrument");
		return NULL;
	}
	for (size_t i = 0; i < len; i++)
		if (instrument[i] < 0x21 || instrument[i] > 0x7e)
		{
			tsk_tb_fail(c, "instrument is not printable ASCII");
			return NULL;
		}
	g = &c->msg->groups[c->msg->ngroups++];
	memset(g, 0, sizeof *g);
	memcpy(g->instrument, instrument, len);
	g->snapshot = snapshot;
	g->first = c->n;
	g->first_id = g->last_id = g->prev_id = -1;
	g->event_us = -1;
	c->g = g;
	return g;
}

/*
 * tb_read_dec
 *	  A decimal string (or, failing that, a non-negative JSON integer that
 *	  cJSON holds exactly) as tb_dec.
 */
static bool
tb_read_dec(const cJSON *it, tb_dec *out)
{
	if (cJSON_IsString(it) && it->valuestring)
		return tsk_tb_dec_parse(it->valuestring, strlen(it->valuestring), out) == 0;
	if (cJSON_IsNumber(it) && it->valuedouble >= 0 && it->valuedouble < 9007199254740992.0 &&
		it->valuedouble == floor(it->valuedouble))
	{
		out->mant = (uint64_t) it->valuedouble;
		out->dec = 0;
		return true;
	}
	return false;
}

/*
 * tsk_tb_add
 *	  Append one level change to the open group (counted past cap).
 */
bool
tsk_tb_add(tb_ctx *c, int side, const cJSON *price, const cJSON *qty, const char *where)
{
	tb_change	ch;

	if (!tb_read_dec(price, &ch.price) || ch.price.mant == 0)
	{
		tsk_tb_fail(c, "%s: price is not a positive decimal string", where);
		return false;
	}
	if (!tb_read_dec(qty, &ch.qty))
	{
		tsk_tb_fail(c, "%s: quantity is not a non-negative decimal string", where);
		return false;
	}
	if (c->n == INT_MAX)
	{
		tsk_tb_fail(c, "too many levels");
		return false;
	}
	ch.side = (uint8_t) side;
	ch.group = (uint8_t) (c->g - c->msg->groups);
	if (c->n < c->cap)
		c->out[c->n] = ch;
	c->n++;
	c->g->n++;
	return true;
}

/*
 * tsk_tb_int
 *	  A JSON integer (number holding an integral value in int64 range, or
 *	  a string of 1..18 digits) as int64.
 */
bool
tsk_tb_int(const cJSON *it, int64_t *out)
{
	if (cJSON_IsNumber(it))
	{
		double		v = it->valuedouble;

		if (!(v >= 0 && v < 9007199254740992.0) || v != floor(v))
			return false;
		*out = (int64_t) v;
		return true;
	}
	if (cJSON_IsString(it) && it->valuestring)
	{
		const char *s = it->valuestring;
		int64_t		v = 0;
		size_t		n = strlen(s);

		if (n == 0 || n > 18)
			return false;
		for (size_t i = 0; i < n; i++)
		{
			if (s[i] < '0' || s[i] > '9')
				return false;
			v = v * 10 + (s[i] - '0');
		}
		*out = v;
		return true;
	}
	return false;
}

/*
 * tb_two_digits
 *	  Two ASCII digits, or -1.
 */
static int
tb_two_digits(const char *s)
{
	if (s[0] < '0' || s[0] > '9' || s[1] < '0' || s[1] > '9')
		return -1;
	return (s[0] - '0') * 10 + (s[1] - '0');
}

/*
 * tsk_tb_rfc3339
 *	  "YYYY-MM-DDTHH:MM:SS[.frac]Z" (UTC only) to µs since the epoch; false
 *	  for anything else.  Only used for informational event times.
 */
bool
tsk_tb_rfc3339(const char *s, int64_t *us)
{
	int			y,
				mo,
				d,
				h,
				mi,
				sec,
				micro = 0,
				n = 0;
	size_t		len;
	int64_t		days;
	unsigned	yoe,
				doy;
	int			era,
				yy;

	if (s == NULL || (len = strnlen(s, 40)) < 20 || len >= 40)
		return false;
	if (tb_two_digits(s) < 0 || tb_two_digits(s + 2) < 0)
		return false;
	y = tb_two_digits(s) * 100 + tb_two_digits(s + 2);
	mo = tb_two_digits(s + 5);
	d = tb_two_digits(s + 8);
	h = tb_two_digits(s + 11);
	mi = tb_two_digits(s + 14);
	sec = tb_two_digits(s + 17);
	if (s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':' ||
		y < 1970 || mo < 1 || mo > 12 || d < 1 || d > 31 || h < 0 || h > 23 || mi < 0 ||
		mi > 59 || sec < 0 || sec > 60)
		return false;
	s += 19;
	if (*s == '.')
		for (s++; *s >= '0' && *s <= '9'; s++, n++)
			if (n < 6)
				micro = micro * 10 + (*s - '0');
	for (; n < 6; n++)
		micro *= 10;
	if (s[0] != 'Z' || s[1] != '\0')
		return false;
	/* days from civil (H. Hinnant) */
	yy = y - (mo <= 2);
	era = yy / 400;
	yoe = (unsigned) (yy - era * 400);
	doy = (unsigned) ((153 * (mo > 2 ? mo - 3 : mo + 9) + 2) / 5 + d - 1);
	days = (int64_t) era * 146097 + (int64_t) (yoe * 365 + yoe / 4 - yoe / 100 + doy) - 719468;
	*us = ((days * 24 + h) * 60 + mi) * INT64_C(60000000) + (int64_t) sec * 1000000 + micro;
	return true;
}

/*
 * tsk_tb_epoch_text
 *	  "1618678133.366461" (seconds, up to 6 decimals kept) to µs.
 */
bool
tsk_tb_epoch_text(const char *s, int64_t *us)
{
	int64_t		secs = 0,
				micro = 0;
	int			n = 0,
				digits = 0;

	if (s == NULL)
		return false;
	for (; *s >= '0' && *s <= '9'; s++)
		if (++digits > 12)
			return false;
		else
			secs = secs * 10 + (*s - '0');
	if (digits == 0)
		return false;
	if (*s == '.')
		for (s++; *s >= '0' && *s <= '9'; s++, n++)
			if (n < 6)
				micro = micro * 10 + (*s - '0');
	if (*s != '\0')
		return false;
	for (; n < 6; n++)
		micro *= 10;
	*us = secs * 1000000 + micro;
	return true;
}

/* ---- dispatcher -------------------------------------------------------- */

/*
 * tsk_tb_decode
 *	  Check and parse the frame, hand it to the exchange's decoder, settle
 *	  TB_OVERFLOW.
 */
tb_kind
tsk_tb_decode(tb_source src, const char *frame, size_t len, tb_change *out, int cap, tb_msg *msg)
{
	tb_ctx		c = {out, cap < 0 ? 0 : cap, 0, msg, NULL};
	cJSON	   *root = NULL;
	const char *end = NULL;
	tb_kind		kind;

	memset(msg, 0, offsetof(tb_msg, groups));
	msg->detail[0] = msg->error[0] = '\0';
	if (out == NULL)
		c.cap = 0;
	if (frame == NULL || len == 0)
		kind = tsk_tb_fail(&c, "empty frame");
	else if (len > TB_MAX_FRAME_LEN)
		kind = tsk_tb_fail(&c, "frame too large (%zu bytes)", len);
	else if (memchr(frame, '\0', len) != NULL)
		kind = tsk_tb_fail(&c, "NUL byte in frame");
	else if ((root = cJSON_ParseWithLengthOpts(frame, len, &end, 0)) == NULL)
		kind = tsk_tb_fail(&c, "not JSON");
	else
	{
		while (end && end < frame + len && (*end == ' ' || *end == '\n' || *end == '\r' || *end == '\t'))
			end++;
		if (end != frame + len)
			kind = tsk_tb_fail(&c, "trailing bytes after JSON");
		else if (src == TB_SRC_BINANCE || src == TB_SRC_BINANCE_REST)
			kind = tsk_tb_decode_binance(&c, root, src == TB_SRC_BINANCE_REST);
		else if (src == TB_SRC_COINBASE)
			kind = tsk_tb_decode_coinbase(&c, root);
		else if (src == TB_SRC_KRAKEN)
			kind = tsk_tb_decode_kraken(&c, root);
		else
			kind = tsk_tb_fail(&c, "unknown book source");
	}
	cJSON_Delete(root);
	msg->kind = kind;
	if (kind == TB_BOOK)
	{
		msg->needed = c.n;
		if (c.n > c.cap)
		{
			msg->kind = kind = TB_OVERFLOW;
			msg->nchanges = 0;
		}
		else
			msg->nchanges = c.n;
	}
	else
	{
		msg->nchanges = 0;
		if (kind != TB_ERROR)
			msg->ngroups = 0;
	}
	return kind;
}

/*
 * tsk_tb_source_name
 *	  Name of a book source.
 */
const char *
tsk_tb_source_name(tb_source src)
{
	static const char *const names[TB_SRC_COUNT] = {"binance", "binance_rest", "coinbase", "kraken"};

	return (unsigned) src < TB_SRC_COUNT ? names[src] : "unknown";
}

/*
 * tsk_tb_kind_name
 *	  Name of a result kind.
 */
const char *
tsk_tb_kind_name(tb_kind kind)
{
	static const char *const names[] = {"book", "control", "error", "overflow"};

	return (unsigned) kind <= TB_OVERFLOW ? names[kind] : "unknown";
}

/* ---- subscribe texts --------------------------------------------------- */

/*
 * tb_symbols_ok
 *	  1..63 printable ASCII bytes each (url_safe: [A-Za-z0-9._-] only).
 */
static bool
tb_symbols_ok(const char *const *ins, int n, bool url_safe)
{
	if (ins == NULL || n < 1)
		return false;
	for (int i = 0; i < n; i++)
	{
		size_t		len = ins[i] ? strnlen(ins[i], TB_INSTRUMENT_MAX) : 0;

		if (len == 0 || len >= TB_INSTRUMENT_MAX)
			return false;
		for (size_t k = 0; k < len; k++)
		{
			char		ch = ins[i][k];

			if (ch < 0x20 || ch > 0x7e ||
				(url_safe && !((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
							   (ch >= '0' && ch <= '9') || ch == '.' || ch == '_' || ch == '-')))
				return false;
		}
	}
	return true;
}

/*
 * tb_finish
 *	  snprintf convention for a malloc'd text (NULL = failure).
 */
static int
tb_finish(char *text, char *out, size_t outsz)
{
	size_t		len;

	if (out && outsz)
		out[0] = '\0';
	if (text == NULL)
		return -1;
	len = strlen(text);
	if (out && len < outsz)
		memcpy(out, text, len + 1);
	cJSON_free(text);
	return len > INT_MAX ? -1 : (int) len;
}

/*
 * tsk_tb_binance_streams
 *	  "<sym>@depth@100ms" joined by '/', symbols lower-cased.
 */
int
tsk_tb_binance_streams(const char *const *ins, int n, char *out, size_t outsz)
{
	size_t		need = 0;

	if (out && outsz)
		out[0] = '\0';
	if (!tb_symbols_ok(ins, n, true))
		return -1;
	for (int i = 0; i < n; i++)
		need += strlen(ins[i]) + strlen("@depth@100ms") + (i > 0);
	if (need > INT_MAX)
		return -1;
	if (out && need < outsz)
	{
		char	   *p = out;

		for (int i = 0; i < n; i++)
		{
			if (i > 0)
				*p++ = '/';
			for (const char *s = ins[i]; *s; s++)
				*p++ = (*s >= 'A' && *s <= 'Z') ? (char) (*s - 'A' + 'a') : *s;
			memcpy(p, "@depth@100ms", 12);
			p += 12;
		}
		*p = '\0';
	}
	return (int) need;
}

/*
 * tsk_tb_binance_subscribe
 *	  SUBSCRIBE message of the depth streams (lower-case symbols).
 */
int
tsk_tb_binance_subscribe(const char *const *ins, int n, int id, char *out, size_t outsz)
{
	cJSON	   *msg,
			   *params;
	char	   *text = NULL;

	if (!tb_symbols_ok(ins, n, true))
		return tb_finish(NULL, out, outsz);
	msg = cJSON_CreateObject();
	params = cJSON_CreateArray();
	for (int i = 0; msg && params && i < n; i++)
	{
		char		s[TB_INSTRUMENT_MAX + 16];
		size_t		k;

		for (k = 0; ins[i][k]; k++)
			s[k] = (ins[i][k] >= 'A' && ins[i][k] <= 'Z') ? (char) (ins[i][k] - 'A' + 'a') : ins[i][k];
		memcpy(s + k, "@depth@100ms", 13);
		cJSON_AddItemToArray(params, cJSON_CreateString(s));
	}
	if (msg && params)
	{
		cJSON_AddStringToObject(msg, "method", "SUBSCRIBE");
		cJSON_AddItemToObject(msg, "params", params);
		params = NULL;
		cJSON_AddNumberToObject(msg, "id", id);
		text = cJSON_PrintUnformatted(msg);
	}
	cJSON_Delete(msg);
	cJSON_Delete(params);
	return tb_finish(text, out, outsz);
}

/*
 * tb_names
 *	  cJSON array of the instruments, or NULL.
 */
static cJSON *
tb_names(const char *const *ins, int n)
{
	cJSON	   *arr = cJSON_CreateArray();

	for (int i = 0; arr && i < n; i++)
	{
		cJSON	   *s = cJSON_CreateString(ins[i]);

		if (s == NULL)
		{
			cJSON_Delete(arr);
			return NULL;
		}
		cJSON_AddItemToArray(arr, s);
	}
	return arr;
}

/*
 * tsk_tb_coinbase_subscribe
 *	  level2 (un)subscription (Exchange ws-feed or Advanced Trade).
 */
int
tsk_tb_coinbase_subscribe(const char *const *ins, int n, bool advanced, bool subscribe,
						  char *out, size_t outsz)
{
	cJSON	   *msg,
			   *ids;
	char	   *text = NULL;

	if (!tb_symbols_ok(ins, n, false))
		return tb_finish(NULL, out, outsz);
	msg = cJSON_CreateObject();
	ids = tb_names(ins, n);
	if (msg && ids)
	{
		cJSON_AddStringToObject(msg, "type", subscribe ? "subscribe" : "unsubscribe");
		cJSON_AddItemToObject(msg, "product_ids", ids);
		ids = NULL;
		if (advanced)
			cJSON_AddStringToObject(msg, "channel", "level2");
		else
		{
			cJSON	   *ch = cJSON_AddArrayToObject(msg, "channels");

			if (ch)
				cJSON_AddItemToArray(ch, cJSON_CreateString("level2"));
		}
		text = cJSON_PrintUnformatted(msg);
	}
	cJSON_Delete(msg);
	cJSON_Delete(ids);
	return tb_finish(text, out, outsz);
}

/*
 * tsk_tb_kraken_subscribe
 *	  Kraken v1 book (un)subscription at a depth.
 */
int
tsk_tb_kraken_subscribe(const char *const *ins, int n, int depth, bool subscribe, char *out, size_t outsz)
{
	cJSON	   *msg,
			   *ids,
			   *sub;
	char	   *text = NULL;

	if (!tb_symbols_ok(ins, n, false) || depth < 1)
		return tb_finish(NULL, out, outsz);
	msg = cJSON_CreateObject();
	ids = tb_names(ins, n);
	sub = cJSON_CreateObject();
	if (msg && ids && sub)
	{
		cJSON_AddStringToObject(msg, "event", subscribe ? "subscribe" : "unsubscribe");
		cJSON_AddItemToObject(msg, "pair", ids);
		cJSON_AddStringToObject(sub, "name", "book");
		cJSON_AddNumberToObject(sub, "depth", depth);
		cJSON_AddItemToObject(msg, "subscription", sub);
		ids = sub = NULL;
		text = cJSON_PrintUnformatted(msg);
	}
	cJSON_Delete(msg);
	cJSON_Delete(ids);
	cJSON_Delete(sub);
	return tb_finish(text, out, outsz);
}
