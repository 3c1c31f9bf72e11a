/*
 * backfill.c
 *	  The backfill jobs' scheduler inside the poll worker: which page of
 *	  which job to request next, when (per-host pace, Retry-After, Binance
 *	  weight budget, back-off after errors), and what a completed transfer
 *	  does to its job (store the page, retry, or fail the job with a clear
 *	  error in its row).
 *
 * Errors: transient ones (transfer errors, truncated or unreadable bodies,
 * HTTP 5xx, 429/418, a page already stored) are counted and retried after a
 * back-off; max_errors of them in a row (options, default 10) fail the job.
 * Final ones fail it at once: HTTP 4xx, a body over triggerstock.
 * poll_max_body, a page longer than asked, times going backwards, times
 * that stop advancing for BACKFILL_MAX_STALLED pages, max_pages reached.
 *
 * Invariants: see backfill.h; the jobs' memory (and each job's malloc'd
 * options tree) is freed when the queue is re-read; a response for a job
 * that left the queue is dropped.
 */
#include "postgres.h"

#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "bgworker/backfill.h"
#include "common/unix_time.h"
#include "guc.h"

#define BACKFILL_MAX_HOSTS 32
#define BACKFILL_MAX_STALLED 100	/* pages whose last trade time did not move */
#define BACKFILL_MAX_RETRY_S 86400	/* longest Retry-After honoured */
#define BACKFILL_WEIGHT_PAUSE 5400	/* Binance: of 6,000 a minute */
#define BACKFILL_BATCH_ROWS 5000	/* rows of a few pages stored together */
#define BACKFILL_BATCH_MS 1000		/* and at least once a second */

/* Pacing state of one REST host (scheme://host[:port]). */
typedef struct backfill_host
{
	char		key[256];
	TimestampTz not_before;		/* no request before this */
	int			backoff_ms;		/* after 429/418 without Retry-After */
	int64		inflight;		/* the job whose request is in flight, or 0 */
} backfill_host;

static MemoryContext backfill_jobs_cxt = NULL;
static List *backfill_jobs = NIL;
static backfill_host backfill_hosts[BACKFILL_MAX_HOSTS];
static int	backfill_nhosts = 0;
static backfill_fetch_fn backfill_fetch = NULL;	/* the poll worker's, set by tick */

static void backfill_flush(backfill_job *bj);

/*
 * backfill_find
 *	  The job of id in the current queue, or NULL.
 */
static backfill_job *
backfill_find(List *jobs, int64 id)
{
	ListCell   *lc;

	foreach(lc, jobs)
	{
		backfill_job *bj = lfirst(lc);

		if (bj->id == id)
			return bj;
	}
	return NULL;
}

/*
 * backfill_host_of
 *	  The pacing state of a job's host (created on first use; hosts beyond
 *	  the table share its last entry).
 */
static backfill_host *
backfill_host_of(const backfill_job *bj)
{
	for (int i = 0; i < backfill_nhosts; i++)
		if (strcmp(backfill_hosts[i].key, bj->host) == 0)
			return &backfill_hosts[i];
	if (backfill_nhosts == BACKFILL_MAX_HOSTS)
		return &backfill_hosts[BACKFILL_MAX_HOSTS - 1];
	memset(&backfill_hosts[backfill_nhosts], 0, sizeof(backfill_host));
	strlcpy(backfill_hosts[backfill_nhosts].key, bj->host, sizeof(backfill_hosts[0].key));
	return &backfill_hosts[backfill_nhosts++];
}

/*
 * tsk_backfill_reload
 *	  See backfill.h.
 */
void
tsk_backfill_reload(MemoryContext parent)
{
	MemoryContext cxt = AllocSetContextCreate(parent, "triggerstock backfill jobs",
											  ALLOCSET_SMALL_SIZES);
	List	   *jobs = tsk_backfill_load_jobs(cxt);
	ListCell   *lc;

	foreach(lc, jobs)
	{
		backfill_job *bj = lfirst(lc);
		backfill_job *prev = backfill_find(backfill_jobs, bj->id);

		bj->committed = bj->cur;
		if (prev != NULL)
		{
			bj->in_flight = prev->in_flight;
			bj->req_cur = prev->req_cur;
			bj->next_due = prev->next_due;
			bj->errors_in_row = prev->errors_in_row;
			bj->stalled_pages = prev->stalled_pages;
			/* pages fetched but not stored yet move over, with the cursor ahead */
			bj->cur = prev->cur;
			bj->buf_trades = prev->buf_trades;
			bj->buf_candles = prev->buf_candles;
			bj->buf_n = prev->buf_n;
			bj->buf_cap = prev->buf_cap;
			bj->buf_pages = prev->buf_pages;
			bj->buf_step = prev->buf_step;
			bj->buf_since = prev->buf_since;
			prev->buf_trades = NULL;
			prev->buf_candles = NULL;
		}
	}
	foreach(lc, backfill_jobs)
	{
		backfill_job *old = lfirst(lc);

		tsk_bf_options_free(&old->opts);
		free(old->buf_trades);	/* a job that left the queue: its pages go */
		free(old->buf_candles);
	}
	if (backfill_jobs_cxt != NULL)
		MemoryContextDelete(backfill_jobs_cxt);
	backfill_jobs_cxt = cxt;
	backfill_jobs = jobs;
}

