/*
 * candle.h
 *	  OHLCV candle state: one candle from trades, or from finer candles
 *	  (pure C, no Postgres headers).
 *
 * The same state serves the ohlcv() and rollup() aggregates, their parallel
 * combine step, and the ingest worker.  Its result never depends on the order
 * in which inputs arrive:
 *	- open/close are the inputs with the smallest/largest point, where points
 *	  are ordered by (ts, seq, price, qty), so even exact (ts, seq) ties are
 *	  broken the same way every time;
 *	- high/low/trades are order-free by nature;
 *	- volume and turnover (sum of price * qty) are exact sums (exactsum.h),
 *	  rounded once when the result is read.
 * A finished candle carries what it needs to be merged exactly: the (ts,
 * seq) of its open and close trades and its exact sums.  Adding finished
 * candles (rollup) therefore gives the candle of all their trades, every
 * field identical to the last bit, however the trades were split; only a
 * candle without sums (made elsewhere) falls back to volume and vwap * volume.
 * Timestamps are microseconds since 2000-01-01 (Postgres TimestampTz); the
 * caller rejects infinite ones before they get here.
 */
#ifndef TRIGGERSTOCK_CANDLE_H
#define TRIGGERSTOCK_CANDLE_H

#include <stdbool.h>
#include <stdint.h>

#include "candles/exactsum.h"

/* One ordering point: when an input happened and what it traded at. */
typedef struct candle_point
{
	int64_t		ts;
	int64_t		seq;			/* trade id; 0 when unknown */
	double		price;
	double		qty;
} candle_point;

/* Aggregation state; plain data, safe to copy byte for byte. */
typedef struct candle_state
{
	int64_t		inputs;			/* rows folded in; 0 means empty */
	int64_t		trades;			/* trades represented */
	double		high;
	double		low;
	candle_point open;
	candle_point close;
	xsum		volume;			/* exact sum of qty */
	xsum		turnover;		/* exact sum of price * qty */
} candle_state;

/* A finished candle (also the input row of a rollup). */
typedef struct candle_summary
{
	double		open;
	double		high;
	double		low;
	double		close;
	double		volume;
	double		vwap;			/* valid only if has_vwap */
	bool		has_vwap;		/* false when volume is 0 */
	int64_t		trades;
	int64_t		open_time;
	int64_t		close_time;
	int64_t		open_seq;		/* seq of the open trade (0 when unknown) */
	int64_t		close_seq;		/* seq of the close trade */
	bool		has_sums;		/* volume_sum and turnover_sum are valid */
	xsum		volume_sum;		/* exact sum of qty */
	xsum		turnover_sum;	/* exact sum of price * qty */
} candle_summary;

/*
 * The add functions leave the state unchanged unless they return CANDLE_OK;
 * on an error they store the value they rejected in *rejected.
 */
typedef enum candle_error
{
	CANDLE_OK = 0,
	CANDLE_BAD_PRICE,			/* NaN or infinite price */
	CANDLE_BAD_QTY,				/* NaN, infinite or negative quantity */
	CANDLE_OUT_OF_RANGE,		/* magnitude beyond the exact sums' range */
	CANDLE_BAD_SUMS				/* sums that do not give the volume and vwap */
} candle_error;

extern void tsk_candle_init(candle_state *state);
extern candle_error tsk_candle_add_trade(candle_state *state, int64_t ts, int64_t seq,
									 double price, double qty, double *rejected);
extern candle_error tsk_candle_add_candle(candle_state *state, const candle_summary *candle,
									  double *rejected);
extern void tsk_candle_merge(candle_state *state, const candle_state *other);
extern bool tsk_candle_result(const candle_state *state, candle_summary *out);

/* The sums field of a candle: both exact sums in canonical byte form. */
#define CANDLE_SUMS_MAX (2 * XSUM_ENCODED_MAX)
extern int	tsk_candle_sums_encode(const candle_summary *candle, uint8_t *out);
extern bool tsk_candle_sums_decode(const uint8_t *in, int len, candle_summary *candle);

#endif							/* TRIGGERSTOCK_CANDLE_H */
