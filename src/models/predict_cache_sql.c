/*
 * predict_cache_sql.c
 *	  The SQL face of the shared prediction cache (predict_cache.h): the
 *	  statement triggers that mark what a transaction changed, and
 *	  predict_cache_reset() and predict_cache_stats().
 *
 * What a model answer of predict(symbol) depends on, and who marks it:
 *	- the deployment (deployments INSERT) and the model row (models
 *	  DELETE; rows are immutable): predict_cache_rows_changed(), per symbol;
 *	- the stored online row of the newest complete bucket (feature_rows
 *	  INSERT, UPDATE, DELETE: the online fold, news and book recomputes, or
 *	  anyone): predict_cache_rows_changed(), per symbol; TRUNCATE: all;
 *	- which bucket is the newest complete one (candles.sql's rule: the
 *	  buckets of the symbol's 1-minute candles and the close_time of the
 *	  newest): predict_cache_candles_changed() marks the symbol of every
 *	  1-minute row inserted or deleted, and of every row updated unless
 *	  the update keeps symbol, width and bucket and both close_times lie
 *	  inside the row's own minute (such an update moves the watermark inside
 *	  a minute, which crosses no bucket boundary of any whole-minute width:
 *	  the live ingest flush's update of the current minute).
 * The candle trigger then computes the answers of the marked symbols'
 * deployed models (at most PC_PREFILL per statement) for installation at
 * commit, so the first call after a candle closes is a hit.
 *
 * Invariants: these triggers fire AFTER each statement with transition
 * tables (the online fold's triggers on candles are named so that they
 * fire first); they read only their transition tables and never fail the
 * write for the cache's sake.
 */
#include "postgres.h"

#include "commands/trigger.h"
#include "executor/tuptable.h"
#include "fmgr.h"
#include "funcapi.h"
#include "parser/parse_relation.h"
#include "utils/builtins.h"
#include "utils/rel.h"
#include "utils/timestamp.h"
#include "utils/tuplestore.h"

#include "models/model.h"
#include "models/predict_cache.h"

extern PGDLLEXPORT Datum predict_cache_rows_changed(PG_FUNCTION_ARGS);
PG_FUNCTION_INFO_V1(predict_cache_rows_changed);
extern PGDLLEXPORT Datum predict_cache_candles_changed(PG_FUNCTION_ARGS);
PG_FUNCTION_INFO_V1(predict_cache_candles_changed);
extern PGDLLEXPORT Datum predict_cache_reset(PG_FUNCTION_ARGS);
PG_FUNCTION_INFO_V1(predict_cache_reset);
extern PGDLLEXPORT Datum predict_cache_stats(PG_FUNCTION_ARGS);
PG_FUNCTION_INFO_V1(predict_cache_stats);

/* Symbols whose answers one candle statement computes for the cache. */
#define PC_PREFILL 32

/* The columns of a candle row the rule reads. */
typedef struct pc_candle
{
	bool		valid;			/* symbol not NULL */
	char		symbol[NAMEDATALEN];
	bool		one_minute;
	TimestampTz bucket;
	bool		has_bucket;
	TimestampTz close_time;
	bool		has_close;
} pc_candle;

/* The symbols one statement marked (for the prefill). */
typedef struct pc_marked_list
{
	int			n;
	char		symbols[PC_PREFILL][NAMEDATALEN];
} pc_marked_list;

/*
 * pc_check_trigger
 *	  ERROR unless called as an AFTER statement trigger.
 */
static TriggerData *
pc_check_trigger(FunctionCallInfo fcinfo, const char *name)
{
	TriggerData *td = (TriggerData *) fcinfo->context;

	if (!CALLED_AS_TRIGGER(fcinfo) || !TRIGGER_FIRED_AFTER(td->tg_event) ||
		!TRIGGER_FIRED_FOR_STATEMENT(td->tg_event))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("%s() must be called as an AFTER statement trigger", name)));
	return td;
}

/*
 * pc_mark_symbol
 *	  Mark symbol, and remember it for the prefill (once).
 */
