/*
 * ingest_copy.c
 *	  The ingest worker's fast path for storing a batch of trades, inside
 *	  the flush transaction that ingest_flush.c opens:
 *		1. dedupe in C: sort the batch on its key (instrument, trade_id, ts)
 *		   and keep the first of equal keys, as INSERT ... ON CONFLICT DO
 *		   NOTHING would;
 *		2. one probe query for keys already stored (unique index, pruned to
 *		   the batch's ts range) and drop those rows;
 *		3. store the remaining rows with PostgreSQL's own COPY code
 *		   (BeginCopyFrom/CopyFrom, binary format, from a data_source_cb
 *		   that hands out a buffer built here) inside a subtransaction;
 *		4. add exactly the rows stored to the caller's candles
 *		   (ingest_candles.c merges them).
 *	Its callers: the ingest flush (ingest_flush.c) and the backfill store
 *	(backfill_store.c); their batches name their rows' keys through an
 *	ingest_trade_owner.
 *
 * Invariants:
 *	- a unique violation in the COPY (a race with another writer) rolls the
 *	  subtransaction back and reports "not stored": the caller falls back to
 *	  INSERT ... ON CONFLICT DO NOTHING for the batch, so nothing is lost or
 *	  duplicated; any other ERROR propagates (the batch is retried);
 *	- the key is (exchange, market, instrument, trade_id, ts): a batch holds
 *	  one owner's trades, so one exchange and market, and the probe skips
 *	  stored rows of other markets;
 *	- rows reach the candles only after the COPY succeeded.
 */
#include "postgres.h"

#include "access/table.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "commands/copy.h"
#include "executor/executor.h"
#include "executor/spi.h"
#include "nodes/makefuncs.h"
#include "parser/parse_relation.h"
#include "port/pg_bswap.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/rel.h"

#include "bgworker/ingest.h"
#include "bgworker/workers.h"
#include "common/unix_time.h"
#include "subxact.h"

#define COPY_NCOLS 9
/* Trades further apart than this (µs) are probed in separate windows. */
#define COPY_PROBE_GAP_US INT64CONST(100000)

static SPIPlanPtr copy_probe_plan = NULL;

/* The binary COPY stream the data source callback hands out. */
static const char *copy_src_data = NULL;
static int	copy_src_len = 0;
static int	copy_src_pos = 0;

/* Sort context: the batch being sorted (qsort has no argument). */
static const ingest_trade_owner *copy_sort_cfg = NULL;
static const ingest_batch *copy_sort_batch = NULL;

/* The columns the COPY fills, in stream order. */
static const char *const copy_columns[COPY_NCOLS] = {
	"exchange", "market", "instrument", "symbol", "trade_id", "ts", "price", "qty", "side"
};

/*
 * tsk_ingest_copy_prepare
 *	  Prepare and keep the probe plan (inside SPI).
 */
void
tsk_ingest_copy_prepare(void)
{
	Oid			probe_types[3] = {TEXTARRAYOID, TIMESTAMPTZARRAYOID, TIMESTAMPTZARRAYOID};

	if (copy_probe_plan != NULL)
		return;
	/* custom plans: the windows must reach the index as constants */
	copy_probe_plan = tsk_worker_keep_plan(
		"SELECT t.exchange, t.market, t.instrument, t.trade_id, t.ts"
		"  FROM ROWS FROM (pg_catalog.unnest($2), pg_catalog.unnest($3)) AS w(lo, hi)"
		"  CROSS JOIN LATERAL (SELECT s.exchange, s.market, s.instrument, s.trade_id, s.ts"
		"                       FROM triggerstock.trades s"
		"                      WHERE s.symbol OPERATOR(pg_catalog.=) ANY ($1)"
		"                        AND s.ts OPERATOR(pg_catalog.>=) w.lo"
		"                        AND s.ts OPERATOR(pg_catalog.<=) w.hi) t",
		3, probe_types, CURSOR_OPT_CUSTOM_PLAN);
}

