/*
 * rest_step.c
 *	  the pagination step of the REST backfill (triggerstock; see rest.h and
 *	  rest_plan.c): apply one parsed page to a job.
 *
 * Three shapes:
 *   ascending trades   Binance aggTrades / historicalTrades, Kraken, generic:
 *                      ids (or, without native ids, times) increase; rows at
 *                      or behind the cursor were seen before and are skipped;
 *   descending trades  Coinbase: ids decrease from "after";
 *   candles            Binance klines, Coinbase candles (sorted here), Kraken
 *                      OHLC: one per minute; minutes without trades and
 *                      minutes not yet closed are not stored.
 *
 * Invariants: kept rows are compacted to the front of the caller's array in
 * the order they are stored; the cursor after a page is never behind the
 * one before; times that go backwards within the order are fatal (a hostile
 * or broken server); a page that moves nothing is "no progress", which the
 * worker retries a few times before it fails the job.
 */
#include "backfill/rest.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BF_HOUR_US INT64_C(3600000000)

/*
 * bf_progress
 *	  Fraction of [lo, hi] covered at x, clamped to 0..1.
 */
static double
bf_progress(double x, double lo, double hi)
{
	double		f = hi > lo ? (x - lo) / (hi - lo) : 1.0;

	return f < 0 ? 0 : f > 1 ? 1 : f;
}

static void bf_step_err(bf_step_result *res, const char *fmt,...) __attribute__((format(printf, 2, 3)));

/*
 * bf_step_err
 *	  A fatal step error: nothing is kept.
 */
static void
bf_step_err(bf_step_result *res, const char *fmt,...)
{
	va_list		ap;

	va_start(ap, fmt);
	vsnprintf(res->error, sizeof(res->error), fmt, ap);
	va_end(ap);
	res->nkeep = 0;
	res->done = false;
}

/*
 * bf_ceil_minute
 *	  The first whole minute at or after t (µs, t >= 0).
 */
static int64_t
bf_ceil_minute(int64_t t)
	{
	return (t + BF_CANDLE_US - 1) / BF_CANDLE_US * BF_CANDLE_US;
}

/*
 * bf_next_window
 *	  Binance: the window after the one starting at w (whole ms, one hour).
 */
static void
bf_next_window(const bf_job *job, int64_t w, bf_step_result *res)
	{
	res->next.mode = BF_CUR_WINDOW;
	res->next.value = w / 1000 * 1000 + BF_HOUR_US;
	res->done = res->next.value >= job->to_us;
	res->progress = bf_progress((double) res->next.value, (double) job->from_us, (double) job->to_us);
}

/*
 * bf_step_seek
 *	  Binance historicalTrades: the aggTrades page that finds the first
 *	  trade id at the window's start (trade_id holds the aggregate's "f").
 */
static void
bf_step_seek(const bf_job *job, const bf_cursor *cur, const bf_page *page, const td_trade *t,
			 bf_step_result *res)
{
	int64_t		w = cur->mode == BF_CUR_START ? job->from_us : cur->value;

	if (page->n == 0)
		bf_next_window(job, w, res);
	else if (t[0].ts_us >= job->to_us)
		res->done = true;
	else
	{
		res->next.mode = BF_CUR_ID;
		res->next.value = t[0].trade_id;
		res->progress = bf_progress((double) t[0].ts_us, (double) job->from_us, (double) job->to_us);
	}
}

/*
 * bf_step_ascending
 *	  Trades in increasing id (or time) order.
 */
