/*
 * ingest_flush.c
 *	  What the ingest worker says in SQL: reading its source's configuration
 *	  and flushing a batch.  A flush is one short transaction that
 *		1. creates the daily trade partitions of days the worker has not
 *		   seen yet (create_partitions),
 *		2. stores the trades: a batch of INGEST_COPY_MIN_ROWS or more goes
 *		   through ingest_copy.c (dedupe in C, one probe for stored keys,
 *		   binary COPY of the new rows); a smaller batch, or one whose COPY
 *		   met a concurrent writer's row (unique violation, subtransaction
 *		   rolled back), is inserted from arrays (INSERT ... SELECT
 *		   unnest(...) ON CONFLICT DO NOTHING RETURNING, so replays and
 *		   overlaps are no-ops),
 *		3. merges the trades actually stored into their 1-minute candles
 *		   (ingest_candles.c: aggregated in C, written by store_candles()),
 *		4. stores the dead letters collected since the last flush.
 *
 * Invariants:
 *	- called between network waits only, never with a transaction open;
 *	- an ERROR leaves the batch untouched (the caller retries it) and drops
 *	  the prepared plans, which are prepared again on the next flush;
 *	- a trade is counted in its candle exactly once: only rows the COPY
 *	  stored or the INSERT returned (new ones) reach the candle merge;
 *	- the call graph is a tree: this file calls ingest_copy.c and
 *	  ingest_candles.c, neither calls back.
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "pgstat.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "bgworker/ingest.h"
#include "bgworker/workers.h"
#include "common/unix_time.h"
#include "guc.h"
#include "schema.h"

/* µs in a day: trades are grouped by UTC day to find their partitions. */
#define INGEST_DAY_US ((int64) SECS_PER_DAY * USECS_PER_SEC)
#define INGEST_KNOWN_DAYS 64
/* Batches of at least this many trades take the COPY path (ingest_copy.c). */
#define INGEST_COPY_MIN_ROWS 64

static SPIPlanPtr flush_insert_plan = NULL;
static SPIPlanPtr flush_dead_plan = NULL;
static MemoryContext flush_cxt = NULL;
/* The quoted schema the plans were prepared with. */
static char flush_schema_name[2 * NAMEDATALEN + 3] = "";

/*
 * Unix days whose trade partitions exist (committed): a small ring per
 * process (an ingest worker, or the poll worker's backfill).
 */
static int64 known_days[INGEST_KNOWN_DAYS];
static int	nknown = 0;

/*
 * flush_schema
 *	  The extension's schema, quoted; ERROR if it is not installed.  Plans
 *	  prepared under another name of it are dropped first: after a rename a
 *	  re-planned statement would resolve the old name elsewhere.
 */
static char *
flush_schema(void)
{
	char	   *s = tsk_extension_schema();

	if (s == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("extension \"triggerstock\" is not installed in this database"),
				 errhint("Run CREATE EXTENSION triggerstock in the database named by triggerstock.database.")));
	if (strcmp(s, flush_schema_name) != 0)
	{
		tsk_ingest_flush_reset_plans();
		strlcpy(flush_schema_name, s, sizeof(flush_schema_name));
	}
	return s;
}

/*
 * flush_prepare_plans
 *	  Prepare the statements of a flush, once per worker.
 */
static void
flush_prepare_plans(void)
{
	char	   *s;
	Oid			insert_types[9] = {TEXTOID, TEXTOID, TEXTARRAYOID, TEXTARRAYOID, INT8ARRAYOID,
	TIMESTAMPTZARRAYOID, FLOAT8ARRAYOID, FLOAT8ARRAYOID, TEXTARRAYOID};
	Oid			dead_types[5] = {INT4OID, TIMESTAMPTZOID, BYTEAOID, INT4OID, TEXTOID};

	s = flush_schema();
	if (flush_insert_plan != NULL)
		return;
	flush_insert_plan = tsk_worker_keep_plan(
		"INSERT INTO triggerstock.trades AS t"
		"  (exchange, market, instrument, symbol, trade_id, ts, price, qty, side)"
		" SELECT $1, $2, u.i, u.s, u.id, u.ts, u.p, u.q, u.sd"
		" FROM ROWS FROM (pg_catalog.unnest($3), pg_catalog.unnest($4), pg_catalog.unnest($5),"
		"                 pg_catalog.unnest($6), pg_catalog.unnest($7), pg_catalog.unnest($8),"
		"                 pg_catalog.unnest($9)) AS u(i, s, id, ts, p, q, sd)"
		" ON CONFLICT DO NOTHING"
		" RETURNING t.symbol, t.ts, t.price, t.qty, t.trade_id", 9, insert_types, 0);
	flush_dead_plan = tsk_worker_keep_plan(
		"INSERT INTO triggerstock.dead_letters (source, received_at, payload, payload_bytes, error) "
		"VALUES ($1, $2, $3, $4, $5)", 5, dead_types, 0);
	tsk_ingest_copy_prepare();
	tsk_ingest_candles_prepare(s);
}