/*
 * tsk_ingest_copy_reset_plans
 *	  Forget the prepared plan (after an ERROR, or a schema change).
 */
void
tsk_ingest_copy_reset_plans(void)
{
	if (copy_probe_plan != NULL)
		SPI_freeplan(copy_probe_plan);
	copy_probe_plan = NULL;
}

/*
 * copy_key_cmp3
 *	  Order trade keys: instrument, trade_id, ts.
 */
static int
copy_key_cmp3(const char *ia, int64 ida, int64 tsa, const char *ib, int64 idb, int64 tsb)
{
	int			c = ia == ib ? 0 : strcmp(ia, ib);	/* same instrument slot: equal */

	if (c != 0)
		return c;
	if (ida != idb)
		return ida < idb ? -1 : 1;
	if (tsa != tsb)
		return tsa < tsb ? -1 : 1;
	return 0;
}

/*
 * copy_sort_cmp
 *	  qsort comparator of batch indexes: by key, then by position (so the
 *	  first of equal keys comes first).
 */
static int
copy_sort_cmp(const void *a, const void *b)
{
	int			x = *(const int *) a,
				y = *(const int *) b;
	const td_trade *tx = &copy_sort_batch->trades[x],
			   *ty = &copy_sort_batch->trades[y];
	int			c = copy_key_cmp3(copy_sort_cfg->instruments[copy_sort_batch->symbol_index[x]],
								  tx->trade_id, tx->ts_us,
								  copy_sort_cfg->instruments[copy_sort_batch->symbol_index[y]],
								  ty->trade_id, ty->ts_us);

	if (c != 0)
		return c;
	return x < y ? -1 : (x > y ? 1 : 0);
}

/*
 * copy_find
 *	  Position in the sorted index array `order` (n entries) of a row with
 *	  this key, or -1.
 */
static int
copy_find(const ingest_trade_owner *cfg, const ingest_batch *batch, const int *order, int n,
		  const char *instrument, int64 trade_id, int64 ts_us)
{
	int			lo = 0,
				hi = n - 1;

	while (lo <= hi)
	{
		int			mid = lo + (hi - lo) / 2;
		const td_trade *t = &batch->trades[order[mid]];
		int			c = copy_key_cmp3(cfg->instruments[batch->symbol_index[order[mid]]],
									  t->trade_id, t->ts_us, instrument, trade_id, ts_us);

		if (c == 0)
			return mid;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid - 1;
	}
	return -1;
}

/*
 * copy_int64_cmp
 *	  qsort comparator of int64 values.
 */
static int
copy_int64_cmp(const void *a, const void *b)
{
	int64		x = *(const int64 *) a,
				y = *(const int64 *) b;

	return x < y ? -1 : (x > y ? 1 : 0);
}

/*
 * copy_probe
 *	  Clear keep[] for rows whose key is already stored.  order[] holds the
 *	  batch's kept rows sorted by key (n of them).  The probe reads the
 *	  stored rows of the batch's symbols inside the time windows its trades
 *	  cover (index on (symbol, ts); windows split where trades are more than
 *	  COPY_PROBE_GAP_US apart, so a batch spanning hours reads only the
 *	  minutes it has trades in), and matches their exact keys here.
 */
