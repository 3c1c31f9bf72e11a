/*
 * ingest.c
 *	  triggerstock_ingest_main: the ingest worker of one source (see
 *	  ingest.h for the files and the invariants they share).
 *
 * The loop, once per wake-up:
 *	1. configuration: a relcache invalidation of triggerstock.sources or
 *	   source_secrets (config_changed() trigger) makes it flush, re-read its
 *	   row and reconnect if anything the connection depends on changed;
 *	2. active hours: outside them it flushes, disconnects and idles
 *	   ("outside-hours");
 *	3. connection: connect when the backoff has passed ("connecting"), then
 *	   "streaming"; a closed or silent connection (no frame for
 *	   triggerstock.ingest_idle_timeout) goes to "backoff": 250 ms doubling
 *	   up to triggerstock.ingest_max_backoff, each pause drawn uniformly from
 *	   its upper half; a frame received resets it.  The network never makes
 *	   the worker exit;
 *	4. service lws without blocking and decode the frames it queued into the
 *	   batch (bad frames become dead letters); plain Binance trade frames
 *	   take the fast path of decode_fast.c, everything else the decoders;
 *	5. flush when the batch holds batch_size trades, when its oldest trade
 *	   has waited flush_ms, or as soon as the socket is drained (nothing
 *	   more to read now): at low rates a trade waits only for its commit,
 *	   under load batches grow by themselves while the previous flush runs;
 *	   a failed flush keeps the batch and is retried;
 *	6. wait on the latch and the socket together (WaitEventSet with
 *	   WL_EXIT_ON_PM_DEATH) until the next deadline.
 * On SIGTERM it flushes what it holds, closes the connection and exits.
 */
#include "postgres.h"

#include <math.h>

#include "access/xact.h"
#include "common/pg_prng.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "tcop/tcopprot.h"
#include "utils/guc.h"
#include "utils/inval.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "bgworker/ingest.h"
#include "bgworker/ingest_book.h"
#include "bgworker/workers.h"
#include "candles/exactsum.h"
#include "common/unix_time.h"
#include "common/bytebuf.h"
#include "guc.h"
#include "ingest/decode_fast.h"

#define INGEST_MAX_DEAD 1024		/* dead letters held between flushes */
#define INGEST_SERVICE_ROUNDS 64	/* lws_service calls per wake-up at most */
#define INGEST_SHUTDOWN_FLUSH_MS 500	/* the last flush's time limit */

PGDLLEXPORT void triggerstock_ingest_main(Datum main_arg);

static ingest_config *cfg = NULL;
static MemoryContext cfg_cxt = NULL;
static volatile bool config_dirty = false;

static ingest_batch batch = {0};
static ingest_dead_letter dead[INGEST_MAX_DEAD];
static int	ndead = 0;
static TimestampTz dead_first_at = 0;
/* triggerstock.dead_letters_per_minute: the current minute's count */
static TimestampTz dead_window_start = 0;
static int	dead_window_count = 0;
static int64 dead_window_dropped = 0;

static td_trade *scratch = NULL;
static int	scratch_cap = 0;
static int	last_symbol = 0;

static TimestampTz flush_retry_at = 0;	/* a failed flush is retried then */

static int64 frames_seen = 0;
static int64 bytes_seen = 0;
static TimestampTz last_frame_at = 0;

/*
 * ingest_relcache_callback
 *	  A watched configuration table changed (or the cache was reset).
 */
static void
ingest_relcache_callback(Datum arg, Oid relid)
{
	if (cfg == NULL || relid == InvalidOid || relid == cfg->watch[0] || relid == cfg->watch[1])
		config_dirty = true;
}

/*
 * ingest_dead_letter_drop
 *	  Count a bad frame that is not kept; the first of each minute is
 *	  logged once with the reason (the count is in ingest_status).
 */
static void
ingest_dead_letter_drop(const char *why, const char *error)
{
	tsk_ingest_stats_dead_dropped(1);
	if (dead_window_dropped++ == 0)
		ereport(LOG,
				(errmsg("triggerstock ingest source %d: bad frames are not kept (%s)", cfg->id, why),
				 errdetail("The first one: %s", error),
				 errhint("ingest_status.dead_letters_dropped counts them; "
						 "see triggerstock.dead_letters_per_minute.")));
}

/*
 * ingest_dead_letter_add
 *	  Queue a frame that could not be stored, with the reason; at most
 *	  triggerstock.dead_letters_per_minute per source and minute, and
 *	  INGEST_MAX_DEAD between two flushes (the others are counted only).
 */
