/*
 * book.h
 *	  pure-C L2 order book: exact decimal price levels, ordered per side,
 *	  bounded in size, with Kraken's CRC32 checksum and the
 *	  Cont-Kukanov-Stoikov order-flow imbalance (triggerstock).
 *
 * No PostgreSQL headers: plain C11 (+ unsigned __int128, GCC/Clang), so the
 * ingest worker, the unit tests and the fuzz targets share one implementation.
 *
 * Representation.  A price or quantity is a decimal as the exchange wrote
 * it: tb_dec {mant, dec} = mant / 10^dec, with the wire's number of
 * decimals kept (Kraken's checksum is computed over the strings as sent,
 * which is the decimal text of mant once the point and leading zeros are
 * removed).  Levels are ordered by an exact key, the price scaled to 18
 * decimals in 128 bits, so "354.1" and "354.10000000" are one level and no
 * two distinct prices ever compare equal (no floating point in the order).
 *
 * Structure.  Each side is an AVL tree over a pool of nodes addressed by
 * 32-bit index (free list, grown by doubling up to the side's cap):
 * insert, update, delete and lookup are O(log n); the best level and the
 * first k levels are read in O(log n + k).  Bids iterate from the highest
 * price, asks from the lowest.
 *
 * Invariants (checked by tsk_tb_book_check, used by the tests and fuzzers):
 *   - every stored level has qty > 0 and 0 < price < 10^19 with at most 18
 *     decimals; keys are strictly ordered in-order; AVL heights are exact
 *     and balanced; count equals the number of reachable nodes;
 *   - a side never holds more than max_levels levels: a new level on a full
 *     side evicts the side's worst level when it is better than it (so the
 *     top of the book stays exact) and is refused otherwise; both are
 *     reported to the caller, who must record them (dead letter);
 *   - memory: at most max_levels nodes per side, allocated lazily; no
 *     global state; every function is safe on any input values.
 */
#ifndef TRIGGERSTOCK_BOOK_H
#define TRIGGERSTOCK_BOOK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TB_BID 0
#define TB_ASK 1
#define TB_MAX_DEC 18				/* decimals of a price or quantity */
#define TB_MAX_DIGITS 19			/* significant digits of a mantissa */
#define TB_DEC_TEXT 42				/* room for any formatted tb_dec + NUL */
#define TB_MAX_LEVELS_LIMIT 1000000 /* largest accepted per-side cap */

/* An exact non-negative decimal: mant / 10^dec. */
typedef struct tb_dec
{
	uint64_t	mant;
	uint8_t		dec;
} tb_dec;

/* A price level as read from the book. */
typedef struct tb_level
{
	tb_dec		price;
	tb_dec		qty;
} tb_level;

typedef unsigned __int128 tb_key;

/* One tree node (internal; exposed for sizeof only). */
typedef struct tb_node
{
	tb_key		key;
	uint64_t	pmant;
	uint64_t	qmant;
	int32_t		left;
	int32_t		right;
	uint8_t		pdec;
	uint8_t		qdec;
	int8_t		height;
} tb_node;

typedef struct tb_side
{
	tb_node    *nodes;			/* pool; NULL until the first insert */
	int32_t		alloc;			/* nodes allocated */
	int32_t		used;			/* nodes ever handed out (<= alloc) */
	int32_t		root;			/* -1 if empty */
	int32_t		free_head;		/* free list through .left, -1 if none */
	int32_t		count;			/* levels stored */
} tb_side;

typedef struct tb_book
{
	tb_side		side[2];		/* TB_BID, TB_ASK */
	int32_t		max_levels;		/* per side */
} tb_book;

/* What tsk_tb_book_set did. */
typedef enum tb_set
{
	TB_SET_INSERTED = 0,
	TB_SET_UPDATED,
	TB_SET_DELETED,
	TB_SET_ABSENT,				/* qty 0 for a level that is not there */
	TB_SET_EVICTED,				/* inserted; the side's worst level was evicted */
	TB_SET_REFUSED,				/* side full and the level is not better than its worst */
	TB_SET_INVALID,				/* price 0, or side not TB_BID/TB_ASK */
	TB_SET_NOMEM
} tb_set;

/* ---- decimals ---------------------------------------------------------- */

/*
 * Parse "123", "123.45", ".5", "0.00000000" (no sign, exponent or spaces)
 * of exactly len bytes.  At most TB_MAX_DIGITS digits after leading zeros
 * and TB_MAX_DEC decimals.  Returns 0, or -1 (out untouched).
 */