static void
copy_probe(const ingest_trade_owner *cfg, const ingest_batch *batch, const int *order, int n, bool *keep)
{
	int64	   *times = palloc(sizeof(int64) * n);
	Datum	   *lo = palloc(sizeof(Datum) * n),
			   *hi = palloc(sizeof(Datum) * n);
	Datum	   *syms = palloc(sizeof(Datum) * Max(cfg->ninstruments, 1));
	bool	   *seen = palloc0(sizeof(bool) * Max(cfg->ninstruments, 1));
	int			nsyms = 0,
				nwin = 0;
	Datum		args[3];
	int			ret;
	int			nest;

	for (int j = 0; j < n; j++)
	{
		int			k = batch->symbol_index[order[j]];

		times[j] = batch->trades[order[j]].ts_us;
		if (!seen[k])
		{
			/* one entry per distinct symbol (two instruments may share one) */
			bool		dup = false;

			for (int m = 0; m < cfg->ninstruments && !dup; m++)
				dup = seen[m] && strcmp(cfg->symbols[m], cfg->symbols[k]) == 0;
			seen[k] = true;
			if (!dup)
				syms[nsyms++] = CStringGetTextDatum(cfg->symbols[k]);
		}
	}
	qsort(times, n, sizeof(int64), copy_int64_cmp);
	for (int j = 0; j < n; j++)
	{
		if (nwin > 0 && times[j] - times[j - 1] <= COPY_PROBE_GAP_US)
		{
			hi[nwin - 1] = TimestampTzGetDatum(tsk_timestamptz_from_unix_us(times[j]));
			continue;
		}
		lo[nwin] = TimestampTzGetDatum(tsk_timestamptz_from_unix_us(times[j]));
		hi[nwin] = lo[nwin];
		nwin++;
	}
	args[0] = tsk_worker_array(syms, NULL, nsyms, TEXTOID, -1, false, TYPALIGN_INT);
	args[1] = tsk_worker_array(lo, NULL, nwin, TIMESTAMPTZOID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE);
	args[2] = tsk_worker_array(hi, NULL, nwin, TIMESTAMPTZOID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE);

	/*
	 * The partition the stream writes to grows from empty during a run: plan
	 * the probe as index range scans per window, whatever the statistics say.
	 */
	nest = NewGUCNestLevel();
	(void) set_config_option("enable_seqscan", "off", PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
	(void) set_config_option("enable_hashjoin", "off", PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
	(void) set_config_option("enable_mergejoin", "off", PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
	(void) set_config_option("enable_material", "off", PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
	ret = SPI_execute_plan(copy_probe_plan, args, NULL, false, 0);
	AtEOXact_GUC(true, nest);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "trade probe failed: %s", SPI_result_code_string(ret));
	for (uint64 r = 0; r < SPI_processed; r++)
	{
		HeapTuple	tup = SPI_tuptable->vals[r];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		bool		isnull;
		char	   *exchange = TextDatumGetCString(SPI_getbinval(tup, desc, 1, &isnull));
		char	   *market = TextDatumGetCString(SPI_getbinval(tup, desc, 2, &isnull));
		char	   *instrument = TextDatumGetCString(SPI_getbinval(tup, desc, 3, &isnull));
		int64		id = DatumGetInt64(SPI_getbinval(tup, desc, 4, &isnull));
		int64		ts = tsk_unix_us_from_timestamptz(DatumGetTimestampTz(SPI_getbinval(tup, desc, 5, &isnull)));
		int			pos;

		if (strcmp(exchange, cfg->exchange) != 0 || strcmp(market, cfg->market) != 0)
			continue;
		pos = copy_find(cfg, batch, order, n, instrument, id, ts);
		if (pos >= 0)
			keep[order[pos]] = false;
	}
	SPI_freetuptable(SPI_tuptable);
}

/*
 * copy_put_text
 *	  Append one binary COPY text field.
 */
static void
copy_put_text(StringInfo buf, const char *s)
{
	uint32		len = (uint32) strlen(s);
	uint32		nlen = pg_hton32(len);

	appendBinaryStringInfo(buf, (const char *) &nlen, 4);
	appendBinaryStringInfo(buf, s, (int) len);
}

/*
 * copy_put_int8
 *	  Append one binary COPY 8-byte field (int8, timestamptz, float8 bits).
 */
static void
copy_put_int8(StringInfo buf, uint64 v)
{
	uint32		nlen = pg_hton32(8);
	uint64		nv = pg_hton64(v);

	appendBinaryStringInfo(buf, (const char *) &nlen, 4);
	appendBinaryStringInfo(buf, (const char *) &nv, 8);
}

/*
 * copy_put_float8
 *	  Append one binary COPY float8 field.
 */
static void
copy_put_float8(StringInfo buf, double d)
{
	uint64		bits;

	memcpy(&bits, &d, sizeof(bits));
	copy_put_int8(buf, bits);
}

/*
 * copy_build_stream
 *	  The kept rows as a binary COPY stream (header, tuples, trailer).
 */
static void
copy_build_stream(StringInfo buf, const ingest_trade_owner *cfg, const ingest_batch *batch, const bool *keep)
{
	static const char sig[11] = {'P', 'G', 'C', 'O', 'P', 'Y', '\n', '\377', '\r', '\n', '\0'};
	uint32		zero = 0;
	uint16		ncols = pg_hton16(COPY_NCOLS);
	uint16		trailer = pg_hton16((uint16) -1);
	uint32		null_len = pg_hton32((uint32) -1);

	appendBinaryStringInfo(buf, sig, sizeof(sig));
	appendBinaryStringInfo(buf, (const char *) &zero, 4);	/* flags */
	appendBinaryStringInfo(buf, (const char *) &zero, 4);	/* header extension */
	for (int i = 0; i < batch->n; i++)
	{
		const td_trade *t = &batch->trades[i];
		int			k = batch->symbol_index[i];

		if (!keep[i])
			continue;
		appendBinaryStringInfo(buf, (const char *) &ncols, 2);
		copy_put_text(buf, cfg->exchange);
		copy_put_text(buf, cfg->market);
		copy_put_text(buf, cfg->instruments[k]);
		copy_put_text(buf, cfg->symbols[k]);
		copy_put_int8(buf, (uint64) t->trade_id);
		copy_put_int8(buf, (uint64) tsk_timestamptz_from_unix_us(t->ts_us));
		copy_put_float8(buf, t->price);
		copy_put_float8(buf, t->qty);
		if (t->side == 0)
			appendBinaryStringInfo(buf, (const char *) &null_len, 4);
		else
			copy_put_text(buf, t->side == 'b' ? "buy" : "sell");
	}
	appendBinaryStringInfo(buf, (const char *) &trailer, 2);
}

/*
 * copy_data_source
 *	  COPY's data source callback: the next bytes of the stream, 0 at EOF.
 */
static int
copy_data_source(void *outbuf, int minread, int maxread)
{
	int			n = Min(maxread, copy_src_len - copy_src_pos);

	if (n <= 0)
		return 0;
	memcpy(outbuf, copy_src_data + copy_src_pos, n);
	copy_src_pos += n;
	return n;
}

/*
 * copy_run
 *	  COPY the stream into triggerstock.trades (binary, the COPY_NCOLS
 *	  columns); checks INSERT privilege as COPY FROM does.  Returns the
 *	  rows stored.
 */
static uint64
copy_run(StringInfo stream)
{
	ParseState *pstate = make_parsestate(NULL);
	Oid			relid = RangeVarGetRelid(makeRangeVar("triggerstock", "trades", -1),
										 RowExclusiveLock, false);
	Relation	rel = table_open(relid, NoLock);
	ParseNamespaceItem *nsitem;
	List	   *attnames = NIL;
	List	   *options = list_make1(makeDefElem("format", (Node *) makeString("binary"), -1));
	CopyFromState cstate;
	uint64		processed;

	nsitem = addRangeTableEntryForRelation(pstate, rel, RowExclusiveLock, NULL, false, false);
	nsitem->p_rte->requiredPerms = ACL_INSERT;
	for (int c = 0; c < COPY_NCOLS; c++)
	{
		AttrNumber	attno = attnameAttNum(rel, copy_columns[c], false);

		if (attno == InvalidAttrNumber)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_COLUMN),
					 errmsg("column \"%s\" of triggerstock.trades does not exist", copy_columns[c]),
					 errhint("Reinstall the extension: the trades table was altered.")));
		nsitem->p_rte->insertedCols = bms_add_member(nsitem->p_rte->insertedCols,
													 attno - FirstLowInvalidHeapAttributeNumber);
		attnames = lappend(attnames, makeString(pstrdup(copy_columns[c])));
	}
	ExecCheckRTPerms(pstate->p_rtable, true);

	copy_src_data = stream->data;
	copy_src_len = stream->len;
	copy_src_pos = 0;
	cstate = BeginCopyFrom(pstate, rel, NULL, NULL, false, copy_data_source, attnames, options);
	processed = CopyFrom(cstate);
	EndCopyFrom(cstate);
	copy_src_data = NULL;
	table_close(rel, NoLock);
	free_parsestate(pstate);
	return processed;
}