static void
pc_mark_symbol(const char *symbol, pc_marked_list *list)
{
	tsk_predict_cache_mark(symbol);
	if (list == NULL)
		return;
	for (int i = 0; i < list->n; i++)
		if (strcmp(list->symbols[i], symbol) == 0)
			return;
	if (list->n < PC_PREFILL)
		strlcpy(list->symbols[list->n++], symbol, NAMEDATALEN);
}

/*
 * pc_mark_symbols
 *	  Mark the symbol column of every row of a transition table (all
 *	  symbols when the table has none).
 */
static void
pc_mark_symbols(Tuplestorestate *rows, Relation rel)
{
	int			att = attnameAttNum(rel, "symbol", false);
	TupleTableSlot *slot;
	bool		isnull;

	if (rows == NULL)
		return;
	if (att <= 0)
	{
		tsk_predict_cache_mark_all();
		return;
	}
	slot = MakeSingleTupleTableSlot(RelationGetDescr(rel), &TTSOpsMinimalTuple);
	tuplestore_rescan(rows);
	while (tuplestore_gettupleslot(rows, true, false, slot))
	{
		Datum		d = slot_getattr(slot, att, &isnull);
		char	   *symbol;

		if (isnull)
			continue;
		symbol = TextDatumGetCString(d);
		if (strlen(symbol) < NAMEDATALEN)
			tsk_predict_cache_mark(symbol);
		pfree(symbol);
	}
	ExecDropSingleTupleTableSlot(slot);
}

/*
 * predict_cache_rows_changed
 *	  AFTER ... FOR EACH STATEMENT trigger: mark the symbols of the rows a
 *	  statement inserted, updated or deleted (through its transition
 *	  tables); everything for TRUNCATE or without transition tables.
 */
Datum
predict_cache_rows_changed(PG_FUNCTION_ARGS)
{
	TriggerData *td = pc_check_trigger(fcinfo, "predict_cache_rows_changed");

	if (TRIGGER_FIRED_BY_TRUNCATE(td->tg_event) ||
		(td->tg_oldtable == NULL && td->tg_newtable == NULL))
		tsk_predict_cache_mark_all();
	else
	{
		pc_mark_symbols(td->tg_oldtable, td->tg_relation);
		pc_mark_symbols(td->tg_newtable, td->tg_relation);
	}
	return PointerGetDatum(NULL);
}

/*
 * pc_read_candle
 *	  The columns of a candle row the rule needs.
 */
static void
pc_read_candle(TupleTableSlot *slot, const AttrNumber *att, pc_candle *c)
{
	Interval	one_minute = {.time = USECS_PER_MINUTE};
	bool		isnull;
	Datum		d;

	memset(c, 0, sizeof(*c));
	d = slot_getattr(slot, att[0], &isnull);
	if (isnull)
		return;
	text_to_cstring_buffer(DatumGetTextPP(d), c->symbol, NAMEDATALEN);
	c->valid = true;
	d = slot_getattr(slot, att[1], &isnull);
	c->one_minute = !isnull && DatumGetBool(DirectFunctionCall2(interval_eq, d,
																IntervalPGetDatum(&one_minute)));
	d = slot_getattr(slot, att[2], &isnull);
	c->has_bucket = !isnull;
	c->bucket = isnull ? 0 : DatumGetTimestampTz(d);
	d = slot_getattr(slot, att[3], &isnull);
	c->has_close = !isnull;
	c->close_time = isnull ? 0 : DatumGetTimestampTz(d);
}

/*
 * pc_inside_minute
 *	  Whether the row's close_time lies inside its own minute.
 */
static bool
pc_inside_minute(const pc_candle *c)
{
	return c->has_bucket && c->has_close && c->close_time >= c->bucket &&
		c->close_time - c->bucket < USECS_PER_MINUTE;
}

/*
 * pc_scan_candles
 *	  Apply the rule of the file header to a statement's transition tables:
 *	  every 1-minute row of a table alone (INSERT, DELETE), or the updated
 *	  pairs (UPDATE: old and new rows are stored in the same order).
 */
