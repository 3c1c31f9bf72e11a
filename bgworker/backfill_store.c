/*
 * backfill_store.c
 *	  The database side of the backfill jobs in the poll worker: reading
 *	  the queue, and storing one page with its cursor in one short
 *	  transaction (SPI):
 *		1. lock the job's row; a job no longer queued or running (cancelled,
 *		   deleted) stores nothing;
 *		2. trades: create the daily partitions of the page's days (the
 *		   ingest flush's tsk_ingest_partitions), store
 *		   the new rows (replays and overlaps with live trades are no-ops;
 *		   the key includes the job's market) through the ingest worker's
 *		   COPY path (ingest_copy.c), or INSERT ... ON CONFLICT DO NOTHING
 *		   for a small page, and merge the candle of exactly the rows
 *		   stored into their 1-minute candles with store_candles(), the
 *		   one merge the ingest flush uses too (an exchange or file candle
 *		   of the minute is replaced);
 *		   candles: upsert them with origin rest:<endpoint>, never over a
 *		   candle computed from trades;
 *		3. advance the job: cursor, rows, pages, progress (and state).
 *
 * Invariants: called between network waits only; no function here lets an
 * ERROR escape (errors come back as strings, the transaction rolled back,
 * so the page is either stored with its cursor or not at all).
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "postmaster/interrupt.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "bgworker/backfill.h"
#include "bgworker/ingest.h"
#include "bgworker/workers.h"
#include "common/unix_time.h"
#include "schema.h"

/* Pages of at least this many trades take the COPY path (ingest_copy.c). */
#define STORE_COPY_MIN_ROWS 64
/* After SIGTERM a store may take this long before it is cancelled. */
#define STORE_SHUTDOWN_MS 900

/* quote_ident'ed schema of the extension's functions (tsk_extension_schema). */
static char store_schema[2 * NAMEDATALEN + 3] = "public";


/* What runs inside a store transaction. */
typedef void (*store_fn) (void *arg);

/*
 * store_txn
 *	  Run fn(arg) in a transaction with SPI (tsk_worker_xact, the workers'
 *	  one runner; bounded to STORE_SHUTDOWN_MS once SIGTERM has come);
 *	  NULL or the error message (palloc'd in the caller's context) after
 *	  rolling back.
 */
static char *
store_txn(store_fn fn, void *arg, const char *activity)
{
	ErrorData  *edata;

	edata = ShutdownRequestPending
		? tsk_worker_xact_bounded(fn, arg, activity, TSK_XACT_SPI | TSK_XACT_QUIET, STORE_SHUTDOWN_MS)
		: tsk_worker_xact(fn, arg, activity, TSK_XACT_SPI | TSK_XACT_QUIET);
	return edata ? tsk_worker_error_text(edata) : NULL;
}

/* ---- the queue ---------------------------------------------------------- */

typedef struct store_load_arg
{
	MemoryContext cxt;
	List	   *jobs;
} store_load_arg;

/*
 * store_load_in_txn
 *	  Read the queued and running jobs, oldest first.
 */