/* copy_in_subxact's call of copy_run. */
typedef struct copy_run_arg
{
	StringInfo	stream;
	uint64		processed;
} copy_run_arg;

/*
 * copy_run_cb
 *	  tsk_subxact_try callback: copy_run.
 */
static void
copy_run_cb(void *arg)
{
	copy_run_arg *a = arg;

	a->processed = copy_run(a->stream);
}

/*
 * copy_in_subxact
 *	  copy_run inside a subtransaction; false (and the subtransaction rolled
 *	  back) on a unique violation, other ERRORs propagate.
 */
static bool
copy_in_subxact(StringInfo stream, uint64 *processed)
{
	copy_run_arg a = {stream, 0};
	ErrorData  *edata = tsk_subxact_try(copy_run_cb, &a);

	if (edata == NULL)
	{
		*processed = a.processed;
		return true;
	}
	copy_src_data = NULL;
	if (edata->sqlerrcode != ERRCODE_UNIQUE_VIOLATION)
		ReThrowError(edata);
	FreeErrorData(edata);
	return false;
}

/*
 * tsk_ingest_copy_trades
 *	  Store the batch's new trades by COPY and add each row stored to
 *	  candles (ingest_candles.c).  Returns the rows stored, or -1 if a
 *	  concurrent writer made the COPY hit a unique violation (nothing
 *	  stored, nothing added; the caller falls back to its INSERT).
 */
