/*
 * indicators.c
 *	  Status messages, parameter checks and the building blocks (ring, rolling
 *	  sum, monotonic min/max window, channel, Wilder average, EMA, true range)
 *	  from which src/indicators/indicators_close.c and src/indicators/indicators_bar.c compose the
 *	  TA-Lib-compatible streaming indicators declared in indicators.h.
 *
 * Invariants (see also indicators_internal.h):
 *	- Blocks address their slots by cell offsets into the owning state, so
 *	  states stay relocatable.
 *	- Every block performs its floating-point operations in TA-Lib's order;
 *	  the golden test (test/unit/test_indicators.c) relies on it.
 *	- Nothing allocates; every operation is O(1) amortised.
 */
#include "indicators/indicators_internal.h"

#include <math.h>

/*
 * tsk_ind_check_period
 *	  Validates one period parameter: too_small_status if below 1,
 *	  IND_ERR_PERIOD_TOO_LARGE above IND_MAX_PERIOD, else IND_OK.
 */
int
tsk_ind_check_period(int period, int too_small_status)
{
	if (period < 1)
		return too_small_status;
	if (period > IND_MAX_PERIOD)
		return IND_ERR_PERIOD_TOO_LARGE;
	return IND_OK;
}

/*
 * tsk_ind_period_ok
 *	  True when a period is valid, i.e. safe to size buffers with.
 */
bool
tsk_ind_period_ok(int period)
{
	return period >= 1 && period <= IND_MAX_PERIOD;
}

/*
 * tsk_ind_check_n
 *	  Common prologue of init functions taking one period n: NULL memory or an
 *	  invalid n gives the error status, else IND_OK.
 */
int
tsk_ind_check_n(const void *mem, int n)
{
	if (mem == NULL)
		return IND_ERR_NULL_MEMORY;
	return tsk_ind_check_period(n, IND_ERR_N_TOO_SMALL);
}

/*
 * tsk_ind_strerror
 *	  Maps a status code to the message the SQL layer reports.
 */
const char *
tsk_ind_strerror(int status)
{
	switch ((ind_status) status)
	{
		case IND_OK:
			return "success";
		case IND_ERR_NULL_MEMORY:
			return "indicator state memory is NULL";
		case IND_ERR_N_TOO_SMALL:
			return "n must be at least 1";
		case IND_ERR_PERIOD_TOO_LARGE:
			return "period parameters must be at most 1000000";
		case IND_ERR_FAST_TOO_SMALL:
			return "fast must be at least 1";
		case IND_ERR_FAST_NOT_BELOW_SLOW:
			return "fast must be less than slow";
		case IND_ERR_SIGNAL_TOO_SMALL:
			return "signal must be at least 1";
		case IND_ERR_K_TOO_SMALL:
			return "k must be at least 1";
		case IND_ERR_K_SLOW_TOO_SMALL:
			return "k_slow must be at least 1";
		case IND_ERR_D_TOO_SMALL:
			return "d must be at least 1";
		case IND_ERR_MULTIPLIER_NOT_FINITE:
			return "k must be a finite number";
	}
	return "unknown indicator error";
}

/* ---------------------------------------------------------------------
 * Building block: fixed-capacity ring of doubles.
 * Slots are written in order 0, 1, ..., capacity-1, 0, ... (CCI relies on
 * this to sum in TA-Lib's slot order).
 * ---------------------------------------------------------------------
 */

/*
 * tsk_ind_ring_init
 *	  Sets up an empty ring whose slots start at cell *cursor; advances it.
 */
void
tsk_ind_ring_init(ind_ring *ring, int capacity, int32_t *cursor)
{
	ring->capacity = capacity;
	ring->count = 0;
	ring->next = 0;
	ring->offset = *cursor;
	*cursor += capacity;
}

/*
 * tsk_ind_ring_full
 *	  True once the ring holds capacity values.
 */
bool
tsk_ind_ring_full(const ind_ring *ring)
{
	return ring->count == ring->capacity;
}

/*
 * tsk_ind_ring_push
 *	  Stores x.  When the ring was already full, the value x overwrote (the one
 *	  pushed capacity rows ago) goes to *displaced and true is returned.
 */