static void
ingest_dead_letter_add(const char *data, size_t len, size_t total_len, TimestampTz received,
					   const char *error)
{
	ingest_dead_letter *d;
	size_t		keep = Min(len, (size_t) tsk_dead_letter_max_bytes);

	if (received - dead_window_start >= USECS_PER_MINUTE || received < dead_window_start)
	{
		dead_window_start = received;
		dead_window_count = 0;
		dead_window_dropped = 0;
	}
	if (tsk_dead_letters_per_minute >= 0 && dead_window_count >= tsk_dead_letters_per_minute)
	{
		ingest_dead_letter_drop("more than triggerstock.dead_letters_per_minute this minute", error);
		return;
	}
	if (ndead >= INGEST_MAX_DEAD)
	{
		ingest_dead_letter_drop("the queue of dead letters waiting for a flush is full", error);
		return;
	}
	dead_window_count++;
	d = &dead[ndead];
	d->payload = malloc(Max(keep, 1));
	if (d->payload == NULL)
		elog(ERROR, "out of memory");
	memcpy(d->payload, data, keep);
	d->len = keep;
	d->total_len = total_len;
	d->received = received;
	strlcpy(d->error, error, sizeof(d->error));
	if (ndead++ == 0)
		dead_first_at = received;
}

/*
 * ingest_dead_letters_clear
 *	  Free the dead letters once stored.
 */
static void
ingest_dead_letters_clear(void)
{
	for (int i = 0; i < ndead; i++)
		free(dead[i].payload);
	ndead = 0;
	dead_first_at = 0;
}

/*
 * ingest_grow
 *	  realloc p to nmemb items of size bytes (tsk_realloc_array), or ERROR.
 */
static void *
ingest_grow(void *p, size_t nmemb, size_t size)
{
	void	   *q = tsk_realloc_array(p, nmemb, size);

	if (q == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("out of memory"),
				 errdetail("Failed on request of %zu items of %zu bytes.", nmemb, size)));
	return q;
}

static bool ingest_try_flush(void);

/*
 * ingest_symbol_index
 *	  Index of an instrument in the configuration (case-insensitive), or -1.
 */
static int
ingest_symbol_index(const char *instrument)
{
	if (last_symbol < cfg->ninstruments &&
		pg_strcasecmp(cfg->instruments[last_symbol], instrument) == 0)
		return last_symbol;
	for (int k = 0; k < cfg->ninstruments; k++)
		if (pg_strcasecmp(cfg->instruments[k], instrument) == 0)
			return last_symbol = k;
	return -1;
}

/*
 * ingest_add_trades
 *	  Append decoded trades to the batch.  Trades of an instrument that is
 *	  not configured, or whose time is outside the window accepted from a
 *	  live source (triggerstock.ingest_max_past before, ingest_max_future
 *	  after the frame's arrival), are skipped; returns false with the
 *	  reason of the first one in error.
 */
static bool
ingest_add_trades(const td_trade *t, int n, TimestampTz received, char *error, size_t errsz)
{
	int64		now_us = tsk_unix_us_from_timestamptz(received);
	int64		lo = tsk_ingest_max_past < 0 ? PG_INT64_MIN : now_us - (int64) tsk_ingest_max_past * USECS_PER_SEC;
	int64		hi = tsk_ingest_max_future < 0 ? PG_INT64_MAX : now_us + (int64) tsk_ingest_max_future * USECS_PER_SEC;
	bool		ok = true;

	if (batch.n + n > batch.cap)
	{
		size_t		cap = tsk_grow_capacity(batch.cap, (size_t) batch.n + n + 1024);

		if (cap == 0 || cap > INT_MAX)
			cap = 0;			/* ingest_grow reports it */
		batch.trades = ingest_grow(batch.trades, cap, sizeof(td_trade));
		batch.symbol_index = ingest_grow(batch.symbol_index, cap, sizeof(int));
		batch.received = ingest_grow(batch.received, cap, sizeof(TimestampTz));
		batch.cap = (int) cap;
	}
	for (int i = 0; i < n; i++)
	{
		int			k = ingest_symbol_index(t[i].instrument);

		if (k < 0 || t[i].ts_us < lo || t[i].ts_us > hi)
		{
			if (ok && k < 0)
				snprintf(error, errsz, "instrument \"%s\" is not configured for source %d",
						 t[i].instrument, cfg->id);
			else if (ok)
				snprintf(error, errsz, "trade time %s is outside the window accepted from a live source "
						 "(triggerstock.ingest_max_past %d s, ingest_max_future %d s around its arrival)",
						 timestamptz_to_str(tsk_timestamptz_from_unix_us(t[i].ts_us)),
						 tsk_ingest_max_past, tsk_ingest_max_future);
			ok = false;
			continue;
		}
		batch.trades[batch.n] = t[i];
		batch.symbol_index[batch.n] = k;
		tsk_ingest_gaps_observe(k, &t[i]);
		batch.received[batch.n] = received;
		if (batch.n++ == 0)
			batch.first_at = received;
		/* batch_size is exact: a full batch is flushed at once, even mid-frame */
		if (batch.n >= cfg->batch_size && flush_retry_at == 0 && !ingest_try_flush())
			flush_retry_at = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), 1000);
	}
	return ok;
}

