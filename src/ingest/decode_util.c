/*
 * decode_util.c
 *	  The shared helpers of the trade-frame decoders (decode_<exchange>.c):
 *	  the ONLY implementations of the numeric-field reader, the timestamp
 *	  parser, the trade-id reader and id hasher, the side reader, the
 *	  instrument check, and error/control reporting.  Exchange files must use
 *	  them rather than re-implement any of it.
 *
 * Invariants: every helper tolerates NULL / wrongly-typed cJSON items and
 * records a message naming the field; nothing here recurses; strings from the
 * network are length-bounded before being scanned and sanitised before being
 * copied into res->error / res->detail.  This file calls no decoder: the
 * decoders call it (no circle between the files).
 */
#define _POSIX_C_SOURCE 200809L	/* strnlen, strcasecmp even under -std=c11 */
#define TD_DECODE_INTERNAL
#include "ingest/decode.h"

#include <ctype.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/civil_time.h"

#define TD_NUMSTR_MAX 64		/* longest accepted decimal string */
#define TD_TSSTR_MAX 64			/* longest accepted timestamp string */
#define TD_IDSTR_MAX 128		/* longest accepted string trade id */
#define TD_2POW53 9007199254740992.0

/* µs per unit for TD_TS_S, TD_TS_MS, TD_TS_US (TD_TS_NS is divided). */
static const int64_t td_us_per_unit[] = {1000000, 1000, 1, 1};

/* ---- reporting --------------------------------------------------------- */

/*
 * td_sanitize
 *	  Replace every byte that is not printable ASCII by '?' (in place).
 */
static void
td_sanitize(char *s)
{
	for (; *s; s++)
		if ((unsigned char) *s < 0x20 || (unsigned char) *s > 0x7e)
			*s = '?';
}

/*
 * td_type_name
 *	  JSON type of an item, for messages.
 */
static const char *
td_type_name(const cJSON *it)
{
	return cJSON_IsObject(it) ? "object" : cJSON_IsArray(it) ? "array"
		: cJSON_IsString(it) ? "string" : cJSON_IsNumber(it) ? "number"
		: cJSON_IsBool(it) ? "boolean" : cJSON_IsNull(it) ? "null" : "invalid";
}

static void td_vfail(td_ctx *c, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));

/*
 * td_vfail
 *	  Format an error into res->error unless one is already recorded.
 */
static void
td_vfail(td_ctx *c, const char *fmt, va_list ap)
{
	int			used = 0;

	if (c->res->error[0] != '\0')
		return;
	if (c->index >= 0)
		used = snprintf(c->res->error, TD_ERROR_MAX, "trade %d: ", c->index);
	if (used >= 0 && used < TD_ERROR_MAX)
		vsnprintf(c->res->error + used, TD_ERROR_MAX - (size_t) used, fmt, ap);
	td_sanitize(c->res->error);
}

/*
 * tsk_td_fail
 *	  Record an error (the first one wins), prefixed by the trade index when a
 *	  trade is being decoded.  Returns TD_ERROR so decoders can
 *	  `return tsk_td_fail()`.
 */
td_kind
tsk_td_fail(td_ctx *c, const char *fmt,...)
{
	va_list		ap;

	va_start(ap, fmt);
	td_vfail(c, fmt, ap);
	va_end(ap);
	return TD_ERROR;
}

/*
 * tsk_td_reject
 *	  Same as tsk_td_fail, returning false (for the bool-returning readers).
 */
bool
tsk_td_reject(td_ctx *c, const char *fmt,...)
{
	va_list		ap;

	va_start(ap, fmt);
	td_vfail(c, fmt, ap);
	va_end(ap);
	return false;
}

/*
 * tsk_td_control
 *	  Classify the frame as control; detail says what it was (may be NULL).
 */
td_kind
tsk_td_control(td_ctx *c, const char *detail)
{
	snprintf(c->res->detail, TD_DETAIL_MAX, "%s", detail ? detail : "");
	td_sanitize(c->res->detail);
	return TD_CONTROL;
}

