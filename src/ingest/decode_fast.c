/*
 * decode_fast.c
 *	  The Binance trade/aggTrade fast path (see decode_fast.h for the subset
 *	  it accepts and the equivalence with the full decoder).
 */
#include "ingest/decode_fast.h"

#include <stdint.h>
#include <string.h>

/* Longest decimal string the full decoder accepts (decode.c TD_NUMSTR_MAX). */
#define FAST_NUMSTR_MAX 64
/* Largest int64 digit count that cannot overflow. */
#define FAST_ID_DIGITS 18

/* Exact powers of ten as doubles (10^22 is the last exact one). */
static const double fast_pow10[23] = {
	1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
	1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22
};

/* One scanned value. */
typedef enum fast_type
{
	FAST_NONE = 0,
	FAST_STRING,
	FAST_INT,
	FAST_TRUE,
	FAST_FALSE,
	FAST_NULL
} fast_type;

typedef struct fast_value
{
	fast_type	type;
	const char *s;				/* string contents or integer digits */
	size_t		len;
} fast_value;

/*
 * fast_slot
 *	  Slot of a one-letter key: a-z 0..25, A-Z 26..51; -1 for other bytes.
 */
static int
fast_slot(unsigned char key)
{
	if (key >= 'a' && key <= 'z')
		return key - 'a';
	if (key >= 'A' && key <= 'Z')
		return 26 + key - 'A';
	return -1;
}

/* The scanner: the frame and the position in it. */
typedef struct fast_scan
{
	const char *p;
	const char *end;
} fast_scan;

/*
 * fast_literal
 *	  Consume lit if the input continues with it.
 */
static bool
fast_literal(fast_scan *sc, const char *lit)
{
	size_t		n = strlen(lit);

	if ((size_t) (sc->end - sc->p) < n || memcmp(sc->p, lit, n) != 0)
		return false;
	sc->p += n;
	return true;
}

/*
 * fast_string
 *	  A string without escapes, of bytes 0x20..0x7e; sc->p is after its
 *	  opening quote, and ends after the closing one.
 */
static bool
fast_string(fast_scan *sc, fast_value *v)
{
	const char *start = sc->p;

	while (sc->p < sc->end)
	{
		unsigned char ch = (unsigned char) *sc->p;

		if (ch == '"')
		{
			v->type = FAST_STRING;
			v->s = start;
			v->len = (size_t) (sc->p - start);
			sc->p++;
			return true;
		}
		if (ch < 0x20 || ch > 0x7e || ch == '\\')
			return false;
		sc->p++;
	}
	return false;
}

/*
 * fast_value_scan
 *	  One value: a plain string, an integer in JSON's grammar (no leading
 *	  zero) of at most 15 digits, true, false or null.
 */
static bool
fast_value_scan(fast_scan *sc, fast_value *v)
{
	const char *start;

	if (sc->p >= sc->end)
		return false;
	if (*sc->p == '"')
	{
		sc->p++;
		return fast_string(sc, v);
	}
	if (fast_literal(sc, "true"))
		return (v->type = FAST_TRUE), true;
	if (fast_literal(sc, "false"))
		return (v->type = FAST_FALSE), true;
	if (fast_literal(sc, "null"))
		return (v->type = FAST_NULL), true;
	start = sc->p;
	if (*sc->p == '-')
		sc->p++;
	v->s = sc->p;
	while (sc->p < sc->end && *sc->p >= '0' && *sc->p <= '9')
		sc->p++;
	v->len = (size_t) (sc->p - v->s);
	if (v->len == 0 || v->len > 15 || (v->s[0] == '0' && v->len > 1))
		return false;
	v->type = FAST_INT;
	if (start != v->s)
		v->s = start, v->len++;	/* keep the sign: a negative value is no field of ours */
	return true;
}

/*
 * fast_uint
 *	  The value of a digit string of at most FAST_ID_DIGITS digits.
 */