static void
bf_step_ascending(const bf_job *job, const bf_cursor *cur, const bf_page *page, td_trade *t,
				  bf_step_result *res)
{
	int64_t		last_us = cur->last_us,
				last_id = cur->last_id;
	bool		fresh = false;
	bool		window = job->ep == BF_BINANCE_AGGTRADES && !job->has_ids &&
		(cur->mode == BF_CUR_START || cur->mode == BF_CUR_WINDOW);
	const bf_generic *g = job->generic;

	for (int i = 0; i < page->n && !res->done; i++)
	{
		bool		native = !t[i].id_derived && (job->ep != BF_GENERIC_TRADES ||
												  (g->map.trade_id && g->map.trade_id[0]));

		if (native && i > 0 && !t[i - 1].id_derived && t[i].trade_id <= t[i - 1].trade_id)
		{
			bf_step_err(res, "trade ids do not increase: row %d has id %lld after %lld", i,
						(long long) t[i].trade_id, (long long) t[i - 1].trade_id);
			return;
		}
		if (native ? (cur->last_id >= 0 && t[i].trade_id <= cur->last_id)
			: (t[i].ts_us <= cur->last_us))
		{
			if (!native && t[i].ts_us == cur->last_us)
				t[res->nkeep++] = t[i];	/* same instant: the store dedupes */
			continue;			/* seen before (a repeated page) */
		}
		if (last_us >= 0 && t[i].ts_us < last_us)
		{
			bf_step_err(res, "trade times go backwards: id %lld at %lld us is before %lld us",
						(long long) t[i].trade_id, (long long) t[i].ts_us, (long long) last_us);
			return;
		}
		fresh = true;
		last_us = t[i].ts_us;
		if (native)
			last_id = t[i].trade_id;
		if (job->has_ids ? t[i].trade_id > job->to_id : t[i].ts_us >= job->to_us)
		{
			res->done = true;	/* past the end: not stored */
			break;
		}
		if (job->has_ids ? t[i].trade_id < job->from_id : t[i].ts_us < job->from_us)
			continue;
		t[res->nkeep++] = t[i];
	}
	res->next.last_us = last_us;
	res->next.last_id = last_id;
	if (job->has_ids && last_id >= job->to_id)
		res->done = true;
	if (!res->done && page->n == 0)
	{
		if (window)
		{
			bf_next_window(job, cur->mode == BF_CUR_START ? job->from_us : cur->value, res);
			return;
		}
		if (job->has_ids)
			res->no_progress = true;	/* the ids exist: try again */
		else
			res->done = true;	/* caught up with the present */
	}
	else if (!res->done && !fresh)
	{
		/* Kraken's "since" may include the last trade seen: caught up */
		if (job->ep == BF_KRAKEN_TRADES && !job->has_ids && page->has_next &&
			(page->n < job->limit || strcmp(page->next, cur->token) == 0))
			res->done = true;
		else
			res->no_progress = true;
	}
	if (fresh)
	{
		switch (job->ep)
	{
			case BF_KRAKEN_TRADES:
				if (!page->has_next)
				{
					bf_step_err(res, "answer has no \"last\" cursor");
					return;
				}
				res->next.mode = BF_CUR_TOKEN;
				snprintf(res->next.token, sizeof(res->next.token), "%s", page->next);
				break;
			case BF_GENERIC_TRADES:
				if (g->cursor == BF_GCUR_PATH)
				{
					if (!page->has_next)
						res->done = true;
					res->next.mode = BF_CUR_TOKEN;
					snprintf(res->next.token, sizeof(res->next.token), "%s",
							 page->has_next ? page->next : "end");
					break;
				}
				res->next.mode = BF_CUR_ID;
				res->next.value = g->cursor == BF_GCUR_ID ? last_id + 1 :
					g->cursor == BF_GCUR_TIME_MS ? last_us / 1000 + 1 : last_us / 1000000;
				break;
			default:
				res->next.mode = BF_CUR_ID;
				res->next.value = last_id + 1;
		}
	}
	if (job->has_ids)
		res->progress = bf_progress((double) (last_id - job->from_id + 1), 0,
									(double) (job->to_id - job->from_id + 1));
	else
		res->progress = bf_progress((double) last_us, (double) job->from_us, (double) job->to_us);
}

/*
 * bf_seek_next
 *	  Coinbase seek state after a probe: hi is the smallest id known to be
 *	  at or after the range's end, lo (-1: not found yet, galloping) an id
 *	  known to be before it; close enough, page down from hi.
 */
static void
bf_seek_next(const bf_job *job, int64_t hi, int64_t lo, int64_t step, bf_step_result *res)
{
	if (lo >= 0 && hi - lo <= job->limit)
	{
		res->next.mode = BF_CUR_ID;	/* "after" = hi: the rows below it */
		res->next.value = hi;
		res->next.last_us = res->next.last_id = -1;
		return;
	}
	res->next.mode = BF_CUR_WINDOW;
	res->next.value = hi;
	res->next.last_id = lo;
	res->next.last_us = step;
}