/*
 * ingest_trades_in_range
 *	  True if every trade fits a candle's exact sums (quantity and price
 *	  times quantity below 2^96); otherwise the reason, naming the trade.
 *	  Such a trade would make every flush of its batch fail.
 */
static bool
ingest_trades_in_range(const td_trade *t, int n, char *error, size_t errsz)
{
	for (int i = 0; i < n; i++)
		if (!(t[i].qty < XSUM_MAX_ADDEND && fabs(t[i].price * t[i].qty) < XSUM_MAX_ADDEND))
		{
			snprintf(error, errsz, "trade %d: quantity %g or price times quantity beyond 2^96", i + 1, t[i].qty);
			return false;
		}
	return true;
}

/*
 * ingest_on_frame
 *	  One complete WebSocket message (called after lws_service returned).
 */
static void
ingest_on_frame(const char *data, size_t len, size_t total_len, bool binary, TimestampTz received)
{
	td_result	res;
	td_kind		kind;
	char		error[TD_ERROR_MAX + 64];

	frames_seen++;
	bytes_seen += total_len;
	last_frame_at = received;
	if (total_len > len)
	{
		snprintf(error, sizeof(error), "message of %zu bytes exceeds triggerstock.ingest_max_frame_bytes (%d)",
				 total_len, tsk_ingest_max_frame_bytes);
		ingest_dead_letter_add(data, len, total_len, received, error);
		return;
	}
	if (binary)
	{
		ingest_dead_letter_add(data, len, total_len, received, "binary message, expected JSON text");
		return;
	}
	/* order books (ingest_book.c) take their depth frames first */
	if (tsk_ingest_book_frame(data, len, received))
		return;
	if (scratch_cap == 0)
	{
		scratch_cap = 64;
		scratch = ingest_grow(scratch, scratch_cap, sizeof(td_trade));
	}
	/* a busy Binance feed is almost all plain trade frames: skip the JSON tree */
	if (cfg->decoder == TD_BINANCE && tsk_td_binance_fast(data, len, &scratch[0]))
	{
		memset(&res, 0, sizeof(res));
		res.kind = kind = TD_TRADES;
		res.ntrades = 1;
	}
	else
		kind = tsk_td_decode(cfg->decoder, &cfg->map, data, len, scratch, scratch_cap, &res);
	if (kind == TD_OVERFLOW)
	{
		size_t		cap = tsk_grow_capacity(scratch_cap, res.needed);

		if (cap > INT_MAX)
			cap = 0;			/* ingest_grow reports it */
		scratch = ingest_grow(scratch, cap, sizeof(td_trade));
		scratch_cap = (int) cap;
		kind = tsk_td_decode(cfg->decoder, &cfg->map, data, len, scratch, scratch_cap, &res);
	}
	if (kind == TD_ERROR || kind == TD_OVERFLOW)
		ingest_dead_letter_add(data, len, total_len, received, kind == TD_ERROR ? res.error : "too many trades");
	else if (kind == TD_TRADES && !ingest_trades_in_range(scratch, res.ntrades, error, sizeof(error)))
		ingest_dead_letter_add(data, len, total_len, received, error);
	else if (kind == TD_TRADES && !ingest_add_trades(scratch, res.ntrades, received, error, sizeof(error)))
		ingest_dead_letter_add(data, len, total_len, received, error);
}

/*
 * ingest_exit_if_dropped
 *	  After a failed flush: if the extension was dropped, nothing can ever
 *	  be stored again; say what is discarded and exit.
 */