static bool
fast_uint(const char *s, size_t len, int64_t *out)
{
	int64_t		v = 0;

	if (len == 0 || len > FAST_ID_DIGITS)
		return false;
	for (size_t i = 0; i < len; i++)
	{
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return true;
}

/*
 * fast_decimal
 *	  A decimal string digits[.digits] as the double strtod gives: at most
 *	  15 significant digits and 22 fraction digits, so m / 10^k is one
 *	  correctly rounded division of exact doubles.
 */
static bool
fast_decimal(const fast_value *v, double *out)
{
	int64_t		m = 0;
	int			sig = 0;
	int			frac = 0;
	bool		dot = false;
	bool		digit = false;

	if (v->type != FAST_STRING || v->len == 0 || v->len > FAST_NUMSTR_MAX)
		return false;
	for (size_t i = 0; i < v->len; i++)
	{
		char		ch = v->s[i];

		if (ch == '.')
		{
			if (dot || !digit)
				return false;
			dot = true;
			digit = false;
			continue;
		}
		if (ch < '0' || ch > '9')
			return false;
		digit = true;
		if (dot)
			frac++;
		if (m == 0 && ch == '0')
			continue;			/* leading zeros are not significant */
		if (++sig > 15)
			return false;
		m = m * 10 + (ch - '0');
	}
	if (!digit || frac > 22)
		return false;
	*out = (double) m / fast_pow10[frac];
	return true;
}

/*
 * tsk_td_binance_fast
 *	  See decode_fast.h.
 */
bool
tsk_td_binance_fast(const char *frame, size_t len, td_trade *out)
{
	fast_scan	sc = {frame, frame + len};
	fast_value	stream;
	fast_value	field[52];		/* by fast_slot() of the key; valid if in seen */
	uint64_t	seen = 0;
	static const fast_value none = {FAST_NONE, NULL, 0};
	const fast_value *e,
			   *s,
			   *id,
			   *ts,
			   *m;
	bool		agg;
	int64_t		ms;

	if (frame == NULL || len == 0 || len > TD_MAX_FRAME_LEN ||
		!fast_literal(&sc, "{\"stream\":\"") || !fast_string(&sc, &stream) ||
		!fast_literal(&sc, ",\"data\":{"))
		return false;
	for (;;)
	{
		int			slot;

		/* "k":value, keys of one letter, each at most once */
		if (sc.end - sc.p < 4 || sc.p[0] != '"' || sc.p[2] != '"' || sc.p[3] != ':' ||
			(slot = fast_slot((unsigned char) sc.p[1])) < 0 || (seen & (UINT64_C(1) << slot)))
			return false;
		sc.p += 4;
		if (!fast_value_scan(&sc, &field[slot]))
			return false;
		seen |= UINT64_C(1) << slot;
		if (sc.p < sc.end && *sc.p == ',')
		{
			sc.p++;
			continue;
		}
		if (!fast_literal(&sc, "}}") || sc.p != sc.end)
			return false;
		break;
	}

#define FAST_FIELD(k) ((seen & (UINT64_C(1) << fast_slot(k))) ? &field[fast_slot(k)] : &none)
	e = FAST_FIELD('e');
	if (e->type != FAST_STRING)
		return false;
	if (e->len == 5 && memcmp(e->s, "trade", 5) == 0)
		agg = false;
	else if (e->len == 8 && memcmp(e->s, "aggTrade", 8) == 0)
		agg = true;
	else
		return false;
	s = FAST_FIELD('s');
	id = FAST_FIELD(agg ? 'a' : 't');
	ts = FAST_FIELD('T');
	m = FAST_FIELD('m');

	memset(out, 0, sizeof(*out));
	if (s->type != FAST_STRING || s->len == 0 || s->len >= TD_INSTRUMENT_MAX)
		return false;
	memcpy(out->instrument, s->s, s->len);
	out->instrument[s->len] = '\0';
	if (!((id->type == FAST_INT && id->s[0] != '-') || id->type == FAST_STRING) ||
		!fast_uint(id->s, id->len, &out->trade_id))
		return false;
	if (!fast_decimal(FAST_FIELD('p'), &out->price) || !(out->price > 0) ||
		!fast_decimal(FAST_FIELD('q'), &out->qty))
		return false;
	/* below 10^14 ms (year 5138): far from the full decoder's range edge */
	if (ts->type != FAST_INT || ts->s[0] == '-' || !fast_uint(ts->s, ts->len, &ms) ||
		ms >= INT64_C(100000000000000))
		return false;
	out->ts_us = ms * 1000;
	/* m: the buyer is the maker, so true means the taker sold */
	if (m->type == FAST_TRUE)
		out->side = 's';
	else if (m->type == FAST_FALSE)
		out->side = 'b';
	else
		return false;
	out->id_derived = 0;
	return true;
#undef FAST_FIELD
}
