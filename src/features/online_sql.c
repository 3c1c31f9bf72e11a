/*
 * online_sql.c
 *	  The SQL face of the online feature state (online.h): the statement
 *	  trigger on triggerstock.candles that feeds it, serve_features(), the
 *	  per-backend cache of served pairs and the latest-row reader predict()
 *	  uses.
 *
 * Invariants:
 *	- the candle trigger is the only hook into candle writers (ingest
 *	  flush, refresh_candles(), plain DML): whatever writes 1-minute candles
 *	  feeds the online state in the same transaction;
 *	- it does nothing but read its transition tables unless a touched
 *	  symbol is served; served pairs are updated in (symbol, width) order,
 *	  so two writers lock feature_state rows in the same order;
 *	- the cache of served pairs is dropped by any relcache invalidation of
 *	  triggerstock.feature_state, which INSERT, DELETE and TRUNCATE on it
 *	  send at commit (config_changed() trigger);
 *	- serve_features() takes SHARE lock on triggerstock.candles while it
 *	  builds, so no candle write can slip between the build's snapshot and
 *	  the moment the pair becomes served.
 */
#include "postgres.h"

#include <math.h>

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/skey.h"
#include "access/stratnum.h"
#include "access/table.h"
#include "access/tableam.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "executor/tuptable.h"
#include "fmgr.h"
#include "parser/parse_relation.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/hsearch.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/tuplestore.h"

#include "direct_read.h"
#include "features/online.h"
#include "schema.h"

extern PGDLLEXPORT Datum online_candles_changed(PG_FUNCTION_ARGS);
PG_FUNCTION_INFO_V1(online_candles_changed);
extern PGDLLEXPORT Datum online_serve(PG_FUNCTION_ARGS);
PG_FUNCTION_INFO_V1(online_serve);

/* Most widths served per symbol. */
#define ONLINE_MAX_WIDTHS 16

/* The served widths of one symbol. */
typedef struct served_entry
{
	char		symbol[NAMEDATALEN];	/* hash key */
	int			n;
	int64		widths[ONLINE_MAX_WIDTHS];
} served_entry;

/* A symbol touched by a candle statement, with its earliest bucket. */
typedef struct touched_entry
{
	char		symbol[NAMEDATALEN];	/* hash key */
	TimestampTz earliest;
} touched_entry;

static MemoryContext served_cxt = NULL;
static HTAB *served = NULL;		/* NULL: not loaded */
static Oid	served_relid = InvalidOid;
static bool served_callback = false;
/* triggerstock.feature_rows for the latest-row probe (InvalidOid: look up) */
static Oid	latest_relid = InvalidOid;
static Oid	latest_indexid = InvalidOid;
static AttrNumber latest_att_bucket;
static AttrNumber latest_att[ONLINE_NCOLUMNS];

/*
 * served_invalidate
 *	  Relcache callback: feature_state's pairs changed (or everything was
 *	  invalidated): forget them.
 */
static void
served_invalidate(Datum arg, Oid relid)
{
	if (relid == InvalidOid || relid == served_relid || relid == latest_relid ||
		served_relid == InvalidOid)
	{
		served = NULL;
		served_relid = InvalidOid;
		latest_relid = InvalidOid;
		if (served_cxt != NULL)
			MemoryContextReset(served_cxt);
	}
}

/*
 * served_load
 *	  Read the served pairs (inside SPI) unless they are cached.
 */
static void
served_load(void)
{
	HASHCTL		ctl;
	HTAB	   *h;
	int			ret;
	Oid			nsp;

	if (served != NULL)
		return;
	if (!served_callback)
	{
		CacheRegisterRelcacheCallback(served_invalidate, (Datum) 0);
		served_cxt = AllocSetContextCreate(TopMemoryContext, "triggerstock served pairs",
										   ALLOCSET_SMALL_SIZES);
		served_callback = true;
	}
	nsp = get_namespace_oid("triggerstock", false);
	served_relid = get_relname_relid("feature_state", nsp);
	MemoryContextReset(served_cxt);
	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = NAMEDATALEN;
	ctl.entrysize = sizeof(served_entry);
	ctl.hcxt = served_cxt;
	h = hash_create("triggerstock served pairs", 64, &ctl, HASH_ELEM | HASH_STRINGS | HASH_CONTEXT);
	if (!OidIsValid(served_relid))
	{
		/* a 0.1 schema not updated yet: nothing is served (any relcache
		 * invalidation, e.g. the update's, makes us look again) */
		served = h;
		return;
	}

	ret = SPI_execute("SELECT symbol, width FROM triggerstock.feature_state "
					  "ORDER BY symbol, width", true, 0);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "SPI_execute failed: %s", SPI_result_code_string(ret));
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		bool		isnull;
		char	   *symbol = TextDatumGetCString(SPI_getbinval(SPI_tuptable->vals[i],
															   SPI_tuptable->tupdesc, 1, &isnull));
		Interval   *width = DatumGetIntervalP(SPI_getbinval(SPI_tuptable->vals[i],
															SPI_tuptable->tupdesc, 2, &isnull));
		served_entry *e;
		bool		found;

		if (strlen(symbol) >= NAMEDATALEN)
			continue;			/* serve_features() refuses these */
		e = hash_search(h, symbol, HASH_ENTER, &found);
		if (!found)
			e->n = 0;
		if (e->n < ONLINE_MAX_WIDTHS)
			e->widths[e->n++] = tsk_online_width_usecs(width);
	}
	SPI_freetuptable(SPI_tuptable);
	served = h;
}