/*
 * tsk_ingest_flush_reset_plans
 *	  Forget the prepared plans (after an ERROR, or a schema change).
 */
void
tsk_ingest_flush_reset_plans(void)
{
	SPIPlanPtr *plans[2] = {&flush_insert_plan, &flush_dead_plan};

	for (int i = 0; i < 2; i++)
		if (*plans[i] != NULL)
		{
			SPI_freeplan(*plans[i]);
			*plans[i] = NULL;
		}
	tsk_ingest_copy_reset_plans();
	tsk_ingest_candles_reset_plans();
}

/*
 * day_known
 *	  True if the partition of Unix day `day` is known to exist, or is one
 *	  of the ncreated this transaction created.
 */
static bool
day_known(int64 day, const int64 *created, int ncreated)
{
	for (int i = 0; i < Min(nknown, INGEST_KNOWN_DAYS); i++)
		if (known_days[i] == day)
			return true;
	for (int i = 0; i < ncreated; i++)
		if (created[i] == day)
			return true;
	return false;
}

/*
 * tsk_ingest_partitions
 *	  See ingest.h.  The schema is looked up only when a day is new (a
 *	  flush of known days runs no statement here).
 */
int
tsk_ingest_partitions(const td_trade *t, int n, int64 *created)
{
	Oid			types[1] = {TIMESTAMPTZOID};
	char	   *sql = NULL;
	int			ncreated = 0;

	for (int i = 0; i < n && ncreated < INGEST_NEW_DAYS; i++)
	{
		int64		day = t[i].ts_us / INGEST_DAY_US;
		Datum		arg;

		if (day_known(day, created, ncreated))
			continue;
		if (sql == NULL)
		{
			char	   *schema = tsk_extension_schema();

			if (schema == NULL)
				elog(ERROR, "extension \"triggerstock\" is not installed in this database");
			sql = psprintf("SELECT pg_catalog.count(*) FROM %s.create_partitions($1, $1)", schema);
		}
		arg = TimestampTzGetDatum(tsk_timestamptz_from_unix_us(day * INGEST_DAY_US));
		tsk_worker_exec("create_partitions", sql, 1, types, &arg, NULL, SPI_OK_SELECT);
		created[ncreated++] = day;
	}
	return ncreated;
}

/*
 * tsk_ingest_partitions_committed
 *	  See ingest.h.
 */
void
tsk_ingest_partitions_committed(const int64 *created, int n)
{
	for (int j = 0; j < n; j++)
		known_days[nknown++ % INGEST_KNOWN_DAYS] = created[j];
}

/*
 * flush_insert
 *	  The statement path: insert the batch with ON CONFLICT DO NOTHING and
 *	  add the rows it returns (the new ones) to the candles; returns the
 *	  number of rows inserted.
 */
