/*
 * ingest_book.c
 *	  The order books of one ingest worker (see ingest_book.h for the files
 *	  and their invariants).
 *
 * Per configured instrument a tb_sync keeps the book (src/ingest/book_sync.c
 * decides what is in step and what is not).  This file turns its verdicts
 * into actions:
 *	- TB_ACT_FETCH_SNAPSHOT: GET <book_rest_url>?symbol=X&limit=N through
 *	  ingest_book_http.c (at most INGEST_BOOK_REST_MAX at once; a failed
 *	  fetch is a dead letter and is retried after 1 s doubling to 30 s);
 *	- TB_ACT_RESUBSCRIBE: unsubscribe + subscribe that instrument's depth
 *	  channel on the open connection (Kraken checksum mismatch, a book frame
 *	  that could not be decoded);
 *	- TB_ACT_REPORT: a dead letter carrying the frame and the reason (gap,
 *	  checksum mismatch, level cap).
 * Coinbase Advanced Trade numbers every message of the connection
 * (sequence_num, all channels): every frame's number is checked before
 * anything else, and a break (a lost message, whatever its channel) is a
 * dead letter, one gap on every book, and every book resubscribed.
 * Every book_interval_ms (aligned to multiples of it) the synced books are
 * sampled (their first book_levels levels a side, plus the order-flow
 * imbalance, messages and resyncs since the previous sample) and the
 * samples, the book states and the book dead letters are flushed in one
 * short transaction (ingest_book_store.c).  A failed flush keeps them and
 * is retried after a second.
 */
#include "postgres.h"

#include "storage/ipc.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "bgworker/ingest_book.h"
#include "bgworker/workers.h"
#include "guc.h"

/* µs between the Unix epoch and the Postgres epoch (2000-01-01). */
#define BOOK_EPOCH_SHIFT_US INT64CONST(946684800000000)

typedef struct book_entry
{
	tb_sync		sync;
	int			index;			/* position in cfg->instruments */
	tb_state	last_state;
	TimestampTz state_since;
	int64		requests;
	int64		samples;
	bool		fetching;
	TimestampTz fetch_after;
	int			fetch_failures;
	bool		resub_pending;
} book_entry;

static ingest_book_options opt;
static const ingest_config *bcfg = NULL;
static tb_source bsrc = TB_SRC_BINANCE;
static book_entry *books = NULL;
static int	nbooks = 0;
static char book_signature[2048];

static tb_change *chg = NULL;
static int	chg_cap = 0;

static ingest_book_row *rows = NULL;
static int	nrows = 0;
static int	rows_alloc = 0;
static int64 rows_dropped = 0;
static ingest_dead_letter bdead[INGEST_BOOK_MAX_DEAD];
static int	nbdead = 0;
static int64 bdead_dropped = 0;
static TimestampTz bdead_first_at = 0;
/* triggerstock.dead_letters_per_minute, counted apart from the trade path's */
static TimestampTz bdead_window_start = 0;
static int	bdead_window_count = 0;

/* Coinbase Advanced Trade: the connection's sequence_num (book_sync.h) */
static tb_seq bseq;

static TimestampTz next_sample = 0;
static TimestampTz flush_retry_at = 0;
static bool flush_due = false;
static bool prune_pending = false;	/* book_status may hold rows of old books */
static TimestampTz status_at = 0;	/* when book_status was last written */

/*
 * book_grow
 *	  realloc or ERROR.
 */
static void *
book_grow(void *p, size_t size)
{
	void	   *q = realloc(p, size);

	if (q == NULL)
		elog(ERROR, "out of memory");
	return q;
}

/*
 * book_dead_letter
 *	  Queue a book dead letter (payload truncated to the dead-letter cap);
 *	  beyond triggerstock.dead_letters_per_minute in the current minute it
 *	  is only counted (ingest_status.dead_letters_dropped).
 */