static void
store_load_in_txn(void *p)
{
	store_load_arg *arg = p;
	char	   *schema;

	schema = tsk_extension_schema();
	if (schema == NULL)
		return;					/* dropped: no queue */
	strlcpy(store_schema, schema, sizeof(store_schema));
	tsk_worker_exec("backfill", "SELECT b.id, b.exchange, b.market, b.instrument, b.symbol, b.endpoint, b.base_url,"
			   " b.range_from, b.range_to, b.from_id, b.to_id, b.options::pg_catalog.text,"
			   " b.source, b.state, b.cursor, b.pages"
			   " FROM triggerstock.backfills b"
			   " WHERE b.state OPERATOR(pg_catalog.=) ANY ('{queued,running}'::pg_catalog.text[])"
			   " ORDER BY b.id", 0, NULL, NULL, NULL, SPI_OK_SELECT);
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		MemoryContext old = MemoryContextSwitchTo(arg->cxt);
		backfill_job *bj = palloc0(sizeof(backfill_job));
		bool		null_from,
					null_to,
					null_fid,
					null_tid,
					isnull;
		Datum		from = SPI_getbinval(tup, desc, 8, &null_from),
					to = SPI_getbinval(tup, desc, 9, &null_to),
					fid = SPI_getbinval(tup, desc, 10, &null_fid),
					tid = SPI_getbinval(tup, desc, 11, &null_tid);
		char	   *cursor;

		bj->id = DatumGetInt64(SPI_getbinval(tup, desc, 1, &isnull));
		bj->exchange = tsk_worker_getstr(i, 2, arg->cxt);
		bj->trade_exchange = bj->exchange;
		bj->market = tsk_worker_getstr(i, 3, arg->cxt);
		bj->instrument = tsk_worker_getstr(i, 4, arg->cxt);
		bj->symbol = tsk_worker_getstr(i, 5, arg->cxt);
		bj->endpoint = tsk_worker_getstr(i, 6, arg->cxt);
		tsk_backfill_build_job(bj, tsk_worker_getstr(i, 3, arg->cxt), tsk_worker_getstr(i, 7, arg->cxt),
							   !null_from && !null_to,
							   null_from ? 0 : DatumGetTimestampTz(from),
							   null_to ? 0 : DatumGetTimestampTz(to),
							   !null_fid && !null_tid,
							   null_fid ? 0 : DatumGetInt64(fid), null_tid ? 0 : DatumGetInt64(tid),
							   tsk_worker_getstr(i, 12, arg->cxt));
		bj->source = DatumGetInt32(SPI_getbinval(tup, desc, 13, &isnull));
		if (isnull)
			bj->source = 0;
		bj->running = strcmp(SPI_getvalue(tup, desc, 14), "running") == 0;
		cursor = SPI_getvalue(tup, desc, 15);
		if (tsk_bf_cursor_parse(cursor, &bj->cur) != 0 && bj->check_error == NULL)
			bj->check_error = psprintf("unreadable cursor \"%s\"", cursor);
		bj->pages = DatumGetInt64(SPI_getbinval(tup, desc, 16, &isnull));
		arg->jobs = lappend(arg->jobs, bj);
		MemoryContextSwitchTo(old);
	}
}

/*
 * tsk_backfill_load_jobs
 *	  See backfill.h.
 */
List *
tsk_backfill_load_jobs(MemoryContext cxt)
{
	store_load_arg arg = {cxt, NIL};
	char	   *err = store_txn(store_load_in_txn, &arg, "triggerstock backfill: reading jobs");

	if (err != NULL)
		ereport(LOG, (errmsg("triggerstock poll worker could not read the backfill jobs: %s", err)));
	return arg.jobs;
}

/* ---- one page ----------------------------------------------------------- */

#define STORE_F8_ARRAY(v, nulls, n) tsk_worker_array(v, nulls, n, FLOAT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE)
#define STORE_I8_ARRAY(v, n) tsk_worker_array(v, NULL, n, INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE)
#define STORE_TS_ARRAY(v, n) tsk_worker_array(v, NULL, n, TIMESTAMPTZOID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE)

/*
 * store_merge_candles
 *	  Merge the candles of a page's new trades (ohlcv[] per minute) into
 *	  the stored 1-minute candles through store_candles(), the one merge
 *	  the ingest flush uses too (an exchange or file candle of those
 *	  minutes is replaced, not merged).
 */
static void
store_merge_candles(Datum symbols, Datum buckets, Datum candles, Oid candles_type)
{
	Oid			types[3] = {TEXTARRAYOID, TIMESTAMPTZARRAYOID, candles_type};
	Datum		args[3] = {symbols, buckets, candles};

	tsk_worker_exec("backfill", psprintf("SELECT %s.store_candles($1, $2, $3, false)", store_schema),
			   3, types, args, NULL, SPI_OK_SELECT);
}

/*
 * store_trades_insert
 *	  Insert the page's trades (ON CONFLICT DO NOTHING) and merge the
 *	  candles of the new ones into their 1-minute candles.  Returns the
 *	  number of new trades.
 */
