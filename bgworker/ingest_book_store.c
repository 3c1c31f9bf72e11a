/*
 * ingest_book_store.c
 *	  The SQL of the ingest worker's order books (see ingest_book.h): the
 *	  book options of a source, and one short transaction that stores the
 *	  samples (triggerstock.book_snapshots, creating the daily partitions of
 *	  days not seen before), the book states (triggerstock.book_status,
 *	  upserted; rows of instruments no longer configured deleted) and the
 *	  book dead letters.
 *
 * Invariants:
 *	- called between network waits only, never with a transaction open;
 *	- an ERROR leaves the caller's data untouched (it retries) and drops the
 *	  prepared plans, prepared again on the next flush;
 *	- samples are unique on (exchange, market, instrument, ts): a retried flush
 *	  inserts nothing twice (ON CONFLICT DO NOTHING);
 *	- every statement schema-qualifies what it calls.
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "pgstat.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "bgworker/ingest_book.h"
#include "bgworker/workers.h"

#define BOOK_EPOCH_SHIFT_US INT64CONST(946684800000000)
#define BOOK_DAY_US INT64CONST(86400000000)
#define BOOK_KNOWN_DAYS 32

static SPIPlanPtr store_row_plan = NULL;
static SPIPlanPtr store_status_plan = NULL;
static SPIPlanPtr store_prune_plan = NULL;
static SPIPlanPtr store_dead_plan = NULL;
static SPIPlanPtr store_partition_plan = NULL;
static MemoryContext store_cxt = NULL;
static TimestampTz store_known_days[BOOK_KNOWN_DAYS];
static int	store_nknown = 0;

/*
 * store_option_int
 *	  An integer option (column col), its default, checked against a range.
 */
static int
store_option_int(int32 source, int col, const char *name, int dflt, int lo, int hi)
{
	bool		isnull;
	Datum		d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, col, &isnull);
	int			v = isnull ? dflt : DatumGetInt32(d);

	if (v < lo || v > hi)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("source %d has option %s = %d, outside %d..%d", source, name, v, lo, hi),
				 errhint("Set sources.options->'%s' to a value in the range, or remove it for the default %d.",
						 name, dflt)));
	return v;
}

/* What options_in_xact reads, and into where. */
typedef struct options_call
{
	int32		source;
	ingest_book_options *opt;
	bool		found;
} options_call;

/*
 * options_in_xact
 *	  tsk_worker_xact callback of tsk_ingest_book_load_options.
 */
static void
options_in_xact(void *p)
{
	options_call *call = p;
	int32		source = call->source;
	ingest_book_options *opt = call->opt;
	Datum		arg = Int32GetDatum(source);
	Oid			argtype = INT4OID;
	int			ret;

	ret = SPI_execute_with_args(
		"SELECT coalesce((s.options OPERATOR(pg_catalog.->>) 'book')::pg_catalog.bool, false),"
		" coalesce((s.options OPERATOR(pg_catalog.->>) 'trades')::pg_catalog.bool, true),"
		" (s.options OPERATOR(pg_catalog.->>) 'book_levels')::pg_catalog.int4,"
		" (s.options OPERATOR(pg_catalog.->>) 'book_interval_ms')::pg_catalog.int4,"
		" (s.options OPERATOR(pg_catalog.->>) 'book_max_levels')::pg_catalog.int4,"
		" (s.options OPERATOR(pg_catalog.->>) 'book_depth')::pg_catalog.int4,"
		" (s.options OPERATOR(pg_catalog.->>) 'book_rest_limit')::pg_catalog.int4,"
		" s.options OPERATOR(pg_catalog.->>) 'book_rest_url'"
		" FROM triggerstock.sources s WHERE s.id OPERATOR(pg_catalog.=) $1",
		1, &argtype, &arg, NULL, true, 1);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "SPI_execute failed: %s", SPI_result_code_string(ret));
	if (SPI_processed == 1)
	{
		bool		isnull;
		char	   *url;

		call->found = true;
		opt->enabled = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
		opt->trades = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull));
		opt->levels = store_option_int(source, 3, "book_levels", 10, 1, INGEST_BOOK_MAX_LEVELS);
		opt->interval_ms = store_option_int(source, 4, "book_interval_ms", 1000, 100, 3600000);
		opt->max_levels = store_option_int(source, 5, "book_max_levels", 5000, 10, TB_MAX_LEVELS_LIMIT);
		opt->depth = store_option_int(source, 6, "book_depth", 100, 10, 1000);
		opt->rest_limit = store_option_int(source, 7, "book_rest_limit", 1000, 5, 5000);
		url = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 8);
		if (url != NULL)
		{
			if (strlen(url) >= sizeof(opt->rest_url) - 64 ||
				(strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0))
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("source %d has an unusable book_rest_url", source),
						 errhint("Give an http:// or https:// URL shorter than 900 bytes, such as https://api.binance.com/api/v3/depth.")));
			strlcpy(opt->rest_url, url, sizeof(opt->rest_url));
		}
		if (!opt->trades && !opt->enabled)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("source %d has neither trades nor order books", source),
					 errhint("Set options->'book' to true, or remove options->'trades'.")));
		/* a Kraken book of depth D holds D levels a side */
		opt->max_levels = Max(opt->max_levels, opt->depth);
	}
}