static void
book_dead_letter(const char *data, size_t len, TimestampTz received, const char *error)
{
	ingest_dead_letter *d;
	size_t		keep = Min(len, (size_t) tsk_dead_letter_max_bytes);

	if (received - bdead_window_start >= USECS_PER_MINUTE || received < bdead_window_start)
	{
		bdead_window_start = received;
		bdead_window_count = 0;
	}
	if (tsk_dead_letters_per_minute >= 0 && bdead_window_count >= tsk_dead_letters_per_minute)
	{
		tsk_ingest_stats_dead_dropped(1);
		return;
	}
	bdead_window_count++;
	if (nbdead >= INGEST_BOOK_MAX_DEAD)
	{
		if (bdead_dropped++ % 10000 == 0)
			ereport(WARNING,
					(errmsg("triggerstock ingest source %d: book dead letter queue full, "
							"%lld not kept: %s", bcfg->id, (long long) bdead_dropped, error)));
		return;
	}
	d = &bdead[nbdead];
	d->payload = malloc(Max(keep, 1));
	if (d->payload == NULL)
		elog(ERROR, "out of memory");
	memcpy(d->payload, data, keep);
	d->len = keep;
	d->total_len = len;
	d->received = received;
	strlcpy(d->error, error, sizeof(d->error));
	if (nbdead++ == 0)
		bdead_first_at = received;
}

/*
 * book_free_all
 *	  Drop every book (configuration change, exit).
 */
static void
book_free_all(void)
{
	for (int i = 0; i < nbooks; i++)
		tsk_tb_sync_free(&books[i].sync);
	free(books);
	books = NULL;
	nbooks = 0;
	tsk_ingest_http_cancel_all();
}

/*
 * book_source_of
 *	  The book decoder of a configuration, or -1 if it has none.
 */
static int
book_source_of(const ingest_config *cfg)
{
	if (cfg->decoder == TD_BINANCE)
		return TB_SRC_BINANCE;
	if (cfg->decoder == TD_COINBASE)
		return TB_SRC_COINBASE;
	if (cfg->decoder == TD_KRAKEN && cfg->feed == TD_FEED_KRAKEN_V1)
		return TB_SRC_KRAKEN;
	return -1;
}

/*
 * tsk_ingest_book_configure
 *	  Read the options, rebuild the books if what they depend on changed.
 */
bool
tsk_ingest_book_configure(const ingest_config *cfg)
{
	ingest_book_options fresh;
	char		sig[sizeof(book_signature)];
	int			src;
	size_t		len;
	bool		changed;

	bcfg = cfg;
	if (!tsk_ingest_book_load_options(cfg->id, &fresh))
		fresh.enabled = false;
	src = book_source_of(cfg);
	if (fresh.enabled && src < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("source %d asks for order books, which its feed does not have", cfg->id),
				 errhint("Order books come from binance, coinbase and kraken (feed kraken_v1) sources.")));
	len = snprintf(sig, sizeof(sig), "%d|%d|%d|%d|%d|%d|%s|%d", fresh.enabled, fresh.trades, fresh.depth,
				   fresh.max_levels, fresh.levels, fresh.interval_ms, fresh.rest_url, src);
	for (int k = 0; k < cfg->ninstruments && len < sizeof(sig); k++)
		len += snprintf(sig + len, sizeof(sig) - len, "|%s|%s", cfg->instruments[k], cfg->symbols[k]);
	changed = strcmp(sig, book_signature) != 0;
	if (!changed)
	{
		opt = fresh;
		return false;
	}
	/* samples of the old books are self-contained: keep them for the flush */
	book_free_all();
	strlcpy(book_signature, sig, sizeof(book_signature));
	opt = fresh;
	prune_pending = true;
	if (!opt.enabled)
		return true;
	bsrc = (tb_source) src;
	books = book_grow(NULL, sizeof(book_entry) * cfg->ninstruments);
	memset(books, 0, sizeof(book_entry) * cfg->ninstruments);
	nbooks = cfg->ninstruments;
	for (int k = 0; k < nbooks; k++)
	{
		tsk_tb_sync_init(&books[k].sync, bsrc, opt.max_levels, INGEST_BOOK_BUFFER);
		books[k].index = k;
		books[k].state_since = GetCurrentTimestamp();
	}
	next_sample = 0;
	tsk_tb_seq_init(&bseq);
	return true;
}