/*
 * tsk_td_exchange_error
 *	  Report an exchange error reply as TD_ERROR: "exchange error: " followed
 *	  by every string found under the NULL-terminated list of keys,
 *	  "; "-joined.
 */
td_kind
tsk_td_exchange_error(td_ctx *c, const cJSON *obj, const char *const *keys)
{
	char		buf[TD_ERROR_MAX] = "";
	size_t		used = 0;

	for (; *keys; keys++)
	{
		const char *s = tsk_td_get_string(obj, *keys);

		if (s != NULL && used < sizeof buf)
			used += (size_t) snprintf(buf + used, sizeof buf - used, "%s%.100s",
									  used ? "; " : "", s);
	}
	return tsk_td_fail(c, "exchange error: %s", used ? buf : "(no message)");
}

/* ---- field access ------------------------------------------------------ */

/*
 * tsk_td_get
 *	  Case-sensitive member lookup ("m" and "M" differ); NULL if not an object.
 */
const cJSON *
tsk_td_get(const cJSON *obj, const char *key)
{
	if (!cJSON_IsObject(obj))
		return NULL;
	return cJSON_GetObjectItemCaseSensitive(obj, key);
}

/*
 * tsk_td_get_string
 *	  String member value, or NULL when absent or not a string.
 */
const char *
tsk_td_get_string(const cJSON *obj, const char *key)
{
	const cJSON *it = tsk_td_get(obj, key);

	return (cJSON_IsString(it) && it->valuestring) ? it->valuestring : NULL;
}

/*
 * td_bad_field
 *	  Fail with "missing" or "wrong type" for a field that has no usable value.
 */
static bool
td_bad_field(td_ctx *c, const cJSON *it, const char *name, const char *expected)
{
	if (it == NULL)
		tsk_td_fail(c, "field \"%s\": missing", name);
	else
		tsk_td_fail(c, "field \"%s\": expected %s, got %s", name, expected, td_type_name(it));
	return false;
}

/*
 * tsk_td_check_array
 *	  Check that a field is present and an array.
 */
bool
tsk_td_check_array(td_ctx *c, const cJSON *it, const char *name)
{
	return cJSON_IsArray(it) ? true : td_bad_field(c, it, name, "an array");
}

/*
 * td_parse_decimal
 *	  Strict decimal grammar: -?digits[.digits][(e|E)[+-]digits] with at least
 *	  one mantissa digit, <= TD_NUMSTR_MAX bytes.  Rejects whitespace, '+',
 *	  hex, "nan", "inf".  Converts with strtod (LC_NUMERIC=C).
 */
static bool
td_parse_decimal(const char *s, double *out)
{
	const char *p = s;
	int			ndig = 0;
	char	   *end;

	if (strnlen(s, TD_NUMSTR_MAX + 1) > TD_NUMSTR_MAX)
		return false;
	if (*p == '-')
		p++;
	for (; isdigit((unsigned char) *p); p++)
		ndig++;
	if (*p == '.')
		for (p++; isdigit((unsigned char) *p); p++)
			ndig++;
	if (ndig == 0)
		return false;
	if (*p == 'e' || *p == 'E')
	{
		p++;
		if (*p == '+' || *p == '-')
			p++;
		if (!isdigit((unsigned char) *p))
			return false;
		while (isdigit((unsigned char) *p))
			p++;
	}
	if (*p != '\0')
		return false;
	*out = strtod(s, &end);
	return end == p;
}

/*
 * tsk_td_read_number
 *	  THE numeric-field reader: JSON number or decimal string; must be finite;
 *	  flags TD_NUM_POSITIVE (> 0) / TD_NUM_NONNEG (>= 0).  -0 becomes 0.
 */
