/*
 * backfill.h
 *	  REST backfill jobs inside the poll worker: bgworker/backfill.c
 *	  schedules them (pages, pacing per host, rate limits, retries) over the
 *	  poll worker's libcurl multi handle (poll.c), bgworker/backfill_store.c
 *	  reads the queue and stores each page with its cursor (SPI).  The
 *	  exchange logic is the pure-C core in src/backfill/rest*.c.
 *
 * Invariants:
 *	- at most one request per job and per REST host is in flight; the next
 *	  request to a host waits for its pace, its Retry-After and its Binance
 *	  weight budget; the next page of a job is asked for while the page
 *	  before it is stored, and its answer dropped if that store failed;
 *	- the rows of a few pages (up to BACKFILL_BATCH_ROWS, or a second's
 *	  worth) are stored in one transaction with the job's cursor, rows,
 *	  pages and progress; the fetch cursor runs ahead of the committed one
 *	  and falls back to it when a store fails, so a crash or a restart
 *	  resumes from the committed cursor and nothing is lost or doubled;
 *	- a job whose row is no longer queued or running (cancelled, deleted)
 *	  stores nothing more: the store locks the row and checks its state;
 *	- nothing here runs inside a curl callback.
 */
#ifndef TRIGGERSTOCK_BACKFILL_H
#define TRIGGERSTOCK_BACKFILL_H

#include "postgres.h"

#include "datatype/timestamp.h"
#include "nodes/pg_list.h"

#include "backfill/rest.h"

/* One job as the worker keeps it (palloc'd in the jobs context). */
typedef struct backfill_job
{
	int64		id;
	char	   *exchange;		/* backfills.exchange */
	char	   *trade_exchange; /* trades.exchange of the rows stored */
	char	   *market;			/* trades.market of the rows stored (backfills.market) */
	char	   *instrument;
	char	   *symbol;
	char	   *endpoint;
	char	   *host;			/* pacing key: scheme://host[:port] */
	bool		running;		/* state is 'running' (not 'queued') */
	int32		source;			/* gap repair: the source, else 0 */
	bf_job		job;
	bf_options	opts;			/* owns the generic strings (malloc'd tree) */
	bf_cursor	cur;			/* committed cursor */
	char	   *check_error;	/* the job cannot run: fail it with this */
	/* runtime state, kept across reloads */
	bool		in_flight;
	bf_cursor	req_cur;		/* the cursor of the request in flight */
	TimestampTz next_due;
	int			errors_in_row;
	int			stalled_pages;	/* pages whose times did not advance */
	int64		pages;			/* pages committed */
	/* pages fetched, not yet stored: their rows (malloc'd), the step of the
	 * last one (cursor, progress, done); cur runs ahead of the table's */
	bf_cursor	committed;		/* the cursor in the table */
	td_trade   *buf_trades;
	bf_candle  *buf_candles;
	int			buf_n,
				buf_cap,
				buf_pages;
	bf_step_result buf_step;
	TimestampTz buf_since;		/* when its first page arrived */
} backfill_job;

/* What a completed transfer brought (poll.c fills it). */
typedef struct backfill_response
{
	long		status;			/* HTTP status, 0 if none */
	const char *error;			/* transfer error (palloc'd text) or NULL */
	bool		final;			/* retrying cannot cure it (destination not
								 * allowed, redirect refused): fail the job */
	bool		too_large;		/* body over triggerstock.poll_max_body */
	const char *body;
	size_t		len;
	const char *retry_after;	/* header values, "" if absent */
	const char *used_weight;
} backfill_response;

/* ---- backfill.c (called by the poll worker's loop) ---- */

/* Re-read the queue (after a relcache invalidation). */
extern void tsk_backfill_reload(MemoryContext parent);

/*
 * How the poll worker starts a GET of url for job id (false, err set:
 * refused; *final if retrying cannot help, e.g. a host not allowed).
 */
typedef bool (*backfill_fetch_fn) (int64 id, const char *url, char *err, size_t errsz, bool *final);

/*
 * Start the requests that are due through fetch; returns ms until the next
 * one (<= 1000).
 */
extern long tsk_backfill_tick(TimestampTz now, backfill_fetch_fn fetch);

/* A transfer of job id completed (curl has returned). */
extern void tsk_backfill_finish(int64 id, const backfill_response *resp);

/* SIGTERM: store the pages fetched but not stored yet. */
extern void tsk_backfill_shutdown(void);

/* ---- backfill_store.c ---- */

/* The active jobs (queued, running) in id order, as backfill_job * in cxt. */
extern List *tsk_backfill_load_jobs(MemoryContext cxt);

/* What a batch of pages does to its job. */
typedef struct backfill_page
{
	backfill_job *bj;
	const td_trade *trades;		/* kind trades: rows to store */
	const bf_candle *candles;	/* kind candles */
	int			n;
	int			pages;			/* pages they came in */
	const bf_step_result *step; /* the last page's: next cursor, progress, done */
	int64		stored;			/* out: rows new or written */
	bool		cancelled;		/* out: the job is no longer active */
} backfill_page;

/* Store pages and advance the job; NULL or the error (nothing stored). */
extern char *tsk_backfill_store_page(backfill_page *page);

/* Record an error: transient (counted) or final (state failed). */
extern void tsk_backfill_record_error(backfill_job *bj, const char *error, bool final);

/* Build the bf_job of a row (also used by backfill_check()). */
extern void tsk_backfill_build_job(backfill_job *bj, const char *market, const char *base_url,
								   bool has_range, TimestampTz from, TimestampTz to,
								   bool has_ids, int64 from_id, int64 to_id, const char *options);

#endif							/* TRIGGERSTOCK_BACKFILL_H */