/*
 * tsk_ingest_book_enabled
 *	  True if this source keeps books.
 */
bool
tsk_ingest_book_enabled(void)
{
	return opt.enabled && nbooks > 0;
}

/*
 * tsk_ingest_book_trades
 *	  False for a depth-only source.
 */
bool
tsk_ingest_book_trades(void)
{
	return !opt.enabled || opt.trades;
}

/*
 * book_find
 *	  The book of a native instrument name (case-insensitive), or NULL.
 */
static book_entry *
book_find(const char *instrument)
{
	for (int i = 0; i < nbooks; i++)
		if (pg_strcasecmp(bcfg->instruments[books[i].index], instrument) == 0)
			return &books[i];
	return NULL;
}

/*
 * book_note_state
 *	  Remember when a book changed state.
 */
static void
book_note_state(book_entry *b, TimestampTz at)
{
	if (b->sync.state != b->last_state)
	{
		b->last_state = b->sync.state;
		b->state_since = at;
	}
}

/*
 * book_act
 *	  Carry out what the sync asked for.
 */
static void
book_act(book_entry *b, int act, const char *err, const char *data, size_t len, TimestampTz received)
{
	if (act & TB_ACT_REPORT)
	{
		char		msg[TD_ERROR_MAX + 64];

		snprintf(msg, sizeof(msg), "book %s: %s", bcfg->instruments[b->index], err);
		book_dead_letter(data, len, received, msg);
	}
	if (act & TB_ACT_RESUBSCRIBE)
		b->resub_pending = true;
	if (act & TB_ACT_FETCH_SNAPSHOT)
		b->fetch_after = Min(b->fetch_after, received);
	book_note_state(b, received);
}

/*
 * book_resync
 *	  A book may have missed an update: rebuild it.
 */
static void
book_resync(book_entry *b, TimestampTz at)
{
	tsk_tb_sync_reset(&b->sync);
	if (bsrc != TB_SRC_BINANCE)
		b->resub_pending = true;
	book_note_state(b, at);
}

/*
 * book_looks_like
 *	  Cheap test: might this frame be a depth frame of our exchange?
 */
static bool
book_looks_like(const char *data, size_t len)
{
	if (bsrc == TB_SRC_BINANCE)
		return memmem(data, len, "depthUpdate", 11) != NULL;
	if (bsrc == TB_SRC_KRAKEN)
		return memmem(data, len, "\"book-", 6) != NULL;
	return memmem(data, len, "\"l2update\"", 10) != NULL || memmem(data, len, "\"snapshot\"", 10) != NULL ||
		memmem(data, len, "\"l2_data\"", 9) != NULL;
}

/*
 * book_check_sequence
 *	  Coinbase Advanced Trade: a frame whose sequence_num is not the
 *	  previous one's + 1 follows lost messages; any of them may have been
 *	  a book update (or snapshot), so every book counts a gap and is
 *	  resubscribed.
 */
static void
book_check_sequence(const char *data, size_t len, TimestampTz received)
{
	int64		seq = tsk_tb_sequence_num(data, len);
	int64		expected = bseq.last + 1;
	char		err[256];

	if (seq < 0 || !tsk_tb_seq_check(&bseq, seq))
		return;
	snprintf(err, sizeof(err), "books: sequence gap: expected sequence_num " INT64_FORMAT ", got " INT64_FORMAT
			 "; resubscribing every book", expected, seq);
	book_dead_letter(data, len, received, err);
	for (int i = 0; i < nbooks; i++)
	{
		books[i].sync.st.gaps++;
		book_resync(&books[i], received);
	}
}

/*
 * tsk_ingest_book_frame
 *	  Decode and apply a depth frame; false if it is not one.
 */