/*
 * tsk_backfill_shutdown
 *	  See backfill.h.
 */
void
tsk_backfill_shutdown(void)
{
	ListCell   *lc;

	foreach(lc, backfill_jobs)
		backfill_flush((backfill_job *) lfirst(lc));
}

/*
 * backfill_fail
 *	  Fail the job for good; it leaves the queue at the next reload.
 */
static void
backfill_fail(backfill_job *bj, const char *error)
{
	backfill_flush(bj);			/* the good pages before it are kept */
	ereport(LOG,
			(errmsg("triggerstock backfill job %lld (%s %s) failed: %s", (long long) bj->id,
					bj->endpoint, bj->instrument, error)));
	tsk_backfill_record_error(bj, error, true);
	bj->check_error = NULL;
	bj->cur.mode = BF_CUR_DONE;
}

/*
 * backfill_retry
 *	  A transient error: count it, back off, fail after max_errors in a row.
 */
static void
backfill_retry(backfill_job *bj, const char *error)
{
	int			k = ++bj->errors_in_row;

	if (k >= bj->opts.max_errors)
	{
		backfill_fail(bj, psprintf("%s (%d errors in a row)", error, k));
		return;
	}
	tsk_backfill_record_error(bj, error, false);
	bj->next_due = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), Min(250 << Min(k - 1, 7), 30000));
}

/*
 * backfill_cursor_equal
 *	  Whether two cursors are the same position.
 */
static bool
backfill_cursor_equal(const bf_cursor *a, const bf_cursor *b)
{
	return a->mode == b->mode && a->value == b->value && a->last_us == b->last_us &&
		a->last_id == b->last_id && strcmp(a->token, b->token) == 0;
}

/*
 * backfill_request
 *	  Ask for the page of job bj at cursor cur if its host is free and its
 *	  pace allows: 1 started, 0 not now (*wait lowered to when), -1 the job
 *	  failed or will retry.
 */
static int
backfill_request(backfill_job *bj, const bf_cursor *cur, TimestampTz now, long *wait)
{
	backfill_host *host = backfill_host_of(bj);
	char		url[BF_URL_MAX];
	char		err[512];
	bool		final = false;
	int			len;

	if (host->inflight != 0)
		return 0;				/* woken when its transfer completes */
	if (host->not_before > now)
	{
		*wait = Min(*wait, (long) ((host->not_before - now) / 1000) + 1);
		return 0;
	}
	if (bj->opts.max_pages > 0 && bj->pages + bj->buf_pages >= bj->opts.max_pages)
	{
		backfill_fail(bj, psprintf("stopped after %lld pages (options max_pages)", (long long) bj->pages));
		return -1;
	}
	len = tsk_bf_page_url(&bj->job, cur, url, sizeof(url));
	if (len < 0 || len >= (int) sizeof(url))
	{
		backfill_fail(bj, "cannot build the URL of the next page");
		return -1;
	}
	if (!backfill_fetch(bj->id, url, err, sizeof(err), &final))
	{
		if (final)
			backfill_fail(bj, err);
		else
			backfill_retry(bj, err);
		return -1;
	}
	bj->in_flight = true;
	bj->req_cur = *cur;
	host->inflight = bj->id;
	host->not_before = TimestampTzPlusMilliseconds(now, bj->opts.min_interval_ms >= 0 ?
												   bj->opts.min_interval_ms :
												   tsk_bf_default_interval_ms(bj->job.ep));
	return 1;
}

/*
 * tsk_backfill_tick
 *	  See backfill.h.
 */