static int64
store_trades_insert(backfill_page *p)
{
	const td_trade *t = p->trades;
	int			n = p->n;
	Datum	   *ids = palloc(sizeof(Datum) * n),
			   *ts = palloc(sizeof(Datum) * n),
			   *price = palloc(sizeof(Datum) * n),
			   *qty = palloc(sizeof(Datum) * n),
			   *side = palloc(sizeof(Datum) * n);
	bool	   *side_null = palloc(sizeof(bool) * n);
	Datum		buy = CStringGetTextDatum("buy"),
				sell = CStringGetTextDatum("sell");
	Oid			types[9] = {TEXTOID, TEXTOID, TEXTOID, INT8ARRAYOID, TIMESTAMPTZARRAYOID,
	FLOAT8ARRAYOID, FLOAT8ARRAYOID, TEXTARRAYOID, TEXTOID};
	Datum		args[9];
	int			dims[1] = {n};
	int			lbs[1] = {1};
	bool		isnull;
	int64		stored;
	Datum		buckets;

	for (int i = 0; i < n; i++)
	{
		ids[i] = Int64GetDatum(t[i].trade_id);
		ts[i] = TimestampTzGetDatum(t[i].ts_us - TSK_UNIX_EPOCH_SHIFT_US);
		price[i] = Float8GetDatum(t[i].price);
		qty[i] = Float8GetDatum(t[i].qty);
		side[i] = t[i].side == 'b' ? buy : sell;
		side_null[i] = t[i].side == 0;
	}
	args[0] = CStringGetTextDatum(p->bj->trade_exchange);
	args[1] = CStringGetTextDatum(p->bj->instrument);
	args[2] = CStringGetTextDatum(p->bj->symbol);
	args[3] = STORE_I8_ARRAY(ids, n);
	args[4] = STORE_TS_ARRAY(ts, n);
	args[5] = STORE_F8_ARRAY(price, NULL, n);
	args[6] = STORE_F8_ARRAY(qty, NULL, n);
	args[7] = PointerGetDatum(construct_md_array(side, side_null, 1, dims, lbs, TEXTOID, -1, false,
												 TYPALIGN_INT));
	args[8] = CStringGetTextDatum(p->bj->market);
	tsk_worker_exec("backfill", psprintf("WITH ins AS ("
						"  INSERT INTO triggerstock.trades AS t"
						"    (exchange, market, instrument, symbol, trade_id, ts, price, qty, side)"
						"  SELECT $1, $9, $2, $3, u.id, u.ts, u.p, u.q, u.sd"
						"  FROM ROWS FROM (pg_catalog.unnest($4), pg_catalog.unnest($5), pg_catalog.unnest($6),"
						"                  pg_catalog.unnest($7), pg_catalog.unnest($8)) AS u(id, ts, p, q, sd)"
						"  ON CONFLICT DO NOTHING"
						"  RETURNING t.ts, t.price, t.qty, t.trade_id"
						"), fresh AS ("
						"  SELECT pg_catalog.date_bin(INTERVAL '1 minute', ins.ts, TIMESTAMP WITH TIME ZONE 'epoch') AS b,"
						"         %s.ohlcv(ins.ts, ins.price, ins.qty, ins.trade_id) AS c, pg_catalog.count(*) AS n"
						"  FROM ins GROUP BY 1"
						") SELECT coalesce(pg_catalog.sum(fresh.n), 0)::pg_catalog.int8,"
						"         pg_catalog.array_agg(fresh.b), pg_catalog.array_agg(fresh.c),"
						"         pg_catalog.array_agg($3) FROM fresh",
						store_schema), 9, types, args, NULL, SPI_OK_SELECT);
	stored = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	buckets = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull);
	if (stored > 0 && !isnull)
	{
		Datum		candles = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 3, &isnull);

		store_merge_candles(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 4, &isnull),
							buckets, candles, SPI_gettypeid(SPI_tuptable->tupdesc, 3));
	}
	return stored;
}

/*
 * store_trades
 *	  Store the page's new trades and merge their candles.  A page of
 *	  STORE_COPY_MIN_ROWS or more goes through the ingest worker's COPY
 *	  path (ingest_copy.c: dedupe in C, one probe for stored keys, binary
 *	  COPY; candles aggregated in C by ingest_candles.c and merged by the
 *	  same store_candles() call); a smaller page, or one whose COPY met a
 *	  concurrent writer's row, takes the INSERT.  Returns the new trades.
 */
static int64
store_trades(backfill_page *p)
{
	char	   *instrument = p->bj->instrument;
	char	   *symbol = p->bj->symbol;
	ingest_trade_owner own = {p->bj->trade_exchange, p->bj->market, 1, &instrument, &symbol};
	ingest_batch batch = {0};
	ingest_candles *candles;
	int64		stored;

	if (p->n < STORE_COPY_MIN_ROWS)
		return store_trades_insert(p);
	tsk_ingest_copy_prepare();
	tsk_ingest_candles_prepare(store_schema);
	batch.n = batch.cap = p->n;
	batch.trades = (td_trade *) p->trades;
	batch.symbol_index = palloc0(sizeof(int) * p->n);
	candles = tsk_ingest_candles_begin();
	stored = tsk_ingest_copy_trades(&own, &batch, candles);
	if (stored < 0)
		return store_trades_insert(p);
	(void) tsk_ingest_candles_store(candles);
	return stored;
}

/*
 * store_candles
 *	  Upsert the page's exchange candles (never over a trades candle);
 *	  returns the number written.
 */