int			tsk_tb_dec_parse(const char *s, size_t len, tb_dec *out);
/* The value as the nearest double (correctly rounded). */
double		tsk_tb_dec_double(tb_dec d);
/* Write the decimal with its decimals ("0.00756500"); returns the length.
 * out needs TB_DEC_TEXT bytes. */
int			tsk_tb_dec_format(tb_dec d, char *out);
/* The exact ordering key of a price (mant scaled to 18 decimals). */
tb_key		tsk_tb_dec_key(tb_dec d);
/* -1, 0, 1 comparing the values exactly. */
int			tsk_tb_dec_cmp(tb_dec a, tb_dec b);

/* ---- the book ---------------------------------------------------------- */

/* Empty book with a per-side cap (1..TB_MAX_LEVELS_LIMIT; clamped).  No
 * allocation until the first level. */
void		tsk_tb_book_init(tb_book *b, int max_levels);
/* Free the pools; the book is empty and reusable afterwards. */
void		tsk_tb_book_free(tb_book *b);
/* Remove every level, keeping the pools for reuse. */
void		tsk_tb_book_clear(tb_book *b);
/*
 * Set a level: qty 0 deletes it, otherwise the level is inserted or its
 * quantity (and wire decimals) replaced.  On TB_SET_EVICTED *evicted (if
 * not NULL) receives the level that was dropped; on TB_SET_REFUSED the
 * refused level is the one given.
 */
tb_set		tsk_tb_book_set(tb_book *b, int side, tb_dec price, tb_dec qty, tb_level *evicted);
/* Quantity at a price, or false if no such level. */
bool		tsk_tb_book_get(const tb_book *b, int side, tb_dec price, tb_dec *qty);
/* Drop the worst levels of each side beyond depth (>= 0); returns how many. */
int			tsk_tb_book_truncate(tb_book *b, int depth);
/* Levels on a side. */
int			tsk_tb_book_count(const tb_book *b, int side);
/* The first n levels of a side, best first; returns how many were written. */
int			tsk_tb_book_top(const tb_book *b, int side, int n, tb_level *out);
/* The best level of a side, or false if the side is empty. */
bool		tsk_tb_book_best(const tb_book *b, int side, tb_level *out);
/* True if both sides have levels and the best bid >= the best ask. */
bool		tsk_tb_book_crossed(const tb_book *b);
/* Check every invariant; returns NULL, or a static description of the first
 * violation. O(n). */
const char *tsk_tb_book_check(const tb_book *b);

/* ---- checksums --------------------------------------------------------- */

/* CRC-32 (IEEE 802.3, reflected, as zlib's crc32): start with crc = 0. */
uint32_t	tsk_tb_crc32(uint32_t crc, const void *data, size_t len);
/*
 * Kraken spot v1 book checksum: for the 10 best asks (lowest first) then
 * the 10 best bids (highest first), the price and then the quantity as
 * sent with the decimal point and leading zeros removed, concatenated;
 * CRC-32 of that text.
 */
uint32_t	tsk_tb_kraken_checksum(const tb_book *b);

/* ---- order-flow imbalance ---------------------------------------------- */

/*
 * Cont, Kukanov and Stoikov (2014), "The price impact of order book
 * events", eq. (2): between two observations n-1 and n of the best levels,
 *   e_n =  1{Pb_n >= Pb_n-1} qb_n - 1{Pb_n <= Pb_n-1} qb_n-1
 *        - 1{Pa_n <= Pa_n-1} qa_n + 1{Pa_n >= Pa_n-1} qa_n-1
 * and OFI over an interval is the sum of e_n.  A side that is empty at
 * either observation contributes 0; tsk_tb_ofi_reset forgets the previous
 * observation (after a resync no e_n spans the gap).
 */
typedef struct tb_ofi
{
	bool		have;			/* a previous observation exists */
	bool		bid_ok, ask_ok;
	double		bid_px, bid_qty, ask_px, ask_qty;
} tb_ofi;

void		tsk_tb_ofi_reset(tb_ofi *o);
/* Observe the book's best levels; returns e_n (0 for the first observation). */
double		tsk_tb_ofi_step(tb_ofi *o, const tb_book *b);
/* The same from explicit best levels (has_bid/has_ask false = side empty). */
double		tsk_tb_ofi_observe(tb_ofi *o, bool has_bid, double bid_px, double bid_qty,
							   bool has_ask, double ask_px, double ask_qty);

#endif							/* TRIGGERSTOCK_BOOK_H */
