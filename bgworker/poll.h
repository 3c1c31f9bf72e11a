/*
 * poll.h
 *	  The poll worker (kind 'poll', id 0): fetches RSS/Atom feeds and JSON
 *	  quote endpoints over HTTP with libcurl's multi interface.  Shared by
 *	  bgworker/poll.c (loop, curl, waiting) and bgworker/poll_store.c (SPI).
 *
 * Invariants: targets are palloc'd in the worker's poll context and re-read
 * from triggerstock.feeds / triggerstock.quote_sources in a short transaction
 * after a relcache invalidation; the store functions each run in their own
 * short transaction and never while a network wait is pending; they return
 * an error message (palloc'd) instead of raising, so the worker carries on.
 */
#ifndef TRIGGERSTOCK_POLL_H
#define TRIGGERSTOCK_POLL_H

#include "postgres.h"

#include "datatype/timestamp.h"
#include "nodes/pg_list.h"

#include "sentiment/sentiment_api.h"

typedef enum poll_kind
{
	POLL_FEED,
	POLL_QUOTE,
	POLL_BACKFILL				/* a page of a backfill job (backfill.h) */
} poll_kind;

typedef struct poll_target
{
	poll_kind	kind;
	int32		id;
	char	   *url;
	int64		interval_ms;
	TimestampTz last_polled;	/* 0 if never */
	/* feeds */
	char	   *etag;
	char	   *last_modified;
	/* quotes: dotted JSON paths, timestamp unit in microseconds */
	char	   *symbol;
	char	   *price_path;
	char	   *ts_path;		/* NULL: time of receipt */
	char	   *qty_path;		/* NULL: qty 0 */
	int64		ts_unit_us;
	bool		has_last;
	double		last_price;
	TimestampTz last_ts;
	/* scheduling (kept across reloads by (kind, id)) */
	TimestampTz next_due;
	bool		in_flight;
	bool		late;			/* waited for a free transfer slot; recorded */
} poll_target;

/* GUCs (defined in poll.c). */


/* Read the enabled targets into a List of poll_target * in cxt. */
extern List *tsk_poll_load_targets(MemoryContext cxt);

/*
 * Store a feed body: parse it and insert the new items, then record the
 * poll on the feed row (status, etag, last_modified).  With
 * triggerstock.sentiment_url set, the new items are first listed in a
 * short transaction and scored through the endpoint with no transaction
 * open (blocking, bounded by a few sentiment timeouts); items it did not
 * score get the lexicon.  Returns NULL on success (*inserted set) or the
 * error, recorded on the feed row instead.
 */
extern char *tsk_poll_store_feed(poll_target *t, const char *body, size_t len, long status,
							 const char *etag, const char *last_modified, int64 *inserted);

/* Record a poll that stored nothing (304, or an error when error != NULL). */
extern void tsk_poll_record_status(poll_target *t, long status, const char *error);

/*
 * Store a quote if its price or timestamp changed; returns NULL on success
 * (*stored set) or the error, recorded on the source row instead.
 */
extern char *tsk_poll_store_quote(poll_target *t, const char *body, size_t len, long status,
							  bool *stored);

#endif							/* TRIGGERSTOCK_POLL_H */