static void
pc_scan_candles(Tuplestorestate *olds, Tuplestorestate *news, Relation rel, pc_marked_list *list)
{
	AttrNumber	att[4] = {attnameAttNum(rel, "symbol", false), attnameAttNum(rel, "width", false),
	attnameAttNum(rel, "bucket", false), attnameAttNum(rel, "close_time", false)};
	TupleTableSlot *oslot,
			   *nslot;
	bool		paired = olds != NULL && news != NULL &&
		tuplestore_tuple_count(olds) == tuplestore_tuple_count(news);

	if (att[0] <= 0 || att[1] <= 0 || att[2] <= 0 || att[3] <= 0)
	{
		tsk_predict_cache_mark_all();
		return;
	}
	oslot = MakeSingleTupleTableSlot(RelationGetDescr(rel), &TTSOpsMinimalTuple);
	nslot = MakeSingleTupleTableSlot(RelationGetDescr(rel), &TTSOpsMinimalTuple);
	if (olds != NULL)
		tuplestore_rescan(olds);
	if (news != NULL)
		tuplestore_rescan(news);
	for (;;)
	{
		pc_candle	o,
					n;
		bool		has_o = olds != NULL && tuplestore_gettupleslot(olds, true, false, oslot);
		bool		has_n = news != NULL && (paired ? has_o : true) &&
			tuplestore_gettupleslot(news, true, false, nslot);

		if (!has_o && !has_n)
			break;
		memset(&o, 0, sizeof(o));
		memset(&n, 0, sizeof(n));
		if (has_o)
			pc_read_candle(oslot, att, &o);
		if (has_n)
			pc_read_candle(nslot, att, &n);
		if (paired && o.valid && n.valid && o.one_minute && n.one_minute &&
			strcmp(o.symbol, n.symbol) == 0 && o.bucket == n.bucket &&
			pc_inside_minute(&o) && pc_inside_minute(&n))
			continue;			/* the watermark moved inside its minute */
		if (o.valid && o.one_minute)
			pc_mark_symbol(o.symbol, list);
		if (n.valid && n.one_minute)
			pc_mark_symbol(n.symbol, list);
	}
	ExecDropSingleTupleTableSlot(oslot);
	ExecDropSingleTupleTableSlot(nslot);
}

/*
 * predict_cache_candles_changed
 *	  AFTER ... FOR EACH STATEMENT trigger of triggerstock.candles: mark
 *	  by the rule of the file header, then compute the marked symbols'
 *	  answers for the cache.
 */
Datum
predict_cache_candles_changed(PG_FUNCTION_ARGS)
{
	TriggerData *td = pc_check_trigger(fcinfo, "predict_cache_candles_changed");
	pc_marked_list list;

	if (TRIGGER_FIRED_BY_TRUNCATE(td->tg_event))
	{
		tsk_predict_cache_mark_all();
		return PointerGetDatum(NULL);
	}
	list.n = 0;
	pc_scan_candles(td->tg_oldtable, td->tg_newtable, td->tg_relation, &list);
	for (int i = 0; i < list.n; i++)
		tsk_predict_prefill(list.symbols[i]);
	return PointerGetDatum(NULL);
}

/*
 * predict_cache_reset
 *	  predict_cache_reset() -> void: invalidate every cached answer now.
 */
Datum
predict_cache_reset(PG_FUNCTION_ARGS)
{
	tsk_predict_cache_reset();
	PG_RETURN_VOID();
}

/*
 * predict_cache_stats
 *	  predict_cache_stats() -> (entries, hits, misses, installs,
 *	  generation); one row of NULLs when the cache is off (not preloaded or
 *	  triggerstock.predict_cache_size = 0).
 */
Datum
predict_cache_stats(PG_FUNCTION_ARGS)
{
	TupleDesc	desc;
	Datum		values[5];
	bool		nulls[5] = {false, false, false, false, false};
	int64		v[5];

	if (get_call_result_type(fcinfo, NULL, &desc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	if (!tsk_predict_cache_counts(&v[0], &v[1], &v[2], &v[3], &v[4]))
		memset(nulls, true, sizeof(nulls));
	for (int i = 0; i < 5; i++)
		values[i] = Int64GetDatum(nulls[i] ? 0 : v[i]);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(desc), values, nulls)));
}
