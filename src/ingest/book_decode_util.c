/*
 * book_decode_util.c
 *	  the helpers the exchange halves of the book decoders share
 *	  (book_decode.h, internal part): errors and control verdicts, groups, the
 *	  change accumulator, integers, timestamps and sanitised text.
 *
 * Invariants: text copied from a frame into msg->error or msg->detail goes
 * through tsk_tb_sanitize (printable ASCII, NUL-terminated, truncated);
 * changes beyond the caller's capacity are counted, never written.
 */
#define TB_DECODE_INTERNAL
#include "ingest/book_decode.h"

#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

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
