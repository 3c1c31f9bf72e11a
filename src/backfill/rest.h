/*
 * rest.h
 *	  pure-C core of the REST backfill (triggerstock): the exchanges' history
 *	  endpoints, their answers parsed into trades and candles, the URL of each
 *	  page and the pagination step that turns a page into the rows to store,
 *	  the next cursor, the progress and the end of the job.
 *
 * No PostgreSQL headers: plain C11 + cJSON, shared by the poll worker
 * (bgworker/backfill*.c), the unit test (test/unit/test_backfill.c) and the
 * libFuzzer target (test/fuzz/fuzz_rest.c).  Field reading goes through the
 * WebSocket decoders' helpers (src/ingest/decode.c), so a REST trade and a
 * live trade are read by the same code (same decimal and timestamp rules).
 *
 * Invariants (for every input byte sequence):
 *   - never reads body[len] or beyond; a body with a NUL byte is rejected;
 *   - never writes more than `cap` rows; a page holding more rows than the
 *     job asked for (its limit) is an error, not a truncation;
 *   - every trade returned satisfies decode.h's trade invariants (price
 *     finite > 0, qty finite >= 0, 0 <= ts_us <= TD_MAX_TS_US, id >= 0);
 *     every candle has finite prices > 0 with low <= open, close <= high,
 *     volume finite >= 0, and an open time in range, aligned to its width;
 *   - error strings are NUL-terminated printable ASCII;
 *   - the step never moves a cursor backwards and reports "no progress"
 *     instead of looping on a page it has already seen.
 */
#ifndef TRIGGERSTOCK_REST_H
#define TRIGGERSTOCK_REST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ingest/decode.h"

#define BF_ERROR_MAX 200
#define BF_CURSOR_MAX 96
#define BF_URL_MAX 2048
#define BF_MAX_LIMIT 5000		/* rows per page, any endpoint */
#define BF_CANDLE_US INT64_C(60000000)	/* candles are 1-minute */

/* The history endpoints. */
typedef enum bf_endpoint
{
	BF_BINANCE_AGGTRADES = 0,	/* /api/v3/aggTrades (fapi, dapi: /v1/) */
	BF_BINANCE_TRADES,			/* /api/v3/historicalTrades: trade ids */
	BF_BINANCE_KLINES,			/* /api/v3/klines interval=1m */
	BF_COINBASE_TRADES,			/* /products/{id}/trades, newest first */
	BF_COINBASE_CANDLES,		/* /products/{id}/candles granularity=60 */
	BF_KRAKEN_TRADES,			/* /0/public/Trades */
	BF_KRAKEN_OHLC,				/* /0/public/OHLC interval=1 */
	BF_GENERIC_TRADES,			/* a URL template and a td_generic_map */
	BF_ENDPOINT_COUNT
} bf_endpoint;

/* Binance markets (their REST hosts and path prefixes differ). */
typedef enum bf_market
{
	BF_SPOT = 0,
	BF_USDM,
	BF_COINM
} bf_market;

/* How the generic endpoint pages. */
typedef enum bf_generic_cursor
{
	BF_GCUR_ID = 0,				/* {cursor} = last trade id + 1 */
	BF_GCUR_TIME_MS,			/* {cursor} = last trade time in ms + 1 */
	BF_GCUR_TIME_S,				/* {cursor} = last trade time in s (rows deduped) */
	BF_GCUR_PATH				/* {cursor} = string at next_path in the body */
} bf_generic_cursor;

/* One 1-minute candle from an exchange. */
typedef struct bf_candle
{
	int64_t		open_us;		/* bucket start, µs since the Unix epoch */
	double		open,
				high,
				low,
				close,
				volume;
	double		vwap;			/* NaN when the exchange does not say */
	int64_t		trades;			/* -1 when the exchange does not say */
} bf_candle;

/* What a page held besides its rows. */
typedef struct bf_page
{
	int			n;				/* rows written (trades or candles) */
	bool		rate_limited;	/* the body says "too many requests" (Kraken) */
	bool		has_next;		/* next is set (Kraken last, generic next_path) */
	char		next[BF_CURSOR_MAX];
	char		error[BF_ERROR_MAX];
} bf_page;

/* Generic endpoint configuration (job options). */
typedef struct bf_generic
{
	const char *url;			/* first page: template with {instrument} {from_ms}
								 * {to_ms} {from_s} {to_s} {from_id} {to_id} {limit} */
	const char *next_url;		/* later pages: same, plus {cursor}; NULL = url */
	bf_generic_cursor cursor;
	const char *next_path;		/* BF_GCUR_PATH: dotted path in the body */
	td_generic_map map;			/* instrument_const is set by the caller */
} bf_generic;

/* A backfill job, as the pagination needs it. */
typedef struct bf_job
{
	bf_endpoint ep;
	bf_market	market;
	const char *base_url;		/* scheme://host[:port][/prefix], no trailing '/' */
	const char *instrument;		/* the exchange's name: BTCUSDT, BTC-USD, XBTUSDT */
	bool		has_range;		/* [from_us, to_us): the time range to store */
	int64_t		from_us,
				to_us;
	bool		has_ids;		/* [from_id, to_id]: the ids to store (gap repair);
								 * from_us, if has_range, only seeks */
	int64_t		from_id,
				to_id;
	int			limit;			/* rows asked per page */
	const bf_generic *generic;	/* BF_GENERIC_TRADES only */
} bf_job;