long
tsk_backfill_tick(TimestampTz now, backfill_fetch_fn fetch)
{
	long		wait = 1000;
	ListCell   *lc;

	backfill_fetch = fetch;
	foreach(lc, backfill_jobs)
	{
		backfill_job *bj = lfirst(lc);

		if (bj->check_error != NULL)
			backfill_fail(bj, bj->check_error);
		if (bj->buf_pages > 0)
		{
			if (now >= TimestampTzPlusMilliseconds(bj->buf_since, BACKFILL_BATCH_MS))
				backfill_flush(bj);
			else
				wait = Min(wait, (long) ((TimestampTzPlusMilliseconds(bj->buf_since, BACKFILL_BATCH_MS) -
										  now) / 1000) + 1);
		}
		if (bj->in_flight || bj->cur.mode == BF_CUR_DONE)
			continue;
		if (bj->next_due > now)
		{
			wait = Min(wait, (long) ((bj->next_due - now) / 1000) + 1);
			continue;
		}
		(void) backfill_request(bj, &bj->cur, now, &wait);
	}
	return wait;
}

/*
 * backfill_rate_limited
 *	  429/418 or a rate-limit body: pause the host for Retry-After seconds,
 *	  or an exponential back-off (1 s doubling to 60 s) without it.
 */
static int
backfill_rate_limited(backfill_host *host, const char *retry_after)
{
	char	   *end;
	long		s = strtol(retry_after, &end, 10);
	int			ms;

	if (retry_after[0] != '\0' && *end == '\0' && s >= 0)
		ms = (int) Min(s, BACKFILL_MAX_RETRY_S) * 1000;
	else
		ms = host->backoff_ms = host->backoff_ms == 0 ? 1000 : Min(host->backoff_ms * 2, 60000);
	host->not_before = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), ms);
	return ms;
}

/*
 * backfill_body_snippet
 *	  The start of a body as printable text, for an error message.
 */
static char *
backfill_body_snippet(const char *body, size_t len)
{
	char	   *s = pnstrdup(body ? body : "", Min(len, 120));

	for (char *p = s; *p; p++)
		if ((unsigned char) *p < 0x20 || (unsigned char) *p > 0x7e)
			*p = ' ';
	return s;
}

/*
 * backfill_flush
 *	  Store the pages fetched so far with the cursor after the last one; a
 *	  failure drops them and sends the fetch cursor back to the committed
 *	  one (they are fetched again after the back-off).
 */
static void
backfill_flush(backfill_job *bj)
{
	backfill_page store;
	char	   *err;

	if (bj->buf_pages == 0)
		return;
	store.bj = bj;
	store.trades = bj->buf_trades;
	store.candles = bj->buf_candles;
	store.n = bj->buf_n;
	store.pages = bj->buf_pages;
	store.step = &bj->buf_step;
	store.stored = 0;
	store.cancelled = false;
	err = tsk_backfill_store_page(&store);
	bj->buf_n = bj->buf_pages = 0;
	if (err != NULL)
	{
		bj->cur = bj->committed;
		backfill_retry(bj, psprintf("could not store a page: %s", err));
		return;
	}
	if (store.cancelled)
	{
		bj->cur.mode = BF_CUR_DONE;	/* cancelled meanwhile: nothing stored */
		return;
	}
	bj->committed = bj->buf_step.next;
	bj->pages += store.pages;
}

/*
 * backfill_buffer
 *	  Keep a page's rows (malloc'd, grown as needed) until they are stored.
 */
static bool
backfill_buffer(backfill_job *bj, const td_trade *t, const bf_candle *c, int n)
{
	if (bj->buf_n + n > bj->buf_cap)
	{
		int			cap = Max(bj->buf_cap * 2, bj->buf_n + n + BACKFILL_BATCH_ROWS);
		void	   *p = t ? realloc(bj->buf_trades, sizeof(td_trade) * cap)
			: realloc(bj->buf_candles, sizeof(bf_candle) * cap);

		if (p == NULL)
			return false;
		if (t)
			bj->buf_trades = p;
		else
			bj->buf_candles = p;
		bj->buf_cap = cap;
	}
	if (t)
		memcpy(bj->buf_trades + bj->buf_n, t, sizeof(td_trade) * n);
	else if (n > 0)
		memcpy(bj->buf_candles + bj->buf_n, c, sizeof(bf_candle) * n);
	if (bj->buf_pages++ == 0)
		bj->buf_since = GetCurrentTimestamp();
	bj->buf_n += n;
	return true;
}

/*
 * backfill_apply
 *	  A 200 answer: parse, step, store; errors as described in the banner.
 */
