/*
 * ingest_stats.c
 *	  The ingest workers' shared-memory counters (one entry per
 *	  launcher worker slot, indexed by tsk_worker_slot_index) and the SQL
 *	  functions ingest_stats(), canonical_symbol() and redact_url().
 *
 * Invariants:
 *	- only the worker owning a slot writes its entry, under the entry's
 *	  spinlock, and never calls anything that can fail while holding it;
 *	  readers copy the entry under the same spinlock;
 *	- tsk_ingest_stats_begin() clears the entry when a worker starts, so
 *	  counters describe the current worker process;
 *	- latencies go into a fixed log-scale histogram (4 buckets per power of
 *	  two of microseconds), percentiles are read from it: +-19% resolution,
 *	  constant memory, no allocation on the hot path.
 */
#include "postgres.h"

#include <math.h>

#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "storage/ipc.h"
#include "storage/shmem.h"
#include "storage/spin.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/timestamp.h"

#include "bgworker/ingest.h"
#include "bgworker/workers.h"
#include "ingest/ws_url.h"

#define INGEST_LATENCY_BUCKETS 100	/* 2^(100/4) us ~ 33 s */

/* Counters of one ingest worker. */
typedef struct ingest_slot_stats
{
	slock_t		mutex;
	int32		source;			/* 0: slot not used by an ingest worker */
	TimestampTz connected_since;	/* 0 while not connected */
	int64		frames;
	int64		bytes;
	int64		trades;			/* rows stored */
	int64		duplicates;		/* trades skipped by the unique key */
	int64		dead_letters;
	int64		dead_letters_dropped;	/* bad frames counted, not stored */
	int64		reconnects;
	int64		flushes;
	TimestampTz last_trade_at;	/* exchange time of the newest stored trade */
	TimestampTz last_commit_at;
	uint64		latency[INGEST_LATENCY_BUCKETS];
} ingest_slot_stats;


static ingest_slot_stats *ingest_shared = NULL;
static shmem_request_hook_type ingest_prev_shmem_request = NULL;
static shmem_startup_hook_type ingest_prev_shmem_startup = NULL;

extern PGDLLEXPORT Datum ingest_stats(PG_FUNCTION_ARGS);
PG_FUNCTION_INFO_V1(ingest_stats);
extern PGDLLEXPORT Datum canonical_symbol(PG_FUNCTION_ARGS);
PG_FUNCTION_INFO_V1(canonical_symbol);
extern PGDLLEXPORT Datum redact_url(PG_FUNCTION_ARGS);
PG_FUNCTION_INFO_V1(redact_url);


/*
 * ingest_shmem_size
 *	  Bytes of the counters: one entry per worker slot.
 */
static Size
ingest_shmem_size(void)
{
	return mul_size(sizeof(ingest_slot_stats), tsk_worker_slots());
}

/*
 * ingest_shmem_request
 *	  shmem_request_hook: reserve the counters.
 */
static void
ingest_shmem_request(void)
{
	if (ingest_prev_shmem_request)
		ingest_prev_shmem_request();
	RequestAddinShmemSpace(ingest_shmem_size());
}

/*
 * ingest_shmem_startup
 *	  shmem_startup_hook: create or attach to the counters.
 */
static void
ingest_shmem_startup(void)
{
	bool		found;

	if (ingest_prev_shmem_startup)
		ingest_prev_shmem_startup();
	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	ingest_shared = ShmemInitStruct("triggerstock ingest", ingest_shmem_size(), &found);
	if (!found)
	{
		memset(ingest_shared, 0, ingest_shmem_size());
		for (int i = 0; i < tsk_worker_slots(); i++)
			SpinLockInit(&ingest_shared[i].mutex);
	}
	LWLockRelease(AddinShmemInitLock);
}

/*
 * tsk_ingest_preload
 *	  Chain the shared memory hooks; called from _PG_init after
 *	  tsk_workers_preload (so the slot count is known).
 */
void
tsk_ingest_preload(void)
{
	ingest_prev_shmem_request = shmem_request_hook;
	shmem_request_hook = ingest_shmem_request;
	ingest_prev_shmem_startup = shmem_startup_hook;
	shmem_startup_hook = ingest_shmem_startup;
}

/*
 * ingest_my_stats
 *	  The current worker's entry.
 */
static ingest_slot_stats *
ingest_my_stats(void)
{
	Assert(ingest_shared != NULL && tsk_worker_slot_index >= 0);
	return &ingest_shared[tsk_worker_slot_index];
}

/*
 * tsk_ingest_stats_begin
 *	  A worker starts: clear its entry and tag it with the source id.
 */
