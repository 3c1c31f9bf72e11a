/*
 * complete.h
 *	  When a bucket is complete: the extension's one rule, used by train(),
 *	  predict(), the predictor worker and the online features (complete.c;
 *	  in SQL: watermark(symbol) and last_complete_bucket(symbol, width)).
 *
 * The watermark of a symbol is the close_time (time of the last trade) of
 * its newest 1-minute candle, capped at the transaction's now(): the newest
 * time for which its data is known.  A bucket [b, b + width) is complete
 * when b + width <= watermark.  Data decides, not the clock: the newest
 * candle becomes complete only once data after its end is stored, and
 * historical candles are judged the same way as live ones.  (The newest
 * trade's time equals that close_time: the ingest flush merges trades into
 * their candles in the same transaction.)  Buckets of every width are
 * aligned to the Unix epoch, as candles(width) and features() align them.
 */
#ifndef TRIGGERSTOCK_CANDLES_COMPLETE_H
#define TRIGGERSTOCK_CANDLES_COMPLETE_H

#include "postgres.h"

#include "datatype/timestamp.h"

/* What the completeness rule says about a (symbol, width). */
typedef struct candle_completeness
{
	bool		has_watermark;	/* false: the symbol has no candle */
	TimestampTz watermark;
	bool		has_bucket;		/* false: no bucket of this width is complete */
	TimestampTz bucket;			/* start of the newest complete bucket holding a candle */
	/* the last 1-minute candle of that bucket (a signature of its data) */
	TimestampTz last_candle;
	double		last_close;
	double		last_volume;
	int64		last_trades;
} candle_completeness;

/*
 * Apply the rule for symbol at width (a positive whole number of minutes,
 * else ERROR).  Runs two index probes of triggerstock.candles through SPI
 * (connects and finishes SPI itself; callable with or without SPI
 * connected), in the caller's snapshot.  Needs only the table, so it also
 * works for a 0.1 database served by this library before its update.
 */
extern void tsk_candle_completeness(const char *symbol, const Interval *width, candle_completeness *out);

/* ERROR unless width is a positive whole number of minutes without months. */
extern void tsk_candle_check_width(const Interval *width);

#endif							/* TRIGGERSTOCK_CANDLES_COMPLETE_H */