static void
backfill_apply(backfill_job *bj, backfill_host *host, const backfill_response *r)
{
	bool		candles = tsk_bf_endpoint_candles(bj->job.ep);
	int			cap = bj->job.limit;
	td_trade   *trades = candles ? NULL : palloc(sizeof(td_trade) * cap);
	bf_candle  *cs = candles ? palloc(sizeof(bf_candle) * cap) : NULL;
	bf_page		page;
	bf_step_result res;
	int64		now_us = GetCurrentTimestamp() + TSK_UNIX_EPOCH_SHIFT_US;

	if (tsk_bf_parse(&bj->job, &bj->cur, r->body, r->len, trades, cs, cap, &page) != 0)
	{
		if (page.rate_limited)
		{
			backfill_rate_limited(host, "");
			backfill_retry(bj, psprintf("rate limited: %s", page.error));
		}
		else if (strstr(page.error, "more than the") != NULL)
			backfill_fail(bj, psprintf("unusable answer: %s", page.error));
		else
			backfill_retry(bj, psprintf("unusable answer: %s", page.error));
		return;
	}
	tsk_bf_step(&bj->job, &bj->cur, &page, trades, cs, now_us, &res);
	if (res.error[0])
	{
		backfill_fail(bj, psprintf("the exchange's answer is inconsistent: %s", res.error));
		return;
	}
	if (res.no_progress)
	{
		backfill_retry(bj, page.n > 0 ? "the page holds only rows already stored (no progress)"
					   : "the page is empty although trades of the range are missing");
		return;
	}
	if (!candles && !res.done && page.n > 0 && res.next.last_us == bj->cur.last_us)
	{
		if (++bj->stalled_pages >= BACKFILL_MAX_STALLED)
		{
			backfill_fail(bj, psprintf("trade times did not advance for %d pages", BACKFILL_MAX_STALLED));
			return;
		}
	}
	else
		bj->stalled_pages = 0;
	if (!backfill_buffer(bj, candles ? NULL : trades, cs, res.nkeep))
	{
		backfill_retry(bj, "out of memory keeping a page");
		return;
	}
	bj->buf_step = res;
	bj->cur = res.next;
	bj->errors_in_row = 0;
	host->backoff_ms = 0;
	/* the next page's request overlaps the transaction that stores these */
	if (!res.done)
	{
		long		ignored = 0;

		(void) backfill_request(bj, &bj->cur, GetCurrentTimestamp(), &ignored);
	}
	if (res.done || bj->buf_n >= BACKFILL_BATCH_ROWS)
		backfill_flush(bj);
	if (r->used_weight[0] != '\0' && atoi(r->used_weight) >= BACKFILL_WEIGHT_PAUSE)
	{
		TimestampTz now = GetCurrentTimestamp();
		int64		into = (now + TSK_UNIX_EPOCH_SHIFT_US) % INT64CONST(60000000);

		host->not_before = Max(host->not_before, now + (INT64CONST(60000000) - into));
	}
}

/*
 * tsk_backfill_finish
 *	  See backfill.h.
 */
void
tsk_backfill_finish(int64 id, const backfill_response *r)
{
	backfill_job *bj = backfill_find(backfill_jobs, id);
	backfill_host *host;

	for (int i = 0; i < backfill_nhosts; i++)
		if (backfill_hosts[i].inflight == id)
			backfill_hosts[i].inflight = 0;
	if (bj == NULL)
		return;					/* left the queue while in flight: dropped */
	host = backfill_host_of(bj);
	bj->in_flight = false;
	if (bj->cur.mode == BF_CUR_DONE)
		return;
	if (!backfill_cursor_equal(&bj->req_cur, &bj->cur))
		return;					/* asked ahead of a page that was not stored */
	if (r->too_large)
		backfill_fail(bj, psprintf("page larger than triggerstock.poll_max_body (%d bytes)", tsk_poll_max_body));
	else if (r->error != NULL && r->final)
		backfill_fail(bj, r->error);
	else if (r->error != NULL)
		backfill_retry(bj, r->error);
	else if (r->status == 429 || r->status == 418)
	{
		int			ms = backfill_rate_limited(host, r->retry_after);

		backfill_retry(bj, psprintf("HTTP %ld (%s); next request in %d ms", r->status,
									r->status == 429 ? "too many requests" : "banned for too many requests", ms));
	}
	else if (r->status >= 500)
		backfill_retry(bj, psprintf("HTTP %ld: %s", r->status, backfill_body_snippet(r->body, r->len)));
	else if (r->status != 200)
		backfill_fail(bj, psprintf("HTTP %ld: %s", r->status, backfill_body_snippet(r->body, r->len)));
	else
		backfill_apply(bj, host, r);
}
