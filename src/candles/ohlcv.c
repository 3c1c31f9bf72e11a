/*
 * ohlcv.c
 *	  SQL glue for the ohlcv(ts, price, qty [, seq]) and rollup(ohlcv)
 *	  aggregates: transition, combine, serialize, deserialize and final
 *	  functions around the pure-C candle state (candle.h).
 *
 * Invariants:
 *	- the transition state is a candle_state allocated in the aggregate
 *	  context; it is plain data, so serialization is a byte copy (parallel
 *	  workers run the same binary);
 *	- rows with a NULL timestamp, price or quantity are skipped; a NULL seq
 *	  counts as 0; bad values raise ERROR (data_exception) naming the value;
 *	- a candle carries open_seq, close_seq and its exact sums (bytea, the
 *	  canonical form of candle.h), so rollup() of candles equals ohlcv() of
 *	  their trades in every field; a candle whose sums are NULL (made
 *	  elsewhere) is rolled up from its volume and vwap;
 *	- the final function never modifies the state, so the aggregates also
 *	  work as window functions.
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "fmgr.h"
#include "funcapi.h"
#include "utils/builtins.h"
#include "utils/float.h"
#include "utils/timestamp.h"
#include "utils/typcache.h"

#include "candles/ohlcv.h"

/* Attribute numbers of composite type ohlcv, in declaration order. */
enum
{
	OHLCV_OPEN,
	OHLCV_HIGH,
	OHLCV_LOW,
	OHLCV_CLOSE,
	OHLCV_VOLUME,
	OHLCV_VWAP,
	OHLCV_TRADES,
	OHLCV_OPEN_TIME,
	OHLCV_CLOSE_TIME,
	OHLCV_OPEN_SEQ,
	OHLCV_CLOSE_SEQ,
	OHLCV_SUMS,
	OHLCV_NATTS
};

/* Attributes of type ohlcv in 0.1 (until ALTER EXTENSION ... UPDATE). */
#define OHLCV_NATTS_0_1 (OHLCV_CLOSE_TIME + 1)

extern PGDLLEXPORT Datum ohlcv_trade_sfunc(PG_FUNCTION_ARGS);
PG_FUNCTION_INFO_V1(ohlcv_trade_sfunc);
extern PGDLLEXPORT Datum ohlcv_rollup_sfunc(PG_FUNCTION_ARGS);
PG_FUNCTION_INFO_V1(ohlcv_rollup_sfunc);
extern PGDLLEXPORT Datum ohlcv_combine(PG_FUNCTION_ARGS);
PG_FUNCTION_INFO_V1(ohlcv_combine);
extern PGDLLEXPORT Datum ohlcv_serialize(PG_FUNCTION_ARGS);
PG_FUNCTION_INFO_V1(ohlcv_serialize);
extern PGDLLEXPORT Datum ohlcv_deserialize(PG_FUNCTION_ARGS);
PG_FUNCTION_INFO_V1(ohlcv_deserialize);
extern PGDLLEXPORT Datum ohlcv_final(PG_FUNCTION_ARGS);
PG_FUNCTION_INFO_V1(ohlcv_final);

/*
 * ohlcv_state_for
 *	  The transition state to update: the one passed in, or a new empty one
 *	  in the aggregate's memory context.
 */
static candle_state *
ohlcv_state_for(FunctionCallInfo fcinfo)
{
	MemoryContext aggcontext;
	candle_state *state;

	if (!PG_ARGISNULL(0))
		return (candle_state *) PG_GETARG_POINTER(0);
	if (!AggCheckCallContext(fcinfo, &aggcontext))
		elog(ERROR, "ohlcv transition function called in non-aggregate context");
	state = (candle_state *) MemoryContextAlloc(aggcontext, sizeof(candle_state));
	tsk_candle_init(state);
	return state;
}

/*
 * ohlcv_report
 *	  Raise the ERROR for a rejected input of aggregate `agg`.
 */