static void
ingest_exit_if_dropped(void)
{
	if (tsk_worker_extension_exists())
		return;
	ereport(LOG,
			(errmsg("triggerstock ingest worker for source %d exits: the extension was dropped",
					cfg ? cfg->id : -1),
			 errdetail("%d trades and %d dead letters held in memory are discarded.",
					   batch.n, ndead)));
	tsk_ingest_ws_close();
	proc_exit(0);
}

/*
 * ingest_try_flush_bounded
 *	  Flush batch and dead letters; on ERROR (logged) keep the data and
 *	  return false; exit if the extension is gone.  With timeout_ms > 0 the
 *	  flush is cancelled after that long (at shutdown).
 */
static bool
ingest_try_flush_bounded(int timeout_ms)
{
	ErrorData  *error;

	if (batch.n == 0 && ndead == 0)
		return true;
	error = tsk_ingest_flush(cfg, &batch, dead, ndead, timeout_ms);
	if (error == NULL)
	{
		ingest_dead_letters_clear();
		return true;
	}
	FreeErrorData(error);
	ingest_exit_if_dropped();
	return false;
}

/*
 * ingest_try_flush
 *	  ingest_try_flush_bounded without a time limit.
 */
static bool
ingest_try_flush(void)
{
	return ingest_try_flush_bounded(0);
}

/*
 * ingest_in_hours
 *	  True if now is inside the source's active days and hours (UTC).
 */
static bool
ingest_in_hours(TimestampTz now)
{
	pg_time_t	t = timestamptz_to_time_t(now);
	int64		days = t / SECS_PER_DAY;
	int			sod = (int) (t - days * SECS_PER_DAY);
	int			dow = (int) ((days + 4) % 7);	/* 1970-01-01 was a Thursday */
	int			iso = dow == 0 ? 7 : dow;
	int			from = cfg->active_from_s,
				until = cfg->active_until_s;

	if (cfg->active_days != 0 && (cfg->active_days & (1 << iso)) == 0)
		return false;
	if (!cfg->has_hours || from == until)
		return true;
	return from < until ? (sod >= from && sod < until) : (sod >= from || sod < until);
}

/*
 * ingest_same_connection
 *	  True if two configurations connect and subscribe identically.
 */
static bool
ingest_same_connection(const ingest_config *a, const ingest_config *b)
{
	if (strcmp(a->url, b->url) != 0 || (a->token == NULL) != (b->token == NULL) ||
		(a->token && strcmp(a->token, b->token) != 0) || a->decoder != b->decoder || a->feed != b->feed ||
		a->ninstruments != b->ninstruments || a->tls_skip_hostname_check != b->tls_skip_hostname_check ||
		(a->subscribe == NULL) != (b->subscribe == NULL) ||
		(a->subscribe && strcmp(a->subscribe, b->subscribe) != 0) || a->decoder == TD_GENERIC)
		return false;
	for (int k = 0; k < a->ninstruments; k++)
		if (strcmp(a->instruments[k], b->instruments[k]) != 0)
			return false;
	return true;
}

/*
 * ingest_shutdown
 *	  SIGTERM: store what we hold (trades, then order books) if that can be
 *	  done within INGEST_SHUTDOWN_FLUSH_MS (no lock wait or slow statement
 *	  may delay the exit), then leave.
 */
static void
ingest_shutdown(int32 id)
{
	int			held = batch.n;
	TimestampTz start = GetCurrentTimestamp();
	long		left;

	if (!ingest_try_flush_bounded(INGEST_SHUTDOWN_FLUSH_MS) && held > 0)
		ereport(LOG,
				(errmsg("triggerstock ingest worker for source %d could not store %d trades before exiting",
						id, held)));
	/* the order books get what is left of the same limit */
	left = INGEST_SHUTDOWN_FLUSH_MS - (long) ((GetCurrentTimestamp() - start) / 1000);
	if (!tsk_ingest_book_flush_now((int) Max(left, 50)))
		ereport(LOG,
				(errmsg("triggerstock ingest worker for source %d could not store its order-book samples before exiting",
						id)));
	tsk_ingest_ws_close();
	ereport(LOG, (errmsg("triggerstock ingest worker for source %d stopped", id)));
	proc_exit(0);
}

/*
 * ingest_reload
 *	  Flush, then re-read the configuration; returns true if the
 *	  connection must be made again.  Exits if the source is gone.
 */
