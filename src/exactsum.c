/*
 * exactsum.c
 *	  Order-independent exact summation of doubles (see exactsum.h).
 *
 * A double is m * 2^e with a 53-bit integer m.  In units of the accumulator's
 * least significant bit (2^-160) it is m << (e + 160), which for |x| < 2^96
 * spans at most two adjacent 64-bit limbs; a negative addend is added as its
 * 320-bit two's complement.  Nothing here allocates, so the functions are safe
 * anywhere, including inside aggregate transition functions on the hot path.
 */
#include "exactsum.h"

#include <math.h>
#include <string.h>

typedef unsigned __int128 xsum_u128;

/* The binary exponent of the accumulator's least significant bit is -160. */
#define XSUM_LSB_EXPONENT (-160)

/* Exponent field of the first double that is too large: 2^96. */
#define XSUM_EXPONENT_LIMIT (1023 + 96)

/*
 * xsum_add_limbs
 *	  s += addend, over all limbs with carry (wraps modulo 2^320, which is
 *	  exactly two's-complement addition).
 */
static void
xsum_add_limbs(xsum *s, const uint64_t *addend)
{
	uint64_t	carry = 0;

	for (int i = 0; i < XSUM_LIMBS; i++)
	{
		xsum_u128	acc = (xsum_u128) s->limb[i] + addend[i] + carry;

		s->limb[i] = (uint64_t) acc;
		carry = (uint64_t) (acc >> 64);
	}
}

/*
 * xsum_negate_limbs
 *	  limbs = -limbs in two's complement.
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
 * xsum_init
 *	  Set the sum to zero.
 */
void
xsum_init(xsum *s)
{
	memset(s, 0, sizeof(*s));
}

/*
 * xsum_add
 *	  Add x exactly.  Returns false, leaving the sum unchanged, if x is NaN,
 *	  infinite, or at least 2^96 in magnitude.
 */
bool
xsum_add(xsum *s, double x)
{
	uint64_t	bits;
	uint64_t	mantissa;
	uint64_t	addend[XSUM_LIMBS] = {0};
	int			exponent;
	int			shift;
	xsum_u128	placed;

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

	placed = (xsum_u128) mantissa << (shift % 64);
	addend[shift / 64] = (uint64_t) placed;
	if (shift / 64 + 1 < XSUM_LIMBS)
		addend[shift / 64 + 1] = (uint64_t) (placed >> 64);
	if (bits >> 63)
		xsum_negate_limbs(addend);
	xsum_add_limbs(s, addend);
	return true;
}

/*
 * xsum_merge
 *	  s += other, exactly.
 */
void
xsum_merge(xsum *s, const xsum *other)
{
	xsum_add_limbs(s, other->limb);
}

/*
 * xsum_value
 *	  Round the exact total to the nearest double (ties to even).  The top
 *	  two non-zero limbs go through the compiler's correctly rounded 128-bit
 *	  conversion, with any lower non-zero bit folded into bit 0 as a sticky
 *	  bit; the power-of-two scaling by ldexp is exact.
 */
double
xsum_value(const xsum *s)
{
	uint64_t	magnitude[XSUM_LIMBS];
	bool		negative = (s->limb[XSUM_LIMBS - 1] >> 63) != 0;
	int			top = XSUM_LIMBS - 1;
	double		result;

	memcpy(magnitude, s->limb, sizeof(magnitude));
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