bool
tsk_ingest_book_frame(const char *data, size_t len, TimestampTz received)
{
	tb_msg		m;
	tb_kind		k;
	char		err[256];

	if (!tsk_ingest_book_enabled())
		return false;
	if (bsrc == TB_SRC_COINBASE && bcfg->feed == TD_FEED_COINBASE_ADVANCED)
		book_check_sequence(data, len, received);
	if (!book_looks_like(data, len))
		return false;
	k = tsk_tb_decode(bsrc, data, len, chg, chg_cap, &m);
	if (k == TB_OVERFLOW)
	{
		chg_cap = Max(m.needed, chg_cap * 2);
		chg = book_grow(chg, sizeof(tb_change) * chg_cap);
		k = tsk_tb_decode(bsrc, data, len, chg, chg_cap, &m);
	}
	if (k == TB_CONTROL)
		return false;
	if (k != TB_BOOK)
	{
		snprintf(err, sizeof(err), "book frame: %s", k == TB_ERROR ? m.error : "too many levels");
		book_dead_letter(data, len, received, err);
		/* whose update was lost?  the named books, or (no sequence to tell) all */
		for (int g = 0; g < m.ngroups; g++)
		{
			book_entry *b = book_find(m.groups[g].instrument);

			if (b)
				book_resync(b, received);
		}
		if (m.ngroups == 0 && bsrc == TB_SRC_COINBASE && !memmem(data, len, "\"error\"", 7))
			for (int i = 0; i < nbooks; i++)
				book_resync(&books[i], received);
		return true;
	}
	for (int g = 0; g < m.ngroups; g++)
	{
		const tb_group *grp = &m.groups[g];
		book_entry *b = book_find(grp->instrument);
		int			act;

		if (b == NULL)
		{
			snprintf(err, sizeof(err), "book of instrument \"%s\" is not configured for source %d",
					 grp->instrument, bcfg->id);
			book_dead_letter(data, len, received, err);
			continue;
		}
		act = tsk_tb_sync_apply(&b->sync, grp, chg + grp->first, err, sizeof(err));
		book_act(b, act, err, data, len, received);
	}
	return true;
}

/*
 * tsk_ingest_book_connection
 *	  A new or lost connection: every book starts from its next snapshot.
 */
void
tsk_ingest_book_connection(void)
{
	TimestampTz now = GetCurrentTimestamp();

	tsk_ingest_http_cancel_all();
	tsk_tb_seq_init(&bseq);		/* numbered per connection */
	for (int i = 0; i < nbooks; i++)
	{
		tsk_tb_sync_reset(&books[i].sync);
		books[i].fetching = false;
		books[i].fetch_after = 0;
		books[i].fetch_failures = 0;
		books[i].resub_pending = false;
		book_note_state(&books[i], now);
	}
}

/*
 * book_rest_done
 *	  A REST snapshot arrived (or failed).
 */
static void
book_rest_done(ingest_http_result *r, TimestampTz now)
{
	book_entry *b = r->key >= 0 && r->key < nbooks ? &books[r->key] : NULL;
	char		err[256];

	if (b == NULL)
		return;
	b->fetching = false;
	if (r->error[0] == '\0')
	{
		tb_msg		m;
		tb_kind		k = tsk_tb_decode(TB_SRC_BINANCE_REST, r->body, r->len, chg, chg_cap, &m);

		if (k == TB_OVERFLOW)
		{
			chg_cap = Max(m.needed, chg_cap * 2);
			chg = book_grow(chg, sizeof(tb_change) * chg_cap);
			k = tsk_tb_decode(TB_SRC_BINANCE_REST, r->body, r->len, chg, chg_cap, &m);
		}
		if (k == TB_BOOK && m.ngroups == 1)
		{
			int			act = tsk_tb_sync_rest(&b->sync, &m.groups[0], chg, err, sizeof(err));

			b->fetch_failures = 0;
			if (act & TB_ACT_FETCH_SNAPSHOT)	/* older than the buffer: again, shortly */
				b->fetch_after = TimestampTzPlusMilliseconds(now, 200);
			book_act(b, act & ~TB_ACT_FETCH_SNAPSHOT, err, r->body, r->len, now);
			return;
		}
		snprintf(r->error, sizeof(r->error), "%s", k == TB_ERROR ? m.error : "not a depth snapshot");
	}
	snprintf(err, sizeof(err), "book %s: REST depth snapshot failed: %s",
			 bcfg->instruments[b->index], r->error);
	book_dead_letter(r->body ? r->body : "", r->body ? r->len : 0, now, err);
	b->fetch_failures++;
	b->fetch_after = TimestampTzPlusMilliseconds(now, Min(30000, 1000 << Min(b->fetch_failures - 1, 5)));
}

