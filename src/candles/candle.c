/*
 * candle.c
 *	  OHLCV candle state machine (see candle.h for the invariants).
 */
#include "candles/candle.h"

#include <math.h>
#include <string.h>

/*
 * candle_point_cmp
 *	  Total order on points: by time, then trade id, then price, then qty.
 */
static int
candle_point_cmp(const candle_point *a, const candle_point *b)
{
	if (a->ts != b->ts)
		return a->ts < b->ts ? -1 : 1;
	if (a->seq != b->seq)
		return a->seq < b->seq ? -1 : 1;
	if (a->price != b->price)
		return a->price < b->price ? -1 : 1;
	if (a->qty != b->qty)
		return a->qty < b->qty ? -1 : 1;
	return 0;
}

/*
 * candle_extend
 *	  Widen a non-empty state by an input whose earliest and latest points
 *	  and price range are given.
 */
static void
candle_extend(candle_state *state, const candle_point *first, const candle_point *last,
			  double high, double low)
{
	if (candle_point_cmp(first, &state->open) < 0)
		state->open = *first;
	if (candle_point_cmp(last, &state->close) > 0)
		state->close = *last;
	if (high > state->high)
		state->high = high;
	if (low < state->low)
		state->low = low;
}

/*
 * candle_fold
 *	  Fold one already validated input into the state: its first and last
 *	  points, price range and trade count (the caller adds its sums).
 */
static void
candle_fold(candle_state *state, const candle_point *first, const candle_point *last,
			double high, double low, int64_t trades)
{
	if (state->inputs == 0)
	{
		state->open = *first;
		state->close = *last;
		state->high = high;
		state->low = low;
	}
	else
		candle_extend(state, first, last, high, low);
	state->inputs++;
	state->trades += trades;
}

/*
 * candle_in_range
 *	  True if x can be added to an exact sum.
 */
static bool
candle_in_range(double x)
{
	return fabs(x) < XSUM_MAX_ADDEND;
}

/*
 * tsk_candle_init
 *	  Make an empty candle.
 */
void
tsk_candle_init(candle_state *state)
{
	memset(state, 0, sizeof(*state));
	tsk_xsum_init(&state->volume);
	tsk_xsum_init(&state->turnover);
}

/*
 * candle_reject
 *	  Record the rejected value and pass the error through.
 */
static candle_error
candle_reject(candle_error err, double value, double *rejected)
{
	*rejected = value;
	return err;
}

/*
 * candle_check_price
 *	  CANDLE_OK if a price is finite, else CANDLE_BAD_PRICE with the value.
 */
static candle_error
candle_check_price(double price, double *rejected)
{
	return isfinite(price) ? CANDLE_OK : candle_reject(CANDLE_BAD_PRICE, price, rejected);
}

/*
 * candle_check_sums
 *	  Validate a quantity and its turnover before they reach the exact sums.
 */
static candle_error
candle_check_sums(double qty, double turnover, double *rejected)
{
	if (!isfinite(qty) || qty < 0)
		return candle_reject(CANDLE_BAD_QTY, qty, rejected);
	if (!candle_in_range(qty))
		return candle_reject(CANDLE_OUT_OF_RANGE, qty, rejected);
	if (!candle_in_range(turnover))
		return candle_reject(CANDLE_OUT_OF_RANGE, turnover, rejected);
	return CANDLE_OK;
}

/*
 * tsk_candle_add_trade
 *	  Add one trade.
 */
candle_error
tsk_candle_add_trade(candle_state *state, int64_t ts, int64_t seq, double price, double qty,
				 double *rejected)
{
	candle_point point;
	double		turnover;
	candle_error err;

	if ((err = candle_check_price(price, rejected)) != CANDLE_OK)
		return err;
	/* -0.0 and 0.0 compare equal but print differently: keep one of them */
	price += 0.0;
	qty += 0.0;
	turnover = price * qty;
	if ((err = candle_check_sums(qty, turnover, rejected)) != CANDLE_OK)
		return err;

	point.ts = ts;
	point.seq = seq;
	point.price = price;
	point.qty = qty;
	candle_fold(state, &point, &point, price, price, 1);
	(void) tsk_xsum_add(&state->volume, qty);
	(void) tsk_xsum_add(&state->turnover, turnover);
	return CANDLE_OK;
}

/*
 * candle_sums_match
 *	  True if a candle's exact sums round to its volume and vwap, as
 *	  tsk_candle_result would compute them.
 */
static bool
candle_sums_match(const candle_summary *candle)
{
	double		volume = tsk_xsum_value(&candle->volume_sum);
	double		turnover = tsk_xsum_value(&candle->turnover_sum);

	if (volume != candle->volume || candle->has_vwap != (volume > 0))
		return false;
	return candle->has_vwap ? turnover / volume == candle->vwap : turnover == 0;
}

