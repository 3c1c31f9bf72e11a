/*
 * exactsum.c
 *	  Order-independent exact summation of doubles (see exactsum.h).
 *
 * A double is m * 2^e with a 53-bit integer m.  In units of 2^-160 it is
 * m << (e + 160); split at 32-bit boundaries that is at most three pieces
 * below 2^32, added (or subtracted, for a negative addend) into three
 * consecutive chunks.  xsum_normalize() propagates carries so that chunks
 * 0..8 lie in [0, 2^32) and chunk 9 holds the sign; tsk_xsum_value() converts
 * that canonical form to 64-bit limbs and rounds once.  Nothing here
 * allocates, so the functions are safe anywhere, including inside aggregate
 * transition functions on the hot path.
 */
#include "candles/exactsum.h"

#include <math.h>
#include <string.h>

typedef unsigned __int128 xsum_u128;

/* The binary exponent of the accumulator's least significant bit is -160. */
#define XSUM_LSB_EXPONENT (-160)

/* Exponent field of the first double that is too large: 2^96. */
#define XSUM_EXPONENT_LIMIT (1023 + 96)

/* Adds between carry propagations: each add moves a chunk by < 2^32. */
#define XSUM_PENDING_LIMIT (INT64_C(1) << 30)

#define XSUM_LIMBS (XSUM_CHUNKS / 2)

/*
 * xsum_normalize
 *	  Propagate carries: chunks 0..8 into [0, 2^32), the rest into chunk 9.
 *	  The represented value does not change.
 */
static void
xsum_normalize(xsum *s)
{
	for (int i = 0; i < XSUM_CHUNKS - 1; i++)
	{
		int64_t		carry = s->chunk[i] >> 32;	/* floor division by 2^32 */

		s->chunk[i] -= carry * (INT64_C(1) << 32);
		s->chunk[i + 1] += carry;
	}
	s->pending = 0;
}

/*
 * tsk_xsum_init
 *	  Set the sum to zero.
 */
void
tsk_xsum_init(xsum *s)
{
	memset(s, 0, sizeof(*s));
}

/*
 * tsk_xsum_add
 *	  Add x exactly.  Returns false, leaving the sum unchanged, if x is NaN,
 *	  infinite, or at least 2^96 in magnitude.
 */
bool
tsk_xsum_add(xsum *s, double x)
{
	uint64_t	bits;
	uint64_t	mantissa;
	int			exponent;
	int			shift;
	int			first;
	xsum_u128	placed;
	int64_t		pieces[3];

	memcpy(&bits, &x, sizeof(bits));
	exponent = (int) ((bits >> 52) & 0x7ff);
	mantissa = bits & ((UINT64_C(1) << 52) - 1);

	if (exponent >= XSUM_EXPONENT_LIMIT)
		return false;			/* also catches NaN and infinity (0x7ff) */
	if (exponent == 0)
		exponent = 1;			/* zero or subnormal: no hidden bit */
	else
		mantissa |= UINT64_C(1) << 52;
	if (mantissa == 0)
		return true;

	/* x = mantissa * 2^(exponent - 1075); position it relative to 2^-160 */
	shift = exponent - 1075 - XSUM_LSB_EXPONENT;
	if (shift < 0)
	{
		if (shift <= -53)
			return true;		/* entirely below the accumulator's resolution */
		mantissa >>= -shift;
		shift = 0;
	}

	/* shift <= 203, so first + 2 <= 8 and the pieces fit the chunks */
	first = shift / 32;
	placed = (xsum_u128) mantissa << (shift % 32);
	pieces[0] = (int64_t) (uint32_t) placed;
	pieces[1] = (int64_t) (uint32_t) (placed >> 32);
	pieces[2] = (int64_t) (placed >> 64);
	if (bits >> 63)
	{
		s->chunk[first] -= pieces[0];
		s->chunk[first + 1] -= pieces[1];
		s->chunk[first + 2] -= pieces[2];
	}
	else
	{
		s->chunk[first] += pieces[0];
		s->chunk[first + 1] += pieces[1];
		s->chunk[first + 2] += pieces[2];
	}
	if (++s->pending >= XSUM_PENDING_LIMIT)
		xsum_normalize(s);
	return true;
}

/*
 * tsk_xsum_merge
 *	  s += other, exactly (the combine step of a parallel aggregate).
 */
void
tsk_xsum_merge(xsum *s, const xsum *other)
{
	xsum		addend = *other;

	xsum_normalize(s);
	xsum_normalize(&addend);
	for (int i = 0; i < XSUM_CHUNKS; i++)
		s->chunk[i] += addend.chunk[i];
	s->pending = 1;
}

/*
 * xsum_negate_limbs
 *	  limbs = -limbs in 320-bit two's complement.
 */
static void
xsum_negate_limbs(uint64_t *limbs)
{
	uint64_t	carry = 1;

	for (int i = 0; i < XSUM_LIMBS; i++)
	{
		xsum_u128	acc = (xsum_u128) (~limbs[i]) + carry;

		limbs[i] = (uint64_t) acc;
		carry = (uint64_t) (acc >> 64);
	}
}