static int64
store_candles(backfill_page *p)
{
	int			n = p->n;
	Datum	   *cols[8];
	bool	   *vwap_null = palloc(sizeof(bool) * n);
	Oid			types[10] = {TEXTOID, TEXTOID, TIMESTAMPTZARRAYOID, FLOAT8ARRAYOID, FLOAT8ARRAYOID,
	FLOAT8ARRAYOID, FLOAT8ARRAYOID, FLOAT8ARRAYOID, FLOAT8ARRAYOID, INT8ARRAYOID};
	Datum		args[10];
	bool		isnull;

	for (int k = 0; k < 8; k++)
		cols[k] = palloc(sizeof(Datum) * n);
	for (int i = 0; i < n; i++)
	{
		const bf_candle *c = &p->candles[i];

		cols[0][i] = TimestampTzGetDatum(c->open_us - TSK_UNIX_EPOCH_SHIFT_US);
		cols[1][i] = Float8GetDatum(c->open);
		cols[2][i] = Float8GetDatum(c->high);
		cols[3][i] = Float8GetDatum(c->low);
		cols[4][i] = Float8GetDatum(c->close);
		cols[5][i] = Float8GetDatum(c->volume);
		vwap_null[i] = isnan(c->vwap);
		cols[6][i] = Float8GetDatum(vwap_null[i] ? 0 : c->vwap);
		cols[7][i] = Int64GetDatum(Max(c->trades, 0));
	}
	args[0] = CStringGetTextDatum(p->bj->symbol);
	args[1] = CStringGetTextDatum(psprintf("rest:%s", p->bj->endpoint));
	args[2] = STORE_TS_ARRAY(cols[0], n);
	for (int k = 1; k <= 5; k++)
		args[2 + k] = STORE_F8_ARRAY(cols[k], NULL, n);
	args[8] = STORE_F8_ARRAY(cols[6], vwap_null, n);
	args[9] = STORE_I8_ARRAY(cols[7], n);
	tsk_worker_exec("backfill", "WITH w AS ("
			   "  INSERT INTO triggerstock.candles AS k"
			   "    (symbol, width, bucket, open, high, low, close, volume, vwap, trades,"
			   "     open_time, close_time, origin)"
			   "  SELECT $1, INTERVAL '1 minute', u.b, u.o, u.h, u.l, u.c, u.v, u.w, u.n,"
			   "         u.b, u.b OPERATOR(pg_catalog.+) INTERVAL '59.999 seconds', $2"
			   "  FROM ROWS FROM (pg_catalog.unnest($3), pg_catalog.unnest($4), pg_catalog.unnest($5),"
			   "                  pg_catalog.unnest($6), pg_catalog.unnest($7), pg_catalog.unnest($8),"
			   "                  pg_catalog.unnest($9), pg_catalog.unnest($10)) AS u(b, o, h, l, c, v, w, n)"
			   "  ON CONFLICT (symbol, width, bucket) DO UPDATE"
			   "  SET open = EXCLUDED.open, high = EXCLUDED.high, low = EXCLUDED.low,"
			   "      close = EXCLUDED.close, volume = EXCLUDED.volume, vwap = EXCLUDED.vwap,"
			   "      trades = EXCLUDED.trades, open_time = EXCLUDED.open_time,"
			   "      close_time = EXCLUDED.close_time, origin = EXCLUDED.origin"
			   "  WHERE k.origin OPERATOR(pg_catalog.<>) 'trades'"
			   "    AND (k.open, k.high, k.low, k.close, k.volume, k.vwap, k.trades, k.origin)"
			   "        IS DISTINCT FROM (EXCLUDED.open, EXCLUDED.high, EXCLUDED.low, EXCLUDED.close,"
			   "        EXCLUDED.volume, EXCLUDED.vwap, EXCLUDED.trades, EXCLUDED.origin)"
			   "  RETURNING 1"
			   ") SELECT pg_catalog.count(*) FROM w", 10, types, args, NULL, SPI_OK_SELECT);
	return DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
}


/* Days whose partitions this page created (remembered after commit). */
static int64 store_page_days[INGEST_NEW_DAYS];
static int	store_page_ndays = 0;

/*
 * store_page_in_txn
 *	  Lock the job, store the rows, advance the job.
 */
