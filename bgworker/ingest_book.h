/*
 * ingest_book.h
 *	  Order books in the ingest worker (issue 17): one tb_sync (pure C,
 *	  src/ingest/book_sync.h) per configured instrument of a source whose
 *	  options say "book": true.
 *
 * Files:
 *	ingest_book.c		the books: options, book frames, sync actions (REST
 *						snapshots, resubscriptions, dead letters), sampling
 *	ingest_book_store.c	its SQL: options, and the flush of samples, book
 *						states and book dead letters in one short transaction
 *	ingest_book_http.c	a small non-blocking HTTP GET (curl multi) for the
 *						Binance REST depth snapshot
 *
 * Invariants (the trade path's rules):
 *	- no transaction is open while the worker waits on the network: the
 *	  REST fetch runs in curl's multi interface, polled between waits, and
 *	  every SQL statement runs in tsk_ingest_book_flush's short transaction;
 *	- memory is bounded: each book holds at most book_max_levels levels a
 *	  side (levels beyond are evicted or refused and reported as dead
 *	  letters), a Binance book buffers at most INGEST_BOOK_BUFFER changes
 *	  while waiting for its snapshot, and at most INGEST_BOOK_MAX_ROWS
 *	  samples wait for a flush (older ones are dropped with a WARNING and
 *	  counted, never silently);
 *	- nothing is dropped silently: a book frame that cannot be used becomes
 *	  a dead letter, and a book that may have missed an update is rebuilt;
 *	- curl callbacks never palloc, ereport or touch SQL; the rows and dead
 *	  letters live in malloc'd memory until their transaction commits;
 *	- on SIGTERM the worker flushes what it holds (tsk_ingest_book_flush).
 */
#ifndef TRIGGERSTOCK_INGEST_BOOK_H
#define TRIGGERSTOCK_INGEST_BOOK_H

#include "bgworker/ingest.h"
#include "ingest/book_sync.h"

#define INGEST_BOOK_BUFFER 200000		/* Binance changes buffered per book */
#define INGEST_BOOK_MAX_ROWS 100000		/* samples waiting for a flush */
#define INGEST_BOOK_MAX_DEAD 1024		/* book dead letters waiting */
#define INGEST_BOOK_MAX_LEVELS 100		/* book_levels upper bound */
#define INGEST_BOOK_REST_MAX 4			/* REST snapshots in flight */
#define INGEST_BOOK_REST_BODY (64 * 1024 * 1024)	/* largest REST body */

/* The book options of a source (sources.options). */
typedef struct ingest_book_options
{
	bool		enabled;		/* "book" */
	bool		trades;			/* "trades" (default true) */
	int			levels;			/* "book_levels" */
	int			interval_ms;	/* "book_interval_ms" */
	int			max_levels;		/* "book_max_levels" */
	int			depth;			/* "book_depth" (Kraken) */
	int			rest_limit;		/* "book_rest_limit" (Binance) */
	char		rest_url[1024]; /* "book_rest_url" (Binance), "" = from the stream host */
} ingest_book_options;

/* ---- ingest_book.c ---- */

/* Read the source's book options and (re)build its books; true if the
 * subscription changed (the caller reconnects). */
extern bool tsk_ingest_book_configure(const ingest_config *cfg);
extern bool tsk_ingest_book_enabled(void);
/* False for a depth-only source: no trade subscription. */
extern bool tsk_ingest_book_trades(void);
/* Handle a frame if it is a book frame; false = not one (trade path). */
extern bool tsk_ingest_book_frame(const char *data, size_t len, TimestampTz received);
/* The connection (re)started or ended: every book starts over. */
extern void tsk_ingest_book_connection(void);
/* Sends one text message on the open connection; false if none. */
typedef bool (*ingest_book_send_fn) (const char *text);

/* Sampling, REST snapshots, resubscriptions (through send), due flushes. */
extern void tsk_ingest_book_tick(TimestampTz now, ingest_book_send_fn send);
/* Milliseconds until tsk_ingest_book_tick has something to do. */
extern long tsk_ingest_book_timeout(TimestampTz now);
/* Subscribe message of the books (Binance SUBSCRIBE, Kraken, Coinbase).
 * Returns the length, -1 on failure, 0 when books are off. */
extern int	tsk_ingest_book_subscribe(const ingest_config *cfg, char *out, size_t outsz);
/* Flush samples, states and dead letters now (SIGTERM, leaving hours),
 * cancelled after timeout_ms if > 0; false if the transaction failed (the
 * data is kept; the worker exits if the extension was dropped). */
extern bool tsk_ingest_book_flush_now(int timeout_ms);

/* What ingest_book_store.c needs from ingest_book.c. */
typedef struct ingest_book_row
{
	const char *instrument;		/* inside the row's block (px) */
	const char *symbol;
	TimestampTz ts;
	int64		event_us;		/* -1: none */
	int			nbid,
				nask;
	double	   *px;				/* nbid bid prices, then nask ask prices; one
								 * malloc'd block with qty and the names */
	double	   *qty;			/* the same for quantities */
	int64		updates;
	double		ofi;
	int64		resyncs;
} ingest_book_row;

typedef struct ingest_book_state
{
	const char *instrument;
	const char *symbol;
	const tb_sync *sync;
	TimestampTz state_since;
	int64		requests;		/* snapshots requested / resubscriptions */
	int64		samples;
} ingest_book_state;

/* ---- ingest_book_store.c ---- */

extern bool tsk_ingest_book_load_options(int32 source, ingest_book_options *opt);
extern ErrorData *tsk_ingest_book_store(const ingest_config *cfg, const ingest_book_row *rows, int nrows,
										const ingest_book_state *books, int nbooks,
										const ingest_dead_letter *dead, int ndead, bool prune,
										int timeout_ms);
extern void tsk_ingest_book_store_reset(void);

/* ---- ingest_book_http.c ---- */

typedef struct ingest_http_result
{
	int			key;			/* the caller's key given to start */
	long		status;			/* HTTP status, 0 if none */
	char	   *body;			/* malloc'd, NUL-terminated; caller frees */
	size_t		len;
	char		error[256];		/* "" on success */
} ingest_http_result;

extern bool tsk_ingest_http_start(int key, const char *url, char *err, size_t errsz);
extern int	tsk_ingest_http_poll(ingest_http_result *done, int max);
extern int	tsk_ingest_http_active(void);
extern void tsk_ingest_http_cancel_all(void);
extern void tsk_ingest_book_rest_url(const char *base, const char *stream_url, const char *instrument,
									 int limit, char *url, size_t urlsz);

#endif							/* TRIGGERSTOCK_INGEST_BOOK_H */