bool
tsk_td_read_number(td_ctx *c, const cJSON *it, const char *name, int flags, double *out)
{
	double		d;

	if (cJSON_IsNumber(it))
		d = it->valuedouble;
	else if (cJSON_IsString(it) && it->valuestring)
	{
		if (!td_parse_decimal(it->valuestring, &d))
			return tsk_td_reject(c, "field \"%s\": not a decimal number: \"%.24s\"",
						   name, it->valuestring);
	}
	else
		return td_bad_field(c, it, name, "a number or decimal string");
	if (!isfinite(d))
		return tsk_td_reject(c, "field \"%s\": not a finite number", name);
	if (d == 0)
		d = 0.0;
	if ((flags & TD_NUM_POSITIVE) && !(d > 0))
		return tsk_td_reject(c, "field \"%s\": must be > 0 (%g)", name, d);
	if ((flags & TD_NUM_NONNEG) && d < 0)
		return tsk_td_reject(c, "field \"%s\": negative (%g)", name, d);
	*out = d;
	return true;
}

/* ---- timestamps -------------------------------------------------------- */

/*
 * td_digits
 *	  Value of exactly n decimal digits at s, or -1 (stops at NUL: safe).
 */
static int
td_digits(const char *s, int n)
{
	int			v = 0;

	for (int i = 0; i < n; i++)
	{
		if (!isdigit((unsigned char) s[i]))
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

/*
 * td_ts_rfc3339
 *	  RFC 3339 "YYYY-MM-DD(T|t| )HH:MM:SS[.frac](Z|z|(+|-)HH:MM)" to µs.  Up to
 *	  6 fraction digits are kept, further digits truncated.  Second 60 (leap)
 *	  is accepted and lands on the next minute's :00, as timegm() does.
 */
static const char *
td_ts_rfc3339(const char *s, int64_t *us)
{
	static const int dim[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	size_t		len = strnlen(s, TD_TSSTR_MAX + 1);
	int			y, mo, d, h, mi, sec, micro = 0, off = 0;
	const char *p;
	int64_t		secs;

	if (len < 20 || len > TD_TSSTR_MAX)
		return "not an RFC 3339 timestamp";
	y = td_digits(s, 4);
	mo = td_digits(s + 5, 2);
	d = td_digits(s + 8, 2);
	h = td_digits(s + 11, 2);
	mi = td_digits(s + 14, 2);
	sec = td_digits(s + 17, 2);
	if (y < 0 || mo < 0 || d < 0 || h < 0 || mi < 0 || sec < 0 ||
		s[4] != '-' || s[7] != '-' || !strchr("Tt ", s[10]) ||
		s[13] != ':' || s[16] != ':')
		return "not an RFC 3339 timestamp";
	if (mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 || sec > 60 ||
		d > dim[mo - 1] + (mo == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0)))
		return "RFC 3339 timestamp field out of range";
	p = s + 19;
	if (*p == '.')
	{
		int			n = 0;

		for (p++; isdigit((unsigned char) *p); p++, n++)
			if (n < 6)
				micro = micro * 10 + (*p - '0');
		if (n == 0)
			return "empty fraction in RFC 3339 timestamp";
		for (; n < 6; n++)
			micro *= 10;
	}
	if (*p == 'Z' || *p == 'z')
		p++;
	else if ((*p == '+' || *p == '-') && strnlen(p, 7) == 6)
	{
		int			oh = td_digits(p + 1, 2),
					om = td_digits(p + 4, 2);

		if (oh < 0 || om < 0 || p[3] != ':' || oh > 23 || om > 59)
			return "bad RFC 3339 UTC offset";
		off = (oh * 60 + om) * 60 * (*p == '-' ? -1 : 1);
		p += 6;
	}
	else
		return "RFC 3339 timestamp without Z or offset";
	if (*p != '\0')
		return "trailing characters after RFC 3339 timestamp";
	secs = tsk_days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec - off;
	if (secs < 0)
		return "before 1970";
	*us = secs * 1000000 + micro;
	return NULL;
}

/*
 * td_ts_decimal
 *	  Exact decimal string "digits[.digits]" in `unit` to µs (truncating below
 *	  1 µs), without going through double.
 */
static const char *
td_ts_decimal(const char *s, td_ts_unit unit, int64_t *us)
{
	int64_t		ip = 0, frac9 = 0;
	int			n = 0;
	const char *p = s;

	if (strnlen(s, TD_TSSTR_MAX + 1) > TD_TSSTR_MAX)
		return "timestamp string too long";
	for (; isdigit((unsigned char) *p); p++, n++)
	{
		if (ip > (INT64_MAX - 9) / 10)
			return "timestamp out of range";
		ip = ip * 10 + (*p - '0');
	}
	if (n == 0)
		return "not a decimal timestamp";
	if (*p == '.')
	{
		n = 0;
		for (p++; isdigit((unsigned char) *p); p++, n++)
			if (n < 9)
				frac9 = frac9 * 10 + (*p - '0');
		if (n == 0)
			return "empty fraction in timestamp";
		for (; n < 9; n++)
			frac9 *= 10;
	}
	if (*p != '\0')
		return "not a decimal timestamp";
	if (unit == TD_TS_NS)
	{
		*us = ip / 1000;
		return NULL;
	}
	if (ip > TD_MAX_TS_US / td_us_per_unit[unit])
		return "timestamp out of range";
	/* frac9 is in 1e-9 units: µs part = frac9 * per_unit / 1e9 */
	*us = ip * td_us_per_unit[unit] + frac9 / (1000000000 / td_us_per_unit[unit]);
	return NULL;
}

/*
 * td_ts_number
 *	  JSON number in `unit` to µs.  Integral values below 2^53 are converted
 *	  exactly; others are rounded to the nearest µs (ns: truncated).
 */
static const char *
td_ts_number(double d, td_ts_unit unit, int64_t *us)
{
	static const double scale[] = {1e6, 1e3, 1.0, 1e-3};
	double		v;

	if (!isfinite(d) || d < 0)
		return "not a finite non-negative number";
	v = d * scale[unit];
	if (v > (double) TD_MAX_TS_US)
		return "timestamp out of range";
	if (d == floor(d) && d <= TD_2POW53)
	{
		int64_t		i = (int64_t) d;

		*us = (unit == TD_TS_NS) ? i / 1000 : i * td_us_per_unit[unit];
	}
	else
		*us = (unit == TD_TS_NS) ? (int64_t) v : (int64_t) llround(v);
	return NULL;
}

/*
 * tsk_td_read_ts
 *	  THE timestamp reader: number or string in `unit` (TD_TS_RFC3339: string
 *	  only) to µs since the epoch, range 0..TD_MAX_TS_US.
 */
bool
tsk_td_read_ts(td_ctx *c, const cJSON *it, const char *name, td_ts_unit unit, int64_t *out)
{
	const char *why;
	int64_t		us = 0;

	if ((unsigned) unit > TD_TS_RFC3339)
		return tsk_td_reject(c, "field \"%s\": bad timestamp unit", name);
	if (cJSON_IsString(it) && it->valuestring)
		why = (unit == TD_TS_RFC3339) ? td_ts_rfc3339(it->valuestring, &us)
			: td_ts_decimal(it->valuestring, unit, &us);
	else if (cJSON_IsNumber(it) && unit != TD_TS_RFC3339)
		why = td_ts_number(it->valuedouble, unit, &us);
	else
		return td_bad_field(c, it, name, unit == TD_TS_RFC3339 ?
							"an RFC 3339 string" : "a number or decimal string");
	if (why == NULL && (us < 0 || us > TD_MAX_TS_US))
		why = "timestamp out of range";
	if (why != NULL)
	{
		if (cJSON_IsString(it))
			tsk_td_fail(c, "field \"%s\": %s: \"%.40s\"", name, why, it->valuestring);
		else
			tsk_td_fail(c, "field \"%s\": %s", name, why);
		return false;
	}
	*out = us;
	return true;
}

/* ---- ids, side, instrument --------------------------------------------- */

/*
 * td_fnv
 *	  Raw FNV-1a 64 update.
 */
static void
td_fnv(td_hash *h, const void *p, size_t n)
{
	const unsigned char *b = p;

	for (size_t i = 0; i < n; i++)
		h->h = (h->h ^ b[i]) * UINT64_C(0x100000001b3);
}

/*
 * tsk_td_hash_init
 *	  Start a hash with a domain tag (separates feeds / purposes).
 */
void
tsk_td_hash_init(td_hash *h, const char *domain)
{
	h->h = UINT64_C(0xcbf29ce484222325);
	tsk_td_hash_bytes(h, domain, strlen(domain));
}

/*
 * td_fnv_u64
 *	  Add a 64-bit value as 8 little-endian bytes (platform independent).
 */
static void
td_fnv_u64(td_hash *h, uint64_t v)
{
	unsigned char b[8];

	for (int i = 0; i < 8; i++)
		b[i] = (unsigned char) (v >> (8 * i));
	td_fnv(h, b, sizeof b);
}

/*
 * tsk_td_hash_bytes
 *	  Add one length-prefixed field (so "ab"+"c" != "a"+"bc").
 */
void
tsk_td_hash_bytes(td_hash *h, const void *p, size_t n)
{
	td_fnv_u64(h, (uint64_t) n);
	td_fnv(h, p, n);
}

/*
 * tsk_td_hash_i64
 *	  Add a 64-bit integer field.
 */
void
tsk_td_hash_i64(td_hash *h, int64_t v)
{
	td_fnv_u64(h, 8);
	td_fnv_u64(h, (uint64_t) v);
}

/*
 * tsk_td_hash_item
 *	  Add a JSON scalar: strings by bytes, numbers by value, others by tag.
 */
void
tsk_td_hash_item(td_hash *h, const cJSON *it)
{
	unsigned char tag = it == NULL ? 'm' : cJSON_IsString(it) ? 's'
		: cJSON_IsNumber(it) ? 'n' : cJSON_IsTrue(it) ? 't'
		: cJSON_IsFalse(it) ? 'f' : cJSON_IsNull(it) ? 'z' : 'x';

	td_fnv(h, &tag, 1);
	if (tag == 's' && it->valuestring)
		tsk_td_hash_bytes(h, it->valuestring, strlen(it->valuestring));
	else if (tag == 'n')
	{
		double		d = (it->valuedouble == 0) ? 0.0 : it->valuedouble;	/* -0 == 0 */
		uint64_t	bits;

		memcpy(&bits, &d, sizeof bits);
		tsk_td_hash_i64(h, (int64_t) bits);
	}
}

/*
 * tsk_td_hash_final
 *	  Finish: murmur3 fmix64, top bit cleared (ids are >= 0).
 */
int64_t
tsk_td_hash_final(const td_hash *h)
{
	uint64_t	k = h->h;

	k ^= k >> 33;
	k *= UINT64_C(0xff51afd7ed558ccd);
	k ^= k >> 33;
	k *= UINT64_C(0xc4ceb9fe1a85ec53);
	k ^= k >> 33;
	return (int64_t) (k & (uint64_t) INT64_MAX);
}

/*
 * tsk_td_read_id
 *	  THE trade-id reader: JSON integer in [0, 2^53] (exact in a double), or a
 *	  string: plain decimal that fits int64 => native, anything else (uuid,
 *	  ...) of 1..TD_IDSTR_MAX bytes => derived hash.
 */
bool
tsk_td_read_id(td_ctx *c, const cJSON *it, const char *name, int64_t *out, uint8_t *derived)
{
	if (cJSON_IsNumber(it))
	{
		double		d = it->valuedouble;

		if (!(d >= 0 && d <= TD_2POW53) || d != floor(d))
			return tsk_td_reject(c, "field \"%s\": not an integer in [0, 2^53]", name);
		*out = (int64_t) d;
		*derived = 0;
		return true;
	}
	if (cJSON_IsString(it) && it->valuestring)
	{
		const char *s = it->valuestring;
		size_t		len = strnlen(s, TD_IDSTR_MAX + 1);
		int64_t		v = 0;
		size_t		i;
		td_hash		h;

		if (len == 0 || len > TD_IDSTR_MAX)
			return tsk_td_reject(c, "field \"%s\": empty or longer than %d bytes", name,
						   TD_IDSTR_MAX);
		for (i = 0; i < len && isdigit((unsigned char) s[i]); i++)
		{
			if (v > (INT64_MAX - (s[i] - '0')) / 10)
				break;			/* does not fit: hash it instead */
			v = v * 10 + (s[i] - '0');
		}
		if (i == len)
		{
			*out = v;
			*derived = 0;
			return true;
		}
		tsk_td_hash_init(&h, "id");
		tsk_td_hash_bytes(&h, s, len);
		*out = tsk_td_hash_final(&h);
		*derived = 1;
		return true;
	}
	return td_bad_field(c, it, name, "an integer or string id");
}

/*
 * tsk_td_read_side
 *	  THE side reader.  Strings b/buy/bid => buy, s/sell/ask/offer => sell (any
 *	  case); true => buy, false => sell; null => unknown (0).  TD_SIDE_MAKER
 *	  inverts (the field names the maker's side; we report the taker's).
 */
bool
tsk_td_read_side(td_ctx *c, const cJSON *it, const char *name, td_side_mode mode, char *out)
{
	static const char *const buys[] = {"b", "buy", "bid", NULL};
	static const char *const sells[] = {"s", "sell", "ask", "offer", NULL};
	char		side = 0;

	if (cJSON_IsBool(it))
		side = cJSON_IsTrue(it) ? 'b' : 's';
	else if (cJSON_IsString(it) && it->valuestring)
	{
		for (int i = 0; buys[i] && !side; i++)
			if (strcasecmp(it->valuestring, buys[i]) == 0)
				side = 'b';
		for (int i = 0; sells[i] && !side; i++)
			if (strcasecmp(it->valuestring, sells[i]) == 0)
				side = 's';
		if (!side)
			return tsk_td_reject(c, "field \"%s\": unrecognised side \"%.16s\"", name,
						   it->valuestring);
	}
	else if (!cJSON_IsNull(it))
		return td_bad_field(c, it, name, "a side string or boolean");
	if (mode == TD_SIDE_MAKER && side)
		side = (side == 'b') ? 's' : 'b';
	*out = side;
	return true;
}

/*
 * tsk_td_symbol_ok
 *	  Check a symbol: 1..63 bytes of printable ASCII (url_safe:
 *	  [A-Za-z0-9._-]).
 */
bool
tsk_td_symbol_ok(const char *s, bool url_safe)
{
	size_t		len;

	if (s == NULL || (len = strnlen(s, TD_INSTRUMENT_MAX)) == 0 || len >= TD_INSTRUMENT_MAX)
		return false;
	for (size_t i = 0; i < len; i++)
	{
		unsigned char ch = (unsigned char) s[i];

		if (ch < 0x20 || ch > 0x7e)
			return false;
		if (url_safe && !isalnum(ch) && ch != '.' && ch != '_' && ch != '-')
			return false;
	}
	return true;
}

/*
 * tsk_td_set_instrument
 *	  THE instrument setter: string field, 1..63 printable ASCII bytes.
 */
bool
tsk_td_set_instrument(td_ctx *c, td_trade *t, const cJSON *it, const char *name)
{
	if (!cJSON_IsString(it) || it->valuestring == NULL)
		return td_bad_field(c, it, name, "a string");
	if (!tsk_td_symbol_ok(it->valuestring, false))
		return tsk_td_reject(c, "field \"%s\": empty, longer than %d bytes or not printable ASCII",
					   name, TD_INSTRUMENT_MAX - 1);
	strcpy(t->instrument, it->valuestring);
	return true;
}

/*
 * tsk_td_emit
 *	  Count a decoded trade; store it only while there is room (never
 *	  overflows).
 */
void
tsk_td_emit(td_ctx *c, const td_trade *t)
{
	if (c->n < c->cap)
		c->out[c->n] = *t;
	if (c->n < INT_MAX)
		c->n++;
}