/*
 * tsk_ingest_book_load_options
 *	  Read sources.options of one source (own transaction); false if the
 *	  source is gone.  Bad values raise an ERROR.
 */
bool
tsk_ingest_book_load_options(int32 source, ingest_book_options *opt)
{
	options_call call = {source, opt, false};
	ErrorData  *error;

	memset(opt, 0, sizeof(*opt));
	error = tsk_worker_xact(options_in_xact, &call, "triggerstock ingest: reading the book options",
							TSK_XACT_SPI | TSK_XACT_QUIET);
	if (error != NULL)
		ReThrowError(error);
	return call.found;
}

/*
 * store_prepare_plans
 *	  The statements of a flush, once per worker.
 */
static void
store_prepare_plans(void)
{
	Oid			row_types[14] = {TEXTOID, TEXTOID, TEXTARRAYOID, TEXTARRAYOID, TIMESTAMPTZARRAYOID,
		TIMESTAMPTZARRAYOID, FLOAT8ARRAYOID, FLOAT8ARRAYOID, INT4ARRAYOID, INT4ARRAYOID, INT4ARRAYOID,
	INT4ARRAYOID, FLOAT8ARRAYOID, INT4ARRAYOID};
	Oid			status_types[22] = {INT4OID, TEXTOID, TEXTOID, TEXTOID, TIMESTAMPTZOID, INT4OID, INT4OID,
		INT8OID, INT8OID, INT8OID, INT8OID, INT8OID, INT8OID, INT8OID, INT8OID, INT8OID, INT8OID,
	INT8OID, INT8OID, INT8OID, TIMESTAMPTZOID, TIMESTAMPTZOID};
	Oid			prune_types[2] = {INT4OID, TEXTARRAYOID};
	Oid			dead_types[5] = {INT4OID, TIMESTAMPTZOID, BYTEAOID, INT4OID, TEXTOID};
	Oid			day_types[1] = {TIMESTAMPTZOID};
	char	   *schema;
	int			ret;

	if (store_row_plan != NULL)
		return;
	ret = SPI_execute("SELECT n.nspname FROM pg_catalog.pg_extension e "
					  "JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) e.extnamespace "
					  "WHERE e.extname OPERATOR(pg_catalog.=) 'triggerstock'", true, 1);
	if (ret != SPI_OK_SELECT || SPI_processed != 1)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("extension \"triggerstock\" is not installed in this database"),
				 errhint("Run CREATE EXTENSION triggerstock in the database named by triggerstock.database.")));
	schema = pstrdup(quote_identifier(SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1)));
	/*
	 * every sample of a flush in one statement (one firing of the statement
	 * trigger on book_snapshots): the levels of all rows travel as one flat
	 * price and one flat quantity array, each row taking its slice ($9: the
	 * 1-based offset of its bids, $10 and $11: bid and ask counts)
	 */
	store_row_plan = tsk_worker_keep_plan(
		"INSERT INTO triggerstock.book_snapshots (exchange, instrument, symbol, ts, event_ts,"
		" bid_price, bid_qty, ask_price, ask_qty, updates, ofi, resyncs, market)"
		" SELECT $1, u.i, u.s, u.ts, u.ev,"
		" ($7)[u.o : u.o OPERATOR(pg_catalog.+) u.nb OPERATOR(pg_catalog.-) 1],"
		" ($8)[u.o : u.o OPERATOR(pg_catalog.+) u.nb OPERATOR(pg_catalog.-) 1],"
		" ($7)[u.o OPERATOR(pg_catalog.+) u.nb : u.o OPERATOR(pg_catalog.+) u.nb OPERATOR(pg_catalog.+) u.na"
		" OPERATOR(pg_catalog.-) 1],"
		" ($8)[u.o OPERATOR(pg_catalog.+) u.nb : u.o OPERATOR(pg_catalog.+) u.nb OPERATOR(pg_catalog.+) u.na"
		" OPERATOR(pg_catalog.-) 1],"
		" u.up, u.ofi, u.rs, $2"
		" FROM ROWS FROM (pg_catalog.unnest($3), pg_catalog.unnest($4), pg_catalog.unnest($5),"
		" pg_catalog.unnest($6), pg_catalog.unnest($9), pg_catalog.unnest($10), pg_catalog.unnest($11),"
		" pg_catalog.unnest($12), pg_catalog.unnest($13), pg_catalog.unnest($14))"
		" AS u(i, s, ts, ev, o, nb, na, up, ofi, rs)"
		" ON CONFLICT DO NOTHING",
		14, row_types, 0);
	store_status_plan = tsk_worker_keep_plan(
		"INSERT INTO triggerstock.book_status AS b (source, instrument, symbol, state, state_since,"
		" levels_bid, levels_ask, messages, snapshots, resyncs, gaps, checksum_ok, checksum_failures,"
		" stale, skipped, levels_evicted, levels_refused, crossed, snapshot_requests, samples,"
		" last_event_at, updated_at)"
		" VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18,"
		" $19, $20, $21, $22)"
		" ON CONFLICT (source, instrument) DO UPDATE SET symbol = EXCLUDED.symbol, state = EXCLUDED.state,"
		" state_since = EXCLUDED.state_since, levels_bid = EXCLUDED.levels_bid,"
		" levels_ask = EXCLUDED.levels_ask, messages = EXCLUDED.messages, snapshots = EXCLUDED.snapshots,"
		" resyncs = EXCLUDED.resyncs, gaps = EXCLUDED.gaps, checksum_ok = EXCLUDED.checksum_ok,"
		" checksum_failures = EXCLUDED.checksum_failures, stale = EXCLUDED.stale,"
		" skipped = EXCLUDED.skipped, levels_evicted = EXCLUDED.levels_evicted,"
		" levels_refused = EXCLUDED.levels_refused, crossed = EXCLUDED.crossed,"
		" snapshot_requests = EXCLUDED.snapshot_requests, samples = EXCLUDED.samples,"
		" last_event_at = EXCLUDED.last_event_at, updated_at = EXCLUDED.updated_at",
		22, status_types, 0);
	store_prune_plan = tsk_worker_keep_plan(
		"DELETE FROM triggerstock.book_status b WHERE b.source OPERATOR(pg_catalog.=) $1"
		" AND b.instrument OPERATOR(pg_catalog.<>) ALL ($2)", 2, prune_types, 0);
	store_dead_plan = tsk_worker_keep_plan(
		"INSERT INTO triggerstock.dead_letters (source, received_at, payload, payload_bytes, error) "
		"VALUES ($1, $2, $3, $4, $5)", 5, dead_types, 0);
	store_partition_plan = tsk_worker_keep_plan(psprintf(
		"SELECT pg_catalog.count(*) FROM %s.create_book_partitions($1, $1)", schema), 1, day_types, 0);
}