static int64
flush_insert(const ingest_config *cfg, const ingest_batch *batch, ingest_candles *candles)
{
	int			n = batch->n;
	Datum		args[9];
	Datum	   *ins = palloc(sizeof(Datum) * n),
			   *sym = palloc(sizeof(Datum) * n),
			   *ids = palloc(sizeof(Datum) * n),
			   *ts = palloc(sizeof(Datum) * n),
			   *price = palloc(sizeof(Datum) * n),
			   *qty = palloc(sizeof(Datum) * n),
			   *side = palloc(sizeof(Datum) * n);
	bool	   *side_null = palloc(sizeof(bool) * n);
	Datum	   *ins_text = palloc(sizeof(Datum) * cfg->ninstruments),
			   *sym_text = palloc(sizeof(Datum) * cfg->ninstruments);
	Datum		buy = CStringGetTextDatum("buy"),
				sell = CStringGetTextDatum("sell");
	int			ret;

	for (int k = 0; k < cfg->ninstruments; k++)
	{
		ins_text[k] = CStringGetTextDatum(cfg->instruments[k]);
		sym_text[k] = CStringGetTextDatum(cfg->symbols[k]);
	}
	for (int i = 0; i < n; i++)
	{
		const td_trade *t = &batch->trades[i];

		ins[i] = ins_text[batch->symbol_index[i]];
		sym[i] = sym_text[batch->symbol_index[i]];
		ids[i] = Int64GetDatum(t->trade_id);
		ts[i] = TimestampTzGetDatum(tsk_timestamptz_from_unix_us(t->ts_us));
		price[i] = Float8GetDatum(t->price);
		qty[i] = Float8GetDatum(t->qty);
		side[i] = t->side == 'b' ? buy : sell;
		side_null[i] = t->side == 0;
	}
	args[0] = CStringGetTextDatum(cfg->exchange);
	args[1] = CStringGetTextDatum(cfg->market);
	args[2] = tsk_worker_array(ins, NULL, n, TEXTOID, -1, false, TYPALIGN_INT);
	args[3] = tsk_worker_array(sym, NULL, n, TEXTOID, -1, false, TYPALIGN_INT);
	args[4] = tsk_worker_array(ids, NULL, n, INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE);
	args[5] = tsk_worker_array(ts, NULL, n, TIMESTAMPTZOID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE);
	args[6] = tsk_worker_array(price, NULL, n, FLOAT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE);
	args[7] = tsk_worker_array(qty, NULL, n, FLOAT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE);
	args[8] = tsk_worker_array(side, side_null, n, TEXTOID, -1, false, TYPALIGN_INT);

	ret = SPI_execute_plan(flush_insert_plan, args, NULL, false, 0);
	if (ret != SPI_OK_INSERT_RETURNING)
		elog(ERROR, "trade insert failed: %s", SPI_result_code_string(ret));
	for (uint64 r = 0; r < SPI_processed; r++)
	{
		HeapTuple	tup = SPI_tuptable->vals[r];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		bool		isnull;

		tsk_ingest_candles_add(candles, TextDatumGetCString(SPI_getbinval(tup, desc, 1, &isnull)),
							   DatumGetTimestampTz(SPI_getbinval(tup, desc, 2, &isnull)),
							   DatumGetInt64(SPI_getbinval(tup, desc, 5, &isnull)),
							   DatumGetFloat8(SPI_getbinval(tup, desc, 3, &isnull)),
							   DatumGetFloat8(SPI_getbinval(tup, desc, 4, &isnull)));
	}
	return (int64) SPI_processed;
}

/*
 * flush_copy
 *	  The COPY path (ingest_copy.c); adds the rows it stored to the candles.
 *	  Returns the rows stored, or -1 if the statement path must run instead.
 */
static int64
flush_copy(const ingest_config *cfg, const ingest_batch *batch, ingest_candles *candles)
{
	ingest_trade_owner own = {cfg->exchange, cfg->market, cfg->ninstruments,
	cfg->instruments, cfg->symbols};

	return tsk_ingest_copy_trades(&own, batch, candles);
}

/*
 * flush_dead_letters
 *	  Store the dead letters.
 */
static void
flush_dead_letters(const ingest_config *cfg, ingest_dead_letter *dead, int ndead)
{
	for (int i = 0; i < ndead; i++)
	{
		bytea	   *payload = palloc(VARHDRSZ + dead[i].len);
		Datum		args[5];
		int			ret;

		SET_VARSIZE(payload, VARHDRSZ + dead[i].len);
		memcpy(VARDATA(payload), dead[i].payload, dead[i].len);
		args[0] = Int32GetDatum(cfg->id);
		args[1] = TimestampTzGetDatum(dead[i].received);
		args[2] = PointerGetDatum(payload);
		args[3] = Int32GetDatum((int32) Min(dead[i].total_len, (size_t) PG_INT32_MAX));
		args[4] = CStringGetTextDatum(dead[i].error);
		ret = SPI_execute_plan(flush_dead_plan, args, NULL, false, 0);
		if (ret != SPI_OK_INSERT)
			elog(ERROR, "dead letter insert failed: %s", SPI_result_code_string(ret));
	}
}