/*
 * book_rest_tick
 *	  Collect finished snapshots, start wanted ones.
 */
static void
book_rest_tick(TimestampTz now)
{
	ingest_http_result done[INGEST_BOOK_REST_MAX];
	int			n = tsk_ingest_http_poll(done, INGEST_BOOK_REST_MAX);

	for (int i = 0; i < n; i++)
	{
		book_rest_done(&done[i], now);
		free(done[i].body);
	}
	for (int i = 0; i < nbooks && tsk_ingest_http_active() < INGEST_BOOK_REST_MAX; i++)
	{
		book_entry *b = &books[i];
		char		url[2048],
					err[256];

		if (b->fetching || !tsk_tb_sync_wants_snapshot(&b->sync) || now < b->fetch_after)
			continue;
		tsk_ingest_book_rest_url(opt.rest_url, bcfg->url, bcfg->instruments[b->index], opt.rest_limit,
								 url, sizeof(url));
		b->requests++;
		if (tsk_ingest_http_start(i, url, err, sizeof(err)))
			b->fetching = true;
		else
		{
			char		msg[TD_ERROR_MAX + 64];

			snprintf(msg, sizeof(msg), "book %s: REST depth snapshot: %s", bcfg->instruments[i], err);
			book_dead_letter("", 0, now, msg);
			b->fetch_after = TimestampTzPlusMilliseconds(now, 1000);
		}
	}
}

/*
 * book_resubscribe_tick
 *	  Send unsubscribe + subscribe for books that asked for it.
 */
static void
book_resubscribe_tick(ingest_book_send_fn send)
{
	for (int i = 0; i < nbooks; i++)
	{
		book_entry *b = &books[i];
		const char *ins[1];
		char		un[512],
					sub[512];
		bool		adv = bcfg->feed == TD_FEED_COINBASE_ADVANCED;
		int			n1,
					n2;

		if (!b->resub_pending)
			continue;
		ins[0] = bcfg->instruments[b->index];
		if (bsrc == TB_SRC_KRAKEN)
		{
			n1 = tsk_tb_kraken_subscribe(ins, 1, opt.depth, false, un, sizeof(un));
			n2 = tsk_tb_kraken_subscribe(ins, 1, opt.depth, true, sub, sizeof(sub));
		}
		else
		{
			n1 = tsk_tb_coinbase_subscribe(ins, 1, adv, false, un, sizeof(un));
			n2 = tsk_tb_coinbase_subscribe(ins, 1, adv, true, sub, sizeof(sub));
		}
		if (n1 <= 0 || n1 >= (int) sizeof(un) || n2 <= 0 || n2 >= (int) sizeof(sub))
		{
			b->resub_pending = false;	/* cannot happen: names were checked */
			continue;
		}
		b->resub_pending = false;
		if (!send(un) || !send(sub))
			return;				/* no connection: the next one subscribes anyway */
		b->requests++;
	}
}

/*
 * book_sample
 *	  One row per synced book.
 */