/*
 * tsk_ingest_book_store_reset
 *	  Forget the prepared plans (after an ERROR).
 */
void
tsk_ingest_book_store_reset(void)
{
	SPIPlanPtr *plans[5] = {&store_row_plan, &store_status_plan, &store_prune_plan, &store_dead_plan,
	&store_partition_plan};

	for (int i = 0; i < 5; i++)
		if (*plans[i] != NULL)
		{
			SPI_freeplan(*plans[i]);
			*plans[i] = NULL;
		}
}

/*
 * store_partitions
 *	  Create the partitions of the rows' days not seen before; returns
 *	  those days (remembered after commit).
 */
static int
store_partitions(const ingest_book_row *rows, int nrows, TimestampTz *days)
{
	int			n = 0;

	for (int i = 0; i < nrows && n < 8; i++)
	{
		TimestampTz day = rows[i].ts - ((rows[i].ts + BOOK_EPOCH_SHIFT_US) % BOOK_DAY_US);
		bool		dup = false;

		for (int j = 0; j < Min(store_nknown, BOOK_KNOWN_DAYS) && !dup; j++)
			dup = store_known_days[j] == day;
		for (int j = 0; j < n && !dup; j++)
			dup = days[j] == day;
		if (!dup)
			days[n++] = day;
	}
	for (int j = 0; j < n; j++)
	{
		Datum		arg = TimestampTzGetDatum(days[j]);

		if (SPI_execute_plan(store_partition_plan, &arg, NULL, false, 1) != SPI_OK_SELECT)
			elog(ERROR, "create_book_partitions failed");
	}
	return n;
}