static bool
ingest_reload(int32 id)
{
	MemoryContext cxt = AllocSetContextCreate(TopMemoryContext, "triggerstock ingest config",
											  ALLOCSET_SMALL_SIZES);
	ingest_config *fresh;
	bool		reconnect;

	config_dirty = false;
	while (!ingest_try_flush())
	{
		/* the batch still points at the old instruments: keep trying */
		if (ShutdownRequestPending)
			ingest_shutdown(id);
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, 1000L,
						 PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
	}
	if (!tsk_worker_extension_exists())
		ingest_exit_if_dropped();
	fresh = tsk_ingest_load_config(id, cxt);
	if (fresh == NULL || !fresh->enabled)
	{
		ereport(LOG, (errmsg("triggerstock ingest source %d is %s, worker exits",
							 id, fresh ? "disabled" : "gone")));
		tsk_ingest_ws_close();
		proc_exit(0);
	}
	reconnect = cfg == NULL || !ingest_same_connection(cfg, fresh);
	if (cfg_cxt != NULL)
		MemoryContextDelete(cfg_cxt);
	cfg_cxt = cxt;
	cfg = fresh;
	last_symbol = 0;
	tsk_ingest_gaps_configure(cfg);
	if (tsk_ingest_book_configure(cfg))
		reconnect = true;
	return reconnect;
}

/*
 * ingest_backoff_ms
 *	  The pause before attempt number `failures` (>= 1): upper bound
 *	  250 ms * 2^(failures-1), capped, drawn uniformly from its upper half.
 */
static int
ingest_backoff_ms(int failures)
{
	int64		cap = Min((int64) tsk_ingest_max_backoff, (int64) 250 << Min(failures - 1, 20));

	return (int) (cap / 2 + (int64) (pg_prng_double(&pg_global_prng_state) * (cap / 2)));
}

/*
 * ingest_wait
 *	  Sleep until the latch, the socket (if any) or the timeout.
 */
static void
ingest_wait(long timeout_ms)
{
	static WaitEventSet *set = NULL;
	static uint64 set_generation = 0;
	static int	set_fd = -2;
	int			fd = tsk_ingest_ws_fd();
	WaitEvent	event;

	if (set == NULL || set_fd != fd || set_generation != tsk_ingest_ws_generation())
	{
		if (set != NULL)
			FreeWaitEventSet(set);
		set = CreateWaitEventSet(TopMemoryContext, 3);
		AddWaitEventToSet(set, WL_LATCH_SET, PGINVALID_SOCKET, MyLatch, NULL);
		AddWaitEventToSet(set, WL_EXIT_ON_PM_DEATH, PGINVALID_SOCKET, NULL, NULL);
		if (fd >= 0)
			AddWaitEventToSet(set, WL_SOCKET_READABLE, fd, NULL, NULL);
		set_fd = fd;
		set_generation = tsk_ingest_ws_generation();
	}
	if (timeout_ms > 0)
		(void) WaitEventSetWait(set, timeout_ms, &event, 1, PG_WAIT_EXTENSION);
	ResetLatch(MyLatch);
}

/*
 * triggerstock_ingest_main
 *	  Entry point of an ingest worker; its id is the source id.
 */