/* Cursor: where the next page starts. */
typedef enum bf_cursor_mode
{
	BF_CUR_START = 0,			/* no page fetched yet */
	BF_CUR_WINDOW,				/* time window starting at value (µs) */
	BF_CUR_ID,					/* next id to fetch (ascending) or, for
								 * Coinbase, the "after" id (descending) */
	BF_CUR_TIME,				/* next candle/trade time (µs) */
	BF_CUR_TOKEN,				/* opaque exchange cursor in token */
	BF_CUR_DONE
} bf_cursor_mode;

typedef struct bf_cursor
{
	bf_cursor_mode mode;
	int64_t		value;
	int64_t		last_us;		/* time of the last row stored (order check), or -1 */
	int64_t		last_id;		/* id of the last row stored, or -1 */
	char		token[BF_CURSOR_MAX];
} bf_cursor;

/* What one page does to the job. */
typedef struct bf_step_result
{
	int			nkeep;			/* rows kept, moved to the front of the array */
	bf_cursor	next;			/* the cursor after this page */
	bool		done;			/* the job is complete */
	bool		no_progress;	/* the page moved nothing: retry, then fail */
	double		progress;		/* fraction of the range (or ids) covered, 0..1 */
	char		error[BF_ERROR_MAX];	/* fatal: the job fails with it */
} bf_step_result;

/* Names: "binance_aggtrades", ... ; from_name returns 0 or -1. */
const char *tsk_bf_endpoint_name(bf_endpoint ep);
int			tsk_bf_endpoint_from_name(const char *name, bf_endpoint *ep);
bool		tsk_bf_endpoint_candles(bf_endpoint ep);
int			tsk_bf_market_from_name(const char *name, bf_market *m);
/* Default REST base of an endpoint's exchange and market. */
const char *tsk_bf_default_base(bf_endpoint ep, bf_market m);
/* Largest page the exchange serves (the default limit). */
int			tsk_bf_max_limit(bf_endpoint ep, bf_market m);

/*
 * Check a job once when it is loaded; 0, or -1 with a message in err.
 */
int			tsk_bf_job_check(const bf_job *job, char *err, size_t errsz);

/*
 * Parse the answer to the page at cursor cur.  Trades go to trades[0..cap)
 * (trade endpoints), candles to candles[0..cap) (candle endpoints); the
 * other may be NULL.  Returns 0 with page->n rows, or -1 with page->error
 * (page->rate_limited set when the body is a rate-limit answer).  A page
 * of more than cap rows is an error.  Trades carry the job's instrument.
 * Binance historicalTrades jobs start with one aggTrades page (the trade id
 * at the start time): its trades carry the aggregate's first trade id.
 */
int			tsk_bf_parse(const bf_job *job, const bf_cursor *cur, const char *body, size_t len,
						 td_trade *trades, bf_candle *candles, int cap, bf_page *page);

/* Whether the page at cur is the aggTrades page that seeks a trade id. */
bool		tsk_bf_seeking(const bf_job *job, const bf_cursor *cur);

/*
 * The URL of the page at cursor cur (snprintf-like: returns the length
 * needed, -1 if the cursor is DONE or a value cannot be encoded).
 */
int			tsk_bf_page_url(const bf_job *job, const bf_cursor *cur, char *out, size_t outsz);

/*
 * Apply a parsed page: filter the rows to the job's range (kept rows are
 * compacted to the front, in id or time order as stored), check the order
 * (times never go backwards; a page never holds more than job->limit rows),
 * compute the next cursor, the progress and whether the job is done.
 * now_us is the current time (candles not yet closed are not stored).
 */
void		tsk_bf_step(const bf_job *job, const bf_cursor *cur, const bf_page *page,
						td_trade *trades, bf_candle *candles, int64_t now_us,
						bf_step_result *res);

/*
 * A job's options (triggerstock.backfills.options, JSON text): the numbers
 * and, for the generic endpoint, the URL templates, cursor kind and field
 * map (the strings point into the parsed tree, which o owns).
 */
typedef struct bf_options
{
	void	   *tree;			/* cJSON, freed by tsk_bf_options_free */
	int			limit;			/* 0: the endpoint's largest page */
	int			min_interval_ms;	/* -1: the exchange's default pace */
	int			max_errors;		/* transient errors in a row before failing */
	int			max_pages;		/* 0: unbounded */
	bf_generic	generic;
} bf_options;

/* Parse options JSON; 0, or -1 with a message (o is then empty). */
int			tsk_bf_options_load(const char *json, bf_options *o, char *err, size_t errsz);
void		tsk_bf_options_free(bf_options *o);
/* Default pause between two requests to one host (ms). */
int			tsk_bf_default_interval_ms(bf_endpoint ep);

/* Cursor text (stored in triggerstock.backfills.cursor) and back. */
int			tsk_bf_cursor_format(const bf_cursor *cur, char *out, size_t outsz);
int			tsk_bf_cursor_parse(const char *text, bf_cursor *cur);

#endif							/* TRIGGERSTOCK_REST_H */