void
tsk_ingest_stats_begin(int32 source)
{
	ingest_slot_stats *s = ingest_my_stats();

	SpinLockAcquire(&s->mutex);
	memset(((char *) s) + offsetof(ingest_slot_stats, source), 0,
		   sizeof(*s) - offsetof(ingest_slot_stats, source));
	s->source = source;
	SpinLockRelease(&s->mutex);
}

/*
 * tsk_ingest_stats_connected
 *	  The WebSocket handshake completed at `since`.
 */
void
tsk_ingest_stats_connected(TimestampTz since)
{
	ingest_slot_stats *s = ingest_my_stats();

	SpinLockAcquire(&s->mutex);
	s->connected_since = since;
	SpinLockRelease(&s->mutex);
}

/*
 * tsk_ingest_stats_disconnected
 *	  The connection is gone; count a reconnect if another attempt follows.
 */
void
tsk_ingest_stats_disconnected(bool reconnect)
{
	ingest_slot_stats *s = ingest_my_stats();

	SpinLockAcquire(&s->mutex);
	s->connected_since = 0;
	if (reconnect)
		s->reconnects++;
	SpinLockRelease(&s->mutex);
}

/*
 * tsk_ingest_stats_frames
 *	  Frames and bytes received.
 */
void
tsk_ingest_stats_frames(int64 frames, int64 bytes)
{
	ingest_slot_stats *s = ingest_my_stats();

	SpinLockAcquire(&s->mutex);
	s->frames += frames;
	s->bytes += bytes;
	SpinLockRelease(&s->mutex);
}

/*
 * tsk_ingest_stats_dead_dropped
 *	  Bad frames that were counted but not kept.
 */
void
tsk_ingest_stats_dead_dropped(int64 n)
{
	ingest_slot_stats *s = ingest_my_stats();

	SpinLockAcquire(&s->mutex);
	s->dead_letters_dropped += n;
	SpinLockRelease(&s->mutex);
}

/*
 * ingest_latency_bucket
 *	  Histogram bucket of a latency in microseconds: 4 per power of two.
 */
static int
ingest_latency_bucket(int64 us)
{
	int			b;

	if (us < 1)
		return 0;
	b = (int) floor(4.0 * log2((double) us)) + 1;
	return Min(b, INGEST_LATENCY_BUCKETS - 1);
}

/*
 * tsk_ingest_stats_committed
 *	  A flush committed: `stored` new rows (of n trades, whose frames arrived
 *	  at received[]), `dead_letters` dead letters; latency is measured from
 *	  arrival to now, after the commit.
 */
void
tsk_ingest_stats_committed(int64 stored, int64 dead_letters, const TimestampTz *received,
					   int n, int64 last_trade_us)
{
	ingest_slot_stats *s = ingest_my_stats();
	TimestampTz now = GetCurrentTimestamp();
	uint64		hist[INGEST_LATENCY_BUCKETS] = {0};

	for (int i = 0; i < n; i++)
		hist[ingest_latency_bucket(now - received[i])]++;

	SpinLockAcquire(&s->mutex);
	s->trades += stored;
	s->duplicates += n - stored;
	s->dead_letters += dead_letters;
	s->flushes++;
	s->last_commit_at = now;
	if (n > 0 && last_trade_us > s->last_trade_at)
		s->last_trade_at = last_trade_us;
	for (int b = 0; b < INGEST_LATENCY_BUCKETS; b++)
		s->latency[b] += hist[b];
	SpinLockRelease(&s->mutex);
}

/*
 * ingest_percentile_ms
 *	  Upper bound in milliseconds of the bucket holding quantile q, or -1
 *	  when nothing was measured.
 */
static double
ingest_percentile_ms(const uint64 *hist, double q)
{
	uint64		total = 0,
				seen = 0;

	for (int b = 0; b < INGEST_LATENCY_BUCKETS; b++)
		total += hist[b];
	if (total == 0)
		return -1;
	for (int b = 0; b < INGEST_LATENCY_BUCKETS; b++)
	{
		seen += hist[b];
		if ((double) seen >= q * (double) total)
			return b == 0 ? 0.001 : pow(2.0, b / 4.0) / 1000.0;
	}
	return pow(2.0, INGEST_LATENCY_BUCKETS / 4.0) / 1000.0;
}

/*
 * ingest_stats() -> setof (source, pid, state, state_since, connected_since,
 *	  frames, bytes, trades, duplicates, dead_letters, reconnects, flushes,
 *	  last_trade_at, last_commit_at, latency_p50_ms, latency_p99_ms,
 *	  dead_letters_dropped)
 *	  The counters of every running or stopped ingest worker; no rows when
 *	  the library is not preloaded or outside the launcher's database.
 */