void
triggerstock_ingest_main(Datum main_arg)
{
	int32		id = tsk_worker_attach(main_arg);
	int			failures = 0;
	TimestampTz next_attempt = 0;
	bool		streaming = false;
	bool		outside = false;

	tsk_ingest_stats_begin(id);
	/* short, repetitive statements: compiling them would cost more than running them */
	SetConfigOption("jit", "off", PGC_SUSET, PGC_S_OVERRIDE);
	CacheRegisterRelcacheCallback(ingest_relcache_callback, (Datum) 0);
	(void) ingest_reload(id);
	ereport(LOG, (errmsg("triggerstock ingest worker for source %d (\"%s\", %s) started",
						 id, cfg->name, cfg->exchange)));

	while (!ShutdownRequestPending)
	{
		TimestampTz now;
		long		timeout;
		ingest_ws_events ev;
		bool		drained;

		CHECK_FOR_INTERRUPTS();
		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
		}
		AcceptInvalidationMessages();
		if (config_dirty && ingest_reload(id))
		{
			tsk_ingest_ws_close();
			streaming = false;
			failures = 0;
			next_attempt = 0;
		}

		now = GetCurrentTimestamp();
		if (!ingest_in_hours(now))
		{
			if (!outside)
			{
				ingest_try_flush();
				tsk_ingest_ws_close();
				tsk_ingest_book_connection();
				(void) tsk_ingest_book_flush_now(0);
				if (streaming)
					tsk_ingest_stats_disconnected(false);
				streaming = false;
				outside = true;
				tsk_worker_set_state(INGEST_STATE_OUTSIDE_HOURS);
			}
			ingest_wait(1000);
			continue;
		}
		if (outside)
		{
			outside = false;
			failures = 0;
			next_attempt = 0;
		}

		if (!tsk_ingest_ws_active() && now >= next_attempt)
		{
			char		err[512];

			tsk_worker_set_state(INGEST_STATE_CONNECTING);
			last_frame_at = now;
			tsk_ingest_book_connection();	/* books start over with the connection */
			if (!tsk_ingest_ws_connect(cfg, err, sizeof(err)))
			{
				failures++;
				next_attempt = TimestampTzPlusMilliseconds(now, ingest_backoff_ms(failures));
				ereport(WARNING, (errmsg("triggerstock ingest source %d: %s", id, err)));
				tsk_worker_set_state(INGEST_STATE_BACKOFF);
			}
		}

		/* receive: bounded rounds, so flushes and signals are not starved */
		drained = false;
		if (tsk_ingest_ws_active() && (flush_retry_at == 0 || batch.n < 4 * cfg->batch_size))
		{
			for (int round = 0; round < INGEST_SERVICE_ROUNDS; round++)
			{
				if (tsk_ingest_ws_service(ingest_on_frame) <= 0)
				{
					drained = true;
					break;
				}
			}
			if (frames_seen > 0)
			{
				tsk_ingest_stats_frames(frames_seen, bytes_seen);
				if (streaming)
					failures = 0;
				frames_seen = bytes_seen = 0;
			}
		}
		tsk_ingest_ws_events_take(&ev);
		now = GetCurrentTimestamp();
		if (ev.established && !ev.closed)
		{
			char		shown[1024];

			streaming = true;
			tsk_ingest_stats_connected(now);
			tsk_worker_set_state(INGEST_STATE_STREAMING);
			tsk_ingest_ws_shown_url(cfg, shown, sizeof(shown));
			ereport(LOG, (errmsg("triggerstock ingest source %d connected to %s", id, shown)));
		}
		if (tsk_ingest_ws_active() && !ev.closed && streaming &&
			now - last_frame_at > (int64) tsk_ingest_idle_timeout * USECS_PER_SEC)
		{
			ev.closed = true;
			snprintf(ev.reason, sizeof(ev.reason), "no message for %d s", tsk_ingest_idle_timeout);
		}
		if (ev.closed)
		{
			tsk_ingest_ws_close();
			tsk_ingest_book_connection();
			failures++;
			next_attempt = TimestampTzPlusMilliseconds(now, ingest_backoff_ms(failures));
			tsk_ingest_stats_disconnected(true);
			streaming = false;
			tsk_worker_set_state(INGEST_STATE_BACKOFF);
			ereport(LOG, (errmsg("triggerstock ingest source %d: %s; reconnecting", id, ev.reason)));
		}

		/* flush by size or age, or retry a failed flush */
		if (flush_retry_at == 0 || now >= flush_retry_at)
		{
			bool		due = batch.n >= cfg->batch_size || (drained && batch.n > 0) ||
				(batch.n > 0 && now - batch.first_at >= (int64) cfg->flush_ms * 1000) ||
				(ndead > 0 && now - dead_first_at >= (int64) cfg->flush_ms * 1000);

			if (due || flush_retry_at != 0)
				flush_retry_at = ingest_try_flush() ? 0 : TimestampTzPlusMilliseconds(now, 1000);
		}

		/* order books: REST snapshots, resubscriptions, samples, their flush */
		tsk_ingest_book_tick(now, tsk_ingest_ws_send);

		/* sleep until the next thing to do */
		if (tsk_ingest_ws_active() && tsk_ingest_ws_wants_service())
			timeout = 0;
		else if (tsk_ingest_ws_active())
			timeout = streaming ? 100 : 10;
		else
			timeout = Max(1, Min(1000, (next_attempt - now) / 1000));
		if (batch.n > 0 || ndead > 0)
		{
			TimestampTz oldest = batch.n > 0 ? batch.first_at : dead_first_at;
			long		left = (long) ((oldest + (int64) cfg->flush_ms * 1000 - now + 999) / 1000);

			timeout = Max(0, Min(timeout, left));
		}
		if (flush_retry_at != 0)
			timeout = Max(0, Min(timeout, (long) ((flush_retry_at - now) / 1000)));
		timeout = Min(timeout, tsk_ingest_book_timeout(now));
		ingest_wait(timeout);
	}

	ingest_shutdown(id);
}