bool
tsk_ind_ring_push(ind_ring *ring, ind_cell *cells, double x, double *displaced)
{
	ind_cell   *slots = cells + ring->offset;
	bool		was_full = tsk_ind_ring_full(ring);

	if (was_full)
		*displaced = slots[ring->next].value;
	else
		ring->count++;
	slots[ring->next].value = x;
	ring->next = (ring->next + 1 == ring->capacity) ? 0 : ring->next + 1;
	return was_full;
}

/* ---------------------------------------------------------------------
 * Building block: exact sum over the last n values (see
 * indicators_internal.h): the entering value is added and the leaving one
 * subtracted exactly, the total rounded once when read.
 * ---------------------------------------------------------------------
 */

/*
 * tsk_ind_rolling_sum_init
 *	  Sets up an empty n-value window whose slots start at cell *cursor.
 */
void
tsk_ind_rolling_sum_init(ind_rolling_sum *rs, int n, int32_t *cursor)
{
	tsk_ind_ring_init(&rs->window, n, cursor);
	rs->inexact = 0;
	rs->sum = 0.0;
	tsk_xsum_init(&rs->exact);
}

/*
 * tsk_ind_rolling_sum_push
 *	  Pushes x; true once the sum covers n values.
 */
bool
tsk_ind_rolling_sum_push(ind_rolling_sum *rs, ind_cell *cells, double x)
{
	double		leaving;

	if (tsk_ind_ring_push(&rs->window, cells, x, &leaving))
	{
		rs->sum -= leaving;
		/* refused for the same magnitude it was refused when it entered */
		if (!tsk_xsum_add(&rs->exact, -leaving))
			rs->inexact--;
	}
	rs->sum += x;
	if (!tsk_xsum_add(&rs->exact, x))
		rs->inexact++;
	return tsk_ind_ring_full(&rs->window);
}

/*
 * tsk_ind_rolling_sum_total
 *	  The window's sum: exact and rounded once, or the plain running sum
 *	  while a value beyond the exact range is in the window.
 */
double
tsk_ind_rolling_sum_total(const ind_rolling_sum *rs)
{
	return rs->inexact == 0 ? tsk_xsum_value(&rs->exact) : rs->sum;
}

/*
 * tsk_ind_rolling_sum_mean
 *	  Sum divided by the window length (the SMA once the window is full).
 */
double
tsk_ind_rolling_sum_mean(const ind_rolling_sum *rs)
{
	return tsk_ind_rolling_sum_total(rs) / rs->window.capacity;
}

/*
 * tsk_ind_rolling_sum_zero
 *	  Drops the plain sum's rounding residue when every value in the window is
 *	  known to be 0 (the exact sum is then exactly 0 already).
 */
void
tsk_ind_rolling_sum_zero(ind_rolling_sum *rs)
{
	rs->sum = 0.0;
}

/* ---------------------------------------------------------------------
 * Building block: maximum (or minimum) of the last n values, by a monotonic
 * deque kept in a ring of n (value, row) pairs.  Amortised O(1) per push.
 * ---------------------------------------------------------------------
 */

/*
 * tsk_ind_extreme_init
 *	  Sets up an empty window of n rows whose slots start at cell *cursor.
 */
void
tsk_ind_extreme_init(ind_extreme_window *w, int n, bool want_max, int32_t *cursor)
{
	w->capacity = n;
	w->head = 0;
	w->size = 0;
	w->want_max = want_max;
	w->values_offset = *cursor;
	w->rows_offset = *cursor + n;
	*cursor += 2 * n;
}

/*
 * tsk_ind_extreme_push
 *	  Adds x as row number `row` (rows strictly increasing by 1) and returns
 *	  the extreme of rows row-n+1 .. row.
 */
double
tsk_ind_extreme_push(ind_extreme_window *w, ind_cell *cells, int64_t row, double x)
{
	ind_cell   *values = cells + w->values_offset;
	ind_cell   *rows = cells + w->rows_offset;
	int32_t		slot;

	/* Drop the oldest entry if it slid out of the window. */
	if (w->size > 0 && rows[w->head].row <= row - w->capacity)
	{
		w->head = (w->head + 1 == w->capacity) ? 0 : w->head + 1;
		w->size--;
	}
	/* Drop entries x dominates; they can never be the extreme again. */
	while (w->size > 0)
	{
		double		last;

		slot = (w->head + w->size - 1) % w->capacity;
		last = values[slot].value;
		if (w->want_max ? (last > x) : (last < x))
			break;
		w->size--;
	}
	slot = (w->head + w->size) % w->capacity;
	values[slot].value = x;
	rows[slot].row = row;
	w->size++;
	return values[w->head].value;
}