static void
store_page_in_txn(void *arg)
{
	backfill_page *p = arg;
	const bf_step_result *st = p->step;
	Oid			types[6] = {INT8OID, TEXTOID, INT8OID, FLOAT8OID, BOOLOID, INT4OID};
	Datum		args[6];
	char		cursor[BF_CURSOR_MAX * 2];
	char	   *state;
	bool		state_changes;

	store_page_ndays = 0;
	args[0] = Int64GetDatum(p->bj->id);
	tsk_worker_exec("backfill", "SELECT b.state FROM triggerstock.backfills b WHERE b.id OPERATOR(pg_catalog.=) $1 FOR UPDATE",
			   1, types, args, NULL, SPI_OK_SELECT);
	state = SPI_processed == 1 ? SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1) : NULL;
	if (state == NULL || (strcmp(state, "queued") != 0 && strcmp(state, "running") != 0))
	{
		p->cancelled = true;
		return;
	}
	p->stored = 0;
	if (p->n > 0 && p->trades != NULL)
	{
		store_page_ndays = tsk_ingest_partitions(p->trades, p->n, store_page_days);
		p->stored = store_trades(p);
	}
	else if (p->n > 0)
		p->stored = store_candles(p);
	tsk_bf_cursor_format(&st->next, cursor, sizeof(cursor));
	args[1] = CStringGetTextDatum(cursor);
	args[2] = Int64GetDatum(p->stored);
	args[3] = Float8GetDatum(st->progress);
	args[4] = BoolGetDatum(st->done);
	args[5] = Int32GetDatum(p->pages);
	/* only a change of state wakes the launcher (trigger on UPDATE OF state) */
	state_changes = st->done || strcmp(state, "queued") == 0;
	tsk_worker_exec("backfill", state_changes ?
			   "UPDATE triggerstock.backfills SET cursor = $2, rows = rows OPERATOR(pg_catalog.+) $3,"
			   " pages = pages OPERATOR(pg_catalog.+) $6, progress = $4,"
			   " state = CASE WHEN $5 THEN 'done' ELSE 'running' END,"
			   " started_at = coalesce(started_at, pg_catalog.now()),"
			   " finished_at = CASE WHEN $5 THEN pg_catalog.now() END"
			   " WHERE id OPERATOR(pg_catalog.=) $1" :
			   "UPDATE triggerstock.backfills SET cursor = $2, rows = rows OPERATOR(pg_catalog.+) $3,"
			   " pages = pages OPERATOR(pg_catalog.+) $6, progress = $4"
			   " WHERE id OPERATOR(pg_catalog.=) $1 AND $5 IS NOT NULL",
			   6, types, args, NULL, SPI_OK_UPDATE);
}

/*
 * tsk_backfill_store_page
 *	  See backfill.h.
 */
char *
tsk_backfill_store_page(backfill_page *page)
{
	char	   *err = store_txn(store_page_in_txn, page, "triggerstock backfill: storing a page");

	if (err != NULL)
	{
		/* prepared again on the next page (the schema may have changed) */
		tsk_ingest_copy_reset_plans();
		tsk_ingest_candles_reset_plans();
	}
	if (err == NULL)
		tsk_ingest_partitions_committed(store_page_days, store_page_ndays);
	return err;
}

/* ---- errors ------------------------------------------------------------- */

typedef struct store_error_arg
{
	backfill_job *bj;
	const char *error;
	bool		final;
} store_error_arg;

/*
 * store_error_in_txn
 *	  Count the error; a final one fails the job.
 */
static void
store_error_in_txn(void *p)
{
	store_error_arg *a = p;
	Oid			types[2] = {INT8OID, TEXTOID};
	Datum		args[2];

	args[0] = Int64GetDatum(a->bj->id);
	args[1] = CStringGetTextDatum(a->error);
	tsk_worker_exec("backfill", a->final ?
			   "UPDATE triggerstock.backfills SET errors = errors OPERATOR(pg_catalog.+) 1, last_error = $2,"
			   " state = 'failed', finished_at = pg_catalog.now(),"
			   " started_at = coalesce(started_at, pg_catalog.now())"
			   " WHERE id OPERATOR(pg_catalog.=) $1"
			   " AND state OPERATOR(pg_catalog.=) ANY ('{queued,running}'::pg_catalog.text[])" :
			   "UPDATE triggerstock.backfills SET errors = errors OPERATOR(pg_catalog.+) 1, last_error = $2"
			   " WHERE id OPERATOR(pg_catalog.=) $1"
			   " AND state OPERATOR(pg_catalog.=) ANY ('{queued,running}'::pg_catalog.text[])",
			   2, types, args, NULL, SPI_OK_UPDATE);
}

/*
 * tsk_backfill_record_error
 *	  See backfill.h.
 */
void
tsk_backfill_record_error(backfill_job *bj, const char *error, bool final)
{
	store_error_arg a = {bj, error, final};
	char	   *err = store_txn(store_error_in_txn, &a, "triggerstock backfill: recording an error");

	if (err != NULL)
		ereport(LOG,
				(errmsg("triggerstock backfill job %lld: could not record its error: %s",
						(long long) bj->id, err)));
}