/*
 * served_lookup
 *	  The served widths of symbol, or NULL (cache loaded).
 */
static served_entry *
served_lookup(const char *symbol)
{
	if (strlen(symbol) >= NAMEDATALEN || hash_get_num_entries(served) == 0)
		return NULL;
	return hash_search(served, symbol, HASH_FIND, NULL);
}

/*
 * online_spi_connect
 *	  SPI_connect once (*spi tracks it) under the safe search_path
 *	  (*nest: the level to give tsk_spi_finish), or ERROR.
 */
static void
online_spi_connect(bool *spi, int *nest)
{
	if (*spi)
		return;
	*nest = tsk_spi_connect();
	*spi = true;
}

/*
 * tsk_online_served
 *	  See online.h (inside SPI).
 */
bool
tsk_online_served(const char *symbol, int64 width_usecs)
{
	served_entry *e;

	served_load();
	e = served_lookup(symbol);
	for (int i = 0; e != NULL && i < e->n; i++)
		if (e->widths[i] == width_usecs)
			return true;
	return false;
}

/*
 * latest_lookup
 *	  Resolve triggerstock.feature_rows, its primary key and its columns
 *	  once per invalidation (served_invalidate clears latest_relid); false
 *	  when the table does not exist (a 0.1 schema not updated yet).
 */
static bool
latest_lookup(void)
{
	Oid			nsp;
	Relation	rel;

	if (OidIsValid(latest_relid))
		return true;
	nsp = get_namespace_oid("triggerstock", false);
	latest_indexid = get_relname_relid("feature_rows_pkey", nsp);
	latest_relid = get_relname_relid("feature_rows", nsp);
	if (!OidIsValid(latest_relid) || !OidIsValid(latest_indexid))
	{
		latest_relid = InvalidOid;
		return false;
	}
	rel = table_open(latest_relid, AccessShareLock);
	latest_att_bucket = attnameAttNum(rel, "bucket", false);
	for (int i = 0; i < ONLINE_NCOLUMNS; i++)
	{
		latest_att[i] = attnameAttNum(rel, tsk_online_column_name(i), false);
		if (latest_att[i] <= 0)
			elog(ERROR, "triggerstock.feature_rows has no column %s", tsk_online_column_name(i));
	}
	table_close(rel, AccessShareLock);
	return true;
}

/*
 * tsk_online_latest_row
 *	  See online.h.  The row is read by one backward scan of the primary
 *	  key (symbol, width, bucket), without SPI: the steady-state cost of a
 *	  predict() is this probe.  Rows exist only for served pairs
 *	  (unserve_features() deletes them), so the probe needs no served-pairs
 *	  cache: a fresh backend does not pay for loading one.
 */
bool
tsk_online_latest_row(const char *symbol, const Interval *width, TimestampTz *bucket,
					  double *values, bool *spi)
{
	int64		w = tsk_online_width_usecs(width);
	Relation	heap,
				index;
	ScanKeyData keys[2];
	TupleTableSlot *slot;
	bool		found = false;

	if (!latest_lookup())
		return false;
	heap = table_open(latest_relid, AccessShareLock);
	index = index_open(latest_indexid, AccessShareLock);
	ScanKeyEntryInitialize(&keys[0], 0, 1, BTEqualStrategyNumber, InvalidOid,
						   index->rd_indcollation[0], F_TEXTEQ, CStringGetTextDatum(symbol));
	ScanKeyEntryInitialize(&keys[1], 0, 2, BTEqualStrategyNumber, InvalidOid,
						   index->rd_indcollation[1], F_INTERVAL_EQ, tsk_online_width_datum(w));
	slot = table_slot_create(heap, NULL);
	if (tsk_direct_first(heap, index, keys, 2, true, slot))
	{
		bool		isnull;
		Datum		d;

		slot_getallattrs(slot);
		d = slot_getattr(slot, latest_att_bucket, &isnull);
		*bucket = DatumGetTimestampTz(d);
		for (int i = 0; i < ONLINE_NCOLUMNS; i++)
		{
			d = slot_getattr(slot, latest_att[i], &isnull);
			if (isnull)
				values[i] = NAN;
			else if (TupleDescAttr(RelationGetDescr(heap), latest_att[i] - 1)->atttypid == INT8OID)
				values[i] = (double) DatumGetInt64(d);
			else
				values[i] = DatumGetFloat8(d);
		}
		found = true;
	}
	ExecDropSingleTupleTableSlot(slot);
	index_close(index, AccessShareLock);
	table_close(heap, AccessShareLock);
	return found;
}