static void
ohlcv_report(candle_error err, const char *agg, double rejected)
{
	switch (err)
	{
		case CANDLE_OK:
			return;
		case CANDLE_BAD_PRICE:
			ereport(ERROR,
					(errcode(ERRCODE_DATA_EXCEPTION),
					 errmsg("%s price must be a finite number, got %s",
							agg, float8out_internal(rejected))));
			break;
		case CANDLE_BAD_QTY:
			ereport(ERROR,
					(errcode(ERRCODE_DATA_EXCEPTION),
					 errmsg("%s quantity must be a finite number not below zero, got %s",
							agg, float8out_internal(rejected))));
			break;
		case CANDLE_OUT_OF_RANGE:
			ereport(ERROR,
					(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
					 errmsg("%s value %s is out of range", agg,
							float8out_internal(rejected)),
					 errhint("Quantities and price times quantity must stay below 2^96.")));
			break;
		case CANDLE_BAD_SUMS:
			ereport(ERROR,
					(errcode(ERRCODE_DATA_EXCEPTION),
					 errmsg("%s input candle with volume %s has sums that do not give its volume and vwap",
							agg, float8out_internal(rejected)),
					 errhint("Set sums to NULL in a candle whose volume or vwap was changed by hand.")));
			break;
	}
}

/*
 * ohlcv_check_time
 *	  Reject an infinite timestamp: it cannot be placed in any bucket.
 */
static void
ohlcv_check_time(TimestampTz ts, const char *agg)
{
	if (TIMESTAMP_NOT_FINITE(ts))
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("%s timestamp must be finite, got %s", agg,
						DatumGetCString(DirectFunctionCall1(timestamptz_out,
															TimestampTzGetDatum(ts))))));
}

/*
 * ohlcv_trade_sfunc(state internal, ts timestamptz, price float8, qty float8
 *					 [, seq bigint]) -> internal
 *	  Add one trade to the candle.
 */
Datum
ohlcv_trade_sfunc(PG_FUNCTION_ARGS)
{
	candle_state *state;
	TimestampTz ts;
	double		price;
	double		qty;
	int64		seq = 0;
	double		rejected = 0;
	candle_error err;

	if (PG_ARGISNULL(1) || PG_ARGISNULL(2) || PG_ARGISNULL(3))
	{
		if (PG_ARGISNULL(0))
			PG_RETURN_NULL();
		PG_RETURN_POINTER(PG_GETARG_POINTER(0));
	}

	ts = PG_GETARG_TIMESTAMPTZ(1);
	price = PG_GETARG_FLOAT8(2);
	qty = PG_GETARG_FLOAT8(3);
	if (PG_NARGS() > 4 && !PG_ARGISNULL(4))
		seq = PG_GETARG_INT64(4);

	ohlcv_check_time(ts, "ohlcv");
	state = ohlcv_state_for(fcinfo);
	err = tsk_candle_add_trade(state, ts, seq, price, qty, &rejected);
	ohlcv_report(err, "ohlcv", rejected);
	PG_RETURN_POINTER(state);
}

/*
 * ohlcv_tupdesc
 *	  The (blessed) tuple descriptor of composite type ohlcv, looked up once
 *	  per call site and kept in fn_extra.
 */
static TupleDesc
ohlcv_tupdesc(FunctionCallInfo fcinfo, Oid typid)
{
	TupleDesc	tupdesc = (TupleDesc) fcinfo->flinfo->fn_extra;

	if (tupdesc == NULL)
	{
		MemoryContext oldcxt = MemoryContextSwitchTo(fcinfo->flinfo->fn_mcxt);

		tupdesc = BlessTupleDesc(lookup_rowtype_tupdesc_copy(typid, -1));
		MemoryContextSwitchTo(oldcxt);
		tsk_ohlcv_tupdesc_check(tupdesc);
		fcinfo->flinfo->fn_extra = tupdesc;
	}
	return tupdesc;
}

/*
 * ohlcv_rollup_sfunc(state internal, candle ohlcv) -> internal
 *	  Add a finished candle (1m -> 5m -> 1h ...).  A NULL candle is skipped;
 *	  a candle with NULL fields other than vwap is an error.
 */