Datum
ingest_stats(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;

	InitMaterializedSRF(fcinfo, 0);
	/* source ids belong to the launcher's database */
	if (tsk_shared == NULL || ingest_shared == NULL ||
		tsk_shared->database != MyDatabaseId)
		return (Datum) 0;

	for (int i = 0; i < tsk_shared->nslots; i++)
	{
		worker_slot_t slot;
		ingest_slot_stats s;
		Datum		values[17];
		bool		nulls[17] = {false};
		double		p50,
					p99;

		LWLockAcquire(tsk_shared->lock, LW_SHARED);
		slot = tsk_shared->slots[i];
		LWLockRelease(tsk_shared->lock);
		if (!slot.in_use || strcmp(slot.kind, "ingest") != 0)
			continue;
		SpinLockAcquire(&ingest_shared[i].mutex);
		memcpy(&s, &ingest_shared[i], sizeof(s));
		SpinLockRelease(&ingest_shared[i].mutex);
		if (s.source != slot.id)	/* not started yet: no counters of its own */
			memset(&s, 0, sizeof(s));

		values[0] = Int32GetDatum(slot.id);
		values[1] = Int32GetDatum(slot.pid);
		nulls[1] = slot.pid == 0;
		values[2] = CStringGetTextDatum(tsk_worker_slot_state(&slot));
		values[3] = TimestampTzGetDatum(slot.state_since);
		nulls[3] = slot.state_since == 0;
		values[4] = TimestampTzGetDatum(s.connected_since);
		nulls[4] = s.connected_since == 0 || slot.pid == 0;
		values[5] = Int64GetDatum(s.frames);
		values[6] = Int64GetDatum(s.bytes);
		values[7] = Int64GetDatum(s.trades);
		values[8] = Int64GetDatum(s.duplicates);
		values[9] = Int64GetDatum(s.dead_letters);
		values[10] = Int64GetDatum(s.reconnects);
		values[11] = Int64GetDatum(s.flushes);
		values[12] = TimestampTzGetDatum(s.last_trade_at);
		nulls[12] = s.last_trade_at == 0;
		values[13] = TimestampTzGetDatum(s.last_commit_at);
		nulls[13] = s.last_commit_at == 0;
		p50 = ingest_percentile_ms(s.latency, 0.50);
		p99 = ingest_percentile_ms(s.latency, 0.99);
		values[14] = Float8GetDatum(p50);
		nulls[14] = p50 < 0;
		values[15] = Float8GetDatum(p99);
		nulls[15] = p99 < 0;
		values[16] = Int64GetDatum(s.dead_letters_dropped);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	/* sources planned without a slot (triggerstock.max_workers) */
	LWLockAcquire(tsk_shared->lock, LW_SHARED);
	for (int i = 0; i < tsk_shared->nunplaced; i++)
	{
		Datum		values[17];
		bool		nulls[17];

		if (strcmp(tsk_shared->unplaced[i].kind, "ingest") != 0)
			continue;
		memset(values, 0, sizeof(values));
		memset(nulls, true, sizeof(nulls));
		values[0] = Int32GetDatum(tsk_shared->unplaced[i].id);
		nulls[0] = false;
		values[2] = CStringGetTextDatum(TS_WORKER_STATE_NO_SLOT);
		nulls[2] = false;
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	LWLockRelease(tsk_shared->lock);
	return (Datum) 0;
}

/*
 * canonical_symbol(instrument text) -> text
 *	  The default canonical symbol of an exchange instrument (BTCUSDT,
 *	  XBT/USD, BTC-USD -> BTC); the rule is tsk_td_canonical_symbol's.
 */
Datum
canonical_symbol(PG_FUNCTION_ARGS)
{
	char	   *native = text_to_cstring(PG_GETARG_TEXT_PP(0));
	char		out[TD_INSTRUMENT_MAX];

	if (tsk_td_canonical_symbol(native, out, sizeof(out)) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid instrument name \"%s\"", native),
				 errhint("An instrument is 1 to 63 printable ASCII characters, such as BTCUSDT or XBT/USD.")));
	PG_RETURN_TEXT_P(cstring_to_text(out));
}

/*
 * redact_url(url text) -> text
 *	  The URL as logs and errors show it: credentials replaced by ***
 *	  (tsk_ws_url_redact).
 */
Datum
redact_url(PG_FUNCTION_ARGS)
{
	char	   *url = text_to_cstring(PG_GETARG_TEXT_PP(0));
	size_t		size = strlen(url) + 64;
	char	   *out = palloc(size);

	tsk_ws_url_redact(url, NULL, out, size);
	PG_RETURN_TEXT_P(cstring_to_text(out));
}