/* What one flush transaction works on and reports back. */
typedef struct flush_call
{
	const ingest_config *cfg;
	ingest_batch *batch;
	ingest_dead_letter *dead;
	int			ndead;
	int64		inserted;
	int64		days[INGEST_NEW_DAYS];	/* partitions created */
	int			ndays;
} flush_call;

/*
 * flush_in_xact
 *	  tsk_worker_xact callback: partitions, trades, candles, trade-id gaps,
 *	  dead letters.
 */
static void
flush_in_xact(void *arg)
{
	flush_call *c = arg;
	MemoryContext old;

	flush_prepare_plans();
	old = MemoryContextSwitchTo(flush_cxt);
	if (c->batch->n > 0)
	{
		ingest_candles *candles = tsk_ingest_candles_begin();

		c->ndays = tsk_ingest_partitions(c->batch->trades, c->batch->n, c->days);
		/* small batches: one statement is faster than probe + COPY */
		c->inserted = c->batch->n >= INGEST_COPY_MIN_ROWS ? flush_copy(c->cfg, c->batch, candles) : -1;
		if (c->inserted < 0)	/* small, or a concurrent writer: ON CONFLICT */
			c->inserted = flush_insert(c->cfg, c->batch, candles);
		(void) tsk_ingest_candles_store(candles);
		tsk_ingest_gaps_store(c->cfg);
	}
	flush_dead_letters(c->cfg, c->dead, c->ndead);
	MemoryContextSwitchTo(old);
}

/*
 * tsk_ingest_flush
 *	  Flush the batch and the dead letters in one transaction; on success
 *	  empty the batch, publish the counters and return NULL.  On ERROR the
 *	  batch is kept, the plans are dropped and the error is returned (it
 *	  was logged unless the flush was cancelled by a shutdown).  With
 *	  timeout_ms > 0 the flush is cancelled after that long.
 */
ErrorData *
tsk_ingest_flush(const ingest_config *cfg, ingest_batch *batch, ingest_dead_letter *dead, int ndead,
				 int timeout_ms)
{
	flush_call	c = {cfg, batch, dead, ndead, 0, {0}, 0};
	ErrorData  *error;
	int64		last_us = 0;

	if (batch->n == 0 && ndead == 0)
		return NULL;
	if (flush_cxt == NULL)
		flush_cxt = AllocSetContextCreate(TopMemoryContext, "triggerstock ingest flush",
										  ALLOCSET_DEFAULT_SIZES);
	error = timeout_ms > 0
		? tsk_worker_xact_bounded(flush_in_xact, &c, "triggerstock ingest flush", TSK_XACT_SPI, timeout_ms)
		: tsk_worker_xact(flush_in_xact, &c, "triggerstock ingest flush", TSK_XACT_SPI);
	if (error != NULL)
	{
		tsk_ingest_flush_reset_plans();
		MemoryContextReset(flush_cxt);
		return error;
	}
	tsk_ingest_gaps_committed();

	tsk_ingest_partitions_committed(c.days, c.ndays);
	for (int i = 0; i < batch->n; i++)
		last_us = Max(last_us, batch->trades[i].ts_us);
	tsk_ingest_stats_committed(c.inserted, ndead, batch->received, batch->n,
							   batch->n > 0 ? tsk_timestamptz_from_unix_us(last_us) : 0);
	MemoryContextReset(flush_cxt);
	batch->n = 0;
	batch->first_at = 0;
	return NULL;
}

/*
 * config_text_array
 *	  The elements of a non-NULL text[] as palloc'd C strings.
 */
static char **
config_text_array(Datum d, int *n)
{
	Datum	   *elems;
	bool	   *nulls;
	char	  **out;

	deconstruct_array(DatumGetArrayTypeP(d), TEXTOID, -1, false, TYPALIGN_INT, &elems, &nulls, n);
	out = palloc(sizeof(char *) * Max(*n, 1));
	for (int i = 0; i < *n; i++)
		out[i] = nulls[i] ? pstrdup("") : TextDatumGetCString(elems[i]);
	return out;
}