Datum
ohlcv_rollup_sfunc(PG_FUNCTION_ARGS)
{
	candle_state *state;
	HeapTupleHeader row;
	HeapTupleData tuple;
	TupleDesc	tupdesc;
	Datum		values[OHLCV_NATTS];
	bool		nulls[OHLCV_NATTS];
	candle_summary candle;
	double		rejected = 0;
	candle_error err;

	if (PG_ARGISNULL(1))
	{
		if (PG_ARGISNULL(0))
			PG_RETURN_NULL();
		PG_RETURN_POINTER(PG_GETARG_POINTER(0));
	}

	row = PG_GETARG_HEAPTUPLEHEADER(1);
	tupdesc = ohlcv_tupdesc(fcinfo, HeapTupleHeaderGetTypeId(row));
	tuple.t_len = HeapTupleHeaderGetDatumLength(row);
	ItemPointerSetInvalid(&tuple.t_self);
	tuple.t_tableOid = InvalidOid;
	tuple.t_data = row;
	for (int i = 0; i < OHLCV_NATTS; i++)
		nulls[i] = true;		/* a 0.1 type has no seq and sums */
	heap_deform_tuple(&tuple, tupdesc, values, nulls);

	for (int i = 0; i <= OHLCV_CLOSE_TIME; i++)
		if (nulls[i] && i != OHLCV_VWAP)
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("rollup input candle has a NULL %s",
							NameStr(TupleDescAttr(tupdesc, i)->attname)),
					 errhint("Only vwap, open_seq, close_seq and sums may be NULL.")));

	memset(&candle, 0, sizeof(candle));
	candle.open = DatumGetFloat8(values[OHLCV_OPEN]);
	candle.high = DatumGetFloat8(values[OHLCV_HIGH]);
	candle.low = DatumGetFloat8(values[OHLCV_LOW]);
	candle.close = DatumGetFloat8(values[OHLCV_CLOSE]);
	candle.volume = DatumGetFloat8(values[OHLCV_VOLUME]);
	candle.has_vwap = !nulls[OHLCV_VWAP];
	candle.vwap = candle.has_vwap ? DatumGetFloat8(values[OHLCV_VWAP]) : 0.0;
	candle.trades = DatumGetInt64(values[OHLCV_TRADES]);
	candle.open_time = DatumGetTimestampTz(values[OHLCV_OPEN_TIME]);
	candle.close_time = DatumGetTimestampTz(values[OHLCV_CLOSE_TIME]);
	candle.open_seq = nulls[OHLCV_OPEN_SEQ] ? 0 : DatumGetInt64(values[OHLCV_OPEN_SEQ]);
	candle.close_seq = nulls[OHLCV_CLOSE_SEQ] ? 0 : DatumGetInt64(values[OHLCV_CLOSE_SEQ]);
	if (!nulls[OHLCV_SUMS])
	{
		bytea	   *sums = DatumGetByteaPP(values[OHLCV_SUMS]);

		if (!tsk_candle_sums_decode((const uint8_t *) VARDATA_ANY(sums),
									(int) VARSIZE_ANY_EXHDR(sums), &candle))
			ereport(ERROR,
					(errcode(ERRCODE_DATA_EXCEPTION),
					 errmsg("rollup input candle has malformed sums"),
					 errhint("sums is written by ohlcv() and rollup(); set it to NULL in a candle made elsewhere.")));
	}
	ohlcv_check_time(candle.open_time, "rollup");
	ohlcv_check_time(candle.close_time, "rollup");

	state = ohlcv_state_for(fcinfo);
	err = tsk_candle_add_candle(state, &candle, &rejected);
	ohlcv_report(err, "rollup", rejected);
	PG_RETURN_POINTER(state);
}

/*
 * ohlcv_combine(internal, internal) -> internal
 *	  Merge two partial states.  A fresh state is copied into the aggregate
 *	  context, since the second one may live in a shorter-lived context.
 */
Datum
ohlcv_combine(PG_FUNCTION_ARGS)
{
	candle_state *state;

	if (PG_ARGISNULL(1))
	{
		if (PG_ARGISNULL(0))
			PG_RETURN_NULL();
		PG_RETURN_POINTER(PG_GETARG_POINTER(0));
	}
	state = ohlcv_state_for(fcinfo);
	tsk_candle_merge(state, (candle_state *) PG_GETARG_POINTER(1));
	PG_RETURN_POINTER(state);
}

/*
 * ohlcv_serialize(internal) -> bytea
 *	  The state as bytes, for passing between parallel workers.
 */