/*
 * bf_step_coinbase_seek
 *	  A probe (one trade at or below an id) of the search for the newest
 *	  trade before a range that ends in the past: gallop down from the
 *	  newest page (1, 2, 4 ... pages), then bisect; the pages of the range
 *	  follow.  Trade ids grow with time, so the search costs about
 *	  2 log2(pages between the range's end and now) probes, not those pages.
 */
static void
bf_step_coinbase_seek(const bf_job *job, const bf_cursor *cur, const bf_page *page, const td_trade *t,
					  bf_step_result *res)
{
	int64_t		hi = cur->value,
				lo = cur->last_id,
				step = cur->last_us;
	int64_t		probe = lo < 0 ? (hi - step > 0 ? hi - step : 0) : lo + (hi - lo) / 2;

	if (page->n > 0 && t[0].ts_us >= job->to_us && t[0].trade_id < hi)
	{
		hi = t[0].trade_id;		/* still at or after the end */
		if (lo < 0)
			step *= 2;
		if (lo < 0 && probe == 0)
			lo = 0;
	}
	else
		lo = probe;				/* before the end (or no trade up to probe) */
	bf_seek_next(job, hi, lo, step, res);
}

/*
 * bf_step_descending
 *	  Coinbase trades: newest first, "after" = the smallest id seen.
 */
static void
bf_step_descending(const bf_job *job, const bf_cursor *cur, const bf_page *page, td_trade *t,
				   bf_step_result *res)
{
	int64_t		upper = cur->mode != BF_CUR_START ? cur->value :
		job->has_ids ? job->to_id + 1 : INT64_MAX;
	int64_t		min_id = upper,
				last_us = cur->last_us;
	bool		fresh = false;

	if (cur->mode == BF_CUR_WINDOW)
	{
		bf_step_coinbase_seek(job, cur, page, t, res);
		return;
	}
	if (cur->mode == BF_CUR_START && !job->has_ids && page->n == job->limit &&
		t[page->n - 1].ts_us >= job->to_us && t[page->n - 1].trade_id > 0)
	{
		/* the newest page is after the range: search, do not page down */
		bf_seek_next(job, t[page->n - 1].trade_id, -1, job->limit, res);
		return;
	}

	for (int i = 0; i < page->n && !res->done; i++)
	{
		if (i > 0 && t[i].trade_id >= t[i - 1].trade_id)
		{
			bf_step_err(res, "trade ids do not decrease: row %d has id %lld after %lld", i,
						(long long) t[i].trade_id, (long long) t[i - 1].trade_id);
			return;
		}
		if (t[i].trade_id >= upper)
			continue;			/* seen before (a repeated page) */
		if (last_us >= 0 && t[i].ts_us > last_us)
		{
			bf_step_err(res, "trade times go backwards: id %lld at %lld us is after %lld us "
						"of a newer trade", (long long) t[i].trade_id,
						(long long) t[i].ts_us, (long long) last_us);
			return;
		}
		fresh = true;
		last_us = t[i].ts_us;
		min_id = t[i].trade_id;
		if (job->has_ids ? t[i].trade_id < job->from_id : t[i].ts_us < job->from_us)
		{
			res->done = true;	/* before the start: not stored */
			break;
		}
		if (job->has_ids ? t[i].trade_id > job->to_id : t[i].ts_us >= job->to_us)
			continue;
		t[res->nkeep++] = t[i];
	}
	if (job->has_ids && min_id <= job->from_id)
		res->done = true;
	if (!res->done && page->n == 0)
	{
		if (job->has_ids)
			res->no_progress = true;
		else
			res->done = true;	/* the start of the market's history */
	}
	else if (!res->done && !fresh)
		res->no_progress = true;
	res->next.mode = fresh ? BF_CUR_ID : cur->mode;
	res->next.value = fresh ? min_id : cur->value;
	res->next.last_us = last_us;
	res->next.last_id = fresh ? min_id : cur->last_id;
	if (job->has_ids)
		res->progress = bf_progress((double) (job->to_id - min_id + 1), 0,
									(double) (job->to_id - job->from_id + 1));
	else
		res->progress = last_us < 0 ? 0 :
			bf_progress((double) (job->to_us - last_us), 0, (double) (job->to_us - job->from_us));
}

/*
 * bf_candle_cmp
 *	  qsort order of candles: open time ascending.
 */