static void
book_sample(TimestampTz now)
{
	tb_level   *lv = palloc(sizeof(tb_level) * 2 * opt.levels);

	for (int i = 0; i < nbooks; i++)
	{
		book_entry *b = &books[i];
		tb_sample	s;
		ingest_book_row *r;

		if (b->sync.state != TB_ST_SYNCED)
			continue;
		if (nrows >= INGEST_BOOK_MAX_ROWS)
		{
			/* flushes keep failing: drop the oldest sample, loudly */
			free(rows[0].px);
			memmove(rows, rows + 1, sizeof(ingest_book_row) * (nrows - 1));
			nrows--;
			if (rows_dropped++ % 10000 == 0)
				ereport(WARNING,
						(errmsg("triggerstock ingest source %d: %lld book samples dropped, the flush keeps failing",
								bcfg->id, (long long) rows_dropped)));
		}
		tsk_tb_sync_sample(&b->sync, opt.levels, lv, lv + opt.levels, &s);
		if (nrows == rows_alloc)
		{
			rows_alloc = Min(INGEST_BOOK_MAX_ROWS, Max(256, rows_alloc * 2));
			rows = book_grow(rows, sizeof(ingest_book_row) * rows_alloc);
		}
		r = &rows[nrows];
		{
			const char *ins = bcfg->instruments[b->index],
					   *sym = bcfg->symbols[b->index];
			size_t		nd = 2 * (size_t) (s.nbid + s.nask + 1),
						li = strlen(ins) + 1,
						ls = strlen(sym) + 1;
			char	   *names;

			r->px = book_grow(NULL, sizeof(double) * nd + li + ls);
			r->qty = r->px + s.nbid + s.nask + 1;
			names = (char *) (r->px + nd);
			memcpy(names, ins, li);
			memcpy(names + li, sym, ls);
			r->instrument = names;
			r->symbol = names + li;
		}
		r->ts = now;
		r->event_us = s.event_us;
		r->nbid = s.nbid;
		r->nask = s.nask;
		for (int j = 0; j < s.nbid; j++)
		{
			r->px[j] = tsk_tb_dec_double(lv[j].price);
			r->qty[j] = tsk_tb_dec_double(lv[j].qty);
		}
		for (int j = 0; j < s.nask; j++)
		{
			r->px[s.nbid + j] = tsk_tb_dec_double(lv[opt.levels + j].price);
			r->qty[s.nbid + j] = tsk_tb_dec_double(lv[opt.levels + j].qty);
		}
		r->updates = s.messages;
		r->ofi = s.ofi;
		r->resyncs = s.resyncs;
		nrows++;
		b->samples++;
	}
	pfree(lv);
}

/*
 * book_exit_if_dropped
 *	  After a failed flush: if the extension was dropped, nothing can ever
 *	  be stored again; say what is discarded and exit.
 */
static void
book_exit_if_dropped(void)
{
	if (tsk_worker_extension_exists())
		return;
	ereport(LOG,
			(errmsg("triggerstock ingest worker for source %d exits: the extension was dropped",
					bcfg ? bcfg->id : -1),
			 errdetail("%d order-book samples and %d book dead letters held in memory are discarded.",
					   nrows, nbdead)));
	proc_exit(0);				/* the connection closes at exit (ingest_ws.c) */
}

/*
 * book_flush
 *	  Store samples, states (every state when all_states, else at most
 *	  once a second) and dead letters, within timeout_ms if > 0; on ERROR
 *	  (logged) keep them, and exit if the extension is gone.
 */
static bool
book_flush(bool all_states, int timeout_ms)
{
	ErrorData  *error;
	bool		ok;
	ingest_book_state *st;

	TimestampTz now = GetCurrentTimestamp();
	/* the state rows at most once a second (samples may be every 100 ms) */
	int			nstate = all_states || prune_pending || now - status_at >= USECS_PER_SEC ? nbooks : 0;

	if (bcfg == NULL || (nstate == 0 && nrows == 0 && nbdead == 0 && !prune_pending))
		return true;
	st = palloc(sizeof(ingest_book_state) * Max(nbooks, 1));
	for (int i = 0; i < nstate; i++)
	{
		st[i].instrument = bcfg->instruments[books[i].index];
		st[i].symbol = bcfg->symbols[books[i].index];
		st[i].sync = &books[i].sync;
		st[i].state_since = books[i].state_since;
		st[i].requests = books[i].requests;
		st[i].samples = books[i].samples;
	}
	error = tsk_ingest_book_store(bcfg, rows, nrows, st, nstate, bdead, nbdead,
								  nstate > 0 || prune_pending, timeout_ms);
	pfree(st);
	ok = error == NULL;
	if (!ok)
	{
		FreeErrorData(error);
		book_exit_if_dropped();
	}
	else
	{
		for (int i = 0; i < nrows; i++)
			free(rows[i].px);
		nrows = 0;
		for (int i = 0; i < nbdead; i++)
			free(bdead[i].payload);
		nbdead = 0;
		bdead_first_at = 0;
		prune_pending = false;
		if (nstate > 0)
			status_at = now;
	}
	return ok;
}

