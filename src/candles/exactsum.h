/*
 * exactsum.h
 *	  Order-independent exact summation of doubles (pure C, no Postgres headers).
 *
 * Floating-point addition is not associative, so a plain running sum of the
 * same trades gives different last bits under a different input order or a
 * parallel plan.  An xsum holds an exact integer multiple of 2^-160: every
 * addend is placed into it exactly (bits below 2^-160 are truncated toward
 * zero, a function of the addend alone), integer addition is associative,
 * and tsk_xsum_value() rounds the exact total once, correctly.  The result
 * therefore depends only on the multiset of addends, never on their order or
 * grouping.
 *
 * Layout (lazy carries, for speed on the hot path): ten signed 64-bit
 * chunks, chunk i weighing 2^(32 i - 160).  An addend touches at most three
 * chunks with plain signed adds of less than 2^32 each and no carry chain;
 * carries are propagated once every 2^30 adds (and before reading), which
 * keeps every chunk far from overflow.
 *
 * Invariants: an addend must be finite with |x| < 2^96 (tsk_xsum_add reports
 * false otherwise and leaves the sum untouched); with at most 2^62 addends
 * the total stays below 2^158 and can never overflow.
 */
#ifndef TRIGGERSTOCK_EXACTSUM_H
#define TRIGGERSTOCK_EXACTSUM_H

#include <stdbool.h>
#include <stdint.h>

#define XSUM_CHUNKS 10

/* The largest magnitude (exclusive) that tsk_xsum_add accepts: 2^96. */
#define XSUM_MAX_ADDEND 79228162514264337593543950336.0

typedef struct xsum
{
	int64_t		chunk[XSUM_CHUNKS];	/* chunk i weighs 2^(32 i - 160) */
	int64_t		pending;		/* adds since carries were last propagated */
} xsum;

/* Set the sum to zero. */
extern void tsk_xsum_init(xsum *s);

/* Add x exactly; false if x is not finite or |x| >= 2^96. */
extern bool tsk_xsum_add(xsum *s, double x);

/* Add another exact sum (the combine step of a parallel aggregate). */
extern void tsk_xsum_merge(xsum *s, const xsum *other);

/* The exact total, correctly rounded to the nearest double. */
extern double tsk_xsum_value(const xsum *s);

/*
 * Canonical byte form of an exact sum (used by the sums field of a candle):
 * one byte s = index of the lowest non-zero 32-bit word of the value in
 * units of 2^-160, one byte n = number of words, then those n words big
 * endian, the last one carrying the two's-complement sign; n is minimal, and
 * zero is s = n = 0.  Equal values have equal bytes, so byte equality is
 * value equality.  At most XSUM_ENCODED_MAX bytes.
 */
#define XSUM_ENCODED_MAX (2 + 4 * XSUM_CHUNKS)

/* Write the canonical form of s into out; returns its length. */
extern int	tsk_xsum_encode(const xsum *s, uint8_t *out);

/*
 * Read one canonical form from in[0..len) into s; returns the bytes read,
 * or -1 if the bytes are not a canonical form of a value below 2^158.
 */
extern int	tsk_xsum_decode(const uint8_t *in, int len, xsum *s);

#endif							/* TRIGGERSTOCK_EXACTSUM_H */