static int
bf_candle_cmp(const void *a, const void *b)
			{
	int64_t		x = ((const bf_candle *) a)->open_us,
				y = ((const bf_candle *) b)->open_us;

	return (x > y) - (x < y);
}

/*
 * bf_step_candles
 *	  One-minute candles of any of the three exchanges.
 */
static void
bf_step_candles(const bf_job *job, const bf_cursor *cur, const bf_page *page, bf_candle *c,
				int64_t now_us, bf_step_result *res)
{
	int64_t		first = bf_ceil_minute(job->from_us);
	int64_t		w = cur->mode == BF_CUR_START || job->ep == BF_KRAKEN_OHLC ? first : cur->value;
	int64_t		e = INT64_MAX;
	int64_t		last_us = cur->last_us;
	bool		fresh = false;

	if (job->ep == BF_COINBASE_CANDLES)
	{
		e = w + (int64_t) job->limit * BF_CANDLE_US;
		qsort(c, (size_t) page->n, sizeof(bf_candle), bf_candle_cmp);
	}
	for (int i = 0; i < page->n && !res->done; i++)
	{
		if (i > 0 && c[i].open_us <= c[i - 1].open_us)
		{
			bf_step_err(res, c[i].open_us == c[i - 1].open_us ?
						"two candles for the minute at %lld us" :
						"candle times go backwards at %lld us", (long long) c[i].open_us);
			return;
		}
		if (c[i].open_us <= cur->last_us || c[i].open_us < w || c[i].open_us >= e)
			continue;			/* seen before, or outside the window asked */
		if (c[i].open_us >= job->to_us || c[i].open_us + BF_CANDLE_US > now_us)
		{
			res->done = true;	/* past the end, or not closed yet */
			break;
		}
		fresh = true;
		last_us = c[i].open_us;
		if (c[i].trades == 0 || (c[i].trades < 0 && c[i].volume == 0))
			continue;			/* no trades: no candle, as from trades */
		c[res->nkeep++] = c[i];
	}
	res->next.last_us = last_us;
	switch (job->ep)
	{
		case BF_COINBASE_CANDLES:
			res->next.mode = BF_CUR_TIME;
			res->next.value = e;
			if (e >= job->to_us)
				res->done = true;
			break;
		case BF_KRAKEN_OHLC:
			if (!page->has_next)
			{
				bf_step_err(res, "answer has no \"last\" cursor");
				return;
			}
			if (!fresh || (cur->mode == BF_CUR_TOKEN && strcmp(cur->token, page->next) == 0))
				res->done = true;	/* Kraken serves only its latest 720 minutes */
			res->next.mode = BF_CUR_TOKEN;
			snprintf(res->next.token, sizeof(res->next.token), "%s", page->next);
			break;
		default:
			if (page->n == 0)
				res->done = true;
			else if (!fresh && !res->done)
				res->no_progress = true;
			res->next.mode = BF_CUR_TIME;
			res->next.value = fresh ? last_us + BF_CANDLE_US : w;
	}
	if (fresh && last_us + BF_CANDLE_US >= job->to_us)
		res->done = true;
	res->progress = last_us < 0 ? 0 :
		bf_progress((double) (last_us + BF_CANDLE_US), (double) first, (double) job->to_us);
}

/*
 * tsk_bf_step
 *	  See rest.h.
 */
void
tsk_bf_step(const bf_job *job, const bf_cursor *cur, const bf_page *page,
			td_trade *trades, bf_candle *candles, int64_t now_us, bf_step_result *res)
{
	memset(res, 0, sizeof(*res));
	res->next = *cur;
	if (cur->mode == BF_CUR_DONE)
		res->done = true;
	else if (tsk_bf_endpoint_candles(job->ep))
		bf_step_candles(job, cur, page, candles, now_us, res);
	else if (job->ep == BF_COINBASE_TRADES)
		bf_step_descending(job, cur, page, trades, res);
	else if (tsk_bf_seeking(job, cur))
		bf_step_seek(job, cur, page, trades, res);
	else
		bf_step_ascending(job, cur, page, trades, res);
	if (res->error[0])
	{
		res->next = *cur;
		return;
	}
	if (res->done)
	{
		res->next.mode = BF_CUR_DONE;
		res->progress = 1.0;
		res->no_progress = false;
	}
}