/*
 * touched_add
 *	  Remember symbol's earliest changed 1-minute bucket from one transition
 *	  table row.
 */
static void
touched_add(HTAB *touched, TupleTableSlot *slot, int att_symbol, int att_width, int att_bucket)
{
	bool		isnull;
	Datum		d;
	char	   *symbol;
	Interval   *width;
	TimestampTz bucket;
	touched_entry *e;
	bool		found;

	d = slot_getattr(slot, att_width, &isnull);
	if (isnull)
		return;
	width = DatumGetIntervalP(d);
	if (width->month != 0 || width->day != 0 || width->time != USECS_PER_MINUTE)
		return;					/* features() reads 1-minute candles only */
	d = slot_getattr(slot, att_bucket, &isnull);
	if (isnull)
		return;
	bucket = DatumGetTimestampTz(d);
	d = slot_getattr(slot, att_symbol, &isnull);
	if (isnull)
		return;
	symbol = TextDatumGetCString(d);
	if (served_lookup(symbol) == NULL)
		return;
	e = hash_search(touched, symbol, HASH_ENTER, &found);
	if (!found || bucket < e->earliest)
		e->earliest = TIMESTAMP_NOT_FINITE(bucket) ? DT_NOBEGIN : bucket;
}

/*
 * touched_scan
 *	  Add the rows of one transition table.
 */
static void
touched_scan(HTAB *touched, Tuplestorestate *rows, Relation rel)
{
	TupleTableSlot *slot;
	TupleDesc	desc = RelationGetDescr(rel);
	int			att_symbol = attnameAttNum(rel, "symbol", false);
	int			att_width = attnameAttNum(rel, "width", false);
	int			att_bucket = attnameAttNum(rel, "bucket", false);

	if (rows == NULL)
		return;
	if (att_symbol <= 0 || att_width <= 0 || att_bucket <= 0)
		elog(ERROR, "triggerstock.candles lacks symbol, width or bucket");
	slot = MakeSingleTupleTableSlot(desc, &TTSOpsMinimalTuple);
	tuplestore_rescan(rows);
	while (tuplestore_gettupleslot(rows, true, false, slot))
		touched_add(touched, slot, att_symbol, att_width, att_bucket);
	ExecDropSingleTupleTableSlot(slot);
}

/*
 * touched_cmp
 *	  qsort order of touched symbols (the lock order).
 */
static int
touched_cmp(const void *a, const void *b)
{
	return strcmp(((const touched_entry *) a)->symbol, ((const touched_entry *) b)->symbol);
}

/*
 * online_candles_changed
 *	  AFTER ... FOR EACH STATEMENT trigger of triggerstock.candles (INSERT,
 *	  UPDATE and DELETE with transition tables, and TRUNCATE): update the
 *	  online state of every served pair whose candles the statement touched.
 */