/* ---------------------------------------------------------------------
 * Building block: Wilder average, seeded with the plain mean of the first n
 * values, then avg = (avg * (n-1) + x) / n (TA-Lib's RSI/ATR/ADX form).
 * ---------------------------------------------------------------------
 */

/*
 * tsk_ind_wilder_init
 *	  Sets up an empty Wilder average of period n.
 */
void
tsk_ind_wilder_init(ind_wilder *w, int n)
{
	w->period = n;
	w->count = 0;
	w->average = 0.0;
}

/*
 * tsk_ind_wilder_push
 *	  Pushes x; true once the average exists (from the n-th value on).
 */
bool
tsk_ind_wilder_push(ind_wilder *w, double x)
{
	if (w->count < w->period)
	{
		w->average += x;
		if (++w->count < w->period)
			return false;
		w->average /= w->period;
		return true;
	}
	w->average = (w->average * (w->period - 1) + x) / w->period;
	return true;
}

/*
 * tsk_ind_wilder_seeding
 *	  True while the average is still being seeded (fewer than n values).
 */
bool
tsk_ind_wilder_seeding(const ind_wilder *w)
{
	return w->count < w->period;
}

/*
 * tsk_ind_wilder_sum_step
 *	  One step of a Wilder running *sum* (ADX's smoothed DM and TR): sum -
 *	  sum/n + x.
 */
double
tsk_ind_wilder_sum_step(double sum, double x, int n)
{
	return sum - sum / n + x;
}

/* ---------------------------------------------------------------------
 * Building block: EMA with k = 2/(n+1) seeded with the SMA of the first n
 * values (TA-Lib's default compatibility mode).
 * ---------------------------------------------------------------------
 */

/*
 * tsk_ind_ema_core_init
 *	  Sets up an empty EMA of period n.
 */
void
tsk_ind_ema_core_init(ind_ema *e, int n)
{
	e->period = n;
	e->count = 0;
	e->k = 2.0 / (double) (n + 1);
	e->value = 0.0;
}

/*
 * tsk_ind_ema_core_push
 *	  Pushes x; true once the EMA exists (from the n-th value on).
 */
bool
tsk_ind_ema_core_push(ind_ema *e, double x)
{
	if (e->count < e->period)
	{
		e->value += x;
		if (++e->count < e->period)
			return false;
		e->value /= e->period;
		return true;
	}
	e->value = ((x - e->value) * e->k) + e->value;
	return true;
}

/* ---------------------------------------------------------------------
 * Building block: bar helpers.
 * ---------------------------------------------------------------------
 */

/*
 * tsk_ind_true_range
 *	  True range of a bar given the previous close (TA-Lib TRANGE order).
 */
double
tsk_ind_true_range(double high, double low, double prev_close)
{
	double		range = high - low;
	double		candidate = fabs(prev_close - high);

	if (candidate > range)
		range = candidate;
	candidate = fabs(low - prev_close);
	if (candidate > range)
		range = candidate;
	return range;
}

/*
 * tsk_ind_typical_price
 *	  Typical price (h + l + c) / 3 in TA-Lib's order.
 */
double
tsk_ind_typical_price(double high, double low, double close)
{
	return (high + low + close) / 3.0;
}

/* ---------------------------------------------------------------------
 * Building block: highest high / lowest low over n bars (WILLR, STOCH).
 * ---------------------------------------------------------------------
 */

/*
 * tsk_ind_channel_init
 *	  Sets up an empty n-bar channel whose slots start at cell *cursor.
 */
void
tsk_ind_channel_init(ind_channel *c, int n, int32_t *cursor)
{
	c->rows = 0;
	tsk_ind_extreme_init(&c->highs, n, true, cursor);
	tsk_ind_extreme_init(&c->lows, n, false, cursor);
}

/*
 * tsk_ind_channel_push
 *	  Pushes a bar; true once n bars exist, with the channel's extremes.
 */
bool
tsk_ind_channel_push(ind_channel *c, ind_cell *cells, double high, double low,
				 double *highest, double *lowest)
{
	int64_t		row = c->rows++;

	*highest = tsk_ind_extreme_push(&c->highs, cells, row, high);
	*lowest = tsk_ind_extreme_push(&c->lows, cells, row, low);
	return c->rows >= c->highs.capacity;
}