/*
 * config_str
 *	  Column `col` of the current row as a C string in cxt, or NULL.
 */
static char *
config_str(int col, MemoryContext cxt)
{
	char	   *v = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, col);

	return v ? MemoryContextStrdup(cxt, v) : NULL;
}

/* Field names of the generic map, in td_generic_map's order of strings. */
static const char *const config_map_fields[] = {
	"match_path", "match_value", "items", "instrument", "instrument_const",
	"price", "qty", "ts", "trade_id", "side"
};

/* What config_load_in_xact reads, and into where. */
typedef struct config_call
{
	int32		id;
	MemoryContext cxt;
	ingest_config *cfg;
} config_call;

/*
 * config_load_in_xact
 *	  tsk_worker_xact callback of tsk_ingest_load_config.
 */
static void
config_load_in_xact(void *p)
{
	config_call *call = p;
	int32		id = call->id;
	MemoryContext cxt = call->cxt;
	ingest_config *cfg = NULL;
	StringInfoData sql;
	Datum		arg = Int32GetDatum(id);
	Oid			argtype = INT4OID;
	int			ret;

	initStringInfo(&sql);
	appendStringInfoString(&sql,
						   "SELECT s.name, s.exchange, s.url, s.instruments, s.symbols, s.enabled,"
						   " (SELECT coalesce(pg_catalog.bit_or(1 << d), 0) FROM pg_catalog.unnest(s.active_days) d),"
						   " extract(epoch FROM s.active_from)::int, extract(epoch FROM s.active_until)::int,"
						   " (s.options->>'batch_size')::int, (s.options->>'flush_ms')::int,"
						   " s.options->>'feed', coalesce((s.options->>'tls_skip_hostname_check')::boolean, false),"
						   " s.options->>'subscribe', k.secrets->>'token',"
						   " s.options #>> '{map,ts_unit}', s.options #>> '{map,side_mode}'");
	for (int f = 0; f < (int) lengthof(config_map_fields); f++)
		appendStringInfo(&sql, ", s.options #>> '{map,%s}'", config_map_fields[f]);
	appendStringInfoString(&sql, ", 'triggerstock.sources'::pg_catalog.regclass::pg_catalog.oid,"
						   " 'triggerstock.source_secrets'::pg_catalog.regclass::pg_catalog.oid, s.market");
	appendStringInfoString(&sql, " FROM triggerstock.sources s"
						   " LEFT JOIN triggerstock.source_secrets k ON k.source = s.id"
						   " WHERE s.id = $1");

	ret = SPI_execute_with_args(sql.data, 1, &argtype, &arg, NULL, true, 1);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "SPI_execute failed: %s", SPI_result_code_string(ret));
	if (SPI_processed == 1)
	{
		MemoryContext old = MemoryContextSwitchTo(cxt);
		HeapTuple	tup = SPI_tuptable->vals[0];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		bool		isnull;
		Datum		d;
		char	   *feed,
				   *token,
				   *ts_unit,
				   *side_mode;
		int			nsym;

		cfg = palloc0(sizeof(ingest_config));
		cfg->id = id;
		cfg->name = config_str(1, cxt);
		cfg->exchange = config_str(2, cxt);
		cfg->url = config_str(3, cxt);
		cfg->instruments = config_text_array(SPI_getbinval(tup, desc, 4, &isnull), &cfg->ninstruments);
		cfg->symbols = config_text_array(SPI_getbinval(tup, desc, 5, &isnull), &nsym);
		cfg->enabled = DatumGetBool(SPI_getbinval(tup, desc, 6, &isnull));
		cfg->active_days = DatumGetInt32(SPI_getbinval(tup, desc, 7, &isnull));
		d = SPI_getbinval(tup, desc, 8, &isnull);
		cfg->has_hours = !isnull;
		cfg->active_from_s = isnull ? 0 : DatumGetInt32(d);
		d = SPI_getbinval(tup, desc, 9, &isnull);
		cfg->active_until_s = isnull ? 0 : DatumGetInt32(d);
		d = SPI_getbinval(tup, desc, 10, &isnull);
		cfg->batch_size = isnull ? tsk_ingest_batch_size : Max(1, Min(DatumGetInt32(d), 100000));
		d = SPI_getbinval(tup, desc, 11, &isnull);
		cfg->flush_ms = isnull ? tsk_ingest_flush_ms : Max(1, DatumGetInt32(d));
		feed = config_str(12, cxt);
		cfg->tls_skip_hostname_check = DatumGetBool(SPI_getbinval(tup, desc, 13, &isnull));
		cfg->subscribe = config_str(14, cxt);
		token = config_str(15, cxt);
		ts_unit = config_str(16, cxt);
		side_mode = config_str(17, cxt);
		cfg->map.match_path = config_str(18, cxt);
		cfg->map.match_value = config_str(19, cxt);
		cfg->map.items = config_str(20, cxt);
		cfg->map.instrument = config_str(21, cxt);
		cfg->map.instrument_const = config_str(22, cxt);
		cfg->map.price = config_str(23, cxt);
		cfg->map.qty = config_str(24, cxt);
		cfg->map.ts = config_str(25, cxt);
		cfg->map.trade_id = config_str(26, cxt);
		cfg->map.side = config_str(27, cxt);
		cfg->watch[0] = DatumGetObjectId(SPI_getbinval(tup, desc, 28, &isnull));
		cfg->watch[1] = DatumGetObjectId(SPI_getbinval(tup, desc, 29, &isnull));
		cfg->market = config_str(30, cxt);
		cfg->token = token != NULL && token[0] != '\0' ? token : NULL;
		MemoryContextSwitchTo(old);

		if (tsk_td_exchange_from_name(cfg->exchange, &cfg->decoder) != 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("source %d has unknown exchange \"%s\"", id, cfg->exchange),
					 errhint("Use binance, coinbase, kraken, finnhub or generic.")));
		if (feed == NULL)
			cfg->feed = cfg->decoder == TD_BINANCE ? TD_FEED_BINANCE_TRADE :
				cfg->decoder == TD_COINBASE ? TD_FEED_COINBASE_MATCHES :
				cfg->decoder == TD_KRAKEN ? TD_FEED_KRAKEN_V1 : TD_FEED_FINNHUB;
		else if (tsk_td_feed_from_name(feed, &cfg->feed) != 0 ||
				 (cfg->decoder != TD_GENERIC && tsk_td_feed_exchange(cfg->feed) != cfg->decoder))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("source %d has feed \"%s\", which is not a %s feed", id, feed, cfg->exchange),
					 errhint("Feeds are binance_trade, binance_aggtrade, coinbase_matches, coinbase_advanced, "
							 "kraken_v1, kraken_v2, kraken_futures and finnhub.")));
		if (cfg->decoder == TD_GENERIC)
		{
			char		err[256];

			cfg->map.ts_unit = !ts_unit || strcmp(ts_unit, "ms") == 0 ? TD_TS_MS :
				strcmp(ts_unit, "s") == 0 ? TD_TS_S : strcmp(ts_unit, "us") == 0 ? TD_TS_US :
				strcmp(ts_unit, "ns") == 0 ? TD_TS_NS : TD_TS_RFC3339;
			cfg->map.side_mode = side_mode && strcmp(side_mode, "maker") == 0 ? TD_SIDE_MAKER : TD_SIDE_TAKER;
			if (tsk_td_generic_map_check(&cfg->map, err, sizeof(err)) != 0)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("source %d has an unusable field map: %s", id, err),
						 errhint("Set options->'map' with at least price, qty, ts and instrument paths.")));
		}
		if (nsym != cfg->ninstruments)
			elog(ERROR, "source %d has %d symbols for %d instruments", id, nsym, cfg->ninstruments);
	}
	call->cfg = cfg;
}

/*
 * tsk_ingest_load_config
 *	  Read source `id` into a config allocated in cxt; NULL if the row is
 *	  gone.  Runs its own transaction.  Bad settings raise an ERROR, which
 *	  ends the worker (the launcher restarts it after a backoff).
 */
ingest_config *
tsk_ingest_load_config(int32 id, MemoryContext cxt)
{
	config_call call = {id, cxt, NULL};
	ErrorData  *error = tsk_worker_xact(config_load_in_xact, &call,
										"triggerstock ingest: reading the source",
										TSK_XACT_SPI | TSK_XACT_QUIET);

	if (error != NULL)
		ReThrowError(error);
	return call.cfg;
}