int64
tsk_ingest_copy_trades(const ingest_trade_owner *cfg, const ingest_batch *batch,
					   ingest_candles *candles)
{
	int			n = batch->n;
	int		   *order = palloc(sizeof(int) * n);
	bool	   *keep = palloc0(sizeof(bool) * Max(n, 1));
	int			nuniq = 0;
	int			nkeep = 0;
	StringInfoData stream;
	uint64		processed = 0;

	for (int i = 0; i < n; i++)
		order[i] = i;
	copy_sort_cfg = cfg;
	copy_sort_batch = batch;
	qsort(order, n, sizeof(int), copy_sort_cmp);
	copy_sort_cfg = NULL;
	copy_sort_batch = NULL;

	/* keep the first of each run of equal keys; compact order[] to them */
	for (int j = 0; j < n; j++)
	{
		const td_trade *t = &batch->trades[order[j]];

		if (nuniq > 0)
		{
			int			p = order[nuniq - 1];
			const td_trade *u = &batch->trades[p];

			if (copy_key_cmp3(cfg->instruments[batch->symbol_index[p]], u->trade_id, u->ts_us,
							  cfg->instruments[batch->symbol_index[order[j]]], t->trade_id, t->ts_us) == 0)
				continue;
		}
		keep[order[j]] = true;
		order[nuniq++] = order[j];
	}
	if (nuniq > 0)
		copy_probe(cfg, batch, order, nuniq, keep);
	for (int i = 0; i < n; i++)
		nkeep += keep[i] ? 1 : 0;
	if (nkeep == 0)
		return 0;

	initStringInfo(&stream);
	copy_build_stream(&stream, cfg, batch, keep);
	if (!copy_in_subxact(&stream, &processed))
		return -1;
	if (processed != (uint64) nkeep)
		elog(ERROR, "COPY stored " UINT64_FORMAT " trades of %d", processed, nkeep);
	for (int i = 0; i < n; i++)
	{
		const td_trade *t = &batch->trades[i];

		if (keep[i])
			tsk_ingest_candles_add(candles, cfg->symbols[batch->symbol_index[i]],
								   tsk_timestamptz_from_unix_us(t->ts_us), t->trade_id, t->price, t->qty);
	}
	return nkeep;
}
