/*
 * ohlcv.h
 *	  The composite type ohlcv from C: building a candle datum from a
 *	  finished candle_summary (ohlcv.c), for the aggregates' final function
 *	  and for the ingest worker, which aggregates a flush's trades in C.
 *
 * Invariant: the attribute order is the type's (candles.sql): open, high,
 * low, close, volume, vwap, trades, open_time, close_time, open_seq,
 * close_seq, sums; tsk_ohlcv_tupdesc_check() rejects any other shape.
 */
#ifndef TRIGGERSTOCK_OHLCV_H
#define TRIGGERSTOCK_OHLCV_H

#include "postgres.h"

#include "access/tupdesc.h"

#include "candles/candle.h"

/* A candle as an ohlcv datum; tupdesc is the type's, blessed. */
extern Datum tsk_ohlcv_datum(TupleDesc tupdesc, const candle_summary *candle);

/* ERROR unless tupdesc has ohlcv's attributes (an updated extension). */
extern void tsk_ohlcv_tupdesc_check(TupleDesc tupdesc);

#endif							/* TRIGGERSTOCK_OHLCV_H */
