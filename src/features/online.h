/*
 * online.h
 *	  Online feature state: the feature rows of served (symbol, width) pairs,
 *	  maintained as candles close (src/features/online*.c).
 *
 * Where the state lives (README "Serving"): in three tables of schema
 * triggerstock, so it survives restarts and crashes (WAL), is shared by
 * every backend and worker, and is written under row locks:
 *	  feature_state        one row per served (symbol, width): the stream
 *	                       state after its last folded bucket (bytea);
 *	  feature_rows         the feature row of each folded bucket (the last
 *	                       triggerstock.feature_rows_keep of them), read by
 *	                       predict() with one index probe;
 *	  feature_checkpoints  the stream state at every hour boundary, from
 *	                       which a change to history is refolded exactly.
 *
 * Invariants:
 *	- every change of a served pair's state happens with its feature_state
 *	  row locked FOR UPDATE, in the transaction that changed the candles
 *	  (statement trigger on triggerstock.candles), so the state always
 *	  matches the committed candles and two writers never interleave;
 *	- a bucket is folded once it is complete: bucket + width <= the
 *	  symbol's watermark (close_time of its newest 1-minute candle);
 *	- a change to a folded bucket refolds from the newest checkpoint before
 *	  it, exactly (the same arithmetic from the same state), never from an
 *	  approximate warm-up.
 */
#ifndef TRIGGERSTOCK_ONLINE_H
#define TRIGGERSTOCK_ONLINE_H

#include "postgres.h"

#include "datatype/timestamp.h"
#include "utils/timestamp.h"

#include "features/feature_stream.h"

/* Columns of a stored feature row after bucket: close and the candle
 * features (ONLINE_NSTREAM, from the feature stream), then those computed
 * in SQL when the row is written: sentiment_1h, news_1h and the order-book
 * columns (book_spread ... book_updates, from book_features()). */
#define ONLINE_NSTREAM (1 + FS_NFEATURES)
#define ONLINE_NBOOK 7
#define ONLINE_NCOLUMNS (ONLINE_NSTREAM + 2 + ONLINE_NBOOK)

/* Name of column i of a feature row (0: close ... last: book_updates). */
extern const char *tsk_online_column_name(int i);

/*
 * Bring the state of (symbol, width) up to date with the candles: lock its
 * feature_state row (no-op when the pair is not served), refold from the
 * newest checkpoint before changed_from when changed_from (a 1-minute
 * bucket, DT_NOEND for none) is at or before the last folded bucket, then
 * fold every complete bucket after the last folded one.  Inside SPI.
 * Returns the number of buckets folded.
 */
extern int64 tsk_online_update(const char *symbol, int64 width_usecs, TimestampTz changed_from);

/* Build (or rebuild from scratch) the state of a served pair.  Inside SPI;
 * the feature_state row exists. */
extern int64 tsk_online_build(const char *symbol, int64 width_usecs);

/* Width of an interval in microseconds (whole minutes, no months), or
 * ERROR. */
extern int64 tsk_online_width_usecs(const Interval *width);

/* The width as the feature tables store it (a justified interval). */
extern Datum tsk_online_width_datum(int64 usecs);

/* Whether (symbol, width) is served, from the per-backend cache of
 * feature_state's pairs (invalidated by serve/unserve at commit). */
extern bool tsk_online_served(const char *symbol, int64 width_usecs);

/* Whether any width of symbol is served; its widths into *widths (palloc'd,
 * caller frees) and their number into *n. */
extern bool tsk_online_symbol_widths(const char *symbol, int64 **widths, int *n);

/*
 * The latest stored feature row of (symbol, width): its bucket and the
 * ONLINE_NCOLUMNS values (NaN for NULL).  False when the pair is not served
 * or has no row yet.  Needs no SPI (*spi is left as it is).
 */
extern bool tsk_online_latest_row(const char *symbol, const Interval *width,
								  TimestampTz *bucket, double *values, bool *spi);

#endif							/* TRIGGERSTOCK_ONLINE_H */