Datum
online_candles_changed(PG_FUNCTION_ARGS)
{
	TriggerData *td = (TriggerData *) fcinfo->context;
	HTAB	   *touched;
	HASHCTL		ctl;
	HASH_SEQ_STATUS seq;
	touched_entry *e,
			   *list;
	int			n = 0;
	bool		spi = false;
	int			nest = -1;

	if (!CALLED_AS_TRIGGER(fcinfo) || !TRIGGER_FIRED_AFTER(td->tg_event) ||
		!TRIGGER_FIRED_FOR_STATEMENT(td->tg_event))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("online_candles_changed() must be called as an AFTER statement trigger")));

	if (served == NULL)
	{
		online_spi_connect(&spi, &nest);
		served_load();
	}
	if (hash_get_num_entries(served) == 0)
	{
		if (spi)
			tsk_spi_finish(nest);
		return PointerGetDatum(NULL);
	}

	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = NAMEDATALEN;
	ctl.entrysize = sizeof(touched_entry);
	ctl.hcxt = CurrentMemoryContext;
	touched = hash_create("triggerstock touched symbols", 16, &ctl,
						  HASH_ELEM | HASH_STRINGS | HASH_CONTEXT);
	if (TRIGGER_FIRED_BY_TRUNCATE(td->tg_event))
	{
		/* every served symbol lost all its candles */
		hash_seq_init(&seq, served);
		while ((e = hash_seq_search(&seq)) != NULL)
		{
			touched_entry *t = hash_search(touched, e->symbol, HASH_ENTER, NULL);

			t->earliest = DT_NOBEGIN;
		}
	}
	else
	{
		touched_scan(touched, td->tg_oldtable, td->tg_relation);
		touched_scan(touched, td->tg_newtable, td->tg_relation);
	}
	if (hash_get_num_entries(touched) == 0)
	{
		if (spi)
			tsk_spi_finish(nest);
		return PointerGetDatum(NULL);
	}

	list = palloc(sizeof(touched_entry) * hash_get_num_entries(touched));
	hash_seq_init(&seq, touched);
	while ((e = hash_seq_search(&seq)) != NULL)
		list[n++] = *e;
	qsort(list, n, sizeof(touched_entry), touched_cmp);

	online_spi_connect(&spi, &nest);
	for (int i = 0; i < n; i++)
	{
		served_entry *s;
		int64		widths[ONLINE_MAX_WIDTHS];
		int			nw;

		/* an invalidation taken with a lock may have dropped the cache */
		served_load();
		s = served_lookup(list[i].symbol);
		if (s == NULL)
			continue;
		/* ... so copy the widths before updating */
		nw = s->n;
		memcpy(widths, s->widths, sizeof(int64) * nw);
		for (int j = 0; j < nw; j++)
			(void) tsk_online_update(list[i].symbol, widths[j], list[i].earliest);
	}
	tsk_spi_finish(nest);
	return PointerGetDatum(NULL);
}

/*
 * online_serve
 *	  serve_features(symbol text, width interval, rebuild boolean) -> bigint:
 *	  start maintaining the feature rows of (symbol, width); build its state
 *	  from the first candle when it is new (or rebuild is true), else bring
 *	  it up to date.  Returns the number of buckets folded.
 */
Datum
online_serve(PG_FUNCTION_ARGS)
{
	char	   *symbol;
	Interval   *width;
	bool		rebuild;
	int64		w;
	int64		folded;
	bool		inserted;
	bool		spi = false;
	int			nest = -1;
	Datum		args[2];
	Oid			types[2] = {TEXTOID, INTERVALOID};
	int			ret;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1) || PG_ARGISNULL(2))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("symbol, width and rebuild must not be NULL"),
				 errhint("Call serve_features('BTC', '1 minute').")));
	symbol = text_to_cstring(PG_GETARG_TEXT_PP(0));
	width = PG_GETARG_INTERVAL_P(1);
	rebuild = PG_GETARG_BOOL(2);
	if (symbol[0] == '\0' || strlen(symbol) >= NAMEDATALEN)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid symbol \"%s\"", symbol),
				 errhint("A symbol is 1 to %d bytes long, as in triggerstock.candles.", NAMEDATALEN - 1)));
	w = tsk_online_width_usecs(width);

	online_spi_connect(&spi, &nest);
	served_load();
	if (!tsk_online_served(symbol, w))
	{
		served_entry *e = served_lookup(symbol);

		if (e != NULL && e->n >= ONLINE_MAX_WIDTHS)
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("symbol \"%s\" already has %d served widths", symbol, ONLINE_MAX_WIDTHS),
					 errhint("Stop serving one with unserve_features() first.")));
	}
	/* no candle write between the build's snapshot and the commit */
	ret = SPI_execute("LOCK TABLE triggerstock.candles IN SHARE MODE", false, 0);
	if (ret != SPI_OK_UTILITY)
		elog(ERROR, "SPI_execute failed: %s", SPI_result_code_string(ret));
	args[0] = CStringGetTextDatum(symbol);
	args[1] = tsk_online_width_datum(w);
	ret = SPI_execute_with_args("INSERT INTO triggerstock.feature_state (symbol, width) "
								"VALUES ($1, $2) ON CONFLICT DO NOTHING RETURNING 1",
								2, types, args, NULL, false, 0);
	if (ret != SPI_OK_INSERT_RETURNING)
		elog(ERROR, "SPI_execute failed: %s", SPI_result_code_string(ret));
	inserted = SPI_processed == 1;
	if (inserted || rebuild)
		folded = tsk_online_build(symbol, w);
	else
		folded = tsk_online_update(symbol, w, DT_NOEND);
	tsk_spi_finish(nest);
	PG_RETURN_INT64(folded);
}