/* The arguments of store_in_xact. */
typedef struct store_call
{
	const ingest_config *cfg;
	const ingest_book_row *rows;
	int			nrows;
	const ingest_book_state *books;
	int			nbooks;
	const ingest_dead_letter *dead;
	int			ndead;
	bool		prune;
	TimestampTz days[8];		/* partitions created (out) */
	int			ndays;
} store_call;

/*
 * store_rows
 *	  Insert the samples with store_row_plan (one statement).
 */
static void
store_rows(const ingest_book_row *rows, int nrows, Datum exchange, Datum market)
{
	Datum	   *ins = palloc(sizeof(Datum) * nrows),
			   *sym = palloc(sizeof(Datum) * nrows),
			   *ts = palloc(sizeof(Datum) * nrows),
			   *ev = palloc(sizeof(Datum) * nrows),
			   *off = palloc(sizeof(Datum) * nrows),
			   *nb = palloc(sizeof(Datum) * nrows),
			   *na = palloc(sizeof(Datum) * nrows),
			   *up = palloc(sizeof(Datum) * nrows),
			   *ofi = palloc(sizeof(Datum) * nrows),
			   *rs = palloc(sizeof(Datum) * nrows),
			   *px,
			   *qty;
	bool	   *evnull = palloc(sizeof(bool) * nrows);
	int64		nlev = 0;
	int			k = 0,
				dims[1],
				lbs[1] = {1};
	Datum		a[14];

	for (int i = 0; i < nrows; i++)
		nlev += rows[i].nbid + rows[i].nask;
	if (nlev >= PG_INT32_MAX / 2)
		elog(ERROR, "too many book levels in one flush");
	px = palloc(sizeof(Datum) * Max(nlev, 1));
	qty = palloc(sizeof(Datum) * Max(nlev, 1));
	for (int i = 0; i < nrows; i++)
	{
		const ingest_book_row *r = &rows[i];

		ins[i] = CStringGetTextDatum(r->instrument);
		sym[i] = CStringGetTextDatum(r->symbol);
		ts[i] = TimestampTzGetDatum(r->ts);
		evnull[i] = r->event_us < 0;
		ev[i] = TimestampTzGetDatum(evnull[i] ? 0 : r->event_us - BOOK_EPOCH_SHIFT_US);
		off[i] = Int32GetDatum(k + 1);
		nb[i] = Int32GetDatum(r->nbid);
		na[i] = Int32GetDatum(r->nask);
		up[i] = Int32GetDatum((int32) Min(r->updates, PG_INT32_MAX));
		ofi[i] = Float8GetDatum(r->ofi);
		rs[i] = Int32GetDatum((int32) Min(r->resyncs, PG_INT32_MAX));
		for (int j = 0; j < r->nbid + r->nask; j++, k++)
		{
			px[k] = Float8GetDatum(r->px[j]);
			qty[k] = Float8GetDatum(r->qty[j]);
		}
	}
	dims[0] = nrows;
	a[0] = exchange;
	a[1] = market;
	a[2] = PointerGetDatum(construct_array(ins, nrows, TEXTOID, -1, false, TYPALIGN_INT));
	a[3] = PointerGetDatum(construct_array(sym, nrows, TEXTOID, -1, false, TYPALIGN_INT));
	a[4] = PointerGetDatum(construct_array(ts, nrows, TIMESTAMPTZOID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
	a[5] = PointerGetDatum(construct_md_array(ev, evnull, 1, dims, lbs, TIMESTAMPTZOID, 8, FLOAT8PASSBYVAL,
											  TYPALIGN_DOUBLE));
	a[6] = PointerGetDatum(construct_array(px, k, FLOAT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
	a[7] = PointerGetDatum(construct_array(qty, k, FLOAT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
	a[8] = PointerGetDatum(construct_array(off, nrows, INT4OID, 4, true, TYPALIGN_INT));
	a[9] = PointerGetDatum(construct_array(nb, nrows, INT4OID, 4, true, TYPALIGN_INT));
	a[10] = PointerGetDatum(construct_array(na, nrows, INT4OID, 4, true, TYPALIGN_INT));
	a[11] = PointerGetDatum(construct_array(up, nrows, INT4OID, 4, true, TYPALIGN_INT));
	a[12] = PointerGetDatum(construct_array(ofi, nrows, FLOAT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
	a[13] = PointerGetDatum(construct_array(rs, nrows, INT4OID, 4, true, TYPALIGN_INT));
	if (SPI_execute_plan(store_row_plan, a, NULL, false, 0) != SPI_OK_INSERT)
		elog(ERROR, "book snapshot insert failed");
}

/*
 * store_in_xact
 *	  tsk_worker_xact callback: samples, states (and, with prune, deleting
 *	  the state rows of instruments not in books), dead letters.
 */
static void
store_in_xact(void *p)
{
	store_call *c = p;
	const ingest_config *cfg = c->cfg;
	const ingest_book_row *rows = c->rows;
	int			nrows = c->nrows;
	const ingest_book_state *books = c->books;
	int			nbooks = c->nbooks;
	const ingest_dead_letter *dead = c->dead;
	int			ndead = c->ndead;
	MemoryContext old;
	TimestampTz now = GetCurrentTimestamp();
	Datum		exchange,
				market;

	store_prepare_plans();
	old = MemoryContextSwitchTo(store_cxt);
	exchange = CStringGetTextDatum(cfg->exchange);
	market = CStringGetTextDatum(cfg->market ? cfg->market : "spot");

	c->ndays = store_partitions(rows, nrows, c->days);
	if (nrows > 0)
		store_rows(rows, nrows, exchange, market);
	for (int i = 0; i < nbooks; i++)
	{
		const tb_stats *st = &books[i].sync->st;
		Datum		a[22];
		char		nulls[22];

		memset(nulls, ' ', sizeof(nulls));
		a[0] = Int32GetDatum(cfg->id);
		a[1] = CStringGetTextDatum(books[i].instrument);
		a[2] = CStringGetTextDatum(books[i].symbol);
		a[3] = CStringGetTextDatum(tsk_tb_state_name(books[i].sync->state));
		a[4] = TimestampTzGetDatum(books[i].state_since);
		a[5] = Int32GetDatum(tsk_tb_book_count(&books[i].sync->book, TB_BID));
		a[6] = Int32GetDatum(tsk_tb_book_count(&books[i].sync->book, TB_ASK));
		a[7] = Int64GetDatum(st->messages);
		a[8] = Int64GetDatum(st->snapshots);
		a[9] = Int64GetDatum(st->resyncs);
		a[10] = Int64GetDatum(st->gaps);
		a[11] = Int64GetDatum(st->checksum_ok);
		a[12] = Int64GetDatum(st->checksum_fail);
		a[13] = Int64GetDatum(st->stale);
		a[14] = Int64GetDatum(st->skipped);
		a[15] = Int64GetDatum(st->evicted);
		a[16] = Int64GetDatum(st->refused);
		a[17] = Int64GetDatum(st->crossed);
		a[18] = Int64GetDatum(books[i].requests);
		a[19] = Int64GetDatum(books[i].samples);
		a[20] = TimestampTzGetDatum(books[i].sync->event_us - BOOK_EPOCH_SHIFT_US);
		if (books[i].sync->event_us < 0)
			nulls[20] = 'n';
		a[21] = TimestampTzGetDatum(now);
		if (SPI_execute_plan(store_status_plan, a, nulls, false, 0) != SPI_OK_INSERT)
			elog(ERROR, "book status upsert failed");
	}
	if (c->prune)
	{
		Datum	   *names = palloc(sizeof(Datum) * Max(nbooks, 1));
		Datum		a[2];

		for (int i = 0; i < nbooks; i++)
			names[i] = CStringGetTextDatum(books[i].instrument);
		a[0] = Int32GetDatum(cfg->id);
		a[1] = PointerGetDatum(construct_array(names, nbooks, TEXTOID, -1, false, TYPALIGN_INT));
		if (SPI_execute_plan(store_prune_plan, a, NULL, false, 0) != SPI_OK_DELETE)
			elog(ERROR, "book status prune failed");
	}
	for (int i = 0; i < ndead; i++)
	{
		bytea	   *payload = palloc(VARHDRSZ + dead[i].len);
		Datum		a[5];

		SET_VARSIZE(payload, VARHDRSZ + dead[i].len);
		memcpy(VARDATA(payload), dead[i].payload, dead[i].len);
		a[0] = Int32GetDatum(cfg->id);
		a[1] = TimestampTzGetDatum(dead[i].received);
		a[2] = PointerGetDatum(payload);
		a[3] = Int32GetDatum((int32) Min(dead[i].total_len, (size_t) PG_INT32_MAX));
		a[4] = CStringGetTextDatum(dead[i].error);
		if (SPI_execute_plan(store_dead_plan, a, NULL, false, 0) != SPI_OK_INSERT)
			elog(ERROR, "dead letter insert failed");
	}
	MemoryContextSwitchTo(old);
}

/*
 * tsk_ingest_book_store
 *	  One transaction (tsk_worker_xact, cancelled after timeout_ms if > 0):
 *	  samples, states (and, with prune, deleting the state rows of
 *	  instruments not in books), dead letters.  NULL, or the error (logged,
 *	  the plans dropped).
 */
ErrorData *
tsk_ingest_book_store(const ingest_config *cfg, const ingest_book_row *rows, int nrows,
					  const ingest_book_state *books, int nbooks,
					  const ingest_dead_letter *dead, int ndead, bool prune, int timeout_ms)
{
	store_call	c = {cfg, rows, nrows, books, nbooks, dead, ndead, prune, {0}, 0};
	ErrorData  *error;

	if (store_cxt == NULL)
		store_cxt = AllocSetContextCreate(TopMemoryContext, "triggerstock ingest book store",
										  ALLOCSET_DEFAULT_SIZES);
	error = timeout_ms > 0
		? tsk_worker_xact_bounded(store_in_xact, &c, "triggerstock ingest book flush", TSK_XACT_SPI, timeout_ms)
		: tsk_worker_xact(store_in_xact, &c, "triggerstock ingest book flush", TSK_XACT_SPI);
	MemoryContextReset(store_cxt);
	if (error != NULL)
	{
		tsk_ingest_book_store_reset();
		return error;
	}
	for (int j = 0; j < c.ndays; j++)
		store_known_days[store_nknown++ % BOOK_KNOWN_DAYS] = c.days[j];
	return NULL;
}
