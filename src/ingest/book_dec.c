/*
 * book_dec.c
 *	  the exact decimals of book.h (tb_dec): strict parsing of an exchange's
 *	  price or quantity text, formatting, conversion to double, and the
 *	  integer key that orders a book side.
 *
 * Invariants: see book.h (what a decimal may be; text outside it is
 * refused, never rounded).  Pure C, no Postgres headers.
 */
#include "ingest/book.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const uint64_t tb_pow10[20] = {
	1ULL, 10ULL, 100ULL, 1000ULL, 10000ULL, 100000ULL, 1000000ULL, 10000000ULL,
	100000000ULL, 1000000000ULL, 10000000000ULL, 100000000000ULL, 1000000000000ULL,
	10000000000000ULL, 100000000000000ULL, 1000000000000000ULL, 10000000000000000ULL,
	100000000000000000ULL, 1000000000000000000ULL, 10000000000000000000ULL
};

/*
 * tsk_tb_dec_parse
 *	  Strict decimal text to tb_dec (see book.h).
 */
int
tsk_tb_dec_parse(const char *s, size_t len, tb_dec *out)
{
	uint64_t	mant = 0;
	int			digits = 0,
				sig = 0,
				dec = 0;
	bool		point = false;

	if (s == NULL || len == 0 || len > 64)
		return -1;
	for (size_t i = 0; i < len; i++)
	{
		char		c = s[i];

		if (c == '.')
		{
			if (point)
				return -1;
			point = true;
			continue;
		}
		if (c < '0' || c > '9')
			return -1;
		digits++;
		if (point && ++dec > TB_MAX_DEC)
			return -1;
		if (sig == 0 && c == '0')
			continue;			/* leading zero */
		if (++sig > TB_MAX_DIGITS)
			return -1;
		mant = mant * 10 + (uint64_t) (c - '0');
	}
	if (digits == 0)
		return -1;
	out->mant = mant;
	out->dec = (uint8_t) dec;
	return 0;
}

/*
 * tsk_tb_dec_format
 *	  "mant / 10^dec" with exactly dec decimals.
 */
int
tsk_tb_dec_format(tb_dec d, char *out)
{
	char		digits[24];
	int			n = snprintf(digits, sizeof digits, "%llu", (unsigned long long) d.mant);
	int			dec = d.dec > TB_MAX_DEC ? TB_MAX_DEC : d.dec;
	int			len = 0;

	if (dec == 0)
	{
		memcpy(out, digits, (size_t) n + 1);
		return n;
	}
	if (n <= dec)
	{
		out[len++] = '0';
		out[len++] = '.';
		for (int i = 0; i < dec - n; i++)
			out[len++] = '0';
		memcpy(out + len, digits, (size_t) n);
		len += n;
	}
	else
	{
		memcpy(out, digits, (size_t) (n - dec));
		len = n - dec;
		out[len++] = '.';
		memcpy(out + len, digits + n - dec, (size_t) dec);
		len += dec;
	}
	out[len] = '\0';
	return len;
}

/*
 * tsk_tb_dec_double
 *	  Correctly rounded: exact operands divide exactly-rounded (Clinger's
 *	  fast path), otherwise strtod of the text.
 */
double
tsk_tb_dec_double(tb_dec d)
{
	static const double p10[19] = {1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9,
	1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18};
	char		buf[TB_DEC_TEXT];

	if (d.mant < (1ULL << 53) && d.dec <= TB_MAX_DEC)
		return (double) d.mant / p10[d.dec];
	tsk_tb_dec_format(d, buf);
	return strtod(buf, NULL);
}

/*
 * tsk_tb_dec_key
 *	  mant * 10^(18 - dec) in 128 bits (< 10^37, no overflow).
 */
tb_key
tsk_tb_dec_key(tb_dec d)
{
	int			dec = d.dec > TB_MAX_DEC ? TB_MAX_DEC : d.dec;

	return (tb_key) d.mant * (tb_key) tb_pow10[TB_MAX_DEC - dec];
}

/*
 * tsk_tb_dec_cmp
 *	  Exact comparison of two decimals.
 */
int
tsk_tb_dec_cmp(tb_dec a, tb_dec b)
{
	tb_key		ka = tsk_tb_dec_key(a),
				kb = tsk_tb_dec_key(b);

	return ka < kb ? -1 : ka > kb;
}
