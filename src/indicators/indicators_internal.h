/*
 * indicators_internal.h
 *	  Building blocks shared by the indicator implementations (private to
 *	  src/indicators/indicators*.c; the public API is indicators.h).
 *
 * Files:
 *	  indicators.c		 status messages, parameter checks, building blocks
 *	  indicators_close.c  close-only indicators: sma ema rsi roc mom macd bbands
 *	  indicators_bar.c	 bar/volume indicators: atr willr stoch cci adx obv mfi
 *						 vwap vwap_rolling
 *
 * Invariants:
 *	- A state is a fixed struct whose last member is a flexible array of
 *	  8-byte cells (`ind_cell cells[]`); building blocks address their slots
 *	  by cell offsets into it, never by pointers, so a state block may be
 *	  copied or moved between calls.  Each block function therefore takes
 *	  the owning state's `cells`.
 *	- Floating-point operations follow TA-Lib's order exactly (see each
 *	  block), so results match TA-Lib to the last bits, except that window
 *	  sums are exact (ind_rolling_sum) and CCI sums its window oldest
 *	  first: a window's value never depends on the rows before the window.
 *	  Do not "simplify" an expression without re-running
 *	  test/unit/test_indicators.
 *	- Nothing allocates; every operation is O(1) amortised.
 */
#ifndef TRIGGERSTOCK_INDICATORS_INTERNAL_H
#define TRIGGERSTOCK_INDICATORS_INTERNAL_H

#include "indicators/indicators.h"
#include "candles/exactsum.h"

#include <stdint.h>

/* TA-Lib's TA_EPSILON and the two tests built on it (0.6 line: 1e-14). */
#define IND_TA_EPSILON 0.00000000000001
#define IND_IS_ZERO(v) ((-IND_TA_EPSILON) < (v) && (v) < IND_TA_EPSILON)
#define IND_IS_ZERO_OR_NEG(v) ((v) < IND_TA_EPSILON)

/* One storage cell of a state's trailing buffer area. */
typedef union ind_cell
{
	double		value;
	int64_t		row;
} ind_cell;

/* Bytes of a state of type TYPE followed by NCELLS cells. */
#define IND_STATE_SIZE(TYPE, NCELLS) \
	(offsetof(TYPE, cells) + (size_t) (NCELLS) * sizeof(ind_cell))

/* Parameter checks (see indicators.c). */
extern int	tsk_ind_check_period(int period, int too_small_status);
extern bool tsk_ind_period_ok(int period);
extern int	tsk_ind_check_n(const void *mem, int n);

/*
 * Fixed-capacity ring of doubles.  Slots are written in order 0, 1, ...,
 * capacity-1, 0, ... (CCI relies on this to sum in TA-Lib's slot order).
 */
typedef struct ind_ring
{
	int32_t		capacity;		/* number of slots */
	int32_t		count;			/* slots filled so far (<= capacity) */
	int32_t		next;			/* slot the next value goes to */
	int32_t		offset;			/* first cell of the slots */
} ind_ring;

extern void tsk_ind_ring_init(ind_ring *ring, int capacity, int32_t *cursor);
extern bool tsk_ind_ring_full(const ind_ring *ring);
extern bool tsk_ind_ring_push(ind_ring *ring, ind_cell *cells, double x,
						  double *displaced);

/*
 * Sum over the last n values, exact: an exact accumulator (exactsum.h) adds
 * the entering and subtracts the leaving value without rounding, and the
 * total is rounded once when read.  So the sum of a window depends only on
 * the window's values, never on the rows before it: a computation started
 * anywhere (features(since) over its warm-up, the online state, TA-Lib on a
 * range) gives the same bits once the window is full.  TA-Lib's running sum
 * (add new, subtract leaving, rounding each time) carries the residue of
 * every earlier row; the two agree bit for bit whenever that running sum is
 * exact (e.g. integer prices) and otherwise to the last bits.  A value the
 * accumulator cannot hold (|x| >= 2^96) makes the block fall back to the
 * plain running sum while it is in the window.
 */
typedef struct ind_rolling_sum
{
	ind_ring	window;
	int32_t		inexact;		/* values in the window beyond 2^96 */
	double		sum;			/* plain running sum (the fallback) */
	xsum		exact;			/* exact sum of the window's values */
} ind_rolling_sum;

extern void tsk_ind_rolling_sum_init(ind_rolling_sum *rs, int n, int32_t *cursor);
extern bool tsk_ind_rolling_sum_push(ind_rolling_sum *rs, ind_cell *cells, double x);
extern double tsk_ind_rolling_sum_total(const ind_rolling_sum *rs);
extern double tsk_ind_rolling_sum_mean(const ind_rolling_sum *rs);
extern void tsk_ind_rolling_sum_zero(ind_rolling_sum *rs);

/*
 * Maximum (or minimum) of the last n values: a monotonic deque kept in a
 * ring of n (value, row) pairs.
 */
typedef struct ind_extreme_window
{
	int32_t		capacity;		/* window length n */
	int32_t		head;			/* slot of the current extreme */
	int32_t		size;			/* entries in the deque */
	int32_t		values_offset;	/* first cell of the value slots */
	int32_t		rows_offset;	/* first cell of the row-number slots */
	bool		want_max;		/* maximum (true) or minimum (false) */
} ind_extreme_window;

extern void tsk_ind_extreme_init(ind_extreme_window *w, int n, bool want_max,
							 int32_t *cursor);
extern double tsk_ind_extreme_push(ind_extreme_window *w, ind_cell *cells,
							   int64_t row, double x);

/* Highest high and lowest low over the last n bars (WILLR, STOCH). */
typedef struct ind_channel
{
	int64_t		rows;			/* bars pushed so far */
	ind_extreme_window highs;
	ind_extreme_window lows;
} ind_channel;

/* Cells an n-bar channel needs. */
#define IND_CHANNEL_CELLS(n) (4 * (n))

extern void tsk_ind_channel_init(ind_channel *c, int n, int32_t *cursor);
extern bool tsk_ind_channel_push(ind_channel *c, ind_cell *cells, double high,
							 double low, double *highest, double *lowest);

/*
 * Wilder average: seeded with the plain mean of the first n values, then
 * avg = (avg * (n-1) + x) / n (TA-Lib's RSI/ATR/ADX form).
 */
typedef struct ind_wilder
{
	int32_t		period;
	int32_t		count;			/* values seen, saturating at period */
	double		average;		/* running sum until count reaches period */
} ind_wilder;

extern void tsk_ind_wilder_init(ind_wilder *w, int n);
extern bool tsk_ind_wilder_push(ind_wilder *w, double x);
extern bool tsk_ind_wilder_seeding(const ind_wilder *w);
extern double tsk_ind_wilder_sum_step(double sum, double x, int n);

/* EMA with k = 2/(n+1), seeded with the SMA of the first n values. */
typedef struct ind_ema
{
	int32_t		period;
	int32_t		count;			/* values seen, saturating at period */
	double		k;				/* smoothing factor 2 / (n + 1) */
	double		value;			/* running sum until count reaches period */
} ind_ema;

extern void tsk_ind_ema_core_init(ind_ema *e, int n);
extern bool tsk_ind_ema_core_push(ind_ema *e, double x);

/* Bar helpers in TA-Lib's operation order. */
extern double tsk_ind_true_range(double high, double low, double prev_close);
extern double tsk_ind_typical_price(double high, double low, double close);

#endif							/* TRIGGERSTOCK_INDICATORS_INTERNAL_H */