/*
 * tsk_ingest_book_flush_now
 *	  Flush everything now, every book state included (SIGTERM, leaving
 *	  the active hours), within timeout_ms if > 0.
 */
bool
tsk_ingest_book_flush_now(int timeout_ms)
{
	return book_flush(true, timeout_ms);
}

/*
 * tsk_ingest_book_tick
 *	  Everything the books need between network waits.
 */
void
tsk_ingest_book_tick(TimestampTz now, ingest_book_send_fn send)
{
	int64		period = (int64) opt.interval_ms * 1000;

	if (!tsk_ingest_book_enabled())
	{
		if ((nrows > 0 || nbdead > 0 || prune_pending) && (flush_retry_at == 0 || now >= flush_retry_at))
			flush_retry_at = book_flush(true, 0) ? 0 : TimestampTzPlusMilliseconds(now, 1000);
		return;
	}
	if (bsrc == TB_SRC_BINANCE)
		book_rest_tick(now);
	book_resubscribe_tick(send);
	for (int i = 0; i < nbooks; i++)
		book_note_state(&books[i], now);
	if (now >= next_sample)
	{
		if (next_sample != 0)
			book_sample(now);
		next_sample = (now / period + 1) * period;
		flush_due = true;
	}
	if (nbdead > 0 && now - bdead_first_at >= (int64) bcfg->flush_ms * 1000)
		flush_due = true;
	if (flush_due && (flush_retry_at == 0 || now >= flush_retry_at))
	{
		if (book_flush(false, 0))
		{
			flush_due = false;
			flush_retry_at = 0;
		}
		else
			flush_retry_at = TimestampTzPlusMilliseconds(now, 1000);
	}
}

/*
 * tsk_ingest_book_timeout
 *	  How long the loop may sleep before the books need a tick.
 */
long
tsk_ingest_book_timeout(TimestampTz now)
{
	long		ms;

	if (!tsk_ingest_book_enabled())
		return (nrows > 0 || nbdead > 0 || prune_pending) ?
			(flush_retry_at ? (long) Max(0, (flush_retry_at - now + 999) / 1000) : 0) : 100000;
	ms = (long) Max(0, (next_sample - now + 999) / 1000);
	if (tsk_ingest_http_active() > 0)
		ms = Min(ms, 10);
	for (int i = 0; i < nbooks; i++)
		if (books[i].resub_pending)
			ms = 0;
		else if (bsrc == TB_SRC_BINANCE && !books[i].fetching && tsk_tb_sync_wants_snapshot(&books[i].sync))
			ms = Min(ms, (long) Max(0, (books[i].fetch_after - now + 999) / 1000));
	if (nbdead > 0)
		ms = Min(ms, (long) Max(0, (bdead_first_at + (int64) bcfg->flush_ms * 1000 - now + 999) / 1000));
	if (flush_retry_at != 0)
		ms = Min(ms, (long) Max(0, (flush_retry_at - now + 999) / 1000));
	return ms;
}

/*
 * tsk_ingest_book_subscribe
 *	  The depth subscription message: Binance SUBSCRIBE (stream URLs have a
 *	  length limit, a message has none that matters), Kraken, Coinbase.
 */
int
tsk_ingest_book_subscribe(const ingest_config *cfg, char *out, size_t outsz)
{
	const char *const *ins = (const char *const *) cfg->instruments;

	if (out && outsz)
		out[0] = '\0';
	if (!opt.enabled)
		return 0;
	if (cfg->decoder == TD_BINANCE)
		return tsk_tb_binance_subscribe(ins, cfg->ninstruments, 17, out, outsz);
	if (cfg->decoder == TD_KRAKEN)
		return tsk_tb_kraken_subscribe(ins, cfg->ninstruments, opt.depth, true, out, outsz);
	if (cfg->decoder == TD_COINBASE)
		return tsk_tb_coinbase_subscribe(ins, cfg->ninstruments, cfg->feed == TD_FEED_COINBASE_ADVANCED,
										 true, out, outsz);
	return 0;
}
