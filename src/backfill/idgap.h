/*
 * idgap.h
 *	  trade-id gap tracking (triggerstock): for feeds whose trade ids are
 *	  consecutive per market (Binance trade and aggTrade, Coinbase matches,
 *	  Kraken v2), the highest id seen per instrument, and the gaps a jump in
 *	  ids reveals (ids last+1 .. id-1 never arrived: a reconnect without
 *	  overlap, or a silent drop).
 *
 * Pure C, no Postgres headers; the ingest worker (bgworker/ingest_gaps.c)
 * keeps one tracker per connection lifetime of its process.
 *
 * Invariants: an id at or below the highest seen is a replay or an overlap
 * and never a gap; the highest id only grows; a gap's ids are exactly the
 * ids between the two trades around it; lengths are checked (no overflow
 * of the gap list: it reports "full" and keeps the highest id right).
 */
#ifndef TRIGGERSTOCK_IDGAP_H
#define TRIGGERSTOCK_IDGAP_H

#include <stdbool.h>
#include <stdint.h>

typedef struct tsk_idgap
{
	int			instrument;		/* index of the instrument */
	int64_t		first_id;		/* first missing id */
	int64_t		last_id;		/* last missing id */
	int64_t		after_us;		/* time of the trade before the gap */
	int64_t		before_us;		/* time of the trade after it */
} tsk_idgap;

typedef struct tsk_idgap_tracker
{
	int			ninstruments;
	int64_t    *high_id;		/* per instrument, -1 = nothing seen */
	int64_t    *high_us;		/* time of that trade */
	int			ngaps;			/* gaps found, not yet taken */
	int			cap;
	tsk_idgap  *gaps;
	int64_t		dropped;		/* gaps not kept: the list was full */
} tsk_idgap_tracker;

/* A tracker for n instruments with room for cap gaps; false if out of memory. */
bool		tsk_idgap_init(tsk_idgap_tracker *t, int ninstruments, int cap);
void		tsk_idgap_free(tsk_idgap_tracker *t);

/* Set the highest id known for an instrument (from the database). */
void		tsk_idgap_seed(tsk_idgap_tracker *t, int instrument, int64_t id, int64_t ts_us);

/* One trade of instrument; returns true when it revealed a gap (queued). */
bool		tsk_idgap_observe(tsk_idgap_tracker *t, int instrument, int64_t id, int64_t ts_us);

/* Forget the first n queued gaps (they are stored). */
void		tsk_idgap_take(tsk_idgap_tracker *t, int n);

#endif							/* TRIGGERSTOCK_IDGAP_H */