/*
 * tsk_xsum_value
 *	  Round the exact total to the nearest double (ties to even).  The
 *	  canonical chunks become 64-bit two's-complement limbs; the top two
 *	  non-zero limbs of the magnitude go through the compiler's correctly
 *	  rounded 128-bit conversion, with any lower non-zero bit folded into
 *	  bit 0 as a sticky bit; the power-of-two scaling by ldexp is exact.
 */
double
tsk_xsum_value(const xsum *s)
{
	xsum		canonical = *s;
	uint64_t	magnitude[XSUM_LIMBS];
	bool		negative;
	int			top = XSUM_LIMBS - 1;
	double		result;

	xsum_normalize(&canonical);
	for (int i = 0; i < XSUM_LIMBS; i++)
		magnitude[i] = (uint64_t) canonical.chunk[2 * i] |
			((uint64_t) canonical.chunk[2 * i + 1] << 32);
	negative = canonical.chunk[XSUM_CHUNKS - 1] < 0;
	if (negative)
		xsum_negate_limbs(magnitude);

	while (top >= 0 && magnitude[top] == 0)
		top--;
	if (top < 0)
		return 0.0;

	if (top == 0)
		result = ldexp((double) magnitude[0], XSUM_LSB_EXPONENT);
	else
	{
		xsum_u128	high = ((xsum_u128) magnitude[top] << 64) | magnitude[top - 1];

		for (int i = 0; i < top - 1; i++)
			if (magnitude[i] != 0)
				high |= 1;		/* sticky bit, far below the 53-bit mantissa */
		result = ldexp((double) high, 64 * (top - 1) + XSUM_LSB_EXPONENT);
	}
	return negative ? -result : result;
}

/*
 * xsum_words
 *	  The value as ten 32-bit two's-complement words, least significant
 *	  first (the canonical chunks); returns true if it is negative.
 */
static bool
xsum_words(const xsum *s, uint32_t *words)
{
	xsum		canonical = *s;

	xsum_normalize(&canonical);
	for (int i = 0; i < XSUM_CHUNKS; i++)
		words[i] = (uint32_t) canonical.chunk[i];
	return canonical.chunk[XSUM_CHUNKS - 1] < 0;
}

/*
 * tsk_xsum_encode
 *	  The canonical byte form (see exactsum.h); returns its length.
 */
int
tsk_xsum_encode(const xsum *s, uint8_t *out)
{
	uint32_t	words[XSUM_CHUNKS];
	bool		negative = xsum_words(s, words);
	uint32_t	fill = negative ? UINT32_MAX : 0;
	int			low = 0,
				high = XSUM_CHUNKS - 1,
				len = 2;

	while (low < XSUM_CHUNKS && words[low] == 0)
		low++;
	if (low == XSUM_CHUNKS)
	{
		out[0] = out[1] = 0;
		return 2;
	}
	/* drop top words that only repeat the sign of the word below them */
	while (high > low && words[high] == fill &&
		   ((words[high - 1] >> 31) != 0) == negative)
		high--;
	out[0] = (uint8_t) low;
	out[1] = (uint8_t) (high - low + 1);
	for (int i = low; i <= high; i++)
	{
		out[len++] = (uint8_t) (words[i] >> 24);
		out[len++] = (uint8_t) (words[i] >> 16);
		out[len++] = (uint8_t) (words[i] >> 8);
		out[len++] = (uint8_t) words[i];
	}
	return len;
}

/*
 * tsk_xsum_decode
 *	  Read a canonical form; -1 unless it is one, of a value below 2^158 in
 *	  magnitude (the range every sum of valid addends stays in).
 */
int
tsk_xsum_decode(const uint8_t *in, int len, xsum *s)
{
	int			low,
				n,
				high;
	int64_t		top;

	tsk_xsum_init(s);
	if (len < 2)
		return -1;
	low = in[0];
	n = in[1];
	if (n == 0)
		return low == 0 ? 2 : -1;
	if (low + n > XSUM_CHUNKS || len < 2 + 4 * n)
		return -1;
	high = low + n - 1;
	for (int i = 0; i < n; i++)
	{
		const uint8_t *p = in + 2 + 4 * i;

		s->chunk[low + i] = (int64_t) (((uint32_t) p[0] << 24) | ((uint32_t) p[1] << 16) |
									   ((uint32_t) p[2] << 8) | (uint32_t) p[3]);
	}
	/* the top word is signed; the words below it are digits in [0, 2^32) */
	top = (int64_t) (int32_t) (uint32_t) s->chunk[high];
	s->chunk[high] = top;
	if (s->chunk[low] == 0)
		return -1;				/* not the lowest non-zero word */
	if (n > 1 && (top == 0 || top == -1) &&
		((s->chunk[high - 1] >> 31) != 0) == (top == -1))
		return -1;				/* a redundant sign word */
	if (high == XSUM_CHUNKS - 1 && (top >= (INT64_C(1) << 30) || top < -(INT64_C(1) << 30)))
		return -1;				/* 2^158 or more */
	return 2 + 4 * n;
}