Datum
ohlcv_serialize(PG_FUNCTION_ARGS)
{
	candle_state *state = (candle_state *) PG_GETARG_POINTER(0);
	bytea	   *result = (bytea *) palloc(VARHDRSZ + sizeof(candle_state));

	SET_VARSIZE(result, VARHDRSZ + sizeof(candle_state));
	memcpy(VARDATA(result), state, sizeof(candle_state));
	PG_RETURN_BYTEA_P(result);
}

/*
 * ohlcv_deserialize(bytea, internal) -> internal
 *	  Inverse of ohlcv_serialize.
 */
Datum
ohlcv_deserialize(PG_FUNCTION_ARGS)
{
	bytea	   *bytes = PG_GETARG_BYTEA_PP(0);
	candle_state *state;

	if (VARSIZE_ANY_EXHDR(bytes) != sizeof(candle_state))
		elog(ERROR, "ohlcv state has %zu bytes, expected %zu",
			 (size_t) VARSIZE_ANY_EXHDR(bytes), sizeof(candle_state));
	state = (candle_state *) palloc(sizeof(candle_state));
	memcpy(state, VARDATA_ANY(bytes), sizeof(candle_state));
	PG_RETURN_POINTER(state);
}

/*
 * tsk_ohlcv_datum
 *	  A finished candle as a datum of composite type ohlcv (tupdesc blessed).
 */
Datum
tsk_ohlcv_datum(TupleDesc tupdesc, const candle_summary *candle)
{
	Datum		values[OHLCV_NATTS];
	bool		nulls[OHLCV_NATTS] = {false};
	bytea	   *sums = palloc(VARHDRSZ + CANDLE_SUMS_MAX);

	/* heap_form_tuple reads tupdesc->natts values: 9 for a 0.1 type */
	SET_VARSIZE(sums, VARHDRSZ + tsk_candle_sums_encode(candle, (uint8_t *) VARDATA(sums)));
	values[OHLCV_OPEN] = Float8GetDatum(candle->open);
	values[OHLCV_HIGH] = Float8GetDatum(candle->high);
	values[OHLCV_LOW] = Float8GetDatum(candle->low);
	values[OHLCV_CLOSE] = Float8GetDatum(candle->close);
	values[OHLCV_VOLUME] = Float8GetDatum(candle->volume);
	values[OHLCV_VWAP] = Float8GetDatum(candle->vwap);
	nulls[OHLCV_VWAP] = !candle->has_vwap;
	values[OHLCV_TRADES] = Int64GetDatum(candle->trades);
	values[OHLCV_OPEN_TIME] = TimestampTzGetDatum(candle->open_time);
	values[OHLCV_CLOSE_TIME] = TimestampTzGetDatum(candle->close_time);
	values[OHLCV_OPEN_SEQ] = Int64GetDatum(candle->open_seq);
	values[OHLCV_CLOSE_SEQ] = Int64GetDatum(candle->close_seq);
	values[OHLCV_SUMS] = PointerGetDatum(sums);
	return HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls));
}

/*
 * tsk_ohlcv_tupdesc_check
 *	  ERROR unless tupdesc has the attributes of type ohlcv, of this version
 *	  or of 0.1 (whose candles have no seq and sums: a 0.1 database keeps
 *	  working with this library until it is updated).
 */
void
tsk_ohlcv_tupdesc_check(TupleDesc tupdesc)
{
	if (tupdesc->natts != OHLCV_NATTS && tupdesc->natts != OHLCV_NATTS_0_1)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("type ohlcv has %d attributes, expected %d", tupdesc->natts, OHLCV_NATTS),
				 errhint("Run ALTER EXTENSION triggerstock UPDATE.")));
}

/*
 * ohlcv_final(internal) -> ohlcv
 *	  The finished candle, or NULL for an empty group.
 */
Datum
ohlcv_final(PG_FUNCTION_ARGS)
{
	candle_summary candle;
	Oid			result_type;

	if (PG_ARGISNULL(0) ||
		!tsk_candle_result((candle_state *) PG_GETARG_POINTER(0), &candle))
		PG_RETURN_NULL();

	result_type = get_fn_expr_rettype(fcinfo->flinfo);
	if (!OidIsValid(result_type))
		elog(ERROR, "could not determine the result type of ohlcv_final");
	PG_RETURN_DATUM(tsk_ohlcv_datum(ohlcv_tupdesc(fcinfo, result_type), &candle));
}