/*
 * tsk_candle_add_candle
 *	  Add a finished finer candle (the rollup step).  Its open and close are
 *	  placed by (time, seq), and its exact sums are added, so the result is
 *	  the candle of all the trades underneath.  A candle without sums is
 *	  taken as the single addends volume and vwap * volume (its turnover
 *	  back from the rounded vwap: volume and vwap then agree with direct
 *	  aggregation to a few units in the last place, not bit for bit).
 */
candle_error
tsk_candle_add_candle(candle_state *state, const candle_summary *candle, double *rejected)
{
	candle_point first;
	candle_point last;
	double		prices[] = {candle->open, candle->high, candle->low, candle->close,
							candle->has_vwap ? candle->vwap : 0.0};
	double		turnover = candle->has_vwap ? candle->vwap * candle->volume : 0.0;
	candle_error err;

	for (size_t i = 0; i < sizeof(prices) / sizeof(prices[0]); i++)
		if ((err = candle_check_price(prices[i], rejected)) != CANDLE_OK)
			return err;
	if ((err = candle_check_sums(candle->volume, turnover, rejected)) != CANDLE_OK)
		return err;
	if (candle->has_sums && !candle_sums_match(candle))
		return candle_reject(CANDLE_BAD_SUMS, candle->volume, rejected);

	first.ts = candle->open_time;
	first.seq = candle->open_seq;
	first.price = candle->open + 0.0;
	first.qty = 0.0;
	last.ts = candle->close_time;
	last.seq = candle->close_seq;
	last.price = candle->close + 0.0;
	last.qty = 0.0;
	candle_fold(state, &first, &last, candle->high, candle->low, candle->trades);
	if (candle->has_sums)
	{
		tsk_xsum_merge(&state->volume, &candle->volume_sum);
		tsk_xsum_merge(&state->turnover, &candle->turnover_sum);
	}
	else
	{
		(void) tsk_xsum_add(&state->volume, candle->volume);
		(void) tsk_xsum_add(&state->turnover, turnover);
	}
	return CANDLE_OK;
}

/*
 * tsk_candle_merge
 *	  state += other: the combine step of a parallel aggregate.
 */
void
tsk_candle_merge(candle_state *state, const candle_state *other)
{
	if (other->inputs == 0)
		return;
	if (state->inputs == 0)
	{
		*state = *other;
		return;
	}
	candle_extend(state, &other->open, &other->close, other->high, other->low);
	state->inputs += other->inputs;
	state->trades += other->trades;
	tsk_xsum_merge(&state->volume, &other->volume);
	tsk_xsum_merge(&state->turnover, &other->turnover);
}

/*
 * tsk_candle_result
 *	  Read the finished candle.  Returns false for an empty state (the
 *	  aggregate then returns NULL).  VWAP is undefined when volume is 0.
 */
bool
tsk_candle_result(const candle_state *state, candle_summary *out)
{
	if (state->inputs == 0)
		return false;
	out->open = state->open.price;
	out->high = state->high;
	out->low = state->low;
	out->close = state->close.price;
	out->volume = tsk_xsum_value(&state->volume);
	out->has_vwap = out->volume > 0;
	out->vwap = out->has_vwap ? tsk_xsum_value(&state->turnover) / out->volume : 0.0;
	out->trades = state->trades;
	out->open_time = state->open.ts;
	out->close_time = state->close.ts;
	out->open_seq = state->open.seq;
	out->close_seq = state->close.seq;
	out->has_sums = true;
	out->volume_sum = state->volume;
	out->turnover_sum = state->turnover;
	return true;
}

/*
 * tsk_candle_sums_encode
 *	  The sums field: the canonical forms of the volume and turnover sums,
 *	  one after the other (at most CANDLE_SUMS_MAX bytes); returns the length.
 */
int
tsk_candle_sums_encode(const candle_summary *candle, uint8_t *out)
{
	int			len = tsk_xsum_encode(&candle->volume_sum, out);

	return len + tsk_xsum_encode(&candle->turnover_sum, out + len);
}

/*
 * tsk_candle_sums_decode
 *	  Read a sums field into candle->volume_sum and turnover_sum; false if
 *	  it is not exactly two canonical forms with a volume not below zero.
 */
bool
tsk_candle_sums_decode(const uint8_t *in, int len, candle_summary *candle)
{
	int			a = tsk_xsum_decode(in, len, &candle->volume_sum);
	int			b = a < 0 ? -1 : tsk_xsum_decode(in + a, len - a, &candle->turnover_sum);

	if (a < 0 || b < 0 || a + b != len || tsk_xsum_value(&candle->volume_sum) < 0)
		return false;
	candle->has_sums = true;
	return true;
}
